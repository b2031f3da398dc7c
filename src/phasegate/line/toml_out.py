"""The line model written back as a line file (TOML) that :func:`parse_line_toml` reads.

:func:`dump` is the inverse of :func:`phasegate.line.model.parse_line_toml`: for every valid
:class:`Line` ``parse_line_toml(dump(line)) == line`` (floats are written with ``repr``, which
reads back to the same double). Comments may be added above the file and above each station,
for instance to say where the numbers came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from phasegate.line.model import DISTRIBUTIONS, Line, Station, TimeSpec

SAMPLES_PER_LINE = 8  # empirical samples written per line of the file


def dump(
    line: Line,
    *,
    header: Sequence[str] = (),
    station_notes: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The line file of ``line``.

    Parameters
    ----------
    line : Line
        The line model.
    header : sequence of str
        Comment lines written at the top of the file (without the ``#``).
    station_notes : mapping of station name to comment lines, optional
        Comment lines written above that station's table.

    Examples
    --------
    >>> from phasegate.line.model import parse_line
    >>> line = parse_line({"name": "L", "stations": [
    ...     {"name": "A", "time": {"dist": "fixed", "value": 30.0}}]})
    >>> print(dump(line), end="")
    name = "L"
    <BLANKLINE>
    [[stations]]
    name = "A"
    servers = 1
    buffer = 0
    time = { dist = "fixed", value = 30.0 }
    """
    notes = station_notes or {}
    out = [_comment(text) for text in header]
    out.append(f"name = {_string(line.name)}")
    for station in line.stations:
        out.append("")
        out.extend(_comment(text) for text in notes.get(station.name, ()))
        out.extend(_station(station))
    return "\n".join(out) + "\n"


def _comment(text: str) -> str:
    """A comment line: control characters, which TOML refuses in comments, become spaces."""
    shown = " ".join("".join(" " if _control(c) else c for c in text).split())
    return f"# {shown}" if shown else "#"


def _control(char: str) -> bool:
    return char < " " or char == "\x7f"


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes (\\", \\\\, \\n, \\uXXXX) are TOML's too; JSON
    leaves DEL as it is, which TOML refuses unescaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _number(value: float) -> str:
    return repr(float(value))


def _station(station: Station) -> list[str]:
    lines = [
        "[[stations]]",
        f"name = {_string(station.name)}",
        f"servers = {station.servers}",
        f"buffer = {station.buffer}",
    ]
    if station.mtbf_s is not None and station.mttr_s is not None:
        lines.append(f"mtbf_s = {_number(station.mtbf_s)}")
        lines.append(f"mttr_s = {_number(station.mttr_s)}")
    if station.yield_frac != 1.0:
        lines.append(f"yield = {_number(station.yield_frac)}")
    # Last: an empirical time is a table of its own, which ends the station's keys.
    return [*lines, *_time(station.time)]


def _time(spec: TimeSpec) -> list[str]:
    if spec.dist == "empirical":
        rows = [
            ", ".join(_number(v) for v in spec.params[i : i + SAMPLES_PER_LINE])
            for i in range(0, len(spec.params), SAMPLES_PER_LINE)
        ]
        body = ",\n  ".join(rows)
        return ["[stations.time]", 'dist = "empirical"', f"samples = [\n  {body},\n]"]
    names = DISTRIBUTIONS[spec.dist]
    pairs = ", ".join(
        f"{name} = {_number(value)}" for name, value in zip(names, spec.params, strict=True)
    )
    return [f'time = {{ dist = "{spec.dist}", {pairs} }}']
