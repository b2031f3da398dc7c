"""Test data in through the API: records as JSON, file uploads, the ingest history.

Every test runs on SQLite and on PostgreSQL (the ``client`` fixture) unless it is about the
request alone. The records are in the native JSON shape (``docs/schemas/test-data.schema.json``);
the OpenHTF file is written by running a small real OpenHTF test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.domain.policy import Role, Scope
from phasegate.services import crud, quality
from phasegate.services.builds import STATIONS
from phasegate.store import db
from phasegate.store.models import Measurement, Station, StationPass, TestRun
from tests.adapters.api.support import (
    SECRET_KEY,
    add_user,
    assert_error,
    bearer,
    new_token,
    sign_in_as_admin,
    uow_of,
)
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
HTF_STATION = "HTF-1"


@dataclass(frozen=True)
class World:
    product: str
    build: str  # a pilot build on the line, of no partner
    partner_build: str  # a build of ``partner`` on the same line
    partner: int
    other_partner: int
    station_ids: dict[str, int]


@pytest.fixture
def world(client: TestClient) -> World:
    """A product with a pilot build on a line of stations S1, S2 and HTF-1, a second build of a
    partner, a characteristic ``Gap`` (0.1..0.3 mm) and a defect code ``GAP``."""
    uow = uow_of(client)
    product = make_product(uow, key="AQM")
    line = make_line(uow, stations=2)
    htf = crud.create(
        uow, STATIONS, {"line_id": line.id, "name": HTF_STATION, "sequence": 3}, actor=ACTOR
    )
    pilot = {"phase": "pilot", "fidelity": None, "technique": None, "line_id": line.id}
    build = make_build(uow, product_id=product.id, code="PLT-1", **pilot)
    partner = make_partner(uow)
    other = make_partner(uow)
    partner_build = make_build(
        uow, product_id=product.id, code="CM-1", partner_id=partner.id, **pilot
    )
    make_characteristic(uow, product, name="Gap", unit="mm", lsl=0.1, usl=0.3)
    crud.create(uow, quality.DEFECT_CODES, {"code": "GAP", "description": "Gap"}, actor=ACTOR)
    with uow:
        rows = uow.session.execute(
            select(Station.name, Station.id).where(Station.line_id == line.id)
        )
        stations = {str(name): int(ident) for name, ident in rows}
    assert stations[HTF_STATION] == htf.id
    return World(product.key, build.code, partner_build.code, partner.id, other.id, stations)


def run(serial: str, *, minute: int = 0, station: str = "S1", **more: Any) -> dict[str, Any]:
    started = T0 + dt.timedelta(minutes=minute)
    record: dict[str, Any] = {
        "serial": serial,
        "station": station,
        "started_at": started.isoformat(),
        "ended_at": (started + dt.timedelta(seconds=40)).isoformat(),
        "outcome": "pass",
        "build": "PLT-1",
        "measurements": [{"name": "Gap", "value": 0.2, "unit": "mm", "outcome": "pass"}],
    }
    return record | more


def count(client: TestClient, model: Any) -> int:
    with uow_of(client) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


# --- records as JSON --------------------------------------------------------------------------


def test_one_test_run_is_inserted(client: TestClient, world: World) -> None:
    answer = client.post("/test-runs", json=run("SN-1"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (1, 0, 0)
    assert body["new_characteristics"] == []
    [record] = body["records"]
    assert record["index"] == 0 and record["status"] == "inserted" and record["reason"] == ""
    assert record["source_id"]
    assert count(client, TestRun) == 1 and count(client, Measurement) == 1


def test_an_alias_made_through_the_api_maps_a_measurement_name(
    client: TestClient, world: World
) -> None:
    """The alias table is edited per product; ingest then files ``GAP_MM`` under ``Gap``."""
    gap = client.get("/characteristics", params={"product": world.product, "q": "Gap"}).json()
    alias = {"product_id": gap["items"][0]["product_id"], "alias": "GAP_MM"}
    made = client.post(
        "/characteristic-aliases", json=alias | {"characteristic_id": gap["items"][0]["id"]}
    )
    assert made.status_code == 201, made.text
    taken = client.post(
        "/characteristic-aliases", json=alias | {"characteristic_id": gap["items"][0]["id"]}
    )
    assert_error(taken, 422, "invalid_input", "alias")
    measurement = {"name": "gap_mm", "value": 0.25, "unit": "mm", "outcome": "pass"}
    answer = client.post("/test-runs", json=run("SN-A", measurements=[measurement]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["new_characteristics"] == []
    with uow_of(client) as uow:
        names = set(uow.session.scalars(select(Measurement.characteristic_id)))
    assert names == {gap["items"][0]["id"]}


def test_a_batch_keeps_its_good_records_and_names_the_bad_one(
    client: TestClient, world: World
) -> None:
    bad = run("SN-2", minute=1)
    del bad["started_at"]
    new_name = run("SN-3", minute=2)
    new_name["measurements"].append({"name": "Flatness", "value": 0.01, "unit": "mm"})
    batch = {"product": "AQM", "records": [run("SN-1"), bad, new_name]}
    answer = client.post("/test-runs", json=batch)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
    statuses = [(r["index"], r["status"]) for r in body["records"]]
    assert statuses == [(0, "inserted"), (1, "rejected"), (2, "inserted")]
    assert "started_at" in body["records"][1]["reason"]
    assert body["records"][1]["source_id"] is None
    assert [(c["product"], c["name"]) for c in body["new_characteristics"]] == [("AQM", "Flatness")]
    assert count(client, TestRun) == 2

    # The history has the request, its reject names the record's place and the reason.
    [entry] = client.get("/ingest/files").json()["items"]
    assert entry["name"] == "POST /api/v1/test-runs" and entry["format"] == "json"
    assert (entry["inserted"], entry["rejected"], entry["status"]) == (2, 1, "done")
    rejects = client.get(f"/ingest/files/{entry['id']}/rejects").json()
    assert rejects["total"] == 1
    [reject] = rejects["items"]
    assert reject["where"] == "POST /api/v1/test-runs#/records/1"
    assert "started_at" in reject["reason"] and '"SN-2"' in reject["raw"]
    assert client.get(f"/ingest/files/{entry['id']}").json()["id"] == entry["id"]


def test_sending_again_is_a_duplicate_and_changes_nothing(client: TestClient, world: World) -> None:
    records = [run("SN-1"), run("SN-2", minute=1)]
    assert client.post("/test-runs", json=records).json()["inserted"] == 2
    again = client.post("/test-runs", json=[*records, run("SN-3", minute=2)])
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (1, 2, 0)
    assert [r["status"] for r in body["records"]] == ["duplicate", "duplicate", "inserted"]
    alone = client.post("/test-runs", json=records[0])
    assert alone.status_code == 200 and alone.json()["records"][0]["status"] == "duplicate"
    assert count(client, TestRun) == 3 and count(client, Measurement) == 3


def test_an_unknown_station_is_rejected_with_the_reason(client: TestClient, world: World) -> None:
    answer = client.post("/test-runs", json=run("SN-1", station="Nowhere"))
    error = assert_error(answer, 422, "invalid_input", "body")
    assert "Nowhere" in error["fields"][0]["message"]
    assert "no record was stored" in error["message"]
    batch = {"records": [run("SN-1"), run("SN-2", station="Nowhere")]}
    body = client.post("/test-runs", json=batch).json()
    assert [r["status"] for r in body["records"]] == ["inserted", "rejected"]
    assert "'Nowhere' is not a station" in body["records"][1]["reason"]
    assert body["records"][1]["source_id"]
    assert count(client, TestRun) == 1


def test_when_every_record_is_rejected_the_fields_name_each(
    client: TestClient, world: World
) -> None:
    late = run("SN-2", minute=1)
    late["ended_at"] = (T0 - dt.timedelta(hours=1)).isoformat()
    batch = {"records": [run("SN-1", build="NOPE"), late]}
    error = assert_error(client.post("/test-runs", json=batch), 422, "invalid_input")
    assert [f["loc"] for f in error["fields"]] == ["records.0", "records.1"]
    assert "NOPE" in error["fields"][0]["message"]
    assert "is before started_at" in error["fields"][1]["message"]
    assert count(client, TestRun) == 0


def test_station_passes_and_defects(client: TestClient, world: World) -> None:
    passes = [
        {
            "serial": "SN-1",
            "station": "S1",
            "started_at": T0.isoformat(),
            "ended_at": (T0 + dt.timedelta(seconds=31)).isoformat(),
            "result": "pass",
            "build": "PLT-1",
        },
        {"serial": "SN-1", "station": "S2", "started_at": T0.isoformat(), "result": "nonsense"},
    ]
    answer = client.post("/station-passes", json={"build": "PLT-1", "records": passes})
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["records"]] == ["inserted", "rejected"]
    assert count(client, StationPass) == 1
    assert client.post("/station-passes", json=passes[0]).json()["duplicates"] == 1

    defect = {
        "serial": "SN-1",
        "code": "gap",
        "severity": "major",
        "found_at": T0.isoformat(),
        "station": "S1",
        "cost": 2.5,
        "build": "PLT-1",
    }
    answer = client.post("/defects", json=defect)
    assert answer.status_code == 200, answer.text
    assert answer.json()["inserted"] == 1
    unknown = assert_error(
        client.post("/defects", json=defect | {"code": "ZZZ"}), 422, "invalid_input"
    )
    assert "ZZZ" in unknown["fields"][0]["message"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (42, "body"),
        ("a run", "body"),
        (None, "body"),
        ([], "body"),
        ({"records": []}, "records"),
        ({"records": {"serial": "x"}}, "records"),
        ({"records": [{}], "shift": "B"}, "shift"),
        ({"records": [{}], "build": 7}, "build"),
        ({"records": [{}], "build": "B\x00"}, "build"),
        ({"records": [{}] * 1001}, "records"),
    ],
)
def test_an_unusable_body_is_422(client: TestClient, body: Any, loc: str) -> None:
    assert_error(client.post("/test-runs", json=body), 422, "invalid_input", loc)


def test_malformed_or_wrongly_typed_input_is_never_a_500(client: TestClient, world: World) -> None:
    headers = {"content-type": "application/json"}
    for raw in (b'{"serial": "SN-1",', b"\xff\xfe", b'{"serial": "\\ud800"}'):
        answer = client.post("/test-runs", content=raw, headers=headers)
        assert 400 <= answer.status_code < 500, (raw, answer.text)
    wrong = [
        run("SN-1") | {"serial": 7},
        run("SN-2", started_at="yesterday"),
        run("SN-3", measurements=[{"name": "Gap", "value": "big"}]),
        run("SN-4", measurements=[{"name": "Gap", "value": 1e308 * 10}]),
        run("SN-\x00"),
        run("SN-6", operator="a\x00b"),
        run("SN-7", extra={"note\x00": 1}),
        run("SN-8") | {"serial": "x" * 100_000},
        run("SN-9", measurements=[{"name": "Gap", "value": 0.2, "lsl": 1, "usl": 0}]),
    ]
    # Infinity is not JSON, but Python's reader takes it: the record is refused, not the request.
    answer = client.post("/test-runs", content=json.dumps(wrong).encode(), headers=headers)
    error = assert_error(answer, 422, "invalid_input")
    assert [f["loc"] for f in error["fields"]] == [str(i) for i in range(len(wrong))]
    assert "NUL" in error["fields"][4]["message"]
    assert count(client, TestRun) == 0
    # A lone surrogate inside a record is that record's problem, not the request's.
    text = json.dumps([run("SN-10"), run("SN-11")]).replace("SN-11", "SN-\\udc00")
    answer = client.post("/test-runs", content=text.encode(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["records"]] == ["inserted", "rejected"]


# --- who may ----------------------------------------------------------------------------------


def test_a_partner_ingests_only_into_its_own_builds(client: TestClient, world: World) -> None:
    add_user(client, "cm", Role.PARTNER, partner=world.partner)
    token = bearer(new_token(client, "cm", (Scope.INGEST, Scope.READ)))
    own = client.post("/test-runs", json=run("SN-1", build="CM-1"), headers=token)
    assert own.status_code == 200, own.text
    other = client.post("/test-runs", json=run("SN-2", build="PLT-1"), headers=token)
    error = assert_error(other, 422, "invalid_input", "body")
    assert "'PLT-1' does not exist" in error["fields"][0]["message"]

    add_user(client, "other-cm", Role.PARTNER, partner=world.other_partner)
    outsider = bearer(new_token(client, "other-cm", (Scope.INGEST, Scope.READ)))
    answer = client.post("/test-runs", json=run("SN-3", build="CM-1"), headers=outsider)
    assert "'CM-1' does not exist" in assert_error(answer, 422, "invalid_input")["message"]
    # Each partner's history holds its own requests only.
    seen = client.get("/ingest/files", headers=outsider).json()
    assert seen["total"] == 1 and seen["items"][0]["inserted"] == 0
    assert client.get("/ingest/files", headers=token).json()["total"] == 2
    assert client.get("/ingest/files").json()["total"] == 3


def test_a_station_bound_token_records_only_its_station(client: TestClient, world: World) -> None:
    add_user(client, "station-pc", Role.OPERATIONS)
    token = bearer(
        new_token(client, "station-pc", (Scope.INGEST,), station=world.station_ids["S1"])
    )
    batch = [run("SN-1", station="S1"), run("SN-1", station="S2")]
    body = client.post("/test-runs", json=batch, headers=token).json()
    assert [r["status"] for r in body["records"]] == ["inserted", "rejected"]
    assert "records only station 'S1'" in body["records"][1]["reason"]


def test_read_only_tokens_and_anonymous_callers_are_refused(
    client: TestClient, world: World
) -> None:
    reader_token = bearer(new_token(client, "api-admin", (Scope.READ,)))
    add_user(client, "viewer", Role.VIEWER)
    viewer = bearer(new_token(client, "viewer", (Scope.READ,)))
    for headers in (reader_token, viewer):
        for path in ("/test-runs", "/station-passes", "/defects"):
            assert_error(client.post(path, json=run("SN-1"), headers=headers), 403, "forbidden")
        upload = client.post("/ingest/files", files={"file": ("a.csv", b"x")}, headers=headers)
        assert_error(upload, 403, "forbidden")
    assert client.get("/ingest/files", headers=viewer).status_code == 200
    anonymous = TestClient(client.app, base_url="http://testserver/api/v1")
    for path in ("/test-runs", "/ingest/files"):
        assert_error(anonymous.post(path, json=run("SN-1")), 401, "unauthenticated")
    assert_error(anonymous.get("/ingest/files"), 401, "unauthenticated")
    assert count(client, TestRun) == 0


# --- file uploads -----------------------------------------------------------------------------

LONG_CSV = """serial,station,started_at,ended_at,build,name,value,unit
SN-1,S1,2026-03-02T08:00:00Z,2026-03-02T08:00:40Z,PLT-1,Gap,0.2,mm
SN-1,S1,2026-03-02T08:00:00Z,2026-03-02T08:00:40Z,PLT-1,Flatness,0.01,mm
SN-2,S1,2026-03-02T08:01:00Z,2026-03-02T08:01:40Z,PLT-1,Gap,0.25,mm
SN-3,S1,2026-03-02T08:02:00Z,2026-03-02T08:02:40Z,PLT-1,Gap,not-a-number,mm
"""


def test_upload_a_long_csv(client: TestClient, world: World) -> None:
    files = {"file": ("station/run.csv", LONG_CSV.encode(), "text/csv")}
    answer = client.post("/ingest/files", files=files, data={"product": "AQM"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["name"], body["format"], body["size"]) == ("run.csv", "csv", len(LONG_CSV))
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
    assert body["measurements"] == 3
    assert [c["name"] for c in body["new_characteristics"]] == ["Flatness"]
    [reject] = body["rejects"]
    assert reject["where"] == "run.csv:5" and "not-a-number" in reject["reason"]
    entry = client.get(f"/ingest/files/{body['file_id']}").json()
    assert entry["sha256"] and entry["size"] == len(LONG_CSV) and entry["status"] == "done"
    rejects = client.get(f"/ingest/files/{body['file_id']}/rejects").json()["items"]
    assert [r["where"] for r in rejects] == ["run.csv:5"]

    # The repaired file brings in only what is missing; its reject is then resolved.
    repaired = LONG_CSV.replace("not-a-number", "0.22")
    again = client.post("/ingest/files", files={"file": ("run.csv", repaired.encode())})
    assert again.status_code == 200, again.text
    assert (again.json()["inserted"], again.json()["duplicates"]) == (1, 2)
    assert count(client, TestRun) == 3
    unresolved = client.get(
        f"/ingest/files/{body['file_id']}/rejects", params={"unresolved": True}
    ).json()
    assert unresolved["total"] == 0


def test_a_reject_is_resolved_when_the_record_is_stored_later(
    client: TestClient, world: World
) -> None:
    first = client.post(
        "/test-runs", json=[run("SN-1"), run("SN-2", station="S9", source_id="r-2")]
    )
    file_id = first.json()["file_id"]
    rejects = f"/ingest/files/{file_id}/rejects"
    assert client.get(rejects, params={"unresolved": True}).json()["total"] == 1
    repaired = client.post("/test-runs", json=run("SN-2", station="S2", source_id="r-2"))
    assert repaired.json()["inserted"] == 1
    assert client.get(rejects, params={"unresolved": True}).json()["total"] == 0
    [reject] = client.get(rejects).json()["items"]
    assert reject["source_id"] == "r-2" and reject["resolved_at"] is not None
    assert_error(client.get("/ingest/files/999999/rejects"), 404, "not_found")


def test_upload_a_csv_with_its_delimiter_and_column_names(client: TestClient, world: World) -> None:
    semicolons = LONG_CSV.replace(",", ";").replace("serial;", "SN;").encode()
    files = {"file": ("export.csv", semicolons)}
    guessed = client.post("/ingest/files", files=files)
    assert "delimiter" in assert_error(guessed, 422, "invalid_input")["message"]
    data = {"delimiter": ";", "column": ["serial=SN"]}
    answer = client.post("/ingest/files", files=files, data=data)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["inserted"], answer.json()["rejected"]) == (2, 1)
    for bad in ({"delimiter": ";;"}, {"column": ["serial"]}, {"column": ["=SN"]}):
        assert_error(client.post("/ingest/files", files=files, data=bad), 422, "invalid_input")


@pytest.fixture(scope="session")
def openhtf_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The JSON that OpenHTF's own output callback wrote for a small real test."""
    import openhtf as htf
    from openhtf.output.callbacks import json_factory
    from openhtf.util import units

    htf.conf.load(station_id=HTF_STATION)

    @htf.measures(htf.Measurement("vcc").in_range(3.2, 3.4).with_units(units.VOLT))
    @htf.measures(htf.Measurement("Gap").in_range(0.1, 0.3))
    def power(test: Any) -> None:
        test.measurements.vcc = 3.3
        test.measurements.Gap = 0.21

    path = tmp_path_factory.mktemp("openhtf") / "board.json"
    test = htf.Test(power, test_name="board")
    test.add_output_callbacks(json_factory.OutputToJSON(str(path), indent=2))
    test.execute(test_start=lambda: "SN-HTF-1")
    return path


