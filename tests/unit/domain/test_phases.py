"""Phase rules: the order of the phases, the gate sequence and the product's timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.errors import GateBlocked
from phasegate.domain.phases import (
    PHASE_ORDER,
    StepState,
    check_gate_sequence,
    lets_product_in,
    needs_rationale,
    next_phase,
    phase_index,
    phase_timeline,
    phases_reached,
    step_state,
)


@dataclass(frozen=True)
class Decision:
    to_phase: Phase
    outcome: GateOutcome
    decided_at: dt.datetime


@dataclass(frozen=True)
class Span:
    phase: Phase
    start_date: dt.date | None
    end_date: dt.date | None


def _on(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 15, 30, tzinfo=dt.UTC)


def test_phases_run_prototype_pilot_production() -> None:
    assert PHASE_ORDER == (Phase.PROTOTYPE, Phase.PILOT, Phase.PRODUCTION)
    assert set(PHASE_ORDER) == set(Phase)  # every phase has its place
    assert [phase_index(p) for p in PHASE_ORDER] == [0, 1, 2]
    assert next_phase(Phase.PROTOTYPE) is Phase.PILOT
    assert next_phase(Phase.PILOT) is Phase.PRODUCTION
    assert next_phase(Phase.PRODUCTION) is None
    assert phases_reached(Phase.PROTOTYPE) == (Phase.PROTOTYPE,)
    assert phases_reached(Phase.PRODUCTION) == PHASE_ORDER


def test_only_the_next_gate_may_be_passed() -> None:
    check_gate_sequence("AQM", Phase.PROTOTYPE, Phase.PILOT)
    check_gate_sequence("AQM", Phase.PILOT, Phase.PRODUCTION)
    skipped = "product AQM is in prototype; its next gate is pilot, not production"
    with pytest.raises(GateBlocked, match=skipped):
        check_gate_sequence("AQM", Phase.PROTOTYPE, Phase.PRODUCTION)
    with pytest.raises(GateBlocked, match="next gate is production, not pilot"):
        check_gate_sequence("AQM", Phase.PILOT, Phase.PILOT)  # passed twice
    with pytest.raises(GateBlocked, match="next gate is pilot, not prototype"):
        check_gate_sequence("AQM", Phase.PROTOTYPE, Phase.PROTOTYPE)
    with pytest.raises(GateBlocked, match="in production run; its next gate is none"):
        check_gate_sequence("AQM", Phase.PRODUCTION, Phase.PRODUCTION)


def test_which_outcomes_move_the_product_and_need_a_reason() -> None:
    assert [lets_product_in(o) for o in GateOutcome] == [True, False, True]  # go, no go, cond.
    assert [needs_rationale(o) for o in GateOutcome] == [False, True, True]


def test_step_states() -> None:
    states = [step_state(p, Phase.PILOT) for p in PHASE_ORDER]
    assert states == [StepState.DONE, StepState.CURRENT, StepState.UPCOMING]
    assert [s.label for s in states] == ["Completed", "Current phase", "Upcoming"]


def test_timeline_enters_phases_at_the_last_go_not_at_a_no_go() -> None:
    decisions = [
        Decision(Phase.PILOT, GateOutcome.NO_GO, _on(2026, 1, 10)),
        Decision(Phase.PILOT, GateOutcome.CONDITIONAL, _on(2026, 2, 1)),
    ]
    builds = [
        Span(Phase.PROTOTYPE, dt.date(2025, 11, 3), dt.date(2025, 11, 20)),
        Span(Phase.PROTOTYPE, dt.date(2025, 12, 1), None),
        Span(Phase.PILOT, None, None),  # planned, not started
    ]

    proto, pilot, production = phase_timeline(Phase.PILOT, dt.date(2025, 12, 15), decisions, builds)

    # The prototype phase starts at the first build, which began before the product was created.
    assert (proto.state, proto.entered_on, proto.left_on) == (
        StepState.DONE,
        dt.date(2025, 11, 3),
        dt.date(2026, 2, 1),
    )
    assert (proto.build_count, proto.first_build_start, proto.last_build_end) == (
        2,
        dt.date(2025, 11, 3),
        dt.date(2025, 11, 20),
    )
    assert (pilot.state, pilot.entered_on, pilot.left_on) == (
        StepState.CURRENT,
        dt.date(2026, 2, 1),
        None,
    )
    assert (pilot.build_count, pilot.first_build_start, pilot.last_build_end) == (1, None, None)
    assert (production.state, production.entered_on, production.left_on) == (
        StepState.UPCOMING,
        None,
        None,
    )
    assert production.build_count == 0


def test_timeline_of_a_new_product() -> None:
    steps = phase_timeline(Phase.PROTOTYPE, dt.date(2026, 3, 1), [], [])
    assert [s.state for s in steps] == ["current", "upcoming", "upcoming"]
    assert steps[0].entered_on == dt.date(2026, 3, 1)  # created, no build yet
    assert [s.entered_on for s in steps[1:]] == [None, None]


def test_timeline_in_production() -> None:
    decisions = [
        Decision(Phase.PILOT, GateOutcome.GO, _on(2025, 9, 1)),
        Decision(Phase.PRODUCTION, GateOutcome.GO, _on(2026, 1, 15)),
    ]
    proto, pilot, production = phase_timeline(Phase.PRODUCTION, dt.date(2025, 6, 1), decisions, [])
    assert (proto.entered_on, proto.left_on) == (dt.date(2025, 6, 1), dt.date(2025, 9, 1))
    assert (pilot.entered_on, pilot.left_on) == (dt.date(2025, 9, 1), dt.date(2026, 1, 15))
    assert (production.state, production.entered_on, production.left_on) == (
        StepState.CURRENT,
        dt.date(2026, 1, 15),
        None,
    )
