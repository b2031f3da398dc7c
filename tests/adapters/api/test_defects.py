"""``/builds/{code}/defects``, its Pareto and rates, and ``/builds/{code}/allocations``: the
contract (statuses, shapes, errors), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import insert

from phasegate.domain.enums import Disposition, Severity
from phasegate.domain.policy import Role, Scope
from phasegate.services import crud, quality
from phasegate.store.models import Defect, Line
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.factories import ACTOR, make_build, make_line, make_partner, make_product, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _seed(client: TestClient) -> int:
    """Build PLT-1 of product AQM: 4 units SN-1..SN-4 (unallocated), 3 defects; another
    partner's build CM-1. Returns that partner's id.

    SN-1  C1  S1      major     rework     10.0  +1 h
    SN-2  C1  S2      minor     scrap       4.0  +2 h
    SN-3  C2  (none)  cosmetic  use_as_is   0.0  +3 h
    """
    uow = uow_of(client)
    product = make_product(uow, key="AQM")
    line = make_line(uow, stations=2)
    pilot = {"phase": "pilot", "fidelity": None, "technique": None, "line_id": line.id}
    build = make_build(uow, product_id=product.id, code="PLT-1", **pilot)
    partner = make_partner(uow)
    other = make_build(uow, product_id=product.id, code="CM-1", partner_id=partner.id, **pilot)
    make_unit(uow, other, serial="CM-SN-1")
    units = [make_unit(uow, build, serial=f"SN-{i}").id for i in range(1, 5)]
    codes = [
        crud.create(uow, quality.DEFECT_CODES, {"code": c, "description": c}, actor=ACTOR).id
        for c in ("C1", "C2")
    ]
    with uow:
        s1, s2 = (s.id for s in uow.get(Line, line.id).stations)
        rows = [
            (0, 0, s1, Severity.MAJOR, Disposition.REWORK, 10.0),
            (1, 0, s2, Severity.MINOR, Disposition.SCRAP, 4.0),
            (2, 1, None, Severity.COSMETIC, Disposition.USE_AS_IS, 0.0),
        ]
        uow.session.execute(
            insert(Defect),
            [
                {
                    "unit_id": units[u],
                    "defect_code_id": codes[c],
                    "station_id": st,
                    "severity": sev,
                    "disposition": disp,
                    "cost": cost,
                    "found_at": T0 + dt.timedelta(hours=i + 1),
                    "source_id": f"d-{i}",
                }
                for i, (u, c, st, sev, disp, cost) in enumerate(rows)
            ],
        )
        uow.commit()
    return partner.id


def test_the_defect_list_with_filters_and_keyed_pages(client: TestClient) -> None:
    _seed(client)
    answer = client.get("/builds/plt-1/defects")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["build"], body["product"], body["total"], body["total_cost"], body["units"]) == (
        "PLT-1",
        "AQM",
        3,
        14.0,
        3,
    )
    assert [d["serial"] for d in body["items"]] == ["SN-3", "SN-2", "SN-1"]
    assert body["by_severity"] == {"critical": 0, "major": 1, "minor": 1, "cosmetic": 1}
    assert body["items"][0]["station"] is None and body["next_key"] is None
    first = client.get("/builds/PLT-1/defects", params={"limit": 2}).json()
    assert [d["serial"] for d in first["items"]] == ["SN-3", "SN-2"]
    rest = client.get("/builds/PLT-1/defects", params={"limit": 2, "after": first["next_key"]})
    assert [d["serial"] for d in rest.json()["items"]] == ["SN-1"]
    c1 = client.get("/builds/PLT-1/defects", params={"defect_code": "c1", "station": "S2"})
    assert [(d["serial"], d["code"], d["station"]) for d in c1.json()["items"]] == [
        ("SN-2", "C1", "S2")
    ]
    nowhere = client.get("/builds/PLT-1/defects", params={"station": "(none)"}).json()
    assert [d["serial"] for d in nowhere["items"]] == ["SN-3"]
    scrap = client.get("/builds/PLT-1/defects", params={"disposition": "scrap"}).json()
    assert (scrap["total"], scrap["total_cost"]) == (1, 4.0)


def test_the_defect_list_refuses_bad_input(client: TestClient) -> None:
    _seed(client)
    assert_error(
        client.get("/builds/PLT-1/defects", params={"severity": "fatal"}),
        422,
        "invalid_input",
        "severity",
    )
    assert_error(
        client.get("/builds/PLT-1/defects", params={"defect_code": "NOPE"}),
        422,
        "invalid_input",
        "defect_code",
    )
    assert_error(
        client.get("/builds/PLT-1/defects", params={"after": "12"}), 422, "invalid_input", "after"
    )
    assert_error(client.get("/builds/NOPE/defects"), 404, "not_found")
    other = make_product(uow_of(client), key="TWO")
    make_build(uow_of(client), product_id=other.id, code="PLT-1")
    assert_error(client.get("/builds/PLT-1/defects"), 422, "invalid_input", "product")
    assert client.get("/builds/PLT-1/defects", params={"product": "aqm"}).json()["total"] == 3


def test_the_pareto_and_the_rates(client: TestClient) -> None:
    _seed(client)
    answer = client.get("/builds/PLT-1/defects/pareto", params={"by": "station", "measure": "cost"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by"], body["measure"], body["n"], body["total_cost"]) == (
        "station",
        "cost",
        3,
        14.0,
    )
    assert body["insufficient"] is True and body["min_defects"] == 5  # 3 defects
    assert [(b["key"], b["count"], b["cost"]) for b in body["bars"]] == [
        ("S1", 1, 10.0),
        ("S2", 1, 4.0),
        ("(none)", 1, 0.0),
    ]
    assert [b["cumulative_share"] for b in body["bars"]] == [10 / 14, 1.0, 1.0]
    by_code = client.get("/builds/PLT-1/defects/pareto").json()
    assert [(b["key"], b["count"], b["share"]) for b in by_code["bars"]] == [
        ("C1", 2, 2 / 3),
        ("C2", 1, 1 / 3),
    ]
    assert_error(
        client.get("/builds/PLT-1/defects/pareto", params={"by": "operator"}),
        422,
        "invalid_input",
        "by",
    )
    rates = client.get("/builds/PLT-1/defects/rates").json()
    # 3 defects on 4 units; 2 stations and no characteristics: 2 opportunities per unit.
    assert (rates["units"], rates["defects"], rates["opportunities_per_unit"]) == (4, 3, 2)
    assert rates["dpu"]["value"] == 3 / 4
    assert rates["dpmo"]["value"] == 3 / 8 * 1e6
    assert rates["scrap_rate"]["value"] == 0.0  # no unit's status is scrapped
    assert rates["rework_rate"]["value"] == 1 / 4  # SN-1's defect is dispositioned rework
    lo, hi = rates["rework_rate"]["ci"]
    assert lo < 0.25 < hi


def test_allocations_counted_and_changed(client: TestClient) -> None:
    _seed(client)
    counts = client.get("/builds/PLT-1/allocations")
    assert counts.status_code == 200, counts.text
    assert counts.json()["counts"] == {
        "unallocated": 4,
        "testing": 0,
        "marketing": 0,
        "regulatory": 0,
        "engineering": 0,
        "customer": 0,
    }
    unit = client.get("/units", params={"serial": "SN-2"}).json()["items"][0]
    answer = client.post(
        "/builds/PLT-1/allocations",
        json={"purpose": "marketing", "serials": ["SN-2"], "versions": {"SN-2": unit["version"]}},
    )
    assert answer.status_code == 200, answer.text
    (changed,) = answer.json()["changed"]
    assert (changed["before"], changed["after"], changed["version"]) == (
        "unallocated",
        "marketing",
        unit["version"] + 1,
    )
    assert client.get(f"/units/{unit['id']}").headers["ETag"] == changed["etag"]
    stale = client.post(
        "/builds/PLT-1/allocations",
        json={"purpose": "testing", "serials": ["SN-2"], "versions": {"SN-2": unit["version"]}},
    )
    assert_error(stale, 412, "precondition_failed", "versions.SN-2")
    taken = client.post("/builds/PLT-1/allocations", json={"purpose": "regulatory", "count": 2})
    assert [u["serial"] for u in taken.json()["changed"]] == ["SN-1", "SN-3"]
    assert taken.json()["allocations"]["counts"]["regulatory"] == 2
    too_many = client.post("/builds/PLT-1/allocations", json={"purpose": "customer", "count": 2})
    assert_error(too_many, 422, "invalid_input", "count")
    for body in (
        {"purpose": "testing"},
        {"purpose": "testing", "count": 1, "serials": ["SN-4"]},
        {"purpose": "sales", "count": 1},
        {"purpose": "testing", "serials": ["SN-4"], "colour": "red"},
    ):
        assert_error(client.post("/builds/PLT-1/allocations", json=body), 422, "invalid_input")
    assert_error(
        client.post("/builds/PLT-1/allocations", json={"purpose": "testing", "serials": ["X"]}),
        422,
        "invalid_input",
        "serials",
    )


def test_who_may_allocate(client: TestClient) -> None:
    partner_id = _seed(client)
    add_user(client, "viewer", Role.VIEWER)
    viewer = bearer(new_token(client, "viewer", (Scope.READ,)))
    assert client.get("/builds/PLT-1/allocations", headers=viewer).status_code == 200
    change = {"purpose": "testing", "serials": ["SN-4"]}
    refused = client.post("/builds/PLT-1/allocations", json=change, headers=viewer)
    assert_error(refused, 403, "forbidden")
    add_user(client, "cm", Role.PARTNER, partner=partner_id)
    cm = bearer(new_token(client, "cm", (Scope.READ, Scope.WRITE)))
    hidden = client.post("/builds/PLT-1/allocations", json=change, headers=cm)
    assert_error(hidden, 404, "not_found")
    assert_error(client.get("/builds/PLT-1/defects", headers=cm), 404, "not_found")
    own = {"purpose": "testing", "serials": ["CM-SN-1"]}
    assert client.post("/builds/CM-1/allocations", json=own, headers=cm).status_code == 200
    assert client.get("/builds/CM-1/defects", headers=cm).json()["total"] == 0
