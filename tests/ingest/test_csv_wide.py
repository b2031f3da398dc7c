"""Wide CSV: one row per run, limits from a spec file or left to the characteristics."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import InvalidInput
from phasegate.ingest.csv_wide import read_wide
from phasegate.ingest.records import Rejected, Target, TestRunIn
from phasegate.ingest.tables import CsvOptions

DATA = (
    "serial,station,started_at,build,vcc,icc,fw_ok\n"
    "A-1,FCT,2026-01-01T08:00:00Z,AS1-PLT,3.3,0.1,1\n"
    "A-2,FCT,2026-01-01T08:05:00Z,AS1-PLT,3.5,,1\n"
    "A-3,FCT,2026-01-01T08:10:00Z,AS1-PLT,3.3,lots,1\n"
)


def read(text: str, **options: object) -> list[TestRunIn | Rejected]:
    items = read_wide(io.BytesIO(text.encode()), name="w.csv", options=CsvOptions(**options))  # type: ignore[arg-type]
    return list(items)  # type: ignore[arg-type]


def test_without_a_spec_the_limits_are_left_to_the_characteristics() -> None:
    first, second, bad = read(DATA)
    assert isinstance(first, TestRunIn) and isinstance(second, TestRunIn)
    assert first.target == Target(None, "AS1-PLT") and first.where == "w.csv:2"
    assert [(m.name, m.value, m.lsl, m.usl, m.outcome) for m in first.measurements] == [
        ("vcc", 3.3, None, None, Outcome.UNSET),
        ("icc", 0.1, None, None, Outcome.UNSET),
        ("fw_ok", 1.0, None, None, Outcome.UNSET),
    ]
    assert [m.name for m in second.measurements] == ["vcc", "fw_ok"]  # empty cell: not taken
    assert first.outcome is Outcome.UNSET
    assert isinstance(bad, Rejected) and bad.where == "w.csv:4"
    assert bad.reason == "column 'icc': 'lots' is not a number"


def test_a_spec_file_gives_units_limits_and_outcomes(tmp_path: Path) -> None:
    spec = tmp_path / "spec.csv"
    spec.write_text("name,unit,lsl,usl\nvcc,V,3.2,3.4\nicc,A,,0.15\n")
    first, second, _ = read(DATA, spec=spec)
    assert isinstance(first, TestRunIn) and isinstance(second, TestRunIn)
    vcc, icc, fw_ok = first.measurements
    assert (vcc.unit, vcc.lsl, vcc.usl, vcc.outcome) == ("V", 3.2, 3.4, Outcome.PASS)
    assert (icc.unit, icc.lsl, icc.usl) == ("A", None, 0.15)
    assert fw_ok.outcome is Outcome.UNSET  # not in the spec
    assert first.outcome is Outcome.PASS
    assert second.measurements[0].outcome is Outcome.FAIL and second.outcome is Outcome.FAIL


def test_bad_spec_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="spec file does not exist"):
        read(DATA, spec=tmp_path / "none.csv")
    spec = tmp_path / "spec.csv"
    spec.write_text("name,unit,lsl,usl\nvcc,V,low,3.4\n")
    with pytest.raises(InvalidInput, match=rf"{spec.name}:2"):
        read(DATA, spec=spec)
    spec.write_text("measurement,lsl\nvcc,1\n")
    with pytest.raises(InvalidInput, match="needs a column 'name'"):
        read(DATA, spec=spec)


def test_mapped_run_columns_are_not_measurements() -> None:
    text = "SN,Start,vcc\nA-1,2026-01-01T08:00:00Z,3.3\n"
    (run,) = read(text, columns={"serial": "SN", "started_at": "Start"})
    assert isinstance(run, TestRunIn) and [m.name for m in run.measurements] == ["vcc"]
    with pytest.raises(InvalidInput, match="one column per measurement"):
        read("serial,started_at,station\nA,2026-01-01,S\n")


def test_end_before_start_and_bad_times_are_rejected() -> None:
    text = (
        "serial,started_at,ended_at,vcc\n"
        "A,2026-01-01T08:00:00Z,2026-01-01T07:00:00Z,1\n"
        "B,someday,,1\n"
        ",2026-01-01T08:00:00Z,,1\n"
    )
    backwards, someday, nameless = read(text)
    assert isinstance(backwards, Rejected) and "before started_at" in backwards.reason
    assert isinstance(someday, Rejected) and "column 'started_at'" in someday.reason
    assert isinstance(nameless, Rejected) and "column 'serial' is empty" in nameless.reason
