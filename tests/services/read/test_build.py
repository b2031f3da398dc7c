"""The build page's read models, on SQLite and PostgreSQL, against values made by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Allocation, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services.read.build import build_overview, build_units
from phasegate.store.models import BuildStationStat, StationPass
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_build, make_line, make_product, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
Z_9875 = 2.241402727604947  # standard normal quantile at 0.9875


def _wilson_bounds(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: Newcombe (1998), method 3."""
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


def test_build_overview_station_and_unit_summaries(uow: UnitOfWork, engine: Engine) -> None:
    p = make_product(uow, key="BLD")
    line = make_line(uow, stations=3)
    build = make_build(
        uow,
        product_id=p.id,
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
        budget=1000.0,
        actual_cost=1250.0,
    )
    with uow:
        s1, s2, s3 = (st.id for st in uow.get(type(line), line.id).stations)
    with engine.begin() as conn:
        conn.execute(
            insert(BuildStationStat),
            [
                # Cycle times 10, 12, 14 s: mean 12, sd sqrt((440 - 36**2/3) / 2) = 2.
                {
                    "build_id": build.id,
                    "station_id": s1,
                    "passes": 22,
                    "first_attempts": 20,
                    "first_pass_ok": 18,
                    "failures": 2,
                    "cycle_time_count": 3,
                    "cycle_time_total_s": 36.0,
                    "cycle_time_total_sq": 440.0,
                    "cycle_time_min_s": 10.0,
                    "cycle_time_max_s": 14.0,
                },
                {
                    "build_id": build.id,
                    "station_id": s2,
                    "passes": 20,
                    "first_attempts": 20,
                    "first_pass_ok": 16,
                    "failures": 4,
                    "cycle_time_count": 1,
                    "cycle_time_total_s": 30.0,
                    "cycle_time_total_sq": 900.0,
                    "cycle_time_min_s": 30.0,
                    "cycle_time_max_s": 30.0,
                },
            ],
        )
    for status in ("passed", "passed", "failed", "rework"):
        make_unit(uow, build, status=status, allocation="testing")
    make_unit(uow, build, status="passed", allocation="marketing")

    o = build_overview(uow, build.id, actor=ACTOR)

    assert (o.build.code, o.build.product_key, o.build.line) == (build.code, "BLD", line.name)
    assert o.build.cost_variance == pytest.approx(250.0)
    assert o.build.unit_count == o.by_status.total == 5
    counts = {c.value: c.count for c in o.by_status}
    assert (counts[UnitStatus.PASSED], counts[UnitStatus.FAILED], counts[UnitStatus.REWORK]) == (
        3,
        1,
        1,
    )
    assert counts[UnitStatus.SCRAPPED] == 0
    allocation = {c.value: c.count for c in o.by_allocation}
    assert (allocation[Allocation.TESTING], allocation[Allocation.MARKETING]) == (4, 1)
    first, second, idle = o.stations
    assert first.fpy is not None and first.fpy.yield_frac == pytest.approx(0.9)  # 18 / 20
    # Wilson score interval of 18/20 at 95 %, from the closed form (z = 1.959964).
    assert (first.fpy.ci.low, first.fpy.ci.high) == pytest.approx((0.698966, 0.972134), rel=1e-5)
    assert first.mean_cycle_time_s == pytest.approx(12.0)
    assert first.cycle_time_sd_s == pytest.approx(2.0)
    assert second.fpy is not None and second.fpy.yield_frac == pytest.approx(0.8)  # 16 / 20
    assert second.cycle_time_sd_s is None  # one observation
    # The third station of the line has no passes yet: listed, with no yield.
    assert (idle.station_id, idle.passes, idle.fpy) == (s3, 0, None)
    assert o.has_station_passes
    rty = o.build.rty
    assert rty is not None and rty.yield_frac == pytest.approx(0.9 * 0.8)
    # Two stations: each Wilson interval at 97.5 % (z = 2.241403, the normal 0.9875 quantile),
    # and the RTY interval spans the products of their bounds.
    low1, high1 = _wilson_bounds(18, 20, Z_9875)
    low2, high2 = _wilson_bounds(16, 20, Z_9875)
    assert (rty.ci.low, rty.ci.high) == pytest.approx((low1 * low2, high1 * high2), rel=1e-9)

    with pytest.raises(NotFound, match="build 9999 does not exist"):
        build_overview(uow, 9999, actor=ACTOR)


def test_build_units_filters_and_pages(uow: UnitOfWork, engine: Engine) -> None:
    p = make_product(uow, key="UNT")
    line = make_line(uow, stations=2)
    build = make_build(
        uow, product_id=p.id, phase="pilot", fidelity=None, technique=None, line_id=line.id
    )
    units = [
        make_unit(
            uow,
            build,
            serial=f"U-{i:03d}",
            status="failed" if i % 5 == 0 else "passed",
            allocation="testing" if i % 2 else "unallocated",
        )
        for i in range(1, 31)
    ]
    with uow:
        s1, s2 = (st.id for st in uow.get(type(line), line.id).stations)
    with engine.begin() as conn:
        conn.execute(
            insert(StationPass),
            [
                {
                    "source_id": "pass-1",
                    "unit_id": units[0].id,
                    "station_id": s1,
                    "started_at": T0,
                    "ended_at": T0 + dt.timedelta(seconds=30),
                    "result": "fail",
                    "attempt": 1,
                },
                {
                    "source_id": "pass-2",
                    "unit_id": units[0].id,
                    "station_id": s2,
                    "started_at": T0 + dt.timedelta(minutes=5),
                    "ended_at": T0 + dt.timedelta(minutes=6),
                    "result": "pass",
                    "attempt": 1,
                },
            ],
        )

    page = build_units(uow, build.id, limit=10, offset=10, actor=ACTOR)
    assert page.total == 30 and [u.serial for u in page.items][:2] == ["U-011", "U-012"]
    assert (page.number, page.page_count, page.first_index, page.last_index) == (2, 3, 11, 20)
    failed = build_units(uow, build.id, status="failed", actor=ACTOR)
    assert [u.serial for u in failed.items] == [
        "U-005",
        "U-010",
        "U-015",
        "U-020",
        "U-025",
        "U-030",
    ]
    both = build_units(uow, build.id, status="failed", allocation="testing", actor=ACTOR)
    assert [u.serial for u in both.items] == ["U-005", "U-015", "U-025"]
    assert build_units(uow, build.id, q="u-02", actor=ACTOR).total == 10  # U-020 .. U-029
    first = build_units(uow, build.id, q="U-001", actor=ACTOR).items[0]
    assert (first.passes, first.failed_passes, first.last_station) == (2, 1, "S2")
    assert first.last_activity == T0 + dt.timedelta(minutes=5)
    with pytest.raises(InvalidInput, match="status: 'lost' is not one of"):
        build_units(uow, build.id, status="lost", actor=ACTOR)
    with pytest.raises(NotFound):
        build_units(uow, 9999, actor=ACTOR)
