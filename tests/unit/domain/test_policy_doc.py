"""docs/security.md shows the policy table as ``phasegate.domain.policy.POLICY`` holds it."""

from __future__ import annotations

import re
from pathlib import Path

from phasegate.domain.policy import POLICY, Action, Kind, Role

DOC = Path(__file__).parents[3] / "docs" / "security.md"
LETTERS = {
    Action.READ: "R",
    Action.CREATE: "C",
    Action.UPDATE: "U",
    Action.DECIDE_GATE: "D",
    Action.SIGN_OFF: "S",
    Action.INGEST: "I",
    Action.ADMINISTER: "A",
}


def policy_table() -> str:
    """The table as markdown: one row per kind, one column per role, the actions as letters."""
    lines = [
        "| kind | " + " | ".join(role.value for role in Role) + " |",
        "| --- |" + " --- |" * len(Role),
    ]
    for kind in Kind:
        cells = [
            "".join(LETTERS[a] for a in Action if kind in POLICY[role][a]) or "–" for role in Role
        ]
        lines.append(f"| {kind.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_every_action_has_a_letter() -> None:
    assert set(LETTERS) == set(Action)


def test_the_documented_table_is_the_policy() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- policy-table:[^>]*-->\n(.*?)\n<!-- /policy-table -->", text, re.S)
    assert found is not None, "docs/security.md lost its policy table markers"
    assert found.group(1) == policy_table(), "regenerate the table in docs/security.md"
