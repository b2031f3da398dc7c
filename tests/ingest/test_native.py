"""The native JSON document: its schema, the examples in docs/ingest.md, located rejections."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from phasegate.domain.enums import Disposition, Outcome, Severity
from phasegate.domain.errors import InvalidInput
from phasegate.ingest.native import (
    parse_defect,
    parse_document,
    parse_station_pass,
    parse_test_run,
    read_native,
    schema,
)
from phasegate.ingest.reader import detect_format, read_stream
from phasegate.ingest.records import (
    DefectIn,
    Rejected,
    StationPassIn,
    Target,
    TestRunIn,
    derived_source_id,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def blocks(language: str) -> list[str]:
    text = (DOCS / "ingest.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_published_schema_is_the_one_used_and_is_valid() -> None:
    published = json.loads((DOCS / "schemas" / "test-data.schema.json").read_text())
    assert published == schema()
    Draft202012Validator.check_schema(published)


def test_every_json_example_in_the_docs_validates_and_reads() -> None:
    examples = blocks("json")
    assert len(examples) >= 2
    validator = Draft202012Validator(schema())
    for text in examples:
        example = json.loads(text)
        if isinstance(example, dict):
            validator.validate(example)
            items = list(parse_document(example, name="doc.json"))
        else:
            items = [parse_station_pass(e, where="doc.json") for e in example]
        assert items and not [i for i in items if isinstance(i, Rejected)], items


def test_every_csv_example_in_the_docs_reads_without_rejections() -> None:
    examples = blocks("csv")
    assert len(examples) >= 4
    for text in examples:
        items = list(read_stream(io.BytesIO(text.encode()), name="doc.csv"))
        assert items and not [i for i in items if isinstance(i, Rejected)], items


def document() -> dict[str, Any]:
    return {
        "format": "phasegate.test-data/1",
        "build": "AS1-PLT",
        "test_runs": [
            {
                "serial": "A-1",
                "station": "FCT",
                "started_at": "2026-03-01T10:30:00+02:00",
                "ended_at": 1772354000,
                "outcome": "FAIL",
                "measurements": [
                    {"name": "vcc", "value": 3, "lsl": 3.2, "usl": 3.4, "outcome": "fail"},
                    {"name": "fw", "text_value": "v1"},
                    {"name": "sweep", "series": [[1, 2.5], [2, 3.5]]},
                ],
                "attachments": [{"name": "log.txt", "size": 3}],
            },
            {
                "serial": "A-2",
                "started_at": "2026-03-01T08:30:00Z",
                "outcome": "pass",
                "product": "AS2",
                "build": "AS2-EVT",
            },
        ],
        "station_passes": [
            {
                "serial": "A-1",
                "station": "FCT",
                "started_at": "2026-03-01T08:30:00Z",
                "result": "pass",
                "attempt": 2,
                "operator": "ana",
            }
        ],
        "defects": [
            {
                "serial": "A-1",
                "code": "D1",
                "severity": "major",
                "found_at": "2026-03-01T08:40:00",
                "cost": 4,
                "disposition": "scrap",
            }
        ],
    }


def test_a_document_reads_into_records_with_pointers_and_targets() -> None:
    data = json.dumps(document()).encode()
    assert detect_format("upload.bin", data) == "json"
    items = list(read_native(io.BytesIO(data), name="d.json"))
    run, other, station_pass, defect = items
    assert isinstance(run, TestRunIn) and isinstance(other, TestRunIn)
    assert [i.where for i in items] == [  # type: ignore[union-attr]
        "d.json#/test_runs/0",
        "d.json#/test_runs/1",
        "d.json#/station_passes/0",
        "d.json#/defects/0",
    ]
    assert run.started_at == dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert run.ended_at == dt.datetime.fromtimestamp(1772354000, tz=dt.UTC)
    assert run.outcome is Outcome.FAIL and run.source == "json"
    assert run.target == Target(None, "AS1-PLT") and other.target == Target("AS2", "AS2-EVT")
    assert run.source_id == derived_source_id("run", "A-1", "FCT", run.started_at)
    vcc, fw, sweep = run.measurements
    assert (vcc.value, vcc.lsl, vcc.usl, vcc.outcome) == (3.0, 3.2, 3.4, Outcome.FAIL)
    assert fw.text_value == "v1" and sweep.series == ((1.0, 2.5), (2.0, 3.5))
    assert run.attachments[0].size == 3
    assert isinstance(station_pass, StationPassIn)
    assert (station_pass.attempt, station_pass.operator, station_pass.result) == (
        2,
        "ana",
        Outcome.PASS,
    )
    assert isinstance(defect, DefectIn)
    assert (defect.severity, defect.disposition, defect.cost) == (
        Severity.MAJOR,
        Disposition.SCRAP,
        4.0,
    )
    assert defect.found_at == dt.datetime(2026, 3, 1, 8, 40, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (lambda d: d["test_runs"][0].pop("serial"), "#/test_runs/0", "'serial' is a required"),
        (
            lambda d: d["test_runs"][0]["measurements"][0].update(value="high"),
            "#/test_runs/0",
            "at /measurements/0/value",
        ),
        (lambda d: d["test_runs"][1].update(colour="red"), "#/test_runs/1", "colour"),
        (
            lambda d: d["test_runs"][1].update(ended_at="2026-03-01T08:00:00Z"),
            "#/test_runs/1",
            "before started_at",
        ),
        (
            lambda d: d["test_runs"][1].update(started_at="last tuesday"),
            "#/test_runs/1",
            "at /started_at",
        ),
        (lambda d: d["station_passes"][0].update(attempt=0), "#/station_passes/0", "at /attempt"),
        (lambda d: d["defects"][0].update(severity="huge"), "#/defects/0", "at /severity"),
        (
            lambda d: d["test_runs"][0]["measurements"][1].pop("text_value"),
            "#/test_runs/0",
            "measurements/1",
        ),
    ],
)
def test_a_record_that_breaks_the_schema_is_rejected_at_its_pointer(
    change: Any, where: str, words: str
) -> None:
    doc = document()
    change(doc)
    items = list(parse_document(doc, name="d.json"))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.where for r in rejected] == [f"d.json{where}"]
    assert words in rejected[0].reason, rejected[0].reason
    assert len(items) == 4  # the other records go on
    assert rejected[0].raw.startswith("{")


def test_a_document_without_its_marker_or_with_a_bad_section_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"d\.json: not a phasegate\.test-data/1 document"):
        list(parse_document({"test_runs": []}, name="d.json"))
    with pytest.raises(InvalidInput, match="test_runs"):
        list(parse_document({"format": "phasegate.test-data/1", "test_runs": {}}, name="d.json"))


def test_malformed_json_names_line_and_column() -> None:
    data = b'{"format": "phasegate.test-data/1",\n "test_runs": [,]}'
    with pytest.raises(InvalidInput, match=r"d\.json: not valid JSON at line 2, column 16"):
        list(read_native(io.BytesIO(data), name="d.json"))


def test_json_that_is_not_utf8_names_the_byte() -> None:
    data = b'{"format": "phasegate.test-data/1", "build": "\xe9"}'
    with pytest.raises(InvalidInput, match="not UTF-8 text at byte 46"):
        list(read_native(io.BytesIO(data), name="d.json"))


def test_single_records_for_the_api() -> None:
    run = parse_test_run(
        {"serial": "X", "started_at": 0, "outcome": "pass", "source_id": "st-1"}, where="req#/0"
    )
    assert isinstance(run, TestRunIn) and run.source_id == "st-1" and run.where == "req#/0"
    wrong = parse_test_run({"serial": 5, "started_at": 0, "outcome": "pass"}, where="req#/1")
    assert isinstance(wrong, Rejected) and "at /serial" in wrong.reason
    assert isinstance(parse_defect([], where="req"), Rejected)
    assert isinstance(parse_station_pass("x", where="req"), Rejected)
