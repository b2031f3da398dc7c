"""CLI contract of ``phasegate control-plan``: exit codes, JSON and CSV shapes, errors naming the
flag, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from phasegate.domain.policy import SYSTEM
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner, seed_pilot_build
from tests.services.test_control_plan import aiag_readings, precise_readings

CHARS = [
    {"name": "Bore", "lsl": 9.0, "usl": 11.0, "ctq": True},
    {"name": "Leak", "usl": 2.0, "ctq": True},
]


def _readings_csv(tmp_path: Path, readings: list[dict[str, object]]) -> Path:
    path = tmp_path / "study.csv"
    lines = ["part,operator,value"] + [
        f"{r['part']},{r['operator']},{r['value']}" for r in readings
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _planned(run: Runner, url: str) -> None:
    """Product AQM with CTQs Bore and Leak, a draft plan and gauge MIC-1, one item on S1."""
    seed_pilot_build(url, CHARS)
    assert run("control-plan", "new", "AQM", "--name", "Pilot plan", url=url).code == 0
    assert run("control-plan", "add-gauge", "MIC-1", "--product", "AQM", url=url).code == 0
    added = run(
        "control-plan", "add-item", "AQM", "--station", "S1", "--characteristic", "bore",
        "--method", "Micrometer", "--sample-size", "5", "--frequency", "every 50 units",
        "--every", "50", "--per", "unit", "--chart", "xbar-r", "--gauge", "mic-1",
        "--reaction", "Stop and contain", "--format", "json", url=url,
    )  # fmt: skip
    assert added.code == 0, added.err
    assert added.json()["sample_size"] == 5


def test_show_add_and_coverage(run: Runner, any_database_url: str, tmp_path: Path) -> None:
    url = any_database_url
    _planned(run, url)
    shown = run("control-plan", "show", "AQM", "--format", "json", url=url)
    assert shown.code == 0, shown.err
    (item,) = shown.json()["items"]
    assert (item["station"], item["characteristic"], item["gauge"]) == ("S1", "Bore", "MIC-1")
    assert shown.json()["plan"]["status"] == "draft"

    table = run("control-plan", "show", "AQM", url=url)
    assert table.code == 0 and "Micrometer" in table.out and "Pilot plan" in table.out

    study = run(
        "control-plan", "gage", "MIC-1", str(_readings_csv(tmp_path, precise_readings())),
        "--characteristic", "Bore", "--date", "2026-11-02", "--format", "json", url=url,
    )  # fmt: skip
    assert study.code == 0, study.err
    assert study.json()["verdict"] == "acceptable" and study.json()["tolerance"] == 2.0

    cov = run("control-plan", "coverage", "AQM", "--format", "json", url=url)
    assert cov.code == 0, cov.err
    bore, leak = cov.json()["ctqs"]
    assert bore["covered"] and bore["verdict"] == "acceptable" and bore["gauge"] == "MIC-1"
    assert not leak["covered"] and cov.json()["complete"] is False

    rows = list(csv.DictReader(io.StringIO(run("control-plan", "coverage", "AQM",
                                                "--format", "csv", url=url).out)))  # fmt: skip
    assert [r["characteristic"] for r in rows] == ["Bore", "Leak"]
    assert rows[0]["verdict"] == "acceptable" and rows[1]["covered"] == "False"
    text = run("control-plan", "coverage", "AQM", url=url)
    assert text.code == 0 and "covers 1 of 2 CTQs" in text.out


def test_aiag_study_from_csv(run: Runner, database_url: str, tmp_path: Path) -> None:
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 6: %GRR 27.9 %, ndc 4."""
    _planned(run, database_url)
    study = run(
        "control-plan", "gage", "MIC-1", str(_readings_csv(tmp_path, aiag_readings())),
        "--characteristic", "Bore", "--tolerance", "6", "--format", "json", url=database_url,
    )  # fmt: skip
    assert study.code == 0, study.err
    assert abs(study.json()["pct_grr_study_var"] - 27.9) < 0.05 and study.json()["ndc"] == 4
    assert study.json()["verdict"] == "unacceptable"


def test_update_and_remove_item(run: Runner, database_url: str) -> None:
    _planned(run, database_url)
    item = run("control-plan", "show", "AQM", "--format", "json", url=database_url).json()
    ident = str(item["items"][0]["id"])
    changed = run("control-plan", "update-item", ident, "--sample-size", "3", "--format", "json",
                  url=database_url)  # fmt: skip
    assert changed.code == 0 and changed.json()["sample_size"] == 3
    assert run("control-plan", "remove-item", ident, url=database_url).code == 0
    after = run("control-plan", "show", "AQM", "--format", "csv", url=database_url)
    assert after.code == 0 and after.out.count("\n") == 1  # the header alone


def test_errors_name_the_flag(run: Runner, database_url: str, tmp_path: Path) -> None:
    _planned(run, database_url)
    bad = run(
        "control-plan", "add-item", "AQM", "--station", "S1", "--characteristic", "Bore",
        "--method", "m", "--sample-size", "0", "--frequency", "f", "--reaction", "r",
        "--chart", "pie", url=database_url,
    )  # fmt: skip
    assert bad.code == 2 and "--sample-size" in bad.err and "--chart" in bad.err
    nowhere = run(
        "control-plan", "add-item", "AQM", "--station", "Nowhere", "--characteristic", "Bore",
        "--method", "m", "--sample-size", "1", "--frequency", "f", "--reaction", "r",
        url=database_url,
    )  # fmt: skip
    assert nowhere.code == 2 and "--station" in nowhere.err
    missing = tmp_path / "gaps.csv"
    missing.write_text("part,operator,value\n1,A,1.0\n1,A,\n")
    gap = run("control-plan", "gage", "MIC-1", str(missing), "--characteristic", "Bore",
              url=database_url)  # fmt: skip
    assert gap.code == 2 and "3" in gap.err
    assert run("control-plan", "show", "NOPE", url=database_url).code == 1
    assert run("control-plan", "coverage", "AQM", "--plan", "999", url=database_url).code == 1


def test_a_viewer_cannot_change_the_plan(run: Runner, database_url: str) -> None:
    _planned(run, database_url)
    engine = db.make_engine(database_url)
    identity.create_user(UnitOfWork.for_engine(engine), "vic", "viewer", actor=SYSTEM)
    engine.dispose()
    env = {"PHASEGATE_USER": "vic"}
    refused = run("control-plan", "add-gauge", "MIC-2", url=database_url, env=env)
    assert refused.code == 1 and "may not create control plans" in refused.err
    assert run("control-plan", "coverage", "AQM", url=database_url, env=env).code == 0


def test_help_lists_the_commands(run: Runner) -> None:
    shown = run("control-plan", "--help")
    assert shown.code == 0
    for command in ("show", "add-item", "gage", "coverage", "new", "add-gauge"):
        assert command in shown.out
    assert "control-plan" in run("--help").out
