"""The portfolio read model, on SQLite and PostgreSQL, against counts made by hand."""

from __future__ import annotations

import pytest

from phasegate.domain.enums import Phase, Severity
from phasegate.domain.errors import InvalidInput
from phasegate.services import phases
from phasegate.services.read.portfolio import phase_counts, portfolio
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_finding,
    make_product,
    make_revision,
    make_unit,
    person,
)
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
    phases.record_gate_decision(
        uow, "TWO", to_phase="pilot", outcome="go", actor=person("PM"), rationale=""
    )
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
