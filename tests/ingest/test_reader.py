"""Telling formats apart, reading paths and streams, bad files, batches."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.ingest.reader import FORMATS, batches, detect_format, read_path, read_stream
from phasegate.ingest.records import (
    DefectIn,
    MeasurementIn,
    Rejected,
    StationPassIn,
    TestRunIn,
)
from phasegate.ingest.tables import CsvOptions


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.json", b'{"format": "phasegate.test-data/1", "test_runs": []}', "json"),
        (
            "a.json",
            b'{\n  "dut_id": "SN-1",\n  "start_time_millis": 1,\n  "phases": []}',
            "openhtf",
        ),
        ("a.jsonl", b'{"dut_id": "SN-1", "phases": []}\n', "openhtf"),
        ("a", b'[{"serial": "A", "station": "S", "started_at": 1, "result": "pass"}]', "passes"),
        ("a.csv", b"serial,started_at,name,value\n", "csv"),
        ("a.csv", b"\xef\xbb\xbfserial,started_at,name,value\r\n", "csv"),
        ("a.csv", b"serial,station,started_at,vcc,icc\n", "csv-wide"),
        ("a.csv", b"unit,station,started_at,result\n", "passes"),
        ("a.csv", b"serial,station,started_at,ended_at,attempt\n", "passes"),
        ("a.csv", b"unit,code,severity,found_at\n", "defects"),
    ],
)
def test_detect_format(name: str, head: bytes, expected: str) -> None:
    assert detect_format(name, head) == expected
    assert expected in FORMATS


def test_detect_format_follows_the_column_mapping() -> None:
    options = CsvOptions(columns={"name": "Merkmal", "value": "Wert"}, delimiter=";")
    assert detect_format("a.csv", b"serial;started_at;Merkmal;Wert\n", options=options) == "csv"


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b'{"hello": 1}', "cannot tell the JSON format"),
        (b"a,b,c\n1,2,3\n", "cannot tell the CSV format from its columns (a, b, c)"),
        (b"serial;started_at;name;value\n", "delimiter looks like ';'"),
        (b"serial\tstarted_at\tname\tvalue\n", "delimiter looks like '\\t'"),
    ],
)
def test_detect_format_names_the_file_when_it_cannot_tell(head: bytes, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        detect_format("drop/x.csv", head)
    assert str(caught.value).startswith("drop/x.csv: ") and words in str(caught.value)


def test_read_path_reads_any_format_and_names_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "passes.csv"
    path.write_text("unit,station,started_at,result\nA,S,2026-01-01T00:00:00Z,pass\n")
    (item,) = read_path(path)
    assert isinstance(item, StationPassIn) and item.where == f"{path}:2"
    with pytest.raises(InvalidInput, match="file not found"):
        read_path(tmp_path / "nope.csv")
    with pytest.raises(InvalidInput, match="not a file"):
        read_path(tmp_path)
    with pytest.raises(InvalidInput, match="unknown format 'xml'"):
        list(read_path(path, format="xml"))
    # The format given wins over the one detected.
    with pytest.raises(InvalidInput, match="needs column 'code'"):
        list(read_path(path, format="defects"))


def test_an_empty_file_is_refused_in_every_format(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    for fmt in ("auto", *FORMATS):
        with pytest.raises(InvalidInput, match=r"empty\.csv: the file is empty"):
            list(read_path(path, format=fmt))


def test_a_stream_that_is_not_seekable_is_read_once() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            chunk = self.data.read(min(len(buffer), 100))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    rows = "".join(f"SN{i},2026-01-01T00:00:00Z,m,{i}\n" for i in range(2000))
    data = ("serial,started_at,name,value\n" + rows).encode()
    items = list(read_stream(io.BufferedReader(OneWay(data)), name="pipe"))  # type: ignore[arg-type]
    assert len(items) == 2000 and items[-1].where == "pipe:2001"


def test_wrong_encoding_names_the_byte_and_the_option_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    data = "serial,started_at,name,value,unit\nA,2026-01-01,Temperatur,21.5,°C\n".encode("latin-1")
    path.write_bytes(data)
    with pytest.raises(InvalidInput) as caught:
        list(read_path(path))
    offset = data.index(b"\xb0")
    assert f"at byte {offset}" in str(caught.value)
    assert "encoding option" in str(caught.value)
    (run,) = read_path(path, options=CsvOptions(encoding="latin-1"))
    assert isinstance(run, TestRunIn) and run.measurements[0].unit == "°C"


def test_wrong_encoding_after_good_records_comes_after_them() -> None:
    # More than the reader reads ahead of the records it gives.
    good = "".join(f"SN{i},2026-01-01T00:00:00Z,m,{i}\n" for i in range(10_000))
    data = ("serial,started_at,name,value\n" + good).encode() + b"SNX,2026-01-01,m\xff,1\n"
    items: list[object] = []
    offset = data.index(b"\xff")
    stream = read_stream(io.BytesIO(data), name="f.csv", options=CsvOptions(block_size=4096))
    with pytest.raises(InvalidInput, match=f"at byte {offset}"):
        items.extend(stream)
    assert len(items) > 0 and all(isinstance(i, TestRunIn) for i in items)


def test_nul_bytes_and_huge_fields_in_every_csv_format() -> None:
    cases = {
        "csv": "serial,started_at,name,value\n{}",
        "csv-wide": "serial,started_at,vcc\n{}",
        "passes": "unit,station,started_at,result\n{}",
        "defects": "unit,code,severity,found_at\n{}",
    }
    rows = {
        "csv": "A,2026-01-01,{},1\n",
        "csv-wide": "A,2026-01-01,{}\n",
        "passes": "A,{},2026-01-01,pass\n",
        "defects": "A,{},minor,2026-01-01\n",
    }
    for fmt, header in cases.items():
        for cell, words in (("a\x00b", "NUL"), ("x" * 100_000, "longer than 65536")):
            text = header.format(rows[fmt].format(cell))
            (item,) = read_stream(io.BytesIO(text.encode()), name="f.csv", format=fmt)
            assert isinstance(item, Rejected) and item.where == "f.csv:2", (fmt, item)
            assert words in item.reason and len(item.raw) <= 2001


def test_batches_never_split_a_record_and_bound_the_measurements() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def run(n: int) -> TestRunIn:
        ms = tuple(MeasurementIn(f"m{i}", float(i)) for i in range(n))
        return TestRunIn("w", f"S{n}", start, "pass", f"id{n}", "csv", measurements=ms)  # type: ignore[arg-type]

    items = [run(3), Rejected("w", "bad"), run(5), run(1), run(2)]
    assert [len(b) for b in batches(items, 2)] == [2, 2, 1]
    assert [len(b) for b in batches(items, 10, max_measurements=4)] == [3, 2]
    assert [x for b in batches(items, 3) for x in b] == items
    with pytest.raises(ValueError, match="size"):
        list(batches(items, 0))


def test_defects_and_passes_csv(tmp_path: Path) -> None:
    path = tmp_path / "defects.csv"
    path.write_text(
        "serial,code,severity,found_at,station,disposition,cost,notes\n"
        "A,D1,Major,2026-01-01T08:00:00Z,FCT,use as is,2.5,bent pin\n"
        "A,D2,major,2026-01-01T08:00:00Z,FCT,,,\n"
        "A,D3,major,2026-01-01T08:00:00Z,FCT,,-1,\n"
        "A,D4,major,2026-01-01T08:00:00Z,FCT,burn,,\n"
    )
    first, second, negative, burnt = read_path(path)
    assert isinstance(first, DefectIn) and isinstance(second, DefectIn)
    assert (
        first.disposition.value == "use_as_is" and first.cost == 2.5 and first.notes == "bent pin"
    )
    assert second.disposition.value == "pending" and second.cost == 0.0
    assert first.source_id != second.source_id  # two codes at once stay two
    assert isinstance(negative, Rejected) and "column 'cost'" in negative.reason
    assert isinstance(burnt, Rejected) and "disposition" in burnt.reason


def test_passes_csv_attempts_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "passes.csv"
    path.write_text(
        "unit,station,started_at,ended_at,result,attempt,operator\n"
        "A,FCT,2026-01-01T08:00:00Z,2026-01-01T08:01:00Z,fail,1,ana\n"
        "A,FCT,2026-01-01T09:00:00Z,2026-01-01T09:01:00Z,pass,2,ana\n"
        "A,FCT,2026-01-01T10:00:00Z,2026-01-01T09:01:00Z,pass,3,ana\n"
        "A,FCT,2026-01-01T11:00:00Z,,pass,1.5,ana\n"
        "A,FCT,2026-01-01T12:00:00Z,,meh,1,ana\n"
    )
    first, second, backwards, half, meh = read_path(path)
    assert isinstance(first, StationPassIn) and isinstance(second, StationPassIn)
    assert (first.result.value, first.attempt, second.attempt) == ("fail", 1, 2)
    assert isinstance(backwards, Rejected) and backwards.where == f"{path}:4"
    assert "before started_at" in backwards.reason
    assert isinstance(half, Rejected) and "attempt" in half.reason
    assert isinstance(meh, Rejected) and "column 'result'" in meh.reason


def test_duplicates_in_one_file_get_the_same_source_id(tmp_path: Path) -> None:
    path = tmp_path / "passes.csv"
    path.write_text(
        "unit,station,started_at,result\n"
        "A-1,FCT,2026-01-01T08:00:00Z,pass\n"
        "a-1 ,fct,2026-01-01T10:00:00+02:00,pass\n"
        "A-1,FCT,2026-01-01T08:00:01Z,pass\n"
    )
    one, again, later = read_path(path)
    assert isinstance(one, StationPassIn) and isinstance(again, StationPassIn)
    assert isinstance(later, StationPassIn)
    assert one.source_id == again.source_id != later.source_id
    json_path = tmp_path / "passes.jsonl"
    json_path.write_text(
        '{"serial": "A-1", "station": "FCT", "started_at": 1767254400, "result": "pass"}\n'
        '{"serial": "A-1", "station": "FCT", "started_at": "2026-01-01T08:00:00Z",'
        ' "result": "pass"}\n'
    )
    first, second = read_path(json_path)
    assert isinstance(first, StationPassIn) and isinstance(second, StationPassIn)
    assert first.source_id == second.source_id == one.source_id
    assert first.where == f"{json_path}:1"
