"""docs/gates.md documents every metric of the criteria library."""

from __future__ import annotations

from pathlib import Path

from phasegate.gates import METRICS

DOC = Path(__file__).resolve().parents[3] / "docs" / "gates.md"


def test_every_metric_has_a_row_in_the_docs():
    text = DOC.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in text.splitlines()
        if line.startswith("| `")
    }
    assert set(METRICS) <= rows
