"""A build's defect list, Pareto and quality rates, on SQLite and PostgreSQL, against values
worked out by hand from the records each test makes."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from phasegate.domain.enums import Disposition, Severity
from phasegate.domain.errors import Forbidden, InvalidInput, NotFound
from phasegate.domain.policy import Principal, Role, Scope
from phasegate.services import crud, quality
from phasegate.services.read.defects import (
    NO_STATION,
    DefectFilters,
    all_build_defects,
    build_defects,
    defect_pareto,
    defect_summary,
    find_build,
    quality_rates,
)
from phasegate.store.models import Build, Defect, Line, StationPass
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
    make_unit,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
Z_975 = 1.959963984540054  # standard normal quantile at 0.975


def _wilson_bounds(k: int, n: int, z: float = Z_975) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: Newcombe (1998), method 3."""
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


@dataclass
class Pilot:
    build: Build
    units: dict[str, int]
    serials: dict[str, str]
    defect_ids: list[int]


def _pilot(uow: UnitOfWork, engine: Engine, partner_id: int | None = None) -> Pilot:
    """Build PLT of product DEF: 3 characteristics, a line of 2 stations, 5 units and 6 defects.

    ======  ==========  =====  ========  ==========  ===========  ====  =======
    defect  unit        code   station   severity    disposition  cost  found
    ======  ==========  =====  ========  ==========  ===========  ====  =======
    1       A           C1     S1        major       rework       10    +1 h
    2       A           C2     S2        minor       use_as_is    0     +2 h
    3       B scrapped  C1     S1        critical    scrap        30    +3 h
    4       E           C1     (none)    minor       pending      5     +4 h
    5       E           C3     S2        cosmetic    use_as_is    0     +5 h
    6       B           C2     S1        major       scrap        20    +5 h
    ======  ==========  =====  ========  ==========  ===========  ====  =======

    Unit C is in rework; unit D went through S1 twice (attempt 2); A has a rework defect.
    """
    product = make_product(uow, key="DEF")
    for _ in range(3):
        make_characteristic(uow, product)
    line = make_line(uow, stations=2)
    build = make_build(
        uow,
        product_id=product.id,
        code="PLT",
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
        partner_id=partner_id,
    )
    with uow:
        s1, s2 = (st.id for st in uow.get(Line, line.id).stations)
    statuses = {"A": "passed", "B": "scrapped", "C": "rework", "D": "passed", "E": "passed"}
    units, serials = {}, {}
    for name, status in statuses.items():
        unit = make_unit(uow, build, serial=f"DEF-{name}", status=status)
        units[name], serials[name] = unit.id, unit.serial
    codes = {}
    for code in ("C1", "C2", "C3"):
        made = crud.create(
            uow, quality.DEFECT_CODES, {"code": code, "description": f"defect {code}"}, actor=ACTOR
        )
        codes[code] = made.id
    rows = [
        ("A", "C1", s1, "major", "rework", 10.0, 1),
        ("A", "C2", s2, "minor", "use_as_is", 0.0, 2),
        ("B", "C1", s1, "critical", "scrap", 30.0, 3),
        ("E", "C1", None, "minor", "pending", 5.0, 4),
        ("E", "C3", s2, "cosmetic", "use_as_is", 0.0, 5),
        ("B", "C2", s1, "major", "scrap", 20.0, 5),
    ]
    ids = []
    with engine.begin() as conn:
        for i, (who, code, station, severity, disposition, cost, hours) in enumerate(rows, 1):
            ids.append(
                conn.execute(
                    insert(Defect).returning(Defect.id),
                    {
                        "unit_id": units[who],
                        "station_id": station,
                        "defect_code_id": codes[code],
                        "severity": Severity(severity),
                        "disposition": Disposition(disposition),
                        "cost": cost,
                        "found_at": T0 + dt.timedelta(hours=hours),
                        "source_id": f"def-{build.id}-{i}",
                    },
                ).scalar_one()
            )
        conn.execute(
            insert(StationPass),
            [
                {
                    "unit_id": units["D"],
                    "station_id": s1,
                    "started_at": T0 + dt.timedelta(minutes=attempt),
                    "result": "fail" if attempt == 1 else "pass",
                    "attempt": attempt,
                    "source_id": f"pass-{build.id}-{attempt}",
                }
                for attempt in (1, 2)
            ],
        )
    return Pilot(build, units, serials, ids)


def test_the_list_is_newest_first_and_paged_by_key(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)
    first = build_defects(uow, p.build.id, actor=ACTOR, limit=4)
    d = p.defect_ids
    # Defects 5 and 6 were found at the same time: the later id comes first.
    assert [r.id for r in first.items] == [d[5], d[4], d[3], d[2]]
    assert (first.total, first.total_cost, first.units) == (6, 65.0, 3)
    assert first.next_key is not None
    second = build_defects(uow, p.build.id, actor=ACTOR, limit=4, after=first.next_key)
    assert [r.id for r in second.items] == [d[1], d[0]]
    assert second.next_key is None and second.total == 6
    row = second.items[-1]
    assert (row.serial, row.code, row.station, row.severity, row.cost) == (
        "DEF-A",
        "C1",
        "S1",
        Severity.MAJOR,
        10.0,
    )
    assert [r.id for r in all_build_defects(uow, p.build.id, actor=ACTOR)] == d[::-1]


