"""OpenHTF records, written by real OpenHTF tests (see conftest), read as test runs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest

from phasegate.domain.enums import Outcome
from phasegate.ingest.openhtf import parse_record, parse_validator, read_openhtf
from phasegate.ingest.reader import detect_format, read_path
from phasegate.ingest.records import Rejected, TestRunIn, derived_source_id

from .conftest import STATION


def one(path: Path) -> TestRunIn:
    (run,) = read_path(path)
    assert isinstance(run, TestRunIn), run
    return run


def test_a_passing_record(openhtf_records: dict[str, Path]) -> None:
    path = openhtf_records["pass"]
    raw = json.loads(path.read_text())
    run = one(path)
    assert detect_format(path) == "openhtf"
    assert run.where == str(path) and run.source == "openhtf"
    assert (run.serial, run.station, run.procedure) == ("SN-PASS", STATION, "board")
    assert run.outcome is Outcome.PASS
    started = dt.datetime.fromtimestamp(raw["start_time_millis"] / 1000, tz=dt.UTC)
    assert run.started_at == started and run.started_at.tzinfo is dt.UTC
    assert run.ended_at == dt.datetime.fromtimestamp(raw["end_time_millis"] / 1000, tz=dt.UTC)
    assert run.source_id == derived_source_id("run", "SN-PASS", STATION, started)
    (vcc,) = run.measurements
    assert (vcc.name, vcc.value, vcc.unit, vcc.lsl, vcc.usl) == ("vcc", 3.3, "V", 3.2, 3.4)
    assert vcc.outcome is Outcome.PASS and not vcc.marginal
    phase = raw["phases"][-1]
    assert vcc.measured_at == dt.datetime.fromtimestamp(
        phase["start_time_millis"] / 1000, tz=dt.UTC
    )
    # The log records are left out; the rest OpenHTF wrote is kept.
    assert "log_records" not in run.extra and run.extra["phases"][-1]["name"] == "power_ok"


def test_a_failing_record(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["fail"])
    assert run.outcome is Outcome.FAIL
    (vcc,) = run.measurements
    assert vcc.value == 3.61 and vcc.outcome is Outcome.FAIL


def test_an_error_record(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["error"])
    assert run.outcome is Outcome.ERROR and run.measurements == ()


def test_marginal_limits(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["marginal"])
    by_name = {m.name: m for m in run.measurements}
    ripple, bias = by_name["ripple"], by_name["bias"]
    assert (ripple.lsl, ripple.usl, ripple.marginal) == (None, 0.05, True)
    assert ripple.extra["marginal_usl"] == 0.04
    assert (bias.lsl, bias.usl, bias.marginal) == (1.0, 2.0, False)
    assert (bias.extra["marginal_lsl"], bias.extra["marginal_usl"]) == (1.2, 1.8)


def test_a_dimensioned_measurement_is_a_series(openhtf_records: dict[str, Path]) -> None:
    (response,) = one(openhtf_records["dimensioned"]).measurements
    assert response.series == ((100.0, 0.5), (1000.0, 0.75), (10000.0, 1.25))
    assert response.value is None and response.unit == "V"
    assert response.extra["dimensions"][0]["suffix"] == "Hz"


def test_attachment_metadata(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["attachment"])
    (log,) = run.attachments
    assert (log.name, log.mimetype, log.size) == ("log.txt", "text/plain", 11)
    assert log.sha1 == hashlib.sha1(b"hello world").hexdigest()


def test_a_text_measurement_keeps_its_validator(openhtf_records: dict[str, Path]) -> None:
    (firmware,) = one(openhtf_records["text"]).measurements
    assert firmware.text_value == "v1.7" and firmware.value is None
    assert firmware.lsl is None and firmware.usl is None
    assert len(firmware.extra["validators"]) == 1


def test_names_colliding_across_phases_are_prefixed(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["multi"])
    names = [m.name for m in run.measurements]
    assert names == ["power_ok.vcc", "ripple", "bias", "rail_check.vcc"]
    rail = run.measurements[-1]
    assert (rail.value, rail.lsl, rail.usl) == (5.0, 1.0, None)
    assert rail.extra["openhtf_name"] == "vcc"
    assert run.measurements[0].measured_at < rail.measured_at  # type: ignore[operator]


def test_unknown_fields_are_kept(openhtf_records: dict[str, Path]) -> None:
    run = one(openhtf_records["future"])
    assert run.extra["future_field"] == {"shift": "B"}
    assert run.extra["phases"][-1]["heat_index"] == 7
    assert run.measurements[0].name == "vcc"


def test_an_array_and_json_lines_of_records(openhtf_records: dict[str, Path]) -> None:
    records = [json.loads(openhtf_records[k].read_text()) for k in ("pass", "fail")]
    array = json.dumps(records).encode()
    runs = list(read_openhtf(io.BytesIO(array), name="all.json"))
    assert [r.where for r in runs] == ["all.json#/0", "all.json#/1"]
    lines = b"\n".join(json.dumps(r).encode() for r in records) + b"\n{broken\n"
    items = list(read_openhtf(io.BytesIO(lines), name="all.jsonl"))
    assert [type(i) for i in items] == [TestRunIn, TestRunIn, Rejected]
    assert items[2].where == "all.jsonl:3" and "not valid JSON" in items[2].reason  # type: ignore[union-attr]


def test_a_record_on_one_line_is_located_by_the_file(
    openhtf_records: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "compact.json"
    path.write_text(json.dumps(json.loads(openhtf_records["pass"].read_text())) + "\n")
    assert one(path).where == str(path)


def test_uid_is_the_source_id_when_present(openhtf_records: dict[str, Path]) -> None:
    record = json.loads(openhtf_records["pass"].read_text())
    record["test_uid"] = "htf-42"
    run = parse_record(record, where="x.json")
    assert isinstance(run, TestRunIn) and run.source_id == "htf-42"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"dut_id": None}, "dut_id"),
        ({"start_time_millis": "soon"}, "start_time_millis"),
        ({"end_time_millis": 1}, "before started_at"),
        ({"outcome": "MAYBE"}, "not an OpenHTF outcome"),
        ({"phases": {"a": 1}}, "phases is not a list"),
    ],
)
def test_bad_records_are_rejected_with_the_reason(
    openhtf_records: dict[str, Path], change: dict[str, object], words: str
) -> None:
    record = json.loads(openhtf_records["pass"].read_text())
    record.update(change)
    rejected = parse_record(record, where="bad.json")
    assert isinstance(rejected, Rejected) and rejected.where == "bad.json"
    assert words in rejected.reason


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("3.2 <= x <= 3.4", {"lsl": 3.2, "usl": 3.4}),
        ("x <= 0.05", {"usl": 0.05}),
        ("x >= 1", {"lsl": 1.0}),
        ("1 <= x", {"lsl": 1.0}),
        ("x == 5", {"lsl": 5.0, "usl": 5.0}),
        ("x <= Marginal:0.04 <= 0.05", {"usl": 0.05, "marginal_usl": 0.04}),
        (
            "-1e-3 <= Marginal:0 <= x <= Marginal:2.5 <= 3",
            {"lsl": -0.001, "marginal_lsl": 0.0, "marginal_usl": 2.5, "usl": 3.0},
        ),
        ("'x' matches /^v\\d+$/", None),
        ("x <= y", None),
    ],
)
def test_validator_text(text: str, bounds: dict[str, float] | None) -> None:
    assert parse_validator(text) == bounds


def test_attachment_size_from_base64() -> None:
    record = {
        "dut_id": "A",
        "start_time_millis": 1_700_000_000_000,
        "outcome": "PASS",
        "phases": [
            {
                "name": "p",
                "attachments": {
                    n: {"data": base64.b64encode(b"x" * n).decode(), "mimetype": "a/b"}
                    for n in (1, 2, 3, 4)
                },
            }
        ],
    }
    run = parse_record(record, where="r.json")
    assert isinstance(run, TestRunIn)
    assert [a.size for a in run.attachments] == [1, 2, 3, 4]
