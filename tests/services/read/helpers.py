"""Small builders shared by the read-model tests."""

from __future__ import annotations

from typing import Any

from phasegate.services import crud, quality
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR


def char_stat(build_id: int, char_id: int, count: int, below: int = 0, above: int = 0) -> Any:
    """A ``BuildCharacteristicStat`` row: ``count`` measurements, ``below``/``above`` the limits."""
    return {
        "build_id": build_id,
        "characteristic_id": char_id,
        "count": count,
        "total": float(count),
        "total_sq": float(count),
        "minimum": 1.0,
        "maximum": 1.0,
        "below_lsl": below,
        "above_usl": above,
    }


def add_feedback(uow: UnitOfWork, product_id: int, revision_id: int, rating: int | None) -> None:
    crud.create(
        uow,
        quality.FEEDBACK,
        {
            "product_id": product_id,
            "revision_id": revision_id,
            "source": "tester",
            "rating": rating,
        },
        actor=ACTOR,
    )
