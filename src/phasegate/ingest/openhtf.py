"""OpenHTF test records, as its JSON output callback (``json_factory.OutputToJSON``) writes them.

One record is one :class:`TestRunIn`: ``dut_id`` is the serial, ``station_id`` (top level, else
``metadata.config.station_id``, else ``metadata.station_id``) the station, ``metadata.test_name``
the procedure, the start and end milliseconds the times (UTC) and the outcome the run's (TIMEOUT
is an error). Every measurement of every phase becomes a :class:`MeasurementIn` measured at its
phase's start: a number is its value, a text its ``text_value``, a dimensioned measurement its
``series``; a range validator (``3.2 <= x <= 3.4``, ``x <= 0.05``, ``1 <= x``, ``x == 5``, with
``Marginal:`` bounds) gives the limits, other validators stay in ``extra``. A name measured in
more than one phase is named ``<phase>.<name>`` in each (``<phase>#2.<name>`` for a phase run a
second time). Attachments keep their name, type, size and SHA-1; their bytes stay at the station.

OpenHTF writes no id of its own into a record, so the source id is the record's ``test_uid`` or
``uid`` when it carries one, otherwise ``derived_source_id("run", serial, station, started_at)``.
Fields phasegate has no column for — unknown or future ones included — are kept in ``extra``;
only the log records and the source code OpenHTF copies into every record are left out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from phasegate.domain.enums import Outcome
from phasegate.ingest.documents import dump, objects
from phasegate.ingest.records import (
    AttachmentIn,
    MeasurementIn,
    Parsed,
    Rejected,
    Target,
    TestRunIn,
    derived_source_id,
)
from phasegate.ingest.values import check_span, from_millis

_OUTCOMES = {
    "PASS": Outcome.PASS,
    "FAIL": Outcome.FAIL,
    "ERROR": Outcome.ERROR,
    "TIMEOUT": Outcome.ERROR,
    "ABORTED": Outcome.ABORTED,
    "UNSET": Outcome.UNSET,
    "PARTIALLY_SET": Outcome.UNSET,
    "SKIP": Outcome.UNSET,
}
_RECORD_FIELDS = {"dut_id", "station_id", "start_time_millis", "end_time_millis", "outcome"}
_RECORD_DROPPED = {"log_records", "code_info", "diagnosers", "phases", "metadata"}
_PHASE_FIELDS = {"measurements", "attachments", "start_time_millis", "name"}
_PHASE_DROPPED = {"codeinfo", "options", "diagnosers", "descriptor_id"}
_MEASUREMENT_FIELDS = {"name", "measured_value", "units", "validators", "outcome"}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"(Marginal:)?\s*({_NUMBER})")


def read_openhtf(stream: BinaryIO, *, name: str, target: Target | None = None) -> Iterator[Parsed]:
    """The test runs of an OpenHTF JSON file: one record, an array of records, or JSON lines."""
    for item in objects(stream, name):
        if isinstance(item, Rejected):
            yield item
        else:
            where, obj = item
            yield parse_record(obj, where=where, target=target or Target())


def parse_record(record: Any, *, where: str, target: Target = Target()) -> TestRunIn | Rejected:
    """One OpenHTF test record as a test run, or why it cannot be one."""
    try:
        return _record(record, where, target)
    except (ValueError, TypeError, KeyError) as error:
        reason = str(error) if not isinstance(error, KeyError) else f"no {error} field"
        return Rejected(where, f"not an OpenHTF test record: {reason}", dump(record))


def _record(record: Any, where: str, target: Target) -> TestRunIn:
    if not isinstance(record, dict):
        raise ValueError(f"a record is a JSON object, not {type(record).__name__}")
    serial = record.get("dut_id")
    if not isinstance(serial, str) or not serial.strip():
        raise ValueError(f"dut_id {serial!r} is not a serial number")
    started_at = from_millis(record.get("start_time_millis"), "start_time_millis")
    end = record.get("end_time_millis")
    ended_at = from_millis(end, "end_time_millis") if end else None
    check_span(started_at, ended_at)
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata is not an object")
    station = _station(record, metadata)
    outcome = _outcome(record.get("outcome"), "outcome")
    phases = record.get("phases") or []
    if not isinstance(phases, list):
        raise ValueError("phases is not a list")
    measurements, attachments, phase_notes = _phases(phases)
    uid = record.get("test_uid") or record.get("uid")
    extra = {k: v for k, v in record.items() if k not in _RECORD_FIELDS | _RECORD_DROPPED}
    notes = {k: v for k, v in metadata.items() if k not in ("test_name", "config")}
    if notes:
        extra["metadata"] = notes
    extra["phases"] = phase_notes
    return TestRunIn(
        where=where,
        serial=serial.strip(),
        started_at=started_at,
        outcome=outcome,
        source_id=str(uid) if uid else derived_source_id("run", serial, station, started_at),
        source="openhtf",
        station=station,
        procedure=str(metadata.get("test_name") or ""),
        ended_at=ended_at,
        operator=str(metadata.get("operator_name") or metadata.get("operator") or ""),
        target=target,
        measurements=measurements,
        attachments=attachments,
        extra=extra,
    )


def _station(record: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    config = metadata.get("config")
    candidates = [
        record.get("station_id"),
        config.get("station_id") if isinstance(config, dict) else None,
        metadata.get("station_id"),
    ]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _outcome(value: Any, what: str) -> Outcome:
    if value is None:
        return Outcome.UNSET
    try:
        return _OUTCOMES[str(value).upper()]
    except KeyError:
        raise ValueError(f"{what} {value!r} is not an OpenHTF outcome") from None


def _phases(
    phases: list[Any],
) -> tuple[tuple[MeasurementIn, ...], tuple[AttachmentIn, ...], list[dict[str, Any]]]:
    """The measurements (names made unique), attachments and a short account of each phase."""
    runs: Counter[str] = Counter()
    found: list[tuple[str, str, MeasurementIn]] = []  # (phase label, name, measurement)
    attachments: list[AttachmentIn] = []
    notes: list[dict[str, Any]] = []
    for index, phase in enumerate(phases):
        if not isinstance(phase, dict):
            raise ValueError(f"phase {index} is not an object")
        phase_name = str(phase.get("name") or f"phase{index}")
        runs[phase_name] += 1
        label = phase_name if runs[phase_name] == 1 else f"{phase_name}#{runs[phase_name]}"
        start = phase.get("start_time_millis")
        measured_at = from_millis(start, f"phase {phase_name} start_time_millis") if start else None
        measures = phase.get("measurements") or {}
        if not isinstance(measures, dict):
            raise ValueError(f"phase {phase_name}: measurements is not an object")
        for key, raw in measures.items():
            measurement = _measurement(key, raw, measured_at)
            if measurement is not None:
                found.append((label, measurement.name, measurement))
        attachments.extend(_attachments(phase.get("attachments") or {}, phase_name))
        note = {k: v for k, v in phase.items() if k not in _PHASE_FIELDS | _PHASE_DROPPED}
        notes.append({"name": phase_name, **note})
    counts = Counter(name for _, name, _ in found)
    measurements = tuple(
        _renamed(m, f"{label}.{name}") if counts[name] > 1 else m for label, name, m in found
    )
    return measurements, tuple(attachments), notes


def _renamed(m: MeasurementIn, name: str) -> MeasurementIn:
    return MeasurementIn(
        name,
        m.value,
        m.text_value,
        m.series,
        m.unit,
        m.lsl,
        m.usl,
        m.outcome,
        m.marginal,
        m.measured_at,
        {**m.extra, "openhtf_name": m.name},
    )


def _measurement(key: str, raw: Any, measured_at: Any) -> MeasurementIn | None:
    if not isinstance(raw, dict):
        raise ValueError(f"measurement {key!r} is not an object")
    name = str(raw.get("name") or key)
    extra = {k: v for k, v in raw.items() if k not in _MEASUREMENT_FIELDS}
    if "measured_value" not in raw:
        return None  # never set: OpenHTF itself records only its outcome
    value, text, series = _value(raw["measured_value"])
    bounds = _limits(raw.get("validators") or [])
    if bounds.others:
        extra["validators"] = bounds.others
    if bounds.marginal_lsl is not None or bounds.marginal_usl is not None:
        extra["marginal_lsl"], extra["marginal_usl"] = bounds.marginal_lsl, bounds.marginal_usl
    units = raw.get("units")
    unit = str(units.get("suffix") or units.get("name") or "") if isinstance(units, dict) else ""
    return MeasurementIn(
        name=name,
        value=value,
        text_value=text,
        series=series,
        unit=unit,
        lsl=bounds.lsl,
        usl=bounds.usl,
        outcome=_outcome(raw.get("outcome"), f"measurement {name!r} outcome"),
        marginal=bounds.is_marginal(value),
        measured_at=measured_at,
        extra=extra,
    )


def _value(value: Any) -> tuple[float | None, str | None, tuple[tuple[float, ...], ...] | None]:
    """(value, text_value, series) of a measured value."""
    if isinstance(value, bool):
        return None, str(value).lower(), None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None, str(value), None
        return float(value), None, None
    if isinstance(value, str):
        return None, value, None
    if isinstance(value, list) and value and all(_numeric_row(r) for r in value):
        return None, None, tuple(tuple(float(x) for x in row) for row in value)
    return None, dump(value), None


def _numeric_row(row: Any) -> bool:
    return (
        isinstance(row, list)
        and bool(row)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in row)
    )


@dataclass(frozen=True, slots=True)
class _Bounds:
    lsl: float | None = None
    usl: float | None = None
    marginal_lsl: float | None = None
    marginal_usl: float | None = None
    others: tuple[str, ...] = ()

    def is_marginal(self, value: float | None) -> bool:
        """Inside the limits but outside the marginal ones."""
        if value is None:
            return False
        low = self.marginal_lsl is not None and value < self.marginal_lsl
        high = self.marginal_usl is not None and value > self.marginal_usl
        inside = (self.lsl is None or value >= self.lsl) and (self.usl is None or value <= self.usl)
        return inside and (low or high)


def _limits(validators: Any) -> _Bounds:
    """The limits of the range validators; the other validators' text as it is."""
    if not isinstance(validators, list):
        return _Bounds(others=(str(validators),))
    found: dict[str, float | None] = {}
    others: list[str] = []
    for text in validators:
        parsed = parse_validator(str(text))
        if parsed is None:
            others.append(str(text))
        else:
            found.update({k: v for k, v in parsed.items() if v is not None})
    return _Bounds(
        found.get("lsl"),
        found.get("usl"),
        found.get("marginal_lsl"),
        found.get("marginal_usl"),
        tuple(others),
    )


