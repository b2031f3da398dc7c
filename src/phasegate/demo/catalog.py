"""The fixed part of the demo — who, what and why — read from the data files in ``demo/data/``.

Three air-quality products from one company:

- ``AS1`` AirSense One, a handheld air-quality monitor (PM2.5, CO2, temperature, humidity):
  revisions A (3D printed), B (CNC) and C (soft tooling), a 300-unit pilot run on a 6-station
  line at a contract manufacturer, then a first production run of 5,000 units;
- ``ASW`` AirSense Wall, a wall-mounted CO2 and ventilation controller, now in its pilot run;
- ``ASC`` AirSense Clip, a wearable personal exposure monitor, still in prototype.

The files:

- ``demo.toml``: the products in load order, the demo's "today", the gate sign-off text;
- ``people.toml``: testers, lab technicians and line operators;
- ``partners.toml``, ``lines.toml`` (with each station's failure behaviour),
  ``defect_codes.toml``;
- ``products/<KEY>.toml``: the product, its revisions, requirements, characteristics (with the
  process behind their values), builds (with how they are tested or run on the line),
  findings, feedback and gate decisions.

The random part lives in ``generator``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from phasegate.demo.datafiles import DemoDataError, entries, read, record, split, table, where
from phasegate.demo.records import (
    BuildRec,
    CharacteristicRec,
    DefectCodeRec,
    GateRec,
    LineRec,
    PartnerRec,
    ProductRec,
    RequirementRec,
    RevisionRec,
    StationRec,
)
from phasegate.demo.scenario import (
    BenchTest,
    BuildPlan,
    Campaign,
    Catalog,
    FeedbackText,
    FindingText,
    LineRun,
    People,
    Process,
    ProductData,
    Spec,
    StationFailures,
)
from phasegate.domain.enums import Phase


@dataclass(frozen=True, slots=True)
class _Index:
    products: tuple[str, ...]  # product keys, in load order
    today: dt.datetime
    gate_signoff: str


_PRODUCT_KEYS = (
    "product",
    "revisions",
    "requirements",
    "characteristics",
    "builds",
    "findings",
    "feedback",
    "campaigns",
    "gates",
)


@functools.cache
def read_catalog() -> Catalog:
    """Every data file, read and checked; ``DemoDataError`` names the file and entry at fault."""
    index = record(_Index, read("demo.toml"), where("demo.toml"))
    lines, failures = _lines()
    catalog = Catalog(
        today=index.today,
        gate_signoff=index.gate_signoff,
        partners=_records(PartnerRec, "partners.toml", "partners"),
        lines=lines,
        failures=failures,
        defect_codes=_records(DefectCodeRec, "defect_codes.toml", "defect_codes"),
        people=record(People, read("people.toml"), where("people.toml")),
        products=tuple(_product(key) for key in index.products),
    )
    _check_line_runs(catalog)
    return catalog


def _records(cls: type[Any], name: str, key: str) -> tuple[Any, ...]:
    document = read(name, keys=(key,))
    return tuple(record(cls, entry, place) for entry, place in entries(document, key, where(name)))


def _lines() -> tuple[tuple[LineRec, ...], dict[tuple[str, str], StationFailures]]:
    document = read("lines.toml", keys=("lines",))
    lines: list[LineRec] = []
    failures: dict[tuple[str, str], StationFailures] = {}
    for entry, place in entries(document, "lines", where("lines.toml")):
        line_table, _ = split(entry, "stations")
        stations: list[StationRec] = []
        station_failures: dict[str, StationFailures] = {}
        for station_entry, station_place in entries(entry, "stations", place):
            station_table, failure_table = _two_part(station_entry, "failures", station_place)
            station = record(StationRec, station_table, station_place)
            stations.append(station)
            station_failures[station.name] = record(
                StationFailures, failure_table, f"{station_place}, failures"
            )
        line = record(LineRec, line_table, place, stations=tuple(stations))
        lines.append(line)
        failures.update(((line.name, name), f) for name, f in station_failures.items())
    return tuple(lines), failures


def _two_part(entry: dict[str, Any], key: str, place: str) -> tuple[dict[str, Any], Any]:
    """``entry`` without its sub-table ``key``, and that sub-table (which must be there)."""
    rest, part = split(entry, key)
    if key not in part:
        raise DemoDataError(f"{place}: missing key {key!r}")
    return rest, part[key]


def _product(key: str) -> ProductData:
    name = f"products/{key}.toml"
    document = read(name, keys=_PRODUCT_KEYS)
    place = where(name)
    product = record(ProductRec, table(document, "product", place), f"{place}, [product]")
    if product.key != key:
        raise DemoDataError(f"{place}, [product]: key {product.key!r} is not the file's {key!r}")

    def each(cls: type[Any], array: str) -> tuple[Any, ...]:
        return tuple(record(cls, e, p, product=key) for e, p in entries(document, array, place))

    def plain(cls: type[Any], array: str) -> tuple[Any, ...]:
        return tuple(record(cls, e, p) for e, p in entries(document, array, place))

    return ProductData(
        product=product,
        revisions=each(RevisionRec, "revisions"),
        requirements=each(RequirementRec, "requirements"),
        specs=tuple(_spec(e, p, key) for e, p in entries(document, "characteristics", place)),
        builds=tuple(_build(e, p, key) for e, p in entries(document, "builds", place)),
        findings=plain(FindingText, "findings"),
        feedback=plain(FeedbackText, "feedback"),
        campaigns=plain(Campaign, "campaigns"),
        gates=each(GateRec, "gates"),
    )


def _spec(entry: dict[str, Any], place: str, product: str) -> Spec:
    characteristic, process = _two_part(entry, "process", place)
    return Spec(
        rec=record(CharacteristicRec, characteristic, place, product=product),
        process=record(Process, process, f"{place}, process"),
    )


def _build(entry: dict[str, Any], place: str, product: str) -> BuildPlan:
    build, extra = split(entry, "bench", "line_run")
    rec = record(BuildRec, build, place, product=product)
    if rec.phase is Phase.PROTOTYPE:
        if "line_run" in extra:
            raise DemoDataError(f"{place}: a prototype build has a bench test, not a line_run")
        bench = record(BenchTest, extra.get("bench", {}), f"{place}, bench")
        return BuildPlan(rec=rec, bench=bench, line_run=None)
    if "bench" in extra or "line_run" not in extra or rec.line is None:
        raise DemoDataError(f"{place}: a {rec.phase.value} build needs a line and a line_run")
    line_run = record(LineRun, extra["line_run"], f"{place}, line_run")
    for i, quota in enumerate(line_run.allocations.quotas):
        if (quota.units is None) == (quota.keep_back is None):
            raise DemoDataError(
                f"{place}, line_run, allocations, quotas[{i}]: give units or keep_back, not both"
            )
    return BuildPlan(rec=rec, bench=None, line_run=line_run)


def _check_line_runs(catalog: Catalog) -> None:
    """Every line run times exactly the stations of its line."""
    for product in catalog.products:
        for plan in product.builds:
            if plan.line_run is None or plan.rec.line is None:
                continue
            line = next((x for x in catalog.lines if x.name == plan.rec.line), None)
            place = f"{where(f'products/{product.product.key}.toml')}, builds ({plan.rec.code})"
            if line is None:
                raise DemoDataError(f"{place}: line {plan.rec.line!r} is not in lines.toml")
            expected = {s.name for s in line.stations}
            if set(plan.line_run.stations) != expected:
                raise DemoDataError(
                    f"{place}, line_run, stations: give every station of {line.name}: "
                    f"{', '.join(s.name for s in line.stations)}"
                )
