"""Line performance of a build, on SQLite and PostgreSQL, from station passes made by hand."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import Engine

from phasegate.demo.line_calendar import load_line_calendars
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.domain.policy import Role
from phasegate.line import WorkingCalendar, takt_time
from phasegate.services import builds, crud
from phasegate.services.read.line_performance import build_line_performance, find_build_id
from phasegate.store import bulk
from phasegate.store.models import Build, Line
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_line,
    make_partner,
    make_product,
    make_unit,
    person,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
Z_975 = 1.959963984540054  # standard normal quantile at 0.975


def _wilson(k: int, n: int, z: float = Z_975) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: Newcombe (1998), method 3."""
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


def _pilot(
    uow: UnitOfWork, key: str, volume: int | None = 450_000, **line: Any
) -> tuple[Build, Line, list[int]]:
    product = make_product(uow, key=key, target_annual_volume=volume)
    made = make_line(uow, stations=2, **line)
    with uow:
        stations = [st.id for st in uow.get(Line, made.id).stations]
    crud.update(uow, builds.STATIONS, stations[1], {"servers": 2}, actor=ACTOR)
    build = make_build(
        uow, product_id=product.id, phase="pilot", fidelity=None, technique=None, line_id=made.id
    )
    return build, made, stations


def _passes(engine: Engine, rows: list[tuple[int, int, float, float | None, str, int]]) -> None:
    with engine.begin() as conn:
        bulk.insert_station_passes(
            conn,
            [
                {
                    "unit_id": unit,
                    "station_id": station,
                    "started_at": T0 + dt.timedelta(seconds=start),
                    "ended_at": None if end is None else T0 + dt.timedelta(seconds=end),
                    "result": result,
                    "attempt": attempt,
                }
                for unit, station, start, end, result, attempt in rows
            ],
        )


def test_line_performance_of_a_build_by_hand(uow: UnitOfWork, engine: Engine) -> None:
    """Three units through S1 then S2 (two servers); u2 fails S1 once and is reworked there, u3
    has not reached S2 yet.

    S1: 10, 12, 14, 12 s (mean 12, sd sqrt(8/3)); S2: 30, 34 s (mean 32, effective 16): S2 is
    the bottleneck; balance efficiency (12 + 32) / (3 x 16) (Groover, eq. 15.10). Takt:
    250 d x 1 x 8 h x 3600 s / 450 000 = 16 s. Unit index u1 = 1, u2 = 2, u3 = 3: the S1 trend
    is S_xy / S_xx = 2 / 2 = 1 s per unit. Units in the line [0, 40], [10, 72], [36, 72 (end)]:
    mean WIP 138 / 72, two finished with mean flow time 51 s.
    """
    build, _, (s1, s2) = _pilot(uow, "LPF")
    u1, u2, u3 = (make_unit(uow, build).id for _ in range(3))
    _passes(
        engine,
        [
            (u1, s1, 0, 10, "pass", 1),
            (u1, s2, 10, 40, "pass", 1),
            (u2, s1, 10, 22, "fail", 1),
            (u2, s1, 22, 36, "pass", 2),
            (u2, s2, 38, 72, "pass", 1),
            (u3, s1, 36, 48, "pass", 1),
        ],
    )

    r = build_line_performance(uow, build.id, actor=ACTOR)

    assert (r.build_code, r.product_key, r.passes, r.annual_demand) == (
        build.code,
        "LPF",
        6,
        450_000,
    )
    assert r.takt is not None and r.takt.takt_s == pytest.approx(16.0, rel=1e-12)
    first, second = r.stations
    assert (first.name, first.cycle.n, first.passes, first.first_attempts) == ("S1", 4, 4, 3)
    assert first.cycle.mean_s == pytest.approx(12.0, rel=1e-12)
    assert first.cycle.median_s == pytest.approx(12.0, rel=1e-12)
    assert first.cycle.cv == pytest.approx(math.sqrt(8 / 3) / 12, rel=1e-9)
    assert first.cycle.p90_s is None  # four values
    assert first.trend is not None and first.trend.slope_s_per_unit == pytest.approx(1.0)
    assert first.fpy is not None and first.fpy.yield_frac == pytest.approx(2 / 3)
    assert first.fpy.ci.as_list() == pytest.approx(list(_wilson(2, 3)), rel=1e-9)
    assert (first.routing.reworked_units, first.routing.extra_passes) == (1, 1)
    assert first.routing.rework_share() == pytest.approx(1 / 3)
    assert (second.servers, second.effective_cycle_s) == (2, pytest.approx(16.0))
    assert second.routing.mean_wait_s == pytest.approx(1.0)  # waits 0 and 2 s
    assert second.trend is None
    assert second.bottleneck and not first.bottleneck
    assert r.bottleneck is second and r.meets_takt is True
    assert r.balance is not None
    assert r.balance.efficiency == pytest.approx(44 / 48, rel=1e-12)
    assert r.throughput_per_hour == pytest.approx(225.0, rel=1e-12)
    assert r.flow is not None
    assert (r.flow.units, r.flow.finished, r.flow.window_s) == (3, 2, pytest.approx(72.0))
    assert r.flow.mean_wip == pytest.approx(138 / 72, rel=1e-9)
    assert r.flow.mean_flow_s == pytest.approx(51.0, rel=1e-9)
    assert r.flow.throughput_per_hour == pytest.approx(100.0, rel=1e-9)
    assert r.rty is not None and r.rty.yield_frac == pytest.approx(2 / 3)

    line = r.contract()
    assert line["takt_s"] == pytest.approx(16.0)
    assert line["bottleneck"] == "S2"
    assert line["balance_efficiency"] == pytest.approx(44 / 48)
    assert line["throughput_per_hour"] == pytest.approx(225.0)
    s1_row, s2_row = line["stations"]
    assert set(s1_row) == {"name", "n", "cycle_mean_s", "cycle_p90_s", "cycle_cv", "fpy"}
    assert (s1_row["name"], s1_row["n"], s1_row["cycle_mean_s"]) == ("S1", 4, 12.0)
    assert s1_row["cycle_p90_s"] == "insufficient data (n = 4)"
    assert s1_row["fpy"]["value"] == pytest.approx(2 / 3)
    assert s1_row["fpy"]["ci"] == pytest.approx(list(_wilson(2, 3)), rel=1e-9)
    assert s2_row["cycle_cv"] == pytest.approx(math.sqrt(8.0) / 32.0, rel=1e-9)


