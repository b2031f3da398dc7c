"""CLI contract of ``phasegate line simulate`` and ``line trace``: exit codes, JSON, CSV, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from phasegate.cli.main import main

LINE = """
name = "Pilot line A"
[[stations]]
name = "SMT"
servers = 1
buffer = 2
time = { dist = "lognormal", mean = 42.0, cv = 0.2 }

[[stations]]
name = "AOI"
servers = 2
buffer = 2
time = { dist = "exponential", mean = 70.0 }
mtbf_s = 3600
mttr_s = 300

[[stations]]
name = "Test"
buffer = 0
time = { dist = "triangular", low = 30, mode = 38, high = 50 }
yield = 0.97
"""


@pytest.fixture
def line_file(tmp_path: Path) -> Path:
    path = tmp_path / "line.toml"
    path.write_text(LINE)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_simulate_json_has_the_contract_keys_and_repeats_with_the_seed(
    capsys: pytest.CaptureFixture[str], line_file: Path
) -> None:
    args = ("line", "simulate", str(line_file), "--units", "300", "--replications", "3")
    code, out, err = _run(capsys, *args, "--seed", "7", "--warmup", "20", "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert {"throughput_per_hour", "mean_wip", "mean_flow_time_s", "bottleneck", "ci"} <= set(
        document
    )
    assert set(document["ci"]) == {"throughput_per_hour", "mean_wip", "mean_flow_time_s"}
    for key, (low, high) in document["ci"].items():
        assert low <= document[key] <= high
    assert [s["name"] for s in document["stations"]] == ["SMT", "AOI", "Test"]
    for station in document["stations"]:
        assert {"utilization", "blocked", "starved"} <= set(station)
    assert document["bottleneck"] in {"SMT", "AOI", "Test"}
    assert (document["units"], document["replications"], document["seed"]) == (300, 3, 7)
    again = _run(capsys, *args, "--seed", "7", "--warmup", "20", "--format", "json")
    assert json.loads(again[1]) == document
    other = _run(capsys, *args, "--seed", "8", "--warmup", "20", "--format", "json")
    assert json.loads(other[1])["throughput_per_hour"] != document["throughput_per_hour"]


def test_simulate_csv_and_table(capsys: pytest.CaptureFixture[str], line_file: Path) -> None:
    code, out, _ = _run(
        capsys, "line", "simulate", str(line_file), "--units", "100", "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["station"] for r in rows] == ["SMT", "AOI", "Test"]
    code, out, _ = _run(capsys, "line", "simulate", str(line_file), "--units", "100")
    assert code == 0
    assert "bottleneck" in out and "throughput per hour" in out


def test_trace_gives_each_units_departures(
    capsys: pytest.CaptureFixture[str], line_file: Path, tmp_path: Path
) -> None:
    times = tmp_path / "times.csv"
    times.write_text("SMT,AOI,Test\n1,3,1\n1,1,1\n2,0.5,4\n")
    code, out, _ = _run(
        capsys, "line", "trace", str(line_file), "--times", str(times), "--format", "json"
    )
    assert code == 0
    # Worked by hand: unit 2 overtakes unit 1 on AOI's second server; unit 3 finishes AOI at
    # 4.5 but Test (no buffer) holds unit 1 until 5, so unit 3 is blocked on AOI until 5.
    assert json.loads(out) == {
        "line": "Pilot line A",
        "stations": ["SMT", "AOI", "Test"],
        "departures_s": [[1.0, 4.0, 5.0], [2.0, 3.0, 4.0], [4.0, 5.0, 9.0]],
    }
    code, out, _ = _run(
        capsys, "line", "trace", str(line_file), "--times", str(times), "--format", "csv"
    )
    assert code == 0
    assert out.splitlines() == [
        "unit,SMT,AOI,Test",
        "1,1.0,4.0,5.0",
        "2,2.0,3.0,4.0",
        "3,4.0,5.0,9.0",
    ]


@pytest.mark.parametrize(
    ("old", "new", "loc"),
    [
        ('dist = "exponential"', 'dist = "gamma"', "stations[1].time.dist"),
        ("cv = 0.2", "cv = -0.2", "stations[0].time.cv"),
        ("low = 30", "low = -30", "stations[2].time.low"),
        (
            'buffer = 2\ntime = { dist = "exp',
            'buffer = -1\ntime = { dist = "exp',
            "stations[1].buffer",
        ),
        ("servers = 2", "servers = 0", "stations[1].servers"),
        ("yield = 0.97", "yield = 1.5", "stations[2].yield"),
        ("mean = 70.0", "mean = 0", "stations[1].time.mean"),
    ],
)
def test_a_bad_line_file_exits_2_naming_the_key_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str, loc: str
) -> None:
    assert old in LINE
    path = tmp_path / "bad.toml"
    path.write_text(LINE.replace(old, new, 1))
    code, out, err = _run(capsys, "line", "simulate", str(path), "--units", "10")
    assert code == 2
    assert out == ""
    assert err.startswith(f"Error: bad.toml: {loc}: ")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("1,2\n", "bad.csv:1: 2 values, the line has 3 stations"),
        ("1,2,x\n", "bad.csv:1: Test: not a number"),
        ("SMT,AOI,Test\n1,-2,3\n", "bad.csv:2: AOI: must be >= 0"),
        ("A,B,C\n1,2,3\n", "bad.csv:1: the header must name the stations in order"),
    ],
)
def test_bad_times_exit_2_naming_the_line(
    capsys: pytest.CaptureFixture[str], line_file: Path, tmp_path: Path, content: str, words: str
) -> None:
    times = tmp_path / "bad.csv"
    times.write_text(content)
    code, _, err = _run(capsys, "line", "trace", str(line_file), "--times", str(times))
    assert code == 2
    assert words in err


def test_missing_units_and_files_are_usage_errors(
    capsys: pytest.CaptureFixture[str], line_file: Path, tmp_path: Path
) -> None:
    assert _run(capsys, "line", "simulate", str(line_file))[0] == 2
    assert _run(capsys, "line", "simulate", str(tmp_path / "none.toml"), "--units", "5")[0] == 2
    assert _run(capsys, "line", "simulate", str(line_file), "--units", "0")[0] == 2
