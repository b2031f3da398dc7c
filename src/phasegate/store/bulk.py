"""Bulk inserts for the high-volume tables, and the running aggregates they feed.

Units, station passes, test runs, measurements and defects arrive by the thousand, so they skip
the ORM: on SQLite the rows go through the driver's ``executemany`` in the caller's transaction,
on PostgreSQL through ``COPY ... FROM STDIN`` (psycopg ``cursor.copy`` + ``write_row``). Both run
on the DBAPI connection underneath the SQLAlchemy ``Connection`` the caller passes, so the caller
owns the transaction::

    with engine.begin() as conn:
        unit_ids = bulk.insert_units(conn, units)
        run_ids = bulk.insert_test_runs(conn, runs)
        bulk.insert_measurements(conn, measurements)   # also updates BuildCharacteristicStat

Rows are mappings from column name to value. Omitted optional columns take the model's default;
a missing required column raises ``InvalidInput`` naming the row and the column. Datetimes must be
timezone-aware (they are stored in UTC). Enum columns take the enum or its value; JSON columns
(``test_runs.extra``, ``measurements.series``) take the Python data, written as JSON text. A
station pass or defect given no ``source_id`` gets a unique one of its own.

Ids: functions that return ids give them in the order of the rows. On PostgreSQL they are
reserved up front from the table's sequence (``nextval`` over ``generate_series``), so the
sequence stays ahead of every id written and concurrent writers never collide. On SQLite the
rows are inserted first and the ids read back: SQLite lets one writer in at a time and the write
lock is held until commit, so the rows just inserted are the ``n`` highest rowids.

Aggregates: ``insert_measurements`` and ``insert_station_passes`` add what they inserted to
``BuildCharacteristicStat`` and ``BuildStationStat`` (an upsert that adds counts and sums and
widens the extremes), so readers never scan the raw tables for summaries. ``recompute_stats``
rebuilds both from the raw rows, for repair after a manual change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import JSON, Connection, Table, text
from sqlalchemy.exc import SQLAlchemyError

from phasegate.domain.enums import Allocation, Disposition, Outcome, Severity, UnitStatus
from phasegate.domain.errors import ConfigurationError, FieldError, InvalidInput
from phasegate.store.models import (
    Attachment,
    BuildCharacteristicStat,
    BuildStationStat,
    Defect,
    Measurement,
    StationPass,
    TestRun,
    Unit,
    UTCDateTime,
)

Row = Mapping[str, Any]

# Parameters per IN (...) query; below SQLite's historical limit of 999.
_IN_CHUNK = 900


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class _Spec:
    """How to turn row mappings into tuples for one table."""

    table: Table
    columns: tuple[str, ...]
    required: frozenset[str]
    defaults: Mapping[str, Callable[[], Any]]
    enums: Mapping[str, type[enum.Enum]]
    datetimes: frozenset[str]
    jsons: frozenset[str]
    references: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _spec(
    model: Any,
    required: Iterable[str],
    defaults: Mapping[str, Callable[[], Any]],
    enums: Mapping[str, type[enum.Enum]],
) -> _Spec:
    table: Table = model.__table__
    columns = tuple(c.name for c in table.columns if c.name != "id")
    datetimes = frozenset(c.name for c in table.columns if isinstance(c.type, UTCDateTime))
    jsons = frozenset(c.name for c in table.columns if isinstance(c.type, JSON))
    return _Spec(table, columns, frozenset(required), defaults, enums, datetimes, jsons)


def _new_source_id() -> str:
    """A source id for a row whose caller gives none: unique, so it never collides."""
    return f"bulk:{uuid.uuid4().hex}"


_UNITS = _spec(
    Unit,
    required=("product_id", "build_id", "serial"),
    defaults={
        "status": lambda: UnitStatus.IN_PROCESS,
        "allocation": lambda: Allocation.UNALLOCATED,
        "created_at": _now,
        "updated_at": _now,
        "version": lambda: 1,
    },
    enums={"status": UnitStatus, "allocation": Allocation},
)
_PASSES = _spec(
    StationPass,
    required=("unit_id", "station_id", "started_at", "result"),
    defaults={
        "ended_at": lambda: None,
        "operator": lambda: "",
        "attempt": lambda: 1,
        "source_id": _new_source_id,
    },
    enums={"result": Outcome},
)
_RUNS = _spec(
    TestRun,
    required=("unit_id", "procedure", "outcome", "started_at", "source_id"),
    defaults={
        "station_id": lambda: None,
        "ended_at": lambda: None,
        "operator": lambda: "",
        "source": lambda: "",
        "extra": lambda: None,
    },
    enums={"outcome": Outcome},
)
_MEASUREMENTS_SPEC = _spec(
    Measurement,
    required=("test_run_id", "unit_id", "name", "measured_at"),
    defaults={
        "characteristic_id": lambda: None,
        "value": lambda: None,
        "text_value": lambda: None,
        "unit": lambda: "",
        "lsl": lambda: None,
        "usl": lambda: None,
        "outcome": lambda: Outcome.UNSET,
        "marginal": lambda: False,
        "series": lambda: None,
    },
    enums={"outcome": Outcome},
)
# On PostgreSQL the foreign keys of a million measurements would be checked row by row (a
# trigger per row and key, most of the cost of a COPY); the bulk path checks each batch's
# references once instead (see ``_checked_references``).
_MEASUREMENTS = dataclasses.replace(
    _MEASUREMENTS_SPEC,
    references={
        "test_run_id": "test_runs",
        "unit_id": "units",
        "characteristic_id": "characteristics",
    },
)
_DEFECTS = _spec(
    Defect,
    required=("unit_id", "defect_code_id", "severity", "found_at"),
    defaults={
        "station_id": lambda: None,
        "disposition": lambda: Disposition.PENDING,
        "cost": lambda: 0.0,
        "notes": lambda: "",
        "source_id": _new_source_id,
    },
    enums={"severity": Severity, "disposition": Disposition},
)
_ATTACHMENTS = _spec(
    Attachment,
    required=("test_run_id", "name"),
    defaults={"mimetype": lambda: "", "size": lambda: None, "sha1": lambda: ""},
    enums={},
)


# --------------------------------------------------------------------------------------------
# Inserting


def insert_units(conn: Connection, rows: Sequence[Row]) -> list[int]:
    """Insert units; returns their ids in row order."""
    return _insert(conn, _UNITS, rows, want_ids=True)


def insert_test_runs(conn: Connection, rows: Sequence[Row]) -> list[int]:
    """Insert test runs; returns their ids in row order. ``source_id`` must be unique."""
    return _insert(conn, _RUNS, rows, want_ids=True)


def insert_defects(conn: Connection, rows: Sequence[Row]) -> list[int]:
    """Insert defects; returns their ids in row order. ``source_id``, when given, must be
    unique (a unique one is made when not)."""
    return _insert(conn, _DEFECTS, rows, want_ids=True)


def insert_attachments(conn: Connection, rows: Sequence[Row]) -> int:
    """Insert attachment metadata of test runs; returns the row count."""
    _insert(conn, _ATTACHMENTS, rows, want_ids=False)
    return len(rows)


def insert_station_passes(
    conn: Connection,
    rows: Sequence[Row],
    *,
    update_stats: bool = True,
    build_of_unit: Mapping[int, int] | None = None,
) -> list[int]:
    """Insert station passes and add them to ``BuildStationStat``; returns ids in row order.

    ``build_of_unit`` (unit id -> build id) saves a lookup when the caller already knows it.
    """
    ids = _insert(conn, _PASSES, rows, want_ids=True)
    if update_stats and rows:
        builds = build_of_unit or build_of_units(conn, {int(r["unit_id"]) for r in rows})
        apply_station_stats(conn, station_stat_deltas(rows, builds))
    return ids


def insert_measurements(
    conn: Connection,
    rows: Sequence[Row],
    *,
    update_stats: bool = True,
    build_of_unit: Mapping[int, int] | None = None,
) -> int:
    """Insert measurements and add them to ``BuildCharacteristicStat``; returns the row count.

    Measurements without a ``characteristic_id`` are stored but not aggregated.
    """
    _insert(conn, _MEASUREMENTS, rows, want_ids=False)
    if update_stats and rows:
        builds = build_of_unit or build_of_units(conn, {int(r["unit_id"]) for r in rows})
        apply_characteristic_stats(conn, characteristic_stat_deltas(rows, builds))
    return len(rows)


MEASUREMENT_COLUMNS = _MEASUREMENTS.columns
"""The columns ``insert_measurement_columns`` takes (those it is not given take defaults)."""


def insert_measurement_columns(
    conn: Connection,
    columns: Mapping[str, Sequence[Any]],
    n: int,
    *,
    deltas: Sequence[CharacteristicStatDelta] = (),
) -> int:
    """Insert ``n`` measurements given column by column (name -> ``n`` values, as
    ``insert_measurements`` takes them per row) and add ``deltas`` — their own totals, from
    ``characteristic_stat_deltas_of`` over the same values — to ``BuildCharacteristicStat``;
    returns the row count. For a caller that holds its measurements as columns already: no
    mapping per row is made."""
    _insert_columns(conn, _MEASUREMENTS, columns, n, want_ids=False)
    apply_characteristic_stats(conn, deltas)
    return n


def build_of_units(conn: Connection, unit_ids: Iterable[int]) -> dict[int, int]:
    """Map unit id -> build id for the given units (missing ids are left out)."""
    wanted = sorted(set(unit_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        marks = ", ".join(f":u{i}" for i in range(len(chunk)))
        params = {f"u{i}": v for i, v in enumerate(chunk)}
        result = conn.execute(text(f"SELECT id, build_id FROM units WHERE id IN ({marks})"), params)
        found.update((int(u), int(b)) for u, b in result)
    return found


def _columns_of(spec: _Spec, rows: Sequence[Row]) -> dict[str, list[Any]]:
    """The rows' values column by column; a column no row gives is left out (its default)."""
    required = spec.required
    for index, row in enumerate(rows):
        if not required <= row.keys():
            missing = sorted(required.difference(row))[0]
            raise _bad_row(spec, index, missing, "missing column")
    given = set().union(*(row.keys() for row in rows)) if rows else set()
    columns: dict[str, list[Any]] = {}
    for name in spec.columns:
        if name not in given:
            continue
        default = spec.defaults.get(name, _null)
        columns[name] = [row[name] if name in row else default() for row in rows]
    return columns


