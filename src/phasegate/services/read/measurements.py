"""Stored measurements read back: a summary per characteristic, an export, a series for SPC.

- :func:`measurement_summary`: one row per measurement name (as mapped onto its characteristic:
  an alias counts under the characteristic it names) with ``name, unit, count, mean, std, min,
  max, passed, failed``. Filtered by product, build and characteristic it reads the maintained
  per-(build, characteristic) aggregates (``BuildCharacteristicStat``: thousands of rows, not
  millions), passed and failed outcomes included. With a station (the aggregates are per
  build and characteristic, not per station) it computes the same totals with one ``GROUP BY``
  over the measurements joined to their test runs. Both paths combine the per-build totals
  with the same formula, so they agree.
- :func:`export_measurements`: the raw rows to CSV or Parquet, read in bounded chunks from a
  server-side cursor and written chunk by chunk with pyarrow, so memory stays bounded.
- :func:`stored_series`: one characteristic's values of one build as the columns the analysis
  services take from a CSV file (``phasegate spc|capability --build ...``).

``count``, ``mean``, ``std``, ``min`` and ``max`` are of the numeric values; ``passed`` and
``failed`` count the outcomes of every measurement (text values too). ``std`` is the sample
standard deviation (n - 1), null below two values.

Who may: ``Action.READ`` on ``Kind.TEST_DATA``. A partner user sees only the measurements of
its partner's builds; another build is ``NotFound``, worded as for one that does not exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from sqlalchemy import ColumnElement, Select, case, func, select

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import NotFound, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.ingest.columns import ColumnData
from phasegate.services.access import authorize, scope_clause, scoped
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    Characteristic,
    Measurement,
    Product,
    Station,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "EXPORT_COLUMNS",
    "ExportResult",
    "MeasurementFilters",
    "MeasurementSummary",
    "StoredSeries",
    "SummaryRow",
    "export_measurements",
    "measurement_summary",
    "stored_series",
]

# A value's square; one too small for a double is 0, as in Python (PostgreSQL would raise
# "value out of range: underflow"), the same expression ``store.bulk`` recomputes with.
_SQUARE = case(
    (func.abs(Measurement.value) < 1e-150, 0.0), else_=Measurement.value * Measurement.value
)


@dataclass(frozen=True, slots=True)
class MeasurementFilters:
    """Which measurements: by product key, build code, station name and characteristic name."""

    product: str | None = None
    build: str | None = None
    station: str | None = None
    characteristic: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One characteristic's measurements summed up."""

    name: str
    unit: str
    count: int  # numeric values
    mean: float | None
    std: float | None  # sample standard deviation (n - 1)
    min: float | None
    max: float | None
    passed: int
    failed: int
    product: str


@dataclass(frozen=True, slots=True)
class MeasurementSummary:
    """The summary rows, and whether they came from the aggregates or the measurements."""

    rows: tuple[SummaryRow, ...]
    source: str  # "aggregates" or "measurements"


@dataclass(frozen=True, slots=True)
class _Totals:
    """One (build, characteristic)'s count, sums and extremes, as the aggregate keeps them."""

    characteristic_id: int
    count: int
    total: float
    total_sq: float
    minimum: float | None
    maximum: float | None
    passed: int
    failed: int


@dataclass(frozen=True, slots=True)
class _Scope:
    """The filters resolved to ids; None where a filter was not given."""

    product_id: int | None
    build_ids: list[int] | None
    station_ids: list[int] | None
    characteristic_ids: list[int] | None


def _ci(column: Any, value: str) -> ColumnElement[bool]:
    return func.lower(column) == func.lower(value)


