"""Cost per unit of a build: material, labor, overhead, tooling, scrap and rework; projected.

The components, each per unit built:

- ``material``: the BOM standard at the build's volume (scrap allowance included) plus the
  build's material variance (issued against standard) spread over its units;
- ``labor``: per station, labor hours per unit times the station's hourly rate;
- ``overhead``: ``overhead_rate`` times direct labor cost (a burden rate on labor, not a
  fixed amount per unit);
- ``tooling``: each tooling investment divided by the units it is amortised over;
- ``rework``: the cost of reworking defects, spread over the units built.

``per_unit`` (per unit built) is their sum. Scrapped units cost as much as good ones and sell
for nothing, so the good units carry them: ``per_good_unit = per_unit / yield`` with
``yield = good / built``. ``scrap`` — the scrap-and-rework component of the waterfall — is the
rework per unit plus that yield loss, so ``material + labor + overhead + tooling + scrap`` is
exactly ``per_good_unit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from phasegate.costing.bom import MaterialRollUp, MaterialVariance, _check
from phasegate.costing.learning import LearningCurve
from phasegate.domain.errors import invalid
from phasegate.stats.intervals import Interval

__all__ = [
    "Projection",
    "StationLabor",
    "Tooling",
    "UnitCost",
    "WaterfallStep",
    "project",
    "roll_up",
    "waterfall",
]


@dataclass(frozen=True, slots=True)
class StationLabor:
    """Labor hours per unit at one station and the station's hourly labor rate."""

    station: str
    hours_per_unit: float
    rate_per_hour: float

    def __post_init__(self) -> None:
        _check(f"{self.station}: hours_per_unit", self.hours_per_unit)
        _check(f"{self.station}: rate_per_hour", self.rate_per_hour)

    @property
    def cost_per_unit(self) -> float:
        return self.hours_per_unit * self.rate_per_hour


@dataclass(frozen=True, slots=True)
class Tooling:
    """A tooling investment, amortised evenly over ``amortisation_volume`` units."""

    name: str
    cost: float
    amortisation_volume: float

    def __post_init__(self) -> None:
        _check(f"{self.name}: cost", self.cost)
        _check(f"{self.name}: amortisation_volume", self.amortisation_volume, positive=True)

    @property
    def per_unit(self) -> float:
        return self.cost / self.amortisation_volume


@dataclass(frozen=True, slots=True)
class UnitCost:
    """A build's cost per unit by component (see the module notes for each)."""

    material_standard: float
    material_variance: float
    labor: float
    labor_hours: float
    overhead: float
    tooling: float
    rework: float
    units_built: int
    units_good: int

    @property
    def material(self) -> float:
        return self.material_standard + self.material_variance

    @property
    def yield_frac(self) -> float:
        return self.units_good / self.units_built

    @property
    def per_unit(self) -> float:
        """Cost per unit built."""
        return self.material + self.labor + self.overhead + self.tooling + self.rework

    @property
    def per_good_unit(self) -> float:
        """Cost per good unit: the cost per unit built divided by the yield."""
        return self.per_unit / self.yield_frac

    @property
    def yield_loss(self) -> float:
        """What the scrapped units add to each good unit."""
        return self.per_good_unit - self.per_unit

    @property
    def scrap(self) -> float:
        """Scrap and rework per good unit: rework per unit plus the yield loss."""
        return self.rework + self.yield_loss


def _labor_total(labor: Sequence[StationLabor]) -> tuple[float, float]:
    stations = [s.station for s in labor]
    duplicate = next((s for s in stations if stations.count(s) > 1), None)
    if duplicate is not None:
        raise invalid("labor", f"station {duplicate} appears more than once")
    return math.fsum(s.cost_per_unit for s in labor), math.fsum(s.hours_per_unit for s in labor)


def _units(built: int, scrapped: int) -> None:
    if int(built) != built or built <= 0:
        raise invalid("units_built", f"must be a whole number above 0, got {built!r}")
    if int(scrapped) != scrapped or not 0 <= scrapped < built:
        raise invalid(
            "units_scrapped",
            f"must be a whole number from 0 to below the {built} units built, got {scrapped!r}",
        )


