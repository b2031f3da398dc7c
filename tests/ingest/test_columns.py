"""The column reader: values, missing cells and their lines, and errors that name line and column.

Every file is read twice: by ``read_columns`` (pyarrow where the file is regular) and by the
row-by-row reader alone; both must give the same arrays and the same errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.ingest import columns
from phasegate.ingest.columns import ColumnData, read_columns


def _row_by_row(path: Path, numeric: list[str], text: list[str]) -> ColumnData:
    content = path.read_bytes().decode("utf-8-sig")
    wanted = list(dict.fromkeys([*numeric, *text]))
    return columns._read_rows(str(path), content, numeric, text, wanted)


def _same(a: ColumnData, b: ColumnData) -> None:
    assert a.header == b.header
    np.testing.assert_array_equal(a.lines, b.lines)
    assert a.numeric.keys() == b.numeric.keys() and a.text.keys() == b.text.keys()
    for col in a.numeric:
        np.testing.assert_array_equal(a.numeric[col], b.numeric[col])
    for col in a.text:
        assert a.text[col].tolist() == b.text[col].tolist()
    assert {k: v.tolist() for k, v in a.missing.items()} == {
        k: v.tolist() for k, v in b.missing.items()
    }


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "data.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_regular_file_with_missing_cells(tmp_path: Path) -> None:
    path = _write(tmp_path, "lot,v,note\nA,1.5,x\nA,,y\nB, NA ,-\nB,2e3,\n")
    got = read_columns(path, numeric=["v"], text=["lot", "note"])
    np.testing.assert_array_equal(got.numeric["v"], [1.5, np.nan, np.nan, 2000.0])
    assert got.text["lot"].tolist() == ["A", "A", "B", "B"]
    assert got.text["note"].tolist() == ["x", "y", "", ""]
    assert got.lines.tolist() == [2, 3, 4, 5]
    assert got.missing["v"].tolist() == [3, 4]
    assert got.missing["note"].tolist() == [4, 5]
    assert got.header == ("lot", "v", "note")
    _same(got, _row_by_row(path, ["v"], ["lot", "note"]))


@pytest.mark.parametrize(
    "content",
    [
        "v;w\n1.5;2\n3;4\n",  # semicolons
        "a\tv\nx\t1\ny\t2\n",  # tabs
        "v,w\n1,2\n3,4,5\n",  # a row with an extra field
        "v,w\r\n1,2\r\n\r\n3,4\r\n",  # CRLF and a blank line
        "v,w\n1,2\n\n\n3,4",  # blank lines, no final newline
        "v,w\n1,2\n   \n3,4\n",  # a line of spaces is skipped
        'v,w\n"1",2\n"3","a\nb"\n',  # a quoted line break
        "v,w\n1\n3,4\n",  # a short row that still has the wanted field
        "v,w\nnA,1\nNuLL,2\n4,5\n",  # missing tokens in unusual cases
        "\ufeffv,w\n1,2\n",  # byte-order mark
        " v ,w\n1,2\n",  # a padded column name
        "v,v\n1,2\n",  # a name twice: the first column is taken
    ],
)
def test_every_file_reads_as_the_row_by_row_reader_reads_it(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, content)
    _same(read_columns(path, numeric=["v"]), _row_by_row(path, ["v"], []))


def test_a_quoted_line_break_keeps_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, 'v,w\n1,"a\nb"\n2,c\n')
    assert read_columns(path, numeric=["v"]).lines.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("v\n1.0\ninf\n2.0\n", "line 3, column 'v': 'inf' is not a finite number"),
        ("v\n1.0\n2.0\nNaN\n", "line 4, column 'v': 'NaN' is not a finite number"),
        ("v\nabc\n2.0\n", "line 2, column 'v': 'abc' is not a number"),
        ("w,v\n1,2\n3\n", "line 3: has 1 fields but column 'v' is field 2"),
        ("v\n", "no data rows after the header"),
        ("", "empty file (no header row)"),
        ("w\n1\n", "column 'v': not found; the columns are w"),
        (b"v\n1\n\xff\n", "not UTF-8 text (invalid start byte at byte 4)"),
    ],
)
def test_errors_name_the_line_and_column(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(InvalidInput) as error:
        read_columns(path, numeric=["v"])
    assert message in str(error.value)
    if isinstance(content, str):
        with pytest.raises(InvalidInput) as slow:
            _row_by_row(path, ["v"], [])
        assert str(slow.value) == str(error.value)


def test_a_large_regular_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(10.0, 1.0, 20_000)
    rows = [f"L{i // 5},{float(v)!r}" if i % 97 else f"L{i // 5}," for i, v in enumerate(values)]
    path = _write(tmp_path, "lot,v\n" + "\n".join(rows) + "\n")
    got = read_columns(path, numeric=["v"], text=["lot"])
    expected = np.where(np.arange(20_000) % 97 == 0, np.nan, values)
    np.testing.assert_array_equal(got.numeric["v"], expected)
    assert got.missing["v"].tolist() == [i + 2 for i in range(0, 20_000, 97)]
    _same(got, _row_by_row(path, ["v"], ["lot"]))


def test_a_regular_file_needs_no_row_by_row_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "lot;v\nA;1.25\nA;NA\n\nB;-3\n")
    expected = _row_by_row(path, ["v"], ["lot"])

    def refuse(*args: object) -> ColumnData:
        raise AssertionError("read row by row")

    monkeypatch.setattr(columns, "_read_rows", refuse)
    _same(read_columns(path, numeric=["v"], text=["lot"]), expected)


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="file not found"):
        read_columns(tmp_path / "absent.csv", numeric=["v"])
