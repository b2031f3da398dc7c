"""Crossed gage R&R from a CSV file in long format (one row per reading)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from phasegate import stats
from phasegate.domain.errors import invalid
from phasegate.ingest.columns import read_columns
from phasegate.services.analysis.series import finite_or_none, missing_note
from phasegate.stats.msa import GageRRResult

__all__ = ["GageReport", "analyse_gage"]


def _anova_table(rows: Sequence[stats.AnovaRow] | None) -> list[dict[str, Any]] | None:
    if rows is None:
        return None
    return [
        {
            "source": row.source,
            "df": row.df,
            "ss": row.ss,
            "ms": finite_or_none(row.ms),
            "f": finite_or_none(row.f),
            "p": finite_or_none(row.p),
        }
        for row in rows
    ]


@dataclass(frozen=True, slots=True, eq=False)
class GageReport:
    """Gage R&R of a CSV file in long format (one row per reading)."""

    source: str
    result: GageRRResult
    notes: tuple[str, ...]
    missing_rows: int

    def as_dict(self) -> dict[str, Any]:
        """The ``phasegate gage --format json`` document."""
        r = self.result
        return {
            "parts": r.parts,
            "operators": r.operators,
            "replicates": r.replicates,
            "interaction_pooled": r.interaction_pooled,
            "interaction_p": finite_or_none(r.interaction_p),
            "alpha_interaction": r.alpha_interaction,
            "anova": _anova_table(r.anova),
            "anova_reduced": _anova_table(r.anova_reduced),
            "components": [
                {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in r.rows()
            ],
            "pct_grr_study_var": finite_or_none(r.pct_study_var("gage_rr")),
            "pct_grr_tolerance": finite_or_none(r.pct_tolerance("gage_rr")),
            "ndc": r.ndc,
            "tolerance": r.tolerance,
            "study_multiplier": r.study_multiplier,
            "source": self.source,
            "missing_rows": self.missing_rows,
            "notes": list(self.notes),
        }


def analyse_gage(
    path: str | Path,
    *,
    part: str,
    operator: str,
    value: str,
    tolerance: float | None = None,
    alpha_interaction: float = 0.25,
    study_multiplier: float = 6.0,
) -> GageReport:
    """Crossed gage R&R from a long-format CSV file; see ``phasegate gage --help``."""
    cols = read_columns(path, numeric=[value], text=[part, operator])
    keep = ~np.isnan(cols.numeric[value])
    notes: list[str] = []
    if not keep.all():
        notes.append(missing_note(value, cols.lines[~keep], "left out"))
    for col in (part, operator):
        absent = cols.text[col] == ""
        if (absent & keep).any():
            notes.append(missing_note(col, cols.lines[absent & keep], "left out"))
        keep &= ~absent
    if not keep.any():
        raise invalid(f"{cols.path}: column {value!r}", "no complete rows")
    if not keep.all():
        notes.append("a gage study must be balanced: dropped rows can make it unbalanced")
    result = stats.gage_rr(
        cols.numeric[value][keep],
        cols.text[part][keep],
        cols.text[operator][keep],
        tolerance=tolerance,
        alpha_interaction=alpha_interaction,
        study_multiplier=study_multiplier,
    )
    return GageReport(cols.path, result, tuple(notes), int((~keep).sum()))
