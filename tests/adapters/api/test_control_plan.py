"""Control plans over the API: records, delete with If-Match, gage studies, coverage; statuses
and the error shape, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from phasegate.domain.policy import Role, Scope
from tests.adapters.api.support import add_user, assert_error, bearer, created, new_token
from tests.services.test_control_plan import aiag_readings, precise_readings


def _plan(client: TestClient) -> dict[str, Any]:
    """Product CP with CTQs Bore and Leak, a line of one station, a plan, a gauge and an item."""
    product = created(client, "/products", {"key": "CP", "name": "Pump"})
    line = created(client, "/lines", {"name": "Pilot line"})
    station = created(client, "/stations", {"line_id": line["id"], "name": "Bore", "sequence": 1})
    bore = created(
        client,
        "/characteristics",
        {"product_id": product["id"], "name": "Bore", "lsl": 9, "usl": 11, "ctq": True},
    )
    leak = created(
        client,
        "/characteristics",
        {"product_id": product["id"], "name": "Leak", "usl": 2, "ctq": True},
    )
    plan = created(
        client,
        "/control-plans",
        {"product_id": product["id"], "name": "Pilot plan", "line_id": line["id"]},
    )
    gauge = created(client, "/gauges", {"name": "MIC-1", "product_id": product["id"]})
    item = created(
        client,
        "/control-plan-items",
        {
            "plan_id": plan["id"],
            "station_id": station["id"],
            "characteristic_id": bore["id"],
            "method": "Micrometer",
            "gauge_id": gauge["id"],
            "sample_size": 5,
            "frequency": "every 50 units",
            "frequency_every": 50,
            "frequency_per": "unit",
            "chart_type": "xbar-r",
            "reaction_plan": "Stop and contain",
        },
    )
    return {"plan": plan, "gauge": gauge, "item": item, "bore": bore, "leak": leak}


def test_records_sheet_and_coverage(client: TestClient) -> None:
    s = _plan(client)
    sheet = client.get("/products/cp/control-plan")
    assert sheet.status_code == 200, sheet.text
    body = sheet.json()
    assert body["plan"]["name"] == "Pilot plan" and body["plan"]["status"] == "draft"
    (row,) = body["items"]
    assert (row["station"], row["characteristic"], row["gauge"]) == ("Bore", "Bore", "MIC-1")
    assert row["frequency_per"] == "unit" and row["ctq"] is True

    coverage = client.get("/products/CP/control-plan/coverage").json()
    assert [c["covered"] for c in coverage["ctqs"]] == [True, False]
    assert coverage["ctqs"][0]["verdict"] is None and coverage["complete"] is False

    path = f"/gauges/{s['gauge']['id']}/studies"
    study = client.post(
        path, json={"characteristic_id": s["bore"]["id"], "readings": precise_readings()}
    )
    assert study.status_code == 201, study.text
    assert study.json()["verdict"] == "acceptable" and study.json()["tolerance"] == 2.0
    assert len(study.json()["readings"]) == 60
    assert [x["id"] for x in client.get(path).json()] == [study.json()["id"]]

    bore = client.get("/products/CP/control-plan/coverage").json()["ctqs"][0]
    assert bore["verdict"] == "acceptable" and bore["study_id"] == study.json()["id"]
    assert bore["item_id"] == s["item"]["id"] and bore["gauge"] == "MIC-1"


def test_aiag_study_is_unacceptable_by_ndc(client: TestClient) -> None:
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 6: %GRR 27.9 %, ndc 4."""
    s = _plan(client)
    answer = client.post(
        f"/gauges/{s['gauge']['id']}/studies",
        json={"characteristic_id": s["bore"]["id"], "readings": aiag_readings(), "tolerance": 6},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert abs(body["pct_grr_study_var"] - 27.9) < 0.05 and body["ndc"] == 4
    assert body["verdict"] == "unacceptable"


def test_bad_input_names_the_field(client: TestClient) -> None:
    s = _plan(client)
    item = f"/control-plan-items/{s['item']['id']}"
    assert_error(client.patch(item, json={"sample_size": 0}), 422, "invalid_input", "sample_size")
    assert_error(client.patch(item, json={"chart_type": "pie"}), 422, "invalid_input", "chart_type")
    assert_error(
        client.patch(item, json={"characteristic_id": 999999}),
        422,
        "invalid_input",
        "characteristic_id",
    )
    assert_error(client.patch(item, json={"plan_id": 1}), 422, "invalid_input")
    studies = f"/gauges/{s['gauge']['id']}/studies"
    one_part = [{"part": "1", "operator": "A", "value": 1.0}] * 4
    assert_error(
        client.post(studies, json={"characteristic_id": s["bore"]["id"], "readings": one_part}),
        422,
        "invalid_input",
        "parts",
    )
    assert_error(
        client.post(studies, json={"characteristic_id": s["bore"]["id"], "readings": "x"}),
        422,
        "invalid_input",
    )
    assert_error(client.get("/products/NOPE/control-plan"), 404, "not_found")
    assert_error(client.post("/gauges/999999/studies", json={
        "characteristic_id": s["bore"]["id"], "readings": precise_readings()}),
        404, "not_found")  # fmt: skip


def test_hostile_text_round_trips(client: TestClient) -> None:
    s = _plan(client)
    hostile = "<img src=x onerror=alert(1)> '; DROP TABLE gauges; --"
    answer = client.patch(f"/control-plan-items/{s['item']['id']}", json={"reaction_plan": hostile})
    assert answer.status_code == 200, answer.text
    assert client.get("/products/CP/control-plan").json()["items"][0]["reaction_plan"] == hostile
    assert_error(
        client.patch(f"/control-plan-items/{s['item']['id']}", json={"method": "a\x00b"}),
        422,
        "invalid_input",
        "method",
    )


def test_delete_honours_if_match(client: TestClient) -> None:
    s = _plan(client)
    path = f"/control-plan-items/{s['item']['id']}"
    etag = client.get(path).headers["ETag"]
    client.patch(path, json={"sample_size": 3})
    assert_error(client.delete(path, headers={"If-Match": etag}), 412, "precondition_failed")
    fresh = client.get(path).headers["ETag"]
    deleted = client.delete(path, headers={"If-Match": fresh})
    assert deleted.status_code == 200 and deleted.json()["sample_size"] == 3
    assert_error(client.get(path), 404, "not_found")
    assert client.get("/products/CP/control-plan").json()["items"] == []


def test_viewer_reads_but_cannot_write(client: TestClient) -> None:
    s = _plan(client)
    add_user(client, "vera", Role.VIEWER)
    viewer = bearer(new_token(client, "vera", (Scope.READ,)))
    assert client.get("/products/CP/control-plan/coverage", headers=viewer).status_code == 200
    assert client.get("/gauges", headers=viewer).status_code == 200
    path = f"/control-plan-items/{s['item']['id']}"
    assert_error(client.delete(path, headers=viewer), 403, "forbidden")
    assert_error(client.patch(path, json={"sample_size": 2}, headers=viewer), 403, "forbidden")
    assert_error(
        client.post(
            f"/gauges/{s['gauge']['id']}/studies",
            json={"characteristic_id": s["bore"]["id"], "readings": precise_readings()},
            headers=viewer,
        ),
        403,
        "forbidden",
    )
    assert client.get(path).json()["sample_size"] == 5


def test_anonymous_is_refused(client: TestClient) -> None:
    _plan(client)
    client.headers.pop("Authorization")
    assert_error(client.get("/products/CP/control-plan/coverage"), 401, "unauthenticated")
