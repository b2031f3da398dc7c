"""The line model file: a serial line of stations, read from TOML and validated.

A line is a sequence of stations. Each station has ``servers`` parallel identical machines, a
buffer of ``buffer`` places in front of it (ignored on the first station, which draws from an
unlimited supply of raw material), a processing-time distribution in seconds, optional
breakdowns (``mtbf_s`` and ``mttr_s``, both exponential, the failure clock running in clock
time) and an optional ``yield`` (the fraction of units that pass; the others are scrapped
there). Every problem is reported with the TOML key path of the value at fault, such as
``stations[2].time.cv``, as an :class:`~phasegate.domain.errors.InvalidInput`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phasegate.domain.errors import FieldError, InvalidInput

# Each distribution and the parameters it takes, in the order the file format lists them.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "normal": ("mean", "sd"),
    "lognormal": ("mean", "cv"),
    "exponential": ("mean",),
    "triangular": ("low", "mode", "high"),
    "empirical": ("samples",),
}

_STATION_KEYS = ("name", "servers", "buffer", "time", "mtbf_s", "mttr_s", "yield")


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """A processing-time distribution in seconds: ``dist`` and its parameters."""

    dist: str
    params: tuple[float, ...]  # in the order of DISTRIBUTIONS[dist]; empirical: the samples

    def mean_s(self) -> float:
        """The distribution's mean (a normal one before truncation at zero)."""
        if self.dist == "triangular":
            return sum(self.params) / 3.0
        if self.dist == "empirical":
            return math.fsum(self.params) / len(self.params)
        return self.params[0]


@dataclass(frozen=True, slots=True)
class Station:
    """One station: parallel servers, the buffer in front, times, breakdowns and yield."""

    name: str
    servers: int
    buffer: int
    time: TimeSpec
    mtbf_s: float | None = None
    mttr_s: float | None = None
    yield_frac: float = 1.0

    @property
    def breakdowns(self) -> bool:
        return self.mtbf_s is not None


@dataclass(frozen=True, slots=True)
class Line:
    """A serial line; ``stations`` in flow order."""

    name: str
    stations: tuple[Station, ...]


