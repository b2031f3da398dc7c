"""Read-side overview services, checked against values computed by hand from small data sets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Allocation, GateOutcome, Outcome, Phase, Severity, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services import crud, overview, phases, products, quality
from phasegate.store.models import (
    BuildCharacteristicStat,
    BuildStationStat,
    Defect,
    Measurement,
    StationPass,
    TestRun,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_finding,
    make_line,
    make_product,
    make_revision,
    make_unit,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def uow(sqlite_engine: Engine) -> UnitOfWork:
    return UnitOfWork.for_engine(sqlite_engine)


def _stat(build_id: int, char_id: int, count: int, below: int = 0, above: int = 0) -> Any:
    return {
        "build_id": build_id,
        "characteristic_id": char_id,
        "count": count,
        "total": float(count),
        "total_sq": float(count),
        "minimum": 1.0,
        "maximum": 1.0,
        "below_lsl": below,
        "above_usl": above,
    }


def _feedback(uow: UnitOfWork, product_id: int, revision_id: int, rating: int | None) -> None:
    crud.create(
        uow,
        quality.FEEDBACK,
        {
            "product_id": product_id,
            "revision_id": revision_id,
            "source": "tester",
            "rating": rating,
        },
        actor=ACTOR,
    )


# --------------------------------------------------------------------------- portfolio


def test_portfolio_counts_per_product(uow: UnitOfWork) -> None:
    p = make_product(uow, key="AAA", name="Alpha", target_unit_cost=12.5)
    make_product(uow, key="BBB", name="Beta")
    revisions = {code: make_revision(uow, p, code=code) for code in ("A", "B", "Z", "AA")}
    b1 = make_build(uow, product_id=p.id, revision_id=revisions["A"].id)
    make_build(uow, product_id=p.id, revision_id=revisions["B"].id)
    for _ in range(3):
        make_unit(uow, b1)
    make_finding(uow, p, severity="critical")
    make_finding(uow, p, severity="major")
    make_finding(uow, p, severity="major", status="investigating")
    make_finding(uow, p, severity="minor", status="wont_fix")  # closed: not counted
    for rating in (2, 5, None):
        _feedback(uow, p.id, revisions["A"].id, rating)

    cards = overview.portfolio(uow)

    assert [c.key for c in cards] == ["AAA", "BBB"]
    alpha = cards[0]
    assert alpha.phase is Phase.PROTOTYPE
    assert (alpha.revision_count, alpha.latest_revision) == (4, "AA")  # AA comes after Z
    assert (alpha.build_count, alpha.unit_count) == (2, 3)
    assert [(s.severity, s.count) for s in alpha.open_findings] == [
        (Severity.CRITICAL, 1),
        (Severity.MAJOR, 2),
        (Severity.MINOR, 0),
        (Severity.COSMETIC, 0),
    ]
    assert alpha.open_findings_total == 3
    # Mean of the ratings given, (2 + 5) / 2; the unrated entry counts as feedback only.
    assert alpha.mean_feedback_rating == pytest.approx(3.5)
    assert (alpha.feedback_count, alpha.rated_feedback_count) == (3, 2)
    assert alpha.target_unit_cost == 12.5
    beta = cards[1]
    assert (beta.build_count, beta.unit_count, beta.open_findings_total) == (0, 0, 0)
    assert beta.latest_revision is None and beta.mean_feedback_rating is None


def test_portfolio_filters_by_phase(uow: UnitOfWork) -> None:
    make_product(uow, key="ONE")
    make_product(uow, key="TWO")
    phases.record_gate_decision(
        uow, "TWO", to_phase="pilot", outcome="go", decided_by="PM", rationale=""
    )
    assert [c.key for c in overview.portfolio(uow, phase="pilot")] == ["TWO"]
    assert [(c.value, c.count) for c in overview.phase_counts(uow)] == [
        (Phase.PROTOTYPE, 1),
        (Phase.PILOT, 1),
        (Phase.PRODUCTION, 0),
    ]
    with pytest.raises(InvalidInput, match="phase: 'beta' is not one of"):
        overview.portfolio(uow, phase="beta")


# --------------------------------------------------------------------------- product


def test_product_overview_iteration_view(uow: UnitOfWork, sqlite_engine: Engine) -> None:
    p = make_product(uow, key="ITER")
    rev_a = make_revision(uow, p, code="A")
    rev_b = make_revision(uow, p, code="B")
    chars = [make_characteristic(uow, p, ctq=i < 2) for i in range(4)]
    a_old = make_build(
        uow, product_id=p.id, revision_id=rev_a.id, code="A-1", start_date="2026-01-05"
    )
    a_new = make_build(
        uow, product_id=p.id, revision_id=rev_a.id, code="A-2", start_date="2026-01-20"
    )
    b_1 = make_build(
        uow, product_id=p.id, revision_id=rev_b.id, code="B-1", start_date="2026-02-10"
    )
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(BuildCharacteristicStat),
            [
                # A-1 (older): every spec met; must not be used for revision A.
                *[_stat(a_old.id, c.id, 5) for c in chars],
                # A-2 (latest of A): 3 measured, one of them above USL -> 2 met of 4.
                _stat(a_new.id, chars[0].id, 5),
                _stat(a_new.id, chars[1].id, 5),
                _stat(a_new.id, chars[2].id, 5, above=1),
                # B-1: all four measured, one below LSL -> 3 met of 4; an empty aggregate
                # row (count 0) would not count as measured.
                _stat(b_1.id, chars[0].id, 5),
                _stat(b_1.id, chars[1].id, 5),
                _stat(b_1.id, chars[2].id, 5),
                _stat(b_1.id, chars[3].id, 5, below=2),
            ],
        )
    make_finding(uow, p, revision_id=rev_a.id, severity="critical")
    make_finding(
        uow,
        p,
        revision_id=rev_a.id,
        severity="major",
        status="closed",
        root_cause="x",
        corrective_action="y",
    )
    make_finding(uow, p, revision_id=rev_b.id, severity="minor")
    for rating in (2, 3):
        _feedback(uow, p.id, rev_a.id, rating)
    for rating in (4, 5, 5):
        _feedback(uow, p.id, rev_b.id, rating)
    for i, (priority, status) in enumerate(
        [("must", "verified"), ("must", "accepted"), ("could", "proposed")]
    ):
        crud.create(
            uow,
            products.REQUIREMENTS,
            {
                "product_id": p.id,
                "key": f"R{i}",
                "title": "t",
                "priority": priority,
                "status": status,
            },
            actor=ACTOR,
        )

    o = overview.product_overview(uow, "iter")  # keys are case-insensitive

    assert o.product.key == "ITER"
    assert (o.characteristic_count, o.ctq_count) == (4, 2)
    a, b = o.revisions
    assert (a.code, a.build_count, b.code, b.build_count) == ("A", 2, "B", 1)
    assert a.specs is not None and b.specs is not None
    assert (a.specs.build_code, a.specs.met, a.specs.measured, a.specs.total) == ("A-2", 2, 3, 4)
    assert a.specs.share == pytest.approx(0.5)
    assert (b.specs.build_code, b.specs.met, b.specs.measured) == ("B-1", 3, 4)
    assert b.specs.share == pytest.approx(0.75)
    assert (a.open_findings, a.findings_total, b.open_findings, b.findings_total) == (1, 2, 1, 1)
    assert a.mean_feedback_rating == pytest.approx(2.5)  # (2 + 3) / 2
    assert b.mean_feedback_rating == pytest.approx(14 / 3)  # (4 + 5 + 5) / 3
    assert o.mean_feedback_rating == pytest.approx(19 / 5)  # all five ratings
    assert o.latest_specs is not None and o.latest_specs.build_code == "B-1"
    assert [b.code for b in o.builds] == ["B-1", "A-2", "A-1"]  # newest first
    assert [s.count for s in o.open_findings] == [1, 0, 1, 0]
    assert [f.severity for f in o.top_open_findings] == [Severity.CRITICAL, Severity.MINOR]
    must = o.must_haves
    assert must is not None and (must.total, must.verified) == (2, 1)
    assert o.requirement_total == 3


def test_product_timeline_from_gate_decisions(uow: UnitOfWork) -> None:
    p = make_product(uow, key="TL")
    rev = make_revision(uow, p)
    make_build(uow, product_id=p.id, revision_id=rev.id, start_date="2025-11-03")
    phases.record_gate_decision(
        uow,
        "TL",
        to_phase="pilot",
        outcome="no_go",
        decided_by="QA",
        rationale="FPY too low",
        decided_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
    )
    phases.record_gate_decision(
        uow,
        "TL",
        to_phase="pilot",
        outcome="go",
        decided_by="QA",
        rationale="",
        decided_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )

    o = overview.product_overview(uow, "TL")

    proto, pilot, production = o.timeline
    assert (proto.state, proto.entered_on, proto.left_on) == (
        "done",
        dt.date(2025, 11, 3),  # the first build started before the product was recorded here
        dt.date(2026, 2, 1),  # the go, not the earlier no-go
    )
    assert proto.build_count == 1
    assert (pilot.state, pilot.entered_on, pilot.left_on) == ("current", dt.date(2026, 2, 1), None)
    assert (production.state, production.entered_on) == ("upcoming", None)
    assert [d.outcome for d in o.gate_decisions] == [GateOutcome.NO_GO, GateOutcome.GO]


def test_product_overview_unknown_product(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound, match="product 'NOPE' does not exist"):
        overview.product_overview(uow, "NOPE")


def test_product_findings_and_feedback_pages(uow: UnitOfWork) -> None:
    p = make_product(uow, key="FF")
    rev = make_revision(uow, p, code="A")
    for severity in ("minor", "critical", "major", "critical"):
        make_finding(uow, p, severity=severity, revision_id=rev.id)
    make_finding(uow, p, severity="major", status="wont_fix")
    page = overview.product_findings(uow, "FF", limit=3)
    assert page.total == 4 and len(page.items) == 3 and page.has_next and page.page_count == 2
    assert [f.severity for f in page.items] == [
        Severity.CRITICAL,
        Severity.CRITICAL,
        Severity.MAJOR,
    ]
    assert overview.product_findings(uow, "FF", status="all").total == 5
    assert overview.product_findings(uow, "FF", severity="critical").total == 2
    assert overview.product_findings(uow, "FF", revision="A").total == 4
    with pytest.raises(NotFound, match="no revision 'Q'"):
        overview.product_findings(uow, "FF", revision="Q")
    with pytest.raises(InvalidInput, match="limit"):
        overview.product_findings(uow, "FF", limit=0)

    for rating in (1, 4, 4):
        _feedback(uow, p.id, rev.id, rating)
    assert overview.product_feedback(uow, "FF").total == 3
    assert overview.product_feedback(uow, "FF", rating=4).total == 2


# --------------------------------------------------------------------------- build


def test_build_overview_station_and_unit_summaries(uow: UnitOfWork, sqlite_engine: Engine) -> None:
    p = make_product(uow, key="BLD")
    line = make_line(uow, stations=3)
    build = make_build(
        uow,
        product_id=p.id,
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
        budget=1000.0,
        actual_cost=1250.0,
    )
    with uow:
        s1, s2, s3 = (st.id for st in uow.get(type(line), line.id).stations)
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(BuildStationStat),
            [
                # Cycle times 10, 12, 14 s: mean 12, sd sqrt((440 - 36**2/3) / 2) = 2.
                {
                    "build_id": build.id,
                    "station_id": s1,
                    "passes": 22,
                    "first_attempts": 20,
                    "first_pass_ok": 18,
                    "failures": 2,
                    "cycle_time_count": 3,
                    "cycle_time_total_s": 36.0,
                    "cycle_time_total_sq": 440.0,
                    "cycle_time_min_s": 10.0,
                    "cycle_time_max_s": 14.0,
                },
                {
                    "build_id": build.id,
                    "station_id": s2,
                    "passes": 20,
                    "first_attempts": 20,
                    "first_pass_ok": 16,
                    "failures": 4,
                    "cycle_time_count": 1,
                    "cycle_time_total_s": 30.0,
                    "cycle_time_total_sq": 900.0,
                    "cycle_time_min_s": 30.0,
                    "cycle_time_max_s": 30.0,
                },
            ],
        )
    for status in ("passed", "passed", "failed", "rework"):
        make_unit(uow, build, status=status, allocation="testing")
    make_unit(uow, build, status="passed", allocation="marketing")

    o = overview.build_overview(uow, build.id)

    assert (o.build.code, o.build.product_key, o.build.line) == (build.code, "BLD", line.name)
    assert o.build.cost_variance == pytest.approx(250.0)
    assert o.unit_count == 5
    counts = {c.value: c.count for c in o.by_status}
    assert (counts[UnitStatus.PASSED], counts[UnitStatus.FAILED], counts[UnitStatus.REWORK]) == (
        3,
        1,
        1,
    )
    assert counts[UnitStatus.SCRAPPED] == 0
    allocation = {c.value: c.count for c in o.by_allocation}
    assert (allocation[Allocation.TESTING], allocation[Allocation.MARKETING]) == (4, 1)
    first, second, idle = o.stations
    assert first.first_pass_yield == pytest.approx(0.9)  # 18 / 20
    assert first.mean_cycle_time_s == pytest.approx(12.0)
    assert first.cycle_time_sd_s == pytest.approx(2.0)
    assert second.first_pass_yield == pytest.approx(0.8)  # 16 / 20
    assert second.cycle_time_sd_s is None  # one observation
    # The third station of the line has no passes yet: listed, with no yield.
    assert (idle.station_id, idle.passes, idle.first_pass_yield) == (s3, 0, None)
    assert o.rolled_throughput_yield == pytest.approx(0.9 * 0.8)

    with pytest.raises(NotFound, match="build 9999 does not exist"):
        overview.build_overview(uow, 9999)


def test_build_units_filters_and_pages(uow: UnitOfWork, sqlite_engine: Engine) -> None:
    p = make_product(uow, key="UNT")
    line = make_line(uow, stations=2)
    build = make_build(
        uow, product_id=p.id, phase="pilot", fidelity=None, technique=None, line_id=line.id
    )
    units = [
        make_unit(
            uow,
            build,
            serial=f"U-{i:03d}",
            status="failed" if i % 5 == 0 else "passed",
            allocation="testing" if i % 2 else "unallocated",
        )
        for i in range(1, 31)
    ]
    with uow:
        s1, s2 = (st.id for st in uow.get(type(line), line.id).stations)
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(StationPass),
            [
                {
                    "unit_id": units[0].id,
                    "station_id": s1,
                    "started_at": T0,
                    "ended_at": T0 + dt.timedelta(seconds=30),
                    "result": "fail",
                    "attempt": 1,
                },
                {
                    "unit_id": units[0].id,
                    "station_id": s2,
                    "started_at": T0 + dt.timedelta(minutes=5),
                    "ended_at": T0 + dt.timedelta(minutes=6),
                    "result": "pass",
                    "attempt": 1,
                },
            ],
        )

    page = overview.build_units(uow, build.id, limit=10, offset=10)
    assert page.total == 30 and [u.serial for u in page.items][:2] == ["U-011", "U-012"]
    assert (page.number, page.page_count, page.first_index, page.last_index) == (2, 3, 11, 20)
    failed = overview.build_units(uow, build.id, status="failed")
    assert [u.serial for u in failed.items] == [
        "U-005",
        "U-010",
        "U-015",
        "U-020",
        "U-025",
        "U-030",
    ]
    both = overview.build_units(uow, build.id, status="failed", allocation="testing")
    assert [u.serial for u in both.items] == ["U-005", "U-015", "U-025"]
    assert overview.build_units(uow, build.id, q="u-02").total == 10  # U-020 .. U-029
    first = overview.build_units(uow, build.id, q="U-001").items[0]
    assert (first.passes, first.failed_passes, first.last_station) == (2, 1, "S2")
    assert first.last_activity == T0 + dt.timedelta(minutes=5)
    with pytest.raises(InvalidInput, match="status: 'lost' is not one of"):
        overview.build_units(uow, build.id, status="lost")
    with pytest.raises(NotFound):
        overview.build_units(uow, 9999)


# --------------------------------------------------------------------------- unit


def test_unit_history(uow: UnitOfWork, sqlite_engine: Engine) -> None:
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
    with sqlite_engine.begin() as conn:
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
                },
                {
                    "unit_id": unit.id,
                    "station_id": s1,
                    "started_at": T0,
                    "ended_at": T0 + dt.timedelta(seconds=30),
                    "result": "pass",
                    "attempt": 1,
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
            )
        )

    h = overview.unit_history(uow, "H-1")

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
        overview.unit_history(uow, "SHARED")
    assert overview.unit_history(uow, "SHARED", product="two").product_key == "TWO"
    with pytest.raises(NotFound, match="no unit with serial 'MISSING'"):
        overview.unit_history(uow, "MISSING")
    with pytest.raises(NotFound, match="product ONE has no unit with serial 'MISSING'"):
        overview.unit_history(uow, "MISSING", product="ONE")
    with pytest.raises(NotFound, match="product 'NONE' does not exist"):
        overview.unit_history(uow, "SHARED", product="NONE")
    with pytest.raises(InvalidInput, match="serial: must not be empty"):
        overview.unit_history(uow, "  ")


def test_page_arithmetic() -> None:
    page = overview.PageOf(items=(1, 2), total=52, limit=25, offset=50)
    assert (page.number, page.page_count, page.has_next, page.has_previous) == (3, 3, False, True)
    empty = overview.PageOf(items=(), total=0, limit=25, offset=0)
    assert (empty.page_count, empty.first_index, empty.last_index) == (1, 0, 0)
