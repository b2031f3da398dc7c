"""Who may do what: roles, actions, resource kinds, token scopes and the one policy table.

``POLICY`` says, per role, which actions it may take on which kinds of record. A person signed
in to the web app and the CLI's user act with their role's permissions; an API token acts with
its user's role narrowed to the token's scopes (``SCOPE_ACTIONS``). The services ask
``Principal.may`` before they read or change anything, so the CLI, the API and the pages cannot
disagree. A partner user's permissions hold only inside its partner's builds: the services scope
every query by ``Principal.partner_id`` (``services/access.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from phasegate.domain.enums import _Labelled


class Role(_Labelled):
    """A user's role. ``partner`` is a contract manufacturer's user, scoped to its builds."""

    ADMIN = "admin"
    ENGINEER = "engineer"
    QUALITY = "quality"
    OPERATIONS = "operations"
    PRODUCT = "product"
    VIEWER = "viewer"
    PARTNER = "partner"


class Action(_Labelled):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DECIDE_GATE = "decide_gate"
    SIGN_OFF = "sign_off"
    INGEST = "ingest"
    ADMINISTER = "administer"


class Kind(StrEnum):
    """The kinds of record the policy speaks of; the record types' names where they have one."""

    PRODUCT = "product"
    REVISION = "revision"
    REQUIREMENT = "requirement"
    CHARACTERISTIC = "characteristic"
    PARTNER = "partner"
    LINE = "line"
    STATION = "station"
    BUILD = "build"
    UNIT = "unit"
    TEST_DATA = "test data"  # station passes, test runs, measurements, defects
    FINDING = "finding"
    FEEDBACK = "feedback"
    DEFECT_CODE = "defect code"
    CONTROL_PLAN = "control plan"  # control plans, their items, gauges and gage studies
    GATE_DECISION = "gate decision"
    AUDIT_EVENT = "audit event"
    USER = "user"
    TOKEN = "token"


class Scope(_Labelled):
    """What an API token may be used for, within its user's role."""

    READ = "read"
    WRITE = "write"
    INGEST = "ingest"
    ADMIN = "admin"


SCOPE_ACTIONS: Mapping[Scope, frozenset[Action]] = {
    Scope.READ: frozenset({Action.READ}),
    Scope.WRITE: frozenset(
        {Action.READ, Action.CREATE, Action.UPDATE, Action.DECIDE_GATE, Action.SIGN_OFF}
    ),
    Scope.INGEST: frozenset({Action.INGEST}),
    Scope.ADMIN: frozenset(Action),
}

# The records of a product's design, of making it, of its quality; and the records about people.
DESIGN = frozenset({Kind.PRODUCT, Kind.REVISION, Kind.REQUIREMENT, Kind.CHARACTERISTIC})
MAKING = frozenset({Kind.PARTNER, Kind.LINE, Kind.STATION, Kind.BUILD, Kind.UNIT})
QUALITY = frozenset(
    {Kind.TEST_DATA, Kind.FINDING, Kind.FEEDBACK, Kind.DEFECT_CODE, Kind.CONTROL_PLAN}
)
IDENTITY = frozenset({Kind.USER, Kind.TOKEN})
# Everything an internal user may read: every record except other people's accounts and tokens.
EVERYTHING_READABLE = frozenset(Kind) - IDENTITY
# What a partner may read, inside its scope: what it needs to build and test the product.
PARTNER_READABLE = frozenset(
    {
        Kind.PRODUCT,
        Kind.REVISION,
        Kind.CHARACTERISTIC,
        Kind.PARTNER,
        Kind.LINE,
        Kind.STATION,
        Kind.BUILD,
        Kind.UNIT,
        Kind.TEST_DATA,
        Kind.FINDING,
        Kind.DEFECT_CODE,
    }
)


def _rules(
    read: Iterable[Kind] = EVERYTHING_READABLE,
    write: Iterable[Kind] = (),
    *,
    ingest: bool = False,
    decide: bool = False,
    sign_off: bool = False,
) -> dict[Action, frozenset[Kind]]:
    """One role's row of the table: ``write`` kinds may be created and updated."""
    rules = {
        Action.READ: frozenset(read),
        Action.CREATE: frozenset(write),
        Action.UPDATE: frozenset(write),
        Action.INGEST: frozenset({Kind.TEST_DATA}) if ingest else frozenset(),
        Action.DECIDE_GATE: frozenset({Kind.GATE_DECISION}) if decide else frozenset(),
        Action.SIGN_OFF: frozenset({Kind.GATE_DECISION}) if sign_off else frozenset(),
        Action.ADMINISTER: frozenset(),
    }
    return rules


