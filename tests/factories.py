"""Small builders of test records through the real, audited services."""

from __future__ import annotations

from itertools import count
from typing import Any

from phasegate.domain.policy import Principal, Role
from phasegate.services import builds, crud, products, quality
from phasegate.store.models import (
    Build,
    Characteristic,
    Line,
    Partner,
    Product,
    Revision,
    Unit,
)
from phasegate.store.uow import UnitOfWork

_seq = count(1)
ACTOR = Principal(name="tester", role=Role.ADMIN)
"""Who the factories act as: an administrator, so every record can be made."""


def person(name: str, role: Role = Role.ADMIN, **more: Any) -> Principal:
    """A signed-in user of ``role`` (an administrator unless said) named ``name``."""
    return Principal(name=name, role=role, **more)


def make_product(uow: UnitOfWork, **overrides: Any) -> Product:
    n = next(_seq)
    data = {"key": f"P{n}", "name": f"Product {n}", "target_unit_cost": 40.0} | overrides
    return crud.create(uow, products.PRODUCTS, data, actor=ACTOR)


def make_revision(uow: UnitOfWork, product: Product, **overrides: Any) -> Revision:
    data = {"product_id": product.id, "code": "A"} | overrides
    return crud.create(uow, products.REVISIONS, data, actor=ACTOR)


def make_partner(uow: UnitOfWork, **overrides: Any) -> Partner:
    data = {"name": f"Partner {next(_seq)}", "kind": "contract_manufacturer"} | overrides
    return crud.create(uow, builds.PARTNERS, data, actor=ACTOR)


def make_line(uow: UnitOfWork, stations: int = 3, **overrides: Any) -> Line:
    line = crud.create(uow, builds.LINES, {"name": f"Line {next(_seq)}"} | overrides, actor=ACTOR)
    for i in range(1, stations + 1):
        crud.create(
            uow,
            builds.STATIONS,
            {"line_id": line.id, "name": f"S{i}", "sequence": i, "planned_cycle_time_s": 30.0},
            actor=ACTOR,
        )
    return line


def make_build(uow: UnitOfWork, **overrides: Any) -> Build:
    if "product_id" not in overrides:
        product = make_product(uow)
        overrides["product_id"] = product.id
    if "revision_id" not in overrides:
        revision = crud.list_page(
            uow, products.REVISIONS, actor=ACTOR, filters={"product_id": overrides["product_id"]}
        ).items
        rev = revision[0] if revision else None
        if rev is None:
            with uow:
                product = uow.get(Product, overrides["product_id"])
            rev = make_revision(uow, product)
        overrides["revision_id"] = rev.id
    data = {
        "code": f"B{next(_seq)}",
        "phase": "prototype",
        "fidelity": "high",
        "technique": "cnc",
        "planned_quantity": 10,
        "budget": 5000.0,
    } | overrides
    return crud.create(uow, builds.BUILDS, data, actor=ACTOR)


def make_unit(uow: UnitOfWork, build: Build, **overrides: Any) -> Unit:
    data = {
        "product_id": build.product_id,
        "build_id": build.id,
        "serial": f"SN{next(_seq):06d}",
    } | overrides
    return crud.create(uow, builds.UNITS, data, actor=ACTOR)


def make_characteristic(uow: UnitOfWork, product: Product, **overrides: Any) -> Characteristic:
    data = {"product_id": product.id, "name": f"char {next(_seq)}", "lsl": 1.0, "usl": 2.0}
    return crud.create(uow, products.CHARACTERISTICS, data | overrides, actor=ACTOR)


def make_finding(uow: UnitOfWork, product: Product, **overrides: Any) -> Any:
    data = {
        "product_id": product.id,
        "title": "Enclosure cracks at boss",
        "category": "material_weakness",
        "severity": "major",
    }
    return crud.create(uow, quality.FINDINGS, data | overrides, actor=ACTOR)