def roll_up(
    material: MaterialRollUp,
    labor: Sequence[StationLabor],
    *,
    overhead_rate: float,
    tooling: Sequence[Tooling] = (),
    units_built: int,
    units_scrapped: int = 0,
    rework_cost: float = 0.0,
    variance: MaterialVariance | None = None,
) -> UnitCost:
    """Roll a build's costs up to its cost per unit and per good unit.

    Parameters
    ----------
    material : MaterialRollUp
        The BOM priced at the build's volume.
    labor : sequence of StationLabor
        Labor hours per unit and rate, per station.
    overhead_rate : float
        Overhead as a fraction of direct labor cost (1.5 = 150 % of labor).
    tooling : sequence of Tooling
        The product's tooling investments.
    units_built, units_scrapped : int
        Units started in the build, and those of them scrapped (at least one is good).
    rework_cost : float
        Total cost of rework in the build.
    variance : MaterialVariance, optional
        Material issued against standard; none recorded adds nothing.

    Returns
    -------
    UnitCost

    Examples
    --------
    >>> from phasegate.costing.bom import BomLine, roll_up_material
    >>> cost = roll_up(
    ...     roll_up_material([BomLine("PCB", 1, 10.0)], 10),
    ...     [StationLabor("SMT", 0.5, 20.0)],
    ...     overhead_rate=0.5,
    ...     units_built=10,
    ...     units_scrapped=2,
    ... )
    >>> cost.per_unit, cost.per_good_unit
    (25.0, 31.25)
    """
    _units(units_built, units_scrapped)
    rate = _check("overhead_rate", overhead_rate)
    rework = _check("rework_cost", rework_cost)
    labor_cost, hours = _labor_total(labor)
    return UnitCost(
        material_standard=material.per_unit,
        material_variance=variance.per_unit if variance is not None else 0.0,
        labor=labor_cost,
        labor_hours=hours,
        overhead=rate * labor_cost,
        tooling=math.fsum(t.per_unit for t in tooling),
        rework=rework / units_built,
        units_built=int(units_built),
        units_good=int(units_built - units_scrapped),
    )


@dataclass(frozen=True, slots=True)
class Projection:
    """The cost per good unit projected to unit number ``volume`` along the learning curve."""

    volume: float
    material: float
    labor_hours: float
    labor: float
    overhead: float
    tooling: float
    rework: float
    yield_frac: float
    per_good_unit: float
    band: Interval  # of the cost per good unit, from the curve's band


def project(
    cost: UnitCost,
    material_at_volume: MaterialRollUp,
    curve: LearningCurve,
    *,
    overhead_rate: float,
    volume: float,
) -> Projection:
    """Project a build's cost per good unit to ``volume`` units along its learning curve.

    The labor hours per unit become the curve's value at unit ``volume`` (counted from the
    build's first unit), costed at the build's average hourly rate (its labor cost per hour);
    material is the BOM standard priced at ``volume`` (no variance); tooling, rework per unit
    and the yield stay as the build had them. The band carries the curve's confidence band
    through the same arithmetic.

    Examples
    --------
    >>> from phasegate.costing.bom import BomLine, roll_up_material
    >>> from phasegate.costing.learning import fit_learning_curve
    >>> bom = [BomLine("PCB", 1, 10.0)]
    >>> cost = roll_up(roll_up_material(bom, 4), [StationLabor("A", 1.0, 20.0)],
    ...                overhead_rate=0.0, units_built=4)
    >>> curve = fit_learning_curve([1, 2, 4], [1.0, 0.8, 0.64])
    >>> round(project(cost, roll_up_material(bom, 8), curve, overhead_rate=0.0,
    ...               volume=8).per_good_unit, 6)
    20.24
    """
    rate = _check("overhead_rate", overhead_rate)
    if cost.labor_hours <= 0:
        raise invalid("labor", "the build has no labor hours to project")
    per_hour = cost.labor / cost.labor_hours
    fixed = material_at_volume.per_unit + cost.tooling + cost.rework

    def per_good(hours: float) -> float:
        return (fixed + hours * per_hour * (1.0 + rate)) / cost.yield_frac

    hours = curve.predict(volume)
    band = curve.band(volume)
    return Projection(
        volume=float(volume),
        material=material_at_volume.per_unit,
        labor_hours=hours,
        labor=hours * per_hour,
        overhead=rate * hours * per_hour,
        tooling=cost.tooling,
        rework=cost.rework,
        yield_frac=cost.yield_frac,
        per_good_unit=per_good(hours),
        band=Interval(per_good(band.low), per_good(band.high), band.confidence, band.method),
    )


@dataclass(frozen=True, slots=True)
class WaterfallStep:
    """One bar of the cost waterfall: a component added (``relative``) or a running total."""

    label: str
    value: float
    measure: str  # "relative" | "total"


def waterfall(cost: UnitCost, target: float | None) -> tuple[WaterfallStep, ...]:
    """The cost per good unit built up from its components, then the gap to ``target``.

    Steps: material, labor, overhead, tooling, scrap & rework (relative), the cost per good
    unit (total); with a target, the gap (target − cost, negative when over target) and the
    target (total).

    Examples
    --------
    >>> from phasegate.costing.bom import BomLine, roll_up_material
    >>> cost = roll_up(roll_up_material([BomLine("PCB", 1, 10.0)], 1), [], overhead_rate=0,
    ...                units_built=1)
    >>> [(s.label, s.value) for s in waterfall(cost, 8.0)][-2:]
    [('Gap to target', -2.0), ('Target', 8.0)]
    """
    steps = [
        WaterfallStep("Material", cost.material, "relative"),
        WaterfallStep("Labor", cost.labor, "relative"),
        WaterfallStep("Overhead", cost.overhead, "relative"),
        WaterfallStep("Tooling", cost.tooling, "relative"),
        WaterfallStep("Scrap & rework", cost.scrap, "relative"),
        WaterfallStep("Cost per good unit", cost.per_good_unit, "total"),
    ]
    if target is not None:
        goal = _check("target", target)
        steps.append(WaterfallStep("Gap to target", goal - cost.per_good_unit, "relative"))
        steps.append(WaterfallStep("Target", goal, "total"))
    return tuple(steps)