def _prepare_columns(
    spec: _Spec,
    columns: Mapping[str, Sequence[Any]],
    n: int,
    convert_dt: Callable[[Any], Any] | None,
) -> list[Sequence[Any]]:
    """Columns (name -> ``n`` values) in ``spec.columns`` order, as stored: a column not
    given takes its default, enums become their values, datetimes and JSON their stored form.

    Column by column: a conversion maps each distinct value once (the measurements of one run
    share their time, a column of outcomes holds a handful of values), so the cost per cell is
    a dictionary lookup in C, not a Python call.
    """
    prepared = []
    for name in spec.columns:
        column = columns.get(name)
        if column is None:
            if name in spec.required:
                raise _bad_row(spec, 0, name, "missing column")
            default = spec.defaults.get(name, _null)
            # A made-up source id is one per row; any other default is one value for all.
            column = [default() for _ in range(n)] if default is _new_source_id else [default()] * n
        elif len(column) != n:
            raise ValueError(f"{spec.table.name}: column {name} has {len(column)} values, not {n}")
        prepared.append(_convert_column(spec, name, column, convert_dt))
    return prepared


def _null() -> None:
    """The default of a column the model gives none: null."""
    return None


def _first_bad(column: Sequence[Any], good: Callable[[Any], bool]) -> tuple[int, Any]:
    return next((i, v) for i, v in enumerate(column) if v is not None and not good(v))


