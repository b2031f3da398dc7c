"""``phasegate gates open|sign|waive|decide|show``: deciding a gate by review.

The CLI acts as ``PHASEGATE_USER``: the opening, signing, waiving and deciding user, whose role
is the signing role. Each command prints the review as it then stands (``--format json``: the
review's JSON, as the API's ``GET /gate-reviews/{id}``; csv and the table: one criterion per
row). The commands join :data:`phasegate.cli.gates.gates_app`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import typer

from phasegate.cli.gates import gates_app
from phasegate.cli.output import OutputFormat, console, emit_rows, write_json
from phasegate.domain.enums import GateOutcome
from phasegate.services.gates import decisions

FLAGS = {
    "to": "--to",
    "comment": "--comment",
    "reason": "--reason",
    "rationale": "--rationale",
    "outcome": "--outcome",
    "actions": "--action",
    "criterion_id": "CRITERION",
    "role": "PHASEGATE_USER's role",
}
COLUMNS = ("id", "status", "blocking", "value", "threshold", "then_status", "now_status")
FORMAT_HELP = "Output format: table, json or csv."


def _emit(view: decisions.ReviewView, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json(view.as_dict())
        return
    now = {c.id: c for c in view.comparison or ()}
    rows = [
        {
            "id": c["id"],
            "status": c["status"],
            "blocking": c["blocking"],
            "value": c["value"],
            "threshold": c["threshold"],
            "then_status": c["status"],
            "now_status": now[c["id"]].now_status if c["id"] in now else None,
        }
        for c in view.criteria
    ]
    columns = COLUMNS if view.comparison is not None else COLUMNS[:5]
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=columns)
        return
    title = (
        f"Gate review {view.id}: {view.product} {view.from_phase.value} -> "
        f"{view.to_phase.value}, plan {view.plan_name} {view.plan_version}, {view.status}"
    )
    emit_rows(rows, fmt, columns=columns, title=title)
    console.print(f"Suggestion: {view.suggestion.value} (frozen: {view.frozen_suggestion.value})")
    for s in view.signoffs:
        verdict = "approved" if s.approve else "rejected"
        console.print(f"{s.role.value}: {verdict} by {s.signed_by}  {s.comment}".rstrip())
    if view.missing_roles:
        console.print("Sign-offs missing: " + ", ".join(r.value for r in view.missing_roles))
    if view.decision is not None:
        console.print(
            f"Decision: {view.decision['outcome']} by {view.decision['decided_by']} "
            f"on {view.decision['decided_at']}"
        )
    for a in view.action_items:
        console.print(f"Action: {a.title} ({a.owner}, due {a.due_on}){' done' if a.done else ''}")


def _run(call: Callable[[], decisions.ReviewView], fmt: OutputFormat) -> None:
    from phasegate.cli.errors import with_flags
    from phasegate.domain.errors import InvalidInput

    try:
        view = call()
    except InvalidInput as error:
        raise with_flags(error, FLAGS) from error
    _emit(view, fmt)


def _action(text: str) -> decisions.ActionItem:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != 3:
        raise typer.BadParameter(
            f"give 'title;owner;YYYY-MM-DD', got {text!r}", param_hint="--action"
        )
    try:
        due = dt.date.fromisoformat(parts[2])
    except ValueError:
        raise typer.BadParameter(
            f"the due date {parts[2]!r} is not a date YYYY-MM-DD", param_hint="--action"
        ) from None
    return decisions.ActionItem(parts[0], parts[1], due)


@gates_app.command(
    "open",
    help="Open the review of PRODUCT's next gate: evaluate it now and freeze the evaluation "
    "(criteria, plan version, suggestion, the data's extent) for the sign-offs and the decision.",
)
def open_review(
    product: str = typer.Argument(..., help="Product key."),
    to: str = typer.Option(..., "--to", help="The gate: pilot or production."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help=FORMAT_HELP),
) -> None:
    from phasegate.cli import context
    from phasegate.cli.gates import _to_phase

    target = _to_phase(to)
    uow, actor = context.session()
    _run(lambda: decisions.open_decision(uow, product, target, actor=actor), fmt)


@gates_app.command(
    "sign",
    help="Sign gate review REVIEW off for your role (engineer, quality, operations or product): "
    "--approve or --reject (a rejection needs --comment).",
)
def sign(
    review: int = typer.Argument(..., help="The gate review's id."),
    approve: bool = typer.Option(..., "--approve/--reject", help="Approve the gate, or reject it."),
    comment: str = typer.Option("", "--comment", help="Why; required with --reject."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help=FORMAT_HELP),
) -> None:
    from phasegate.cli import context

    uow, actor = context.session()
    _run(lambda: decisions.sign(uow, review, approve=approve, comment=comment, actor=actor), fmt)


@gates_app.command(
    "waive",
    help="Waive CRITERION of gate review REVIEW (it failed or lacks evidence) with a written "
    "--reason; the suggestion is worked out again.",
)
def waive(
    review: int = typer.Argument(..., help="The gate review's id."),
    criterion: str = typer.Argument(..., help="The criterion's id in the gate plan."),
    reason: str = typer.Option(..., "--reason", help="Why it may stand aside."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help=FORMAT_HELP),
) -> None:
    from phasegate.cli import context

    uow, actor = context.session()
    _run(lambda: decisions.waive(uow, review, criterion, reason=reason, actor=actor), fmt)


@gates_app.command(
    "decide",
    help="Decide gate review REVIEW once every required role approved: go and conditional move "
    "the product; a conditional go needs --action 'title;owner;YYYY-MM-DD' (repeatable).",
)
def decide(
    review: int = typer.Argument(..., help="The gate review's id."),
    outcome: GateOutcome = typer.Option(..., "--outcome", help="go, conditional or no_go."),
    rationale: str = typer.Option("", "--rationale", help="Why; required but for a go."),
    action: list[str] = typer.Option(
        [], "--action", help="A condition of a conditional go: 'title;owner;YYYY-MM-DD'."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help=FORMAT_HELP),
) -> None:
    from phasegate.cli import context

    actions = [_action(a) for a in action]
    uow, actor = context.session()
    _run(
        lambda: decisions.decide(
            uow, review, outcome=outcome, rationale=rationale, actions=actions, actor=actor
        ),
        fmt,
    )


@gates_app.command(
    "show",
    help="Show gate review REVIEW: the frozen criteria with their waivers beside the same "
    "criteria evaluated now, the sign-offs, the decision and its action items.",
)
def show(
    review: int = typer.Argument(..., help="The gate review's id."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help=FORMAT_HELP),
) -> None:
    from phasegate.cli import context

    uow, actor = context.session()
    _run(lambda: decisions.show_then_and_now(uow, review, actor=actor), fmt)
