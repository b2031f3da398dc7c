"""``phasegate init``, ``demo`` and ``serve``: set up the database, load the demo, run the app."""

from __future__ import annotations

import os

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from phasegate.cli import context
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_record, to_jsonable
from phasegate.config import get_settings
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork


def _migrate() -> tuple[str, str | None, str | None]:
    eng = context.engine(migrated=False)
    before, after = db.migrate(eng)
    return eng.url.render_as_string(hide_password=True), before, after


@app.command(
    "init",
    help="Create or upgrade the database schema and, on a database without users, the first "
    "admin with a one-time password (safe to run again).",
)
def init(
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
) -> None:
    shown, before, after = _migrate()
    created = identity.ensure_first_admin(UnitOfWork.for_engine(context.engine()))
    record: dict[str, object] = {
        "database": shown,
        "schema_before": before,
        "schema_now": after,
        "changed": before != after,
        "admin_created": created is not None,
        "admin": created[0].name if created is not None else None,
        "one_time_password": created[1] if created is not None else None,
    }
    if fmt is not OutputFormat.TABLE:
        emit_record(record, fmt)
        return
    emit_record(
        {k: v for k, v in record.items() if k != "one_time_password"}, fmt, title="Database"
    )
    if created is None:
        console.print("Users exist already: no admin was created.")
        return
    user, password = created
    console.print(f"Created the first admin [bold]{user.name}[/bold].")
    console.print(f"One-time password: [bold]{password}[/bold]", highlight=False)
    console.print(
        "It is shown only now, and must be changed at the first sign-in "
        "(or set another with `phasegate users reset-password`)."
    )


@app.command(
    "demo",
    help="Load the demo: three products, one in each phase, and a login per role (migrates first).",
)
def demo(
    reset: bool = typer.Option(False, "--reset", help="Delete all data and load the demo anew."),
    seed: int = typer.Option(2026, "--seed", help="Seed of the deterministic generator."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
) -> None:
    from phasegate.demo.loader import load_demo
    from phasegate.demo.logins import DEMO_LOGINS

    _migrate()
    eng = context.engine()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=fmt is not OutputFormat.TABLE,
        disable=fmt is not OutputFormat.TABLE,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(description: str, completed: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=completed, total=total)

        summary = load_demo(eng, reset=reset, seed=seed, progress=progress)
    emit_record(to_jsonable(summary), fmt, title="Demo loaded")
    if fmt is OutputFormat.TABLE:
        console.print("Demo logins (user / password, role):")
        for login in DEMO_LOGINS:
            console.print(
                f"  {login.name} / {login.password}  ({login.role.label})", highlight=False
            )


@app.command("serve", help="Run the web app and the API (http://HOST:PORT, API under /api/v1).")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Demo mode (as PHASEGATE_DEMO=1): runs without PHASEGATE_SECRET_KEY, signing "
        "cookies with a random key per start.",
    ),
) -> None:
    import uvicorn

    if demo:
        os.environ["PHASEGATE_DEMO"] = "1"  # the app (and a reloaded one) reads it from here
        get_settings.cache_clear()
    # Fail early, with one line, when the signing key is missing or the database is not ready.
    get_settings().signing_key()
    context.engine()
    console.print(f"phasegate on [bold]http://{host}:{port}[/bold]  (API: /api/v1/docs)")
    uvicorn.run(
        "phasegate.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level="info",
    )
