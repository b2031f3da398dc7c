"""``GET /builds/{code}/characteristics[/{name}]``: the contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role, Scope
from phasegate.services.products import resolve_product
from phasegate.services.read.characteristic import CONTRACT_FIELDS
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.factories import ACTOR, make_build, make_characteristic, make_partner
from tests.services.read.test_characteristic import T0, Data, record_values, seed


def _seeded(client: TestClient) -> Data:
    return seed(uow_of(client))


def test_the_table_has_one_contract_row_per_characteristic(client: TestClient) -> None:
    data = _seeded(client)
    answer = client.get(f"/builds/{data.pilot}/characteristics")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["build"], body["product"], body["phase"], body["subgroup_size"]) == (
        data.pilot, data.product, "pilot", None,
    )  # fmt: skip
    assert body["sampling"]["Bore"]["subgroup_size"] == 5
    assert body["thresholds"]["cpk_lower_target"] == 1.33
    (row,) = body["characteristics"]
    assert tuple(row) == CONTRACT_FIELDS
    assert (row["name"], row["ctq"], row["n"], row["status"]) == ("Bore", True, 50, "ok")
    assert abs(row["mean"] - float(data.pilot_values.mean())) < 1e-12
    assert abs(row["sd"] - float(data.pilot_values.std(ddof=1))) < 1e-9
    low, high = row["cpk_ci"]
    assert low < row["cpk_lower"] < row["cpk"] < high


def test_the_detail_names_the_signal_units_and_the_pilot_limits(client: TestClient) -> None:
    data = _seeded(client)
    answer = client.get(f"/builds/{data.production.lower()}/characteristics/BORE")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["characteristic"]["name"] == "Bore"
    assert body["summary"]["status"] == "watch" and body["summary"]["signals"] >= 1
    assert body["chart"]["chart"] == "xbar-r" and len(body["chart"]["points"]) == 8
    assert body["phase1"]["builds"] == [data.pilot]
    assert abs(body["chart"]["center"] - float(data.pilot_values.mean())) < 1e-12
    beyond = [s for s in body["signals"] if s["chart"] == "xbar" and 1 in s["rules"]]
    assert [s["subgroup"] for s in beyond] == [6]
    assert beyond[0]["units"] == list(data.production_serials[25:30])
    assert body["capability"]["n"] == 40 and sum(body["histogram"]["counts"]) == 40
    assert body["normality"]["test"] == "anderson-darling"
    individuals = client.get(
        f"/builds/{data.production}/characteristics/Bore", params={"subgroup_size": 1}
    )
    assert individuals.json()["chart"]["chart"] == "imr"


def test_a_name_with_a_slash_and_too_little_data(client: TestClient) -> None:
    data = _seeded(client)
    uow = uow_of(client)
    product = resolve_product(uow, data.product, actor=ACTOR)
    make_characteristic(uow, product, name="Flow l/min", lsl=1.0, usl=3.0)
    lab = make_build(uow, product_id=product.id, code="CH1-LAB")
    record_values(uow, lab, "Flow l/min", np.linspace(1.5, 2.5, 12), T0)
    answer = client.get("/builds/CH1-LAB/characteristics/Flow l%2Fmin")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["summary"]["status"] == "insufficient_data" and body["summary"]["cpk"] is None
    assert body["note"].startswith("insufficient data (n = 12)")
    assert body["chart"] is None and body["capability"] is None


def test_errors_name_what_is_wrong(client: TestClient) -> None:
    data = _seeded(client)
    assert_error(client.get("/builds/NOPE/characteristics"), 404, "not_found")
    missing = client.get(f"/builds/{data.pilot}/characteristics/Length")
    assert_error(missing, 404, "not_found")
    too_big = client.get(f"/builds/{data.pilot}/characteristics", params={"subgroup_size": 0})
    assert_error(too_big, 422, "invalid_input", "subgroup_size")
    wrong_product = client.get(f"/builds/{data.pilot}/characteristics", params={"product": "X"})
    assert_error(wrong_product, 404, "not_found")


def test_a_partner_sees_only_its_builds_and_ingest_tokens_are_refused(
    client: TestClient,
) -> None:
    data = _seeded(client)
    partner = make_partner(uow_of(client))
    add_user(client, "cm", Role.PARTNER, partner=partner.id)
    token = bearer(new_token(client, "cm", (Scope.READ,)))
    hidden = client.get(f"/builds/{data.pilot}/characteristics", headers=token)
    assert_error(hidden, 404, "not_found")
    add_user(client, "ops", Role.OPERATIONS)
    ingest_only = bearer(new_token(client, "ops", (Scope.INGEST,)))
    refused = client.get(f"/builds/{data.pilot}/characteristics", headers=ingest_only)
    assert_error(refused, 403, "forbidden")
    assert (
        client.get(
            f"/builds/{data.pilot}/characteristics", headers={"Authorization": ""}
        ).status_code
        == 401
    )