def _convert_column(
    spec: _Spec, name: str, column: Sequence[Any], convert_dt: Callable[[Any], Any] | None
) -> Sequence[Any]:
    """Column ``name``'s values as stored; the column itself when they are stored as they are."""
    if name in spec.enums:
        cls = spec.enums[name]
        stored: dict[Any, Any] = {m.value: m.value for m in cls} | {m: m.value for m in cls}
        stored[None] = None
        try:
            return list(map(stored.__getitem__, column))
        except (KeyError, TypeError):
            allowed = ", ".join(str(m.value) for m in cls)
            index, value = _first_bad(column, lambda v: _hashable_in(v, stored))
            raise _bad_row(spec, index, name, f"{value!r} is not one of: {allowed}") from None
    if name in spec.datetimes:
        # Many rows share a time (the measurements of one run): each is converted once.
        distinct: set[Any] | None
        try:
            distinct = set(column)
        except TypeError:  # an unhashable value: not a datetime
            distinct = None
        if distinct is None or not all(v is None or _aware(v) for v in distinct):
            index, value = _first_bad(column, _aware)
            raise _bad_row(spec, index, name, f"{value!r} must be a timezone-aware datetime")
        if convert_dt is None:
            return column
        done = {v: convert_dt(v) for v in distinct if v is not None}
        done[None] = None
        return list(map(done.__getitem__, column))
    if name in spec.jsons:
        out = list(column)
        for index, value in enumerate(out):
            if value is not None:
                try:
                    out[index] = json.dumps(value, allow_nan=False, separators=(",", ":"))
                except (TypeError, ValueError) as error:
                    raise _bad_row(spec, index, name, f"is not JSON data: {error}") from None
        return out
    return column


