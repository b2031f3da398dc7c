"""The demo's gate evidence, from ``demo/data/gate_evidence.toml``: the pilot units each
product's regulatory approvals need, its go-to-market checklist, and how its parts are sourced.

Stored through the audited records (products, go-to-market items, parts), after the costing
data has put the parts in. With it, AirSense Wall's pilot -> production evaluation fails on
named criteria (a CTQ below Cpk 1.33 with a signal on its chart, a single-source part whose
risk nobody accepted, regulatory units still to allocate), and AirSense Clip's prototype ->
pilot evaluation names what is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from phasegate.demo.datafiles import DemoDataError, entries, read, where
from phasegate.domain.policy import SYSTEM
from phasegate.services import costing, crud, products
from phasegate.services.gates.records import GTM_ITEMS
from phasegate.store.models import Part, Product
from phasegate.store.uow import UnitOfWork

FILE = "gate_evidence.toml"
PRODUCT_KEYS = {"key", "regulatory_units_required", "checklist"}
CHECKLIST_KEYS = {"title", "done", "owner", "due"}
PART_FLAGS = ("sourced", "single_source", "sourcing_risk_accepted")


def _id_of(uow: UnitOfWork, model: Any, column: Any, value: str, at: str) -> int:
    with uow:
        found = uow.session.scalar(select(model.id).where(func.lower(column) == value.lower()))
    if found is None:
        raise DemoDataError(f"{at}: {value!r} is not in the demo")
    return int(found)


def _product(uow: UnitOfWork, entry: dict[str, Any], at: str) -> None:
    unknown = sorted(set(entry) - PRODUCT_KEYS)
    if unknown or "key" not in entry:
        raise DemoDataError(f"{at}: expected keys {', '.join(sorted(PRODUCT_KEYS))}")
    product_id = _id_of(uow, Product, Product.key, str(entry["key"]), at)
    if "regulatory_units_required" in entry:
        crud.update(
            uow,
            products.PRODUCTS,
            product_id,
            {"regulatory_units_required": entry["regulatory_units_required"]},
            actor=SYSTEM,
        )
    for i, item in enumerate(entry.get("checklist", [])):
        if not isinstance(item, dict) or set(item) - CHECKLIST_KEYS or "title" not in item:
            raise DemoDataError(
                f"{at}.checklist[{i}]: expected {', '.join(sorted(CHECKLIST_KEYS))}"
            )
        values = {"product_id": product_id, "title": item["title"], "done": item.get("done", False)}
        values |= {"owner": item.get("owner", ""), "due_date": item.get("due")}
        crud.create(uow, GTM_ITEMS, values, actor=SYSTEM)


def load_gate_evidence(uow: UnitOfWork) -> int:
    """Store the file's gate evidence; returns the records changed or made."""
    document = read(FILE, keys=("products", "parts"))
    changed = 0
    for entry, at in entries(document, "products", where(FILE)):
        _product(uow, entry, at)
        changed += 1 + len(entry.get("checklist", []))
    for entry, at in entries(document, "parts", where(FILE)):
        if set(entry) - {"number", *PART_FLAGS} or "number" not in entry:
            raise DemoDataError(f"{at}: expected keys number, {', '.join(PART_FLAGS)}")
        part_id = _id_of(uow, Part, Part.number, str(entry["number"]), at)
        flags = {k: bool(entry[k]) for k in PART_FLAGS if k in entry}
        crud.update(uow, costing.PARTS, part_id, flags, actor=SYSTEM)
        changed += 1
    return changed
