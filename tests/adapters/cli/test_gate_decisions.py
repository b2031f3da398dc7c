"""``phasegate gates open|sign|waive|decide|show``: a gate decided by review from the command
line, each step by the user ``PHASEGATE_USER`` names; exit codes and errors."""

from __future__ import annotations

import csv
import io

from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner
from tests.factories import make_product

ROLES = (Role.ENGINEER, Role.QUALITY, Role.OPERATIONS, Role.PRODUCT)


def _seed(url: str) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    for role in ROLES:
        identity.create_user(uow, f"{role.value}-1", role, actor=SYSTEM)
    make_product(uow, key="AQM", name="Air monitor")
    engine.dispose()


def _as(role: Role) -> dict[str, str]:
    return {"PHASEGATE_USER": f"{role.value}-1"}


def test_a_gate_from_open_to_the_phase_change(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _seed(url)
    opened = run("gates", "open", "aqm", "--to", "pilot", "--format", "json", url=url,
                 env=_as(Role.PRODUCT))  # fmt: skip
    assert opened.code == 0, opened.err
    review = opened.json()
    assert (review["status"], review["opened_by"], review["suggestion"]) == (
        "open",
        "product-1",
        "no_go",
    )
    rid = str(review["id"])
    early = run("gates", "decide", rid, "--outcome", "go", url=url, env=_as(Role.PRODUCT))
    assert early.code == 1 and "sign-off missing from engineer" in early.err
    for role in ROLES:
        signed = run("gates", "sign", rid, "--approve", "--comment", "ok", url=url, env=_as(role))
        assert signed.code == 0, signed.err
    blocked = run("gates", "decide", rid, "--outcome", "go", url=url, env=_as(Role.PRODUCT))
    assert blocked.code == 1 and "suggests no go" in blocked.err
    for criterion in review["criteria"]:
        if criterion["blocking"] and criterion["status"] != "pass":
            waived = run("gates", "waive", rid, criterion["id"], "--reason", "pilot accepts it",
                         url=url, env=_as(Role.PRODUCT))  # fmt: skip
            assert waived.code == 0, waived.err
    decided = run("gates", "decide", rid, "--outcome", "conditional", "--rationale", "fan",
                  "--action", "Fan noise test;Ana;2026-03-01", "--format", "json", url=url,
                  env=_as(Role.PRODUCT))  # fmt: skip
    assert decided.code == 0, decided.err
    body = decided.json()
    assert body["decision"]["outcome"] == "conditional"
    assert body["decision"]["decided_by"] == "product-1"
    assert [(a["title"], a["owner"], a["due_on"]) for a in body["action_items"]] == [
        ("Fan noise test", "Ana", "2026-03-01")
    ]
    shown = run("gates", "show", rid, "--format", "csv", url=url)
    assert shown.code == 0, shown.err
    rows = list(csv.DictReader(io.StringIO(shown.out)))
    assert [r["id"] for r in rows] == [c["id"] for c in review["criteria"]]
    assert {r["then_status"] for r in rows if r["blocking"] == "True"} <= {"pass", "waived"}
    assert "waived" in {r["status"] for r in rows}
    table = run("gates", "show", rid, url=url)
    assert table.code == 0 and "Decision: conditional by product-1" in table.out
    listed = run("products", "list", "--format", "json", url=url)
    assert listed.code == 0, listed.err
    assert [p["phase"] for p in listed.json() if p["key"] == "AQM"] == ["pilot"]


def test_bad_usage_exits_2_naming_the_flag(run: Runner, database_url: str) -> None:
    _seed(database_url)
    opened = run("gates", "open", "AQM", "--to", "pilot", "--format", "json", url=database_url)
    rid = str(opened.json()["id"])
    bad = run("gates", "decide", rid, "--outcome", "conditional", "--action", "no date",
              url=database_url)  # fmt: skip
    assert bad.code == 2 and "--action" in bad.err
    unsigned = run("gates", "sign", rid, "--reject", url=database_url, env=_as(Role.QUALITY))
    assert unsigned.code == 2 and "--comment" in unsigned.err
    admin = run("gates", "sign", rid, "--approve", url=database_url)
    assert admin.code == 2 and "admin does not sign gates off" in admin.err
    again = run("gates", "open", "AQM", "--to", "pilot", url=database_url)
    assert again.code == 1 and "still open" in again.err
    missing = run("gates", "show", "9999", url=database_url)
    assert missing.code == 1 and "gate review 9999 does not exist" in missing.err
