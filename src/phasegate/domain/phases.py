"""The phase rules: the order of the phases, which gate a product may pass, and its timeline.

A product goes prototype -> pilot run -> production run. It moves on only through a recorded
gate decision into its next phase: gates cannot be skipped or passed twice. A go or a
conditional go lets the product in; a no-go is recorded and the product stays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.errors import GateBlocked

PHASE_ORDER: tuple[Phase, ...] = (Phase.PROTOTYPE, Phase.PILOT, Phase.PRODUCTION)


def phase_index(phase: Phase) -> int:
    """Position of ``phase`` in the product's life, from 0 (prototype)."""
    return PHASE_ORDER.index(phase)


def next_phase(phase: Phase) -> Phase | None:
    """The phase after ``phase``; ``None`` after the last one."""
    i = phase_index(phase) + 1
    return PHASE_ORDER[i] if i < len(PHASE_ORDER) else None


def phases_reached(current: Phase) -> tuple[Phase, ...]:
    """Every phase up to and including ``current``, in order."""
    return PHASE_ORDER[: phase_index(current) + 1]


def lets_product_in(outcome: GateOutcome) -> bool:
    """Whether a decision with ``outcome`` moves the product into the gate's phase."""
    return outcome is not GateOutcome.NO_GO


def needs_rationale(outcome: GateOutcome) -> bool:
    """A no-go or a conditional go must say why (or on which conditions); a go need not."""
    return outcome is not GateOutcome.GO


def check_gate_sequence(product: str, current: Phase, target: Phase) -> None:
    """``GateBlocked`` unless ``target`` is the next phase of ``product`` (now in ``current``)."""
    expected = next_phase(current)
    if target is not expected:
        raise GateBlocked(
            f"product {product} is in {current.label.lower()}; "
            f"its next gate is {'none' if expected is None else expected.value}, "
            f"not {target.value}"
        )


class StepState(StrEnum):
    """Where a phase stands on the product's timeline."""

    DONE = "done"
    CURRENT = "current"
    UPCOMING = "upcoming"

    @property
    def label(self) -> str:
        return {"done": "Completed", "current": "Current phase", "upcoming": "Upcoming"}[self.value]


def step_state(phase: Phase, current: Phase) -> StepState:
    """``phase`` is done before ``current``, current at it, and upcoming after it."""
    if phase is current:
        return StepState.CURRENT
    return StepState.DONE if phase_index(phase) < phase_index(current) else StepState.UPCOMING


class GateEvent(Protocol):
    """What the timeline needs of a recorded gate decision."""

    @property
    def to_phase(self) -> Phase: ...

    @property
    def outcome(self) -> GateOutcome: ...

    @property
    def decided_at(self) -> dt.datetime: ...


class BuildSpan(Protocol):
    """What the timeline needs of a build."""

    @property
    def phase(self) -> Phase: ...

    @property
    def start_date(self) -> dt.date | None: ...

    @property
    def end_date(self) -> dt.date | None: ...


@dataclass(frozen=True, slots=True)
class PhaseStep:
    """One phase on the product's timeline, with the builds made in it."""

    phase: Phase
    state: StepState
    entered_on: dt.date | None
    left_on: dt.date | None
    build_count: int
    first_build_start: dt.date | None
    last_build_end: dt.date | None


def phase_timeline(
    current: Phase,
    created_on: dt.date,
    decisions: Iterable[GateEvent],
    builds: Sequence[BuildSpan],
) -> tuple[PhaseStep, ...]:
    """Every phase in order: its state, when the product entered and left it, its builds.

    A phase is entered on the day of the last decision that let the product in (a go or a
    conditional go; a no-go does not count). The first phase starts at the earlier of the
    product's creation and its first build's start. A phase is left when the next one is
    entered.
    """
    entered = _entry_dates(created_on, decisions, builds)
    return tuple(_step(phase, current, entered, builds) for phase in PHASE_ORDER)


def _entry_dates(
    created_on: dt.date, decisions: Iterable[GateEvent], builds: Sequence[BuildSpan]
) -> dict[Phase, dt.date]:
    entered = {d.to_phase: d.decided_at.date() for d in decisions if lets_product_in(d.outcome)}
    starts = [b.start_date for b in builds if b.start_date is not None]
    entered[PHASE_ORDER[0]] = min([created_on, *starts])
    return entered


def _step(
    phase: Phase, current: Phase, entered: dict[Phase, dt.date], builds: Sequence[BuildSpan]
) -> PhaseStep:
    state = step_state(phase, current)
    in_phase = [b for b in builds if b.phase is phase]
    begun = [b.start_date for b in in_phase if b.start_date is not None]
    ended = [b.end_date for b in in_phase if b.end_date is not None]
    following = next_phase(phase)
    left = entered.get(following) if following is not None else None
    return PhaseStep(
        phase=phase,
        state=state,
        entered_on=entered.get(phase) if state is not StepState.UPCOMING else None,
        left_on=left if state is StepState.DONE else None,
        build_count=len(in_phase),
        first_build_start=min(begun, default=None),
        last_build_end=max(ended, default=None),
    )
