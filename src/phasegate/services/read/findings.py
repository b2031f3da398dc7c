"""A product's findings: the findings page and the product page's most severe open ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from phasegate.domain.enums import FindingCategory, FindingStatus, Severity
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scoped
from phasegate.services.paging import Page, check_page, parse_enum, parse_optional_enum
from phasegate.services.products import product_by_key
from phasegate.services.read.rows import OPEN_FINDING_STATUSES, revision_id
from phasegate.store.models import Build, Finding, Revision
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: int
    title: str
    category: FindingCategory
    severity: Severity
    status: FindingStatus
    owner: str
    revision: str | None
    fixed_in_revision: str | None
    build_id: int | None
    build_code: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None


def most_severe_first(stmt: Select[Any]) -> Select[Any]:
    """Findings by severity, then the most recently opened first."""
    severity = case({s.value: s.rank for s in Severity}, value=Finding.severity)
    return stmt.order_by(severity, Finding.opened_on.desc(), Finding.id.desc())


def finding_rows(uow: UnitOfWork, stmt: Select[Any]) -> tuple[FindingRow, ...]:
    """``stmt`` (a ``select(Finding)``) as rows with revision and build codes."""
    found = Revision.__table__.alias("found_rev")
    fixed = Revision.__table__.alias("fixed_rev")
    rows = uow.session.execute(
        stmt.add_columns(found.c.code, fixed.c.code, Build.code)
        .outerjoin(found, found.c.id == Finding.revision_id)
        .outerjoin(fixed, fixed.c.id == Finding.fixed_in_revision_id)
        .outerjoin(Build, Build.id == Finding.build_id)
    ).all()
    return tuple(
        FindingRow(
            id=f.id,
            title=f.title,
            category=f.category,
            severity=f.severity,
            status=f.status,
            owner=f.owner,
            revision=rev,
            fixed_in_revision=fixed_rev,
            build_id=f.build_id,
            build_code=build_code,
            opened_on=f.opened_on,
            closed_on=f.closed_on,
        )
        for f, rev, fixed_rev, build_code in rows
    )


def product_findings(
    uow: UnitOfWork,
    key: str,
    *,
    actor: Principal,
    severity: Severity | str | None = None,
    status: str | None = "open",
    revision: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[FindingRow]:
    """A page of the product's findings, most severe first.

    ``status`` is ``"open"`` (open, investigating or fixed but not verified), ``"all"``/``None``,
    or one finding status. A partner user sees the findings on its own builds only.
    """
    authorize(actor, Action.READ, Kind.FINDING)
    check_page(limit, offset)
    wanted_severity = parse_optional_enum(Severity, "severity", severity)
    with uow:
        product = product_by_key(uow, key, actor=actor)
        mine = scoped(select(Finding).where(Finding.product_id == product.id), actor, Finding)
        stmt = _with_status(mine, status)
        if wanted_severity is not None:
            stmt = stmt.where(Finding.severity == wanted_severity)
        if revision:
            stmt = stmt.where(Finding.revision_id == revision_id(uow, product, revision))
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        items = finding_rows(uow, most_severe_first(stmt).limit(limit).offset(offset))
        return Page(items=items, total=total, limit=limit, offset=offset)


def _with_status(stmt: Select[Any], status: str | None) -> Select[Any]:
    if status == "open":
        return stmt.where(Finding.status.in_(OPEN_FINDING_STATUSES))
    if status in (None, "", "all"):
        return stmt
    return stmt.where(Finding.status == parse_enum(FindingStatus, "status", status))
