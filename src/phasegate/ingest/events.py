"""Station passes (CSV or JSON) and defects (CSV): one row or object, one record.

A station pass is a unit's visit to a station (``serial`` — or ``unit`` —, ``station``,
``started_at``, ``ended_at``, ``operator``, ``result``, ``attempt``); a defect is a fault found
on a unit (``serial`` or ``unit``, ``code``, ``station``, ``severity``, ``disposition``,
``cost``, ``found_at``, ``notes``). Either may name its ``product`` and ``build``. Without a
``source_id`` column the id is derived: ``derived_source_id("pass", serial, station,
started_at)``, and for a defect ``derived_source_id("defect", serial, "<station>/<code>",
found_at)`` — the code is part of it so two defects found on a unit at once stay two.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from phasegate.domain.enums import Outcome
from phasegate.ingest.documents import objects
from phasegate.ingest.records import (
    DefectIn,
    Parsed,
    Rejected,
    StationPassIn,
    Target,
    derived_source_id,
    excerpt,
)
from phasegate.ingest.tables import Block, CsvOptions, Table
from phasegate.ingest.values import (
    check_span,
    parse_disposition,
    parse_number,
    parse_outcome,
    parse_severity,
    parse_time,
)

PASS_REQUIRED = ("serial", "station", "started_at")
PASS_OPTIONAL = ("ended_at", "operator", "result", "attempt", "source_id", "product", "build")
DEFECT_REQUIRED = ("serial", "code", "severity", "found_at")
DEFECT_OPTIONAL = ("station", "disposition", "cost", "notes", "source_id", "product", "build")
SERIAL_ALIAS = "unit"


def make_pass(fields: Mapping[str, Any], *, where: str, target: Target = Target()) -> StationPassIn:
    """A station pass from its fields (text or JSON values); ValueError names the bad one."""
    serial = _required(fields, "serial")
    station = _required(fields, "station")
    started_at = _time(fields, "started_at")
    ended_at = _time(fields, "ended_at") if _given(fields, "ended_at") else None
    check_span(started_at, ended_at)
    result = _field(fields, "result", parse_outcome) if _given(fields, "result") else Outcome.UNSET
    attempt = 1
    if _given(fields, "attempt"):
        number = _field(fields, "attempt", lambda v: parse_number(v, "attempt"))
        if number != int(number) or number < 1:
            raise ValueError(f"attempt {fields['attempt']!r} is not a whole number from 1")
        attempt = int(number)
    return StationPassIn(
        where=where,
        serial=serial,
        station=station,
        started_at=started_at,
        result=result,
        source_id=_text(fields, "source_id")
        or derived_source_id("pass", serial, station, started_at),
        ended_at=ended_at,
        operator=_text(fields, "operator"),
        attempt=attempt,
        target=_target(fields, target),
    )


def make_defect(fields: Mapping[str, Any], *, where: str, target: Target = Target()) -> DefectIn:
    """A defect from its fields (text or JSON values); ValueError names the bad one."""
    serial = _required(fields, "serial")
    code = _required(fields, "code")
    found_at = _time(fields, "found_at")
    station = _text(fields, "station") or None
    cost = 0.0
    if _given(fields, "cost"):
        cost = _field(fields, "cost", lambda v: parse_number(v, "cost"))
        if cost < 0:
            raise ValueError(f"cost {cost} is negative")
    return DefectIn(
        where=where,
        serial=serial,
        code=code,
        severity=_field(fields, "severity", parse_severity),
        found_at=found_at,
        source_id=_text(fields, "source_id")
        or derived_source_id("defect", serial, f"{station or ''}/{code}", found_at),
        station=station,
        disposition=_field(fields, "disposition", parse_disposition),
        cost=cost,
        notes=_text(fields, "notes"),
        target=_target(fields, target),
    )


def read_passes_csv(
    stream: BinaryIO, *, name: str, options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The station passes of a CSV file, one per row."""
    table = Table(stream, name=name, options=options or CsvOptions())
    columns = table.resolve(
        PASS_REQUIRED, PASS_OPTIONAL, "passes", aliases={"serial": SERIAL_ALIAS}
    )
    return _rows(table, columns, make_pass)


def read_defects_csv(
    stream: BinaryIO, *, name: str, options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The defects of a CSV file, one per row."""
    table = Table(stream, name=name, options=options or CsvOptions())
    columns = table.resolve(
        DEFECT_REQUIRED, DEFECT_OPTIONAL, "defects", aliases={"serial": SERIAL_ALIAS}
    )
    return _rows(table, columns, make_defect)


def read_passes_json(stream: BinaryIO, *, name: str) -> Iterator[Parsed]:
    """The station passes of a JSON file: an array of pass objects, JSON lines of them, or an
    object with a ``station_passes`` array. Each object is checked against the native schema."""
    from phasegate.ingest.native import parse_station_pass

    for item in objects(stream, name):
        if isinstance(item, Rejected):
            yield item
            continue
        where, obj = item
        if isinstance(obj, dict) and isinstance(obj.get("station_passes"), list):
            target = Target(obj.get("product"), obj.get("build"))
            for i, one in enumerate(obj["station_passes"]):
                yield parse_station_pass(one, where=f"{where}#/station_passes/{i}", target=target)
        else:
            yield parse_station_pass(obj, where=where)


def _rows(
    table: Table,
    columns: dict[str, str],
    make: Any,
) -> Iterator[Parsed]:
    for item in table.blocks(columns):
        if isinstance(item, Rejected):
            yield item
            continue
        yield from _block_rows(table.name, columns, item, make)


def _block_rows(name: str, columns: dict[str, str], block: Block, make: Any) -> Iterator[Parsed]:
    cells = {k: v.to_pylist() for k, v in block.columns.items()}
    for i, line in enumerate(block.lines.tolist()):
        where = f"{name}:{line}"
        if i in block.bad:
            yield Rejected(where, block.bad[i], excerpt(block.text(i)))
            continue
        fields = {k: v[i] for k, v in cells.items()}
        try:
            yield make(fields, where=where)
        except ValueError as error:
            yield Rejected(where, _name_columns(str(error), columns), excerpt(block.text(i)))


def _name_columns(reason: str, columns: dict[str, str]) -> str:
    """A reason that starts with a field name says the file's column name."""
    field = reason.split(" ", 1)[0]
    if field in columns:
        return f"column {columns[field]!r}: {reason}"
    return reason


def _given(fields: Mapping[str, Any], key: str) -> bool:
    value = fields.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _text(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    return "" if value is None else str(value).strip()


def _required(fields: Mapping[str, Any], key: str) -> str:
    text = _text(fields, key)
    if not text:
        raise ValueError(f"{key} is empty")
    return text


def _time(fields: Mapping[str, Any], key: str) -> Any:
    return _field(fields, key, parse_time)


def _field(fields: Mapping[str, Any], key: str, parse: Any) -> Any:
    try:
        return parse(fields.get(key))
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(key) else f"{key} {message}") from None


def _target(fields: Mapping[str, Any], default: Target) -> Target:
    product = _text(fields, "product") or default.product
    build = _text(fields, "build") or default.build
    return Target(product, build) if product or build else Target()
