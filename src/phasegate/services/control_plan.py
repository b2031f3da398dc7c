"""Control plans: per station, what is checked, how, how often, on which chart, and what then.

A product's control plan (``CONTROL_PLANS``) holds items (``CONTROL_PLAN_ITEMS``): one
characteristic of the product checked at one station, with its method, gauge, sample size,
frequency, control chart and reaction plan. Gauges (``GAUGES``) carry gage R&R studies
(``record_gage_study``): crossed studies computed by :func:`phasegate.stats.gage_rr` from raw
readings, stored with the readings so they can be recomputed (``recompute_study``).

``ctq_coverage`` answers the question of the pilot-to-production gate: which CTQs of a product
does its control plan cover, with which gauge, and is that gauge's latest study acceptable by the
AIAG thresholds (``gage_verdict``)? Every record kind here is ``Kind.CONTROL_PLAN`` to the policy.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, select

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import FieldError, InvalidInput, NotFound, PreconditionFailed, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import storable, unstorable_reason
from phasegate.services import audit, crud
from phasegate.services.access import authorize
from phasegate.services.analysis.charts import CHARTS
from phasegate.services.builds import BUILDS
from phasegate.services.crud import Computed, Resource
from phasegate.services.products import resolve_product
from phasegate.store.models import (
    Base,
    Characteristic,
    ControlPlan,
    ControlPlanItem,
    ControlPlanStatus,
    GageStudy,
    Gauge,
    Line,
    Product,
    Revision,
    Station,
)
from phasegate.store.uow import UnitOfWork

M = TypeVar("M", bound=Base)

# --- gage verdicts -----------------------------------------------------------------------------

# AIAG MSA 4th ed., Ch. II Sec. D: %GRR under 10 % acceptable, 10-30 % may be acceptable, over
# 30 % not acceptable; the number of distinct categories should be 5 or more.
GRR_ACCEPTABLE_PCT = 10.0
GRR_CONDITIONAL_PCT = 30.0
MIN_NDC = 5


class GageVerdict(StrEnum):
    """A gage R&R study judged by the AIAG thresholds."""

    ACCEPTABLE = "acceptable"
    CONDITIONAL = "conditional"
    UNACCEPTABLE = "unacceptable"

    @property
    def label(self) -> str:
        return {
            "acceptable": "Acceptable",
            "conditional": "Conditionally acceptable",
            "unacceptable": "Unacceptable",
        }[self.value]

    @property
    def rank(self) -> int:
        """0 for the best verdict; lower is better."""
        return list(GageVerdict).index(self)


def gage_verdict(
    pct_grr_study_var: float | None, pct_grr_tolerance: float | None, ndc: int | None
) -> GageVerdict:
    """The AIAG verdict of a study: the worse of its %GRR figures decides, and ndc < 5 fails.

    %GRR is judged against total variation and, where the characteristic has a tolerance,
    against the tolerance too; the larger one counts. Under 10 % is acceptable, 10 % to 30 %
    conditionally acceptable, over 30 % unacceptable. A study whose readings show no gage error
    at all (ndc is None) or no variation (%GRR of study variation unknown) cannot tell parts
    apart: unacceptable.
    """
    if ndc is None or pct_grr_study_var is None:
        return GageVerdict.UNACCEPTABLE
    pct = max(pct_grr_study_var, pct_grr_tolerance or 0.0)
    if ndc < MIN_NDC or pct > GRR_CONDITIONAL_PCT:
        return GageVerdict.UNACCEPTABLE
    return GageVerdict.ACCEPTABLE if pct < GRR_ACCEPTABLE_PCT else GageVerdict.CONDITIONAL


def study_verdict(study: GageStudy) -> GageVerdict:
    return gage_verdict(study.pct_grr_study_var, study.pct_grr_tolerance, study.ndc)


# --- record types ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PlanResource(Resource[M]):
    """A record type of the control plan: the policy knows them all as ``control plan``."""

    @property
    def kind(self) -> Kind:
        return Kind.CONTROL_PLAN


def _check_plan(uow: UnitOfWork, plan: ControlPlan) -> list[FieldError]:
    if plan.plan_version is not None and not plan.plan_version.strip():
        return [FieldError("plan_version", "must not be empty")]
    return []


CONTROL_PLANS = PlanResource(
    name="control plan",
    model=ControlPlan,
    required=("product_id", "name"),
    optional=("revision_id", "line_id", "plan_version", "status", "description"),
    immutable=("product_id",),
    references={"product_id": Product, "revision_id": Revision, "line_id": Line},
    unique=(("product_id", "name", "plan_version"),),
    filters=("product_id", "revision_id", "line_id", "status"),
    search=("name", "description"),
    order_by=("product_id", "name", "id"),
    check=_check_plan,
    describe=lambda p: f"{p.name} v{p.plan_version}",
)


def _check_item(uow: UnitOfWork, item: ControlPlanItem) -> list[FieldError]:
    """The references agree with the plan; sample size, frequency and chart make sense."""
    errors: list[FieldError] = []
    plan = uow.session.get(ControlPlan, item.plan_id)
    if plan is None:  # the reference check reported it already
        return errors
    characteristic = uow.session.get(Characteristic, item.characteristic_id)
    if characteristic is not None and characteristic.product_id != plan.product_id:
        errors.append(
            FieldError(
                "characteristic_id",
                f"characteristic {characteristic.name!r} is not a characteristic of the plan's "
                "product",
            )
        )
    station = uow.session.get(Station, item.station_id)
    if station is not None and plan.line_id is not None and station.line_id != plan.line_id:
        line = uow.session.get(Line, plan.line_id)
        errors.append(
            FieldError(
                "station_id",
                f"station {station.name!r} is not on the plan's line {line.name if line else ''!r}",
            )
        )
    gauge = uow.session.get(Gauge, item.gauge_id) if item.gauge_id is not None else None
    if gauge is not None and gauge.product_id not in (None, plan.product_id):
        errors.append(FieldError("gauge_id", f"gauge {gauge.name!r} belongs to another product"))
    errors += _check_sampling(item)
    return errors


def _check_sampling(item: ControlPlanItem) -> list[FieldError]:
    errors = []
    if item.sample_size is not None and item.sample_size < 1:
        errors.append(FieldError("sample_size", f"{item.sample_size} must be 1 or more"))
    if item.frequency_every is not None and item.frequency_every < 1:
        errors.append(FieldError("frequency_every", f"{item.frequency_every} must be 1 or more"))
    if (item.frequency_every is None) != (item.frequency_per is None):
        missing = "frequency_per" if item.frequency_per is None else "frequency_every"
        errors.append(FieldError(missing, "frequency_every and frequency_per go together"))
    if item.chart_type is not None and item.chart_type not in CHARTS:
        errors.append(
            FieldError(
                "chart_type", f"{item.chart_type!r} is not a chart; one of {', '.join(CHARTS)}"
            )
        )
    return errors


CONTROL_PLAN_ITEMS = PlanResource(
    name="control plan item",
    model=ControlPlanItem,
    required=(
        "plan_id",
        "station_id",
        "characteristic_id",
        "method",
        "sample_size",
        "frequency",
        "reaction_plan",
    ),
    optional=("gauge_id", "frequency_every", "frequency_per", "chart_type"),
    immutable=("plan_id",),
    references={
        "plan_id": ControlPlan,
        "station_id": Station,
        "characteristic_id": Characteristic,
        "gauge_id": Gauge,
    },
    filters=("plan_id", "station_id", "characteristic_id", "gauge_id", "chart_type"),
    search=("method", "frequency", "reaction_plan"),
    order_by=("plan_id", "station_id", "id"),
    check=_check_item,
    describe=lambda i: f"#{i.id}",
)

GAUGES = PlanResource(
    name="gauge",
    model=Gauge,
    required=("name",),
    optional=("product_id", "line_id", "description"),
    immutable=("name",),
    references={"product_id": Product, "line_id": Line},
    unique=(("name",),),
    identifiers=("name",),
    filters=("product_id", "line_id", "name"),
    search=("name", "description"),
    order_by=("name",),
    describe=lambda g: g.name,
)

# Studies are evidence: recorded by ``record_gage_study``, never changed.
GAGE_STUDIES = PlanResource(
    name="gage study",
    model=GageStudy,
    required=(),
    read_only=(
        "gauge_id",
        "characteristic_id",
        "studied_on",
        "recorded_by",
        "pct_grr_study_var",
        "pct_grr_tolerance",
        "ndc",
        "repeatability",
        "reproducibility",
        "gage_rr",
        "part_to_part",
        "n_parts",
        "n_operators",
        "n_trials",
        "tolerance",
        "study_multiplier",
        "readings",
        "notes",
    ),
    computed=(
        Computed(
            "verdict",
            GageVerdict,
            study_verdict,
            "acceptable (%GRR < 10 %), conditional (10-30 %) or unacceptable (> 30 %, or "
            "ndc < 5) by the AIAG thresholds; the worse of %GRR of study variation and of "
            "tolerance decides.",
        ),
    ),
    filters=("gauge_id", "characteristic_id"),
    order_by=("gauge_id", "studied_on", "id"),
    describe=lambda s: f"#{s.id}",
)


# --- items: delete, and add by names (the CLI) -------------------------------------------------


def delete_item(
    uow: UnitOfWork, item_id: int, *, actor: Principal, expected_version: int | None = None
) -> ControlPlanItem:
    """Remove one item from its plan (a change of the plan: it needs ``update``); audited.
    Returns the item as it was."""
    authorize(actor, Action.UPDATE, Kind.CONTROL_PLAN)
    with uow.write():
        item = uow.get(ControlPlanItem, item_id, label="control plan item", lock=True)
        if expected_version is not None and item.version != expected_version:
            raise PreconditionFailed(
                f"control plan item {item_id} is at version {item.version}, not "
                f"{expected_version}; it was changed meanwhile",
                [FieldError("expected_version", f"the record is at version {item.version}")],
            )
        plan = uow.get(ControlPlan, item.plan_id)
        before = audit.snapshot(item)
        uow.session.delete(item)
        uow.session.flush()
        event = audit.record(
            uow,
            actor=actor.name,
            action=AuditAction.DELETE,
            obj=item,
            before=before,
            after=None,
            summary=f"deleted control plan item #{item_id} of {CONTROL_PLANS.describe(plan)}",
        )
        event.product_id = plan.product_id
        uow.commit()
        return item


def plan_of_product(
    uow: UnitOfWork, product_ref: str | int, *, actor: Principal, plan_id: int | None = None
) -> ControlPlan:
    """The plan ``plan_id`` of the product, or its current plan (``current_plan``)."""
    product = resolve_product(uow, product_ref, actor=actor)
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    with uow:
        if plan_id is not None:
            plan = uow.session.get(ControlPlan, plan_id)
            if plan is None or plan.product_id != product.id:
                raise NotFound(f"product {product.key} has no control plan {plan_id}")
            return plan
        found = current_plan(uow, product.id)
        if found is None:
            raise NotFound(
                f"product {product.key} has no control plan; create one first "
                "(phasegate control-plan new)"
            )
        return found


def current_plan(
    uow: UnitOfWork, product_id: int, *, revision_id: int | None = None
) -> ControlPlan | None:
    """The plan in force for a product (and revision): released before draft, one written for
    the revision before one for every revision, then the newest. Obsolete plans never."""
    with uow:
        stmt = select(ControlPlan).where(
            ControlPlan.product_id == product_id,
            ControlPlan.status != ControlPlanStatus.OBSOLETE,
        )
        if revision_id is not None:
            stmt = stmt.where(
                (ControlPlan.revision_id == revision_id) | ControlPlan.revision_id.is_(None)
            )
        plans = list(uow.session.scalars(stmt))
    if not plans:
        return None

    def preference(p: ControlPlan) -> tuple[int, int, dt.datetime, int]:
        released = 1 if p.status is ControlPlanStatus.RELEASED else 0
        specific = 1 if revision_id is not None and p.revision_id == revision_id else 0
        return (released, specific, p.created_at, p.id)

    return max(plans, key=preference)


def _named(uow: UnitOfWork, model: Any, column: Any, name: str, what: str, **where: Any) -> Any:
    """The one record whose ``column`` equals ``name`` (whatever its case) among ``where``."""
    if not storable(name):
        raise invalid(what, f"{name!r} does not exist")
    stmt = select(model).where(func.lower(column) == func.lower(name.strip()))
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    found = list(uow.session.scalars(stmt.limit(2)))
    if not found:
        raise invalid(what, f"{name!r} does not exist")
    if len(found) > 1:
        raise invalid(what, f"{name!r} names more than one {what}; name its line too")
    return found[0]


def item_names(
    uow: UnitOfWork,
    product_ref: str,
    *,
    actor: Principal,
    station: str,
    characteristic: str,
    gauge: str | None = None,
    line: str | None = None,
    plan_id: int | None = None,
) -> dict[str, int | None]:
    """The ids of an item's references named as people name them: ``plan_id``, ``station_id``
    (on the plan's line, or on ``line``), ``characteristic_id`` and ``gauge_id``."""
    plan = plan_of_product(uow, product_ref, actor=actor, plan_id=plan_id)
    with uow:
        where: dict[str, Any] = {}
        if line is not None:
            where["line_id"] = _named(uow, Line, Line.name, line, "line").id
        elif plan.line_id is not None:
            where["line_id"] = plan.line_id
        found_station = _named(uow, Station, Station.name, station, "station", **where)
        found_char = _named(
            uow,
            Characteristic,
            Characteristic.name,
            characteristic,
            "characteristic",
            product_id=plan.product_id,
        )
        gauge_id = None
        if gauge is not None:
            gauge_id = _named(uow, Gauge, Gauge.name, gauge, "gauge").id
    return {
        "plan_id": plan.id,
        "station_id": found_station.id,
        "characteristic_id": found_char.id,
        "gauge_id": gauge_id,
    }


def new_plan(
    uow: UnitOfWork,
    product_ref: str,
    *,
    name: str,
    actor: Principal,
    plan_version: str | None = None,
    status: str | None = None,
    line: str | None = None,
    revision: str | None = None,
    description: str | None = None,
) -> ControlPlan:
    """Create a control plan of the product, its line and revision named as people name them."""
    authorize(actor, Action.CREATE, Kind.CONTROL_PLAN)
    product = resolve_product(uow, product_ref, actor=actor)
    data: dict[str, Any] = {"product_id": product.id, "name": name}
    with uow:
        if line is not None:
            data["line_id"] = _named(uow, Line, Line.name, line, "line").id
        if revision is not None:
            data["revision_id"] = _named(
                uow, Revision, Revision.code, revision, "revision", product_id=product.id
            ).id
    given = {"plan_version": plan_version, "status": status, "description": description}
    data |= {k: v for k, v in given.items() if v is not None}
    return crud.create(uow, CONTROL_PLANS, data, actor=actor)


def new_gauge(
    uow: UnitOfWork,
    name: str,
    *,
    actor: Principal,
    product: str | None = None,
    line: str | None = None,
    description: str | None = None,
) -> Gauge:
    """Create a gauge, its product (key) and line named as people name them."""
    authorize(actor, Action.CREATE, Kind.CONTROL_PLAN)
    data: dict[str, Any] = {"name": name}
    if product is not None:
        data["product_id"] = resolve_product(uow, product, actor=actor).id
    with uow:
        if line is not None:
            data["line_id"] = _named(uow, Line, Line.name, line, "line").id
    if description is not None:
        data["description"] = description
    return crud.create(uow, GAUGES, data, actor=actor)


def product_item(
    uow: UnitOfWork, product_ref: str | int, item_id: int, *, actor: Principal
) -> tuple[ControlPlan, ControlPlanItem]:
    """The item ``item_id`` of one of the product's plans, with its plan; ``NotFound`` when
    the product has no such item."""
    product = resolve_product(uow, product_ref, actor=actor)
    item = crud.get(uow, CONTROL_PLAN_ITEMS, item_id, actor=actor)
    with uow:
        plan = uow.get(ControlPlan, item.plan_id)
    if plan.product_id != product.id:
        raise NotFound(f"product {product.key} has no control plan item {item_id}")
    return plan, item


# --- the plan as a sheet -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One item of a plan with the names of what it refers to, as the sheet shows it."""

    id: int
    version: int
    line: str
    station_id: int
    station: str
    station_sequence: int
    characteristic_id: int
    characteristic: str
    ctq: bool
    unit: str
    lsl: float | None
    usl: float | None
    method: str
    gauge_id: int | None
    gauge: str | None
    sample_size: int
    frequency: str
    frequency_every: int | None
    frequency_per: str | None
    chart_type: str | None
    reaction_plan: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class PlanSheet:
    """A control plan with its items by line and station sequence."""

    plan: ControlPlan
    product_key: str
    revision: str | None
    line: str | None
    rows: tuple[PlanRow, ...]

    def stations(self) -> list[tuple[str, tuple[PlanRow, ...]]]:
        """The rows grouped by station (``line / station``), in flow order."""
        groups: dict[str, list[PlanRow]] = {}
        for row in self.rows:
            groups.setdefault(f"{row.line} / {row.station}", []).append(row)
        return [(name, tuple(rows)) for name, rows in groups.items()]

    def as_dict(self) -> dict[str, Any]:
        p = self.plan
        return {
            "product": self.product_key,
            "plan": {
                "id": p.id,
                "name": p.name,
                "plan_version": p.plan_version,
                "status": p.status.value,
                "revision": self.revision,
                "line": self.line,
                "version": p.version,
            },
            "items": [row.as_dict() for row in self.rows],
        }


def plan_sheet(
    uow: UnitOfWork, product_ref: str | int, *, actor: Principal, plan_id: int | None = None
) -> PlanSheet:
    """The plan (``plan_id``, or the product's current one) with every item, by station."""
    plan = plan_of_product(uow, product_ref, actor=actor, plan_id=plan_id)
    with uow:
        product = uow.get(Product, plan.product_id)
        revision = uow.session.get(Revision, plan.revision_id) if plan.revision_id else None
        line = uow.session.get(Line, plan.line_id) if plan.line_id else None
        stmt = (
            select(ControlPlanItem, Station, Line, Characteristic, Gauge)
            .join(Station, Station.id == ControlPlanItem.station_id)
            .join(Line, Line.id == Station.line_id)
            .join(Characteristic, Characteristic.id == ControlPlanItem.characteristic_id)
            .outerjoin(Gauge, Gauge.id == ControlPlanItem.gauge_id)
            .where(ControlPlanItem.plan_id == plan.id)
            .order_by(Line.name, Station.sequence, Characteristic.name, ControlPlanItem.id)
        )
        rows = tuple(_row(*found) for found in uow.session.execute(stmt))
    return PlanSheet(
        plan=plan,
        product_key=product.key,
        revision=revision.code if revision else None,
        line=line.name if line else None,
        rows=rows,
    )


def _row(
    item: ControlPlanItem, st: Station, line: Line, ch: Characteristic, gauge: Gauge | None
) -> PlanRow:
    return PlanRow(
        id=item.id,
        version=item.version,
        line=line.name,
        station_id=st.id,
        station=st.name,
        station_sequence=st.sequence,
        characteristic_id=ch.id,
        characteristic=ch.name,
        ctq=ch.ctq,
        unit=ch.unit,
        lsl=ch.lsl,
        usl=ch.usl,
        method=item.method,
        gauge_id=gauge.id if gauge else None,
        gauge=gauge.name if gauge else None,
        sample_size=item.sample_size,
        frequency=item.frequency,
        frequency_every=item.frequency_every,
        frequency_per=item.frequency_per.value if item.frequency_per else None,
        chart_type=item.chart_type,
        reaction_plan=item.reaction_plan,
    )


def product_plans(
    uow: UnitOfWork, product_ref: str | int, *, actor: Principal
) -> tuple[Product, tuple[ControlPlan, ...]]:
    """The product and all its control plans, newest first."""
    product = resolve_product(uow, product_ref, actor=actor)
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    with uow:
        stmt = select(ControlPlan).where(ControlPlan.product_id == product.id)
        plans = tuple(uow.session.scalars(stmt.order_by(ControlPlan.id.desc())))
    return product, plans


def plan_choices(
    uow: UnitOfWork, plan: ControlPlan, *, actor: Principal
) -> dict[str, list[tuple[int, str]]]:
    """What an item of ``plan`` may refer to, as (id, name): the stations (of the plan's line,
    or of every line), the product's characteristics and the gauges it may use."""
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    with uow:
        stations = select(Station, Line).join(Line, Line.id == Station.line_id)
        if plan.line_id is not None:
            stations = stations.where(Station.line_id == plan.line_id)
        chars = select(Characteristic).where(Characteristic.product_id == plan.product_id)
        gauges = select(Gauge).where(
            Gauge.product_id.is_(None) | (Gauge.product_id == plan.product_id)
        )
        return {
            "station_id": [
                (s.id, f"{line.name} / {s.name}")
                for s, line in uow.session.execute(stations.order_by(Line.name, Station.sequence))
            ],
            "characteristic_id": [
                (c.id, c.name + (" (CTQ)" if c.ctq else ""))
                for c in uow.session.scalars(chars.order_by(Characteristic.name))
            ],
            "gauge_id": [(g.id, g.name) for g in uow.session.scalars(gauges.order_by(Gauge.name))],
        }


def line_choices(uow: UnitOfWork, *, actor: Principal) -> list[tuple[int, str]]:
    """The lines a new plan may be written for, as (id, name)."""
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    with uow:
        return [
            (line.id, line.name) for line in uow.session.scalars(select(Line).order_by(Line.name))
        ]


# --- gage studies ------------------------------------------------------------------------------

MAX_READINGS = 10_000
LABEL_LENGTH = 80


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of a gage study: ``operator`` measured ``part`` and read ``value``."""

    part: str
    operator: str
    value: float

    def as_dict(self) -> dict[str, Any]:
        return {"part": self.part, "operator": self.operator, "value": self.value}


def parse_readings(raw: Any) -> list[Reading]:
    """Readings from a list of ``{part, operator, value}``; errors name ``readings[i].field``."""
    if not isinstance(raw, list | tuple):
        raise invalid("readings", "must be a list of {part, operator, value}")
    if len(raw) > MAX_READINGS:
        raise invalid("readings", f"{len(raw)} readings; at most {MAX_READINGS} allowed")
    errors: list[FieldError] = []
    readings = []
    for i, entry in enumerate(raw):
        found = _reading(f"readings[{i}]", entry, errors)
        if found is not None:
            readings.append(found)
    if errors:
        detail = "; ".join(f"{e.loc}: {e.message}" for e in errors[:5])
        raise InvalidInput(f"invalid readings: {detail}", errors)
    return readings


def _reading(loc: str, entry: Any, errors: list[FieldError]) -> Reading | None:
    if isinstance(entry, Reading):
        return entry
    if not isinstance(entry, Mapping):
        errors.append(FieldError(loc, "must be an object {part, operator, value}"))
        return None
    before = len(errors)
    labels = {}
    for name in ("part", "operator"):
        text = "" if entry.get(name) is None else str(entry[name]).strip()
        reason = unstorable_reason(text) or ("is required" if not text else None)
        if reason is None and len(text) > LABEL_LENGTH:
            reason = f"is {len(text)} characters long; at most {LABEL_LENGTH} allowed"
        if reason is not None:
            errors.append(FieldError(f"{loc}.{name}", reason))
        labels[name] = text
    value = entry.get("value")
    number = _finite(value)
    if number is None:
        errors.append(FieldError(f"{loc}.value", f"{value!r} is not a finite number"))
    unknown = sorted(set(entry) - {"part", "operator", "value"})
    if unknown:
        errors.append(FieldError(f"{loc}.{unknown[0]}", "is not a field of a reading"))
    if len(errors) > before or number is None:
        return None
    return Reading(labels["part"], labels["operator"], number)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def readings_from_csv(path: str | Path, *, part: str, operator: str, value: str) -> list[Reading]:
    """The readings of a CSV file with one row per reading, as ``phasegate gage`` reads it.

    A stored study holds exactly the readings it was computed from, so a row with a missing
    part, operator or value is refused (naming its line) rather than left out.
    """
    from phasegate.ingest.columns import read_columns

    cols = read_columns(path, numeric=[value], text=[part, operator])
    missing = np.isnan(cols.numeric[value]) | (cols.text[part] == "") | (cols.text[operator] == "")
    if missing.any():
        lines = ", ".join(str(n) for n in cols.lines[missing][:10])
        raise invalid(str(cols.path), f"rows with a missing {part}, {operator} or {value}: {lines}")
    return parse_readings(
        [
            {"part": str(p), "operator": str(o), "value": float(v)}
            for p, o, v in zip(
                cols.text[part], cols.text[operator], cols.numeric[value], strict=True
            )
        ]
    )


def compute_study(
    readings: Sequence[Reading],
    *,
    tolerance: float | None,
    study_multiplier: float = 6.0,
    source: str = "readings",
) -> Any:
    """The gage R&R report of the readings: :func:`phasegate.stats.gage_rr` in a
    :class:`~phasegate.services.analysis.gage.GageReport`, as ``phasegate gage`` reports it."""
    from phasegate import stats
    from phasegate.services.analysis.gage import GageReport

    if not readings:
        raise invalid("readings", "a gage study needs readings")
    result = stats.gage_rr(
        [r.value for r in readings],
        [r.part for r in readings],
        [r.operator for r in readings],
        tolerance=tolerance,
        study_multiplier=study_multiplier,
    )
    return GageReport(source, result, (), 0)


def recompute_study(study: GageStudy) -> Any:
    """The study's report computed again from its stored readings."""
    return compute_study(
        parse_readings(study.readings),
        tolerance=study.tolerance,
        study_multiplier=study.study_multiplier,
        source=f"gage study #{study.id}",
    )


def record_gage_study(
    uow: UnitOfWork,
    gauge_id: int,
    *,
    characteristic_id: int,
    readings: Any,
    actor: Principal,
    studied_on: dt.date | str | None = None,
    tolerance: float | None = None,
    study_multiplier: float = 6.0,
    notes: str = "",
) -> GageStudy:
    """Compute a crossed gage R&R study of the gauge on the characteristic and store it.

    ``tolerance`` defaults to the characteristic's USL - LSL when it has both. The readings are
    stored with the results, so the study can be recomputed. Audited.
    """
    authorize(actor, Action.CREATE, Kind.CONTROL_PLAN)
    parsed = parse_readings(readings)
    day = _study_day(studied_on)
    note = _text_field("notes", notes, crud.TEXT_MAX_LENGTH)
    with uow.write():
        gauge = uow.get(Gauge, gauge_id, label="gauge")
        characteristic = uow.session.get(Characteristic, characteristic_id)
        if characteristic is None:
            raise invalid("characteristic_id", f"characteristic {characteristic_id} does not exist")
        if gauge.product_id not in (None, characteristic.product_id):
            raise invalid(
                "characteristic_id",
                f"characteristic {characteristic.name!r} is not of gauge {gauge.name}'s product",
            )
        tol = tolerance if tolerance is not None else _tolerance(characteristic)
        report = compute_study(parsed, tolerance=tol, study_multiplier=study_multiplier)
        study = _study(report, gauge, characteristic, parsed, day, actor, note)
        uow.session.add(study)
        uow.session.flush()
        event = audit.record(
            uow,
            actor=actor.name,
            action=AuditAction.CREATE,
            obj=study,
            before=None,
            after={k: v for k, v in audit.snapshot(study).items() if k != "readings"},
            summary=f"recorded gage study #{study.id} of gauge {gauge.name} on "
            f"{characteristic.name}",
        )
        event.product_id = characteristic.product_id
        uow.commit()
        return study


def _study(
    report: Any,
    gauge: Gauge,
    characteristic: Characteristic,
    readings: Sequence[Reading],
    day: dt.date,
    actor: Principal,
    notes: str,
) -> GageStudy:
    doc = report.as_dict()
    r = report.result
    return GageStudy(
        gauge_id=gauge.id,
        characteristic_id=characteristic.id,
        studied_on=day,
        recorded_by=actor.name,
        pct_grr_study_var=doc["pct_grr_study_var"],
        pct_grr_tolerance=doc["pct_grr_tolerance"],
        ndc=doc["ndc"],
        repeatability=r.std_dev("repeatability"),
        reproducibility=r.std_dev("reproducibility"),
        gage_rr=r.std_dev("gage_rr"),
        part_to_part=r.std_dev("part_to_part"),
        n_parts=r.parts,
        n_operators=r.operators,
        n_trials=r.replicates,
        tolerance=r.tolerance,
        study_multiplier=r.study_multiplier,
        readings=[reading.as_dict() for reading in readings],
        notes=notes,
    )


def _tolerance(characteristic: Characteristic) -> float | None:
    if characteristic.lsl is None or characteristic.usl is None:
        return None
    return characteristic.usl - characteristic.lsl


def _study_day(value: dt.date | str | None) -> dt.date:
    if value is None or value == "":
        return dt.datetime.now(dt.UTC).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise invalid("studied_on", f"{value!r} is not a date (YYYY-MM-DD)") from None


def _text_field(name: str, value: str, length: int) -> str:
    text = str(value).strip()
    reason = unstorable_reason(text)
    if reason is None and len(text) > length:
        reason = f"is {len(text)} characters long; at most {length} allowed"
    if reason is not None:
        raise invalid(name, reason)
    return text


def gauge_by_name(uow: UnitOfWork, name: str, *, actor: Principal) -> Gauge:
    """The gauge with this name, whatever its case; ``NotFound`` otherwise."""
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    if not storable(name):
        raise NotFound(f"gauge {name!r} does not exist")
    with uow:
        gauge = uow.session.scalar(select(Gauge).where(func.lower(Gauge.name) == func.lower(name)))
        if gauge is None:
            raise NotFound(f"gauge {name!r} does not exist")
        return gauge


def record_named_gage_study(
    uow: UnitOfWork,
    gauge_name: str,
    *,
    characteristic: str,
    readings: Any,
    actor: Principal,
    product: str | None = None,
    studied_on: dt.date | str | None = None,
    tolerance: float | None = None,
    study_multiplier: float = 6.0,
    notes: str = "",
) -> GageStudy:
    """``record_gage_study`` with the gauge and the characteristic by name: a characteristic of
    the gauge's product, or of ``product`` for a gauge of no one product."""
    authorize(actor, Action.CREATE, Kind.CONTROL_PLAN)
    gauge = gauge_by_name(uow, gauge_name, actor=actor)
    if product is not None:
        product_id = resolve_product(uow, product, actor=actor).id
    elif gauge.product_id is not None:
        product_id = gauge.product_id
    else:
        raise invalid("product", f"gauge {gauge.name} serves no one product; name the product")
    with uow:
        found = _named(
            uow,
            Characteristic,
            Characteristic.name,
            characteristic,
            "characteristic",
            product_id=product_id,
        )
    return record_gage_study(
        uow,
        gauge.id,
        characteristic_id=found.id,
        readings=readings,
        actor=actor,
        studied_on=studied_on,
        tolerance=tolerance,
        study_multiplier=study_multiplier,
        notes=notes,
    )


def record_gage_study_from_csv(
    uow: UnitOfWork,
    gauge_name: str,
    path: str | Path,
    *,
    characteristic: str,
    part: str,
    operator: str,
    value: str,
    actor: Principal,
    product: str | None = None,
    studied_on: dt.date | str | None = None,
    tolerance: float | None = None,
    study_multiplier: float = 6.0,
    notes: str = "",
) -> GageStudy:
    """``record_named_gage_study`` with the readings of a CSV file (one row per reading)."""
    authorize(actor, Action.CREATE, Kind.CONTROL_PLAN)
    gauge_by_name(uow, gauge_name, actor=actor)  # an unknown gauge before a bad file
    readings = readings_from_csv(path, part=part, operator=operator, value=value)
    return record_named_gage_study(
        uow,
        gauge_name,
        characteristic=characteristic,
        readings=readings,
        actor=actor,
        product=product,
        studied_on=studied_on,
        tolerance=tolerance,
        study_multiplier=study_multiplier,
        notes=notes,
    )


# --- gauge sheet -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudySummary:
    """A stored gage study with its verdict, as lists and coverage show it."""

    id: int
    gauge: str
    characteristic: str
    studied_on: dt.date
    pct_grr_study_var: float | None
    pct_grr_tolerance: float | None
    ndc: int | None
    n_parts: int
    n_operators: int
    n_trials: int
    verdict: GageVerdict

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "gauge": self.gauge,
            "characteristic": self.characteristic,
            "studied_on": self.studied_on.isoformat(),
            "pct_grr_study_var": self.pct_grr_study_var,
            "pct_grr_tolerance": self.pct_grr_tolerance,
            "ndc": self.ndc,
            "n_parts": self.n_parts,
            "n_operators": self.n_operators,
            "n_trials": self.n_trials,
            "verdict": self.verdict.value,
        }


