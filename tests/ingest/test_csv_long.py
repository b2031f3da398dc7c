"""Long CSV: runs from contiguous rows, located rejections, streaming in bounded memory."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import pytest

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import InvalidInput
from phasegate.ingest.csv_long import EndedRuns, read_long
from phasegate.ingest.records import Rejected, TestRunIn, derived_source_id
from phasegate.ingest.tables import CsvOptions

HEADER = "serial,station,started_at,ended_at,outcome,name,value,unit,lsl,usl,measurement_outcome\n"


def parse(text: str, **options: object) -> list[TestRunIn | Rejected]:
    items = list(read_long(io.BytesIO(text.encode()), name="f.csv", options=CsvOptions(**options)))  # type: ignore[arg-type]
    assert all(isinstance(i, TestRunIn | Rejected) for i in items)
    return items  # type: ignore[return-value]


def test_rows_of_one_run_make_one_test_run_with_limits_and_outcomes() -> None:
    items = parse(
        HEADER
        + "SN1,ST-1,2026-01-01T08:00:00Z,2026-01-01T08:01:00Z,pass,vcc,3.3,V,3.2,3.4,pass\n"
        + "SN1,ST-1,2026-01-01T08:00:00Z,2026-01-01T08:01:00Z,pass,icc,0.1,A,,0.2,PASS\n"
        + "SN2,ST-1,2026-01-01T09:00:00,,FAIL,vcc,3.5,V,3.2,3.4,fail\n"
    )
    first, second = items
    assert isinstance(first, TestRunIn) and isinstance(second, TestRunIn)
    assert first.where == "f.csv:2" and second.where == "f.csv:4"
    assert first.serial == "SN1" and first.station == "ST-1" and first.source == "csv"
    assert first.started_at == dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    assert first.ended_at == dt.datetime(2026, 1, 1, 8, 1, tzinfo=dt.UTC)
    assert [(m.name, m.value, m.unit, m.lsl, m.usl, m.outcome) for m in first.measurements] == [
        ("vcc", 3.3, "V", 3.2, 3.4, Outcome.PASS),
        ("icc", 0.1, "A", None, 0.2, Outcome.PASS),
    ]
    # A naive time is UTC.
    assert second.started_at == dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    assert second.outcome is Outcome.FAIL and second.ended_at is None
    assert first.source_id == derived_source_id("run", "SN1", "ST-1", first.started_at)


def test_epoch_seconds_and_run_id_column() -> None:
    items = parse(
        "run_id,serial,started_at,name,value\nR-7,SN1,1767254400,a,1\nR-7,SN1,1767254400,b,2\n"
    )
    (run,) = items
    assert isinstance(run, TestRunIn)
    assert run.source_id == "R-7"
    assert run.started_at == dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    # No outcome column: measurement outcomes unset, so the run's is too.
    assert run.outcome is Outcome.UNSET and len(run.measurements) == 2


def test_a_bad_cell_refuses_its_whole_run_row_by_row_and_names_the_column() -> None:
    items = parse(
        HEADER
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,3.3,V,,,\n"
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,icc,abc,A,,,\n"
        + "SN2,ST,2026-01-01T09:00:00Z,,pass,vcc,3.3,V,,,\n"
    )
    assert [type(i) for i in items] == [Rejected, Rejected, TestRunIn]
    assert items[0].where == "f.csv:2" and items[1].where == "f.csv:3"
    assert "line 3" in items[0].reason and "'value'" in items[0].reason  # type: ignore[union-attr]
    assert "'abc' is not a number" in items[1].reason  # type: ignore[union-attr]
    assert items[1].raw.startswith("SN1,ST")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("SN1,ST,yesterday,,pass,vcc,1,V,,,", "'started_at'"),
        ("SN1,ST,2026-01-01T08:00:00Z,2026-01-01T07:00:00Z,pass,vcc,1,V,,,", "before started_at"),
        ("SN1,ST,2026-01-01T08:00:00Z,,maybe,vcc,1,V,,,", "not an outcome"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,1,V,x,,", "'lsl'"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,inf,V,,,", "not a finite number"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,,V,,,", "'value' is empty"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,,1,V,,,", "'name' is empty"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,1,V,,,dunno", "'measurement_outcome'"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,vcc,1,V,,", "has 10 fields, the header has 11"),
        ("SN1,ST,2026-01-01T08:00:00Z,,pass,v\x00cc,1,V,,,", "NUL"),
    ],
)
def test_bad_rows_are_rejected_on_their_line(row: str, words: str) -> None:
    items = parse(HEADER + "SN0,ST,2026-01-01T07:00:00Z,,pass,vcc,1,V,,,\n" + row + "\n")
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.where for r in rejected] == ["f.csv:3"]
    assert words in rejected[0].reason
    assert sum(isinstance(i, TestRunIn) for i in items) == 1


def test_a_huge_field_is_rejected_not_a_crash() -> None:
    items = parse(HEADER + "SN1,ST,2026-01-01T08:00:00Z,,pass," + "n" * 70_000 + ",1,V,,,\n")
    (rejected,) = items
    assert isinstance(rejected, Rejected) and "longer than" in rejected.reason
    # A row longer than a block is refused with the rest of the file, never a crash.
    items = parse(
        HEADER + "SN1,ST,2026-01-01T08:00:00Z,,pass," + "n" * 5000 + ",1,V,,,\n", block_size=1024
    )
    assert isinstance(items[-1], Rejected) and "not read" in items[-1].reason


def test_a_run_key_that_comes_back_is_rejected_never_merged() -> None:
    items = parse(
        HEADER
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,a,1,V,,,\n"
        + "SN2,ST,2026-01-01T08:00:00Z,,pass,a,1,V,,,\n"
        + "\n"
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,b,2,V,,,\n"
    )
    runs = [i for i in items if isinstance(i, TestRunIn)]
    assert [len(r.measurements) for r in runs] == [1, 1]
    (late,) = [i for i in items if isinstance(i, Rejected)]
    assert (
        late.where == "f.csv:5" and "line 2" in late.reason and "follow each other" in late.reason
    )


def test_runs_spanning_blocks_stay_whole() -> None:
    rows = "".join(
        f"SN{r},ST,2026-01-01T08:00:00Z,,pass,m{m},{m},V,,,\n" for r in range(30) for m in range(40)
    )
    items = parse(HEADER + rows, block_size=4096)
    assert [len(i.measurements) for i in items if isinstance(i, TestRunIn)] == [40] * 30


def test_column_mapping_delimiter_and_encoding() -> None:
    text = "SN;Zeit;Merkmal;Wert;Einheit\nA-1;2026-01-01T08:00:00Z;Spannung;3,3;µV\n".replace(
        "3,3", "3.3"
    )
    data = text.encode("cp1252")
    options = CsvOptions(
        columns={
            "serial": "SN",
            "started_at": "Zeit",
            "name": "Merkmal",
            "value": "Wert",
            "unit": "Einheit",
        },
        delimiter=";",
        encoding="cp1252",
    )
    (run,) = read_long(io.BytesIO(data), name="de.csv", options=options)
    assert isinstance(run, TestRunIn)
    assert run.measurements[0].name == "Spannung" and run.measurements[0].unit == "µV"


def test_missing_column_names_file_column_and_option() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("serial,started_at,name\nA,2026-01-01,x\n")
    message = str(caught.value)
    assert "f.csv" in message and "'value'" in message and "columns option" in message


def test_wrong_delimiter_suggests_the_option() -> None:
    with pytest.raises(InvalidInput, match="delimiter looks like ';'"):
        parse("serial;started_at;name;value\nA;2026-01-01;x;1\n")


def test_empty_file_and_wrong_encoding() -> None:
    with pytest.raises(InvalidInput, match=r"f\.csv: the file is empty"):
        parse("")
    data = (HEADER + "SN1,ST,2026-01-01T08:00:00Z,,pass,Spannung \xb5,1,V,,,\n").encode("latin-1")
    offset = data.index(b"\xb5")
    with pytest.raises(InvalidInput, match=rf"not utf-8 text at byte {offset} .*encoding option"):
        list(read_long(io.BytesIO(data), name="f.csv"))


def test_duplicate_rows_of_one_run_in_a_file_share_the_source_id() -> None:
    row = "SN1,ST,2026-01-01T08:00:00+02:00,,pass,vcc,1,V,,,\n"
    other = "SN2,ST,2026-01-01T08:00:00Z,,pass,vcc,1,V,,,\n"
    items = parse(HEADER + row + other + row.replace("08:00:00+02:00", "06:00:00Z"))
    runs = [i for i in items if isinstance(i, TestRunIn)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    # Same instant written two ways: a different key text, so a second run, with the same id.
    assert len(runs) == 3 and not rejected
    assert runs[0].source_id == runs[2].source_id != runs[1].source_id


def test_two_hundred_thousand_rows_stream_in_bounded_memory() -> None:
    def rows() -> bytes:
        out = [b"serial,station,started_at,name,value,unit,lsl,usl\n"]
        for r in range(10_000):
            stamp = f"2026-01-01T{r // 3600 % 24:02d}:{r // 60 % 60:02d}:{r % 60:02d}Z"
            out.extend(f"SN{r},ST,{stamp},m{m},{m}.5,V,0,100\n".encode() for m in range(20))
        return b"".join(out)

    data = rows()
    tracemalloc.start()
    try:
        count = 0
        for item in read_long(io.BytesIO(data), name="big.csv"):
            assert isinstance(item, TestRunIn)
            count += len(item.measurements)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 50_000_000, f"peak {peak / 1e6:.1f} MB"


def test_an_unreadable_row_inside_a_run_refuses_the_run() -> None:
    items = parse(
        HEADER
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,a,1,V,,,\n"
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,b,2,V,,\n"
        + "SN1,ST,2026-01-01T08:00:00Z,,pass,c,3,V,,,\n"
        + "SN2,ST,2026-01-01T08:00:00Z,,pass,a,1,V,,,\n"
    )
    assert [(type(i).__name__, i.where) for i in items] == [
        ("Rejected", "f.csv:3"),
        ("Rejected", "f.csv:2"),
        ("Rejected", "f.csv:4"),
        ("TestRunIn", "f.csv:5"),
    ]
    assert "its run is refused: line 3" in items[1].reason  # type: ignore[union-attr]
    assert items[1].raw == "SN1,ST,2026-01-01T08:00:00Z,,pass,a,1,V,,,"  # type: ignore[union-attr]


def test_ended_runs_are_remembered_across_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EndedRuns, "MERGE_AT", 7)
    ended = EndedRuns()
    for i in range(100):
        ended.add(f"SN{i}\x1fST\x1f2026", i + 2)
    assert [ended.get(f"SN{i}\x1fST\x1f2026") for i in (0, 6, 7, 50, 99)] == [2, 8, 9, 52, 101]
    assert ended.get("SN100\x1fST\x1f2026") is None
    rows = "".join(f"SN{r},ST,2026-01-01T08:00:00Z,,pass,m,1,V,,,\n" for r in range(40))
    items = parse(HEADER + rows + "SN3,ST,2026-01-01T08:00:00Z,,pass,m,1,V,,,\n")
    assert isinstance(items[-1], Rejected) and "the run of line 5" in items[-1].reason
