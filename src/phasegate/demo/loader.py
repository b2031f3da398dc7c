"""Load the demo into a migrated database, through the services.

Low-volume records go through the audited services acting as ``SYSTEM``, so the audit trail
is the one a real user would leave; each gate decision acts as the person who took it (with
the product role), so the gate history keeps their names. Each build's units, station passes,
test runs, measurements and defects go through ``services.volume.record_build_volume`` (the
bulk path, which also keeps the running aggregates up to date). The services open and commit
every transaction. The demo's sign-ins (``demo.logins``), one per role, are created with their
fixed passwords.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from phasegate.demo.control_plan import load_control_plans
from phasegate.demo.costing import load_costs
from phasegate.demo.gate_decisions import record_gate
from phasegate.demo.gates import load_gate_evidence
from phasegate.demo.generator import DEFAULT_SEED, generate
from phasegate.demo.line_calendar import load_line_calendars
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.demo.records import (
    BuildRec,
    CharacteristicRec,
    DemoData,
    FeedbackRec,
    FindingRec,
    LineRec,
    RequirementRec,
    RevisionRec,
)
from phasegate.domain.enums import BuildStatus, FindingStatus
from phasegate.domain.errors import Conflict
from phasegate.domain.policy import SYSTEM
from phasegate.services import builds, crud, database, identity, products, quality, volume
from phasegate.store.uow import UnitOfWork

ACTOR = SYSTEM

Progress = Callable[[str, int, int], None]

SETUP = "Products, specifications and builds"
VOLUME = "Units, station passes and measurements"
LESSONS = "Findings, feedback and gate decisions"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``load_demo`` stored, and how long it took."""

    seed: int
    products: int
    revisions: int
    requirements: int
    characteristics: int
    partners: int
    lines: int
    stations: int
    defect_codes: int
    builds: int
    units: int
    station_passes: int
    test_runs: int
    measurements: int
    defects: int
    findings: int
    feedback: int
    gate_decisions: int
    users: int
    audit_events: int
    seconds: float

    @property
    def bulk_rows(self) -> int:
        return self.units + self.station_passes + self.test_runs + self.measurements + self.defects


# The summary's counts, by table name (the tables are named like the fields).
_COUNTED = tuple(
    f.name for f in dataclasses.fields(DemoSummary) if f.name not in ("seed", "seconds")
)


