"""The characteristic page and the build's characteristics table, on SQLite and PostgreSQL.

The data are written by hand (values chosen so each expectation is known): the expected numbers
come from NumPy on the same values and from :mod:`phasegate.stats` called directly with the
subgroups written out, never from the service under test.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pytest

from phasegate import stats
from phasegate.domain.enums import Outcome, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.domain.policy import Role
from phasegate.services import control_plan, crud
from phasegate.services.read.characteristic import (
    CONTRACT_FIELDS,
    Status,
    build_characteristics,
    characteristic_detail,
)
from phasegate.services.volume import (
    BuildVolume,
    MeasurementRecord,
    RunRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.models import Build, Line
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
    person,
)

T0 = dt.datetime(2026, 5, 4, 6, 0, tzinfo=dt.UTC)
SYSTEM = person("reader")
LSL, USL, TARGET = 9.0, 11.0, 10.0
# Control-chart constant d2 for subgroups of 5 and of 2 (moving ranges).
# Source: Montgomery, Introduction to Statistical Quality Control, 6th ed., Appendix VI.
D2_5, D2_2 = 2.326, 1.128


def _pilot_values() -> np.ndarray:
    """50 values near 10 with a known spread: 10 subgroups of 5."""
    rng = np.random.default_rng(7)
    return np.round(rng.normal(10.0, 0.1, 50), 4)


def _production_values() -> np.ndarray:
    """40 values like the pilot's, except subgroup 6 (values 26-30), shifted up by 0.5: far
    beyond the pilot's 3-sigma limit for a subgroup mean (3 * 0.1 / sqrt(5) = 0.13)."""
    rng = np.random.default_rng(8)
    values = np.round(rng.normal(10.0, 0.1, 40), 4)
    values[25:30] += 0.5
    return values


@dataclass(frozen=True)
class Data:
    product: str
    pilot: str
    production: str
    production_id: int
    char_id: int
    pilot_values: np.ndarray
    production_values: np.ndarray
    production_serials: tuple[str, ...]  # in test-run time order


def record_values(
    uow: UnitOfWork, build: Build, name: str, values: np.ndarray, start: dt.datetime
) -> list[str]:
    """One unit and one test run per value. The serials run backwards in time, so that the
    service's order (test-run start time) differs from the serial order; returns the serials
    in time order."""
    n = values.shape[0]
    serials = [f"{build.code}-{n - i:03d}" for i in range(n)]
    runs = []
    for i, (serial, value) in enumerate(zip(serials, values.tolist(), strict=True)):
        at = start + dt.timedelta(minutes=3 * i)
        runs.append(
            RunRecord(
                unit=serial,
                station="S1" if build.line_id is not None else None,
                procedure="final",
                outcome=Outcome.PASS,
                started_at=at,
                ended_at=at + dt.timedelta(seconds=20),
                source_id=f"{serial}/final",
                measurements=(MeasurementRecord(name, value, Outcome.PASS, at),),
            )
        )
    volume = BuildVolume(
        units=[UnitRecord(s, UnitStatus.PASSED, created_at=start) for s in sorted(serials)],
        test_runs=runs,
    )
    record_build_volume(uow, build.id, volume, actor=SYSTEM)
    return serials


def seed(uow: UnitOfWork) -> Data:
    """Product CH1 with characteristic Bore (CTQ, 9 to 11 mm): a pilot build of 50 values and a
    production build of 40 whose subgroup 6 is shifted."""
    product = make_product(uow, key="CH1")
    line = make_line(uow, stations=1)
    char = make_characteristic(
        uow, product, name="Bore", unit="mm", lsl=LSL, usl=USL, target=TARGET, ctq=True
    )
    pilot_values, production_values = _pilot_values(), _production_values()
    common = {"product_id": product.id, "line_id": line.id, "fidelity": None, "technique": None}
    pilot = make_build(uow, code="CH1-PLT", phase="pilot", **common)
    production = make_build(uow, code="CH1-PR1", phase="production", **common)
    record_values(uow, pilot, "Bore", pilot_values, T0)
    serials = record_values(uow, production, "Bore", production_values, T0 + dt.timedelta(days=3))
    return Data(
        "CH1", "CH1-PLT", "CH1-PR1", production.id, char.id,
        pilot_values, production_values, tuple(serials),
    )  # fmt: skip


@pytest.fixture
def data(uow: UnitOfWork) -> Data:
    return seed(uow)


