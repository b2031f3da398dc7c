"""The demo's control plan: AirSense One's plan per station, its gauges and gage R&R studies.

Read from ``demo/data/control_plan.toml`` and stored through the audited control plan services,
after the products, lines and characteristics are in. Each study's readings are drawn with the
seed the data file gives, so the demo is the same every time; the service computes the study.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phasegate.demo.datafiles import DemoDataError, entries, read, where
from phasegate.domain.policy import SYSTEM
from phasegate.services import control_plan as cp
from phasegate.services import crud
from phasegate.store.uow import UnitOfWork

FILE = "control_plan.toml"
ACTOR = SYSTEM
ITEM_FIELDS = (
    "method",
    "sample_size",
    "frequency",
    "frequency_every",
    "frequency_per",
    "chart_type",
    "reaction_plan",
)


def load_control_plans(uow: UnitOfWork) -> int:
    """Store the demo's gauges, their studies and the control plans; returns the records made."""
    document = read(FILE, keys=("gauges", "plans"))
    place = where(FILE)
    created = 0
    for gauge, at in entries(document, "gauges", place):
        created += _gauge(uow, gauge, at)
    for plan, at in entries(document, "plans", place):
        created += _plan(uow, plan, at)
    return created


def _gauge(uow: UnitOfWork, gauge: dict[str, Any], at: str) -> int:
    cp.new_gauge(
        uow,
        gauge["name"],
        product=gauge.get("product"),
        line=gauge.get("line"),
        description=gauge.get("description"),
        actor=ACTOR,
    )
    studies = entries(gauge, "studies", at)
    for study, study_at in studies:
        cp.record_named_gage_study(
            uow,
            gauge["name"],
            characteristic=study["characteristic"],
            product=study.get("product"),
            readings=study_readings(study, study_at),
            studied_on=study["studied_on"],
            actor=ACTOR,
        )
    return 1 + len(studies)


def study_readings(study: dict[str, Any], at: str = FILE) -> list[dict[str, Any]]:
    """The readings of a crossed study drawn as the data file describes it: every part read
    ``trials`` times by every operator (its value, the operator's bias and a normal
    repeatability error)."""
    operators = list(study["operators"])
    bias = list(study["operator_bias"])
    if len(bias) != len(operators):
        raise DemoDataError(f"{at}: operator_bias needs one value per operator")
    trials = int(study["trials"])
    rng = np.random.default_rng(int(study["seed"]))
    low, high = study["part_range"]
    parts = rng.uniform(low, high, int(study["parts"]))
    noise = rng.normal(0.0, float(study["repeatability_sd"]), (len(parts), len(operators), trials))
    return [
        {
            "part": f"P{p + 1:02d}",
            "operator": operator,
            "value": round(float(value + bias[o] + noise[p, o, t]), 4),
        }
        for o, operator in enumerate(operators)
        for t in range(trials)
        for p, value in enumerate(parts)
    ]


def _plan(uow: UnitOfWork, plan: dict[str, Any], at: str) -> int:
    stored = cp.new_plan(
        uow,
        plan["product"],
        name=plan["name"],
        plan_version=plan.get("plan_version"),
        status=plan.get("status"),
        line=plan.get("line"),
        description=plan.get("description"),
        actor=ACTOR,
    )
    items = entries(plan, "items", at)
    for item, _ in items:
        ids = cp.item_names(
            uow,
            plan["product"],
            station=item["station"],
            characteristic=item["characteristic"],
            gauge=item.get("gauge"),
            plan_id=stored.id,
            actor=ACTOR,
        )
        values = {k: item[k] for k in ITEM_FIELDS if k in item}
        crud.create(uow, cp.CONTROL_PLAN_ITEMS, ids | values, actor=ACTOR)
    return 1 + len(items)