def test_the_list_filters_and_counts(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)
    d = p.defect_ids
    by_code = build_defects(uow, p.build.id, DefectFilters.parse(code="c1"), actor=ACTOR)
    assert [r.id for r in by_code.items] == [d[3], d[2], d[0]]
    assert (by_code.total, by_code.total_cost, by_code.units) == (3, 45.0, 3)
    assert by_code.by_severity.count(Severity.MINOR) == 1
    assert by_code.by_disposition.count(Disposition.SCRAP) == 1
    nowhere = build_defects(uow, p.build.id, DefectFilters(station=NO_STATION), actor=ACTOR)
    assert [r.id for r in nowhere.items] == [d[3]] and nowhere.items[0].station is None
    at_s1_major = DefectFilters.parse(station="s1", severity="MAJOR")
    assert [r.id for r in build_defects(uow, p.build.id, at_s1_major, actor=ACTOR).items] == [
        d[5],
        d[0],
    ]
    scrapped = build_defects(uow, p.build.id, DefectFilters.parse(disposition="scrap"), actor=ACTOR)
    assert (scrapped.total, scrapped.total_cost, scrapped.units) == (2, 50.0, 1)
    assert [(c.value, c.count) for c in scrapped.by_severity] == [
        (Severity.CRITICAL, 1),
        (Severity.MAJOR, 1),
        (Severity.MINOR, 0),
        (Severity.COSMETIC, 0),
    ]


def test_bad_filters_and_keys_name_the_field(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)
    with pytest.raises(InvalidInput) as error:
        build_defects(uow, p.build.id, DefectFilters.parse(code="NOPE"), actor=ACTOR)
    assert error.value.fields[0].loc == "code"
    with pytest.raises(InvalidInput) as error:
        build_defects(uow, p.build.id, DefectFilters.parse(station="Nowhere"), actor=ACTOR)
    assert error.value.fields[0].loc == "station"
    with pytest.raises(InvalidInput) as error:
        DefectFilters.parse(severity="fatal")
    assert error.value.fields[0].loc == "severity"
    with pytest.raises(InvalidInput) as error:
        build_defects(uow, p.build.id, actor=ACTOR, after="yesterday")
    assert error.value.fields[0].loc == "after"
    with pytest.raises(InvalidInput) as error:
        build_defects(uow, p.build.id, actor=ACTOR, limit=0)
    assert error.value.fields[0].loc == "limit"
    with pytest.raises(InvalidInput) as error:
        defect_pareto(uow, p.build.id, actor=ACTOR, by="operator")
    assert error.value.fields[0].loc == "by"


def test_pareto_by_code_and_station_count_and_cost(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)

    def bars(by: str, measure: str) -> list[tuple[Any, ...]]:
        result = defect_pareto(uow, p.build.id, actor=ACTOR, by=by, measure=measure)
        assert (result.total_count, result.total_cost, result.insufficient) == (6, 65.0, False)
        return [(b.key, b.count, b.cost, b.share, b.cumulative_share) for b in result.bars]

    # C1: 3 defects costing 10 + 30 + 5; C2: 2 costing 0 + 20; C3: 1 costing 0.
    assert bars("code", "count") == [
        ("C1", 3, 45.0, pytest.approx(3 / 6), pytest.approx(3 / 6)),
        ("C2", 2, 20.0, pytest.approx(2 / 6), pytest.approx(5 / 6)),
        ("C3", 1, 0.0, pytest.approx(1 / 6), pytest.approx(1.0)),
    ]
    assert bars("code", "cost") == [
        ("C1", 3, 45.0, pytest.approx(45 / 65), pytest.approx(45 / 65)),
        ("C2", 2, 20.0, pytest.approx(20 / 65), pytest.approx(1.0)),
        ("C3", 1, 0.0, 0.0, pytest.approx(1.0)),
    ]
    # S1: defects 1, 3, 6 (10 + 30 + 20); S2: 2, 5 (0); no station: 4 (5).
    assert bars("station", "count") == [
        ("S1", 3, 60.0, pytest.approx(3 / 6), pytest.approx(3 / 6)),
        ("S2", 2, 0.0, pytest.approx(2 / 6), pytest.approx(5 / 6)),
        (NO_STATION, 1, 5.0, pytest.approx(1 / 6), pytest.approx(1.0)),
    ]
    assert bars("station", "cost") == [
        ("S1", 3, 60.0, pytest.approx(60 / 65), pytest.approx(60 / 65)),
        (NO_STATION, 1, 5.0, pytest.approx(5 / 65), pytest.approx(1.0)),
        ("S2", 2, 0.0, 0.0, pytest.approx(1.0)),
    ]
    by_count = defect_pareto(uow, p.build.id, actor=ACTOR)
    assert [b.key for b in by_count.bars if b.vital] == ["C1", "C2"]  # 50 %, then 83 % >= 80 %