def load_demo(
    engine: Engine,
    *,
    reset: bool = False,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> DemoSummary:
    """Generate the demo for ``seed`` and store it; ``reset`` first empties every table.

    Raises ``Conflict`` when the database already holds data and ``reset`` is false.
    ``progress(task, done, total)`` is called as each of the three tasks advances.
    """
    started = time.perf_counter()
    uow = UnitOfWork.for_engine(engine)
    if reset:
        database.empty_database(uow)
    elif database.holds_data(uow):
        raise Conflict(
            "the database already holds data; use `phasegate demo --reset` to replace it "
            "with the demo"
        )
    data = generate(seed)
    loader = _Loader(uow, data, progress or _silent)
    loader.setup()
    loader.volumes()
    load_costs(uow, loader.ids)
    load_control_plans(uow)
    load_line_calendars(uow)
    load_gate_evidence(uow)
    loader.lessons()
    seconds = round(time.perf_counter() - started, 3)
    counts = database.row_counts(uow)
    return DemoSummary(seed=seed, seconds=seconds, **{name: counts[name] for name in _COUNTED})


def _silent(_task: str, _done: int, _total: int) -> None:
    return None


class _Loader:
    """Stores ``DemoData`` and remembers the id of every record by its natural key."""

    def __init__(self, uow: UnitOfWork, data: DemoData, report: Progress) -> None:
        self.uow = uow
        self.data = data
        self.report = report
        self.ids: dict[tuple[str, ...], int] = {}
        self.task = ""
        self.done = 0
        self.total = 0

    # -- helpers ------------------------------------------------------------------------------

    def _start(self, task: str, total: int) -> None:
        self.task, self.done, self.total = task, 0, total
        self.report(task, 0, total)

    def _create(
        self, resource: crud.Resource[Any], key: tuple[str, ...] | None, values: dict[str, Any]
    ) -> int:
        """Create one record through the audited service, remember its id, advance the task."""
        ident = int(crud.create(self.uow, resource, values, actor=ACTOR).id)
        if key is not None:
            self.ids[key] = ident
        self._advance()
        return ident

    def _advance(self) -> None:
        self.done += 1
        self.report(self.task, self.done, self.total)

    # -- low-volume records -------------------------------------------------------------------

    def setup(self) -> None:
        d = self.data
        self._start(SETUP, _setup_count(d))
        for partner in d.partners:
            self._create(builds.PARTNERS, ("partner", partner.name), _stored(partner))
        for code in d.defect_codes:
            self._create(quality.DEFECT_CODES, ("defect_code", code.code), _stored(code))
        for line in d.lines:
            self._line(line)
        for product in d.products:
            self._create(products.PRODUCTS, ("product", product.key), _stored(product))
        key: tuple[str, ...]
        for revision in d.revisions:
            key = ("revision", revision.product, revision.code)
            self._create(products.REVISIONS, key, self._revision_values(revision))
        for requirement in d.requirements:
            key = ("requirement", requirement.key)
            self._create(products.REQUIREMENTS, key, self._requirement_values(requirement))
        for char in d.characteristics:
            key = ("characteristic", char.product, char.name)
            self._create(products.CHARACTERISTICS, key, self._characteristic_values(char))
        for build in d.builds:
            self._create(builds.BUILDS, ("build", build.code), self._build_values(build))
        for login in DEMO_LOGINS:
            identity.create_user(
                self.uow,
                login.name,
                login.role,
                actor=ACTOR,
                full_name=login.full_name,
                partner=login.partner,
                password=login.password,
            )
            self._advance()

    def _line(self, line: LineRec) -> None:
        values = {
            **_stored(line, "partner", "stations"),
            "partner_id": self.ids["partner", line.partner],
        }
        line_id = self._create(builds.LINES, ("line", line.name), values)
        for s in line.stations:
            values = {**_stored(s), "line_id": line_id}
            self._create(builds.STATIONS, ("station", line.name, s.name), values)

    def _revision_values(self, r: RevisionRec) -> dict[str, Any]:
        return {**_stored(r, "product"), "product_id": self.ids["product", r.product]}

    def _requirement_values(self, q: RequirementRec) -> dict[str, Any]:
        return {
            "product_id": self.ids["product", q.product],
            "key": q.key,
            "title": q.title,
            "description": q.description,
            "priority": q.priority,
            "source": q.source,
            "status": q.status,
            "rice_reach": q.rice.reach,
            "rice_impact": q.rice.impact,
            "rice_confidence": q.rice.confidence,
            "rice_effort": q.rice.effort,
        }

    def _characteristic_values(self, char: CharacteristicRec) -> dict[str, Any]:
        values = {
            **_stored(char, "product", "requirement", "line", "station"),
            "product_id": self.ids["product", char.product],
        }
        if char.requirement is not None:
            values["requirement_id"] = self.ids["requirement", char.requirement]
        if char.line is not None and char.station is not None:
            values["station_id"] = self.ids["station", char.line, char.station]
        return values

    def _build_values(self, b: BuildRec) -> dict[str, Any]:
        """A build as planned; its actuals are recorded once its volume is in."""
        values: dict[str, Any] = {
            "product_id": self.ids["product", b.product],
            "revision_id": self.ids["revision", b.product, b.revision],
            "code": b.code,
            "phase": b.phase,
            "status": BuildStatus.PLANNED,
            "fidelity": b.fidelity,
            "technique": b.technique,
            "partner_id": self.ids["partner", b.partner],
            "planned_quantity": b.planned_quantity,
            "budget": b.budget,
            "start_date": b.start_date,
            "purpose": b.purpose,
        }
        if b.line is not None:
            values["line_id"] = self.ids["line", b.line]
        return values

    # -- high-volume records, build by build ----------------------------------------------------

    def volumes(self) -> None:
        self._start(VOLUME, self.data.volume_rows)
        builds_by_code = {b.code: b for b in self.data.builds}
        for code, build_volume in self.data.volumes.items():
            build_id = self.ids["build", code]
            stored = volume.record_build_volume(
                self.uow,
                build_id,
                build_volume,
                actor=ACTOR,
                progress=self._volume_progress(self.done),
            )
            self.done += stored.rows
            self._close_build(build_id, builds_by_code[code])

    def _volume_progress(self, offset: int) -> Callable[[int], None]:
        def report(stored: int) -> None:
            self.report(VOLUME, offset + stored, self.total)

        return report

    def _close_build(self, build_id: int, rec: BuildRec) -> None:
        """Record the build's status and actuals now that its units are in."""
        values = {
            "status": rec.status,
            "actual_quantity": rec.actual_quantity,
            "actual_cost": rec.actual_cost,
            "end_date": rec.end_date,
        }
        crud.update(self.uow, builds.BUILDS, build_id, values, actor=ACTOR)

    # -- what the builds taught, and the gates -------------------------------------------------

    def lessons(self) -> None:
        d = self.data
        resolved = [f for f in d.findings if f.resolution is not None]
        self._start(LESSONS, len(d.findings) + len(resolved) + len(d.feedback) + len(d.gates))
        for finding in d.findings:
            key = ("finding", finding.ref)
            self._create(quality.FINDINGS, key, self._finding_values(finding))
        for finding in resolved:
            self._resolve(finding)
            self._advance()
        for item in d.feedback:
            self._create(quality.FEEDBACK, None, self._feedback_values(item))
        for gate in sorted(d.gates, key=lambda g: g.decided_at):
            record_gate(self.uow, gate)
            self._advance()

    def _finding_values(self, f: FindingRec) -> dict[str, Any]:
        """A finding as first reported: open, its resolution comes later."""
        return {
            "product_id": self.ids["product", f.product],
            "revision_id": self.ids["revision", f.product, f.revision],
            "build_id": self.ids["build", f.build],
            "title": f.title,
            "description": f.description,
            "category": f.category,
            "severity": f.severity,
            "status": FindingStatus.OPEN,
            "owner": f.owner,
            "opened_on": f.opened_on,
        }

    def _resolve(self, f: FindingRec) -> None:
        r = f.resolution
        if r is None:
            return
        values: dict[str, Any] = {
            "status": r.status,
            "root_cause": r.root_cause,
            "corrective_action": r.corrective_action,
            "closed_on": r.closed_on,
        }
        if r.fixed_in is not None:
            values["fixed_in_revision_id"] = self.ids["revision", f.product, r.fixed_in]
        crud.update(self.uow, quality.FINDINGS, self.ids["finding", f.ref], values, actor=ACTOR)

    def _feedback_values(self, fb: FeedbackRec) -> dict[str, Any]:
        values = {
            **_stored(fb, "product", "revision", "requirement", "finding"),
            "product_id": self.ids["product", fb.product],
        }
        if fb.revision is not None:
            values["revision_id"] = self.ids["revision", fb.product, fb.revision]
        if fb.requirement is not None:
            values["requirement_id"] = self.ids["requirement", fb.requirement]
        if fb.finding is not None:
            values["finding_id"] = self.ids["finding", fb.finding]
        return values


def _setup_count(d: DemoData) -> int:
    """Records ``setup`` creates: one progress step each."""
    groups: Iterable[int] = (
        len(d.partners),
        len(d.defect_codes),
        sum(1 + len(line.stations) for line in d.lines),
        len(d.products),
        len(d.revisions),
        len(d.requirements),
        len(d.characteristics),
        len(d.builds),
        len(DEMO_LOGINS),
    )
    return sum(groups)


def _stored(rec: Any, *natural_keys: str) -> dict[str, Any]:
    """The fields of ``rec`` that are stored as they are: all but ``natural_keys``, which name
    other records (the loader gives their ids instead) or are stored otherwise."""
    return {
        f.name: getattr(rec, f.name) for f in dataclasses.fields(rec) if f.name not in natural_keys
    }