def test_a_row_has_the_contract_fields_and_numpy_s_mean_and_sd(uow: UnitOfWork, data: Data) -> None:
    table = build_characteristics(uow, data.pilot, actor=SYSTEM)
    (row,) = table.rows
    doc = row.as_dict()
    assert tuple(doc) == CONTRACT_FIELDS
    v = data.pilot_values
    assert (doc["name"], doc["ctq"], doc["n"]) == ("Bore", True, 50)
    assert doc["mean"] == pytest.approx(float(v.mean()), rel=1e-12)
    assert doc["sd"] == pytest.approx(float(v.std(ddof=1)), rel=1e-9)


def test_cpk_and_its_interval_are_those_of_the_stats_engine_on_subgroups_of_five(
    uow: UnitOfWork, data: Data
) -> None:
    (row,) = build_characteristics(uow, data.pilot, actor=SYSTEM).rows
    expected = stats.capability(
        data.pilot_values.reshape(10, 5), lsl=LSL, usl=USL, target=TARGET, confidence=0.95
    )
    assert row.cpk == pytest.approx(expected.cpk, rel=1e-12)
    assert row.cpk_ci == pytest.approx((expected.ci["cpk"].low, expected.ci["cpk"].high))
    assert row.cpk_lower == pytest.approx(expected.lower_bounds["cpk"], rel=1e-12)
    # By hand: sigma within = R-bar / d2(5), Cpk = min(USL - mean, mean - LSL) / (3 sigma).
    groups = data.pilot_values.reshape(10, 5)
    sigma = float(np.mean(groups.max(axis=1) - groups.min(axis=1))) / D2_5
    mean = float(data.pilot_values.mean())
    assert row.cpk == pytest.approx(min(USL - mean, mean - LSL) / (3 * sigma), rel=1e-3)
    # Sigma about 0.1 and the mean near 10: Cpk near 3.3, far above 1.33, and no signal.
    assert row.cpk_lower is not None and row.cpk_lower > 1.33
    assert (row.signals, row.status) == (0, Status.OK)


def test_a_production_build_is_judged_against_the_pilot_limits(uow: UnitOfWork, data: Data) -> None:
    detail = characteristic_detail(uow, data.production, "bore", actor=SYSTEM)
    assert detail.phase1 is not None and detail.phase1.builds == (data.pilot,)
    pilot = data.pilot_values.reshape(10, 5)
    center = float(pilot.mean())
    sigma = float(np.mean(pilot.max(axis=1) - pilot.min(axis=1))) / D2_5
    assert detail.phase1.center == pytest.approx(center, rel=1e-12)
    assert detail.phase1.sigma == pytest.approx(sigma, rel=1e-3)  # d2 to 4 digits in the table
    assert detail.chart is not None
    xbar = detail.chart.result.primary
    assert xbar.center == pytest.approx(center, rel=1e-12)
    assert xbar.upper_limit == pytest.approx(center + 3 * sigma / math.sqrt(5), rel=1e-4)
    # Subgroup 6 (0.5 up) breaks rule 1; its units are the 26th to 30th in time order.
    beyond = [s for s in detail.signals if s.chart == "xbar" and 1 in s.rules]
    assert [s.subgroup for s in beyond] == [6]
    assert beyond[0].serials == data.production_serials[25:30]
    assert beyond[0].value == pytest.approx(float(data.production_values[25:30].mean()))
    assert len(beyond[0].test_runs) == 5
    independent = stats.xbar_r(data.production_values.reshape(8, 5), center=center, sigma=sigma)
    assert detail.row.signals >= 1
    assert np.flatnonzero(independent.primary.signals()).tolist() == [
        s.subgroup - 1 for s in detail.signals if s.chart == "xbar"
    ]
    assert detail.row.status is Status.WATCH
    assert detail.subgroup(6).serials == data.production_serials[25:30]
    assert detail.subgroup(6).values == pytest.approx(data.production_values[25:30].tolist())


def test_the_pilot_build_sets_its_own_limits(uow: UnitOfWork, data: Data) -> None:
    detail = characteristic_detail(uow, data.pilot, "Bore", actor=SYSTEM)
    assert detail.phase1 is None and detail.phase1_note == ""
    expected = stats.xbar_r(data.pilot_values.reshape(10, 5))
    assert detail.chart is not None
    assert detail.chart.result.primary.center == pytest.approx(expected.primary.center)
    assert detail.chart.result.primary.upper_limit == pytest.approx(expected.primary.upper_limit)
    assert detail.chart_kind == "xbar-r" and detail.subgroup_count == 10
    assert sum(detail.histogram_counts) == 50
    assert detail.capability is not None and detail.capability.result.normality is not None