def test_summary_is_the_build_report_shape(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)
    assert defect_summary(uow, p.build.id, actor=ACTOR).as_report() == {
        "by_code": [
            {"code": "C1", "count": 3, "cost": 45.0},
            {"code": "C2", "count": 2, "cost": 20.0},
            {"code": "C3", "count": 1, "cost": 0.0},
        ],
        "by_station": [
            {"station": "S1", "count": 3, "cost": 60.0},
            {"station": "S2", "count": 2, "cost": 0.0},
            {"station": None, "count": 1, "cost": 5.0},
        ],
    }


def test_quality_rates(uow: UnitOfWork, engine: Engine) -> None:
    p = _pilot(uow, engine)
    rates = quality_rates(uow, p.build.id, actor=ACTOR)
    assert (rates.units, rates.defects, rates.scrapped, rates.reworked) == (5, 6, 1, 3)
    # 3 characteristics + 2 stations.
    assert rates.opportunities_per_unit == 5
    assert rates.dpu is not None and rates.dpmo is not None
    assert rates.dpu.value == pytest.approx(6 / 5)
    # Exact Poisson limits for 6 events at 95 % (Garwood 1936): chi-square(0.025; 12) / 2 and
    # chi-square(0.975; 14) / 2, per 5 units. Source of the quantiles 4.404 and 26.119: NIST/
    # SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.4, critical values of chi-square.
    assert rates.dpu.ci.low == pytest.approx(4.404 / 2 / 5, rel=1e-3)
    assert rates.dpu.ci.high == pytest.approx(26.119 / 2 / 5, rel=1e-3)
    assert rates.dpmo.value == pytest.approx(6 / (5 * 5) * 1e6)
    assert rates.scrap is not None and rates.rework is not None
    assert rates.scrap.value == pytest.approx(1 / 5)
    assert (rates.scrap.ci.low, rates.scrap.ci.high) == pytest.approx(_wilson_bounds(1, 5))
    # A (rework defect), C (in rework), D (second attempt at S1); not B (scrap) nor E.
    assert rates.rework.value == pytest.approx(3 / 5)
    assert (rates.rework.ci.low, rates.rework.ci.high) == pytest.approx(_wilson_bounds(3, 5))
    assert rates.as_report() == {
        "dpmo": pytest.approx(240_000.0),
        "scrap_rate": pytest.approx(0.2),
        "rework_rate": pytest.approx(0.6),
    }


def test_a_build_without_units_has_insufficient_data(uow: UnitOfWork) -> None:
    build = make_build(uow)  # a prototype: no line, no characteristics, no units
    rates = quality_rates(uow, build.id, actor=ACTOR)
    assert rates.insufficient and rates.n == 0 and rates.opportunities_per_unit == 1
    assert rates.as_report() == {"dpmo": None, "scrap_rate": None, "rework_rate": None}
    chart = defect_pareto(uow, build.id, actor=ACTOR, by="station", measure="cost")
    assert chart.insufficient and chart.n == 0 and chart.bars == ()
    assert build_defects(uow, build.id, actor=ACTOR).items == ()


def test_find_build_by_code(uow: UnitOfWork) -> None:
    one = make_build(uow, code="X-1")
    assert find_build(uow, "x-1", actor=ACTOR).id == one.id
    other = make_product(uow, key="OTHER")
    two = make_build(uow, code="X-1", product_id=other.id)
    with pytest.raises(InvalidInput) as error:
        find_build(uow, "X-1", actor=ACTOR)
    assert error.value.fields[0].loc == "product"
    assert find_build(uow, "X-1", product="other", actor=ACTOR).id == two.id
    with pytest.raises(NotFound):
        find_build(uow, "X-2", actor=ACTOR)


def test_who_may_read(uow: UnitOfWork, engine: Engine) -> None:
    mine, theirs = make_partner(uow), make_partner(uow)
    p = _pilot(uow, engine, partner_id=mine.id)
    inside = Principal(name="cm", role=Role.PARTNER, partner_id=mine.id)
    assert build_defects(uow, p.build.id, actor=inside).total == 6
    outside = Principal(name="other", role=Role.PARTNER, partner_id=theirs.id)
    for read in (build_defects, defect_pareto, defect_summary, quality_rates):
        with pytest.raises(NotFound):
            read(uow, p.build.id, actor=outside)
    with pytest.raises(NotFound):
        find_build(uow, "PLT", actor=outside)
    ingest_only = Principal(name="station", role=Role.ENGINEER, scopes=frozenset({Scope.INGEST}))
    with pytest.raises(Forbidden):
        build_defects(uow, p.build.id, actor=ingest_only)
    viewer = Principal(name="v", role=Role.VIEWER)
    assert quality_rates(uow, p.build.id, actor=viewer).defects == 6
