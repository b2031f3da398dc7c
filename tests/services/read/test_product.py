"""The product page's read models, on SQLite and PostgreSQL, against values made by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import BuildStatus, GateOutcome, Phase, Severity
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services import crud, products
from phasegate.services.read.feedback import product_feedback
from phasegate.services.read.findings import product_findings
from phasegate.services.read.product import product_overview
from phasegate.services.read.rows import build_schedule, product_schedule, product_summary
from phasegate.store.models import BuildCharacteristicStat, BuildStationStat
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_finding,
    make_line,
    make_product,
    make_revision,
)
from tests.gate_support import pass_gate
from tests.services.read.helpers import add_feedback, char_stat


def test_product_overview_iteration_view(uow: UnitOfWork, engine: Engine) -> None:
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
    with engine.begin() as conn:
        conn.execute(
            insert(BuildCharacteristicStat),
            [
                # A-1 (older): every spec met; must not be used for revision A.
                *[char_stat(a_old.id, c.id, 5) for c in chars],
                # A-2 (latest of A): 3 measured, one of them above USL -> 2 met of the 3
                # measured there (the fourth, never measured on A-2, is not counted).
                char_stat(a_new.id, chars[0].id, 5),
                char_stat(a_new.id, chars[1].id, 5),
                char_stat(a_new.id, chars[2].id, 5, above=1),
                # B-1: all four measured, one below LSL -> 3 met of 4.
                char_stat(b_1.id, chars[0].id, 5),
                char_stat(b_1.id, chars[1].id, 5),
                char_stat(b_1.id, chars[2].id, 5),
                char_stat(b_1.id, chars[3].id, 5, below=2),
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
        add_feedback(uow, p.id, rev_a.id, rating)
    for rating in (4, 5, 5):
        add_feedback(uow, p.id, rev_b.id, rating)
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

    o = product_overview(uow, "iter", actor=ACTOR)  # keys are case-insensitive

    assert o.product.key == "ITER"
    assert (o.characteristic_count, o.ctq_count) == (4, 2)
    a, b = o.revisions
    assert (a.code, a.build_count, b.code, b.build_count) == ("A", 2, "B", 1)
    assert a.specs is not None and b.specs is not None
    assert (a.specs.build_code, a.specs.met, a.specs.measured) == ("A-2", 2, 3)
    assert a.specs.share == pytest.approx(2 / 3)
    assert (b.specs.build_code, b.specs.met, b.specs.measured) == ("B-1", 3, 4)
    assert b.specs.share == pytest.approx(0.75)
    assert (a.open_findings, a.findings_total, b.open_findings, b.findings_total) == (1, 2, 1, 1)
    assert a.feedback.mean_rating == pytest.approx(2.5)  # (2 + 3) / 2
    assert b.feedback.mean_rating == pytest.approx(14 / 3)  # (4 + 5 + 5) / 3
    assert o.feedback.mean_rating == pytest.approx(19 / 5)  # all five ratings
    assert (o.feedback.count, o.feedback.rated) == (5, 5)
    assert o.latest_specs is not None and o.latest_specs.build_code == "B-1"
    assert [b.code for b in o.builds] == ["B-1", "A-2", "A-1"]  # newest first
    assert [s.count for s in o.open_findings] == [1, 0, 1, 0]
    assert o.open_findings.total == 2
    assert [f.severity for f in o.top_open_findings] == [Severity.CRITICAL, Severity.MINOR]
    must = o.must_haves
    assert must is not None and (must.total, must.verified) == (2, 1)
    assert o.requirement_total == 3
    assert len(o.recent_feedback) == 5


def test_product_builds_carry_their_rolled_throughput_yield(
    uow: UnitOfWork, engine: Engine
) -> None:
    p = make_product(uow, key="RTY")
    line = make_line(uow, stations=2)
    pilot = make_build(
        uow, product_id=p.id, phase="pilot", fidelity=None, technique=None, line_id=line.id
    )
    proto = make_build(uow, product_id=p.id)
    with uow:
        s1, s2 = (st.id for st in uow.get(type(line), line.id).stations)
    with engine.begin() as conn:
        conn.execute(
            insert(BuildStationStat),
            [
                {"build_id": pilot.id, "station_id": s1, "first_attempts": 50, "first_pass_ok": 45},
                {"build_id": pilot.id, "station_id": s2, "first_attempts": 40, "first_pass_ok": 38},
            ],
        )

    by_code = {b.code: b for b in product_overview(uow, "RTY", actor=ACTOR).builds}

    rty = by_code[pilot.code].rty
    assert rty is not None and rty.steps == 2
    assert rty.yield_frac == pytest.approx(45 / 50 * 38 / 40)
    assert rty.ci.low < rty.yield_frac < rty.ci.high and rty.ci.confidence == 0.95
    assert by_code[proto.code].rty is None  # no station passes


def test_product_timeline_from_gate_decisions(uow: UnitOfWork) -> None:
    p = make_product(uow, key="TL")
    rev = make_revision(uow, p)
    make_build(uow, product_id=p.id, revision_id=rev.id, start_date="2025-11-03")
    pass_gate(
        uow,
        "TL",
        "pilot",
        outcome="no_go",
        decided_by="QA",
        rationale="FPY too low",
        decided_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
    )
    pass_gate(
        uow, "TL", "pilot", decided_by="QA", decided_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    )

    o = product_overview(uow, "TL", actor=ACTOR)

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
        product_overview(uow, "NOPE", actor=ACTOR)
    with pytest.raises(NotFound, match="product 'NOPE' does not exist"):
        product_summary(uow, "NOPE", actor=ACTOR)


def test_product_findings_and_feedback_pages(uow: UnitOfWork) -> None:
    p = make_product(uow, key="FF")
    rev = make_revision(uow, p, code="A")
    for severity in ("minor", "critical", "major", "critical"):
        make_finding(uow, p, severity=severity, revision_id=rev.id)
    make_finding(uow, p, severity="major", status="wont_fix")
    page = product_findings(uow, "FF", limit=3, actor=ACTOR)
    assert page.total == 4 and len(page.items) == 3 and page.has_next and page.page_count == 2
    assert [f.severity for f in page.items] == [
        Severity.CRITICAL,
        Severity.CRITICAL,
        Severity.MAJOR,
    ]
    assert product_findings(uow, "FF", status="all", actor=ACTOR).total == 5
    assert product_findings(uow, "FF", status="wont_fix", actor=ACTOR).total == 1
    assert product_findings(uow, "FF", severity="critical", actor=ACTOR).total == 2
    assert product_findings(uow, "FF", revision="A", actor=ACTOR).total == 4
    with pytest.raises(NotFound, match="no revision 'Q'"):
        product_findings(uow, "FF", revision="Q", actor=ACTOR)
    with pytest.raises(InvalidInput, match="limit"):
        product_findings(uow, "FF", limit=0, actor=ACTOR)
    with pytest.raises(InvalidInput, match="status: 'shelved' is not one of"):
        product_findings(uow, "FF", status="shelved", actor=ACTOR)

    for rating in (1, 4, 4):
        add_feedback(uow, p.id, rev.id, rating)
    assert product_feedback(uow, "FF", actor=ACTOR).total == 3
    assert product_feedback(uow, "FF", rating=4, actor=ACTOR).total == 2
    assert product_feedback(uow, "FF", revision="A", actor=ACTOR).total == 3
    assert product_summary(uow, "ff", actor=ACTOR).key == "FF"


def test_product_and_builds_behind_schedule_as_of_the_day_given(uow: UnitOfWork) -> None:
    """The launch target passes while the product is still a prototype; of the builds, only
    the one still in progress after its planned end is late (a finished build, one not
    started and one with time left are not)."""
    p = make_product(uow, key="LATE", target_launch_date="2026-03-01")
    rev = make_revision(uow, p)
    for code, status, end in [
        ("RUNNING", "in_progress", "2026-03-05"),
        ("DONE", "completed", "2026-02-01"),
        ("NEXT", "planned", "2026-03-02"),
        ("FRESH", "in_progress", "2026-04-30"),
    ]:
        make_build(
            uow,
            product_id=p.id,
            revision_id=rev.id,
            code=code,
            status=status,
            start_date="2026-01-10",
            end_date=end,
        )

    before = product_overview(uow, "LATE", actor=ACTOR, today=dt.date(2026, 3, 1))
    assert not before.schedule.late and before.late_builds == ()

    o = product_overview(uow, "LATE", actor=ACTOR, today=dt.date(2026, 3, 11))
    assert (o.schedule.late, o.schedule.due, o.schedule.days_late) == (
        True,
        dt.date(2026, 3, 1),
        10,
    )
    assert [(b.code, b.schedule.days_late) for b in o.late_builds] == [("RUNNING", 6)]
    assert {b.code: b.schedule.late for b in o.builds} == {
        "RUNNING": True,
        "DONE": False,
        "NEXT": False,
        "FRESH": False,
    }


def test_a_product_in_production_or_without_a_target_is_not_late() -> None:
    today = dt.date(2026, 6, 1)
    assert not product_schedule(Phase.PRODUCTION, dt.date(2026, 1, 1), today).late
    assert not product_schedule(Phase.PILOT, None, today).late
    assert product_schedule(Phase.PILOT, dt.date(2026, 5, 31), today).days_late == 1
    assert not build_schedule(BuildStatus.IN_PROGRESS, None, today).late
    assert not build_schedule(BuildStatus.IN_PROGRESS, today, today).late  # ends today
