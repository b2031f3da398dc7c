"""The demo's past gate decisions, taken as every gate decision is: by review.

Each gate of the data files (``[[gates]]`` of ``demo/data/products/*.toml``) is opened from the
gate's evaluation on the demo's data (frozen with the review), signed off by the four required
roles named in its rationale ("Signed off: engineering (Lena Moreau), quality (...), ..."),
and decided with the recorded outcome, rationale and time. A blocking criterion the evaluation
does not find met is waived by the deciding product manager with the rationale as the reason,
as the gate board accepted it then; the waivers are part of the record, so the decision page
shows what was waived and why.
"""

from __future__ import annotations

import datetime as dt
import re

from phasegate.demo.records import GateRec
from phasegate.domain.enums import GateOutcome
from phasegate.domain.phases import lets_product_in
from phasegate.domain.policy import Principal, Role
from phasegate.services.gates import decisions
from phasegate.store.uow import UnitOfWork

# How the rationales name the signing roles.
_ROLE_WORDS = {
    "engineering": Role.ENGINEER,
    "quality": Role.QUALITY,
    "operations": Role.OPERATIONS,
    "product": Role.PRODUCT,
}
_SIGNER = re.compile(r"\b(engineering|quality|operations|product) \(([^)]+)\)")


def signers(rationale: str) -> dict[Role, str]:
    """The people the rationale names per signing role; a role it does not name signs as the
    demo's lead of that role."""
    named = {_ROLE_WORDS[word]: name for word, name in _SIGNER.findall(rationale)}
    return {role: named.get(role, f"Demo {role.value} lead") for role in decisions.REQUIRED_ROLES}


def record_gate(uow: UnitOfWork, gate: GateRec) -> decisions.ReviewView:
    """Open, sign off and decide one past gate of the demo, as its decider."""
    decider = Principal(name=gate.decided_by, role=Role.PRODUCT)
    # The review opens and is signed off on the morning of the gate meeting.
    opened = gate.decided_at - dt.timedelta(hours=4)
    review = decisions.open_decision(uow, gate.product, gate.to_phase, actor=decider, at=opened)
    for i, (role, name) in enumerate(signers(gate.rationale).items()):
        signer = Principal(name=name, role=role)
        at = opened + dt.timedelta(minutes=30 * (i + 1))
        decisions.sign(uow, review.id, approve=True, comment="", actor=signer, at=at)
    if lets_product_in(gate.outcome):
        for criterion in review.criteria:
            if criterion["blocking"] and criterion["status"] in ("fail", "insufficient_evidence"):
                decisions.waive(
                    uow,
                    review.id,
                    criterion["id"],
                    reason=f"Accepted by the gate board on {gate.decided_at:%Y-%m-%d}; see the "
                    "decision's rationale.",
                    actor=decider,
                    at=gate.decided_at - dt.timedelta(minutes=5),
                )
    actions: tuple[decisions.ActionItem, ...] = ()
    if gate.outcome is GateOutcome.CONDITIONAL:
        actions = (
            decisions.ActionItem(
                title=gate.rationale[:300],
                owner=gate.decided_by,
                due_on=(gate.decided_at + dt.timedelta(days=30)).date(),
            ),
        )
    return decisions.decide(
        uow,
        review.id,
        outcome=gate.outcome,
        rationale=gate.rationale,
        actions=actions,
        actor=decider,
        at=gate.decided_at,
    )
