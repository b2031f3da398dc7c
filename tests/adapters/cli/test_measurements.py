"""CLI contract of ``phasegate measurements summary|export`` and of ``spc``/``capability`` on
stored data: exit codes, the JSON shapes, files read back, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.adapters.cli.conftest import Runner, seed_pilot_build

HEADER = "serial,station,started_at,ended_at,name,value,unit,measurement_outcome\n"
GAPS = [0.21, 0.19, 0.24, 0.2, 0.35, 0.18, 0.22, 0.23, 0.2, 0.21, 0.19, 0.26]


def _csv() -> tuple[str, list[tuple[str, float, str]]]:
    """Gap at S1 and S2 for six units, one value above the USL (0.3) failing."""
    lines, rows = [HEADER], []
    for i, gap in enumerate(GAPS):
        serial, station = f"SN-{i // 2}", f"S{i % 2 + 1}"
        start, end = f"2026-03-02T08:{i:02d}:00Z", f"2026-03-02T08:{i:02d}:40Z"
        outcome = "fail" if gap > 0.3 else "pass"
        lines.append(f"{serial},{station},{start},{end},Gap,{gap},mm,{outcome}\n")
        rows.append((station, gap, outcome))
    return "".join(lines), rows


def _seed(run: Runner, url: str, tmp_path: Path) -> list[tuple[str, float, str]]:
    seed_pilot_build(url, [{"name": "Gap", "unit": "mm", "lsl": 0.1, "usl": 0.3}])
    text, rows = _csv()
    (tmp_path / "gap.csv").write_text(text)
    done = run("ingest", str(tmp_path / "gap.csv"), "--build", "AQM-PLT", url=url)
    assert done.code == 0, done.err
    return rows


def _expected(values: list[float], outcomes: list[str]) -> dict[str, object]:
    v = np.array(values)
    return {
        "name": "Gap",
        "unit": "mm",
        "count": v.size,
        "mean": pytest.approx(v.mean(), rel=1e-12),
        "std": pytest.approx(v.std(ddof=1), rel=1e-9),
        "min": v.min(),
        "max": v.max(),
        "passed": outcomes.count("pass"),
        "failed": outcomes.count("fail"),
    }


def test_measurements_on_each_backend(run: Runner, any_database_url: str, tmp_path: Path) -> None:
    url = any_database_url
    rows = _seed(run, url, tmp_path)
    summary = run("measurements", "summary", "--product", "AQM", "--format", "json", url=url)
    assert summary.code == 0, summary.err
    assert summary.json() == [_expected([r[1] for r in rows], [r[2] for r in rows])]

    s2 = [r for r in rows if r[0] == "S2"]
    at_s2 = run("measurements", "summary", "--station", "S2", "--format", "json", url=url)
    assert at_s2.code == 0, at_s2.err
    assert at_s2.json() == [_expected([r[1] for r in s2], [r[2] for r in s2])]

    table = run("measurements", "summary", "--build", "AQM-PLT", url=url)
    assert table.code == 0, table.err
    assert "Gap" in table.out and "aggregates" in table.out

    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"export{suffix}"
        done = run("measurements", "export", "--build", "AQM-PLT", "--out", str(out), url=url)
        assert done.code == 0, done.err
        read = pq.read_table(out) if suffix == ".parquet" else pacsv.read_csv(out)
        assert read.column("value").to_pylist() == GAPS  # in measurement time order
        assert read.column("station").to_pylist() == [r[0] for r in rows]

    chart = ("--chart", "imr", "--format", "json")
    stored = run(
        "spc", "--product", "AQM", "--build", "AQM-PLT", "--characteristic", "Gap", *chart, url=url
    )
    assert stored.code == 0, stored.err
    from_file = run("spc", str(tmp_path / "export.csv"), "--value", "value", *chart, url=url)
    assert from_file.code == 0, from_file.err
    a, b = stored.json(), from_file.json()
    assert a.pop("source") == "AQM/AQM-PLT/Gap"
    b.pop("source")
    assert a == b

    cap = run(
        "capability", "--build", "AQM-PLT", "--characteristic", "Gap", "--format", "json", url=url
    )
    assert cap.code == 0, cap.err
    doc = cap.json()
    assert (doc["lsl"], doc["usl"], doc["n"]) == (0.1, 0.3, len(GAPS))  # the characteristic's
    assert doc["mean"] == pytest.approx(np.mean(GAPS), rel=1e-12)


def test_bad_usage_exits_2_and_unknown_names_exit_1(
    run: Runner, database_url: str, tmp_path: Path
) -> None:
    _seed(run, database_url, tmp_path)
    neither = run("spc", "--chart", "imr")
    assert neither.code == 2
    assert "FILE" in neither.err
    both = run("spc", str(tmp_path / "gap.csv"), "--value", "value", "--build", "AQM-PLT",
               "--characteristic", "Gap", "--chart", "imr")  # fmt: skip
    assert both.code == 2
    column = run("capability", "--build", "AQM-PLT", "--characteristic", "Gap", "--value", "v")
    assert column.code == 2
    assert "--value" in column.err
    grouped = run("spc", "--build", "AQM-PLT", "--characteristic", "Gap", "--chart", "xbar-r",
                  "--subgroup", "run", "--format", "json")  # fmt: skip
    assert grouped.code == 2  # one measurement per run: subgroups of one have no range
    by_unit = run("spc", "--build", "AQM-PLT", "--characteristic", "Gap", "--chart", "xbar-r",
                  "--subgroup", "unit", "--format", "json")  # fmt: skip
    assert by_unit.code == 0, by_unit.err
    assert [p["subgroup"] for p in by_unit.json()["points"]] == [f"SN-{i}" for i in range(6)]
    stored = ("--build", "AQM-PLT", "--characteristic", "Gap", "--chart", "imr", "--format", "json")
    phase1 = run("spc", *stored, "--phase1-end", "2026-03-02T08:05:00Z")
    assert phase1.code == 0, phase1.err
    assert phase1.json()["reference_subgroups"] == 6  # runs started 08:00 to 08:05
    at_s1 = run("spc", *stored, "--station", "S1")
    assert at_s1.code == 0, at_s1.err
    assert [p["value"] for p in at_s1.json()["points"]] == GAPS[0::2]
    sized = run("spc", *stored, "--size", "n")
    assert sized.code == 2
    assert "--size" in sized.err
    missing = run("measurements", "summary", "--build", "NOPE")
    assert missing.code == 1
    assert "NOPE" in missing.err
    wrong = run("measurements", "export", "--out", str(tmp_path / "x.xlsx"))
    assert wrong.code == 2
    assert "--out" in wrong.err
