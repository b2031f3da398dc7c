"""``phasegate gates ...``: a product's stage gates.

``gates evaluate PRODUCT --to pilot|production`` judges the product's next gate on the evidence
in the database (``services.gates.evaluation.evaluate_gate``): the JSON is the ``gates
evaluate`` contract of docs/gates.md; CSV and the table give one criterion per row. More
commands join :data:`gates_app` from their own modules.
"""

from __future__ import annotations

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_rows, write_json
from phasegate.domain.enums import Phase

HELP = (
    "Stage gates: evaluate a product's next gate on its evidence; open a review of it, sign "
    "off by role, waive criteria with a reason and decide (the only way a phase changes)."
)

gates_app = typer.Typer(help=HELP, no_args_is_help=True)
app.add_typer(gates_app, name="gates")

GATES = [Phase.PILOT.value, Phase.PRODUCTION.value]
# The table leaves out the titles and confidence levels (the JSON and the CSV have them).
TABLE_COLUMNS = ("id", "status", "blocking", "value", "comparison", "threshold", "missing")


def _to_phase(value: str) -> Phase:
    if value not in GATES:
        raise typer.BadParameter(f"must be pilot or production, got {value!r}", param_hint="--to")
    return Phase(value)


@gates_app.command(
    "evaluate",
    help="Evaluate PRODUCT's next gate: every criterion of its gate plan with its status "
    "(pass, fail, insufficient_evidence, waived), value, threshold and, for missing evidence, "
    "what is missing; and the suggestion: go, no_go or conditional.",
)
def evaluate(
    product: str = typer.Argument(..., help="Product key."),
    to: str = typer.Option(
        ..., "--to", help="The gate: pilot or production (the product's next phase)."
    ),
    fmt: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", help="Output format: table, json or csv."
    ),
) -> None:
    from phasegate.cli import context
    from phasegate.cli.errors import with_flags
    from phasegate.domain.errors import InvalidInput
    from phasegate.services.gates.evaluation import FLAT_COLUMNS, evaluate_gate, flat_rows

    target = _to_phase(to)
    uow, actor = context.session()
    try:
        result = evaluate_gate(uow, product, target, actor=actor)
    except InvalidInput as error:
        raise with_flags(error, {"to": "--to"}) from error
    if fmt is OutputFormat.JSON:
        write_json(result.as_dict())
        return
    rows = flat_rows(result)
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=FLAT_COLUMNS)
        return
    title = (
        f"{result.product}: {result.from_phase.value} -> {result.to_phase.value}, "
        f"plan {result.plan_name} {result.plan_version}"
    )
    emit_rows(rows, fmt, columns=TABLE_COLUMNS, title=title)
    console.print(f"Suggestion: {result.suggestion.value}")


# The commands deciding a gate by review (open, sign, waive, decide, show) join from their module.
from phasegate.cli import gate_decisions as _gate_decisions  # noqa: E402, F401
