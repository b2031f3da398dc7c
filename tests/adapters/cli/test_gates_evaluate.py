"""``phasegate gates evaluate``: the JSON contract, one criterion per CSV row, the table, errors."""

from __future__ import annotations

import csv
import io

from phasegate.domain.enums import Phase
from phasegate.domain.policy import SYSTEM
from phasegate.services import identity
from phasegate.services.gates.evaluation import FLAT_COLUMNS, evaluate_gate
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner
from tests.factories import ACTOR
from tests.services.gates.test_evaluation import ready_prototype

CRITERION_KEYS = [
    "id", "title", "status", "blocking", "value", "threshold", "confidence", "evidence", "links"
]  # fmt: skip


def _seed(url: str) -> tuple[str, dict[str, object]]:
    """A prototype ready for its pilot gate except one Flow value out of spec."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    product = ready_prototype(uow, flow=[10.0, 11.6, 9.9])
    expected = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR).as_dict()
    engine.dispose()
    return product.key, expected


def test_json_is_the_contract(run: Runner, any_database_url: str) -> None:
    key, expected = _seed(any_database_url)
    done = run("gates", "evaluate", key.lower(), "--to", "pilot", "--format", "json",
               url=any_database_url)  # fmt: skip
    assert done.code == 0, done.err
    body = done.json()
    assert list(body) == ["product", "from", "to", "plan", "suggestion", "criteria"]
    assert body == expected
    assert (body["product"], body["from"], body["to"]) == (key, "prototype", "pilot")
    assert body["plan"] == {"name": "prototype-pilot", "version": "1"}
    assert body["suggestion"] == "no_go"
    for criterion in body["criteria"]:
        assert list(criterion) == CRITERION_KEYS
    ctq = next(c for c in body["criteria"] if c["id"] == "ctq-in-spec")
    assert (ctq["status"], ctq["value"]) == ("fail", 1)


def test_csv_has_one_row_per_criterion_and_the_table_the_suggestion(
    run: Runner, any_database_url: str
) -> None:
    key, expected = _seed(any_database_url)
    done = run("gates", "evaluate", key, "--to", "pilot", "--format", "csv", url=any_database_url)
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert list(rows[0]) == list(FLAT_COLUMNS)
    criteria = expected["criteria"]
    assert [r["id"] for r in rows] == [c["id"] for c in criteria]  # type: ignore[attr-defined]
    assert {r["id"]: r["status"] for r in rows}["ctq-in-spec"] == "fail"
    table = run("gates", "evaluate", key, "--to", "pilot", url=any_database_url)
    assert table.code == 0, table.err
    assert "Suggestion: no_go" in table.out
    assert "prototype -> pilot" in table.out


def test_a_gate_other_than_the_next_is_refused_naming_the_flag(
    run: Runner, any_database_url: str
) -> None:
    key, _ = _seed(any_database_url)
    done = run("gates", "evaluate", key, "--to", "production", url=any_database_url)
    assert done.code == 2
    assert "--to" in done.err
    assert "next gate is into pilot, not production" in done.err
    bad = run("gates", "evaluate", key, "--to", "prototype", url=any_database_url)
    assert bad.code == 2
    assert "must be pilot or production" in bad.err
    missing = run("gates", "evaluate", "NOPE", "--to", "pilot", url=any_database_url)
    assert missing.code == 1
    assert "product 'NOPE' does not exist" in missing.err
