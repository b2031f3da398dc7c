"""``GET /measurements/summary``: stored measurements summed up, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import statistics

from fastapi.testclient import TestClient

from phasegate.domain.enums import Outcome
from phasegate.domain.policy import Role, Scope
from phasegate.ingest.records import MeasurementIn, Target, TestRunIn
from phasegate.services.ingest import ingest_records
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
VALUES = [0.18, 0.21, 0.24, 0.33, 0.2]  # 0.33 is above the USL of 0.3


def _stored(client: TestClient) -> int:
    """A build PLT-1 of product AQM with five ``Gap`` values; another partner's build CM-1.
    Returns that partner's id."""
    uow = uow_of(client)
    product = make_product(uow, key="AQM")
    line = make_line(uow, stations=1)
    pilot = {"phase": "pilot", "fidelity": None, "technique": None, "line_id": line.id}
    make_build(uow, product_id=product.id, code="PLT-1", **pilot)
    partner = make_partner(uow)
    make_build(uow, product_id=product.id, code="CM-1", partner_id=partner.id, **pilot)
    make_characteristic(uow, product, name="Gap", unit="mm", lsl=0.1, usl=0.3)
    runs = [
        TestRunIn(
            where=f"test:{i}",
            serial=f"SN-{i}",
            station="S1",
            started_at=T0 + dt.timedelta(minutes=i),
            outcome=Outcome.PASS,
            source_id=f"run-{i}",
            source="json",
            measurements=(
                MeasurementIn(
                    name="Gap",
                    value=value,
                    unit="mm",
                    outcome=Outcome.PASS if value <= 0.3 else Outcome.FAIL,
                ),
            ),
        )
        for i, value in enumerate(VALUES)
    ]
    result = ingest_records(
        uow, runs, actor=ACTOR, source_name="test", format="json", target=Target("AQM", "PLT-1")
    )
    assert result.inserted == len(VALUES)
    return partner.id


def test_the_summary_of_a_build(client: TestClient) -> None:
    _stored(client)
    answer = client.get("/measurements/summary", params={"product": "AQM", "build": "PLT-1"})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()
    assert (row["name"], row["unit"], row["product"], row["count"]) == ("Gap", "mm", "AQM", 5)
    assert abs(row["mean"] - statistics.fmean(VALUES)) < 1e-12
    assert abs(row["std"] - statistics.stdev(VALUES)) < 1e-9
    assert (row["min"], row["max"], row["passed"], row["failed"]) == (0.18, 0.33, 4, 1)
    by_station = client.get("/measurements/summary", params={"build": "PLT-1", "station": "S1"})
    assert by_station.json() == answer.json()


def test_a_partner_sees_only_its_builds(client: TestClient) -> None:
    partner_id = _stored(client)
    add_user(client, "cm", Role.PARTNER, partner=partner_id)
    token = bearer(new_token(client, "cm", (Scope.READ,)))
    other = client.get("/measurements/summary", params={"build": "PLT-1"}, headers=token)
    assert_error(other, 404, "not_found")
    own = client.get("/measurements/summary", params={"build": "CM-1"}, headers=token)
    assert own.status_code == 200 and own.json() == []


def test_anonymous_and_ingest_only_callers_are_refused(client: TestClient) -> None:
    _stored(client)
    add_user(client, "ops", Role.OPERATIONS)
    ingest_only = bearer(new_token(client, "ops", (Scope.INGEST,)))
    assert_error(client.get("/measurements/summary", headers=ingest_only), 403, "forbidden")
    anonymous = client.get("/measurements/summary", headers={"Authorization": ""})
    assert anonymous.status_code == 401