def _summary(study: GageStudy, gauge: str, characteristic: str) -> StudySummary:
    return StudySummary(
        id=study.id,
        gauge=gauge,
        characteristic=characteristic,
        studied_on=study.studied_on,
        pct_grr_study_var=study.pct_grr_study_var,
        pct_grr_tolerance=study.pct_grr_tolerance,
        ndc=study.ndc,
        n_parts=study.n_parts,
        n_operators=study.n_operators,
        n_trials=study.n_trials,
        verdict=study_verdict(study),
    )


@dataclass(frozen=True, slots=True)
class GaugeSheet:
    """A gauge, its studies (newest first) and the plan items that measure with it."""

    gauge: Gauge
    product_key: str | None
    line: str | None
    studies: tuple[StudySummary, ...]
    used_by: tuple[tuple[str, str, str], ...]  # (product key, station, characteristic)


def gauge_sheet(uow: UnitOfWork, gauge_id: int, *, actor: Principal) -> GaugeSheet:
    gauge = crud.get(uow, GAUGES, gauge_id, actor=actor)
    with uow:
        product = uow.session.get(Product, gauge.product_id) if gauge.product_id else None
        line = uow.session.get(Line, gauge.line_id) if gauge.line_id else None
        studies = uow.session.execute(
            select(GageStudy, Characteristic.name)
            .join(Characteristic, Characteristic.id == GageStudy.characteristic_id)
            .where(GageStudy.gauge_id == gauge.id)
            .order_by(GageStudy.studied_on.desc(), GageStudy.id.desc())
        )
        summaries = tuple(_summary(s, gauge.name, name) for s, name in studies)
        used = uow.session.execute(
            select(Product.key, Station.name, Characteristic.name)
            .select_from(ControlPlanItem)
            .join(ControlPlan, ControlPlan.id == ControlPlanItem.plan_id)
            .join(Product, Product.id == ControlPlan.product_id)
            .join(Station, Station.id == ControlPlanItem.station_id)
            .join(Characteristic, Characteristic.id == ControlPlanItem.characteristic_id)
            .where(ControlPlanItem.gauge_id == gauge.id)
            .order_by(Product.key, Station.name, Characteristic.name)
        )
        used_by = tuple((k, s, c) for k, s, c in used)
    return GaugeSheet(
        gauge=gauge,
        product_key=product.key if product else None,
        line=line.name if line else None,
        studies=summaries,
        used_by=used_by,
    )


