"""The build page's read models, on SQLite and PostgreSQL, against values made by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Allocation, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services.paging import KeysetPage, Window
from phasegate.services.read.build import UnitRow, build_overview, build_units
from phasegate.store.models import Build, BuildStationStat, StationPass, Unit
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

    page = build_units(uow, build.id, limit=10, window=Window(offset=10), actor=ACTOR)
    assert page.total == 30 and [u.serial for u in page.items][:2] == ["U-011", "U-012"]
    assert (page.previous_key, page.next_key) == ("U-011", "U-020")
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
    searched = build_units(uow, build.id, q="u-02", actor=ACTOR)
    assert [u.serial for u in searched.items] == [f"U-{i:03d}" for i in range(20, 30)]
    assert searched.total is None  # a search is not counted
    first = build_units(uow, build.id, q="U-001", actor=ACTOR).items[0]
    assert (first.passes, first.failed_passes, first.last_station) == (2, 1, "S2")
    assert first.last_activity == T0 + dt.timedelta(minutes=5)
    with pytest.raises(InvalidInput, match="status: 'lost' is not one of"):
        build_units(uow, build.id, status="lost", actor=ACTOR)
    with pytest.raises(NotFound):
        build_units(uow, 9999, actor=ACTOR)


def _serials(page: KeysetPage[UnitRow]) -> list[str]:
    return [u.serial for u in page.items]


def test_build_units_pages_by_key_both_ways(uow: UnitOfWork) -> None:
    """Seven units of a build, pages of three: first, next, next (the last, partial), then back
    from there, the last page read backwards, and filters and a search paged the same way."""
    build = make_build(uow)
    other = make_build(uow, product_id=build.product_id)
    for i in range(1, 8):
        make_unit(uow, build, serial=f"K-{i:02d}", status="shipped" if i % 2 else "passed")
    make_unit(uow, other, serial="K-00")  # another build's unit never shows

    def units(window: Window | None = None, **filters: str) -> KeysetPage[UnitRow]:
        return build_units(uow, build.id, limit=3, window=window, actor=ACTOR, **filters)

    first = units()
    assert _serials(first) == ["K-01", "K-02", "K-03"]
    assert (first.total, first.previous_key, first.next_key) == (7, None, "K-03")
    second = units(Window(after=first.next_key))
    assert _serials(second) == ["K-04", "K-05", "K-06"]
    assert (second.previous_key, second.next_key) == ("K-04", "K-06")
    third = units(Window(after=second.next_key))
    assert _serials(third) == ["K-07"] and (third.previous_key, third.next_key) == ("K-07", None)
    back = units(Window(before=third.previous_key))
    assert _serials(back) == _serials(second)
    assert (back.previous_key, back.next_key) == ("K-04", "K-06")
    start = units(Window(before=back.previous_key))
    assert _serials(start) == _serials(first) and start.previous_key is None
    last = units(Window(last=True))
    assert _serials(last) == ["K-05", "K-06", "K-07"]
    assert (last.previous_key, last.next_key) == ("K-05", None)

    shipped = units(status="shipped")
    assert _serials(shipped) == ["K-01", "K-03", "K-05"] and shipped.total == 4
    shipped_next = units(Window(after=shipped.next_key), status="shipped")
    assert _serials(shipped_next) == ["K-07"] and shipped_next.next_key is None
    assert _serials(units(Window(last=True), status="passed")) == ["K-02", "K-04", "K-06"]
    assert units(status="passed", allocation="testing").total == 0

    searched = units(q="k-0")
    assert _serials(searched) == ["K-01", "K-02", "K-03"] and searched.total is None
    assert searched.next_key == "K-03"
    assert _serials(units(Window(last=True), q="K-0")) == ["K-05", "K-06", "K-07"]


def _raw_units(engine: Engine, build: Build, *serials: str) -> None:
    """Units stored by SQL, with serials the record service would refuse (other letters than
    ASCII), as data written before that rule or by hand may hold."""
    rows = [{"product_id": build.product_id, "build_id": build.id, "serial": s} for s in serials]
    with engine.begin() as conn:
        conn.execute(insert(Unit), rows)


def test_build_units_keys_are_text_not_code(uow: UnitOfWork, engine: Engine) -> None:
    """A key is compared as text: quotes, SQL, wildcards, NUL-free Unicode and keys outside
    the list give pages, never errors or other builds' units; a key too long, or two windows at
    once, is refused naming the parameter."""
    build = make_build(uow)
    _raw_units(engine, build, "A-1", "a%2", "B_3", "Ü-4")
    for key in ("' OR 1=1 --", "%", "_", "zzzz", "\\", "Ω", " ", "A-1'; DROP TABLE units; --"):
        after = build_units(uow, build.id, window=Window(after=key), actor=ACTOR)
        before = build_units(uow, build.id, window=Window(before=key), actor=ACTOR)
        assert sorted(_serials(after) + _serials(before)) == sorted(
            s for s in ("A-1", "a%2", "B_3", "Ü-4") if s != key
        )
    with pytest.raises(InvalidInput, match="after: must be 1 to 200 characters long"):
        Window(after="x" * 201)
    with pytest.raises(InvalidInput, match="before: must be 1 to 200 characters long"):
        Window(before="")
    with pytest.raises(InvalidInput, match="before: cannot be given with after"):
        Window(after="A", before="B")
    with pytest.raises(InvalidInput, match="last: cannot be given with after"):
        Window(after="A", last=True)


def test_build_units_search_is_literal_and_ignores_case(uow: UnitOfWork) -> None:
    """``%`` and ``_`` stand for themselves and letters match whatever their case; serials are
    printable ASCII, so a needle beyond ASCII finds none."""
    build = make_build(uow)
    for serial in ("AX-100", "ax%200", "AX_300", "Zax-9", "B-1"):
        make_unit(uow, build, serial=serial)

    def found(q: str) -> list[str]:
        return _serials(build_units(uow, build.id, q=q, actor=ACTOR))

    assert found("x%") == ["ax%200"]
    assert found("x_") == ["AX_300"]
    assert found("aX") == ["AX-100", "AX_300", "Zax-9", "ax%200"]
    assert found(" b-1 ") == ["B-1"]
    assert found("ü") == []
    assert found("/") == []