def parse_line_toml(text: str | bytes, *, source: str = "line file") -> Line:
    """Read a line model from TOML text; a syntax error names ``source`` and the position."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _invalid(source, f"not UTF-8 text ({error.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _invalid(source, f"not valid TOML: {error}") from None
    return parse_line(data)


def parse_line(data: Mapping[str, Any]) -> Line:
    """Validate a line model given as a mapping (a parsed TOML document).

    Raises
    ------
    InvalidInput
        With one :class:`FieldError` per problem, each ``loc`` a TOML key path.
    """
    problems: list[FieldError] = []
    for key in data:
        if key not in ("name", "stations"):
            problems.append(FieldError(key, "unknown key (expected name and stations)"))
    name = data.get("name", "line")
    if not isinstance(name, str) or not name.strip():
        problems.append(FieldError("name", "must be a non-empty string"))
        name = "line"
    raw = data.get("stations")
    stations: list[Station] = []
    if not isinstance(raw, list) or not raw:
        problems.append(FieldError("stations", "must be a non-empty array of tables"))
    else:
        for index, item in enumerate(raw):
            station = _station(item, f"stations[{index}]", problems)
            if station is not None:
                stations.append(station)
        seen: set[str] = set()
        for index, station in enumerate(stations):
            if station.name in seen:
                problems.append(
                    FieldError(f"stations[{index}].name", f"duplicate name {station.name!r}")
                )
            seen.add(station.name)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(f"{first.loc}: {first.message}{more}", problems)
    return Line(name=name.strip(), stations=tuple(stations))


def _invalid(loc: str, message: str) -> InvalidInput:
    return InvalidInput(f"{loc}: {message}", [FieldError(loc, message)])


def _station(item: object, path: str, problems: list[FieldError]) -> Station | None:
    if not isinstance(item, Mapping):
        problems.append(FieldError(path, "must be a table"))
        return None
    before = len(problems)
    for key in item:
        if key not in _STATION_KEYS:
            problems.append(
                FieldError(
                    f"{path}.{key}", f"unknown key (expected one of {', '.join(_STATION_KEYS)})"
                )
            )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(FieldError(f"{path}.name", "must be a non-empty string"))
    servers = _integer(item.get("servers", 1), f"{path}.servers", 1, problems)
    buffer = _integer(item.get("buffer", 0), f"{path}.buffer", 0, problems)
    time = _time(item.get("time"), f"{path}.time", problems)
    mtbf = _optional_positive(item.get("mtbf_s"), f"{path}.mtbf_s", problems)
    mttr = _optional_positive(item.get("mttr_s"), f"{path}.mttr_s", problems)
    if ("mtbf_s" in item) != ("mttr_s" in item):
        missing, given = ("mttr_s", "mtbf_s") if "mtbf_s" in item else ("mtbf_s", "mttr_s")
        problems.append(FieldError(f"{path}.{missing}", f"required when {given} is given"))
    yield_frac = item.get("yield", 1.0)
    if not _is_number(yield_frac) or not 0.0 < float(yield_frac) <= 1.0:
        problems.append(
            FieldError(f"{path}.yield", f"must be a number in (0, 1], got {yield_frac!r}")
        )
    if len(problems) > before or time is None:
        return None
    assert isinstance(name, str)
    return Station(
        name=name.strip(),
        servers=servers,
        buffer=buffer,
        time=time,
        mtbf_s=mtbf,
        mttr_s=mttr,
        yield_frac=float(yield_frac),
    )


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _integer(value: object, path: str, minimum: int, problems: list[FieldError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(FieldError(path, f"must be a whole number >= {minimum}, got {value!r}"))
        return minimum
    return value


def _optional_positive(value: object, path: str, problems: list[FieldError]) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or float(value) <= 0:  # type: ignore[arg-type]
        problems.append(FieldError(path, f"must be a number > 0 (seconds), got {value!r}"))
        return None
    return float(value)  # type: ignore[arg-type]


def _time(value: object, path: str, problems: list[FieldError]) -> TimeSpec | None:
    if not isinstance(value, Mapping):
        problems.append(FieldError(path, 'must be a table such as { dist = "fixed", value = 30 }'))
        return None
    dist = value.get("dist")
    if dist not in DISTRIBUTIONS:
        problems.append(
            FieldError(
                f"{path}.dist",
                f"unknown distribution {dist!r} (expected one of {', '.join(DISTRIBUTIONS)})",
            )
        )
        return None
    names = DISTRIBUTIONS[dist]
    before = len(problems)
    for key in value:
        if key != "dist" and key not in names:
            problems.append(
                FieldError(f"{path}.{key}", f"not a parameter of {dist} (takes {', '.join(names)})")
            )
    for key in names:
        if key not in value:
            problems.append(FieldError(f"{path}.{key}", f"required by {dist}"))
    if len(problems) > before:
        return None
    if dist == "empirical":
        return _empirical(value["samples"], f"{path}.samples", problems)
    params = tuple(value[k] for k in names)
    for key, number in zip(names, params, strict=True):
        if not _is_number(number):
            problems.append(FieldError(f"{path}.{key}", f"must be a number, got {number!r}"))
    if len(problems) > before:
        return None
    floats = tuple(float(p) for p in params)
    _check_params(dist, names, floats, path, problems)
    return TimeSpec(dist, floats) if len(problems) == before else None


def _check_params(
    dist: str,
    names: Sequence[str],
    params: tuple[float, ...],
    path: str,
    problems: list[FieldError],
) -> None:
    """Range rules: times and means > 0, spreads >= 0, low <= mode <= high with low < high."""
    if dist == "triangular":
        low, mode, high = params
        if low < 0:
            problems.append(FieldError(f"{path}.low", f"must be >= 0 seconds, got {low!r}"))
        elif not low <= mode <= high or low >= high:
            problems.append(
                FieldError(
                    f"{path}.mode", f"needs low <= mode <= high and low < high, got {params!r}"
                )
            )
        return
    first = names[0]
    if params[0] <= 0:
        problems.append(FieldError(f"{path}.{first}", f"must be > 0 seconds, got {params[0]!r}"))
    if len(params) > 1 and params[1] < 0:
        problems.append(FieldError(f"{path}.{names[1]}", f"must be >= 0, got {params[1]!r}"))


def _empirical(samples: object, path: str, problems: list[FieldError]) -> TimeSpec | None:
    if not isinstance(samples, list) or not samples:
        problems.append(FieldError(path, "must be a non-empty array of times in seconds"))
        return None
    for index, sample in enumerate(samples):
        if not _is_number(sample) or float(sample) < 0:
            problems.append(
                FieldError(f"{path}[{index}]", f"must be a number >= 0 seconds, got {sample!r}")
            )
            return None
    values = tuple(float(s) for s in samples)
    if max(values) <= 0:
        problems.append(FieldError(path, "needs at least one time > 0"))
        return None
    return TimeSpec("empirical", values)
