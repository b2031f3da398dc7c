"""Parallel clients against a real server: uvicorn in a process of its own on 127.0.0.1.

The server runs the application the way ``phasegate serve`` does (the factory, over a migrated
SQLite file and over a PostgreSQL database of its own); the clients are threads with their own
HTTP connections, so requests really overlap in the server and in the database. Every client
sends the bearer token of an admin created in the database before the server starts.

- 20 clients record the same gate decision at once: exactly one is stored, the others get 409.
- 20 clients change one record with the same ``If-Match``: one 200, nineteen 412.
- 8 clients mix writes for ``MIXED_WRITES_S`` seconds (read then change with ``If-Match``,
  retrying on 412; change without ``If-Match``; create): afterwards every audit event's
  ``before`` is the previous event's ``after`` for the same record and field, and every write
  the server acknowledged is there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from phasegate.domain.policy import SYSTEM, Role, Scope
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.api.support import SECRET_KEY, bearer
from tests.conftest import new_postgres_database

PARALLEL = 20
CLIENTS = 8
# The issue asks for 30 s of mixed writes per backend; the loop also stops after
# MAX_WRITES_PER_CLIENT writes, so a fast machine cannot make the audit trail unbounded.
MIXED_WRITES_S = 30.0
MAX_WRITES_PER_CLIENT = 2_000
STARTUP_S = 30.0
COUNTED = "target_annual_volume"  # the field the If-Match clients increment


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'server.db'}"
        return
    with new_postgres_database("phasegate_server") as url:
        yield url


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start at {base}:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class Server:
    url: str  # the API's base URL
    token: str  # an admin's token of every scope


def _admin_token(url: str) -> str:
    """An admin user in the database at ``url``, and a token of every scope for it."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "racer", Role.ADMIN, actor=SYSTEM)
    _, token = identity.create_token(uow, actor=SYSTEM, user="racer", scopes=list(Scope))
    engine.dispose()
    return token


@contextmanager
def running_server(url: str, folder: Path) -> Iterator[str]:
    """``uvicorn --factory phasegate.app:create_app_from_env`` on a free port; its base URL."""
    port = _free_port()
    env = {**os.environ, "PHASEGATE_DATABASE_URL": url, "PHASEGATE_SECRET_KEY": SECRET_KEY}
    command = [sys.executable, "-m", "uvicorn", "--factory", "phasegate.app:create_app_from_env"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = folder / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    with _database(request.param, folder) as url:
        token = _admin_token(url)
        with running_server(url, folder) as base:
            yield Server(f"{base}/api/v1", token)


def _client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=bearer(server.token), timeout=60)


