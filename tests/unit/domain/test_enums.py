"""Domain enums: the single source of choices, their labels and order."""

from __future__ import annotations

from phasegate.domain.enums import (
    PHASE_COLOURS,
    SEVERITY_COLOURS,
    FindingStatus,
    GateOutcome,
    Phase,
    Priority,
    Severity,
    Technique,
)
from phasegate.domain.errors import InvalidInput, PhasegateError, invalid


def test_phase_values_and_labels() -> None:
    assert [p.value for p in Phase] == ["prototype", "pilot", "production"]
    assert Phase.PILOT.label == "Pilot run"
    assert set(PHASE_COLOURS) == set(Phase)


def test_labels_read_well() -> None:
    assert Priority.MUST.label == "Must have"
    assert Priority.WONT.label == "Won't have"
    assert Technique.PRINT_3D.label == "3D print"
    assert Technique.SOFT_TOOLING.label == "Soft tooling"
    assert GateOutcome.NO_GO.label == "No go"


def test_severity_rank_and_colours() -> None:
    assert Severity.CRITICAL.rank < Severity.MAJOR.rank < Severity.MINOR.rank
    assert set(SEVERITY_COLOURS) == set(Severity)


def test_open_finding_states() -> None:
    assert {s for s in FindingStatus if s.is_open} == {
        FindingStatus.OPEN,
        FindingStatus.INVESTIGATING,
        FindingStatus.FIXED,
    }


def test_invalid_input_names_the_field() -> None:
    error = invalid("usl", "must be greater than lsl")
    assert isinstance(error, ValueError)
    assert isinstance(error, PhasegateError)
    assert isinstance(error, InvalidInput)
    assert str(error) == "usl: must be greater than lsl"
    assert error.fields[0].as_dict() == {"loc": "usl", "message": "must be greater than lsl"}
