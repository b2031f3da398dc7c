"""The portfolio read model, on SQLite and PostgreSQL, against counts made by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from phasegate.domain.enums import Phase, Severity
from phasegate.domain.errors import InvalidInput
from phasegate.domain.policy import Role
from phasegate.services.read.portfolio import phase_counts, portfolio
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_finding,
    make_partner,
    make_product,
    make_revision,
    make_unit,
    person,
)
from tests.gate_support import pass_gate
from tests.services.read.helpers import add_feedback


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
        add_feedback(uow, p.id, revisions["A"].id, rating)

    cards = portfolio(uow, actor=ACTOR)

    assert [c.key for c in cards] == ["AAA", "BBB"]
    alpha = cards[0]
    assert (alpha.name, alpha.phase) == ("Alpha", Phase.PROTOTYPE)
    assert alpha.phases_reached == (Phase.PROTOTYPE,)
    assert (alpha.revision_count, alpha.latest_revision) == (4, "AA")  # AA comes after Z
    assert (alpha.build_count, alpha.unit_count) == (2, 3)
    assert [(s.value, s.count) for s in alpha.open_findings] == [
        (Severity.CRITICAL, 1),
        (Severity.MAJOR, 2),
        (Severity.MINOR, 0),
        (Severity.COSMETIC, 0),
    ]
    assert alpha.open_findings.total == 3
    # Mean of the ratings given, (2 + 5) / 2; the unrated entry counts as feedback only.
    assert alpha.feedback.mean_rating == pytest.approx(3.5)
    assert (alpha.feedback.count, alpha.feedback.rated) == (3, 2)
    assert alpha.target_unit_cost == 12.5
    beta = cards[1]
    assert (beta.build_count, beta.unit_count, beta.open_findings.total) == (0, 0, 0)
    assert beta.latest_revision is None and beta.feedback.mean_rating is None


def test_portfolio_filters_by_phase(uow: UnitOfWork) -> None:
    make_product(uow, key="ONE")
    make_product(uow, key="TWO")
    pass_gate(uow, "TWO", "pilot")
    assert [c.key for c in portfolio(uow, phase="pilot", actor=ACTOR)] == ["TWO"]
    assert [c.key for c in portfolio(uow, phase=" Pilot ", actor=ACTOR)] == ["TWO"]
    assert portfolio(uow, phase="production", actor=ACTOR) == []
    counts = phase_counts(uow, actor=ACTOR)
    assert [(c.value, c.count) for c in counts] == [
        (Phase.PROTOTYPE, 1),
        (Phase.PILOT, 1),
        (Phase.PRODUCTION, 0),
    ]
    assert counts.total == 2
    with pytest.raises(InvalidInput, match="phase: 'beta' is not one of"):
        portfolio(uow, phase="beta", actor=ACTOR)


def test_portfolio_flags_late_launches_and_late_builds(uow: UnitOfWork) -> None:
    late = make_product(uow, key="LAUNCH", target_launch_date="2026-02-01")
    make_product(uow, key="AHEAD", target_launch_date="2027-02-01")
    rev = make_revision(uow, late)
    make_build(
        uow,
        product_id=late.id,
        revision_id=rev.id,
        code="OVERDUE",
        status="in_progress",
        start_date="2026-01-05",
        end_date="2026-02-20",
    )
    make_build(
        uow,
        product_id=late.id,
        revision_id=rev.id,
        code="FINISHED",
        status="completed",
        start_date="2026-01-01",
        end_date="2026-01-31",
    )

    cards = {c.key: c for c in portfolio(uow, actor=ACTOR, today=dt.date(2026, 3, 2))}

    assert (cards["LAUNCH"].schedule.late, cards["LAUNCH"].schedule.days_late) == (True, 29)
    assert [(b.code, b.schedule.days_late) for b in cards["LAUNCH"].late_builds] == [
        ("OVERDUE", 10)
    ]
    assert not cards["AHEAD"].schedule.late and cards["AHEAD"].late_builds == ()
    # The latest build (by start date) is the one whose specs the card shows.
    specs = cards["LAUNCH"].latest_specs
    assert specs is not None and specs.build_code == "OVERDUE" and specs.measured == 0
    assert cards["AHEAD"].latest_specs is None


def test_a_partner_sees_specs_and_schedule_of_its_own_builds_only(uow: UnitOfWork) -> None:
    p = make_product(uow, key="CM")
    rev = make_revision(uow, p)
    ours, theirs = make_partner(uow), make_partner(uow)
    for code, partner, start in [("OURS", ours, "2026-01-05"), ("THEIRS", theirs, "2026-02-05")]:
        make_build(
            uow,
            product_id=p.id,
            revision_id=rev.id,
            code=code,
            partner_id=partner.id,
            status="in_progress",
            start_date=start,
            end_date="2026-02-20",
        )
    cm_user = person("cm", Role.PARTNER, partner_id=ours.id)

    (card,) = portfolio(uow, actor=cm_user, today=dt.date(2026, 3, 2))

    assert card.latest_specs is not None and card.latest_specs.build_code == "OURS"
    assert [b.code for b in card.late_builds] == ["OURS"]
    (everyone,) = portfolio(uow, actor=ACTOR, today=dt.date(2026, 3, 2))
    assert everyone.latest_specs is not None and everyone.latest_specs.build_code == "THEIRS"
    assert [b.code for b in everyone.late_builds] == ["OURS", "THEIRS"]