def _resolve(uow: UnitOfWork, f: MeasurementFilters, actor: Principal) -> _Scope:
    """The filters as ids; ``NotFound`` for a name that is not there (or not visible)."""
    product_id = None
    if f.product is not None:
        stmt = scoped(select(Product.id).where(_ci(Product.key, f.product)), actor, Product)
        product_id = uow.session.scalar(stmt)
        if product_id is None:
            raise NotFound(f"product {f.product!r} does not exist")
    build_ids = None if f.build is None else _builds(uow, f.build, product_id, actor)
    station_ids = None if f.station is None else _stations(uow, f.station, build_ids)
    characteristic_ids = None
    if f.characteristic is not None:
        characteristic_ids = _characteristics(uow, f.characteristic, product_id, build_ids, actor)
    return _Scope(product_id, build_ids, station_ids, characteristic_ids)


def _builds(uow: UnitOfWork, code: str, product_id: int | None, actor: Principal) -> list[int]:
    stmt = select(Build.id).where(_ci(Build.code, code))
    if product_id is not None:
        stmt = stmt.where(Build.product_id == product_id)
    found = list(uow.session.scalars(scoped(stmt, actor, Build)))
    if not found:
        raise NotFound(f"build {code!r} does not exist")
    if len(found) > 1:
        raise invalid("product", f"build {code!r} is in several products: name the product")
    return found


def _stations(uow: UnitOfWork, name: str, build_ids: list[int] | None) -> list[int]:
    stmt = select(Station.id).where(_ci(Station.name, name))
    if build_ids is not None:
        lines = select(Build.line_id).where(Build.id.in_(build_ids))
        stmt = stmt.where(Station.line_id.in_(lines))
    found = list(uow.session.scalars(stmt))
    if not found:
        raise NotFound(f"station {name!r} does not exist")
    return found


def _characteristics(
    uow: UnitOfWork,
    name: str,
    product_id: int | None,
    build_ids: list[int] | None,
    actor: Principal,
) -> list[int]:
    stmt = select(Characteristic.id).where(_ci(Characteristic.name, name))
    if product_id is not None:
        stmt = stmt.where(Characteristic.product_id == product_id)
    elif build_ids is not None:
        products = select(Build.product_id).where(Build.id.in_(build_ids))
        stmt = stmt.where(Characteristic.product_id.in_(products))
    found = list(uow.session.scalars(scoped(stmt, actor, Characteristic)))
    if not found:
        raise NotFound(f"characteristic {name!r} does not exist")
    return found


S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def _measurement_where(stmt: S, scope: _Scope, actor: Principal) -> S:
    """``stmt`` (over measurements joined to units) narrowed to the scope and the actor's."""
    if scope.product_id is not None:
        stmt = stmt.where(Unit.product_id == scope.product_id)
    if scope.build_ids is not None:
        stmt = stmt.where(Unit.build_id.in_(scope.build_ids))
    if scope.characteristic_ids is not None:
        stmt = stmt.where(Measurement.characteristic_id.in_(scope.characteristic_ids))
    if scope.station_ids is not None:
        stmt = stmt.where(TestRun.station_id.in_(scope.station_ids))
    clause = scope_clause(actor, Build)
    if clause is not None:
        stmt = stmt.where(Unit.build_id.in_(select(Build.id).where(clause)))
    return stmt


