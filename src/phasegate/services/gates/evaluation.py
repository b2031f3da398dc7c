"""A product's next stage gate evaluated on the evidence in the database.

``evaluate_gate`` is the one computation behind ``phasegate gates evaluate``, the API's
``GET /api/v1/products/{key}/gates/{to}/evaluation``, the product page's readiness panel and
the gate reviews (``decisions.py``): the plan of the gate (the product's latest override of the
default plan, or the default), judged by ``phasegate.gates.evaluate`` on ``gather_evidence``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from phasegate.domain.enums import Phase
from phasegate.domain.errors import invalid
from phasegate.domain.phases import next_phase
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.gates import (
    CriterionResult,
    GateEvaluation,
    GatePlan,
    Waiver,
    default_plan,
    evaluate,
)
from phasegate.services.access import authorize, scoped
from phasegate.services.gates.evidence import gather_evidence
from phasegate.services.gates.records import overridden_plan
from phasegate.services.products import resolve_product
from phasegate.services.read.rows import build_age_key
from phasegate.store.models import Build, Characteristic, GatePlanOverride, Gauge, Line, Product
from phasegate.store.uow import UnitOfWork

__all__ = [
    "FLAT_COLUMNS",
    "EvidencePlaces",
    "check_next_gate",
    "evaluate_gate",
    "evidence_places",
    "flat_rows",
    "plan_for",
    "readiness_order",
]


def check_next_gate(product: Product, to: Phase) -> None:
    """``InvalidInput`` naming ``to`` unless ``to`` is the product's next phase."""
    expected = next_phase(product.phase)
    if expected is None:
        raise invalid(
            "to",
            f"{product.key} is in {product.phase.value}, the last phase: it has no gate to pass",
        )
    if to is not expected:
        raise invalid(
            "to",
            f"{product.key} is in {product.phase.value}; its next gate is into "
            f"{expected.value}, not {to.value}",
        )


def _plan(uow: UnitOfWork, product: Product, to: Phase) -> GatePlan:
    with uow:
        toml = uow.session.scalar(
            select(GatePlanOverride.toml)
            .where(GatePlanOverride.product_id == product.id, GatePlanOverride.to_phase == to)
            .order_by(GatePlanOverride.id.desc())
            .limit(1)
        )
    return default_plan(to) if toml is None else overridden_plan(to, toml)


def plan_for(uow: UnitOfWork, product: str, to: Phase, *, actor: Principal) -> GatePlan:
    """The plan ``product``'s gate into ``to`` is judged by: its latest override of the default
    plan (a change is a new override record), or the default plan."""
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    found = resolve_product(uow, product, actor=actor)
    if to is Phase.PROTOTYPE:
        raise invalid("to", "there is no gate into prototype; use pilot or production")
    return _plan(uow, found, to)


def evaluate_gate(
    uow: UnitOfWork,
    product: str,
    to: Phase,
    *,
    actor: Principal,
    waivers: Sequence[Waiver] = (),
) -> GateEvaluation:
    """The gate of ``product`` (key or id) into ``to``, evaluated now; ``to`` must be the
    product's next phase (``InvalidInput`` naming ``to`` otherwise). ``waivers`` are applied as
    ``phasegate.gates.evaluate`` says (a waiver of a criterion the plan lacks is refused)."""
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    found = resolve_product(uow, product, actor=actor)
    check_next_gate(found, to)
    plan = _plan(uow, found, to)
    evidence = gather_evidence(uow, found.key, to, actor=actor)
    return evaluate(plan, evidence, waivers)


FLAT_COLUMNS = (
    "id",
    "title",
    "status",
    "blocking",
    "value",
    "comparison",
    "threshold",
    "confidence",
    "missing",
)
"""The columns of one criterion per row (``phasegate gates evaluate --format csv|table``)."""

_UNMET_RANK = {"fail": 0, "insufficient_evidence": 1, "waived": 2, "pass": 3}


def flat_rows(evaluation: GateEvaluation) -> list[dict[str, Any]]:
    """One row per criterion of :data:`FLAT_COLUMNS`, in the plan's order; ``missing`` joins
    what the evidence lacks."""
    return [
        {
            "id": c.id,
            "title": c.title,
            "status": c.status.value,
            "blocking": c.blocking,
            "value": c.value,
            "comparison": c.comparison,
            "threshold": c.threshold,
            "confidence": c.confidence,
            "missing": "; ".join(str(m) for m in c.missing),
        }
        for c in evaluation.criteria
    ]


def readiness_order(evaluation: GateEvaluation) -> list[CriterionResult]:
    """The criteria as the readiness panel lists them: blocking before advisory within each
    answer, failures first, then missing evidence, waived, passed; the plan's order otherwise."""
    return sorted(
        evaluation.criteria,
        key=lambda c: (_UNMET_RANK[c.status.value], not c.blocking),
    )


@dataclass(frozen=True, slots=True)
class EvidencePlaces:
    """Where the records an evaluation's links name live: ids by the names links use.

    ``builds`` by code, ``characteristics`` by name, ``lines`` by name (the product's latest
    build on the line, whose line performance the criteria read), ``gauges`` by name;
    ``latest_build`` is the id of the build the BOM and parts links mean.
    """

    product: str
    builds: Mapping[str, int]
    characteristics: Mapping[str, int]
    lines: Mapping[str, int]
    gauges: Mapping[str, int]
    latest_build: int | None


def evidence_places(
    uow: UnitOfWork, product: str, evaluation: GateEvaluation, *, actor: Principal
) -> EvidencePlaces:
    """The ids behind ``evaluation``'s links, for pages that turn them into addresses."""
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    found = resolve_product(uow, product, actor=actor)
    with uow:
        builds = uow.session.execute(
            scoped(
                select(Build.id, Build.code, Build.phase, Build.start_date, Line.name)
                .outerjoin(Line, Line.id == Build.line_id)
                .where(Build.product_id == found.id),
                actor,
                Build,
            )
        ).all()
        chars = uow.session.execute(
            select(Characteristic.name, Characteristic.id).where(
                Characteristic.product_id == found.id
            )
        ).all()
        gauges = uow.session.execute(
            select(Gauge.name, Gauge.id).where(
                (Gauge.product_id == found.id) | Gauge.product_id.is_(None)
            )
        ).all()
    ordered = sorted(builds, key=lambda b: build_age_key(b.start_date, b.id))
    lines = {b.name: b.id for b in ordered if b.name is not None}
    current = [b.id for b in ordered if b.phase is found.phase]
    return EvidencePlaces(
        product=found.key,
        builds={b.code: b.id for b in ordered},
        characteristics=dict(chars),
        lines=lines,
        gauges=dict(gauges),
        latest_build=current[-1] if current else None,
    )
