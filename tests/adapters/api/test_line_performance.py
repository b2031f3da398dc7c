"""``GET /builds/{code}/line`` and the lines' working calendar, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role
from phasegate.services import builds, crud
from phasegate.store import bulk
from phasegate.store.models import Line
from phasegate.store.uow import UnitOfWork
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.factories import ACTOR, make_build, make_line, make_partner, make_product, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
STATION_KEYS = {"name", "n", "cycle_mean_s", "cycle_p90_s", "cycle_cv", "fpy"}


def seed_line_build(uow: UnitOfWork, key: str = "LNP", code: str = "PLT-1") -> int:
    """A pilot build ``code`` of product ``key`` (450 000 a year) on a line of two stations, S2
    with two servers: three units, one reworked at S1, one still before S2. By hand: S1 cycle
    times 10, 12, 14, 12 s; S2 30, 34 s (effective 16 s, the bottleneck); takt
    250 x 8 x 3600 / 450 000 = 16 s. Returns the build's id."""
    product = make_product(uow, key=key, target_annual_volume=450_000)
    line = make_line(uow, stations=2)
    with uow:
        s1, s2 = (st.id for st in uow.get(Line, line.id).stations)
    crud.update(uow, builds.STATIONS, s2, {"servers": 2}, actor=ACTOR)
    build = make_build(
        uow,
        product_id=product.id,
        code=code,
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
    )
    u1, u2, u3 = (make_unit(uow, build).id for _ in range(3))
    rows = [
        (u1, s1, 0, 10, "pass", 1),
        (u1, s2, 10, 40, "pass", 1),
        (u2, s1, 10, 22, "fail", 1),
        (u2, s1, 22, 36, "pass", 2),
        (u2, s2, 38, 72, "pass", 1),
        (u3, s1, 36, 48, "pass", 1),
    ]
    with uow:
        bulk.insert_station_passes(
            uow.session.connection(),
            [
                {
                    "unit_id": unit,
                    "station_id": station,
                    "started_at": T0 + dt.timedelta(seconds=start),
                    "ended_at": T0 + dt.timedelta(seconds=end),
                    "result": result,
                    "attempt": attempt,
                }
                for unit, station, start, end, result, attempt in rows
            ],
        )
        uow.commit()
    return build.id


def test_line_performance_answers_the_report_line_object(client: TestClient) -> None:
    seed_line_build(uow_of(client))
    response = client.get("/builds/plt-1/line")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"build", "product", "phase", "line", "detail"}
    assert (body["build"], body["product"], body["phase"]) == ("PLT-1", "LNP", "pilot")
    line = body["line"]
    assert set(line) == {
        "takt_s",
        "bottleneck",
        "balance_efficiency",
        "throughput_per_hour",
        "stations",
    }
    assert line["takt_s"] == pytest.approx(16.0)
    assert line["bottleneck"] == "S2"
    assert line["balance_efficiency"] == pytest.approx(44 / 48)  # (12 + 32) / (3 x 16)
    assert line["throughput_per_hour"] == pytest.approx(225.0)  # 3600 / 16
    assert [set(s) for s in line["stations"]] == [STATION_KEYS, STATION_KEYS]
    s1 = line["stations"][0]
    assert (s1["name"], s1["n"], s1["cycle_mean_s"]) == ("S1", 4, 12.0)
    assert s1["cycle_p90_s"] == "insufficient data (n = 4)"
    assert s1["fpy"]["value"] == pytest.approx(2 / 3) and len(s1["fpy"]["ci"]) == 2
    detail = body["detail"]
    assert detail["calendar"] == {
        "shifts_per_day": 1,
        "hours_per_shift": 8.0,
        "days_per_year": 250,
        "available_s_per_year": 7_200_000.0,
    }
    assert detail["meets_takt"] is True
    assert detail["flow"]["finished"] == 2 and detail["flow"]["units"] == 3
    first = detail["stations"][0]
    assert first["rework"]["reworked_units"] == 1
    assert first["trend"]["slope_s_per_unit"] == pytest.approx(1.0)


def test_unknown_and_ambiguous_builds(client: TestClient) -> None:
    uow = uow_of(client)
    seed_line_build(uow)
    seed_line_build(uow, key="LNQ")
    assert_error(client.get("/builds/NOPE/line"), 404, "not_found")
    assert_error(client.get("/builds/PLT-1/line"), 422, "invalid_input", "product")
    response = client.get("/builds/PLT-1/line", params={"product": "lnq"})
    assert response.status_code == 200 and response.json()["product"] == "LNQ"
    assert_error(client.get("/builds/PLT-1/line", params={"product": "LNX"}), 404, "not_found")


def test_a_partner_sees_only_its_builds(client: TestClient) -> None:
    uow = uow_of(client)
    build_id = seed_line_build(uow)
    partner = make_partner(uow)
    add_user(client, "cm", Role.PARTNER, partner=partner.id)
    token = bearer(new_token(client, "cm", ("read",)))
    assert_error(client.get("/builds/PLT-1/line", headers=token), 404, "not_found")
    crud.update(uow, builds.BUILDS, build_id, {"partner_id": partner.id}, actor=ACTOR)
    assert client.get("/builds/PLT-1/line", headers=token).status_code == 200
    anonymous = client.get("/builds/PLT-1/line", headers={"Authorization": ""})
    assert_error(anonymous, 401, "unauthenticated")


def test_the_working_calendar_is_set_on_the_line(client: TestClient) -> None:
    line = client.post("/lines", json={"name": "Pilot line", "shifts_per_day": 2})
    assert line.status_code == 201, line.text
    created = line.json()
    assert (created["shifts_per_day"], created["hours_per_shift"], created["days_per_year"]) == (
        2,
        8.0,
        250,
    )
    changed = client.patch(
        f"/lines/{created['id']}", json={"hours_per_shift": 7.5, "days_per_year": 230}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["hours_per_shift"], changed.json()["days_per_year"]) == (7.5, 230)
    refused = client.patch(f"/lines/{created['id']}", json={"hours_per_shift": 13.0})
    assert_error(refused, 422, "invalid_input", "hours_per_shift")  # 2 shifts x 13 h > 24 h