def _hashable_in(value: Any, stored: Mapping[Any, Any]) -> bool:
    try:
        return value in stored
    except TypeError:
        return False


def _aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def _bad_row(spec: _Spec, index: int, column: str, reason: str) -> InvalidInput:
    table = spec.table.name
    if reason == "missing column":
        message = f"{table} row {index}: missing column {column!r}"
    else:
        message = f"{table} row {index}: {column} {reason}"
    return InvalidInput(message, [FieldError(f"{table}[{index}].{column}", reason)])


def _insert(conn: Connection, spec: _Spec, rows: Sequence[Row], *, want_ids: bool) -> list[int]:
    if not rows:
        return []
    return _insert_columns(conn, spec, _columns_of(spec, rows), len(rows), want_ids=want_ids)


def _insert_columns(
    conn: Connection,
    spec: _Spec,
    columns: Mapping[str, Sequence[Any]],
    n: int,
    *,
    want_ids: bool,
) -> list[int]:
    if n == 0:
        return []
    if not conn.in_transaction():
        # The driver's cursor below begins nothing by itself (on SQLite, SQLAlchemy emits
        # BEGIN), so begin the caller's transaction as the connection's first statement would.
        conn.begin()
    dialect = conn.dialect
    if dialect.name == "postgresql":
        prepared = _prepare_columns(spec, columns, n, None)
        if spec.references and not want_ids:
            return _copy_with_references_checked(conn, spec, columns, prepared)
        return _insert_postgresql(conn, spec, prepared, want_ids=want_ids)
    if dialect.name == "sqlite":
        prepared = _prepare_columns(spec, columns, n, _sqlite_datetime)
        data = list(zip(*prepared, strict=True))
        return _insert_sqlite(conn, spec, data, want_ids=want_ids)
    raise ConfigurationError(f"bulk insert does not support the {dialect.name!r} backend")


def _copy_with_references_checked(
    conn: Connection,
    spec: _Spec,
    columns: Mapping[str, Sequence[Any]],
    prepared: list[Sequence[Any]],
) -> list[int]:
    """COPY rows whose references were checked once for the whole batch.

    Each referenced row is locked ``FOR KEY SHARE`` — what a foreign-key check takes, so no
    other transaction deletes it before this one commits — and one that is missing refuses the
    batch with the row that names it. The per-row foreign-key triggers are then skipped for the
    COPY (``session_replication_role = replica``, for this transaction only). Where the
    database user may not set that (it takes a superuser, or ``GRANT SET``), the triggers run
    as usual, after the same check.
    """
    _checked_references(conn, spec, columns)
    skipped = _skip_triggers(conn)
    try:
        return _insert_postgresql(conn, spec, prepared, want_ids=False)
    finally:
        if skipped:
            conn.exec_driver_sql("SET LOCAL session_replication_role = origin")


def _checked_references(
    conn: Connection, spec: _Spec, columns: Mapping[str, Sequence[Any]]
) -> None:
    for column, table in spec.references.items():
        values = columns.get(column)
        if values is None:
            continue
        wanted = {v for v in set(values) if v is not None}
        if not wanted:
            continue
        found = {
            int(i)
            for (i,) in conn.exec_driver_sql(
                f"SELECT id FROM {table} WHERE id = ANY(%(ids)s) FOR KEY SHARE",
                {"ids": sorted(wanted)},
            )
        }
        missing = wanted - found
        if missing:
            index, value = _first_bad(values, functools.partial(_absent, missing))
            raise _bad_row(spec, index, column, f"{value!r} is not in {table}")