def test_a_scrapped_unit_has_left_the_line(uow: UnitOfWork, engine: Engine) -> None:
    """u1 goes through S1 [0, 10] and S2 [10, 40]; u2 fails S1 [5, 15] and is scrapped: it
    left at 15 s. Mean WIP (40 + 10) / 40, Little's law exact; one unit through in 40 s."""
    build, _, (s1, s2) = _pilot(uow, "LPX")
    u1, u2 = (make_unit(uow, build).id for _ in range(2))
    _passes(engine, [(u1, s1, 0, 10, "pass", 1), (u1, s2, 10, 40, "pass", 1)])
    _passes(engine, [(u2, s1, 5, 15, "fail", 1)])
    crud.update(uow, builds.UNITS, u2, {"status": "scrapped"}, actor=ACTOR)
    flow = build_line_performance(uow, build.id, actor=ACTOR).flow
    assert flow is not None
    assert (flow.units, flow.finished, flow.through) == (2, 2, 1)
    assert flow.mean_wip == pytest.approx(50.0 / 40.0, rel=1e-12)
    assert flow.littles_law_gap() == pytest.approx(0.0, abs=1e-12)
    assert flow.throughput_per_hour == pytest.approx(90.0, rel=1e-12)


def test_ten_cycle_times_give_a_p90(uow: UnitOfWork, engine: Engine) -> None:
    """S1 times 1..10 s: the 90th percentile (Hyndman and Fan definition 7) is 9.1 s."""
    build, _, (s1, _) = _pilot(uow, "LPN")
    units = [make_unit(uow, build).id for _ in range(10)]
    t = 0.0
    rows = []
    for i, unit in enumerate(units, start=1):
        rows.append((unit, s1, t, t + i, "pass", 1))
        t += i
    _passes(engine, rows)
    r = build_line_performance(uow, build.id, actor=ACTOR)
    assert r.stations[0].cycle.p90_s == pytest.approx(9.1, rel=1e-12)
    assert r.stations[0].effective_p90_s == pytest.approx(9.1, rel=1e-12)  # one server
    assert r.contract()["stations"][0]["cycle_p90_s"] == pytest.approx(9.1, rel=1e-12)


def test_a_build_without_passes_says_insufficient_data(uow: UnitOfWork) -> None:
    build, _, _ = _pilot(uow, "LPE", volume=None, shifts_per_day=2)
    r = build_line_performance(uow, build.id, actor=ACTOR)
    assert (r.passes, r.flow, r.balance, r.takt, r.meets_takt) == (0, None, None, None, None)
    assert r.calendar.shifts_per_day == 2
    line = r.contract()
    assert line["takt_s"] is None and line["bottleneck"] is None
    assert line["balance_efficiency"] == "insufficient data (n = 0)"
    assert [s["name"] for s in line["stations"]] == ["S1", "S2"]
    assert line["stations"][0]["cycle_mean_s"] == "insufficient data (n = 0)"
    assert line["stations"][0]["fpy"] == {"value": "insufficient data (n = 0)", "ci": None}


