"""Properties: stable source ids, CSV written and read back unchanged, times and outcomes."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.domain.enums import Outcome
from phasegate.ingest.csv_long import read_long
from phasegate.ingest.openhtf import parse_record
from phasegate.ingest.records import TestRunIn, derived_source_id
from phasegate.ingest.values import parse_outcome, parse_time

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [
            dt.UTC,
            dt.timezone(dt.timedelta(hours=2)),
            dt.timezone(dt.timedelta(hours=-7, minutes=-30)),
        ]
    ),
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s)


@given(serial=texts, station=texts, moment=moments)
def test_derived_source_id_is_stable_across_zones_and_spelling(
    serial: str, station: str, moment: dt.datetime
) -> None:
    same = derived_source_id(
        "run", f" {serial.upper()} ", station.lower(), moment.astimezone(dt.UTC)
    )
    if serial.upper().lower() == serial.lower():
        assert derived_source_id("run", serial, station, moment) == same
    assert derived_source_id("pass", serial, station, moment) != derived_source_id(
        "run", serial, station, moment
    )
    later = moment + dt.timedelta(microseconds=1)
    assert derived_source_id("run", serial, station, later) != derived_source_id(
        "run", serial, station, moment
    )


@given(moment=moments)
def test_times_read_back_in_every_spelling(moment: dt.datetime) -> None:
    utc = moment.astimezone(dt.UTC)
    assert parse_time(moment.isoformat()) == utc
    assert parse_time(utc.isoformat().replace("+00:00", "Z")) == utc
    assert parse_time(utc.replace(tzinfo=None).isoformat()) == utc  # naive is UTC
    assert parse_time(utc.timestamp()) == pytest.approx(utc, abs=dt.timedelta(microseconds=2))


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789.", min_size=1, max_size=12)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
runs = st.lists(
    st.tuples(
        st.text(alphabet="ABCXYZ-0123456789", min_size=1, max_size=8),
        moments,
        st.lists(
            st.tuples(names, floats, st.one_of(st.none(), floats), st.sampled_from(list(Outcome))),
            min_size=1,
            max_size=6,
        ),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: (r[0], r[1].astimezone(dt.UTC)),
)


@settings(max_examples=60, deadline=None)
@given(runs=runs, block_size=st.sampled_from([256, 4096, 1 << 20]))
def test_a_long_csv_round_trips(
    runs: list[tuple[str, dt.datetime, list[tuple[str, float, float | None, Outcome]]]],
    block_size: int,
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["serial", "station", "started_at", "name", "value", "lsl", "measurement_outcome"]
    )
    for serial, moment, measurements in runs:
        for name, value, lsl, outcome in measurements:
            writer.writerow(
                [
                    serial,
                    "ST",
                    moment.isoformat(),
                    name,
                    repr(value),
                    "" if lsl is None else repr(lsl),
                    outcome.value.upper(),
                ]
            )
    from phasegate.ingest.tables import CsvOptions

    items = list(
        read_long(
            io.BytesIO(out.getvalue().encode()),
            name="rt.csv",
            options=CsvOptions(block_size=block_size),
        )
    )
    assert all(isinstance(i, TestRunIn) for i in items), items
    assert [
        (r.serial, r.started_at, [(m.name, m.value, m.lsl, m.outcome) for m in r.measurements])
        for r in items  # type: ignore[union-attr]
    ] == [(s, t.astimezone(dt.UTC), [(n, v, lo, o) for n, v, lo, o in ms]) for s, t, ms in runs]


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("PASS", Outcome.PASS),
        ("passed", Outcome.PASS),
        ("Fail", Outcome.FAIL),
        ("TIMEOUT", Outcome.ERROR),
        ("aborted", Outcome.ABORTED),
        ("", Outcome.UNSET),
    ],
)
def test_outcome_spellings(text: str, outcome: Outcome) -> None:
    assert parse_outcome(text) is outcome


@pytest.mark.parametrize(
    ("htf", "outcome"),
    [
        ("PASS", Outcome.PASS),
        ("FAIL", Outcome.FAIL),
        ("ERROR", Outcome.ERROR),
        ("TIMEOUT", Outcome.ERROR),
        ("ABORTED", Outcome.ABORTED),
    ],
)
def test_openhtf_outcomes(htf: str, outcome: Outcome) -> None:
    record = {"dut_id": "A", "start_time_millis": 1_700_000_000_000, "outcome": htf}
    run = parse_record(record, where="r.json")
    assert isinstance(run, TestRunIn) and run.outcome is outcome
