"""A product's feedback: the feedback page and the product page's most recent entries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from phasegate.domain.enums import FeedbackSource
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize
from phasegate.services.paging import Page, check_page
from phasegate.services.products import product_by_key
from phasegate.services.read.rows import revision_id
from phasegate.store.models import Feedback, Requirement, Revision
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    id: int
    source: FeedbackSource
    author: str
    rating: int | None
    text: str
    received_on: dt.date | None
    revision: str | None
    requirement: str | None


def newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(Feedback.received_on.desc(), Feedback.id.desc())


def feedback_rows(uow: UnitOfWork, stmt: Select[Any]) -> tuple[FeedbackRow, ...]:
    """``stmt`` (a ``select(Feedback)``) as rows with revision code and requirement key."""
    rows = uow.session.execute(
        stmt.add_columns(Revision.code, Requirement.key)
        .outerjoin(Revision, Revision.id == Feedback.revision_id)
        .outerjoin(Requirement, Requirement.id == Feedback.requirement_id)
    ).all()
    return tuple(
        FeedbackRow(
            id=f.id,
            source=f.source,
            author=f.author,
            rating=f.rating,
            text=f.text,
            received_on=f.received_on,
            revision=rev,
            requirement=req,
        )
        for f, rev, req in rows
    )


def product_feedback(
    uow: UnitOfWork,
    key: str,
    *,
    actor: Principal,
    revision: str | None = None,
    rating: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[FeedbackRow]:
    """A page of the product's feedback, newest first, optionally for one revision or rating."""
    authorize(actor, Action.READ, Kind.FEEDBACK)
    check_page(limit, offset)
    with uow:
        product = product_by_key(uow, key, actor=actor)
        stmt = select(Feedback).where(Feedback.product_id == product.id)
        if revision:
            stmt = stmt.where(Feedback.revision_id == revision_id(uow, product, revision))
        if rating is not None:
            stmt = stmt.where(Feedback.rating == rating)
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        items = feedback_rows(uow, newest_first(stmt).limit(limit).offset(offset))
        return Page(items=items, total=total, limit=limit, offset=offset)
