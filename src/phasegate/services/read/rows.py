"""Shapes and queries that several pages share: counts, the product summary, specs met.

A characteristic is *met* on a build when it has measurements there and none of them fell
below its LSL or above its USL. The share of specs met counts every characteristic of the
product in its denominator: a spec that was not measured on the build is not met.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select

from phasegate.domain.enums import FindingStatus, Phase, Severity
from phasegate.domain.errors import NotFound
from phasegate.domain.phases import phases_reached
from phasegate.domain.policy import Principal
from phasegate.services.products import product_by_key
from phasegate.store.models import BuildCharacteristicStat, Feedback, Finding, Product, Revision
from phasegate.store.uow import UnitOfWork

T = TypeVar("T")
K = TypeVar("K")

OPEN_FINDING_STATUSES = tuple(s for s in FindingStatus if s.is_open)


@dataclass(frozen=True, slots=True)
class Count(Generic[T]):
    """How many records have one value of an enum field."""

    value: T
    count: int


@dataclass(frozen=True, slots=True)
class Tally(Generic[T]):
    """Counts for every value of an enum field, in the enum's order (zeros included)."""

    counts: tuple[Count[T], ...]

    @classmethod
    def of(cls, values: Iterable[T], found: Mapping[T, int]) -> Tally[T]:
        return cls(tuple(Count(v, found.get(v, 0)) for v in values))

    def __iter__(self) -> Iterator[Count[T]]:
        return iter(self.counts)

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)

    def count(self, value: T) -> int:
        return next((c.count for c in self.counts if c.value == value), 0)


def severity_tally(found: Mapping[Severity, int]) -> Tally[Severity]:
    """Open findings by severity, most severe first."""
    return Tally.of(Severity, found)


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    """How much feedback there is, how much of it rated, and the mean of the ratings given."""

    count: int
    rated: int
    mean_rating: float | None

    @classmethod
    def none(cls) -> FeedbackSummary:
        return cls(0, 0, None)


def feedback_summaries(
    uow: UnitOfWork, group: SQLColumnExpression[K], *criteria: ColumnElement[bool]
) -> dict[K, FeedbackSummary]:
    """Feedback matching ``criteria``, summarised per value of ``group``."""
    rows = uow.session.execute(
        select(group, func.count(), func.count(Feedback.rating), func.avg(Feedback.rating))
        .where(*criteria)
        .group_by(group)
    )
    return {
        key: FeedbackSummary(n, rated, float(mean) if mean is not None else None)
        for key, n, rated, mean in rows
    }


def open_findings_by(
    uow: UnitOfWork, group: SQLColumnExpression[K], *criteria: ColumnElement[bool]
) -> dict[K, Tally[Severity]]:
    """Open findings matching ``criteria`` by severity, per value of ``group``."""
    found: dict[K, dict[Severity, int]] = {}
    for key, severity, n in uow.session.execute(
        select(group, Finding.severity, func.count())
        .where(Finding.status.in_(OPEN_FINDING_STATUSES), *criteria)
        .group_by(group, Finding.severity)
    ):
        found.setdefault(key, {})[severity] = n
    return {key: severity_tally(counts) for key, counts in found.items()}


def revision_sort_key(code: str) -> tuple[int, str]:
    """Revision codes in release order: "B" after "A", "10" after "9", "AA" after "Z"."""
    return (len(code), code)


def revision_id(uow: UnitOfWork, product: Product, code: str) -> int:
    """Id of the product's revision ``code``, or ``NotFound``."""
    found = uow.session.scalar(
        select(Revision.id).where(Revision.product_id == product.id, Revision.code == code)
    )
    if found is None:
        raise NotFound(f"product {product.key} has no revision {code!r}")
    return found


@dataclass(frozen=True, slots=True)
class ProductSummary:
    """The product's own fields."""

    key: str
    name: str
    phase: Phase
    description: str
    target_unit_cost: float | None
    target_annual_volume: int | None
    target_launch_date: dt.date | None

    @property
    def phases_reached(self) -> tuple[Phase, ...]:
        return phases_reached(self.phase)


def product_fields(product: Product) -> dict[str, Any]:
    """The ``ProductSummary`` fields of ``product``, for it and the shapes that extend it."""
    return {
        "key": product.key,
        "name": product.name,
        "phase": product.phase,
        "description": product.description,
        "target_unit_cost": product.target_unit_cost,
        "target_annual_volume": product.target_annual_volume,
        "target_launch_date": product.target_launch_date,
    }


def product_summary(uow: UnitOfWork, key: str, *, actor: Principal) -> ProductSummary:
    """The product's own fields, for pages that list one kind of its records."""
    with uow:
        return ProductSummary(**product_fields(product_by_key(uow, key, actor=actor)))


@dataclass(frozen=True, slots=True)
class SpecsMet:
    """How many of the product's characteristics were met on one build."""

    build_id: int
    build_code: str
    met: int
    measured: int
    total: int

    @property
    def share(self) -> float | None:
        """Met / all characteristics of the product; ``None`` when it has none."""
        return self.met / self.total if self.total else None


def specs_met(
    uow: UnitOfWork, builds: Sequence[tuple[int, str]], total: int
) -> dict[int, SpecsMet]:
    """Specs met on each of ``builds`` (id, code), from the per-characteristic aggregates."""
    if not builds:
        return {}
    stat = BuildCharacteristicStat
    met = case((((stat.below_lsl == 0) & (stat.above_usl == 0)), 1), else_=0)
    rows = uow.session.execute(
        select(stat.build_id, func.count(), func.sum(met))
        .where(stat.build_id.in_([b for b, _ in builds]), stat.count > 0)
        .group_by(stat.build_id)
    ).all()
    found = {build_id: (int(measured), int(n_met or 0)) for build_id, measured, n_met in rows}
    return {
        build_id: SpecsMet(
            build_id=build_id,
            build_code=code,
            met=found.get(build_id, (0, 0))[1],
            measured=found.get(build_id, (0, 0))[0],
            total=total,
        )
        for build_id, code in builds
    }
