"""CLI contract of ``phasegate defects [list|pareto|rates] BUILD`` and ``phasegate allocate``:
exit codes, the JSON and CSV shapes, errors naming the flag, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import insert, select

from phasegate.domain.enums import Disposition, Severity
from phasegate.domain.policy import SYSTEM
from phasegate.services import crud, identity, quality
from phasegate.store import db
from phasegate.store.models import Build, Defect, Line
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner, seed_pilot_build
from tests.factories import ACTOR, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _seed(url: str) -> None:
    """AQM-PLT with units SN-1..SN-3 and two defects; a viewer "vera".

    SN-1  C1  S1  major  rework  7.5  +1 h
    SN-2  C2  S2  minor  scrap   2.5  +2 h
    """
    seed_pilot_build(url)
    engine = db.make_engine(url)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "vera", "viewer", actor=SYSTEM, password="vera-password-1")
    with uow:
        build = uow.session.scalars(select(Build).where(Build.code == "AQM-PLT")).one()
        s1, s2 = (s.id for s in uow.get(Line, build.line_id).stations)
    units = [make_unit(uow, build, serial=f"SN-{i}").id for i in (1, 2, 3)]
    codes = [
        crud.create(
            uow, quality.DEFECT_CODES, {"code": c, "description": f"about {c}"}, actor=ACTOR
        ).id
        for c in ("C1", "C2")
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(Defect),
            [
                {
                    "unit_id": units[0],
                    "defect_code_id": codes[0],
                    "station_id": s1,
                    "severity": Severity.MAJOR,
                    "disposition": Disposition.REWORK,
                    "cost": 7.5,
                    "found_at": T0 + dt.timedelta(hours=1),
                    "source_id": "d-1",
                },
                {
                    "unit_id": units[1],
                    "defect_code_id": codes[1],
                    "station_id": s2,
                    "severity": Severity.MINOR,
                    "disposition": Disposition.SCRAP,
                    "cost": 2.5,
                    "found_at": T0 + dt.timedelta(hours=2),
                    "source_id": "d-2",
                },
            ],
        )
    engine.dispose()


def test_defects_list_pareto_and_rates(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _seed(url)
    listed = run("defects", "AQM-PLT", "--format", "json", url=url)
    assert listed.code == 0, listed.err
    assert [(d["serial"], d["code"], d["station"], d["cost"]) for d in listed.json()] == [
        ("SN-2", "C2", "S2", 2.5),
        ("SN-1", "C1", "S1", 7.5),
    ]
    assert listed.json()[0]["found_at"] == "2026-03-02T10:00:00+00:00"
    same = run("defects", "list", "aqm-plt", "--code", "c1", "--format", "csv", url=url)
    rows = list(csv.DictReader(io.StringIO(same.out)))
    assert [(r["serial"], r["severity"], r["disposition"]) for r in rows] == [
        ("SN-1", "major", "rework")
    ]
    table = run("defects", "AQM-PLT", "--station", "S2", url=url)
    assert table.code == 0 and "2 on 2 units" not in table.out and "1 on 1 units" in table.out
    pareto = run(
        "defects",
        "pareto",
        "AQM-PLT",
        "--by",
        "station",
        "--measure",
        "cost",
        "--format",
        "json",
        url=url,
    )
    assert pareto.code == 0, pareto.err
    body = pareto.json()
    assert (body["n"], body["total_cost"], body["insufficient"]) == (2, 10.0, True)
    assert [(b["key"], b["cost"], b["cumulative_share"]) for b in body["bars"]] == [
        ("S1", 7.5, 0.75),
        ("S2", 2.5, 1.0),
    ]
    shown = run("defects", "pareto", "AQM-PLT", url=url)
    assert "insufficient data (n = 2)" in shown.out
    rates = run("defects", "rates", "AQM-PLT", "--format", "json", url=url).json()
    # 2 defects on 3 units; 2 stations, no characteristics: 2 opportunities per unit.
    assert (rates["units"], rates["defects"], rates["opportunities_per_unit"]) == (3, 2, 2)
    assert rates["dpmo"]["value"] == 2 / 6 * 1e6
    assert rates["rework_rate"]["count"] == 1 and rates["scrap_rate"]["count"] == 0


def test_defects_refuses_bad_input(run: Runner, database_url: str) -> None:
    _seed(database_url)
    bad = run("defects", "AQM-PLT", "--severity", "fatal")
    assert bad.code == 2 and "--severity" in bad.err
    unknown = run("defects", "AQM-PLT", "--code", "NOPE")
    assert unknown.code == 2 and "--code" in unknown.err
    by = run("defects", "pareto", "AQM-PLT", "--by", "operator")
    assert by.code == 2 and "--by" in by.err
    missing = run("defects", "NOPE")
    assert missing.code == 1 and "build 'NOPE' does not exist" in missing.err


def test_allocate(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _seed(url)
    taken = run(
        "allocate", "AQM-PLT", "--purpose", "testing", "--count", "2", "--format", "json", url=url
    )
    assert taken.code == 0, taken.err
    body = taken.json()
    assert [(u["serial"], u["before"], u["after"], u["version"]) for u in body["changed"]] == [
        ("SN-1", "unallocated", "testing", 2),
        ("SN-2", "unallocated", "testing", 2),
    ]
    assert body["counts"]["testing"] == 2 and body["counts"]["unallocated"] == 1
    named = run(
        "allocate",
        "AQM-PLT",
        "--purpose",
        "marketing",
        "--serial",
        "SN-3",
        "--serial",
        "SN-1",
        url=url,
    )
    assert named.code == 0 and "marketing 2" in named.out, named.err
    both = run(
        "allocate", "AQM-PLT", "--purpose", "testing", "--count", "1", "--serial", "SN-1", url=url
    )
    assert both.code == 2 and "--serial" in both.err
    viewer = run(
        "allocate",
        "AQM-PLT",
        "--purpose",
        "testing",
        "--serial",
        "SN-1",
        url=url,
        env={"PHASEGATE_USER": "vera"},
    )
    assert viewer.code == 1 and "may not update units" in viewer.err