def test_upload_a_real_openhtf_record(
    client: TestClient, world: World, openhtf_record: Path
) -> None:
    content = openhtf_record.read_bytes()
    data = {"build": "PLT-1", "format": "auto"}
    answer = client.post("/ingest/files", files={"file": ("board.json", content)}, data=data)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["format"], body["inserted"], body["rejected"]) == ("openhtf", 1, 0)
    assert body["measurements"] == 2
    assert [c["name"] for c in body["new_characteristics"]] == ["vcc"]
    again = client.post("/ingest/files", files={"file": ("board.json", content)}, data=data)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    with uow_of(client) as uow:
        station_id = uow.session.scalar(select(TestRun.station_id))
    assert station_id == world.station_ids[HTF_STATION]


def test_an_empty_or_unreadable_file_is_422_and_recorded(client: TestClient, world: World) -> None:
    empty = client.post("/ingest/files", files={"file": ("empty.csv", b"")})
    error = assert_error(empty, 422, "invalid_input")
    assert "empty.csv" in error["message"] and "empty" in error["message"]
    unknown = client.post("/ingest/files", files={"file": ("x.json", b'{"hello": 1}')})
    assert "cannot tell the JSON format" in assert_error(unknown, 422, "invalid_input")["message"]
    header_only = client.post(
        "/ingest/files", files={"file": ("h.csv", LONG_CSV.splitlines()[0].encode())}
    )
    assert "h.csv" in assert_error(header_only, 422, "invalid_input")["message"]
    nothing = b'{"format": "phasegate.test-data/1", "test_runs": []}'
    no_records = client.post("/ingest/files", files={"file": ("none.json", nothing)})
    assert "holds no records" in assert_error(no_records, 422, "invalid_input", "file")["message"]
    history = client.get("/ingest/files").json()["items"]
    failed = {e["name"]: e["status"] for e in history}
    assert failed["empty.csv"] == "failed" and failed["x.json"] == "failed"
    empty_id = next(e["id"] for e in history if e["name"] == "empty.csv")
    [reject] = client.get(f"/ingest/files/{empty_id}/rejects").json()["items"]
    assert "empty" in reject["reason"]


