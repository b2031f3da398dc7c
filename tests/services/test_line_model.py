"""A build's line as a line model (``services.line_model``), on SQLite and PostgreSQL, from
station passes made by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import Engine

from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.domain.policy import Role
from phasegate.line.model import parse_line_toml
from phasegate.line.simulation import simulate
from phasegate.services import builds, crud
from phasegate.services.line_model import DEFAULT_BUFFER, line_from_build, to_toml
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
Pass = tuple[int, int, float, float | None, str, int]


def _pilot(uow: UnitOfWork, key: str, stations: int = 2) -> tuple[Build, list[int]]:
    """A pilot build of product ``key`` (450 000 a year) on a line of ``stations`` stations
    (planned cycle time 30 s each), the second with two servers."""
    product = make_product(uow, key=key, target_annual_volume=450_000)
    made = make_line(uow, stations=stations)
    with uow:
        ids = [st.id for st in uow.get(Line, made.id).stations]
    crud.update(uow, builds.STATIONS, ids[1], {"servers": 2}, actor=ACTOR)
    build = make_build(
        uow,
        product_id=product.id,
        code=f"{key}-PLT",
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=made.id,
    )
    return build, ids


def _passes(engine: Engine, rows: list[Pass]) -> None:
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


def _three_units(uow: UnitOfWork, engine: Engine, build: Build, s1: int, s2: int) -> list[int]:
    """u1 10 s at S1 and 30 s at S2; u2 fails S1 (12 s), passes it again (14 s), 34 s at S2;
    u3 12.5 s at S1 and still at S2."""
    u1, u2, u3 = (make_unit(uow, build).id for _ in range(3))
    _passes(
        engine,
        [
            (u1, s1, 0, 10, "pass", 1),
            (u1, s2, 10, 40, "pass", 1),
            (u2, s1, 10, 22, "fail", 1),
            (u2, s1, 22, 36, "pass", 2),
            (u2, s2, 38, 72, "pass", 1),
            (u3, s1, 36, 48.5, "pass", 1),
            (u3, s2, 72, None, "unset", 1),
        ],
    )
    return [u1, u2, u3]


def test_empirical_times_are_each_units_passes(uow: UnitOfWork, engine: Engine) -> None:
    """S1: u1 10 s, u2 12 + 14 = 26 s (its rework pass counts), u3 12.5 s, in the order the
    units came; S2: 30 and 34 s (u3's pass is still running). Servers from the stations, the
    default buffer, no yield (nothing scrapped)."""
    build, (s1, s2) = _pilot(uow, "LMA")
    _three_units(uow, engine, build, s1, s2)

    pilot = line_from_build(uow, "lma-plt", actor=ACTOR)

    first, second = pilot.line.stations
    assert (first.name, first.servers, first.buffer, first.yield_frac) == (
        "S1",
        1,
        DEFAULT_BUFFER,
        1.0,
    )
    assert first.time.dist == "empirical"
    assert first.time.params == pytest.approx((10.0, 26.0, 12.5), abs=1e-9)
    assert second.servers == 2
    assert second.time.params == pytest.approx((30.0, 34.0), abs=1e-9)
    assert (pilot.sources[0].units, pilot.sources[0].passes) == (3, 4)
    assert pilot.takt is not None and pilot.takt.takt_s == pytest.approx(16.0)
    assert pilot.build_code == "LMA-PLT"


def test_written_file_reads_back_to_the_same_line(uow: UnitOfWork, engine: Engine) -> None:
    build, (s1, s2) = _pilot(uow, "LMB")
    _three_units(uow, engine, build, s1, s2)
    pilot = line_from_build(uow, build.id, actor=ACTOR, buffer=5)

    text = to_toml(pilot)

    assert parse_line_toml(text) == pilot.line
    assert "# Line model of build LMB-PLT" in text
    assert "buffer: not recorded; 5 places" in text
    assert "# S1: 3 units, 4 passes; time: the times themselves (empirical)" in text
    assert [s.buffer for s in parse_line_toml(text).stations] == [5, 5]
    result = simulate(parse_line_toml(text), 200, replications=2, seed=1)
    assert result.throughput_per_hour > 0


def test_lognormal_fit_by_moments(uow: UnitOfWork, engine: Engine) -> None:
    """S1 times 10, 26, 12.5: mean 48.5 / 3, sd from the squared deviations over n - 1;
    S2 30, 34: mean 32, sd sqrt(8)."""
    build, (s1, s2) = _pilot(uow, "LMC")
    _three_units(uow, engine, build, s1, s2)

    pilot = line_from_build(uow, "LMC-PLT", actor=ACTOR, fit="lognormal")

    mean = 48.5 / 3
    sd = math.sqrt(((10 - mean) ** 2 + (26 - mean) ** 2 + (12.5 - mean) ** 2) / 2)
    first, second = (s.time for s in pilot.line.stations)
    assert first.dist == "lognormal"
    assert first.params == pytest.approx((mean, sd / mean), rel=1e-9)
    assert second.params == pytest.approx((32.0, math.sqrt(8) / 32), rel=1e-9)
    text = to_toml(pilot)
    assert "lognormal fitted by moments" in text
    assert parse_line_toml(text) == pilot.line


def test_scrap_at_a_station_is_its_yield(uow: UnitOfWork, engine: Engine) -> None:
    """Four units pass S1; one of them is scrapped after it (its last pass): S1's yield 3/4,
    S2's 1."""
    build, (s1, s2) = _pilot(uow, "LMD")
    units = [make_unit(uow, build).id for _ in range(4)]
    rows: list[Pass] = [(u, s1, 10 * i, 10 * i + 8, "pass", 1) for i, u in enumerate(units)]
    rows += [(u, s2, 10 * i + 9, 10 * i + 29, "pass", 1) for i, u in enumerate(units[:3])]
    rows[3] = (units[3], s1, 30, 38, "fail", 1)
    _passes(engine, rows)
    crud.update(uow, builds.UNITS, units[3], {"status": "scrapped"}, actor=ACTOR)

    pilot = line_from_build(uow, build.id, actor=ACTOR)

    assert [s.yield_frac for s in pilot.line.stations] == [pytest.approx(0.75), 1.0]
    assert pilot.sources[0].scrapped == 1
    text = to_toml(pilot)
    assert "yield = 0.75" in text
    assert "1 scrapped here" in text
    assert parse_line_toml(text) == pilot.line


def test_station_without_passes_takes_its_planned_time(uow: UnitOfWork, engine: Engine) -> None:
    build, (s1, s2, _) = _pilot(uow, "LME", stations=3)
    _three_units(uow, engine, build, s1, s2)

    pilot = line_from_build(uow, build.id, actor=ACTOR)

    third = pilot.line.stations[2]
    assert (third.name, third.time.dist, third.time.params) == ("S3", "fixed", (30.0,))
    assert "S3: no finished passes; the planned cycle time, fixed" in to_toml(pilot)


def test_build_without_passes_is_refused(uow: UnitOfWork) -> None:
    build, _ = _pilot(uow, "LMF")
    make_unit(uow, build)
    with pytest.raises(InvalidInput) as caught:
        line_from_build(uow, build.id, actor=ACTOR)
    assert caught.value.fields[0].loc == "build"
    assert "has no finished station passes" in caught.value.message


def test_station_with_neither_passes_nor_planned_time(uow: UnitOfWork, engine: Engine) -> None:
    build, (s1, s2, s3) = _pilot(uow, "LMG", stations=3)
    crud.update(uow, builds.STATIONS, s3, {"planned_cycle_time_s": None}, actor=ACTOR)
    _three_units(uow, engine, build, s1, s2)
    with pytest.raises(InvalidInput) as caught:
        line_from_build(uow, build.id, actor=ACTOR)
    assert caught.value.fields[0].loc == "stations.S3"


def test_bad_arguments_and_unknown_builds(uow: UnitOfWork, engine: Engine) -> None:
    build, (s1, s2) = _pilot(uow, "LMH")
    _three_units(uow, engine, build, s1, s2)
    with pytest.raises(InvalidInput, match="unknown fit 'weibull'"):
        line_from_build(uow, build.id, actor=ACTOR, fit="weibull")
    with pytest.raises(InvalidInput, match="buffer: must be a whole number >= 0"):
        line_from_build(uow, build.id, actor=ACTOR, buffer=-1)
    with pytest.raises(NotFound):
        line_from_build(uow, "NO-SUCH", actor=ACTOR)
    with pytest.raises(NotFound):
        line_from_build(uow, build.id + 1000, actor=ACTOR)


def test_a_partner_sees_only_its_own_builds(uow: UnitOfWork, engine: Engine) -> None:
    build, (s1, s2) = _pilot(uow, "LMI")
    _three_units(uow, engine, build, s1, s2)
    partner = make_partner(uow)
    other = person("cm", Role.PARTNER, partner_id=partner.id)
    with pytest.raises(NotFound):
        line_from_build(uow, build.id, actor=other)
    crud.update(uow, builds.BUILDS, build.id, {"partner_id": partner.id}, actor=ACTOR)
    assert line_from_build(uow, build.id, actor=other).build_code == "LMI-PLT"
