"""The native JSON document for station scripts, and its single records as the API takes them.

A document is ``{"format": "phasegate.test-data/1", "product"?, "build"?, "test_runs": [...],
"station_passes": [...], "defects": [...]}``; each record mirrors its class in
:mod:`phasegate.ingest.records`. The JSON Schema (draft 2020-12) is ``test-data.schema.json``
beside this module, published as ``docs/schemas/test-data.schema.json``. Each record is checked
against it on its own: a record that breaks it is a ``Rejected`` at its JSON pointer
(``file#/test_runs/3``) with the path and message of the schema error; the others go on.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, BinaryIO

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from phasegate.domain.errors import InvalidInput
from phasegate.ingest.documents import dump, load_document, read_limited
from phasegate.ingest.events import make_defect, make_pass
from phasegate.ingest.records import (
    AttachmentIn,
    DefectIn,
    MeasurementIn,
    Parsed,
    Rejected,
    StationPassIn,
    Target,
    TestRunIn,
    derived_source_id,
)
from phasegate.ingest.values import TEST_DATA_FORMAT, check_span, parse_outcome, parse_time

SECTIONS = ("test_runs", "station_passes", "defects")


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the native document."""
    text = resources.files("phasegate.ingest").joinpath("test-data.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(definition: str | None) -> Draft202012Validator:
    root = schema()
    if definition is None:
        # The document's own members; its records are checked one by one.
        shallow = {**root, "properties": {**root["properties"]}}
        for section in SECTIONS:
            shallow["properties"][section] = {"type": "array"}
        return Draft202012Validator(shallow)
    return Draft202012Validator(
        {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def read_native(stream: BinaryIO, *, name: str) -> Iterator[Parsed]:
    """The records of a native JSON file (read whole: see ``documents.MAX_DOCUMENT``)."""
    return parse_document(load_document(read_limited(stream, name), name), name=name)


def parse_document(obj: Any, *, name: str) -> Iterator[Parsed]:
    """The records of a native document, each checked on its own, in document order.

    A document whose own members break the schema (no ``format`` marker, a section that is not
    a list) is an InvalidInput naming ``name``.
    """
    error = best_match(_validator(None).iter_errors(obj))
    if error is not None:
        raise InvalidInput(f"{name}: not a {TEST_DATA_FORMAT} document: {_explain(error)}")
    target = Target(obj.get("product"), obj.get("build"))
    return _records(obj, name, target)


def _records(obj: dict[str, Any], name: str, target: Target) -> Iterator[Parsed]:
    for i, record in enumerate(obj.get("test_runs") or []):
        yield parse_test_run(record, where=f"{name}#/test_runs/{i}", target=target)
    for i, record in enumerate(obj.get("station_passes") or []):
        yield parse_station_pass(record, where=f"{name}#/station_passes/{i}", target=target)
    for i, record in enumerate(obj.get("defects") or []):
        yield parse_defect(record, where=f"{name}#/defects/{i}", target=target)


def parse_test_run(obj: Any, *, where: str, target: Target = Target()) -> TestRunIn | Rejected:
    """One test run object (the shape of ``#/$defs/test_run``), or why it is refused."""
    refused = _check(obj, "test_run", where)
    if refused is not None:
        return refused
    try:
        return _test_run(obj, where, target)
    except ValueError as error:
        return Rejected(where, str(error), dump(obj))


def parse_station_pass(
    obj: Any, *, where: str, target: Target = Target()
) -> StationPassIn | Rejected:
    """One station pass object (``#/$defs/station_pass``), or why it is refused."""
    refused = _check(obj, "station_pass", where)
    if refused is not None:
        return refused
    try:
        return make_pass(obj, where=where, target=target)
    except ValueError as error:
        return Rejected(where, _pointed(str(error)), dump(obj))


def parse_defect(obj: Any, *, where: str, target: Target = Target()) -> DefectIn | Rejected:
    """One defect object (``#/$defs/defect``), or why it is refused."""
    refused = _check(obj, "defect", where)
    if refused is not None:
        return refused
    try:
        return make_defect(obj, where=where, target=target)
    except ValueError as error:
        return Rejected(where, _pointed(str(error)), dump(obj))


def _check(obj: Any, definition: str, where: str) -> Rejected | None:
    error = best_match(_validator(definition).iter_errors(obj))
    if error is None:
        return None
    return Rejected(where, _explain(error), dump(obj))


def _explain(error: ValidationError) -> str:
    pointer = "".join(f"/{part}" for part in error.absolute_path) or "/"
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return f"at {pointer}: {message}"


def _pointed(reason: str) -> str:
    """A reason that starts with a field name, located at that field."""
    field, _, rest = reason.partition(" ")
    return f"at /{field}: {reason}" if field.isidentifier() and rest else reason


def _test_run(obj: Mapping[str, Any], where: str, target: Target) -> TestRunIn:
    started_at = _time(obj, "started_at")
    ended_at = _time(obj, "ended_at") if obj.get("ended_at") is not None else None
    check_span(started_at, ended_at)
    serial = str(obj["serial"]).strip()
    station = str(obj["station"]).strip() if obj.get("station") else None
    measurements = tuple(
        _measurement(m, f"/measurements/{i}") for i, m in enumerate(obj.get("measurements") or [])
    )
    return TestRunIn(
        where=where,
        serial=serial,
        started_at=started_at,
        outcome=parse_outcome(obj["outcome"]),
        source_id=str(obj.get("source_id") or "")
        or derived_source_id("run", serial, station, started_at),
        source="json",
        station=station,
        procedure=str(obj.get("procedure") or ""),
        ended_at=ended_at,
        operator=str(obj.get("operator") or ""),
        target=_target(obj, target),
        measurements=measurements,
        attachments=tuple(
            AttachmentIn(
                name=a["name"],
                mimetype=a.get("mimetype") or "",
                size=a.get("size"),
                sha1=a.get("sha1") or "",
            )
            for a in obj.get("attachments") or []
        ),
        extra=obj.get("extra") or {},
    )


def _measurement(m: Mapping[str, Any], pointer: str) -> MeasurementIn:
    series = m.get("series")
    return MeasurementIn(
        name=str(m["name"]).strip(),
        value=float(m["value"]) if m.get("value") is not None else None,
        text_value=m.get("text_value"),
        series=tuple(tuple(float(x) for x in row) for row in series) if series else None,
        unit=str(m.get("unit") or ""),
        lsl=float(m["lsl"]) if m.get("lsl") is not None else None,
        usl=float(m["usl"]) if m.get("usl") is not None else None,
        outcome=parse_outcome(m.get("outcome")),
        marginal=bool(m.get("marginal", False)),
        measured_at=_time(m, "measured_at", pointer) if m.get("measured_at") is not None else None,
        extra=m.get("extra") or {},
    )


def _time(obj: Mapping[str, Any], key: str, pointer: str = "") -> dt.datetime:
    try:
        return parse_time(obj[key])
    except ValueError as error:
        raise ValueError(f"at {pointer}/{key}: {error}") from None


def _target(obj: Mapping[str, Any], default: Target) -> Target:
    product = obj.get("product") or default.product
    build = obj.get("build") or default.build
    return Target(product, build) if product or build else Target()
