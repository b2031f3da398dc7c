"""Builders of criteria and evidence for the gate engine tests."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from phasegate.domain.enums import Phase
from phasegate.gates import CriterionSpec, Evidence


def make_spec(
    metric: str,
    comparison: str,
    threshold: float,
    *,
    confidence: float | None = None,
    blocking: bool = True,
    cid: str | None = None,
    **params: Any,
) -> CriterionSpec:
    return CriterionSpec(
        id=cid or metric,
        metric=metric,
        comparison=comparison,
        threshold=threshold,
        blocking=blocking,
        explanation=f"{metric} for the test",
        confidence=confidence,
        params=MappingProxyType(params),
    )


def make_evidence(**fields: Any) -> Evidence:
    fields.setdefault("product", "AQM-1")
    fields.setdefault("phase", Phase.PROTOTYPE)
    return Evidence(**fields)


@pytest.fixture
def spec_of():
    return make_spec


@pytest.fixture
def evidence_of():
    return make_evidence