# --- coverage of the CTQs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoveringItem:
    """A plan item that checks a CTQ, its gauge and that gauge's latest study of the CTQ."""

    item_id: int
    station: str
    gauge: str | None
    gauge_id: int | None
    study: StudySummary | None

    @property
    def rank(self) -> int:
        """How good the evidence is: 0 acceptable .. 2 unacceptable, 3 no study."""
        return self.study.verdict.rank if self.study else len(GageVerdict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "station": self.station,
            "gauge": self.gauge,
            "study": self.study.as_dict() if self.study else None,
        }


@dataclass(frozen=True, slots=True)
class CtqCoverage:
    """One CTQ: the items of the plan that check it; the best-supported one decides."""

    characteristic_id: int
    name: str
    items: tuple[CoveringItem, ...]

    @property
    def covered(self) -> bool:
        return bool(self.items)

    @property
    def best(self) -> CoveringItem | None:
        """The covering item whose gauge has the best latest study (the first on a tie)."""
        return min(self.items, key=lambda i: i.rank) if self.items else None

    @property
    def study(self) -> StudySummary | None:
        return self.best.study if self.best else None

    @property
    def verdict(self) -> GageVerdict | None:
        """The verdict of the best study; None when no covering gauge has a study."""
        return self.study.verdict if self.study else None

    def as_dict(self) -> dict[str, Any]:
        best, study = self.best, self.study
        return {
            "characteristic_id": self.characteristic_id,
            "characteristic": self.name,
            "covered": self.covered,
            "item_id": best.item_id if best else None,
            "station": best.station if best else None,
            "gauge": best.gauge if best else None,
            "study_id": study.id if study else None,
            "studied_on": study.studied_on.isoformat() if study else None,
            "pct_grr_study_var": study.pct_grr_study_var if study else None,
            "pct_grr_tolerance": study.pct_grr_tolerance if study else None,
            "ndc": study.ndc if study else None,
            "verdict": self.verdict.value if self.verdict else None,
            "items": [item.as_dict() for item in self.items],
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a product's control plan covers its CTQs (``plan`` None: the product has none)."""

    product: str
    plan: ControlPlan | None
    ctqs: tuple[CtqCoverage, ...] = field(default=())

    @property
    def covered(self) -> tuple[CtqCoverage, ...]:
        return tuple(c for c in self.ctqs if c.covered)

    @property
    def uncovered(self) -> tuple[CtqCoverage, ...]:
        return tuple(c for c in self.ctqs if not c.covered)

    def acceptable(self, *, allow_conditional: bool = False) -> tuple[CtqCoverage, ...]:
        """The CTQs checked with a gauge whose latest study is acceptable (or conditional)."""
        ok = {GageVerdict.ACCEPTABLE} | ({GageVerdict.CONDITIONAL} if allow_conditional else set())
        return tuple(c for c in self.ctqs if c.verdict in ok)

    def complete(self, *, allow_conditional: bool = False) -> bool:
        """Every CTQ is covered with an acceptable gage R&R (and there is at least one CTQ)."""
        good = self.acceptable(allow_conditional=allow_conditional)
        return bool(self.ctqs) and len(good) == len(self.ctqs)

    def as_dict(self) -> dict[str, Any]:
        p = self.plan
        return {
            "product": self.product,
            "plan": None
            if p is None
            else {
                "id": p.id,
                "name": p.name,
                "plan_version": p.plan_version,
                "status": p.status.value,
            },
            "ctq_count": len(self.ctqs),
            "covered_count": len(self.covered),
            "acceptable_count": len(self.acceptable()),
            "complete": self.complete(),
            "ctqs": [c.as_dict() for c in self.ctqs],
        }


def ctq_coverage(
    uow: UnitOfWork,
    product_ref: str | int,
    *,
    actor: Principal,
    plan_id: int | None = None,
    revision_id: int | None = None,
) -> Coverage:
    """Per CTQ of the product: is it covered by the control plan, by which items and gauges,
    and the latest gage study of each gauge on that CTQ with its AIAG verdict.

    The plan is ``plan_id`` or the product's current one for ``revision_id`` (``current_plan``).
    """
    product = resolve_product(uow, product_ref, actor=actor)
    authorize(actor, Action.READ, Kind.CONTROL_PLAN)
    with uow:
        plan: ControlPlan | None
        if plan_id is not None:
            plan = plan_of_product(uow, product.id, actor=actor, plan_id=plan_id)
        else:
            plan = current_plan(uow, product.id, revision_id=revision_id)
        ctqs = list(
            uow.session.scalars(
                select(Characteristic)
                .where(Characteristic.product_id == product.id, Characteristic.ctq.is_(True))
                .order_by(Characteristic.name)
            )
        )
        covering = _covering_items(uow, plan, [c.id for c in ctqs]) if plan else {}
    return Coverage(
        product=product.key,
        plan=plan,
        ctqs=tuple(CtqCoverage(c.id, c.name, tuple(covering.get(c.id, ()))) for c in ctqs),
    )


def build_coverage(uow: UnitOfWork, build_id: int, *, actor: Principal) -> Coverage:
    """``ctq_coverage`` of the build's product, by the plan in force for the build's revision."""
    build = crud.get(uow, BUILDS, build_id, actor=actor)
    return ctq_coverage(uow, build.product_id, actor=actor, revision_id=build.revision_id)


def _covering_items(
    uow: UnitOfWork, plan: ControlPlan, ctq_ids: list[int]
) -> dict[int, list[CoveringItem]]:
    if not ctq_ids:
        return {}
    items = uow.session.execute(
        select(ControlPlanItem, Station, Gauge)
        .join(Station, Station.id == ControlPlanItem.station_id)
        .outerjoin(Gauge, Gauge.id == ControlPlanItem.gauge_id)
        .where(ControlPlanItem.plan_id == plan.id, ControlPlanItem.characteristic_id.in_(ctq_ids))
        .order_by(Station.line_id, Station.sequence, ControlPlanItem.id)
    ).all()
    latest = _latest_studies(uow, {(i.gauge_id, i.characteristic_id) for i, _, _ in items})
    names = dict(
        uow.session.execute(
            select(Characteristic.id, Characteristic.name).where(Characteristic.id.in_(ctq_ids))
        ).all()
    )
    out: dict[int, list[CoveringItem]] = {}
    for item, station, gauge in items:
        study = latest.get((item.gauge_id, item.characteristic_id))
        summary = _summary(study, gauge.name, names[item.characteristic_id]) if study else None
        out.setdefault(item.characteristic_id, []).append(
            CoveringItem(
                item_id=item.id,
                station=station.name,
                gauge=gauge.name if gauge else None,
                gauge_id=gauge.id if gauge else None,
                study=summary,
            )
        )
    return out


def _latest_studies(
    uow: UnitOfWork, pairs: set[tuple[int | None, int]]
) -> dict[tuple[int | None, int], GageStudy]:
    """The latest study (by day, then by record) of each (gauge, characteristic) pair."""
    gauge_ids = {g for g, _ in pairs if g is not None}
    if not gauge_ids:
        return {}
    studies = uow.session.scalars(
        select(GageStudy)
        .where(GageStudy.gauge_id.in_(gauge_ids))
        .order_by(GageStudy.studied_on, GageStudy.id)
    )
    latest: dict[tuple[int | None, int], GageStudy] = {}
    for study in studies:  # later ones replace earlier ones
        latest[(study.gauge_id, study.characteristic_id)] = study
    return latest
