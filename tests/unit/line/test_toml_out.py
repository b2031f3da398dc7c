"""``phasegate.line.toml_out.dump``: the line file written back reads to the same line."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from phasegate.line.model import parse_line, parse_line_toml
from phasegate.line.toml_out import dump

positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
names = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s.strip() != "")


def _time() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda v: {"dist": "fixed", "value": v}, positive),
        st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, positive, positive),
        st.builds(lambda m, c: {"dist": "lognormal", "mean": m, "cv": c}, positive, positive),
        st.builds(lambda m: {"dist": "exponential", "mean": m}, positive),
        st.builds(
            lambda a, b, c: (
                dict(zip(("low", "mode", "high"), sorted((a, b, a + b + c)), strict=True))
                | {"dist": "triangular"}
            ),
            positive,
            positive,
            positive,
        ),
        st.builds(
            lambda xs: {"dist": "empirical", "samples": xs},
            st.lists(positive, min_size=1, max_size=30),
        ),
    )


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    station_names = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    stations = []
    for name in station_names:
        station: dict[str, Any] = {
            "name": name,
            "servers": draw(st.integers(1, 5)),
            "buffer": draw(st.integers(0, 9)),
            "time": draw(_time()),
        }
        if draw(st.booleans()):
            station |= {"mtbf_s": draw(positive), "mttr_s": draw(positive)}
        if draw(st.booleans()):
            station["yield"] = draw(st.floats(min_value=0.01, max_value=1.0))
        stations.append(station)
    return {"name": draw(names), "stations": stations}


@given(lines(), st.lists(st.text(max_size=20), max_size=3))
def test_dump_reads_back_to_the_same_line(data: dict[str, Any], header: list[str]) -> None:
    line = parse_line(data)
    notes = {s.name: ["from\nthe passes"] for s in line.stations}
    assert parse_line_toml(dump(line, header=header, station_notes=notes)) == line


def test_empirical_samples_are_written_in_order() -> None:
    line = parse_line(
        {
            "name": "L",
            "stations": [
                {"name": "A", "time": {"dist": "empirical", "samples": [3.0, 1.5, 0.1 + 0.2]}}
            ],
        }
    )
    text = dump(line, header=["made by hand"])
    assert text.startswith('# made by hand\nname = "L"\n')
    assert "samples = [\n  3.0, 1.5, 0.30000000000000004,\n]" in text
    assert parse_line_toml(text).stations[0].time.params == (3.0, 1.5, 0.1 + 0.2)
