"""CLI contract of ``phasegate ingest``: exit codes, per-file results, the drop folder, rejects."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.adapters.cli.conftest import Runner, seed_pilot_build

HEADER = "serial,station,started_at,ended_at,name,value,unit,outcome\n"


def _row(serial: str, minute: int, value: float, station: str = "S1") -> str:
    start = f"2026-03-02T08:{minute:02d}:00Z"
    end = f"2026-03-02T08:{minute:02d}:40Z"
    return f"{serial},{station},{start},{end},Gap,{value},mm,pass\n"


GOOD = HEADER + _row("SN-1", 0, 0.2) + _row("SN-2", 1, 0.21)
PARTLY_BAD = HEADER + _row("SN-3", 2, 0.2) + _row("SN-4", 3, 0.2, station="Oven")


@pytest.fixture
def seeded(database_url: str) -> str:
    seed_pilot_build(database_url)
    return database_url


def test_files_go_in_once_and_again_are_already_present(
    run: Runner, seeded: str, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    first = run("ingest", str(tmp_path / "a.csv"), "--build", "AQM-PLT", "--format-out", "json")
    assert first.code == 0, first.err
    (row,) = first.json()
    assert (row["inserted"], row["duplicates"], row["rejected"], row["status"]) == (
        2,
        0,
        0,
        "done",
    )
    assert row["new_characteristics"] == ["Gap"]

    again = run("ingest", str(tmp_path / "a.csv"), "--build", "AQM-PLT")
    assert again.code == 0, again.err
    assert "already present" in again.out
    assert "a.csv" in again.out


def test_rejected_records_and_unreadable_files_exit_2_with_one_line_per_file(
    run: Runner, seeded: str, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.csv").write_text(GOOD)
    (folder / "partly.csv").write_text(PARTLY_BAD)
    (folder / "empty.csv").write_text("")
    (folder / "notes.md").write_text("not test data")

    result = run("ingest", str(folder), "--build", "AQM-PLT", "--format-out", "json")

    assert result.code == 2
    rows = {Path(r["file"]).name: r for r in result.json()}
    assert set(rows) == {"good.csv", "partly.csv", "empty.csv"}
    assert rows["good.csv"]["inserted"] == 2
    assert (rows["partly.csv"]["inserted"], rows["partly.csv"]["rejected"]) == (1, 1)
    assert "'Oven' is not a station" in rows["partly.csv"]["rejects"][0]["reason"]
    assert rows["empty.csv"]["status"] == "failed"
    lines = result.err.strip().splitlines()
    assert len(lines) == 2
    assert any("empty.csv" in line and "empty" in line.split(":", 1)[1] for line in lines)
    assert any("partly.csv: 1 records rejected" in line for line in lines)


def test_globs_and_a_glob_that_matches_nothing(run: Runner, seeded: str, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    ok = run("ingest", str(tmp_path / "*.csv"), "--build", "AQM-PLT", "--format-out", "json")
    assert ok.code == 0, ok.err
    assert [r["inserted"] for r in ok.json()] == [2]
    none = run("ingest", str(tmp_path / "*.json"))
    assert none.code == 2
    assert "nothing matches" in none.err


def test_bad_options_are_usage_errors(run: Runner, seeded: str, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    bad_column = run("ingest", str(tmp_path / "a.csv"), "--column", "serial")
    assert bad_column.code == 2
    assert "NAME=HEADER" in bad_column.err
    nothing = run("ingest", "files")
    assert nothing.code == 2
    assert len(nothing.err.strip().splitlines()) == 1


def test_a_column_map_and_a_delimiter(run: Runner, seeded: str, tmp_path: Path) -> None:
    text = GOOD.replace("serial,", "SN,").replace(",", ";")
    (tmp_path / "semi.csv").write_text(text)
    result = run(
        "ingest",
        str(tmp_path / "semi.csv"),
        "--build",
        "AQM-PLT",
        "--column",
        "serial=SN",
        "--delimiter",
        ";",
        "--format",
        "csv",
        "--format-out",
        "json",
    )
    assert result.code == 0, result.err
    assert result.json()[0]["inserted"] == 2


def test_watch_once_moves_files_to_done_and_failed(
    run: Runner, seeded: str, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.csv").write_text(GOOD)
    (drop / "broken.json").write_text("{not json")

    result = run("ingest", "--watch", str(drop), "--interval", "0", "--once", "--build", "AQM-PLT")

    assert result.code == 2
    assert (drop / "done" / "good.csv").exists()
    assert (drop / "failed" / "broken.json").exists()
    reason = (drop / "failed" / "broken.json.reason.txt").read_text()
    assert "broken.json" in reason
    assert not (drop / "good.csv").exists() and not (drop / "broken.json").exists()
    assert "good.csv: 2 inserted, 0 already present, 0 rejected" in result.out
    assert "broken.json" in result.err

    # Nothing left: another pass takes nothing and succeeds.
    (drop / "again.csv").write_text(GOOD)
    again = run("ingest", "--watch", str(drop), "--interval", "0", "--once")
    assert again.code == 0, again.err
    assert "again.csv: 0 inserted, 2 already present" in again.out


def test_rejects_are_listed_and_exported(run: Runner, seeded: str, tmp_path: Path) -> None:
    (tmp_path / "partly.csv").write_text(PARTLY_BAD)
    assert run("ingest", str(tmp_path / "partly.csv"), "--build", "AQM-PLT").code == 2

    listed = run("ingest", "rejects", "--format", "json")
    assert listed.code == 0, listed.err
    (reject,) = listed.json()
    assert reject["kind"] == "test_run"
    assert reject["where"].startswith(str(tmp_path / "partly.csv"))
    assert "SN-4" in reject["raw"]
    table = run("ingest", "rejects", "--file", str(reject["file_id"]))
    assert table.code == 0 and "Oven" in table.out
    assert run("ingest", "rejects", "--file", "999").code == 1

    export = tmp_path / "rejects.csv"
    exported = run("ingest", "rejects", "--export", str(export))
    assert exported.code == 0, exported.err
    with export.open() as stream:
        rows = list(csv.DictReader(stream))
    assert [r["id"] for r in rows] == [str(reject["id"])]
    assert "SN-4" in rows[0]["raw"]

    # The repaired file brings in only what was missing; the reject is resolved.
    (tmp_path / "partly.csv").write_text(PARTLY_BAD.replace("Oven", "S2"))
    repaired = run(
        "ingest", str(tmp_path / "partly.csv"), "--build", "AQM-PLT", "--format-out", "json"
    )
    assert repaired.code == 0, repaired.err
    assert (repaired.json()[0]["inserted"], repaired.json()[0]["duplicates"]) == (1, 1)
    assert run("ingest", "rejects", "--unresolved", "--format", "json").json() == []


def test_ingest_on_each_backend(run: Runner, any_database_url: str, tmp_path: Path) -> None:
    seed_pilot_build(any_database_url)
    (tmp_path / "a.csv").write_text(PARTLY_BAD)
    first = run(
        "ingest",
        str(tmp_path / "a.csv"),
        "--build",
        "AQM-PLT",
        "--batch",
        "1",
        "--format-out",
        "json",
        url=any_database_url,
    )
    assert first.code == 2
    assert (first.json()[0]["inserted"], first.json()[0]["rejected"]) == (1, 1)
    listed = run("ingest", "rejects", "--format", "csv", url=any_database_url)
    assert listed.code == 0, listed.err
    assert listed.out.splitlines()[0].startswith("id,file_id,where,kind,reason")
    assert len(listed.out.splitlines()) == 2
