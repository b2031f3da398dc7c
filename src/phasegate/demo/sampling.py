"""What the demo's generators share: the records of a build as they grow, and the draws.

Every random value comes from the ``numpy.random.Generator`` the caller passes, in the caller's
order, so the same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from phasegate.demo.records import BuildRec
from phasegate.demo.scenario import Catalog, ProductData, Spec
from phasegate.services.volume import (
    BuildVolume,
    DefectRecord,
    RunRecord,
    StationPassRecord,
    UnitRecord,
)


@dataclass(slots=True)
class Collected:
    """The records of one build as the generator appends them."""

    units: list[UnitRecord] = field(default_factory=list)
    passes: list[StationPassRecord] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    defects: list[DefectRecord] = field(default_factory=list)

    def freeze(self) -> BuildVolume:
        return BuildVolume(
            units=tuple(self.units),
            station_passes=tuple(self.passes),
            test_runs=tuple(self.runs),
            defects=tuple(self.defects),
        )


def utc_at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """The time ``hour:minute`` UTC on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def round_to(value: float, step: float) -> float:
    """``value`` rounded to a multiple of ``step`` (an instrument resolution)."""
    return round(round(value / step) * step, 6)


def in_spec(spec: Spec, value: float) -> bool:
    """Is ``value`` within the limits of ``spec``? A missing limit does not bind."""
    lsl, usl = spec.rec.lsl, spec.rec.usl
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


def draw(rng: np.random.Generator, spec: Spec, mean: float, sd: float) -> float:
    """A normal value at the resolution of ``spec``."""
    value = float(rng.normal(mean, sd))
    resolution = spec.process.resolution
    if spec.rec.lsl is None and spec.rec.usl is not None:
        value = max(value, resolution)  # one-sided, physically positive quantities
    return round_to(value, resolution)


def lognormal(rng: np.random.Generator, mean: float, cv: float) -> float:
    """A lognormal value with this mean and coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))


@functools.cache  # station names: called once per test run
def slug(text: str) -> str:
    """``text`` in lower case, other characters than letters and digits as dashes, trimmed."""
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def product_data(catalog: Catalog, key: str) -> ProductData:
    """The catalog entry of the product ``key``."""
    return next(p for p in catalog.products if p.product.key == key)


def build_by_code(product: ProductData, code: str) -> BuildRec:
    """The product's build with this code."""
    return next(p.rec for p in product.builds if p.rec.code == code)


def first_build(product: ProductData, revision: str) -> BuildRec:
    """The product's first build of ``revision``."""
    return next(p.rec for p in product.builds if p.rec.revision == revision)