def test_subgroups_of_one_give_the_individuals_chart(uow: UnitOfWork, data: Data) -> None:
    detail = characteristic_detail(uow, data.pilot, "Bore", actor=SYSTEM, subgroup_size=1)
    assert detail.chart_kind == "imr" and detail.chart is not None
    expected = stats.imr(data.pilot_values)
    mr = np.abs(np.diff(data.pilot_values))
    assert detail.chart.result.primary.sigma == pytest.approx(float(mr.mean()) / D2_2, rel=1e-3)
    assert detail.chart.result.primary.upper_limit == pytest.approx(expected.primary.upper_limit)
    cap = stats.capability(data.pilot_values, lsl=LSL, usl=USL, target=TARGET)
    assert detail.row.cpk == pytest.approx(cap.cpk, rel=1e-12)


def test_a_single_value_left_over_joins_the_last_subgroup(uow: UnitOfWork) -> None:
    product = make_product(uow, key="CH2")
    make_characteristic(uow, product, name="Bore", lsl=LSL, usl=USL, target=TARGET)
    build = make_build(uow, product_id=product.id, code="CH2-A")
    values = _pilot_values()[:26]
    record_values(uow, build, "Bore", values, T0)
    detail = characteristic_detail(uow, "CH2-A", "Bore", actor=SYSTEM)
    assert detail.subgroup_count == 5 and len(detail.subgroup(5).values) == 6
    expected = stats.capability(values, sizes=[5, 5, 5, 5, 6], lsl=LSL, usl=USL, target=TARGET)
    assert detail.row.cpk == pytest.approx(expected.cpk, rel=1e-12)
    with pytest.raises(NotFound, match="subgroup 6 does not exist"):
        detail.subgroup(6)


def test_too_few_values_say_insufficient_data_instead_of_a_number(uow: UnitOfWork) -> None:
    product = make_product(uow, key="CH3")
    make_characteristic(uow, product, name="Bore", lsl=LSL, usl=USL)
    build = make_build(uow, product_id=product.id, code="CH3-A")
    record_values(uow, build, "Bore", _pilot_values()[:12], T0)
    (row,) = build_characteristics(uow, "CH3-A", actor=SYSTEM).rows
    assert row.status is Status.INSUFFICIENT_DATA
    assert (row.cpk, row.cpk_ci, row.cpk_lower) == (None, None, None)
    assert row.note.startswith("insufficient data (n = 12)")
    detail = characteristic_detail(uow, "CH3-A", "Bore", actor=SYSTEM)
    assert detail.capability is None and "insufficient data (n = 12)" in detail.capability_note
    # 12 values make 2 subgroups of 5 (the last of 7): too few for a chart.
    assert detail.chart is None and "insufficient data (n = 12)" in detail.chart_note
    assert sum(detail.histogram_counts) == 12


def test_a_production_build_without_pilot_data_sets_its_own_limits(uow: UnitOfWork) -> None:
    product = make_product(uow, key="CH4")
    make_characteristic(uow, product, name="Bore", lsl=LSL, usl=USL)
    line = make_line(uow, stations=1)
    build = make_build(
        uow, product_id=product.id, code="CH4-PR", phase="production", line_id=line.id,
        fidelity=None, technique=None,
    )  # fmt: skip
    record_values(uow, build, "Bore", _pilot_values(), T0)
    detail = characteristic_detail(uow, "CH4-PR", "Bore", actor=SYSTEM)
    assert detail.phase1 is None and "no pilot build" in detail.phase1_note
    assert detail.chart is not None
    assert detail.chart.result.primary.center == pytest.approx(float(_pilot_values().mean()))


def test_a_characteristic_without_limits_has_no_cpk_and_is_judged_by_its_chart(
    uow: UnitOfWork,
) -> None:
    product = make_product(uow, key="CH5")
    make_characteristic(uow, product, name="Mass", lsl=None, usl=None)
    build = make_build(uow, product_id=product.id, code="CH5-A")
    record_values(uow, build, "Mass", _pilot_values(), T0)
    (row,) = build_characteristics(uow, "CH5-A", actor=SYSTEM).rows
    assert row.cpk is None and "no specification limit" in row.note
    assert row.status is Status.OK