POLICY: Mapping[Role, Mapping[Action, frozenset[Kind]]] = {
    Role.ADMIN: {
        **_rules(
            read=frozenset(Kind),
            write=DESIGN | MAKING | (QUALITY - {Kind.TEST_DATA}),
            ingest=True,
            decide=True,
            sign_off=True,
        ),
        Action.ADMINISTER: IDENTITY,
    },
    Role.ENGINEER: _rules(
        write=DESIGN | {Kind.BUILD, Kind.UNIT, Kind.FINDING, Kind.FEEDBACK, Kind.DEFECT_CODE},
        ingest=True,
        sign_off=True,
    ),
    Role.QUALITY: _rules(
        write={
            Kind.CHARACTERISTIC,
            Kind.UNIT,
            Kind.FINDING,
            Kind.FEEDBACK,
            Kind.DEFECT_CODE,
            Kind.CONTROL_PLAN,
        },
        ingest=True,
        sign_off=True,
    ),
    Role.OPERATIONS: _rules(
        write=MAKING | {Kind.FINDING, Kind.DEFECT_CODE, Kind.CONTROL_PLAN},
        ingest=True,
        sign_off=True,
    ),
    Role.PRODUCT: _rules(
        write={Kind.PRODUCT, Kind.REQUIREMENT, Kind.FEEDBACK, Kind.FINDING},
        decide=True,
        sign_off=True,
    ),
    Role.VIEWER: _rules(),
    Role.PARTNER: _rules(read=PARTNER_READABLE, write={Kind.UNIT}, ingest=True),
}
"""Role × action × kind: the kinds of record each role may act on, per action."""


def role_may(role: Role, action: Action, kind: Kind) -> bool:
    """The policy table's answer for a role, before any token scope narrows it."""
    return kind in POLICY[role][action]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user with a role, as a signed-in person, the CLI's user or a token.

    ``scopes`` is None for a person and for the CLI (the role's whole permissions), and the
    token's scopes for an API token; ``station`` is the one station an ingest token is bound
    to. ``partner_id`` scopes a partner user to its partner's builds. ``name`` goes into the
    audit trail.
    """

    name: str
    role: Role
    user_id: int | None = None
    partner_id: int | None = None
    scopes: frozenset[Scope] | None = None
    station_id: int | None = None

    def may(self, action: Action, kind: Kind) -> bool:
        """Whether the policy table, narrowed by the token's scopes, allows ``action``."""
        if not role_may(self.role, action, kind):
            return False
        if self.scopes is None:
            return True
        return any(action in SCOPE_ACTIONS[scope] for scope in self.scopes)

    @property
    def scoped(self) -> bool:
        """A partner user: sees and changes only its partner's builds and what hangs off them."""
        return self.role is Role.PARTNER

    @property
    def is_admin(self) -> bool:
        return self.may(Action.ADMINISTER, Kind.USER)


SYSTEM = Principal(name="system", role=Role.ADMIN)
"""The product itself acting: migrations, the demo loader, maintenance commands."""


# Each route of the API and the pages declares what it needs, in its OpenAPI extension
# ``x-permission``: ``"public"``, ``"signed_in"`` or ``"<action>:<kind>"`` (``"read:build"``).
# The adapters check it before the service runs (and the service checks again); a test walks
# the route table and fails on a route that declares nothing.
PERMISSION_KEY = "x-permission"
PUBLIC = "public"
# Any signed-in user (or valid token) of any role: signing out, changing one's own password.
SIGNED_IN = "signed_in"


def permission(action: Action, kind: Kind) -> str:
    """The ``x-permission`` text of a route that needs ``action`` on ``kind``."""
    return f"{action.value}:{kind.value}"


def parse_permission(text: str) -> tuple[Action, Kind] | None:
    """``(action, kind)`` from an ``x-permission`` text; None when the route needs no
    permission of the table: ``PUBLIC`` (nobody need be signed in) or ``SIGNED_IN``."""
    if text in (PUBLIC, SIGNED_IN):
        return None
    action, _, kind = text.partition(":")
    return Action(action), Kind(kind)