def measurement_summary(
    uow: UnitOfWork,
    filters: MeasurementFilters = MeasurementFilters(),
    *,
    actor: Principal,
    from_aggregates: bool | None = None,
) -> MeasurementSummary:
    """One row per characteristic measured, in product then name order.

    Read from the maintained aggregates unless a station is given (or ``from_aggregates`` is
    False, to compute the same from the raw rows with one ``GROUP BY``).
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    aggregates = filters.station is None if from_aggregates is None else from_aggregates
    if aggregates and filters.station is not None:
        raise invalid("station", "the aggregates are per build and characteristic, not station")
    with uow:
        scope = _resolve(uow, filters, actor)
        if aggregates:
            totals = _from_aggregates(uow, scope, actor)
        else:
            totals = _from_measurements(uow, scope, actor)
        names = _names(uow, {t.characteristic_id for t in totals})
    by_char: dict[int, list[_Totals]] = {}
    for t in totals:
        by_char.setdefault(t.characteristic_id, []).append(t)
    rows = [_combine(parts, names[cid]) for cid, parts in by_char.items()]
    rows.sort(key=lambda r: (r.product, r.name.lower(), r.name))
    return MeasurementSummary(tuple(rows), "aggregates" if aggregates else "measurements")


def _from_aggregates(uow: UnitOfWork, scope: _Scope, actor: Principal) -> list[_Totals]:
    s = BuildCharacteristicStat
    stmt = select(
        s.characteristic_id, s.count, s.total, s.total_sq, s.minimum, s.maximum, s.passed, s.failed
    ).join(Build, Build.id == s.build_id)
    if scope.product_id is not None:
        stmt = stmt.where(Build.product_id == scope.product_id)
    if scope.build_ids is not None:
        stmt = stmt.where(s.build_id.in_(scope.build_ids))
    if scope.characteristic_ids is not None:
        stmt = stmt.where(s.characteristic_id.in_(scope.characteristic_ids))
    stmt = scoped(stmt, actor, Build)
    return [_Totals(*row) for row in uow.session.execute(stmt)]


def _from_measurements(uow: UnitOfWork, scope: _Scope, actor: Principal) -> list[_Totals]:
    m = Measurement
    stmt = (
        select(
            Unit.build_id,
            m.characteristic_id,
            func.count(m.value),
            func.coalesce(func.sum(m.value), 0.0),
            func.coalesce(func.sum(_SQUARE), 0.0),
            func.min(m.value),
            func.max(m.value),
            func.sum(case((m.outcome == Outcome.PASS, 1), else_=0)),
            func.sum(case((m.outcome == Outcome.FAIL, 1), else_=0)),
        )
        .join(Unit, Unit.id == m.unit_id)
        .join(TestRun, TestRun.id == m.test_run_id)
        .where(m.characteristic_id.is_not(None))
        .group_by(Unit.build_id, m.characteristic_id)
    )
    return [
        _Totals(int(cid), int(n), float(total), float(sq), lo, hi, int(ok), int(failed))
        for _build, cid, n, total, sq, lo, hi, ok, failed in uow.session.execute(
            _measurement_where(stmt, scope, actor)
        )
    ]


def _names(uow: UnitOfWork, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    stmt = (
        select(Characteristic.id, Characteristic.name, Characteristic.unit, Product.key)
        .join(Product, Product.id == Characteristic.product_id)
        .where(Characteristic.id.in_(ids))
    )
    return {int(cid): (name, unit, key) for cid, name, unit, key in uow.session.execute(stmt)}


def _combine(parts: Sequence[_Totals], name: tuple[str, str, str]) -> SummaryRow:
    """Per-build totals of one characteristic combined into its summary row.

    Each build's sum of squared deviations is ``total_sq - total**2 / n``; the builds are then
    combined with the pairwise formula of Chan, Golub and LeVeque (1983),
    ``M2 = sum(M2_b) + sum(n_b * (mean_b - mean)**2)``, so the cancellation is that of one build's
    own spread, not of the values' distance from zero across builds. A negative result of
    rounding is 0.
    """
    counted = [p for p in parts if p.count > 0]
    n = sum(p.count for p in counted)
    passed = sum(p.passed for p in parts)
    failed = sum(p.failed for p in parts)
    label, unit, product = name
    if n == 0:
        return SummaryRow(label, unit, 0, None, None, None, None, passed, failed, product)
    mean = math.fsum(p.total for p in counted) / n
    m2 = math.fsum(max(p.total_sq - p.total * (p.total / p.count), 0.0) for p in counted)
    m2 += math.fsum(p.count * (p.total / p.count - mean) ** 2 for p in counted)
    std = math.sqrt(max(m2, 0.0) / (n - 1)) if n >= 2 else None
    low = min(p.minimum for p in counted if p.minimum is not None)
    high = max(p.maximum for p in counted if p.maximum is not None)
    return SummaryRow(label, unit, n, mean, std, low, high, passed, failed, product)


# -------------------------------------------------------------------------------------------
# export

EXPORT_COLUMNS: tuple[str, ...] = (
    "serial",
    "build",
    "station",
    "test_run",
    "name",
    "value",
    "text_value",
    "unit",
    "lsl",
    "usl",
    "outcome",
    "marginal",
    "measured_at",
)
_FORMATS = (".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    path: str
    rows: int
    columns: tuple[str, ...]


def _export_select(columns: Sequence[str]) -> Select[Any]:
    m = Measurement
    exprs: dict[str, Any] = {
        "serial": Unit.serial,
        "build": Build.code,
        "station": Station.name,
        "test_run": TestRun.source_id,
        "name": m.name,
        "value": m.value,
        "text_value": m.text_value,
        "unit": m.unit,
        "lsl": m.lsl,
        "usl": m.usl,
        "outcome": m.outcome,
        "marginal": m.marginal,
        "measured_at": m.measured_at,
    }
    return (
        select(*(exprs[c].label(c) for c in columns))
        .select_from(m)
        .join(Unit, Unit.id == m.unit_id)
        .join(Build, Build.id == Unit.build_id)
        .join(TestRun, TestRun.id == m.test_run_id)
        .outerjoin(Station, Station.id == TestRun.station_id)
    )


def _arrow_schema(columns: Sequence[str]) -> pa.Schema:
    import pyarrow as pa

    types = {
        "value": pa.float64(),
        "lsl": pa.float64(),
        "usl": pa.float64(),
        "marginal": pa.bool_(),
        "measured_at": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


def _batch(rows: Sequence[Any], columns: Sequence[str], schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for name, cells in zip(columns, zip(*rows, strict=True), strict=True):
        if name == "outcome":
            cells = tuple(c.value if isinstance(c, Outcome) else c for c in cells)
        arrays.append(pa.array(cells, type=schema.field(name).type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def export_measurements(
    uow: UnitOfWork,
    path: str | Path,
    filters: MeasurementFilters = MeasurementFilters(),
    *,
    actor: Principal,
    columns: Sequence[str] | None = None,
    chunk_rows: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the measurements to ``path`` (``.csv`` or ``.parquet``), in measurement order.

    The rows are read from a server-side cursor ``chunk_rows`` at a time and each chunk is
    written before the next is read; ``progress(done, total)`` is called after each chunk.
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _FORMATS:
        raise invalid("path", f"{target.name}: the file must end in .csv or .parquet")
    chosen = tuple(columns) if columns else EXPORT_COLUMNS
    unknown = [c for c in chosen if c not in EXPORT_COLUMNS]
    if unknown:
        raise invalid(
            "columns", f"unknown {', '.join(unknown)}; one of {', '.join(EXPORT_COLUMNS)}"
        )
    if chunk_rows < 1:
        raise invalid("chunk_rows", f"must be at least 1, got {chunk_rows}")
    with uow:
        scope = _resolve(uow, filters, actor)
        count_stmt = _measurement_where(
            select(func.count())
            .select_from(Measurement)
            .join(Unit, Unit.id == Measurement.unit_id)
            .join(TestRun, TestRun.id == Measurement.test_run_id),
            scope,
            actor,
        )
        total = int(uow.session.scalar(count_stmt) or 0)
        stmt = _measurement_where(_export_select(chosen), scope, actor).order_by(
            Measurement.measured_at, Measurement.id
        )
        conn = uow.session.connection().execution_options(yield_per=chunk_rows)
        written = _write(conn.execute(stmt).partitions(), target, chosen, total, progress)
    return ExportResult(str(target), written, chosen)


def _write(
    chunks: Iterator[Sequence[Any]],
    target: Path,
    columns: Sequence[str],
    total: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = _arrow_schema(columns)
    writer: Any = (
        pq.ParquetWriter(target, schema)
        if target.suffix.lower() == ".parquet"
        else pacsv.CSVWriter(target, schema)
    )
    done = 0
    try:
        for chunk in chunks:
            writer.write_batch(_batch(chunk, columns, schema))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if done == 0 and target.suffix.lower() == ".parquet":
            writer.write_table(schema.empty_table())
    finally:
        writer.close()
    if progress is not None and done == 0:
        progress(0, total)
    return done


# -------------------------------------------------------------------------------------------
# stored series for spc / capability

SUBGROUP_BY = ("run", "unit")
_SERIES_CHUNK = 100_000  # rows turned into arrays at a time


@dataclass(frozen=True, slots=True, eq=False)
class StoredSeries:
    """One characteristic's stored values as columns, with its specification."""

    columns: ColumnData  # numeric "value"; text "run" / "unit" / "measured_at" when asked for
    lsl: float | None
    usl: float | None
    target: float | None
    unit: str


