"""A small, demo-like data set for the page tests: three products, one in each phase.

Records that have services go through the audited services; station passes, test runs,
measurements and defects are inserted directly, with the running aggregates that ingest keeps
(``BuildStationStat``, ``BuildCharacteristicStat``) computed here from the same rows.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import builds, crud, identity, products, quality
from phasegate.services.gates.decisions import ActionItem
from phasegate.store.models import (
    BuildCharacteristicStat,
    BuildStationStat,
    Defect,
    DefectCode,
    Measurement,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from tests.gate_support import pass_gate

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
PASSWORD = "page-tests-password"
# One user per role, named after it; the partner user works for "Acme EMS", which makes PROTO-B1.
USERS = {role: role.value for role in Role}
PARTNER = "Acme EMS"
OTHER_PARTNER = "Other Works"


@dataclass(frozen=True)
class WebData:
    pilot_build_id: int
    proto_build_id: int
    shared_serial: str  # exists in two products
    pilot_serial: str  # a pilot unit with passes, tests and a defect
    partner_build_id: int  # PROTO-B1 (DRN), made by the partner user's partner
    other_partner_build_id: int  # S-PROTO-1 (SEN), made by another partner


def _create(uow: UnitOfWork, resource: Any, **data: Any) -> Any:
    return crud.create(uow, resource, data, actor=SYSTEM)


def _users(uow: UnitOfWork, partner_id: int) -> None:
    for role, name in USERS.items():
        identity.create_user(
            uow,
            name,
            role,
            actor=SYSTEM,
            full_name=f"Test {role.label.lower()}",
            partner=partner_id if role is Role.PARTNER else None,
            password=PASSWORD,
        )


def populate(engine: Engine, *, pilot_units: int = 120) -> WebData:
    uow = UnitOfWork.for_engine(engine)
    rng = random.Random(7)

    drone = _create(
        uow,
        products.PRODUCTS,
        key="DRN",
        name="Field Drone X1",
        description="Agricultural survey drone with a multispectral camera.",
        target_unit_cost=412.0,
        target_annual_volume=20000,
        target_launch_date="2027-04-01",
    )
    sensor = _create(
        uow,
        products.PRODUCTS,
        key="SEN",
        name="Soil Sensor S2",
        description="Battery-powered soil moisture probe.",
        target_unit_cost=38.5,
    )
    power = _create(uow, products.PRODUCTS, key="PWR", name="Power Module P7")

    revs = {
        code: _create(
            uow,
            products.REVISIONS,
            product_id=drone.id,
            code=code,
            status="released" if code != "C" else "draft",
            description=f"Design iteration {code}",
            released_on=f"2026-0{i}-15",
        )
        for i, code in enumerate("ABC", start=1)
    }
    sensor_rev = _create(uow, products.REVISIONS, product_id=sensor.id, code="A")
    power_rev = _create(uow, products.REVISIONS, product_id=power.id, code="A")

    for i, (priority, status) in enumerate(
        [("must", "verified"), ("must", "verified"), ("must", "accepted"), ("should", "proposed")]
    ):
        _create(
            uow,
            products.REQUIREMENTS,
            product_id=drone.id,
            key=f"REQ-{i + 1}",
            title=f"Requirement {i + 1}",
            priority=priority,
            status=status,
        )

    acme = _create(uow, builds.PARTNERS, name=PARTNER, kind="contract_manufacturer")
    other = _create(uow, builds.PARTNERS, name=OTHER_PARTNER, kind="contract_manufacturer")
    _users(uow, acme.id)
    line = _create(uow, builds.LINES, name="Pilot line A")
    stations = [
        _create(
            uow,
            builds.STATIONS,
            line_id=line.id,
            name=name,
            sequence=i + 1,
            planned_cycle_time_s=cycle,
        )
        for i, (name, cycle) in enumerate(
            [("SMT", 40.0), ("Assembly", 90.0), ("Flash & test", 60.0), ("Pack", 30.0)]
        )
    ]
    chars = [
        _create(
            uow,
            products.CHARACTERISTICS,
            product_id=drone.id,
            name=name,
            unit=unit,
            lsl=lsl,
            usl=usl,
            ctq=ctq,
            station_id=stations[2].id,
        )
        for name, unit, lsl, usl, ctq in [
            ("Hover current", "A", 8.0, 12.0, True),
            ("Motor noise", "dB", None, 62.0, True),
            ("Camera focus", "mm", 0.9, 1.1, False),
        ]
    ]

    proto_a = _create(
        uow,
        builds.BUILDS,
        product_id=drone.id,
        revision_id=revs["A"].id,
        code="PROTO-A1",
        phase="prototype",
        fidelity="low",
        technique="3d_print",
        planned_quantity=5,
        actual_quantity=5,
        budget=4000.0,
        actual_cost=4600.0,
        start_date="2026-01-10",
        end_date="2026-01-24",
        purpose="Form and fit",
    )
    proto_b = _create(
        uow,
        builds.BUILDS,
        product_id=drone.id,
        revision_id=revs["B"].id,
        code="PROTO-B1",
        phase="prototype",
        fidelity="high",
        technique="cnc",
        partner_id=acme.id,
        planned_quantity=8,
        actual_quantity=8,
        budget=9000.0,
        actual_cost=8700.0,
        start_date="2026-02-05",
        end_date="2026-02-20",
    )
    pilot = _create(
        uow,
        builds.BUILDS,
        product_id=drone.id,
        revision_id=revs["C"].id,
        code="PILOT-1",
        phase="pilot",
        line_id=line.id,
        status="in_progress",
        planned_quantity=pilot_units,
        budget=60000.0,
        start_date="2026-03-02",
        purpose="First pilot run on line A",
    )
    pass_gate(
        uow,
        "DRN",
        "pilot",
        outcome="conditional",
        decided_by=SYSTEM.name,
        rationale="Go, provided motor noise is re-verified on rev C.",
        decided_at=dt.datetime(2026, 2, 27, 15, 0, tzinfo=dt.UTC),
        actions=(ActionItem("Re-verify motor noise on rev C", "J. Ortega", dt.date(2026, 3, 31)),),
    )
    pass_gate(
        uow,
        "PWR",
        "pilot",
        decided_by=SYSTEM.name,
        decided_at=dt.datetime(2025, 9, 1, tzinfo=dt.UTC),
    )
    pass_gate(
        uow,
        "PWR",
        "production",
        decided_by=SYSTEM.name,
        decided_at=dt.datetime(2026, 1, 15, tzinfo=dt.UTC),
    )
    sensor_build = _create(
        uow,
        builds.BUILDS,
        product_id=sensor.id,
        revision_id=sensor_rev.id,
        code="S-PROTO-1",
        phase="prototype",
        technique="pcb_assembly",
        partner_id=other.id,
        planned_quantity=3,
    )
    _create(
        uow,
        builds.BUILDS,
        product_id=power.id,
        revision_id=power_rev.id,
        code="P7-PROTO",
        phase="prototype",
        technique="hand_built",
        planned_quantity=2,
    )

    for title, severity, status, rev, build in [
        ("Arm hinge cracks after drop test", "critical", "open", "A", proto_a),
        ("Battery door rattles", "minor", "closed", "A", proto_a),
        ("Motor mount resonance at 180 Hz", "major", "investigating", "B", proto_b),
        ("Camera lens fogging", "major", "open", "C", pilot),
        ("Label misprint", "cosmetic", "open", "C", pilot),
    ]:
        extra = {"corrective_action": "Reworked", "root_cause": "Tolerance"}
        _create(
            uow,
            quality.FINDINGS,
            product_id=drone.id,
            title=title,
            category="design_flaw",
            severity=severity,
            status=status,
            revision_id=revs[rev].id,
            build_id=build.id,
            owner="R. Okafor",
            opened_on="2026-02-01",
            **(extra if status == "closed" else {}),
        )
    for rev, rating, text in [
        ("A", 2, "Too heavy to launch by hand."),
        ("A", 3, "Good camera, flimsy arms."),
        ("B", 4, "Much sturdier."),
        ("C", 5, "Quiet and stable in wind."),
        ("C", 4, "Battery lasts a full field."),
    ]:
        _create(
            uow,
            quality.FEEDBACK,
            product_id=drone.id,
            revision_id=revs[rev].id,
            source="pilot_user" if rev == "C" else "tester",
            author="Farm trial",
            rating=rating,
            text=text,
            received_on="2026-03-01",
        )

    for i in range(1, 6):
        _create(uow, builds.UNITS, product_id=drone.id, build_id=proto_a.id, serial=f"A1-{i:03d}")
    _create(uow, builds.UNITS, product_id=drone.id, build_id=proto_b.id, serial="SN-0001")
    _create(uow, builds.UNITS, product_id=sensor.id, build_id=sensor_build.id, serial="SN-0001")
    _create(uow, quality.DEFECT_CODES, code="SOLDER-BRIDGE", description="Solder bridge")

    # Prototype builds: per-characteristic aggregates only (hand measurements).
    with engine.begin() as conn:
        conn.execute(
            insert(BuildCharacteristicStat),
            [
                _char_stat(proto_a.id, chars[0], [9.0, 12.5, 10.0]),  # one above USL
                _char_stat(proto_a.id, chars[1], [58.0, 59.0]),
                _char_stat(proto_b.id, chars[0], [9.5, 10.0, 10.5]),
                _char_stat(proto_b.id, chars[1], [61.0, 63.0]),  # one above USL
                _char_stat(proto_b.id, chars[2], [1.0, 1.05]),
            ],
        )
    _pilot_run(engine, pilot.id, drone.id, stations, chars, pilot_units, rng)
    return WebData(
        pilot_build_id=pilot.id,
        proto_build_id=proto_a.id,
        shared_serial="SN-0001",
        pilot_serial="DRN-P1-0001",
        partner_build_id=proto_b.id,
        other_partner_build_id=sensor_build.id,
    )


def _char_stat(build_id: int, char: Any, values: list[float]) -> dict[str, Any]:
    return {"build_id": build_id, "characteristic_id": char.id} | _limits_stat(
        values, char.lsl, char.usl
    )


def _limits_stat(values: list[float], lsl: float | None, usl: float | None) -> dict[str, Any]:
    return {
        "count": len(values),
        "total": sum(values),
        "total_sq": sum(v * v for v in values),
        "minimum": min(values),
        "maximum": max(values),
        "failed": 0,
        "below_lsl": sum(1 for v in values if lsl is not None and v < lsl),
        "above_usl": sum(1 for v in values if usl is not None and v > usl),
    }


def _pilot_run(
    engine: Engine,
    build_id: int,
    product_id: int,
    stations: list[Any],
    chars: list[Any],
    n_units: int,
    rng: random.Random,
) -> None:
    statuses = ["passed"] * 8 + ["failed", "rework", "in_process", "scrapped"]
    allocations = ["testing", "testing", "marketing", "regulatory", "unallocated"]
    with engine.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            insert(Unit),
            [
                {
                    "product_id": product_id,
                    "build_id": build_id,
                    "serial": f"DRN-P1-{i:04d}",
                    "status": statuses[i % len(statuses)] if i > 1 else "failed",
                    "allocation": allocations[i % len(allocations)],
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, n_units + 1)
            ],
        )
        unit_ids = list(
            conn.scalars(select(Unit.id).where(Unit.build_id == build_id).order_by(Unit.serial))
        )
        passes: list[dict[str, Any]] = []
        station_stats = {
            s.id: {"passes": 0, "first": 0, "ok": 0, "fail": 0, "times": []} for s in stations
        }
        clock = T0
        for index, unit_id in enumerate(unit_ids):
            for station in stations:
                attempts = 2 if (index % 9 == 0 and station.sequence == 3) else 1
                for attempt in range(1, attempts + 1):
                    seconds = round(station.planned_cycle_time_s * rng.uniform(0.8, 1.3), 1)
                    result = "fail" if attempt < attempts else "pass"
                    passes.append(
                        {
                            "source_id": f"web-data:{build_id}:{unit_id}:{station.id}:{attempt}",
                            "unit_id": unit_id,
                            "station_id": station.id,
                            "started_at": clock,
                            "ended_at": clock + dt.timedelta(seconds=seconds),
                            "operator": "op-7",
                            "result": result,
                            "attempt": attempt,
                        }
                    )
                    agg = station_stats[station.id]
                    agg["passes"] += 1
                    agg["first"] += attempt == 1
                    agg["ok"] += attempt == 1 and result == "pass"
                    agg["fail"] += result == "fail"
                    agg["times"].append(seconds)
                    clock += dt.timedelta(seconds=seconds + 5)
        conn.execute(insert(StationPass), passes)
        conn.execute(
            insert(BuildStationStat),
            [
                {
                    "build_id": build_id,
                    "station_id": sid,
                    "passes": a["passes"],
                    "first_attempts": a["first"],
                    "first_pass_ok": a["ok"],
                    "failures": a["fail"],
                    "cycle_time_count": len(a["times"]),
                    "cycle_time_total_s": sum(a["times"]),
                    "cycle_time_total_sq": sum(t * t for t in a["times"]),
                    "cycle_time_min_s": min(a["times"]),
                    "cycle_time_max_s": max(a["times"]),
                }
                for sid, a in station_stats.items()
            ],
        )
        # Test runs with measurements on the first 20 units.
        char_values: dict[int, list[float]] = {c.id: [] for c in chars}
        measurements: list[dict[str, Any]] = []
        for index, unit_id in enumerate(unit_ids[:20]):
            run_id = conn.execute(
                insert(TestRun).values(
                    unit_id=unit_id,
                    station_id=stations[2].id,
                    procedure="Functional test v3",
                    outcome="fail" if index == 0 else "pass",
                    started_at=T0 + dt.timedelta(minutes=index),
                    ended_at=T0 + dt.timedelta(minutes=index, seconds=48),
                    operator="op-7",
                    source="station",
                    source_id=f"run-{unit_id}",
                )
            ).inserted_primary_key[0]
            for c in chars:
                middle = (c.lsl + c.usl) / 2 if c.lsl is not None else c.usl - 4
                value = round(middle + rng.uniform(-0.3, 0.3), 3)
                if index == 0 and c.name == "Hover current":
                    value = 12.4  # the failing unit: above USL
                char_values[c.id].append(value)
                inside = (c.lsl is None or value >= c.lsl) and (c.usl is None or value <= c.usl)
                measurements.append(
                    {
                        "test_run_id": run_id,
                        "unit_id": unit_id,
                        "characteristic_id": c.id,
                        "name": c.name,
                        "value": value,
                        "unit": c.unit,
                        "lsl": c.lsl,
                        "usl": c.usl,
                        "outcome": "pass" if inside else "fail",
                        "measured_at": T0 + dt.timedelta(minutes=index, seconds=30),
                    }
                )
        conn.execute(insert(Measurement), measurements)
        conn.execute(
            insert(BuildCharacteristicStat),
            [
                {"build_id": build_id, "characteristic_id": c.id}
                | _limits_stat(char_values[c.id], c.lsl, c.usl)
                for c in chars
            ],
        )
        code_id = conn.scalar(select(DefectCode.id).where(DefectCode.code == "SOLDER-BRIDGE"))
        conn.execute(
            insert(Defect),
            [
                {
                    "source_id": f"web-data:{build_id}:defect:1",
                    "unit_id": unit_ids[0],
                    "station_id": stations[0].id,
                    "defect_code_id": code_id,
                    "severity": "major",
                    "disposition": "rework",
                    "cost": 12.5,
                    "found_at": T0 + dt.timedelta(minutes=3),
                    "notes": "Bridge between U3 pins 4 and 5",
                }
            ],
        )