def _created(client: httpx.Client, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _error_type(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "fields"}
    kind: str = body["error"]["type"]
    return kind


def _all_at_once(
    server: Server, n: int, request: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``request`` from ``n`` threads, each with a connection of its own, released together."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with _client(server) as client:
            client.get("/health")  # the connection is open before the race starts
            barrier.wait(timeout=30)
            return request(client, i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _audit_events(client: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    """Every audit event (matching ``filters``), oldest first."""
    events: list[dict[str, Any]] = []
    while True:
        response = client.get(
            "/audit-events", params={**filters, "limit": 500, "offset": len(events)}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["items"]
        if not page["items"] or len(events) >= page["total"]:
            return sorted(events, key=lambda e: e["id"])


@pytest.mark.parametrize("round_", range(3))
def test_one_open_review_per_gate(server: Server, round_: int) -> None:
    """Of reviews of one gate opened at once, one opens; the others hear it is open."""
    key = f"GATE-{round_}"
    with _client(server) as client:
        _created(client, "/products", {"key": key, "name": f"Gate race {round_}"})
    responses = _all_at_once(
        server, PARALLEL, lambda c, _: c.post(f"/products/{key}/gates/pilot/reviews")
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: PARALLEL - 1}, [
        r.text for r in responses if r.status_code != 409
    ]
    for response in responses:
        if response.status_code == 409:
            assert _error_type(response) == "conflict"
    with _client(server) as client:
        assert client.get(f"/products/{key}").json()["phase"] == "prototype"
        product_id = client.get(f"/products/{key}").json()["id"]
        opened = [
            e for e in _audit_events(client, product_id=product_id) if e["action"] == "decision"
        ]
        assert len(opened) == 1 and opened[0]["summary"].endswith("opened, suggestion No go")


def test_one_change_per_version(server: Server) -> None:
    with _client(server) as client:
        product = _created(client, "/products", {"key": "IFMATCH", "name": "Stale writers"})
        read = client.get(f"/products/{product['id']}")
        tag = read.headers.get("ETag")
        assert tag, "GET answers no ETag"
    path = f"/products/{product['id']}"
    responses = _all_at_once(
        server,
        PARALLEL,
        lambda c, i: c.patch(path, json={"description": f"writer {i}"}, headers={"If-Match": tag}),
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: PARALLEL - 1}, [
        r.text for r in responses if r.status_code != 412
    ]
    winner = next(r for r in responses if r.status_code == 200)
    for response in responses:
        if response.status_code == 412:
            assert _error_type(response) == "precondition_failed"
    with _client(server) as client:
        now = client.get(path)
        assert now.json()["description"] == winner.json()["description"]
        assert now.headers["ETag"] == winner.headers["ETag"] != tag
        updates = [
            e
            for e in _audit_events(client, entity_type="products", entity_id=product["id"])
            if e["action"] == "update"
        ]
        assert len(updates) == 1 and updates[0]["after"] == {
            "description": winner.json()["description"]
        }


@dataclass
class Acknowledged:
    """What the server said it did, per client; compared with the database at the end."""

    increments: Counter[int] = field(default_factory=Counter)  # product id -> +1s acknowledged
    descriptions: dict[int, list[str]] = field(default_factory=dict)  # product id -> texts
    created: list[dict[str, Any]] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)  # 412s met while incrementing
    unexpected: list[str] = field(default_factory=list)


def _increment(client: httpx.Client, product_id: int, seen: Acknowledged) -> None:
    """Read, then add one with ``If-Match``; read again after every 412."""
    path = f"/products/{product_id}"
    for _ in range(200):
        read = client.get(path)
        value = read.json()[COUNTED]
        response = client.patch(
            path, json={COUNTED: value + 1}, headers={"If-Match": read.headers["ETag"]}
        )
        if response.status_code == 200:
            assert response.json()[COUNTED] == value + 1
            seen.increments[product_id] += 1
            return
        if response.status_code != 412:
            seen.unexpected.append(
                f"PATCH {path} {COUNTED}: {response.status_code} {response.text}"
            )
            return
        seen.refused[product_id] += 1
    seen.unexpected.append(f"PATCH {path}: still 412 after 200 tries")


def _describe(client: httpx.Client, product_id: int, text: str, seen: Acknowledged) -> None:
    response = client.patch(f"/products/{product_id}", json={"description": text})
    if response.status_code == 200:
        seen.descriptions.setdefault(product_id, []).append(text)
    else:
        seen.unexpected.append(f"PATCH description: {response.status_code} {response.text}")


def _create(client: httpx.Client, key: str, seen: Acknowledged) -> None:
    response = client.post("/products", json={"key": key, "name": f"Made under load {key}"})
    if response.status_code == 201:
        seen.created.append(response.json())
    else:
        seen.unexpected.append(f"POST /products {key}: {response.status_code} {response.text}")


def _mixed_writer(server: Server, number: int, targets: list[int], stop_at: float) -> Acknowledged:
    seen = Acknowledged()
    with _client(server) as client:
        for step in range(MAX_WRITES_PER_CLIENT):
            if time.monotonic() >= stop_at:
                break
            target = targets[(number + step) % len(targets)]
            kind = (number + step) % 4
            if kind in (0, 1):
                _increment(client, target, seen)
            elif kind == 2:
                _describe(client, target, f"writer {number} step {step}", seen)
            else:
                _create(client, f"W{number}-{step}", seen)
    return seen


def _merge(parts: list[Acknowledged]) -> Acknowledged:
    total = Acknowledged()
    for part in parts:
        total.increments.update(part.increments)
        total.refused.update(part.refused)
        for product_id, texts in part.descriptions.items():
            total.descriptions.setdefault(product_id, []).extend(texts)
        total.created += part.created
        total.unexpected += part.unexpected
    return total


def _broken_links(events: list[dict[str, Any]]) -> list[str]:
    """Where an event's ``before`` is not the previous ``after`` of the same record and field."""
    last: dict[tuple[str, int, str], Any] = {}
    broken = []
    for event in events:
        record = (event["entity_type"], event["entity_id"])
        for name, value in (event["before"] or {}).items():
            previous = last.get((*record, name), "<never written>")
            if previous != value:
                broken.append(
                    f"event {event['id']} {record} {name}: "
                    f"before {value!r}, previous after {previous!r}"
                )
        for name, value in (event["after"] or {}).items():
            last[(*record, name)] = value
    return broken


def test_mixed_writes_keep_every_write_and_a_true_audit_trail(server: Server) -> None:
    with _client(server) as client:
        targets = [
            _created(
                client, "/products", {"key": f"MIX-{i}", "name": f"Contended {i}", COUNTED: 1000}
            )["id"]
            for i in range(3)
        ]
    stop_at = time.monotonic() + MIXED_WRITES_S
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(_mixed_writer, server, n, targets, stop_at) for n in range(CLIENTS)]
        seen = _merge([f.result() for f in futures])
    assert not seen.unexpected, seen.unexpected[:10]
    assert sum(seen.increments.values()) > 0 and seen.created

    with _client(server) as client:
        events = _audit_events(client)
        broken = _broken_links(events)
        assert not broken, f"{len(broken)} broken links, e.g. {broken[:5]}"
        for product_id in targets:
            now = client.get(f"/products/{product_id}").json()
            assert now[COUNTED] == 1000 + seen.increments[product_id], "an increment was lost"
            written = [
                e["after"]["description"]
                for e in events
                if e["action"] == "update"
                and e["entity_type"] == "products"
                and e["entity_id"] == product_id
                and "description" in e["after"]
            ]
            assert Counter(written) == Counter(seen.descriptions.get(product_id, []))
            if written:
                assert now["description"] == written[-1]
        for record in seen.created:
            again = client.get(f"/products/{record['id']}")
            assert again.status_code == 200 and again.json()["key"] == record["key"]


def test_the_chain_check_finds_a_broken_link() -> None:
    def event(number: int, before: Any, after: Any) -> dict[str, Any]:
        return {
            "id": number,
            "entity_type": "products",
            "entity_id": 1,
            "before": before,
            "after": after,
        }

    chain = [
        event(1, None, {"name": "a", COUNTED: 1}),
        event(2, {COUNTED: 1}, {COUNTED: 2}),
        event(3, {"name": "a"}, {"name": "b"}),
    ]
    assert _broken_links(chain) == []
    lost = [*chain, event(4, {COUNTED: 1}, {COUNTED: 2})]  # two writers read the same value
    assert _broken_links(lost) == [
        "event 4 ('products', 1) target_annual_volume: before 1, previous after 2"
    ]
    assert _broken_links([event(5, {"name": "x"}, {"name": "y"})])  # no create before it
