"""The test-run page's read model and the unit genealogy's additions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Outcome, Phase, UnitStatus
from phasegate.domain.errors import Forbidden, NotFound
from phasegate.domain.policy import Principal, Role
from phasegate.ingest.records import AttachmentIn, MeasurementIn, Target, TestRunIn
from phasegate.services.ingest import ingest_records
from phasegate.services.read.test_run import test_run_detail as run_detail
from phasegate.services.read.unit import unit_history
from phasegate.store.models import Attachment, Line, Measurement, TestRun
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_line,
    make_partner,
    make_product,
    make_revision,
    make_unit,
)

T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def _run(engine: Engine, unit_id: int, station_id: int | None, **more: object) -> int:
    values = {
        "unit_id": unit_id,
        "station_id": station_id,
        "procedure": "EOL",
        "outcome": "fail",
        "started_at": T0,
        "ended_at": T0 + dt.timedelta(seconds=42),
        "operator": "op-3",
        "source": "openhtf",
        "source_id": f"run-{unit_id}-{more.get('started_at', T0)}",
        "extra": {"station_api_version": 7, "code_info": {"version": "1.4"}},
    } | more
    with engine.begin() as conn:
        run_id: int = conn.execute(insert(TestRun).values(**values)).inserted_primary_key[0]
    return run_id


def test_a_test_run_with_its_genealogy_measurements_and_attachments(
    uow: UnitOfWork, engine: Engine
) -> None:
    product = make_product(uow, key="TRN", name="Tracker")
    make_revision(uow, product, code="A")
    line = make_line(uow, stations=2, name="Line T")
    partner = make_partner(uow, name="Maker One")
    build = make_build(
        uow,
        product_id=product.id,
        code="T-PILOT",
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
        partner_id=partner.id,
    )
    unit = make_unit(uow, build, serial="T-0001", status="failed")
    with uow:
        s1, s2 = (s.id for s in uow.get(Line, line.id).stations)
    later = _run(engine, unit.id, s1, started_at=T0 + dt.timedelta(hours=1), outcome="pass")
    run_id = _run(engine, unit.id, s2)
    with engine.begin() as conn:
        conn.execute(
            insert(Measurement),
            [
                {
                    "test_run_id": run_id,
                    "unit_id": unit.id,
                    "measured_at": T0 + dt.timedelta(seconds=i),
                    "name": name,
                    "value": value,
                    "text_value": text,
                    "unit": unit_text,
                    "lsl": lsl,
                    "usl": usl,
                    "outcome": outcome,
                    "marginal": marginal,
                    "series": series,
                }
                for i, (name, value, text, unit_text, lsl, usl, outcome, marginal, series) in (
                    enumerate(
                        [
                            ("vbat", 3.31, None, "V", 3.0, 3.6, "pass", False, None),
                            ("current", 1.21, None, "A", None, 1.2, "fail", False, None),
                            ("temp", 39.5, None, "degC", 10.0, 40.0, "pass", True, None),
                            ("fw", None, "2.0.1", "", None, None, "pass", False, None),
                            (
                                "sweep",
                                None,
                                None,
                                "dB",
                                None,
                                None,
                                "pass",
                                False,
                                [[100.0, -3.0], [200.0, -1.5]],
                            ),
                        ]
                    )
                )
            ],
        )
        conn.execute(
            insert(Attachment),
            [
                {
                    "test_run_id": run_id,
                    "name": "scope.png",
                    "mimetype": "image/png",
                    "size": 2048,
                    "sha1": "a" * 40,
                },
                {
                    "test_run_id": run_id,
                    "name": "log.txt",
                    "mimetype": "text/plain",
                    "size": None,
                    "sha1": "",
                },
                {"test_run_id": later, "name": "other.bin", "mimetype": "", "size": 1, "sha1": ""},
            ],
        )

    r = run_detail(uow, run_id, actor=ACTOR)

    assert (r.id, r.procedure, r.outcome, r.duration_s) == (run_id, "EOL", Outcome.FAIL, 42.0)
    assert (r.unit_serial, r.unit_status, r.product_key, r.product_name) == (
        "T-0001",
        UnitStatus.FAILED,
        "TRN",
        "Tracker",
    )
    assert (r.build_id, r.build_code, r.build_phase, r.revision, r.partner) == (
        build.id,
        "T-PILOT",
        Phase.PILOT,
        "A",
        "Maker One",
    )
    assert (r.station, r.line, r.operator, r.source) == ("S2", "Line T", "op-3", "openhtf")
    assert r.extra == {"station_api_version": 7, "code_info": {"version": "1.4"}}
    assert r.extra_fields == ("code_info", "station_api_version")
    assert [m.name for m in r.measurements] == ["vbat", "current", "temp", "fw", "sweep"]
    assert [m.within_limits for m in r.measurements] == [True, False, True, None, None]
    assert [m.marginal for m in r.measurements] == [False, False, True, False, False]
    assert r.measurements[3].text_value == "2.0.1"
    assert r.measurements[4].series == ((100.0, -3.0), (200.0, -1.5))
    assert r.measurements[4].series_points == 2
    assert (r.out_of_limits, r.failed, r.marginal) == (1, 1, 1)
    assert [(a.name, a.mimetype, a.size) for a in r.attachments] == [
        ("scope.png", "image/png", 2048),
        ("log.txt", "text/plain", None),
    ]
    # Every run of the unit, in time order, this one first: it started an hour earlier.
    assert [(u.id, u.outcome) for u in r.unit_runs] == [
        (run_id, Outcome.FAIL),
        (later, Outcome.PASS),
    ]

    h = unit_history(uow, "T-0001", actor=ACTOR)
    assert (h.partner, h.line, h.revision) == ("Maker One", "Line T", "A")
    assert [(t.id, len(t.attachments)) for t in h.test_runs] == [(run_id, 2), (later, 1)]
    assert h.attachment_count == 3
    assert h.test_runs[0].marginal == 1


def test_a_run_outside_a_partner_users_scope_does_not_exist_for_it(
    uow: UnitOfWork, engine: Engine
) -> None:
    ours, theirs = make_partner(uow), make_partner(uow)
    product = make_product(uow)
    our_unit = make_unit(uow, make_build(uow, product_id=product.id, partner_id=ours.id))
    their_unit = make_unit(uow, make_build(uow, product_id=product.id, partner_id=theirs.id))
    our_run = _run(engine, our_unit.id, None)
    their_run = _run(engine, their_unit.id, None)
    user = Principal(name="cm", role=Role.PARTNER, partner_id=ours.id)

    assert run_detail(uow, our_run, actor=user).unit_serial == our_unit.serial
    with pytest.raises(NotFound, match=f"test run {their_run} does not exist"):
        run_detail(uow, their_run, actor=user)
    with pytest.raises(NotFound, match="test run 999999 does not exist"):
        run_detail(uow, 999_999, actor=ACTOR)
    # Whoever may read test data sees every run; a role that may not is refused.
    assert run_detail(uow, their_run, actor=Principal("v", Role.VIEWER)).id == their_run
    with pytest.raises(Forbidden):
        run_detail(uow, our_run, actor=Principal("t", Role.ADMIN, scopes=frozenset()))


def test_an_ingested_run_shows_what_its_record_held(uow: UnitOfWork) -> None:
    product = make_product(uow, key="ING")
    build = make_build(uow, product_id=product.id, code="ING-1")
    record = TestRunIn(
        where="run.json#/0",
        serial="ING-0007",
        started_at=T0,
        ended_at=T0 + dt.timedelta(seconds=5),
        outcome=Outcome.PASS,
        source_id="ing-run-7",
        source="json",
        procedure="Burn-in",
        measurements=(
            MeasurementIn(
                name="ripple", value=0.049, unit="V", usl=0.05, marginal=True, outcome=Outcome.PASS
            ),
        ),
        attachments=(AttachmentIn(name="trace.csv", mimetype="text/csv", size=512),),
        extra={"fixture": "F-2"},
    )
    result = ingest_records(
        uow,
        [record],
        actor=ACTOR,
        source_name="run.json",
        format="json",
        target=Target(product="ING", build=build.code),
    )
    assert result.inserted == 1

    (run,) = unit_history(uow, "ING-0007", actor=ACTOR).test_runs
    r = run_detail(uow, run.id, actor=ACTOR)
    assert (r.procedure, r.source, r.source_id) == ("Burn-in", "json", "ing-run-7")
    (m,) = r.measurements
    assert (m.name, m.value, m.usl, m.marginal, m.within_limits) == (
        "ripple",
        0.049,
        0.05,
        True,
        True,
    )
    assert [(a.name, a.size) for a in r.attachments] == [("trace.csv", 512)]
    assert r.extra == {"fixture": "F-2"}