def test_an_upload_must_be_a_multipart_form_with_a_file(client: TestClient, world: World) -> None:
    error = assert_error(
        client.post("/ingest/files", json={"file": "x"}), 415, "unsupported_media_type"
    )
    assert "multipart/form-data" in error["message"]
    assert_error(
        client.post("/ingest/files", data={"format": "csv"}, files={"other": ("a", b"1")}),
        422,
        "invalid_input",
        "other",
    )
    assert_error(
        client.post("/ingest/files", data={"format": "csv"}), 415, "unsupported_media_type"
    )
    no_file = client.post("/ingest/files", files={"format": (None, "csv")})
    assert_error(no_file, 422, "invalid_input", "file")
    files = {"file": ("run.csv", LONG_CSV.encode())}
    bad_format = client.post("/ingest/files", files=files, data={"format": "xlsx"})
    assert_error(bad_format, 422, "invalid_input", "format")
    bad_build = client.post("/ingest/files", files=files, data={"build": "P\x00"})
    assert_error(bad_build, 422, "invalid_input", "build")
    broken = client.post(
        "/ingest/files",
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab',
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= broken.status_code < 500
    assert count(client, TestRun) == 0


@pytest.fixture
def small_upload_client(migrated_sqlite_url: str) -> Iterator[TestClient]:
    """The API over SQLite with uploads limited to 2,000 bytes."""
    engine = db.make_engine(migrated_sqlite_url)
    db.empty_database(engine)
    settings = Settings(
        database_url=migrated_sqlite_url, secret_key=SECRET_KEY, max_upload_bytes=2000
    )
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="http://testserver/api/v1") as test_client:
        sign_in_as_admin(test_client)
        yield test_client
    engine.dispose()


