"""The gate evidence records people keep: gate plan overrides and the go-to-market checklist.

Both are product data in the policy table (``Kind.PRODUCT``): those who may change a product may
change how its gates are judged and tick its checklist; everyone who reads a product reads them.
A gate plan override is never changed in place: a new version is a new record, and the latest
record of a (product, gate) applies (``evaluation.plan_for``); the audit trail names who
recorded each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from phasegate.domain.enums import Phase
from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.domain.policy import Kind
from phasegate.gates import GatePlan, default_plan, override
from phasegate.services.crud import Computed, Resource
from phasegate.store.models import Base, GatePlanOverride, GtmChecklistItem, Product
from phasegate.store.uow import UnitOfWork

__all__ = ["GATE_PLANS", "GTM_ITEMS", "overridden_plan"]

M = TypeVar("M", bound=Base)

# The longest override file accepted: a plan has tens of criteria, not thousands.
MAX_OVERRIDE_CHARS = 20_000


@dataclass(frozen=True, eq=False)
class ProductDataResource(Resource[M]):
    """A record type the policy table governs as product data."""

    @property
    def kind(self) -> Kind:
        return Kind.PRODUCT


def overridden_plan(to_phase: Phase, toml: str) -> GatePlan:
    """The default plan of the gate into ``to_phase`` with the override ``toml`` applied."""
    return override(default_plan(to_phase), toml)


def _label(record: GatePlanOverride) -> str | None:
    """The version label the override gives itself, or None when it cannot be read."""
    try:
        return overridden_plan(record.to_phase, record.toml).version
    except InvalidInput:
        return None


def _check_plan(uow: UnitOfWork, record: GatePlanOverride) -> list[FieldError]:
    if record.to_phase is Phase.PROTOTYPE:
        return [FieldError("to_phase", "there is no gate into prototype; use pilot or production")]
    if len(record.toml) > MAX_OVERRIDE_CHARS:
        return [FieldError("toml", f"must be at most {MAX_OVERRIDE_CHARS} characters")]
    try:
        overridden_plan(record.to_phase, record.toml)
    except InvalidInput as error:
        return [FieldError(f"toml.{e.loc}" if e.loc else "toml", e.message) for e in error.fields]
    return []


GATE_PLANS = ProductDataResource(
    name="gate plan",
    model=GatePlanOverride,
    required=("product_id", "to_phase", "toml"),
    immutable=("product_id", "to_phase", "toml"),
    computed=(
        Computed(
            "plan_version",
            str | None,
            _label,
            'The version of the plan this override makes, "<plan version>+<its label>".',
        ),
    ),
    references={"product_id": Product},
    filters=("product_id", "to_phase"),
    order_by=("id",),
    check=_check_plan,
    describe=lambda r: f"{r.to_phase.value} #{r.id}",
)


def _check_item(uow: UnitOfWork, item: GtmChecklistItem) -> list[FieldError]:
    if item.title is not None and not item.title.strip():
        return [FieldError("title", "must not be empty")]
    return []


GTM_ITEMS = ProductDataResource(
    name="go-to-market item",
    model=GtmChecklistItem,
    required=("product_id", "title"),
    optional=("done", "owner", "due_date"),
    immutable=("product_id",),
    references={"product_id": Product},
    filters=("product_id", "done"),
    search=("title", "owner"),
    order_by=("id",),
    check=_check_item,
    describe=lambda i: i.title,
)
