"""The reports of ``phasegate spc``, ``capability`` and ``gage`` as JSON, CSV or Rich tables.

Each ``emit_*`` function takes the report's JSON document (``report.as_dict()``), so the three
formats show the same numbers.
"""

from __future__ import annotations

from typing import Any

from phasegate.cli.output import OutputFormat, console, emit_record, emit_rows, err_console

SPC_COLUMNS = ["chart", "subgroup", "value", "center", "lcl", "ucl", "size", "phase", "violations"]
_SIGNALS_SHOWN = 200


def print_lines(prefix: str, lines: list[str]) -> None:
    """Notes and warnings on stderr, one line each, never wrapped."""
    for line in lines:
        err_console.print(f"{prefix}: {line}", markup=False, highlight=False, soft_wrap=True)


# -------------------------------------------------------------------------------------------
# spc


def emit_spc(doc: dict[str, Any], fmt: OutputFormat) -> None:
    """The control chart document in ``fmt``: the document, one CSV row a point, or tables."""
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows(spc_rows(doc), fmt, columns=SPC_COLUMNS)
    else:
        _spc_tables(doc)


def _charts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The primary chart, then the secondary one if there is one."""
    return [doc] + ([doc["secondary"]] if doc["secondary"] else [])


def spc_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per point of every chart, named by its chart."""
    return [{"chart": part["chart"], **p} for part in _charts(doc) for p in part["points"]]


def _spc_tables(doc: dict[str, Any]) -> None:
    charts = _charts(doc)
    for part in charts:
        emit_record(
            {
                "chart": part["chart"],
                "points": len(part["points"]),
                "center": part["center"],
                "lcl": part["lcl"],
                "ucl": part["ucl"],
                "sigma": part["sigma"],
                "limits vary": part["limits_vary"],
                "rules": f"{part['rules']} {','.join(map(str, part['rules_checked']))}",
                "points with signals": part["signals"],
            },
            OutputFormat.TABLE,
            title=f"{part['chart']} chart",
        )
    console.print(
        f"limits from {doc['reference_subgroups']} reference subgroups"
        + (f" (first {doc['phase1']})" if doc["phase1"] else "")
        + (f"; excluded as out of control: {doc['excluded']}" if doc["excluded"] else "")
    )
    flagged = [
        {"chart": part["chart"], **p} for part in charts for p in part["points"] if p["violations"]
    ]
    if not flagged:
        console.print("no rule violations")
        return
    more = len(flagged) > _SIGNALS_SHOWN
    emit_rows(
        flagged[:_SIGNALS_SHOWN],
        OutputFormat.TABLE,
        columns=["chart", "subgroup", "value", "lcl", "ucl", "phase", "violations"],
        title="Signals (rule numbers)" + (f" - first {_SIGNALS_SHOWN}" if more else ""),
    )


# -------------------------------------------------------------------------------------------
# capability


def emit_capability(doc: dict[str, Any], fmt: OutputFormat) -> None:
    """The capability document in ``fmt``: the document, one flat CSV row, or tables."""
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows([capability_row(doc)], fmt)
    else:
        _capability_tables(doc)


def capability_row(doc: dict[str, Any]) -> dict[str, Any]:
    """The capability document as one flat row: every index with its interval and bound."""
    from phasegate.stats.capability import INDICES  # loaded already by the analysis

    flat: dict[str, Any] = {
        k: doc[k] for k in ("n", "subgroups", "mean", "sigma_within", "sigma_overall", "lsl", "usl")
    }
    for name in INDICES:
        flat[name] = doc[name]
        flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = doc["ci"][name]
        flat[f"{name}_lower_bound"] = doc["lower_bounds"][name]
    flat.update({f"ppm_{k}": v for k, v in doc["ppm"].items()})
    normality = doc["normality"] or {}
    flat["normality_p_value"] = normality.get("p_value")
    flat.update({k: doc[k] for k in ("confidence", "method", "sigma_method", "missing_rows")})
    return flat


def _capability_tables(doc: dict[str, Any]) -> None:
    from phasegate.stats.capability import INDICES  # loaded already by the analysis

    normality = doc["normality"]
    emit_record(
        {
            "values": doc["n"],
            "subgroups": doc["subgroups"],
            "mean": doc["mean"],
            "sigma within": f"{doc['sigma_within']:.6g} ({doc['sigma_method']})"
            if doc["sigma_within"] is not None
            else None,
            "sigma overall": doc["sigma_overall"],
            "method": doc["method"],
            "normality (AD p)": None if normality is None else normality["p_value"],
        },
        OutputFormat.TABLE,
        title="Capability",
    )
    conf = f"{doc['confidence']:.0%}"
    rows = [
        {
            "index": name,
            "value": doc[name],
            f"{conf} CI low": doc["ci"][name][0],
            f"{conf} CI high": doc["ci"][name][1],
            f"{conf} lower bound": doc["lower_bounds"][name],
        }
        for name in INDICES
        if doc[name] is not None
    ]
    emit_rows(rows, OutputFormat.TABLE, title="Indices")
    emit_rows(
        [{"": k.replace("_", " "), "ppm": v} for k, v in doc["ppm"].items() if v is not None],
        OutputFormat.TABLE,
        title="Parts per million out of specification",
    )


# -------------------------------------------------------------------------------------------
# gage


def emit_gage(doc: dict[str, Any], fmt: OutputFormat) -> None:
    """The gage R&R document in ``fmt``: the document, the variance components, or tables."""
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows(doc["components"], fmt)
    else:
        _gage_tables(doc)


def _gage_tables(doc: dict[str, Any]) -> None:
    interaction = "none"
    if doc["interaction_p"] is not None:
        kept = "pooled" if doc["interaction_pooled"] else "kept"
        interaction = f"{kept} (p = {doc['interaction_p']:.4g})"
    emit_record(
        {
            "design": f"{doc['parts']} parts x {doc['operators']} operators x "
            f"{doc['replicates']} trials",
            "interaction": interaction,
            "%GRR of study variation": doc["pct_grr_study_var"],
            "%GRR of tolerance": doc["pct_grr_tolerance"],
            "distinct categories (ndc)": doc["ndc"],
        },
        OutputFormat.TABLE,
        title="Gage R&R (ANOVA)",
    )
    emit_rows(doc["anova"], OutputFormat.TABLE, title="ANOVA with interaction")
    if doc["anova_reduced"]:
        emit_rows(doc["anova_reduced"], OutputFormat.TABLE, title="ANOVA, interaction pooled")
    emit_rows(doc["components"], OutputFormat.TABLE, title="Variance components")