def test_an_upload_over_the_limit_is_413(small_upload_client: TestClient) -> None:
    client = small_upload_client
    big = b"serial,name,value\n" + b"SN-1,Gap,0.2\n" * 400
    answer = client.post("/ingest/files", files={"file": ("big.csv", big)})
    error = assert_error(answer, 413, "too_large")
    assert "2000 bytes" in error["message"]

    # Without a Content-Length (chunked), the bytes are counted as they arrive.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(100):
            yield b"SN-1,Gap,0.2\n" * 10
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = client.post(
        "/ingest/files",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_error(streamed, 413, "too_large")
    # JSON bodies keep their own limit; a small upload goes through to the reader.
    small = client.post("/ingest/files", files={"file": ("s.csv", b"serial,name,value\n")})
    assert small.status_code == 422, small.text
    assert client.get("/ingest/files").json()["total"] == 1


def test_a_deeply_nested_upload_is_not_a_500(client: TestClient, world: World) -> None:
    deep = "[" * 5000 + "1" + "]" * 5000
    document = {"format": "phasegate.test-data/1", "build": "PLT-1", "test_runs": [run("SN-4")]}
    nested = json.dumps(document).replace(
        '"outcome": "pass"', f'"extra": {{"x": {deep}}}, "outcome": "pass"', 1
    )
    answer = client.post("/ingest/files", files={"file": ("deep.json", nested.encode())})
    assert 200 <= answer.status_code < 500, answer.text
    body = json.dumps(run("SN-5")).replace(
        '"outcome": "pass"', f'"extra": {{"x": {deep}}}, "outcome": "pass"', 1
    )
    headers = {"content-type": "application/json"}
    answer = client.post("/test-runs", content=body.encode(), headers=headers)
    assert 200 <= answer.status_code < 500, answer.text


def test_a_nul_in_an_uploaded_file_is_that_records_reject(client: TestClient, world: World) -> None:
    """The request routes refuse such a record themselves; a file's records reach the service
    as the readers made them."""
    document = {
        "format": "phasegate.test-data/1",
        "build": "PLT-1",
        "test_runs": [
            run("SN-1"),
            run("SN-\x00", minute=1),
            run("SN-3", minute=2, operator="\x00"),
        ],
    }
    files = {"file": ("runs.json", json.dumps(document).encode())}
    answer = client.post("/ingest/files", files=files)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["inserted"], answer.json()["rejected"]) == (1, 2)


