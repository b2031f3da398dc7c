"""Enums are the single source for choices; the database stores their values.

Each enum's ``label`` gives the text a person reads; ``PHASE_COLOURS`` and ``SEVERITY_COLOURS``
give the colours the pages use.
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Phase(_Labelled):
    """A product's phase; their order and the gate rules are in ``domain.phases``."""

    PROTOTYPE = "prototype"
    PILOT = "pilot"
    PRODUCTION = "production"

    @property
    def label(self) -> str:
        return {"prototype": "Prototype", "pilot": "Pilot run", "production": "Production run"}[
            self.value
        ]


PHASE_COLOURS = {Phase.PROTOTYPE: "#7c3aed", Phase.PILOT: "#d97706", Phase.PRODUCTION: "#059669"}


class RevisionStatus(_Labelled):
    DRAFT = "draft"
    RELEASED = "released"
    OBSOLETE = "obsolete"


class Priority(_Labelled):
    """MoSCoW priority of a requirement."""

    MUST = "must"
    SHOULD = "should"
    COULD = "could"
    WONT = "wont"

    @property
    def label(self) -> str:
        return {"must": "Must have", "should": "Should have", "could": "Could have"}.get(
            self.value, "Won't have"
        )


class RequirementSource(_Labelled):
    CUSTOMER = "customer"
    MARKET = "market"
    REGULATORY = "regulatory"
    INTERNAL = "internal"
    ENGINEERING = "engineering"
    MANUFACTURING = "manufacturing"


class RequirementStatus(_Labelled):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"
    REJECTED = "rejected"


class PartnerKind(_Labelled):
    PROTOTYPE_SHOP = "prototype_shop"
    CONTRACT_MANUFACTURER = "contract_manufacturer"
    SUPPLIER = "supplier"
    TEST_LAB = "test_lab"
    IN_HOUSE = "in_house"


class Fidelity(_Labelled):
    LOW = "low"
    HIGH = "high"


class Technique(_Labelled):
    PRINT_3D = "3d_print"
    CNC = "cnc"
    HAND_BUILT = "hand_built"
    SOFT_TOOLING = "soft_tooling"
    VACUUM_CASTING = "vacuum_casting"
    SHEET_METAL = "sheet_metal"
    INJECTION_MOLDING = "injection_molding"
    PCB_ASSEMBLY = "pcb_assembly"

    @property
    def label(self) -> str:
        special = {"3d_print": "3D print", "cnc": "CNC machining", "pcb_assembly": "PCB assembly"}
        return special.get(self.value, super().label)


class BuildStatus(_Labelled):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class UnitStatus(_Labelled):
    IN_PROCESS = "in_process"
    PASSED = "passed"
    FAILED = "failed"
    REWORK = "rework"
    SCRAPPED = "scrapped"
    SHIPPED = "shipped"
    RETURNED = "returned"


UNIT_STATUS_COLOURS = {
    UnitStatus.IN_PROCESS: "#2563eb",
    UnitStatus.PASSED: "#059669",
    UnitStatus.FAILED: "#b91c1c",
    UnitStatus.REWORK: "#ea580c",
    UnitStatus.SCRAPPED: "#475569",
    UnitStatus.SHIPPED: "#0d9488",
    UnitStatus.RETURNED: "#9333ea",
}


class Allocation(_Labelled):
    UNALLOCATED = "unallocated"
    TESTING = "testing"
    MARKETING = "marketing"
    REGULATORY = "regulatory"
    ENGINEERING = "engineering"
    CUSTOMER = "customer"


class Outcome(_Labelled):
    """Outcome of a station pass, test run or measurement."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    ABORTED = "aborted"
    UNSET = "unset"


class Severity(_Labelled):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    COSMETIC = "cosmetic"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


SEVERITY_COLOURS = {
    Severity.CRITICAL: "#b91c1c",
    Severity.MAJOR: "#ea580c",
    Severity.MINOR: "#ca8a04",
    Severity.COSMETIC: "#64748b",
}


class Disposition(_Labelled):
    PENDING = "pending"
    REWORK = "rework"
    SCRAP = "scrap"
    USE_AS_IS = "use_as_is"
    RETURN_TO_VENDOR = "return_to_vendor"


class FindingCategory(_Labelled):
    DESIGN_FLAW = "design_flaw"
    MATERIAL_WEAKNESS = "material_weakness"
    MANUFACTURING_CHALLENGE = "manufacturing_challenge"
    QUALITY = "quality"
    SUPPLY = "supply"
    COST = "cost"
    USABILITY = "usability"


class FindingStatus(_Labelled):
    OPEN = "open"
    INVESTIGATING = "investigating"
    FIXED = "fixed"
    VERIFIED = "verified"
    CLOSED = "closed"
    WONT_FIX = "wont_fix"

    @property
    def is_open(self) -> bool:
        return self in (FindingStatus.OPEN, FindingStatus.INVESTIGATING, FindingStatus.FIXED)


class FeedbackSource(_Labelled):
    TESTER = "tester"
    PILOT_USER = "pilot_user"
    CUSTOMER = "customer"
    INTERNAL = "internal"
    FIELD = "field"


class GateOutcome(_Labelled):
    GO = "go"
    NO_GO = "no_go"
    CONDITIONAL = "conditional"

    @property
    def label(self) -> str:
        return {"go": "Go", "no_go": "No go", "conditional": "Conditional go"}[self.value]


class AuditAction(_Labelled):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DECISION = "decision"
    IMPORT = "import"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    REVOKE = "revoke"
