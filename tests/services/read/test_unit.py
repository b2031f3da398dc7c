"""The unit page's read model, on SQLite and PostgreSQL, against values made by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Outcome, Severity, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services import crud, quality
from phasegate.services.read.unit import unit_history
from phasegate.store.models import Defect, Measurement, StationPass, TestRun
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_build, make_line, make_product, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_unit_history(uow: UnitOfWork, engine: Engine) -> None:
    p = make_product(uow, key="HIS")
    line = make_line(uow, stations=2)
    build = make_build(
        uow, product_id=p.id, phase="pilot", fidelity=None, technique=None, line_id=line.id
    )
    unit = make_unit(uow, build, serial="H-1", status="failed")
    with uow:
        s1, s2 = (st.id for st in uow.get(type(line), line.id).stations)
    code = crud.create(
        uow, quality.DEFECT_CODES, {"code": "SCRATCH", "description": "Scratch"}, actor=ACTOR
    )
    with engine.begin() as conn:
        conn.execute(
            insert(StationPass),
            [  # inserted out of order: the history sorts them by time
                {
                    "unit_id": unit.id,
                    "station_id": s2,
                    "started_at": T0 + dt.timedelta(minutes=2),
                    "ended_at": T0 + dt.timedelta(minutes=2, seconds=45),
                    "result": "fail",
                    "attempt": 1,
                    "source_id": "his-pass-2",
                },
                {
                    "unit_id": unit.id,
                    "station_id": s1,
                    "started_at": T0,
                    "ended_at": T0 + dt.timedelta(seconds=30),
                    "result": "pass",
                    "attempt": 1,
                    "source_id": "his-pass-1",
                },
            ],
        )
        run_id = conn.execute(
            insert(TestRun).values(
                unit_id=unit.id,
                station_id=s2,
                procedure="EOL",
                outcome="fail",
                started_at=T0,
                ended_at=T0 + dt.timedelta(seconds=20),
                source_id="his-1",
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(Measurement),
            [
                {
                    "test_run_id": run_id,
                    "unit_id": unit.id,
                    "measured_at": T0,
                    "outcome": outcome,
                    "text_value": text,
                    "name": name,
                    "value": value,
                    "lsl": lsl,
                    "usl": usl,
                }
                for name, value, text, lsl, usl, outcome in [
                    ("v", 3.3, None, 3.0, 3.6, "pass"),
                    ("i", 0.9, None, 1.0, None, "fail"),
                    ("fw", None, "1.2.0", None, None, "pass"),
                ]
            ],
        )
        conn.execute(
            insert(Defect).values(
                unit_id=unit.id,
                station_id=s2,
                defect_code_id=code.id,
                severity="minor",
                found_at=T0 + dt.timedelta(minutes=3),
                source_id="his-defect-1",
            )
        )

    h = unit_history(uow, "H-1", actor=ACTOR)

    assert (h.serial, h.product_key, h.build_id, h.status) == (
        "H-1",
        "HIS",
        build.id,
        UnitStatus.FAILED,
    )
    assert [(x.station, x.result) for x in h.passes] == [("S1", Outcome.PASS), ("S2", Outcome.FAIL)]
    assert [x.duration_s for x in h.passes] == [30.0, 45.0]
    assert h.total_station_time_s == 75.0 and h.passes_not_passed == 1
    (run,) = h.test_runs
    assert (run.procedure, run.station, run.duration_s) == ("EOL", "S2", 20.0)
    assert [m.within_limits for m in run.measurements] == [True, False, None]
    assert run.out_of_limits == 1 and h.measurement_count == 3 and h.out_of_limits == 1
    (defect,) = h.defects
    assert (defect.code, defect.station, defect.severity) == ("SCRATCH", "S2", Severity.MINOR)


def test_unit_history_lookup_errors(uow: UnitOfWork) -> None:
    one = make_product(uow, key="ONE")
    two = make_product(uow, key="TWO")
    make_unit(uow, make_build(uow, product_id=one.id), serial="SHARED")
    make_unit(uow, make_build(uow, product_id=two.id), serial="SHARED")
    with pytest.raises(InvalidInput, match="exists in products ONE, TWO; name the product"):
        unit_history(uow, "SHARED", actor=ACTOR)
    assert unit_history(uow, "SHARED", product="two", actor=ACTOR).product_key == "TWO"
    with pytest.raises(NotFound, match="no unit with serial 'MISSING'"):
        unit_history(uow, "MISSING", actor=ACTOR)
    with pytest.raises(NotFound, match="product ONE has no unit with serial 'MISSING'"):
        unit_history(uow, "MISSING", product="ONE", actor=ACTOR)
    with pytest.raises(NotFound, match="product 'NONE' does not exist"):
        unit_history(uow, "SHARED", product="NONE", actor=ACTOR)
    with pytest.raises(InvalidInput, match="serial: must not be empty"):
        unit_history(uow, "  ", actor=ACTOR)


def test_serials_are_found_whatever_their_case(uow: UnitOfWork) -> None:
    product = make_product(uow, key="Case-1")
    make_unit(uow, make_build(uow, product_id=product.id), serial="Ab-12")
    assert unit_history(uow, "aB-12", actor=ACTOR).serial == "Ab-12"
    assert unit_history(uow, "AB-12", product="case-1", actor=ACTOR).serial == "Ab-12"
    for serial in ("AB-12\x00", "\udcab"):  # text no serial holds, and no database takes
        with pytest.raises(NotFound):
            unit_history(uow, serial, actor=ACTOR)
    with pytest.raises(NotFound):
        unit_history(uow, "AB-12", product="CASE-1\x00", actor=ACTOR)
