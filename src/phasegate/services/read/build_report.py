"""The whole analysis of one build in one document (DESIGN.md, "Build analytics").

``phasegate builds report BUILD --format json``, ``GET /api/v1/builds/{code}/report`` and the
build page show the same numbers because each part comes from the one service that computes it:

- ``line``: :func:`phasegate.services.read.line_performance.build_line_performance` (takt,
  bottleneck, balance, throughput, each station's cycle times and first-pass yield);
- ``quality``: the build's first-pass yield (units that passed every station at the first
  attempt, over the units with a station pass; Wilson interval), its rolled throughput yield
  (the product of the stations' first-pass yields, Bonferroni-Wilson interval), DPMO, scrap
  and rework rates (:func:`phasegate.services.read.defects.quality_rates`) and one row per
  characteristic (:func:`phasegate.services.read.characteristic.build_characteristics`);
- ``defects``: count and cost per code and per station
  (:func:`phasegate.services.read.defects.defect_summary`);
- ``cost``: :func:`phasegate.services.costing.build_cost_by_id`.

A figure computed from too little data is "insufficient data (n = …)" or null, as each part
says; the report adds no number of its own beyond the build's FPY.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from phasegate.domain.enums import Outcome
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize
from phasegate.services.costing import build_cost_by_id
from phasegate.services.read.characteristic import build_characteristics
from phasegate.services.read.defects import defect_summary, quality_rates
from phasegate.services.read.line_performance import build_line_performance, find_build_id
from phasegate.stats import first_pass_yield
from phasegate.store.models import StationPass, Unit
from phasegate.store.uow import UnitOfWork

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class BuildReport:
    """The build report as the contract gives it, and the build it is of."""

    build_id: int
    document: dict[str, Any]


def _yield(value: float | None, ci: list[float] | None, n: int) -> dict[str, Any]:
    if value is None:
        return {"value": f"insufficient data (n = {n})", "ci": None}
    return {"value": value, "ci": ci}


def _first_pass_units(uow: UnitOfWork, build_id: int) -> tuple[int, int]:
    """Units of the build with a station pass, and those whose every pass was a first attempt
    that passed."""
    clean = case(
        ((StationPass.attempt == 1) & (StationPass.result == Outcome.PASS), 0),
        else_=1,
    )
    per_unit = (
        select(StationPass.unit_id, func.max(clean).label("rework"))
        .join(Unit, Unit.id == StationPass.unit_id)
        .where(Unit.build_id == build_id)
        .group_by(StationPass.unit_id)
        .subquery()
    )
    units, rework = uow.session.execute(
        select(func.count(), func.coalesce(func.sum(per_unit.c.rework), 0))
    ).one()
    return int(units), int(units) - int(rework)


def build_report(
    uow: UnitOfWork, code: str, *, actor: Principal, product: str | None = None
) -> BuildReport:
    """The report of the build with ``code`` (of ``product`` when several have that code)."""
    authorize(actor, Action.READ, Kind.BUILD)
    authorize(actor, Action.READ, Kind.TEST_DATA)
    build_id = find_build_id(uow, code, actor=actor, product=product)
    return build_report_by_id(uow, build_id, actor=actor)


def build_report_by_id(uow: UnitOfWork, build_id: int, *, actor: Principal) -> BuildReport:
    """The report of build ``build_id``; ``NotFound`` when it is not there or not visible."""
    authorize(actor, Action.READ, Kind.BUILD)
    authorize(actor, Action.READ, Kind.TEST_DATA)
    line = build_line_performance(uow, build_id, actor=actor, confidence=CONFIDENCE)
    characteristics = build_characteristics(uow, build_id, actor=actor)
    rates = quality_rates(uow, build_id, actor=actor, confidence=CONFIDENCE)
    defects = defect_summary(uow, build_id, actor=actor)
    cost = build_cost_by_id(uow, build_id, actor=actor)
    with uow:
        units = int(uow.session.scalar(select(func.count()).where(Unit.build_id == build_id)) or 0)
        tested, first_pass = _first_pass_units(uow, build_id)
    fpy = first_pass_yield(first_pass, tested, CONFIDENCE) if tested else None
    rty = line.rty
    quality: dict[str, Any] = {
        "fpy": _yield(
            None if fpy is None else fpy.yield_frac,
            None if fpy is None else fpy.ci.as_list(),
            tested,
        ),
        "rty": _yield(
            None if rty is None else rty.yield_frac,
            None if rty is None else rty.ci.as_list(),
            tested,
        ),
        **rates.as_report(),
        "characteristics": [row.as_dict() for row in characteristics.rows],
    }
    document = {
        "build": line.build_code,
        "phase": line.phase.value,
        "units": units,
        "line": line.contract(),
        "quality": quality,
        "defects": defects.as_report(),
        "cost": cost.contract(),
    }
    return BuildReport(build_id, document)
