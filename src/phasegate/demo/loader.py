"""Load the demo into a migrated database.

Low-volume records go through the audited services with actor ``demo``, so the audit trail is
the one a real user would leave; units, station passes, test runs, measurements and defects go
through the bulk path (``store.bulk``), which also keeps the running aggregates up to date.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, text

from phasegate.demo.generator import DEFAULT_SEED, generate
from phasegate.demo.records import BuildVolume, DemoData
from phasegate.domain.enums import AuditAction, FindingStatus
from phasegate.domain.errors import Conflict
from phasegate.services import audit, builds, crud, phases, products, quality
from phasegate.store import bulk, db
from phasegate.store.models import AuditEvent, Base, Build, Product
from phasegate.store.uow import UnitOfWork

ACTOR = "demo"
_BATCH_UNITS = 500

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
    audit_events: int
    seconds: float

    @property
    def bulk_rows(self) -> int:
        return self.units + self.station_passes + self.test_runs + self.measurements + self.defects


def load_demo(
    engine: Engine,
    *,
    reset: bool = False,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> DemoSummary:
    """Generate the demo for ``seed`` and store it; ``reset`` first empties every table.

    Raises ``Conflict`` when the database already holds data and ``reset`` is false.
    """
    started = time.perf_counter()
    report: Progress = progress or (lambda _d, _c, _t: None)
    if reset:
        db.empty_database(engine)
    elif _holds_data(engine):
        raise Conflict(
            "the database already holds data; use `phasegate demo --reset` to replace it "
            "with the demo"
        )
    data = generate(seed)
    loader = _Loader(engine, data, report)
    loader.setup()
    loader.volumes()
    loader.lessons()
    return _summary(engine, data, time.perf_counter() - started)


def _holds_data(engine: Engine) -> bool:
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Product)):
            return True
        return any(
            conn.execute(select(text("1")).select_from(t).limit(1)).first() is not None
            for t in Base.metadata.sorted_tables
        )


class _Loader:
    def __init__(self, engine: Engine, data: DemoData, report: Progress) -> None:
        self.engine = engine
        self.data = data
        self.report = report
        self.uow = UnitOfWork.for_engine(engine)
        self.ids: dict[tuple[str, ...], int] = {}
        self.done = 0

    # -- helpers ------------------------------------------------------------------------------

    def _create(self, resource: crud.Resource[Any], values: dict[str, Any]) -> Any:
        return crud.create(self.uow, resource, values, actor=ACTOR)

    def _tick(self, task: str, total: int) -> None:
        self.done += 1
        self.report(task, self.done, total)

    # -- low-volume records through the services ----------------------------------------------

    def setup(self) -> None:
        d = self.data
        total = (
            len(d.partners)
            + len(d.defect_codes)
            + len(d.products)
            + len(d.revisions)
            + len(d.requirements)
            + sum(1 + len(line.stations) for line in d.lines)
            + len(d.characteristics)
            + len(d.builds)
        )
        self.done = 0
        self.report(SETUP, 0, total)
        ids = self.ids
        for partner in d.partners:
            obj = self._create(
                builds.PARTNERS,
                {
                    "name": partner.name,
                    "kind": partner.kind,
                    "capabilities": list(partner.capabilities),
                    "phases_served": [ph.value for ph in partner.phases_served],
                    "country": partner.country,
                    "contact": partner.contact,
                },
            )
            ids["partner", partner.name] = obj.id
            self._tick(SETUP, total)
        for code in d.defect_codes:
            obj = self._create(
                quality.DEFECT_CODES,
                {"code": code.code, "description": code.description, "category": code.category},
            )
            ids["defect_code", code.code] = obj.id
            self._tick(SETUP, total)
        for line in d.lines:
            obj = self._create(
                builds.LINES,
                {
                    "name": line.name,
                    "partner_id": ids["partner", line.partner],
                    "description": line.description,
                },
            )
            ids["line", line.name] = obj.id
            self._tick(SETUP, total)
            for s in line.stations:
                station = self._create(
                    builds.STATIONS,
                    {
                        "line_id": obj.id,
                        "name": s.name,
                        "sequence": s.sequence,
                        "equipment": s.equipment,
                        "servers": s.servers,
                        "planned_cycle_time_s": s.planned_cycle_time_s,
                    },
                )
                ids["station", line.name, s.name] = station.id
                self._tick(SETUP, total)
        for product in d.products:
            obj = self._create(
                products.PRODUCTS,
                {
                    "key": product.key,
                    "name": product.name,
                    "description": product.description,
                    "target_unit_cost": product.target_unit_cost,
                    "target_annual_volume": product.target_annual_volume,
                    "target_launch_date": product.target_launch_date,
                },
            )
            ids["product", product.key] = obj.id
            self._tick(SETUP, total)
        for r in d.revisions:
            obj = self._create(
                products.REVISIONS,
                {
                    "product_id": ids["product", r.product],
                    "code": r.code,
                    "description": r.description,
                    "status": r.status,
                    "released_on": r.released_on,
                },
            )
            ids["revision", r.product, r.code] = obj.id
            self._tick(SETUP, total)
        for q in d.requirements:
            reach, impact, confidence, effort = q.rice
            obj = self._create(
                products.REQUIREMENTS,
                {
                    "product_id": ids["product", q.product],
                    "key": q.key,
                    "title": q.title,
                    "description": q.description,
                    "priority": q.priority,
                    "source": q.source,
                    "status": q.status,
                    "rice_reach": reach,
                    "rice_impact": impact,
                    "rice_confidence": confidence,
                    "rice_effort": effort,
                },
            )
            ids["requirement", q.key] = obj.id
            self._tick(SETUP, total)
        for char in d.characteristics:
            values: dict[str, Any] = {
                "product_id": ids["product", char.product],
                "name": char.name,
                "unit": char.unit,
                "lsl": char.lsl,
                "usl": char.usl,
                "target": char.target,
                "ctq": char.ctq,
                "description": char.description,
            }
            if char.requirement is not None:
                values["requirement_id"] = ids["requirement", char.requirement]
            if char.line is not None and char.station is not None:
                values["station_id"] = ids["station", char.line, char.station]
            obj = self._create(products.CHARACTERISTICS, values)
            ids["characteristic", char.product, char.name] = obj.id
            self._tick(SETUP, total)
        for b in d.builds:
            values = {
                "product_id": ids["product", b.product],
                "revision_id": ids["revision", b.product, b.revision],
                "code": b.code,
                "phase": b.phase,
                "status": "planned",
                "fidelity": b.fidelity,
                "technique": b.technique,
                "partner_id": ids["partner", b.partner],
                "planned_quantity": b.planned_quantity,
                "budget": b.budget,
                "start_date": b.start_date,
                "purpose": b.purpose,
            }
            if b.line is not None:
                values["line_id"] = ids["line", b.line]
            obj = self._create(builds.BUILDS, values)
            ids["build", b.code] = obj.id
            self._tick(SETUP, total)

    # -- high-volume records through the bulk path ----------------------------------------------

    def volumes(self) -> None:
        total = sum(v.row_count for v in self.data.volumes)
        loaded = 0
        self.report(VOLUME, 0, total)
        for volume in self.data.volumes:
            for rows in self._load_volume(volume):
                loaded += rows
                self.report(VOLUME, loaded, total)
            self._finish_build(volume)

    def _load_volume(self, volume: BuildVolume) -> Iterator[int]:
        ids = self.ids
        build_id = ids["build", volume.build]
        product_id = ids["product", volume.product]
        stations = {
            key[2]: ident
            for key, ident in ids.items()
            if key[0] == "station" and key[1] == volume.line
        }
        chars = {
            key[2]: ident
            for key, ident in ids.items()
            if key[0] == "characteristic" and key[1] == volume.product
        }
        limits = {c.name: c for c in self.data.characteristics if c.product == volume.product}
        batches = _batches(volume, _BATCH_UNITS)
        with self.engine.begin() as conn:
            for first, units, passes, runs, defects in batches:
                unit_ids = bulk.insert_units(
                    conn,
                    [
                        {
                            "product_id": product_id,
                            "build_id": build_id,
                            "serial": u.serial,
                            "status": u.status,
                            "allocation": u.allocation,
                            "created_at": u.created_at,
                            "updated_at": u.created_at,
                        }
                        for u in units
                    ],
                )
                build_of_unit = dict.fromkeys(unit_ids, build_id)
                bulk.insert_station_passes(
                    conn,
                    [
                        {
                            "unit_id": unit_ids[p.unit - first],
                            "station_id": stations[p.station],
                            "started_at": p.started_at,
                            "ended_at": p.ended_at,
                            "operator": p.operator,
                            "result": p.result,
                            "attempt": p.attempt,
                        }
                        for p in passes
                    ],
                    build_of_unit=build_of_unit,
                )
                run_ids = bulk.insert_test_runs(
                    conn,
                    [
                        {
                            "unit_id": unit_ids[r.unit - first],
                            "station_id": stations[r.station] if r.station else None,
                            "procedure": r.procedure,
                            "outcome": r.outcome,
                            "started_at": r.started_at,
                            "ended_at": r.ended_at,
                            "operator": r.operator,
                            "source": r.source,
                            "source_id": r.source_id,
                        }
                        for r in runs
                    ],
                )
                measurements = [
                    {
                        "test_run_id": run_id,
                        "unit_id": unit_ids[r.unit - first],
                        "characteristic_id": chars[m.characteristic],
                        "name": m.characteristic,
                        "value": m.value,
                        "unit": limits[m.characteristic].unit,
                        "lsl": limits[m.characteristic].lsl,
                        "usl": limits[m.characteristic].usl,
                        "outcome": m.outcome,
                        "measured_at": m.measured_at,
                    }
                    for r, run_id in zip(runs, run_ids, strict=True)
                    for m in r.measurements
                ]
                bulk.insert_measurements(conn, measurements, build_of_unit=build_of_unit)
                bulk.insert_defects(
                    conn,
                    [
                        {
                            "unit_id": unit_ids[x.unit - first],
                            "station_id": stations[x.station] if x.station else None,
                            "defect_code_id": ids["defect_code", x.code],
                            "severity": x.severity,
                            "disposition": x.disposition,
                            "cost": x.cost,
                            "found_at": x.found_at,
                            "notes": x.notes,
                        }
                        for x in defects
                    ],
                )
                yield len(units) + len(passes) + len(runs) + len(measurements) + len(defects)

    def _finish_build(self, volume: BuildVolume) -> None:
        """Record the import in the audit trail and close the build with its actuals."""
        build_id = self.ids["build", volume.build]
        rec = next(b for b in self.data.builds if b.code == volume.build)
        with self.uow:
            build = self.uow.get(Build, build_id)
            audit.record(
                self.uow,
                actor=ACTOR,
                action=AuditAction.IMPORT,
                obj=build,
                before=None,
                after={
                    "units": len(volume.units),
                    "station_passes": len(volume.passes),
                    "test_runs": len(volume.runs),
                    "measurements": volume.measurement_count,
                    "defects": len(volume.defects),
                },
                summary=f"imported {len(volume.units)} units and their test data into "
                f"build {volume.build}",
            )
            self.uow.commit()
        crud.update(
            self.uow,
            builds.BUILDS,
            build_id,
            {
                "status": rec.status,
                "actual_quantity": rec.actual_quantity,
                "actual_cost": rec.actual_cost,
                "end_date": rec.end_date,
            },
            actor=ACTOR,
        )

    # -- what the builds taught, and the gates -------------------------------------------------

    def lessons(self) -> None:
        d = self.data
        ids = self.ids
        resolved = [f for f in d.findings if f.resolution is not None]
        total = len(d.findings) + len(resolved) + len(d.feedback) + len(d.gates)
        self.done = 0
        self.report(LESSONS, 0, total)
        for f in d.findings:
            obj = self._create(
                quality.FINDINGS,
                {
                    "product_id": ids["product", f.product],
                    "revision_id": ids["revision", f.product, f.revision],
                    "build_id": ids["build", f.build],
                    "title": f.title,
                    "description": f.description,
                    "category": f.category,
                    "severity": f.severity,
                    "status": FindingStatus.OPEN,
                    "owner": f.owner,
                    "opened_on": f.opened_on,
                },
            )
            ids["finding", f.ref] = obj.id
            self._tick(LESSONS, total)
        for f in resolved:
            r = f.resolution
            assert r is not None
            values: dict[str, Any] = {
                "status": r.status,
                "root_cause": r.root_cause,
                "corrective_action": r.corrective_action,
                "closed_on": r.closed_on,
            }
            if r.fixed_in is not None:
                values["fixed_in_revision_id"] = ids["revision", f.product, r.fixed_in]
            crud.update(self.uow, quality.FINDINGS, ids["finding", f.ref], values, actor=ACTOR)
            self._tick(LESSONS, total)
        for fb in d.feedback:
            values = {
                "product_id": ids["product", fb.product],
                "source": fb.source,
                "author": fb.author,
                "rating": fb.rating,
                "text": fb.text,
                "received_on": fb.received_on,
            }
            if fb.revision is not None:
                values["revision_id"] = ids["revision", fb.product, fb.revision]
            if fb.requirement is not None:
                values["requirement_id"] = ids["requirement", fb.requirement]
            if fb.finding is not None:
                values["finding_id"] = ids["finding", fb.finding]
            self._create(quality.FEEDBACK, values)
            self._tick(LESSONS, total)
        for g in sorted(d.gates, key=lambda g: g.decided_at):
            phases.record_gate_decision(
                self.uow,
                g.product,
                to_phase=g.to_phase,
                outcome=g.outcome,
                decided_by=g.decided_by,
                rationale=g.rationale,
                decided_at=g.decided_at,
            )
            self._tick(LESSONS, total)


def _batches(
    volume: BuildVolume, size: int
) -> list[tuple[int, list[Any], list[Any], list[Any], list[Any]]]:
    """Split a build's records into groups of ``size`` units."""
    count = (len(volume.units) + size - 1) // size
    out: list[tuple[int, list[Any], list[Any], list[Any], list[Any]]] = [
        (k * size, volume.units[k * size : (k + 1) * size], [], [], []) for k in range(count)
    ]
    for slot, records in ((2, volume.passes), (3, volume.runs), (4, volume.defects)):
        for record in records:
            bucket: list[Any] = out[record.unit // size][slot]  # type: ignore[assignment]
            bucket.append(record)
    return out


def _summary(engine: Engine, data: DemoData, seconds: float) -> DemoSummary:
    from phasegate.store import models as m

    def count(model: type[Base]) -> int:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)

    with engine.connect() as conn:
        return DemoSummary(
            seed=data.seed,
            products=count(m.Product),
            revisions=count(m.Revision),
            requirements=count(m.Requirement),
            characteristics=count(m.Characteristic),
            partners=count(m.Partner),
            lines=count(m.Line),
            stations=count(m.Station),
            defect_codes=count(m.DefectCode),
            builds=count(m.Build),
            units=count(m.Unit),
            station_passes=count(m.StationPass),
            test_runs=count(m.TestRun),
            measurements=count(m.Measurement),
            defects=count(m.Defect),
            findings=count(m.Finding),
            feedback=count(m.Feedback),
            gate_decisions=count(m.GateDecision),
            audit_events=count(AuditEvent),
            seconds=round(seconds, 3),
        )
