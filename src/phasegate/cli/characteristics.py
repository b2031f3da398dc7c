"""``phasegate characteristics BUILD [--name NAME]``: a build's characteristics, or one of them."""

from __future__ import annotations

from typing import Any

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_rows, write_json

TABLE_COLUMNS = (
    "name", "ctq", "n", "mean", "sd", "cpk", "cpk_ci", "cpk_lower", "signals", "status",
)  # fmt: skip
SIGNAL_COLUMNS = ("chart", "subgroup", "value", "rules", "units")
HELP = (
    "A build's characteristics: n, mean, sd, Cpk with its 95 % interval and lower bound, Nelson "
    "signals and a status (watch: Cpk lower bound below 1.33 or a signal; insufficient_data: "
    "fewer than 25 values); with --name one characteristic's chart points and signals with "
    "their units, capability and phase I limits."
)


def _g(value: float | None) -> str:
    """A number for a person: six significant digits; an empty cell for none."""
    return "" if value is None else f"{value:.6g}"


@app.command(
    "characteristics",
    help=HELP,
)
def characteristics(
    build: str = typer.Argument(..., help="Build code."),
    product: str | None = typer.Option(None, "--product", help="Product key of the build."),
    name: str | None = typer.Option(None, "--name", help="One characteristic, by name."),
    subgroup_size: int | None = typer.Option(
        None,
        "--subgroup-size",
        help="Consecutive values per subgroup; 1 gives the I-MR chart (default: the control "
        "plan's sample size of the characteristic, else 5).",
    ),
    fmt: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", help="Output format: table, json or csv."
    ),
) -> None:
    from phasegate.cli import context
    from phasegate.cli.errors import with_flags
    from phasegate.domain.errors import InvalidInput
    from phasegate.services.read import characteristic as service

    uow, actor = context.session()
    try:
        if name is None:
            table = service.build_characteristics(
                uow, build, actor=actor, product=product, subgroup_size=subgroup_size
            )
            _print_table(table, fmt)
            return
        detail = service.characteristic_detail(
            uow, build, name, actor=actor, product=product, subgroup_size=subgroup_size
        )
    except InvalidInput as error:
        flags = {"subgroup_size": "--subgroup-size", "product": "--product"}
        raise with_flags(error, flags) from error
    _print_detail(detail, fmt)


def _print_table(table: Any, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json(table.as_dict())
        return
    if fmt is OutputFormat.CSV:
        from phasegate.services.read.characteristic import FLAT_COLUMNS

        emit_rows(table.flat_rows(), fmt, columns=FLAT_COLUMNS)
        return
    rows = []
    for row in table.rows:
        shown: dict[str, Any] = row.as_dict()
        for key in ("mean", "sd", "cpk", "cpk_lower"):
            shown[key] = _g(shown[key])
        ci = shown["cpk_ci"]
        shown["cpk_ci"] = "" if ci is None else f"[{_g(ci[0])}, {_g(ci[1])}]"
        shown["ctq"] = "CTQ" if row.ctq else ""
        if row.note and row.cpk is None:
            shown["cpk"] = row.note.split(":")[0]
        rows.append(shown)
    b = table.build
    title = f"Characteristics of {b.product_key} {b.code} ({b.phase.value})"
    emit_rows(rows, fmt, columns=TABLE_COLUMNS, title=title)


def _print_detail(detail: Any, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json(detail.as_dict())
        return
    if fmt is OutputFormat.CSV:
        from phasegate.services.read.characteristic import POINT_COLUMNS

        emit_rows(detail.point_rows(), fmt, columns=POINT_COLUMNS)
        return
    doc = detail.as_dict()
    s = doc["summary"]
    console.print(
        f"[bold]{doc['characteristic']['name']}[/bold] on {doc['product']} {doc['build']}: "
        f"n = {s['n']}, mean {_g(s['mean'])}, sd {_g(s['sd'])}, status {s['status']}"
    )
    for note in (doc["chart_note"], doc["capability_note"], doc["phase1_note"]):
        if note:
            console.print(note)
    if detail.phase1 is not None:
        p = detail.phase1
        console.print(
            f"Phase I limits from pilot {', '.join(p.builds)}: centre {_g(p.center)}, "
            f"sigma {_g(p.sigma)} ({p.subgroups} subgroups, n = {p.n})"
        )
    cap = doc["capability"]
    if cap is not None:
        rows = [
            {
                "index": row["index"],
                "value": _g(row["value"]),
                "ci": f"[{_g(row['ci_low'])}, {_g(row['ci_high'])}]",
                "lower_bound": _g(row["lower_bound"]),
            }
            for row in detail.capability_rows()
        ]
        emit_rows(rows, fmt, title=f"Capability ({cap['confidence'] * 100:g} % confidence)")
        verdict = cap["normality"]
        if verdict is not None:
            console.print(
                f"Normality (Anderson-Darling): p = {verdict['p_value']:.3g}, "
                + ("not rejected" if verdict["normal"] else "rejected")
            )
    if doc["signals"]:
        shown = [
            {**{c: sig[c] for c in SIGNAL_COLUMNS}, "value": _g(sig["value"])}
            for sig in doc["signals"]
        ]
        emit_rows(shown, fmt, columns=SIGNAL_COLUMNS, title="Signals (Nelson rules)")
