"""CLI contract of ``phasegate spc``, ``capability`` and ``gage``: exit codes, JSON, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasegate.cli.main import main

AIAG = {
    "A": [
        [0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36],
        [0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25],
        [0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31],
    ],
    "B": [
        [0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68],
        [0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62],
        [0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50],
    ],
    "C": [
        [0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49],
        [-0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77],
        [-0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16],
    ],
}  # AIAG MSA Reference Manual, 4th ed., gage study data sheet


@pytest.fixture
def widths(tmp_path: Path) -> Path:
    lines = ["time,lot,width"]
    for i in range(60):
        value = "" if i == 13 else f"{1.5 + 0.1 * ((i * 7) % 11 - 5) / 5:.4f}"
        lines.append(
            f"2026-11-{1 + i // 20:02d}T{8 + (i % 20) // 5:02d}:00:00,L{i // 5:02d},{value}"
        )
    path = tmp_path / "widths.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def defects(tmp_path: Path) -> Path:
    counts = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11]
    path = tmp_path / "defects.csv"
    path.write_text("sample;bad;n\n" + "".join(f"{i};{c};50\n" for i, c in enumerate(counts)))
    return path


@pytest.fixture
def gage_file(tmp_path: Path) -> Path:
    rows = ["part,operator,trial,value"]
    for op, trials in AIAG.items():
        for t, readings in enumerate(trials, start=1):
            rows += [f"P{p},{op},{t},{v}" for p, v in enumerate(readings, start=1)]
    path = tmp_path / "gage.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_spc_json_contract(capsys, widths):
    code, out, err = run(
        capsys, "spc", widths, "--value", "width", "--subgroup", "lot", "--chart", "xbar-r",
        "--phase1", "6", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    for key in ("chart", "center", "lcl", "ucl", "sigma", "points", "secondary"):
        assert key in doc
    assert doc["chart"] == "xbar-r"
    point = doc["points"][0]
    assert {"subgroup", "value", "lcl", "ucl", "violations"} <= point.keys()
    assert point["subgroup"] == "L00"
    assert isinstance(point["violations"], list)
    assert doc["secondary"]["chart"] == "r"
    assert {"center", "lcl", "ucl", "sigma", "points"} <= doc["secondary"].keys()
    assert doc["phase1"] == 6 and doc["reference_subgroups"] == 6
    assert doc["missing_rows"] == 1
    assert "1 row with no 'width' value skipped (line 15)" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--chart", "imr"],
        ["--chart", "xbar-s", "--subgroup-size", "5"],
        ["--chart", "ewma", "--lambda", "0.3", "--nsigmas", "2.7"],
        ["--chart", "ewma", "--subgroup", "lot"],
        ["--chart", "imr", "--rules", "we"],
        ["--chart", "xbar-r", "--subgroup-size", "5", "--exclude-out-of-control"],
    ],
)  # fmt: skip
def test_spc_variables_charts(capsys, widths, args):
    code, out, err = run(capsys, "spc", widths, "--value", "width", *args, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["points"] and all(p["lcl"] <= p["ucl"] for p in doc["points"])


def _limits(doc: dict) -> list:
    """Centre, limits and sigma of both charts, and the limits at every point."""
    return [
        (part["center"], part["lcl"], part["ucl"], part["sigma"],
         [(p["center"], p["lcl"], p["ucl"]) for p in part["points"]])
        for part in (doc, doc["secondary"])
    ]  # fmt: skip


def _spc_json(capsys, path: Path, *args: str) -> dict:
    code, out, err = run(capsys, "spc", path, "--value", "width", "--chart", "xbar-r",
                         "--subgroup", "lot", *args, "--format", "json")  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_spc_phase1_date_range_takes_the_subgroups_in_the_range(capsys, widths):
    """Lots L00-L07 start on 1 and 2 November (5 rows a lot, 20 a day): a range over those two
    days sets the same limits as --phase1 8, and other limits than all twelve lots."""
    ranged = _spc_json(capsys, widths, "--time", "time", "--phase1-start", "2026-11-01",
                       "--phase1-end", "2026-11-02T23:00")  # fmt: skip
    first_eight = _spc_json(capsys, widths, "--phase1", "8")
    every_lot = _spc_json(capsys, widths)
    assert ranged["reference_subgroups"] == 8
    assert [p["phase"] for p in ranged["points"]] == [1] * 8 + [2] * 4
    assert _limits(ranged) == _limits(first_eight)
    assert _limits(ranged) != _limits(every_lot)
    assert ranged["center"] != every_lot["center"] and ranged["ucl"] != every_lot["ucl"]


def test_spc_phase1_date_range_inside_the_data(capsys, widths, tmp_path):
    """A range in the middle (2 November: lots L04-L07) sets the limits that a file holding
    only those lots gets from all its subgroups; every lot is still judged against them."""
    ranged = _spc_json(capsys, widths, "--time", "time", "--phase1-start", "2026-11-02",
                       "--phase1-end", "2026-11-02T23:59")  # fmt: skip
    lines = widths.read_text().splitlines()
    middle = tmp_path / "middle.csv"
    middle.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if "2026-11-02" in ln)]))
    alone = _spc_json(capsys, middle)
    assert [p["phase"] for p in ranged["points"]] == [2] * 4 + [1] * 4 + [2] * 4
    assert alone["reference_subgroups"] == 4 == ranged["reference_subgroups"]
    for mine, theirs in zip(_limits(ranged), _limits(alone), strict=True):
        assert mine[:4] == pytest.approx(theirs[:4], rel=1e-12)
        assert mine[4][4:8] == [pytest.approx(t, rel=1e-12) for t in theirs[4]]
    assert ranged["center"] != _spc_json(capsys, widths)["center"]


def test_spc_cusum_reports_upper_and_lower(capsys, widths):
    code, out, _ = run(
        capsys, "spc", widths, "--value", "width", "--chart", "cusum", "--h", "4", "--k", "0.5",
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["ucl"] == 4 and doc["lcl"] == -4
    assert all({"upper", "lower"} <= p.keys() for p in doc["points"])
    assert all(p["lower"] <= 0 <= p["upper"] for p in doc["points"])


@pytest.mark.parametrize("chart", ["p", "np", "u", "c"])
def test_spc_attribute_charts(capsys, defects, chart):
    size = [] if chart == "c" else ["--size", "n"]
    code, out, err = run(
        capsys, "spc", defects, "--value", "bad", *size, "--chart", chart, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["secondary"] is None
    assert len(doc["points"]) == 20


def test_spc_csv_and_table(capsys, defects):
    code, out, _ = run(capsys, "spc", defects, "--value", "bad", "--size", "n", "--chart", "p",
                       "--format", "csv")  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "chart,subgroup,value,center,lcl,ucl,size,phase,violations"
    assert len(out.splitlines()) == 21
    code, out, _ = run(capsys, "spc", defects, "--value", "bad", "--size", "n", "--chart", "p")
    assert code == 0
    assert "Signals" in out or "no rule violations" in out


def test_capability_json_contract(capsys, widths):
    code, out, err = run(
        capsys, "capability", widths, "--value", "width", "--subgroup-size", "5",
        "--lsl", "1.0", "--usl", "2.0", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    for key in ("n", "mean", "sigma_within", "sigma_overall", "cp", "cpl", "cpu", "cpk", "cpm",
                "pp", "ppl", "ppu", "ppk", "ci", "ppm"):  # fmt: skip
        assert key in doc
    for key in ("cp", "cpl", "cpu", "cpk", "cpm"):
        low, high = doc["ci"][key]
        assert low <= doc[key] <= high
    assert set(doc["ppm"]) >= {"expected_below", "expected_above", "observed_below",
                               "observed_above"}  # fmt: skip
    assert doc["n"] == 59
    assert doc["sigma_method"] == "rbar"
    assert doc["normality"]["test"] == "anderson-darling"


def test_capability_one_sided_gives_nulls(capsys, widths):
    code, out, _ = run(capsys, "capability", widths, "--value", "width", "--lsl", "1.0",
                       "--format", "json")  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["cp"] is None and doc["cpu"] is None and doc["cpm"] is None
    assert doc["cpk"] == doc["cpl"]
    assert doc["ci"]["cp"] == [None, None]


def test_capability_csv_and_table(capsys, widths):
    code, out, _ = run(capsys, "capability", widths, "--value", "width", "--lsl", "1",
                       "--usl", "2", "--format", "csv")  # fmt: skip
    assert code == 0
    header, _row = out.splitlines()
    assert "cpk_lower_bound" in header.split(",")
    code, out, _ = run(capsys, "capability", widths, "--value", "width", "--lsl", "1",
                       "--usl", "2")  # fmt: skip
    assert code == 0 and "Indices" in out


def test_gage_json_reproduces_aiag(capsys, gage_file):
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 6: %GRR 27.9 %, ndc 4."""
    code, out, err = run(
        capsys, "gage", gage_file, "--part", "part", "--operator", "operator", "--value", "value",
        "--tolerance", "6", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ndc"] == 4
    assert doc["pct_grr_study_var"] == pytest.approx(27.86, abs=0.01)
    assert doc["pct_grr_tolerance"] == pytest.approx(30.24, abs=0.01)
    assert doc["interaction_pooled"] is True
    code, out, _ = run(capsys, "gage", gage_file, "--part", "part", "--operator", "operator",
                       "--value", "value")  # fmt: skip
    assert code == 0 and "Variance components" in out


def test_plot_html(capsys, widths, tmp_path):
    target = tmp_path / "chart.html"
    code, _, err = run(capsys, "spc", widths, "--value", "width", "--chart", "imr",
                       "--plot", target)  # fmt: skip
    assert code == 0, err
    text = target.read_text()
    assert "<html" in text.lower() and "plotly" in text.lower()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["spc", "{w}", "--value", "nope", "--chart", "imr"], "column 'nope': not found"),
        (["spc", "{w}", "--value", "width", "--chart", "xbar-r"], "needs --subgroup"),
        (["spc", "{w}", "--value", "width", "--chart", "pie"], "unknown chart"),
        (["spc", "{w}", "--value", "width", "--chart", "xbar-r", "--subgroup-size", "0"],
         "--subgroup-size: must be at least 1, got 0"),
        (["spc", "{w}", "--value", "width", "--chart", "imr", "--phase1-start", "2026-11-01"],
         "--time: --phase1-start/--phase1-end need the time column (--time COL)"),
        (["capability", "{w}", "--value", "width", "--lsl", "1", "--sigma-within", "range"],
         "--sigma-within: one of mr, pooled, rbar, sbar"),
        (["spc", "{w}", "--value", "width", "--chart", "imr", "--phase1", "500"], "phase1"),
        (["spc", "{d}", "--value", "bad", "--chart", "p"], "--size"),
        (["spc", "{w}", "--value", "width", "--chart", "imr", "--plot", "x.pdf"], ".html or .png"),
        (["spc", "{missing}", "--value", "width", "--chart", "imr"], "file not found"),
        (["capability", "{w}", "--value", "width", "--lsl", "2", "--usl", "1"],
         "usl (1) must be greater than lsl (2)"),
        (["capability", "{w}", "--value", "width"],
         "--lsl/--usl: give at least one specification limit"),
        (["spc", "{bad}", "--value", "v", "--chart", "imr"], "line 3, column 'v': 'inf'"),
        (["spc", "{bad2}", "--value", "v", "--chart", "imr"], "line 2, column 'v': 'abc'"),
        (["spc", "{over}", "--value", "bad", "--size", "n", "--chart", "p"],
         "line 3: 60 nonconforming ('bad') is more than the sample size 50 ('n')"),
        (["spc", "{zero}", "--value", "bad", "--size", "n", "--chart", "p"],
         "line 2, column 'n': a sample size must be a positive whole number, got 0"),
        (["spc", "{empty}", "--value", "v", "--chart", "imr"], "no data rows"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_message(capsys, widths, defects, tmp_path, args, fragment):
    files = {
        "w": widths, "d": defects, "missing": tmp_path / "absent.csv",
        "bad": tmp_path / "bad.csv", "bad2": tmp_path / "bad2.csv",
        "over": tmp_path / "over.csv", "zero": tmp_path / "zero.csv",
        "empty": tmp_path / "empty.csv",
    }  # fmt: skip
    files["bad"].write_text("v\n1.0\ninf\n2.0\n")
    files["bad2"].write_text("v\nabc\n2.0\n")
    files["over"].write_text("bad,n\n3,50\n60,50\n")
    files["zero"].write_text("bad,n\n3,0\n6,50\n")
    files["empty"].write_text("v\n")
    code, _out, err = run(capsys, *[a.format(**files) for a in args])
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("Error: ")
    assert fragment in " ".join(err.split())


def test_commands_have_help(capsys):
    for command in ("spc", "capability", "gage"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert "--format" in out and "--plot" in out
