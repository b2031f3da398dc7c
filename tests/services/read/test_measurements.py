"""Stored measurements read back: the summary (aggregates and GROUP BY), the export, the series
for spc and capability, and a partner user's scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from phasegate.domain.enums import Outcome, UnitStatus
from phasegate.domain.errors import Forbidden, InvalidInput, NotFound
from phasegate.domain.policy import Principal, Role
from phasegate.services import analysis
from phasegate.services.read.measurements import (
    EXPORT_COLUMNS,
    MeasurementFilters,
    export_measurements,
    measurement_summary,
    stored_series,
)
from phasegate.services.volume import (
    BuildVolume,
    MeasurementRecord,
    RunRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
    person,
)

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
SYSTEM = person("reader")


@dataclass(frozen=True)
class Raw:
    """One stored measurement as the test wrote it, to compute expectations with NumPy."""

    build: str
    station: str
    serial: str
    run: str
    name: str
    value: float
    outcome: Outcome
    at: dt.datetime


@dataclass(frozen=True)
class Data:
    product: str
    builds: tuple[str, str]
    partners: tuple[int, int]
    raw: tuple[Raw, ...]


LIMITS = {"Gap": (0.1, 0.3), "Offset": (999.9, 1000.1)}


def _volume(code: str, seed: int, units: int, start: dt.datetime) -> tuple[BuildVolume, list[Raw]]:
    """Each unit runs at S1 and S2; each run measures Gap and Offset (large, with a small spread,
    so a careless variance formula would lose every digit)."""
    rng = np.random.default_rng(seed)
    runs: list[RunRecord] = []
    raw: list[Raw] = []
    for u in range(units):
        serial = f"{code}-U{u:02d}"
        for s, station in enumerate(("S1", "S2")):
            at = start + dt.timedelta(minutes=5 * u + s, seconds=int(rng.integers(0, 59)))
            values = {
                "Gap": float(rng.normal(0.2 + 0.01 * s, 0.05)),
                "Offset": float(1000.0 + rng.normal(0.0, 0.04)),
            }
            ms = []
            for name, value in values.items():
                lo, hi = LIMITS[name]
                outcome = Outcome.PASS if lo <= value <= hi else Outcome.FAIL
                ms.append(MeasurementRecord(name, value, outcome, at))
                run = f"{serial}/{station}"
                raw.append(Raw(code, station, serial, run, name, value, outcome, at))
            runs.append(
                RunRecord(
                    unit=serial,
                    station=station,
                    procedure="check",
                    outcome=Outcome.PASS,
                    started_at=at,
                    ended_at=at + dt.timedelta(seconds=30),
                    source_id=f"{serial}/{station}",
                    measurements=tuple(ms),
                )
            )
    serials = sorted({r.serial for r in raw})
    volume = BuildVolume(
        units=[UnitRecord(serial=s, status=UnitStatus.PASSED, created_at=start) for s in serials],
        test_runs=runs,
    )
    return volume, raw


@pytest.fixture
def data(uow: UnitOfWork) -> Data:
    product = make_product(uow, key="AS1")
    line = make_line(uow, stations=2)
    for name, (lo, hi) in LIMITS.items():
        make_characteristic(uow, product, name=name, unit="mm", lsl=lo, usl=hi, target=None)
    ours, theirs = make_partner(uow), make_partner(uow)
    raw: list[Raw] = []
    codes = ("AS1-EVT", "AS1-PLT")
    for code, partner, seed, units in ((codes[0], ours, 1, 6), (codes[1], theirs, 2, 9)):
        build = make_build(
            uow,
            product_id=product.id,
            line_id=line.id,
            code=code,
            phase="pilot",
            fidelity=None,
            technique=None,
            partner_id=partner.id,
        )
        volume, rows = _volume(code, seed, units, T0 + dt.timedelta(hours=seed))
        record_build_volume(uow, build.id, volume, actor=SYSTEM)
        raw.extend(rows)
    return Data("AS1", codes, (ours.id, theirs.id), tuple(raw))


def _expected(raw: list[Raw]) -> dict[str, tuple[int, float, float, float, float, int, int]]:
    out = {}
    for name in sorted({r.name for r in raw}):
        rows = [r for r in raw if r.name == name]
        v = np.array([r.value for r in rows])
        passed = sum(r.outcome is Outcome.PASS for r in rows)
        failed = sum(r.outcome is Outcome.FAIL for r in rows)
        out[name] = (v.size, v.mean(), v.std(ddof=1), v.min(), v.max(), passed, failed)
    return out


def _check(summary_rows: tuple, raw: list[Raw]) -> None:  # type: ignore[type-arg]
    expected = _expected(raw)
    assert [r.name for r in summary_rows] == list(expected)
    for row in summary_rows:
        n, mean, std, lo, hi, passed, failed = expected[row.name]
        assert (row.count, row.passed, row.failed, row.unit) == (n, passed, failed, "mm")
        assert row.mean == pytest.approx(mean, rel=1e-12)
        assert row.std == pytest.approx(std, rel=1e-6)
        assert (row.min, row.max) == (lo, hi)


@pytest.mark.parametrize(
    "filters",
    [
        MeasurementFilters(),
        MeasurementFilters(product="AS1"),
        MeasurementFilters(product="as1", build="AS1-PLT"),
        MeasurementFilters(build="AS1-EVT", characteristic="offset"),
    ],
)
def test_the_summary_from_the_aggregates_equals_numpy_on_the_raw_rows(
    uow: UnitOfWork, data: Data, filters: MeasurementFilters
) -> None:
    summary = measurement_summary(uow, filters, actor=SYSTEM)
    assert summary.source == "aggregates"
    raw = [
        r
        for r in data.raw
        if (filters.build is None or r.build == filters.build)
        and (filters.characteristic is None or r.name.lower() == filters.characteristic)
    ]
    _check(summary.rows, raw)
    recomputed = measurement_summary(uow, filters, actor=SYSTEM, from_aggregates=False)
    assert recomputed.source == "measurements"
    for a, b in zip(summary.rows, recomputed.rows, strict=True):
        assert (a.name, a.count, a.passed, a.failed, a.min, a.max) == (
            b.name,
            b.count,
            b.passed,
            b.failed,
            b.min,
            b.max,
        )
        assert a.mean == pytest.approx(b.mean, rel=1e-12)
        # Offset is 1000 +- 0.04: a sum of squares keeps about 7 of its 16 digits for the spread,
        # whichever order the database adds the squares in.
        assert a.std == pytest.approx(b.std, rel=1e-6)


def test_a_station_is_summed_up_from_the_measurements(uow: UnitOfWork, data: Data) -> None:
    summary = measurement_summary(uow, MeasurementFilters(station="s2"), actor=SYSTEM)
    assert summary.source == "measurements"
    _check(summary.rows, [r for r in data.raw if r.station == "S2"])
    with pytest.raises(InvalidInput, match="station"):
        measurement_summary(
            uow, MeasurementFilters(station="S2"), actor=SYSTEM, from_aggregates=True
        )


def test_one_value_has_no_standard_deviation(uow: UnitOfWork) -> None:
    product = make_product(uow)
    line = make_line(uow, stations=1)
    make_characteristic(uow, product, name="Only", lsl=0.0, usl=1.0)
    build = make_build(uow, product_id=product.id, line_id=line.id)
    run = RunRecord(
        "X1", "S1", "p", Outcome.PASS, T0, None, "X1/1",
        measurements=(MeasurementRecord("Only", 0.5, Outcome.PASS, T0),),
    )  # fmt: skip
    record_build_volume(uow, build.id, BuildVolume([UnitRecord("X1")], (), [run]), actor=SYSTEM)
    (row,) = measurement_summary(uow, MeasurementFilters(build=build.code), actor=SYSTEM).rows
    assert (row.count, row.mean, row.std, row.passed) == (1, 0.5, None, 1)


def test_unknown_names_are_not_found(uow: UnitOfWork, data: Data) -> None:
    for filters in (
        MeasurementFilters(product="NOPE"),
        MeasurementFilters(build="NOPE"),
        MeasurementFilters(station="S9"),
        MeasurementFilters(characteristic="Nope"),
    ):
        with pytest.raises(NotFound):
            measurement_summary(uow, filters, actor=SYSTEM)


def test_a_partner_user_sees_only_its_builds(uow: UnitOfWork, data: Data) -> None:
    user = Principal(name="cm", role=Role.PARTNER, partner_id=data.partners[0])
    summary = measurement_summary(uow, actor=user)
    _check(summary.rows, [r for r in data.raw if r.build == data.builds[0]])
    with pytest.raises(NotFound, match="AS1-PLT"):
        measurement_summary(uow, MeasurementFilters(build="AS1-PLT"), actor=user)
    with pytest.raises(NotFound):
        stored_series(uow, MeasurementFilters(build="AS1-PLT", characteristic="Gap"), actor=user)


def test_reading_needs_read_test_data(uow: UnitOfWork, data: Data) -> None:
    nobody = Principal(name="t", role=Role.ADMIN, scopes=frozenset())
    with pytest.raises(Forbidden):
        measurement_summary(uow, actor=nobody)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_export_round_trips(uow: UnitOfWork, data: Data, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"m{suffix}"
    seen: list[tuple[int, int]] = []
    result = export_measurements(
        uow,
        out,
        MeasurementFilters(product="AS1"),
        actor=SYSTEM,
        chunk_rows=7,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.rows == len(data.raw) == seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted({min(7 * i, len(data.raw)) for i in range(1, 10)})
    table = pq.read_table(out) if suffix == ".parquet" else pacsv.read_csv(out)
    assert tuple(table.column_names) == EXPORT_COLUMNS
    got = table.to_pylist()
    order = sorted(data.raw, key=lambda r: r.at)  # measurement order: time, then id
    assert [r["measured_at"] for r in got] == [r.at for r in order]
    key = sorted((r["test_run"], r["name"]) for r in got)
    assert key == sorted((r.run, r.name) for r in data.raw)
    by_key = {(r["test_run"], r["name"]): r for r in got}
    for r in data.raw:
        row = by_key[(r.run, r.name)]
        assert (row["serial"], row["build"], row["station"]) == (r.serial, r.build, r.station)
        assert row["value"] == r.value  # floats written exactly
        assert (row["outcome"], row["unit"], row["marginal"]) == (r.outcome.value, "mm", False)
        assert (row["lsl"], row["usl"]) == LIMITS[r.name]


def test_the_export_takes_the_filters_and_columns(
    uow: UnitOfWork, data: Data, tmp_path: Path
) -> None:
    out = tmp_path / "gap.parquet"
    filters = MeasurementFilters(build="AS1-EVT", station="S1", characteristic="Gap")
    result = export_measurements(uow, out, filters, actor=SYSTEM, columns=["serial", "value"])
    table = pq.read_table(out)
    assert table.column_names == ["serial", "value"]
    expected = [r for r in data.raw if (r.build, r.station, r.name) == ("AS1-EVT", "S1", "Gap")]
    assert result.rows == table.num_rows == len(expected)
    assert sorted(table.column("value").to_pylist()) == sorted(r.value for r in expected)
    with pytest.raises(InvalidInput, match="columns"):
        export_measurements(uow, out, filters, actor=SYSTEM, columns=["nope"])
    with pytest.raises(InvalidInput, match=r"\.csv or \.parquet"):
        export_measurements(uow, tmp_path / "m.xlsx", filters, actor=SYSTEM)


def test_an_empty_export_writes_the_header(uow: UnitOfWork, data: Data, tmp_path: Path) -> None:
    product = make_product(uow, key="EMPTY")
    make_build(uow, product_id=product.id, code="E-1")
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"e{suffix}"
        result = export_measurements(uow, out, MeasurementFilters(build="E-1"), actor=SYSTEM)
        table = pq.read_table(out) if suffix == ".parquet" else pacsv.read_csv(out)
        assert (result.rows, table.num_rows, tuple(table.column_names)) == (0, 0, EXPORT_COLUMNS)


def test_a_stored_series_is_the_builds_values_in_time_order(uow: UnitOfWork, data: Data) -> None:
    filters = MeasurementFilters("AS1", "AS1-PLT", characteristic="Gap")
    series = stored_series(uow, filters, actor=SYSTEM, subgroup="run", with_times=True)
    rows = sorted(
        (r for r in data.raw if (r.build, r.name) == ("AS1-PLT", "Gap")), key=lambda r: r.at
    )
    cols = series.columns
    np.testing.assert_array_equal(cols.numeric["value"], [r.value for r in rows])
    assert cols.text["run"].tolist() == [r.run for r in rows]
    assert cols.text["measured_at"].tolist() == [r.at.isoformat() for r in rows]
    assert (series.lsl, series.usl, series.unit) == (0.1, 0.3, "mm")
    by_unit = stored_series(uow, filters, actor=SYSTEM, subgroup="unit")
    assert by_unit.columns.text["unit"].tolist() == [r.serial for r in rows]
    with pytest.raises(InvalidInput, match="subgroup"):
        stored_series(uow, filters, actor=SYSTEM, subgroup="operator")
    with pytest.raises(InvalidInput, match="build"):
        stored_series(uow, MeasurementFilters(characteristic="Gap"), actor=SYSTEM)


def test_spc_on_stored_data_equals_spc_on_the_exported_file(
    uow: UnitOfWork, data: Data, tmp_path: Path
) -> None:
    filters = MeasurementFilters("AS1", "AS1-PLT", characteristic="Gap")
    out = tmp_path / "gap.csv"
    export_measurements(uow, out, filters, actor=SYSTEM)
    stored = stored_series(uow, filters, actor=SYSTEM, subgroup="run")
    from_db = analysis.analyse_spc(stored.columns, value="value", chart="imr").as_dict()
    from_file = analysis.analyse_spc(out, value="value", chart="imr").as_dict()
    for doc in (from_db, from_file):
        doc.pop("source")
    assert from_db == from_file
    grouped_db = stored_series(uow, filters, actor=SYSTEM)
    a = analysis.analyse_spc(grouped_db.columns, value="value", chart="xbar-r", subgroup_size=2)
    b = analysis.analyse_spc(out, value="value", chart="xbar-r", subgroup_size=2)
    assert {**a.as_dict(), "source": ""} == {**b.as_dict(), "source": ""}
    cap_db = analysis.analyse_capability(stored.columns, value="value", lsl=0.1, usl=0.3)
    cap_file = analysis.analyse_capability(out, value="value", lsl=0.1, usl=0.3)
    assert {**cap_db.as_dict(), "source": ""} == {**cap_file.as_dict(), "source": ""}
