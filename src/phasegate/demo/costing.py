"""The demo's costs: rates of its lines, tooling, BOMs per revision and material issued.

Read from ``demo/data/costing.toml`` and stored through the audited costing services after the
builds' units are in, so every pilot and production build of the demo has a cost: the parts
issued to a build are its units times the BOM's gross quantity, plus the over-issue the data
file gives per part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phasegate.demo.datafiles import DemoDataError, entries, read, where
from phasegate.domain.policy import SYSTEM
from phasegate.services import builds, costing, crud, products
from phasegate.store.uow import UnitOfWork

FILE = "costing.toml"
ACTOR = SYSTEM

Ids = Mapping[tuple[str, ...], int]


def load_costs(uow: UnitOfWork, ids: Ids) -> int:
    """Store the demo's costing records; ``ids`` names the stored records by natural key (as
    the demo loader keeps them). Returns the number of records created."""
    document = read(FILE, keys=("lines", "products"))
    place = where(FILE)
    created = 0
    for line, at in entries(document, "lines", place):
        created += _line(uow, ids, line, at)
    parts: dict[str, tuple[int, dict[str, Any]]] = {}
    for product, at in entries(document, "products", place):
        created += _product(uow, ids, product, at, parts)
    return created


def _create(uow: UnitOfWork, resource: crud.Resource[Any], values: dict[str, Any]) -> int:
    return int(crud.create(uow, resource, values, actor=ACTOR).id)


def _id(ids: Ids, key: tuple[str, ...], at: str) -> int:
    try:
        return ids[key]
    except KeyError:
        raise DemoDataError(f"{at}: no {key[0]} {' '.join(key[1:])!r} in the demo") from None


def _line(uow: UnitOfWork, ids: Ids, line: dict[str, Any], at: str) -> int:
    line_id = _id(ids, ("line", line["name"]), at)
    rate = {
        "line_id": line_id,
        "labor_rate_per_hour": line["labor_rate_per_hour"],
        "overhead_rate": line["overhead_rate"],
    }
    _create(uow, costing.LINE_COST_RATES, rate)
    for station, operators in line.get("operators", {}).items():
        station_id = _id(ids, ("station", line["name"], station), f"{at}, operators")
        _create(
            uow, costing.STATION_LABOR_RATES, {"station_id": station_id, "operators": operators}
        )
    return 1 + len(line.get("operators", {}))


def _product(
    uow: UnitOfWork,
    ids: Ids,
    product: dict[str, Any],
    at: str,
    parts: dict[str, tuple[int, dict[str, Any]]],
) -> int:
    key = product["key"]
    product_id = _id(ids, ("product", key), at)
    created = 0
    for tool, _ in entries(product, "tooling", at):
        _create(uow, costing.TOOLING, {"product_id": product_id, **tool})
        created += 1
    boms: dict[str, list[dict[str, Any]]] = {}
    for bom, bom_at in entries(product, "boms", at):
        revision_id = _id(ids, ("revision", key, bom["revision"]), bom_at)
        boms[bom["revision"]] = bom["parts"]
        for i, part in enumerate(bom["parts"]):
            part_id, made = _part(uow, part, f"{bom_at}, parts[{i}]", parts)
            line = {
                "product_id": product_id,
                "revision_id": revision_id,
                "part_id": part_id,
                "quantity_per_unit": part["quantity"],
                "scrap_allowance": part["scrap"],
            }
            _create(uow, costing.BOM_LINES, line)
            created += 1 + made
    for issue, issue_at in entries(product, "issues", at):
        created += _issues(uow, ids, issue, issue_at, boms, parts)
    return created


def _part(
    uow: UnitOfWork, part: dict[str, Any], at: str, parts: dict[str, tuple[int, dict[str, Any]]]
) -> tuple[int, int]:
    """The part's id, created with its price breaks the first time it is named; (id, created)."""
    fixed = {k: part[k] for k in ("description", "standard", "breaks")}
    number = part["number"]
    if number in parts:
        part_id, first = parts[number]
        if first != fixed:
            raise DemoDataError(f"{at}: part {number} is described differently elsewhere")
        return part_id, 0
    values = {
        "number": number,
        "description": part["description"],
        "standard_cost": part["standard"],
    }
    part_id = _create(uow, costing.PARTS, values)
    for min_quantity, unit_cost in part["breaks"]:
        brk = {"part_id": part_id, "min_quantity": min_quantity, "unit_cost": unit_cost}
        _create(uow, costing.PRICE_BREAKS, brk)
    parts[number] = (part_id, fixed)
    return part_id, 1 + len(part["breaks"])


def _issues(
    uow: UnitOfWork,
    ids: Ids,
    issue: dict[str, Any],
    at: str,
    boms: Mapping[str, list[dict[str, Any]]],
    parts: Mapping[str, tuple[int, dict[str, Any]]],
) -> int:
    """Issue each BOM part to the build: units built × gross quantity × (1 + over-issue)."""
    build_id = _id(ids, ("build", issue["build"]), at)
    build = crud.get(uow, builds.BUILDS, build_id, actor=ACTOR)
    units = crud.list_page(uow, builds.UNITS, actor=ACTOR, filters={"build_id": build_id}, limit=1)
    revision = crud.get(uow, products.REVISIONS, build.revision_id, actor=ACTOR).code
    over = issue.get("over", {})
    unknown = sorted(set(over) - {p["number"] for p in boms[revision]})
    if unknown:
        raise DemoDataError(f"{at}: part {unknown[0]} is not on the BOM of revision {revision}")
    for part in boms[revision]:
        gross = part["quantity"] * (1.0 + part["scrap"])
        quantity = round(units.total * gross * (1.0 + over.get(part["number"], 0.0)))
        values = {
            "build_id": build_id,
            "part_id": parts[part["number"]][0],
            "quantity": quantity,
            "issued_on": build.start_date,
            "note": "kitted for the build",
        }
        _create(uow, costing.MATERIAL_ISSUES, values)
    return len(boms[revision])