def test_builds_and_characteristics_are_found_by_id_or_name_and_errors_name_them(
    uow: UnitOfWork, data: Data
) -> None:
    by_id = characteristic_detail(uow, data.production_id, data.char_id, actor=SYSTEM)
    by_name = characteristic_detail(uow, "ch1-pr1", "BORE", actor=SYSTEM, product="ch1")
    assert by_id.row == by_name.row
    with pytest.raises(NotFound, match="build 'nope'"):
        build_characteristics(uow, "nope", actor=SYSTEM)
    with pytest.raises(NotFound, match="characteristic 'Length'"):
        characteristic_detail(uow, data.production, "Length", actor=SYSTEM)
    with pytest.raises(InvalidInput, match="subgroup_size"):
        build_characteristics(uow, data.production, actor=SYSTEM, subgroup_size=0)
    other = make_product(uow, key="CH9")
    make_build(uow, product_id=other.id, code=data.production)
    with pytest.raises(InvalidInput, match="name the product"):
        build_characteristics(uow, data.production, actor=SYSTEM)
    assert build_characteristics(uow, data.production, actor=SYSTEM, product="CH1").rows


def test_a_partner_user_sees_only_its_builds_and_their_pilot_limits(
    uow: UnitOfWork, data: Data
) -> None:
    partner = make_partner(uow)
    with uow.write():
        build = uow.get(Build, data.production_id)
        build.partner_id = partner.id
        uow.commit()
    theirs = person("cm", Role.PARTNER, partner_id=partner.id)
    detail = characteristic_detail(uow, data.production, "Bore", actor=theirs)
    # The pilot build is not the partner's: its values do not set the limits the partner sees.
    assert detail.phase1 is None and "no pilot build" in detail.phase1_note
    stranger = person("other", Role.PARTNER, partner_id=make_partner(uow).id)
    with pytest.raises(NotFound):
        build_characteristics(uow, data.production, actor=stranger)


def _plan_item(uow: UnitOfWork, data: Data, sample_size: int, chart: str | None) -> None:
    """A control plan of CH1 checking Bore at the line's station."""
    with uow:
        build = uow.get(Build, data.production_id)
        assert build.line_id is not None
        station = uow.get(Line, build.line_id).stations[0]
    plan = crud.create(
        uow, control_plan.CONTROL_PLANS,
        {"product_id": build.product_id, "name": "Bore plan", "line_id": build.line_id},
        actor=SYSTEM,
    )  # fmt: skip
    crud.create(
        uow,
        control_plan.CONTROL_PLAN_ITEMS,
        {
            "plan_id": plan.id,
            "station_id": station.id,
            "characteristic_id": data.char_id,
            "method": "Bore gauge",
            "sample_size": sample_size,
            "frequency": "every hour",
            "chart_type": chart,
            "reaction_plan": "Stop and call quality.",
        },
        actor=SYSTEM,
    )


def test_the_subgroup_size_is_the_control_plan_s_sample_size(uow: UnitOfWork, data: Data) -> None:
    _plan_item(uow, data, 4, "xbar-r")
    detail = characteristic_detail(uow, data.pilot, "Bore", actor=SYSTEM)
    assert detail.subgroup_size == 4 and "control plan 'Bore plan'" in detail.row.sampling.source
    # 50 values: 12 subgroups of 4 and the 2 left over.
    assert detail.subgroup_count == 13
    sizes = [4] * 12 + [2]
    expected = stats.capability(data.pilot_values, sizes=sizes, lsl=LSL, usl=USL, target=TARGET)
    assert detail.row.cpk == pytest.approx(expected.cpk, rel=1e-12)
    (row,) = build_characteristics(uow, data.pilot, actor=SYSTEM).rows
    assert row.sampling.subgroup_size == 4 and row.cpk == detail.row.cpk
    asked = characteristic_detail(uow, data.pilot, "Bore", actor=SYSTEM, subgroup_size=5)
    assert asked.subgroup_size == 5 and asked.row.sampling.source == "subgroups of 5 as asked"


def test_an_individuals_chart_in_the_control_plan_gives_i_mr(uow: UnitOfWork, data: Data) -> None:
    _plan_item(uow, data, 3, "imr")
    detail = characteristic_detail(uow, data.production, "Bore", actor=SYSTEM)
    assert detail.chart_kind == "imr" and detail.chart is not None
    # The pilot's limits are those of its individuals chart: sigma = MR-bar / d2(2).
    assert detail.phase1 is not None
    mr = np.abs(np.diff(data.pilot_values))
    assert detail.phase1.sigma == pytest.approx(float(mr.mean()) / D2_2, rel=1e-3)