def stored_series(
    uow: UnitOfWork,
    filters: MeasurementFilters,
    *,
    actor: Principal,
    subgroup: str | None = None,
    with_times: bool = False,
) -> StoredSeries:
    """The numeric values of one characteristic in one build, ordered by time then id.

    Only the columns needed are read: the values, the subgroup label (``"run"``: the test run's
    source id, ``"unit"``: the serial) when ``subgroup`` is given, and the times as ISO 8601 text
    when ``with_times``. Measurements without a numeric value are left out.
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    if filters.build is None:
        raise invalid("build", "stored data needs the build (`build`)")
    if filters.characteristic is None:
        raise invalid("characteristic", "stored data needs the characteristic (`characteristic`)")
    if subgroup is not None and subgroup not in SUBGROUP_BY:
        raise invalid("subgroup", f"stored data is grouped by {' or '.join(SUBGROUP_BY)}")
    with uow:
        scope = _resolve(uow, filters, actor)
        assert scope.characteristic_ids is not None  # given, so resolved
        if len(scope.characteristic_ids) > 1:
            raise invalid("characteristic", f"{filters.characteristic!r} is ambiguous")
        char = uow.session.get(Characteristic, scope.characteristic_ids[0])
        assert char is not None
        label = {"run": TestRun.source_id, "unit": Unit.serial}.get(subgroup or "")
        wanted: list[Any] = [Measurement.value]
        if label is not None:
            wanted.append(label)
        if with_times:
            wanted.append(Measurement.measured_at)
        stmt = _measurement_where(
            select(*wanted)
            .join(Unit, Unit.id == Measurement.unit_id)
            .join(TestRun, TestRun.id == Measurement.test_run_id)
            .where(Measurement.value.is_not(None)),
            scope,
            actor,
        ).order_by(Measurement.measured_at, Measurement.id)
        chunks = [
            [np.asarray(column) for column in zip(*part, strict=True)]
            for part in uow.session.execute(
                stmt.execution_options(yield_per=_SERIES_CHUNK)
            ).partitions()
        ]
        spec = (char.lsl, char.usl, char.target, char.unit, char.name)
    columns = [
        np.concatenate([c[i] for c in chunks]) if chunks else np.empty(0)
        for i in range(len(wanted))
    ]
    n = int(columns[0].shape[0])
    numeric = {"value": columns[0].astype(np.float64)}
    text: dict[str, np.ndarray[Any, Any]] = {}
    if label is not None and subgroup is not None:
        text[subgroup] = columns[1].astype(np.str_)
    if with_times:
        times: list[Any] = columns[-1].tolist()
        text["measured_at"] = np.array([t.isoformat() for t in times], dtype=np.str_)
    source = "/".join(p for p in (filters.product, filters.build, spec[4]) if p)
    if filters.station is not None:
        source += f" at {filters.station}"
    cols = ColumnData(
        path=source,
        numeric=numeric,
        text=text,
        lines=np.arange(1, n + 1, dtype=np.int64),
        header=("value", *text),
    )
    return StoredSeries(cols, spec[0], spec[1], spec[2], spec[3])
