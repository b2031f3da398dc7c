"""Bill of materials: price breaks, the material roll-up per unit and the issue variance.

A BOM line says how many of a part go into one unit (``quantity_per_unit``) and how much more
is bought to cover losses in handling and assembly (``scrap_allowance``, a fraction of the
quantity). The gross quantity per unit is ``quantity_per_unit * (1 + scrap_allowance)``.

Price breaks are by the quantity of the part bought: building ``volume`` units buys
``volume * gross quantity`` parts, and the part costs the ``unit_cost`` of the largest break
whose ``min_quantity`` that reaches; below the first break it costs its ``standard_cost``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from phasegate.domain.errors import invalid

__all__ = [
    "BomLine",
    "MaterialLine",
    "MaterialRollUp",
    "MaterialVariance",
    "PartVariance",
    "PriceBreak",
    "material_variance",
    "roll_up_material",
]


def _check(name: str, value: float, *, positive: bool = False) -> float:
    """``value`` as a finite float, not negative (positive when asked); the error names it."""
    number = float(value)
    if not math.isfinite(number):
        raise invalid(name, f"{value!r} is not a finite number")
    if positive and number <= 0:
        raise invalid(name, f"must be greater than 0, got {number:g}")
    if number < 0:
        raise invalid(name, f"must not be negative, got {number:g}")
    return number


@dataclass(frozen=True, slots=True)
class PriceBreak:
    """From ``min_quantity`` parts bought, each costs ``unit_cost``."""

    min_quantity: float
    unit_cost: float

    def __post_init__(self) -> None:
        _check("min_quantity", self.min_quantity, positive=True)
        _check("unit_cost", self.unit_cost)


@dataclass(frozen=True, slots=True)
class BomLine:
    """One part of a revision's BOM: quantity per unit, scrap allowance, costs by volume."""

    part: str
    quantity_per_unit: float
    standard_cost: float
    scrap_allowance: float = 0.0
    price_breaks: tuple[PriceBreak, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        _check(f"{self.part}: quantity_per_unit", self.quantity_per_unit, positive=True)
        _check(f"{self.part}: standard_cost", self.standard_cost)
        allowance = _check(f"{self.part}: scrap_allowance", self.scrap_allowance)
        if allowance >= 1:
            raise invalid(
                f"{self.part}: scrap_allowance",
                f"is a fraction of the quantity below 1, got {allowance:g}",
            )
        seen = [b.min_quantity for b in self.price_breaks]
        if len(set(seen)) != len(seen):
            raise invalid(f"{self.part}: price_breaks", "two breaks start at the same quantity")

    @property
    def gross_quantity(self) -> float:
        """Parts bought per unit built: the quantity plus the scrap allowance."""
        return self.quantity_per_unit * (1.0 + self.scrap_allowance)

    def unit_price(self, volume: float) -> float:
        """The price of one part when ``volume`` units are built (see the module notes)."""
        bought = _check("volume", volume) * self.gross_quantity
        price = self.standard_cost
        for brk in sorted(self.price_breaks, key=lambda b: b.min_quantity):
            if bought >= brk.min_quantity:
                price = brk.unit_cost
        return price


@dataclass(frozen=True, slots=True)
class MaterialLine:
    """One BOM line priced at a volume."""

    part: str
    description: str
    quantity_per_unit: float
    scrap_allowance: float
    gross_quantity: float
    unit_price: float

    @property
    def cost_per_unit(self) -> float:
        return self.gross_quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class MaterialRollUp:
    """The BOM priced at ``volume`` units: one line per part."""

    lines: tuple[MaterialLine, ...]
    volume: float

    @property
    def per_unit(self) -> float:
        """Standard material cost of one unit: the sum of the lines' cost per unit."""
        return math.fsum(line.cost_per_unit for line in self.lines)


def roll_up_material(lines: Sequence[BomLine], volume: float) -> MaterialRollUp:
    """Price every BOM line at ``volume`` units and add them up.

    Parameters
    ----------
    lines : sequence of BomLine
        The revision's BOM; a part appears once.
    volume : float
        Units built: chooses each part's price break.

    Returns
    -------
    MaterialRollUp
        Per line: gross quantity per unit, unit price, cost per unit; ``per_unit`` in total.

    Notes
    -----
    cost per unit = Σ quantity_per_unit · (1 + scrap_allowance) · price(volume · gross quantity)

    Examples
    --------
    >>> bom = [BomLine("PCB", 1, 4.0, 0.02), BomLine("Screw", 4, 0.05)]
    >>> round(roll_up_material(bom, 100).per_unit, 6)
    4.28
    """
    parts = [line.part for line in lines]
    duplicate = next((p for p in parts if parts.count(p) > 1), None)
    if duplicate is not None:
        raise invalid("lines", f"part {duplicate} appears more than once")
    vol = _check("volume", volume)
    priced = tuple(
        MaterialLine(
            part=line.part,
            description=line.description,
            quantity_per_unit=line.quantity_per_unit,
            scrap_allowance=line.scrap_allowance,
            gross_quantity=line.gross_quantity,
            unit_price=line.unit_price(vol),
        )
        for line in lines
    )
    return MaterialRollUp(lines=priced, volume=vol)


@dataclass(frozen=True, slots=True)
class PartVariance:
    """Material issued to a build against its BOM standard, for one part."""

    part: str
    standard_quantity: float
    issued_quantity: float
    unit_price: float

    @property
    def quantity_variance(self) -> float:
        """Issued minus standard: positive when more was used than the BOM allows."""
        return self.issued_quantity - self.standard_quantity

    @property
    def cost_variance(self) -> float:
        return self.quantity_variance * self.unit_price


@dataclass(frozen=True, slots=True)
class MaterialVariance:
    """Per part and in total, what the material issued to ``units`` units cost beyond standard."""

    parts: tuple[PartVariance, ...]
    units: int

    @property
    def total(self) -> float:
        return math.fsum(p.cost_variance for p in self.parts)

    @property
    def per_unit(self) -> float:
        return self.total / self.units


def material_variance(
    rollup: MaterialRollUp, issued: Mapping[str, float], units: int
) -> MaterialVariance:
    """Compare the quantities issued to a build of ``units`` units with the BOM standard.

    Parameters
    ----------
    rollup : MaterialRollUp
        The BOM priced at the build's volume; its prices value the variance.
    issued : mapping of part to quantity
        Parts issued to the build; a BOM part not named was issued none.
    units : int
        Units built.

    Returns
    -------
    MaterialVariance
        Per part: standard quantity ``units * gross quantity``, issued quantity, variance.

    Notes
    -----
    variance = (issued − units · gross quantity) · unit price. A part issued that is not on the
    BOM has no standard and no price: it is refused, naming the part.

    Examples
    --------
    >>> rollup = roll_up_material([BomLine("PCB", 1, 4.0, 0.02)], 100)
    >>> round(material_variance(rollup, {"PCB": 105}, 100).total, 6)
    12.0
    """
    if int(units) != units or units <= 0:
        raise invalid("units", f"must be a whole number above 0, got {units!r}")
    known = {line.part for line in rollup.lines}
    for part, quantity in issued.items():
        if part not in known:
            raise invalid("issued", f"part {part} is not on the BOM")
        _check(f"issued[{part}]", quantity)
    parts = tuple(
        PartVariance(
            part=line.part,
            standard_quantity=units * line.gross_quantity,
            issued_quantity=float(issued.get(line.part, 0.0)),
            unit_price=line.unit_price,
        )
        for line in rollup.lines
    )
    return MaterialVariance(parts=parts, units=int(units))