def _absent(missing: set[Any], value: Any) -> bool:
    return value not in missing


def _skip_triggers(conn: Connection) -> bool:
    """Turn the per-row triggers off for this transaction, if the user may; whether it did."""
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except SQLAlchemyError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _sqlite_datetime(value: dt.datetime) -> str:
    # The text form SQLAlchemy's SQLite DATETIME writes and parses back (UTC, no offset).
    v = value.astimezone(dt.UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _insert_sqlite(
    conn: Connection, spec: _Spec, data: Sequence[tuple[Any, ...]], *, want_ids: bool
) -> list[int]:
    columns = ", ".join(spec.columns)
    marks = ", ".join("?" for _ in spec.columns)
    sql = f"INSERT INTO {spec.table.name} ({columns}) VALUES ({marks})"
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.executemany(sql, data)
        if not want_ids:
            return []
        # The write lock is ours until commit, so the rows just added hold the highest rowids.
        cursor.execute(f"SELECT max(id) FROM {spec.table.name}")
        (last,) = cursor.fetchone() or (0,)
    finally:
        cursor.close()
    return list(range(int(last) - len(data) + 1, int(last) + 1))


def _insert_postgresql(
    conn: Connection, spec: _Spec, prepared: list[Sequence[Any]], *, want_ids: bool
) -> list[int]:
    n = len(prepared[0]) if prepared else 0
    ids: list[int] = []
    columns = spec.columns
    if want_ids:
        result = conn.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": spec.table.name, "n": n},
        )
        ids = [int(i) for (i,) in result]
        columns = ("id", *columns)
        prepared = [ids, *prepared]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor:  # type: ignore[attr-defined]
        sql = f"COPY {spec.table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(sql) as copy:
            copy.write(_copy_text(prepared))
    return ids


# COPY's text format: a tab between fields, a newline after each row, \N for null; a backslash,
# tab, newline or carriage return inside a value is escaped with a backslash.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


def _copy_cell(value: Any) -> str:
    if value is None:
        return _COPY_NULL
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_column(column: Sequence[Any]) -> list[str]:
    """One column as COPY text: each distinct value formatted once (names, units, times and
    outcomes repeat), numbers formatted in C."""
    first = next((v for v in column if v is not None), None)
    if type(first) is float:
        if all(type(v) is float for v in column):
            return list(map(float.__repr__, column))
        if all(v is None or type(v) is float for v in column):
            return [_COPY_NULL if v is None else repr(v) for v in column]
    if type(first) is int and all(type(v) is int for v in column):
        return list(map(int.__repr__, column))
    try:
        done = {v: _copy_cell(v) for v in set(column)}
    except TypeError:  # an unhashable value (JSON text is a string; nothing else should be)
        return list(map(_copy_cell, column))
    return list(map(done.__getitem__, column))


def _copy_text(prepared: Sequence[Sequence[Any]]) -> str:
    """The rows of ``prepared`` (columns of stored values) in COPY's text format."""
    if not prepared or not prepared[0]:
        return ""
    cells = [_copy_column(column) for column in prepared]
    return "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"


# --------------------------------------------------------------------------------------------
# Running aggregates


@dataclass(frozen=True, slots=True)
class CharacteristicTotals:
    """Measurements of one characteristic summed up, as ``BuildCharacteristicStat`` keeps them
    per (build, characteristic): the count, sums and extremes of the numeric values, the passed
    and failed outcomes, and the values below the LSL or above the USL of their row."""

    count: int
    total: float
    total_sq: float
    minimum: float | None
    maximum: float | None
    passed: int
    failed: int
    below_lsl: int
    above_usl: int


@dataclass(frozen=True, slots=True)
class StationTotals:
    """Passes at one station summed up, as ``BuildStationStat`` keeps them per (build,
    station): passes, first attempts and the first-pass successes among them, failures, and the
    count, sums and extremes of the cycle times."""

    passes: int
    first_attempts: int
    first_pass_ok: int
    failures: int
    cycle_time_count: int
    cycle_time_total_s: float
    cycle_time_total_sq: float
    cycle_time_min_s: float | None
    cycle_time_max_s: float | None

    @classmethod
    def none(cls) -> StationTotals:
        return cls(0, 0, 0, 0, 0, 0.0, 0.0, None, None)