# --- the preview ------------------------------------------------------------------------------


def _stored(client: TestClient) -> dict[str, int]:
    from phasegate.store.models import (
        AuditEvent,
        Characteristic,
        IngestFile,
        IngestReject,
        Unit,
    )

    return {
        m.__name__: count(client, m)
        for m in (TestRun, Measurement, Unit, Characteristic, IngestFile, IngestReject, AuditEvent)
    }


def test_the_preview_answers_what_the_upload_then_does(client: TestClient, world: World) -> None:
    gap = client.get("/characteristics", params={"product": world.product, "q": "Gap"}).json()
    gap_id = gap["items"][0]["id"]
    alias = {"product_id": gap["items"][0]["product_id"], "alias": "GAP_MM"}
    made = client.post("/characteristic-aliases", json=alias | {"characteristic_id": gap_id})
    assert made.status_code == 201, made.text
    data = LONG_CSV.replace("PLT-1,Gap,0.25", "PLT-1,gap_mm,0.25").encode()
    before = _stored(client)

    seen = client.post("/ingest/preview", files={"file": ("run.csv", data)})
    assert seen.status_code == 200, seen.text
    assert _stored(client) == before
    body = seen.json()
    assert (body["format"], body["read"], body["more"]) == ("csv", 3, False)
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
    assert {m["name"]: (m["how"], m["characteristic"]) for m in body["mapping"]} == {
        "Gap": ("name", "Gap"),
        "Flatness": ("new", "Flatness"),
        "gap_mm": ("alias", "Gap"),
    }
    by_name = {m["name"]: m for m in body["mapping"]}
    assert by_name["gap_mm"]["characteristic_id"] == gap_id
    assert by_name["Flatness"]["characteristic_id"] is None

    stored = client.post("/ingest/files", files={"file": ("run.csv", data)}).json()
    assert (stored["inserted"], stored["duplicates"], stored["rejected"]) == (2, 0, 1)
    [reject] = [r for r in body["records"] if r["status"] == "rejected"]
    assert [(r["where"], r["reason"]) for r in stored["rejects"]] == [
        (reject["where"], reject["reason"])
    ]
    assert [c["name"] for c in stored["new_characteristics"]] == ["Flatness"]

    again = client.post("/ingest/preview", files={"file": ("run.csv", data)}).json()
    assert [r["status"] for r in again["records"]] == ["duplicate", "duplicate", "rejected"]
    assert {m["name"]: m["how"] for m in again["mapping"]} == {}


def test_the_preview_of_an_unreadable_file_is_422_and_records_nothing(
    client: TestClient, world: World
) -> None:
    before = _stored(client)
    answer = client.post("/ingest/preview", files={"file": ("empty.csv", b"")})
    assert_error(answer, 422, "invalid_input")
    assert _stored(client) == before
    reader_token = bearer(new_token(client, "api-admin", (Scope.READ,)))
    refused = client.post(
        "/ingest/preview", files={"file": ("a.csv", LONG_CSV.encode())}, headers=reader_token
    )
    assert_error(refused, 403, "forbidden")