def parse_validator(text: str) -> dict[str, float | None] | None:
    """The bounds of an OpenHTF range validator's text, or None for any other validator.

    ``"3.2 <= x <= 3.4"`` -> lsl 3.2, usl 3.4; ``"x <= Marginal:0.04 <= 0.05"`` -> usl 0.05,
    marginal_usl 0.04; ``"x >= 1"`` -> lsl 1; ``"x == 5"`` -> lsl = usl = 5.
    """
    text = text.strip()
    equal = re.fullmatch(rf"x\s*==\s*({_NUMBER})", text)
    if equal:
        value = float(equal.group(1))
        return {"lsl": value, "usl": value}
    if "<=" in text and ">=" not in text:
        parts = [p.strip() for p in text.split("<=")]
    elif ">=" in text and "<=" not in text:
        parts = [p.strip() for p in reversed(text.split(">="))]
    else:
        return None
    if parts.count("x") != 1:
        return None
    at = parts.index("x")
    bounds: dict[str, float | None] = {}
    for side, items in (("l", parts[:at]), ("u", parts[at + 1 :])):
        for part in items:
            match = _BOUND.fullmatch(part)
            if not match:
                return None
            key = ("marginal_" if match.group(1) else "") + f"{side}sl"
            if key in bounds:
                return None
            bounds[key] = float(match.group(2))
    return bounds or None


def _attachments(attachments: Any, phase: str) -> Iterator[AttachmentIn]:
    if not isinstance(attachments, Mapping):
        raise ValueError(f"phase {phase}: attachments is not an object")
    for name, meta in attachments.items():
        meta = meta if isinstance(meta, Mapping) else {}
        size = meta.get("size")
        data = meta.get("data")
        if not isinstance(size, int) and isinstance(data, str):
            size = len(data) * 3 // 4 - len(data) + len(data.rstrip("="))  # base64
        yield AttachmentIn(
            name=str(name),
            mimetype=str(meta.get("mimetype") or ""),
            size=size if isinstance(size, int) else None,
            sha1=str(meta.get("sha1") or ""),
        )
