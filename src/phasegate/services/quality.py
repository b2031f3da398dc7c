"""Findings, feedback and defect codes: what prototypes, pilots and users teach us."""

from __future__ import annotations

from phasegate.domain.enums import FindingStatus
from phasegate.domain.errors import FieldError
from phasegate.services.crud import Resource
from phasegate.store.models import Build as BuildModel
from phasegate.store.models import DefectCode, Feedback, Finding, Product, Requirement, Revision
from phasegate.store.uow import UnitOfWork


def _check_finding(uow: UnitOfWork, f: Finding) -> list[FieldError]:
    errors = []
    closing = f.status is not None and not f.status.is_open
    if closing and f.status is not FindingStatus.WONT_FIX and not f.corrective_action:
        errors.append(FieldError("corrective_action", f"a {f.status.value} finding needs one"))
    if f.status in (FindingStatus.VERIFIED, FindingStatus.CLOSED) and not f.root_cause:
        errors.append(FieldError("root_cause", f"a {f.status.value} finding needs one"))
    if f.opened_on and f.closed_on and f.closed_on < f.opened_on:
        errors.append(FieldError("closed_on", f"{f.closed_on} is before opened_on {f.opened_on}"))
    return errors


FINDINGS = Resource(
    name="finding",
    model=Finding,
    required=("product_id", "title", "category", "severity"),
    optional=(
        "revision_id",
        "build_id",
        "description",
        "status",
        "owner",
        "root_cause",
        "corrective_action",
        "fixed_in_revision_id",
        "opened_on",
        "closed_on",
    ),
    immutable=("product_id",),
    references={
        "product_id": Product,
        "revision_id": Revision,
        "build_id": BuildModel,
        "fixed_in_revision_id": Revision,
    },
    filters=("product_id", "revision_id", "build_id", "category", "severity", "status", "owner"),
    search=("title", "description", "root_cause"),
    order_by=("product_id", "id"),
    check=_check_finding,
    describe=lambda f: f"#{f.id} {f.title}",
)


def _check_feedback(uow: UnitOfWork, f: Feedback) -> list[FieldError]:
    if f.rating is not None and not 1 <= f.rating <= 5:
        return [FieldError("rating", f"{f.rating} is outside 1..5")]
    return []


FEEDBACK = Resource(
    name="feedback",
    model=Feedback,
    required=("product_id", "source"),
    optional=(
        "revision_id",
        "requirement_id",
        "finding_id",
        "author",
        "rating",
        "text",
        "received_on",
    ),
    immutable=("product_id",),
    references={
        "product_id": Product,
        "revision_id": Revision,
        "requirement_id": Requirement,
        "finding_id": Finding,
    },
    filters=("product_id", "revision_id", "requirement_id", "finding_id", "source", "rating"),
    search=("text", "author"),
    order_by=("product_id", "id"),
    check=_check_feedback,
    describe=lambda f: f"#{f.id}",
)

DEFECT_CODES = Resource(
    name="defect code",
    model=DefectCode,
    required=("code", "description"),
    optional=("category",),
    immutable=("code",),
    unique=(("code",),),
    identifiers=("code",),
    filters=("category",),
    search=("code", "description"),
    order_by=("code",),
    describe=lambda d: d.code,
)
