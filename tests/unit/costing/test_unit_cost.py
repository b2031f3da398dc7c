"""Cost roll-up on a small BOM, worked by hand.

The BOM (quantity per unit, scrap allowance, standard cost, price breaks by parts bought):

    PCB      1   2 %  4.00   from 1,000: 3.50; from 10,000: 3.00
    Screw    4   5 %  0.05   from 10,000: 0.03
    Housing  1   0 %  2.50

At 500 units: PCB 510 bought -> 4.00, 1.02 x 4.00 = 4.08; screws 2,100 bought -> 0.05,
4.2 x 0.05 = 0.21; housing 2.50; material 6.79 per unit.
At 5,000 units: PCB 5,100 -> 3.50, 3.57; screws 21,000 -> 0.03, 0.126; housing 2.50; 6.196.
Issued to the 500-unit build: PCB 520 (standard 510: +10 x 4.00 = +40), screws 2,000
(standard 2,100: -100 x 0.05 = -5), housings 500 (0): +35 in all, +0.07 per unit.
Labor: SMT 0.02 h x 30/h = 0.60, assembly 0.10 h x 25/h = 2.50: 3.10; overhead 120 % of
labor: 3.72. Tooling: 60,000 over 100,000 units + 5,000 over 50,000: 0.70. 20 of 500 scrapped,
rework 250 in all (0.50 per unit). Per unit: 6.86 + 3.10 + 3.72 + 0.70 + 0.50 = 14.88; yield
0.96; per good unit 15.50; scrap and rework 0.50 + 0.62 = 1.12.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.costing import (
    BomLine,
    PriceBreak,
    StationLabor,
    Tooling,
    fit_learning_curve,
    material_variance,
    project,
    roll_up,
    roll_up_material,
    waterfall,
)
from phasegate.domain.errors import InvalidInput

BOM = [
    BomLine("PCB", 1, 4.0, 0.02, (PriceBreak(10_000, 3.0), PriceBreak(1_000, 3.5))),
    BomLine("Screw", 4, 0.05, 0.05, (PriceBreak(10_000, 0.03),)),
    BomLine("Housing", 1, 2.5),
]
LABOR = [StationLabor("SMT", 0.02, 30.0), StationLabor("Assembly", 0.10, 25.0)]
TOOLING = [Tooling("Mould", 60_000, 100_000), Tooling("Fixture", 5_000, 50_000)]


def build_cost():
    rollup = roll_up_material(BOM, 500)
    variance = material_variance(rollup, {"PCB": 520, "Screw": 2_000, "Housing": 500}, 500)
    return roll_up(
        rollup,
        LABOR,
        overhead_rate=1.2,
        tooling=TOOLING,
        units_built=500,
        units_scrapped=20,
        rework_cost=250.0,
        variance=variance,
    )


def test_material_roll_up_prices_each_line_at_its_break():
    low = roll_up_material(BOM, 500)
    assert [line.unit_price for line in low.lines] == [4.0, 0.05, 2.5]
    assert low.per_unit == pytest.approx(6.79, rel=1e-12)
    high = roll_up_material(BOM, 5_000)
    assert [line.unit_price for line in high.lines] == [3.5, 0.03, 2.5]
    assert high.per_unit == pytest.approx(6.196, rel=1e-12)
    assert roll_up_material(BOM, 10_000).lines[0].unit_price == 3.0


def test_material_variance_per_part():
    variance = material_variance(roll_up_material(BOM, 500), {"PCB": 520, "Screw": 2_000}, 500)
    by_part = {p.part: p for p in variance.parts}
    assert by_part["PCB"].standard_quantity == pytest.approx(510)
    assert by_part["PCB"].cost_variance == pytest.approx(40.0)
    assert by_part["Screw"].cost_variance == pytest.approx(-5.0)
    # Housings were not issued at all: the whole standard quantity is missing.
    assert by_part["Housing"].cost_variance == pytest.approx(-1250.0)


def test_roll_up_by_hand():
    cost = build_cost()
    assert cost.material == pytest.approx(6.86, rel=1e-12)
    assert cost.labor == pytest.approx(3.10, rel=1e-12)
    assert cost.labor_hours == pytest.approx(0.12, rel=1e-12)
    assert cost.overhead == pytest.approx(3.72, rel=1e-12)
    assert cost.tooling == pytest.approx(0.70, rel=1e-12)
    assert cost.rework == pytest.approx(0.50, rel=1e-12)
    assert cost.per_unit == pytest.approx(14.88, rel=1e-12)
    assert cost.yield_frac == pytest.approx(0.96, rel=1e-12)
    assert cost.per_good_unit == pytest.approx(15.50, rel=1e-12)
    assert cost.scrap == pytest.approx(1.12, rel=1e-12)


def test_waterfall_against_target():
    steps = waterfall(build_cost(), 15.0)
    assert [s.label for s in steps] == [
        "Material",
        "Labor",
        "Overhead",
        "Tooling",
        "Scrap & rework",
        "Cost per good unit",
        "Gap to target",
        "Target",
    ]
    assert [s.value for s in steps] == pytest.approx([6.86, 3.1, 3.72, 0.7, 1.12, 15.5, -0.5, 15])
    assert [s.measure for s in steps if s.measure == "total"] == ["total", "total"]
    assert len(waterfall(build_cost(), None)) == 6


def test_projection_along_a_90_percent_curve():
    # Labor hours of units 1, 2, 4, 8 on an exact 90 % curve from 0.2 h: unit 16 takes
    # 0.2 x 0.9^4 = 0.13122 h. The build's labor costs 3.10 for 0.12 h (25.8333/h), overhead
    # 120 %; material at 16 units is the standard 6.79; tooling 0.70 and rework 0.50 stay;
    # yield 0.96.
    curve = fit_learning_curve([1, 2, 4, 8], [0.2, 0.18, 0.162, 0.1458])
    projected = project(
        build_cost(), roll_up_material(BOM, 16), curve, overhead_rate=1.2, volume=16
    )
    labor = 0.13122 * 3.10 / 0.12
    assert projected.labor_hours == pytest.approx(0.13122, rel=1e-9)
    assert projected.labor == pytest.approx(labor, rel=1e-9)
    assert projected.per_good_unit == pytest.approx(
        (6.79 + 0.70 + 0.50 + labor * 2.2) / 0.96, rel=1e-9
    )
    # An exact power law leaves no residual: the band closes on the projection.
    assert projected.band.low == pytest.approx(projected.per_good_unit, rel=1e-9)
    assert projected.band.high == pytest.approx(projected.per_good_unit, rel=1e-9)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: BomLine("PCB", 0, 1.0), "PCB: quantity_per_unit"),
        (lambda: BomLine("PCB", 1, 1.0, 1.0), "PCB: scrap_allowance"),
        (lambda: BomLine("PCB", 1, float("nan")), "PCB: standard_cost"),
        (lambda: PriceBreak(0, 1.0), "min_quantity"),
        (lambda: Tooling("Mould", 1.0, 0), "Mould: amortisation_volume"),
        (lambda: roll_up_material([BomLine("A", 1, 1), BomLine("A", 2, 1)], 1), "lines"),
        (
            lambda: material_variance(roll_up_material(BOM, 1), {"Gasket": 3}, 1),
            "issued",
        ),
        (
            lambda: roll_up(
                roll_up_material(BOM, 1), [], overhead_rate=0, units_built=5, units_scrapped=5
            ),
            "units_scrapped",
        ),
        (
            lambda: roll_up(roll_up_material(BOM, 1), [], overhead_rate=-1, units_built=1),
            "overhead_rate",
        ),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InvalidInput) as error:
        call()
    assert error.value.fields[0].loc == field


quantities = st.floats(0.01, 100, allow_nan=False)
costs = st.floats(0, 1_000, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(quantities, costs, st.floats(0, 0.5)), min_size=1, max_size=6),
    st.floats(0.1, 10),
)
def test_roll_up_is_linear_in_quantities(lines, factor):
    bom = [BomLine(f"P{i}", q, c, s) for i, (q, c, s) in enumerate(lines)]
    scaled = [BomLine(f"P{i}", q * factor, c, s) for i, (q, c, s) in enumerate(lines)]
    base = roll_up_material(bom, 1).per_unit
    assert roll_up_material(scaled, 1).per_unit == pytest.approx(base * factor, rel=1e-9, abs=1e-9)
    halves = roll_up_material(bom[: len(bom) // 2], 1).per_unit
    rest = roll_up_material(bom[len(bom) // 2 :], 1).per_unit
    assert halves + rest == pytest.approx(base, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(costs, st.floats(0, 10), st.floats(0, 3), st.integers(1, 1000), st.data())
def test_waterfall_components_add_up_to_the_cost_per_good_unit(material, hours, rate, built, data):
    scrapped = data.draw(st.integers(0, built - 1))
    cost = roll_up(
        roll_up_material([BomLine("P", 1, material)], built),
        [StationLabor("S", hours, 20.0)],
        overhead_rate=rate,
        units_built=built,
        units_scrapped=scrapped,
        rework_cost=data.draw(costs),
    )
    steps = waterfall(cost, None)
    relative = sum(s.value for s in steps if s.measure == "relative")
    assert relative == pytest.approx(cost.per_good_unit, rel=1e-9, abs=1e-9)
    assert cost.per_good_unit >= cost.per_unit - 1e-12