def totals_of(totals: type[Any], row: object) -> dict[str, Any]:
    """The fields of ``totals`` (``StationTotals`` or ``CharacteristicTotals``) read from
    ``row``, an aggregate row or totals, for the shapes that extend them."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(totals)}


@dataclass(frozen=True, slots=True)
class CharacteristicStatDelta(CharacteristicTotals):
    """What a batch of measurements adds to one (build, characteristic) aggregate."""

    build_id: int
    characteristic_id: int


@dataclass(frozen=True, slots=True)
class StationStatDelta(StationTotals):
    """What a batch of station passes adds to one (build, station) aggregate."""

    build_id: int
    station_id: int


def _value(enum_or_text: Any) -> Any:
    return enum_or_text.value if isinstance(enum_or_text, enum.Enum) else enum_or_text


def _group(keys: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], np.ndarray]:
    index: dict[tuple[int, int], int] = {}
    inverse = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64)
    return list(index), inverse


def _extremes(
    inverse: np.ndarray, values: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    low = np.full(groups, np.inf)
    high = np.full(groups, -np.inf)
    np.minimum.at(low, inverse, values)
    np.maximum.at(high, inverse, values)
    return low, high


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def characteristic_stat_deltas(
    rows: Sequence[Row], build_of_unit: Mapping[int, int]
) -> list[CharacteristicStatDelta]:
    """Per (build, characteristic): count, sums, extremes of numeric values; passed and failed
    outcomes; values below ``lsl`` / above ``usl`` of the row itself. Rows without a
    characteristic are left out; rows without a numeric value count only towards ``passed`` and
    ``failed``."""
    kept = [r for r in rows if r.get("characteristic_id") is not None]
    if not kept:
        return []
    outcomes = [_value(r.get("outcome")) for r in kept]
    return characteristic_stat_deltas_of(
        builds=np.array([build_of_unit[int(r["unit_id"])] for r in kept], dtype=np.int64),
        characteristics=np.array([int(r["characteristic_id"]) for r in kept], dtype=np.int64),
        values=np.array([r.get("value") for r in kept], dtype=np.float64),
        lsl=np.array([r.get("lsl") for r in kept], dtype=np.float64),
        usl=np.array([r.get("usl") for r in kept], dtype=np.float64),
        passed=np.array([o == Outcome.PASS.value for o in outcomes], dtype=bool),
        failed=np.array([o == Outcome.FAIL.value for o in outcomes], dtype=bool),
    )


def characteristic_stat_deltas_of(
    *,
    builds: np.ndarray,
    characteristics: np.ndarray,
    values: np.ndarray,
    lsl: np.ndarray,
    usl: np.ndarray,
    passed: np.ndarray,
    failed: np.ndarray,
) -> list[CharacteristicStatDelta]:
    """The deltas of ``characteristic_stat_deltas`` from equal-length arrays, one element per
    measurement: build and characteristic ids (a negative characteristic: none, left out),
    values and limits as floats (NaN where there is none), and the passed and failed outcomes
    as booleans."""
    keep = characteristics >= 0
    if not keep.all():
        builds, characteristics, values = builds[keep], characteristics[keep], values[keep]
        lsl, usl, passed, failed = lsl[keep], usl[keep], passed[keep], failed[keep]
    if builds.size == 0:
        return []
    pairs = np.stack((builds, characteristics), axis=1)
    groups, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    # In order of first appearance, as the rows came.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    groups, inverse = groups[order], rank[inverse]
    n = len(groups)
    has = ~np.isnan(values)
    v = np.where(has, values, 0.0)
    count = np.bincount(inverse, weights=has, minlength=n)
    total = np.bincount(inverse, weights=v, minlength=n)
    total_sq = np.bincount(inverse, weights=v * v, minlength=n)
    low, high = _extremes(inverse[has], values[has], n)
    below = np.bincount(inverse, weights=has & (v < np.nan_to_num(lsl, nan=-np.inf)), minlength=n)
    above = np.bincount(inverse, weights=has & (v > np.nan_to_num(usl, nan=np.inf)), minlength=n)
    n_passed = np.bincount(inverse, weights=passed, minlength=n)
    n_failed = np.bincount(inverse, weights=failed, minlength=n)
    return [
        CharacteristicStatDelta(
            build_id=int(b),
            characteristic_id=int(c),
            count=int(count[i]),
            total=float(total[i]),
            total_sq=float(total_sq[i]),
            minimum=_finite_or_none(low[i]),
            maximum=_finite_or_none(high[i]),
            passed=int(n_passed[i]),
            failed=int(n_failed[i]),
            below_lsl=int(below[i]),
            above_usl=int(above[i]),
        )
        for i, (b, c) in enumerate(groups.tolist())
    ]


def station_stat_deltas(
    rows: Sequence[Row], build_of_unit: Mapping[int, int]
) -> list[StationStatDelta]:
    """Per (build, station): passes, first attempts, first-pass successes, failures, and the
    count, sums and extremes of cycle times (``ended_at - started_at`` where both are set)."""
    if not rows:
        return []
    keys = [(build_of_unit[int(r["unit_id"])], int(r["station_id"])) for r in rows]
    groups, inverse = _group(keys)
    n = len(groups)
    results = [_value(r["result"]) for r in rows]
    first = np.array([int(r.get("attempt", 1)) == 1 for r in rows])
    ok = np.array([res == Outcome.PASS.value for res in results])
    fail = np.array([res == Outcome.FAIL.value for res in results])
    cycle = np.array(
        [
            (r["ended_at"] - r["started_at"]).total_seconds()
            if r.get("ended_at") is not None
            else np.nan
            for r in rows
        ],
        dtype=np.float64,
    )
    timed = ~np.isnan(cycle)
    cycle0 = np.where(timed, cycle, 0.0)
    low, high = _extremes(inverse[timed], cycle[timed], n)
    passes = np.bincount(inverse, minlength=n)
    firsts = np.bincount(inverse, weights=first, minlength=n)
    first_ok = np.bincount(inverse, weights=first & ok, minlength=n)
    failures = np.bincount(inverse, weights=fail, minlength=n)
    ct_count = np.bincount(inverse, weights=timed, minlength=n)
    ct_total = np.bincount(inverse, weights=cycle0, minlength=n)
    ct_sq = np.bincount(inverse, weights=cycle0 * cycle0, minlength=n)
    return [
        StationStatDelta(
            build_id=b,
            station_id=s,
            passes=int(passes[i]),
            first_attempts=int(firsts[i]),
            first_pass_ok=int(first_ok[i]),
            failures=int(failures[i]),
            cycle_time_count=int(ct_count[i]),
            cycle_time_total_s=float(ct_total[i]),
            cycle_time_total_sq=float(ct_sq[i]),
            cycle_time_min_s=_finite_or_none(low[i]),
            cycle_time_max_s=_finite_or_none(high[i]),
        )
        for i, (b, s) in enumerate(groups)
    ]


def _upsert_sql(
    table: str, keys: tuple[str, ...], sums: tuple[str, ...], low: str, high: str
) -> str:
    columns = (*keys, *sums, low, high)
    target = table  # in DO UPDATE the table name means the row already there
    updates = [f"{c} = {target}.{c} + excluded.{c}" for c in sums]
    updates.append(
        f"{low} = CASE WHEN {target}.{low} IS NULL OR excluded.{low} < {target}.{low} "
        f"THEN excluded.{low} ELSE {target}.{low} END"
    )
    updates.append(
        f"{high} = CASE WHEN {target}.{high} IS NULL OR excluded.{high} > {target}.{high} "
        f"THEN excluded.{high} ELSE {target}.{high} END"
    )
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(updates)}"
    )


_CHAR_SUMS = ("count", "total", "total_sq", "passed", "failed", "below_lsl", "above_usl")
_STATION_SUMS = (
    "passes",
    "first_attempts",
    "first_pass_ok",
    "failures",
    "cycle_time_count",
    "cycle_time_total_s",
    "cycle_time_total_sq",
)
_CHAR_UPSERT = _upsert_sql(
    BuildCharacteristicStat.__tablename__,
    ("build_id", "characteristic_id"),
    _CHAR_SUMS,
    "minimum",
    "maximum",
)
_STATION_UPSERT = _upsert_sql(
    BuildStationStat.__tablename__,
    ("build_id", "station_id"),
    _STATION_SUMS,
    "cycle_time_min_s",
    "cycle_time_max_s",
)


def apply_characteristic_stats(conn: Connection, deltas: Sequence[CharacteristicStatDelta]) -> None:
    """Add ``deltas`` to ``build_characteristic_stats`` (insert or accumulate)."""
    if deltas:
        conn.execute(text(_CHAR_UPSERT), [_as_dict(d) for d in deltas])


def apply_station_stats(conn: Connection, deltas: Sequence[StationStatDelta]) -> None:
    """Add ``deltas`` to ``build_station_stats`` (insert or accumulate)."""
    if deltas:
        conn.execute(text(_STATION_UPSERT), [_as_dict(d) for d in deltas])


def _as_dict(delta: Any) -> dict[str, Any]:
    return {f.name: getattr(delta, f.name) for f in dataclasses.fields(delta)}


# A value's square; one too small for a double is 0, as in Python (PostgreSQL would raise
# "value out of range: underflow").
_SQUARE = "CASE WHEN abs(m.value) < 1e-150 THEN 0.0 ELSE m.value * m.value END"


def recompute_stats(conn: Connection, build_id: int | None = None) -> None:
    """Rebuild both aggregates from the raw rows, for one build or all of them."""
    where_build = "" if build_id is None else " AND u.build_id = :build_id"
    params = {} if build_id is None else {"build_id": build_id}
    delete_filter = "" if build_id is None else " WHERE build_id = :build_id"
    conn.execute(text(f"DELETE FROM build_characteristic_stats{delete_filter}"), params)
    conn.execute(text(f"DELETE FROM build_station_stats{delete_filter}"), params)
    fail = Outcome.FAIL.value
    ok = Outcome.PASS.value
    conn.execute(
        text(
            "INSERT INTO build_characteristic_stats (build_id, characteristic_id, count, total, "
            "total_sq, minimum, maximum, passed, failed, below_lsl, above_usl) "
            "SELECT u.build_id, m.characteristic_id, count(m.value), coalesce(sum(m.value), 0), "
            f"coalesce(sum({_SQUARE}), 0), min(m.value), max(m.value), "
            f"sum(CASE WHEN m.outcome = '{ok}' THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN m.outcome = '{fail}' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN m.value < m.lsl THEN 1 ELSE 0 END), "
            "sum(CASE WHEN m.value > m.usl THEN 1 ELSE 0 END) "
            "FROM measurements m JOIN units u ON u.id = m.unit_id "
            f"WHERE m.characteristic_id IS NOT NULL{where_build} "
            "GROUP BY u.build_id, m.characteristic_id"
        ),
        params,
    )
    if conn.dialect.name == "postgresql":
        seconds = "EXTRACT(EPOCH FROM (p.ended_at - p.started_at))::float8"
    else:
        # Whole seconds from strftime plus the microsecond digits: exact, unlike julianday().
        seconds = (
            "(CAST(strftime('%s', p.ended_at) AS INTEGER) "
            "- CAST(strftime('%s', p.started_at) AS INTEGER)) "
            "+ (CAST(substr(p.ended_at, 21) AS INTEGER) "
            "- CAST(substr(p.started_at, 21) AS INTEGER)) / 1000000.0"
        )
    conn.execute(
        text(
            "INSERT INTO build_station_stats (build_id, station_id, passes, first_attempts, "
            "first_pass_ok, failures, cycle_time_count, cycle_time_total_s, "
            "cycle_time_total_sq, cycle_time_min_s, cycle_time_max_s) "
            "SELECT build_id, station_id, count(*), "
            "sum(CASE WHEN attempt = 1 THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN attempt = 1 AND result = '{ok}' THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN result = '{fail}' THEN 1 ELSE 0 END), "
            "count(ct), coalesce(sum(ct), 0), coalesce(sum(ct * ct), 0), min(ct), max(ct) "
            f"FROM (SELECT u.build_id, p.station_id, p.attempt, p.result, {seconds} AS ct "
            "FROM station_passes p JOIN units u ON u.id = p.unit_id "
            f"WHERE 1 = 1{where_build}) AS t "
            "GROUP BY build_id, station_id"
        ),
        params,
    )
