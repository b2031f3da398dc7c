"""Products and what defines them: revisions, requirements, characteristics (specifications)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from phasegate.domain.errors import FieldError, NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import storable
from phasegate.services.access import authorize, is_visible, scoped
from phasegate.services.crud import Computed, Resource
from phasegate.services.paging import MAX_ID
from phasegate.store.models import Characteristic, Product, Requirement, Revision, Station
from phasegate.store.uow import UnitOfWork

PRODUCT_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A record id in a path or an argument: ASCII digits only (str.isdigit() takes "١" and "³").
RECORD_ID = re.compile(r"[0-9]+")


def _check_product(uow: UnitOfWork, p: Product) -> list[FieldError]:
    errors = []
    if p.target_unit_cost is not None and p.target_unit_cost <= 0:
        errors.append(FieldError("target_unit_cost", f"{p.target_unit_cost} must be positive"))
    if p.target_annual_volume is not None and p.target_annual_volume <= 0:
        errors.append(
            FieldError("target_annual_volume", f"{p.target_annual_volume} must be positive")
        )
    if p.regulatory_units_required is not None and p.regulatory_units_required < 0:
        errors.append(
            FieldError(
                "regulatory_units_required", f"{p.regulatory_units_required} must not be negative"
            )
        )
    if p.key and not PRODUCT_KEY.fullmatch(p.key):
        errors.append(FieldError("key", f"{p.key!r} may hold only letters, digits, - and _"))
    return errors


PRODUCTS = Resource(
    name="product",
    model=Product,
    required=("key", "name"),
    optional=(
        "description",
        "target_unit_cost",
        "target_annual_volume",
        "target_launch_date",
        "regulatory_units_required",
    ),
    immutable=("key",),
    read_only=("phase",),
    unique=(("key",),),
    identifiers=("key",),
    filters=("phase", "key"),
    search=("key", "name", "description"),
    order_by=("key",),
    check=_check_product,
    describe=lambda p: p.key,
)


def _check_requirement(uow: UnitOfWork, r: Requirement) -> list[FieldError]:
    errors = []
    for name, low, high in (
        ("rice_reach", 0.0, None),
        ("rice_impact", 0.0, None),
        ("rice_confidence", 0.0, 1.0),
        ("rice_effort", 0.0, None),
    ):
        value = getattr(r, name)
        if value is None:
            continue
        if value < low or (name in ("rice_effort", "rice_impact") and value == 0):
            errors.append(FieldError(name, f"{value} must be {'positive' if low == 0 else ''}"))
        if high is not None and value > high:
            errors.append(FieldError(name, f"{value} must be a fraction from 0 to 1"))
    return errors


def rice_score(r: Requirement) -> float | None:
    """RICE = reach x impact x confidence / effort (Intercom's prioritisation score)."""
    parts = (r.rice_reach, r.rice_impact, r.rice_confidence, r.rice_effort)
    if any(p is None for p in parts) or not r.rice_effort:
        return None
    return r.rice_reach * r.rice_impact * r.rice_confidence / r.rice_effort  # type: ignore[operator]


REVISIONS = Resource(
    name="revision",
    model=Revision,
    required=("product_id", "code"),
    optional=("description", "status", "released_on"),
    immutable=("product_id",),
    references={"product_id": Product},
    unique=(("product_id", "code"),),
    identifiers=("code",),
    filters=("product_id", "status"),
    order_by=("product_id", "code"),
    describe=lambda r: r.code,
)

REQUIREMENTS = Resource(
    name="requirement",
    model=Requirement,
    required=("product_id", "key", "title"),
    optional=(
        "description",
        "priority",
        "source",
        "status",
        "rice_reach",
        "rice_impact",
        "rice_confidence",
        "rice_effort",
    ),
    immutable=("product_id",),
    computed=(
        Computed(
            "rice_score",
            float | None,
            rice_score,
            "reach × impact × confidence / effort; null until all four are set.",
        ),
    ),
    references={"product_id": Product},
    unique=(("product_id", "key"),),
    identifiers=("key",),
    filters=("product_id", "priority", "status", "source"),
    search=("key", "title", "description"),
    order_by=("product_id", "key"),
    check=_check_requirement,
    describe=lambda r: r.key,
)


def _check_characteristic(uow: UnitOfWork, c: Characteristic) -> list[FieldError]:
    errors = []
    if c.lsl is not None and c.usl is not None and c.lsl >= c.usl:
        errors.append(FieldError("usl", f"usl ({c.usl}) must be greater than lsl ({c.lsl})"))
    elif c.target is not None:
        if c.lsl is not None and c.target < c.lsl:
            errors.append(FieldError("target", f"target ({c.target}) is below lsl ({c.lsl})"))
        if c.usl is not None and c.target > c.usl:
            errors.append(FieldError("target", f"target ({c.target}) is above usl ({c.usl})"))
    if c.ctq and c.lsl is None and c.usl is None:
        errors.append(FieldError("ctq", "a CTQ characteristic needs at least one spec limit"))
    return errors


CHARACTERISTICS = Resource(
    name="characteristic",
    model=Characteristic,
    required=("product_id", "name"),
    optional=(
        "unit",
        "lsl",
        "usl",
        "target",
        "ctq",
        "requirement_id",
        "station_id",
        "description",
    ),
    immutable=("product_id",),
    references={"product_id": Product, "requirement_id": Requirement, "station_id": Station},
    unique=(("product_id", "name"),),
    filters=("product_id", "ctq", "requirement_id", "station_id"),
    search=("name", "description"),
    order_by=("product_id", "name"),
    check=_check_characteristic,
    describe=lambda c: c.name,
)


def product_by_key(uow: UnitOfWork, key: str, *, actor: Principal) -> Product:
    """The product with this key, whatever its case, or ``NotFound`` (also when it lies
    outside a partner user's scope)."""
    authorize(actor, Action.READ, Kind.PRODUCT)
    if not storable(key):  # no key holds such text, and the database would refuse it
        raise NotFound(f"product {key!r} does not exist")
    with uow:
        # lower() on both sides, as the unique index on keys compares them.
        stmt = select(Product).where(func.lower(Product.key) == func.lower(key))
        product = uow.session.scalar(scoped(stmt, actor, Product))
        if product is None:
            raise NotFound(f"product {key!r} does not exist")
        return product


def resolve_product(uow: UnitOfWork, ref: str | int, *, actor: Principal) -> Product:
    """A product by id (an int or ASCII digits) or by key, that ``actor`` may read."""
    authorize(actor, Action.READ, Kind.PRODUCT)
    if isinstance(ref, int) or RECORD_ID.fullmatch(ref):
        if int(ref) > MAX_ID:  # beyond any id; PostgreSQL would reject the comparison
            raise NotFound(f"product {ref} does not exist")
        with uow:
            product = uow.session.get(Product, int(ref))
            if product is not None and is_visible(uow, actor, Product, product.id):
                return product
        if isinstance(ref, int):
            raise NotFound(f"product {ref} does not exist")
    return product_by_key(uow, str(ref), actor=actor)