def test_takt_follows_the_lines_calendar(uow: UnitOfWork) -> None:
    """Two shifts of 7.5 h on 230 days: 230 x 2 x 7.5 x 3600 = 12 420 000 s / 450 000 = 27.6 s."""
    build, line, _ = _pilot(uow, "LPC")
    crud.update(
        uow,
        builds.LINES,
        line.id,
        {"shifts_per_day": 2, "hours_per_shift": 7.5, "days_per_year": 230},
        actor=ACTOR,
    )
    r = build_line_performance(uow, build.id, actor=ACTOR)
    assert r.takt is not None and r.takt.takt_s == pytest.approx(27.6, rel=1e-12)


def test_builds_are_found_by_code_and_scoped(uow: UnitOfWork) -> None:
    partner = make_partner(uow)
    build, _, _ = _pilot(uow, "LPS")
    other, _, _ = _pilot(uow, "LPT")
    crud.update(uow, builds.BUILDS, build.id, {"partner_id": partner.id}, actor=ACTOR)
    crud.update(uow, builds.BUILDS, other.id, {"code": build.code}, actor=ACTOR)

    with pytest.raises(InvalidInput, match="several products") as caught:
        find_build_id(uow, build.code, actor=ACTOR)
    assert [f.loc for f in caught.value.fields] == ["product"]
    assert find_build_id(uow, build.code.lower(), actor=ACTOR, product="lps") == build.id
    with pytest.raises(NotFound, match="does not exist"):
        find_build_id(uow, "NOPE", actor=ACTOR)
    # A partner user sees its own build only: the other one is not there for it.
    cm = person("cm", Role.PARTNER, partner_id=partner.id)
    assert find_build_id(uow, build.code, actor=cm) == build.id
    with pytest.raises(NotFound):
        build_line_performance(uow, other.id, actor=cm)
    with pytest.raises(NotFound, match="build 99999 does not exist"):
        build_line_performance(uow, 99999, actor=ACTOR)


def test_a_new_line_works_one_eight_hour_shift_on_250_days(uow: UnitOfWork) -> None:
    line = make_line(uow, stations=1)
    assert (line.shifts_per_day, line.hours_per_shift, line.days_per_year) == (1, 8.0, 250)


def test_the_working_calendar_is_edited_through_the_lines_resource(uow: UnitOfWork) -> None:
    line = make_line(uow, stations=1)
    changed = crud.update(
        uow,
        builds.LINES,
        line.id,
        {"shifts_per_day": 2, "hours_per_shift": 7.5, "days_per_year": 230},
        actor=ACTOR,
    )
    assert (changed.shifts_per_day, changed.hours_per_shift, changed.days_per_year) == (2, 7.5, 230)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shifts_per_day": 0}, "shifts_per_day"),
        ({"days_per_year": 400}, "days_per_year"),
        ({"hours_per_shift": -1.0}, "hours_per_shift"),
        ({"shifts_per_day": 3, "hours_per_shift": 9.0}, "hours_per_shift"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(
    uow: UnitOfWork, change: dict[str, float], field: str
) -> None:
    line = make_line(uow, stations=1)
    with pytest.raises(InvalidInput) as caught:
        crud.update(uow, builds.LINES, line.id, change, actor=ACTOR)
    assert [f.loc for f in caught.value.fields] == [field]


def test_the_demo_calendars_give_the_takt_of_its_story(uow: UnitOfWork) -> None:
    """demo/data/line_calendar.toml: Line 3 works 2 x 7.5 h on 250 days, 13 500 000 s, so
    AirSense One's 180 000 a year make a takt of 75 s; Line 5 one 8-hour shift."""
    three = make_line(uow, stations=1, name="Northbridge Line 3")
    five = make_line(uow, stations=1, name="Northbridge Line 5")
    assert load_line_calendars(uow) == 2
    with uow:
        got = {
            line.name: (line.shifts_per_day, line.hours_per_shift, line.days_per_year)
            for line in (uow.get(Line, three.id), uow.get(Line, five.id))
        }
    assert got == {"Northbridge Line 3": (2, 7.5, 250), "Northbridge Line 5": (1, 8.0, 250)}
    assert takt_time(WorkingCalendar(*got["Northbridge Line 3"]), 180_000).takt_s == 75.0
