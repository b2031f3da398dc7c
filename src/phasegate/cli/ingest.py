"""``phasegate ingest PATH...``, ``phasegate ingest --watch DIR`` and ``phasegate ingest rejects``.

Files, folders (searched recursively for the known extensions) and globs are read one file at a
time, streamed in batches (``services.ingest.ingest_path``), with a progress bar on stderr, and
end with one row per file: inserted, already present, rejected and the characteristics created.
The exit code is 0 when every record of every file is stored now (inserted or already present),
2 when a file could not be read or a record was rejected — with one line per such file on stderr.

``--watch DIR`` polls a station PC's drop folder: a file is taken once its size is the same at
two polls in a row (the writer has finished), then moved to ``DIR/done/`` or, when it could not
be read, to ``DIR/failed/`` with a ``.reason.txt`` beside it. Ctrl-C stops between files.
"""

from __future__ import annotations

import csv
import glob
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer import _click
from typer.core import TyperGroup

from phasegate.cli import context
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_rows, err_console
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.domain.policy import Principal
from phasegate.ingest.records import Target
from phasegate.ingest.tables import CsvOptions
from phasegate.services import ingest as service
from phasegate.services.paging import MAX_PAGE
from phasegate.store.uow import UnitOfWork

EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"})
"""The files a folder is searched for."""

SUBCOMMANDS = ("files", "rejects")


class _FilesByDefault(TyperGroup):
    """``phasegate ingest PATH...`` means ``phasegate ingest files PATH...``: anything but a
    subcommand (or the group's own ``--help``) goes to ``files``."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help",):
            args = ["files", *args]
        return super().parse_args(ctx, args)


ingest_app = typer.Typer(
    cls=_FilesByDefault,
    help="Test data in: OpenHTF records, CSV and JSON files, station passes and defects; "
    "files, folders, globs or a watched drop folder.",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")


class InputFormat(StrEnum):
    AUTO = "auto"
    OPENHTF = "openhtf"
    CSV = "csv"
    CSV_WIDE = "csv-wide"
    JSON = "json"
    PASSES = "passes"
    DEFECTS = "defects"


RESULT_TABLE = {
    "file": "file",
    "format": "format",
    "status": "status",
    "inserted": "inserted",
    "duplicates": "already present",
    "rejected": "rejected",
    "new_characteristics": "new characteristics",
}


@ingest_app.command(
    "files",
    help="Ingest files, folders (recursively) and globs: `phasegate ingest PATH...` (the "
    "default); or watch a drop folder with --watch DIR.",
)
def ingest_files(
    paths: list[str] = typer.Argument(None, help="Files, folders or globs to ingest."),
    fmt: InputFormat = typer.Option(
        InputFormat.AUTO, "--format", help="Format of the files; auto detects each one."
    ),
    product: str | None = typer.Option(
        None, "--product", help="Product key of records that name none."
    ),
    build: str | None = typer.Option(
        None, "--build", help="Build code of records that name none (needed for new serials)."
    ),
    column: list[str] = typer.Option(
        [], "--column", help="Map a column: NAME=HEADER, e.g. serial=SN (repeatable)."
    ),
    delimiter: str | None = typer.Option(
        None, "--delimiter", help="CSV delimiter (one character; 'tab' for a tab)."
    ),
    spec: Path | None = typer.Option(
        None, "--spec", help="Limits file of a wide CSV: columns name, unit, lsl, usl."
    ),
    batch: int = typer.Option(
        service.DEFAULT_BATCH_RECORDS,
        "--batch",
        min=1,
        max=100_000,
        help="Records per transaction.",
    ),
    out: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format-out", help="Output format: table, json or csv."
    ),
    watch: Path | None = typer.Option(
        None, "--watch", help="Watch this drop folder instead of ingesting PATHs."
    ),
    interval: float = typer.Option(
        2.0, "--interval", min=0.0, help="Seconds between two polls of the drop folder."
    ),
    once: bool = typer.Option(
        False, "--once", help="With --watch: take the complete files there now, then stop."
    ),
) -> None:
    options = _csv_options(column, delimiter, spec)
    target = Target(product=product, build=build)
    settings = _Run(fmt.value, options, target, batch)
    if watch is not None:
        if paths:
            raise InvalidInput("give either PATHs or --watch DIR, not both")
        raise typer.Exit(_watch(settings, watch, interval, once=once))
    if not paths:
        raise InvalidInput("give the files, folders or globs to ingest (or --watch DIR)")
    files, unmatched = _expand(paths)
    uow, actor = context.session()
    outcomes = [_one_file(uow, actor, settings, path) for path in files]
    failures = [(name, "nothing matches") for name in unmatched]
    failures += [(o.name, o.failure) for o in outcomes if o.failure]
    emit_rows([o.row() for o in outcomes], out, columns=list(RESULT_TABLE), headers=RESULT_TABLE)
    lines = [f"{name}: {reason}" for name, reason in failures]
    lines += [
        f"{o.name}: {o.result.rejected} records rejected; see phasegate ingest rejects "
        f"--file {o.result.file_id}"
        for o in outcomes
        if o.result is not None and o.result.rejected
    ]
    for line in lines:
        _error_line(line)
    if lines:
        raise typer.Exit(2)


# --------------------------------------------------------------------------------------------
# Reading the command line


def _csv_options(
    columns: Sequence[str], delimiter: str | None, spec: Path | None
) -> CsvOptions | None:
    if not columns and delimiter is None and spec is None:
        return None
    mapping: dict[str, str] = {}
    for item in columns:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise InvalidInput(f"--column {item!r}: write NAME=HEADER, e.g. serial=SN")
        mapping[name.strip()] = header.strip()
    sep = {"tab": "\t", "\\t": "\t"}.get(delimiter or ",", delimiter or ",")
    if len(sep) != 1:
        raise InvalidInput(f"--delimiter {delimiter!r}: give one character (or 'tab')")
    return CsvOptions(columns=mapping, delimiter=sep, spec=spec)


def _expand(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    """The files the arguments name, in order and each once; and the globs matching nothing."""
    files: list[Path] = []
    unmatched: list[str] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
            )
        elif glob.has_magic(arg):
            found = sorted(Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file())
        else:
            found = [path]  # a missing file is reported by the ingest, as a failed file
        if not found:
            unmatched.append(arg)
        files.extend(p for p in found if p not in files)
    return files, unmatched


# --------------------------------------------------------------------------------------------
# Ingesting one file


class _Run:
    def __init__(self, fmt: str, options: CsvOptions | None, target: Target, batch: int) -> None:
        self.format = fmt
        self.options = options
        self.target = target
        self.batch = batch


class _Outcome:
    """One file: its result, or why it could not be read (then ``result`` holds what of it was
    stored before, if anything)."""

    def __init__(self, name: str, result: service.IngestResult | None, failure: str = "") -> None:
        self.name = name
        self.result = result
        self.failure = failure

    def row(self) -> dict[str, Any]:
        r = self.result
        if r is None:
            return {"file": self.name, "format": "", "status": "failed", "failure": self.failure}
        return {
            "file": self.name,
            "file_id": r.file_id,
            "format": r.format,
            "status": "failed" if self.failure else "done",
            "inserted": r.inserted,
            "duplicates": r.duplicates,
            "rejected": r.rejected,
            "measurements": r.measurements,
            "new_characteristics": [c.name for c in r.new_characteristics],
            "rejects": [
                {"where": x.where, "kind": x.kind, "reason": x.reason}
                for x in r.records
                if x.status == "rejected"
            ],
            "failure": self.failure,
        }


def _one_file(uow: UnitOfWork, actor: Principal, run: _Run, path: Path) -> _Outcome:
    """Ingest one file with a progress bar; a file that cannot be read is an outcome too."""
    name = str(path)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(path.name, total=None)
        try:
            result = service.ingest_path(
                uow,
                path,
                actor=actor,
                format=run.format,
                options=run.options,
                target=run.target,
                batch_records=run.batch,
                progress=lambda n: bar.update(task, completed=n),
            )
        except (InvalidInput, NotFound) as error:
            return _Outcome(name, _stored_part(uow, actor, name), str(error))
    return _Outcome(name, result)


def _stored_part(uow: UnitOfWork, actor: Principal, name: str) -> service.IngestResult | None:
    """What a file that failed midway stored before it failed (its newest file row)."""
    page = service.list_files(uow, actor=actor, limit=1)
    row = page.items[0] if page.items else None
    if row is None or row.name != name or not row.inserted + row.duplicates:
        return None
    return service.IngestResult(
        file_id=row.id,
        name=row.name,
        format=row.format,
        inserted=row.inserted,
        duplicates=row.duplicates,
        rejected=row.rejected,
        measurements=0,
        new_characteristics=(),
        records=(),
    )


def _error_line(text: str) -> None:
    sys.stderr.write(" ".join(text.split()) + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Watching a drop folder


def _watch(run: _Run, folder: Path, interval: float, *, once: bool) -> int:
    """Take complete files from ``folder`` until Ctrl-C (or, with ``once``, those there now);
    the exit code: 2 when a file failed or held rejected records, else 0."""
    if not folder.is_dir():
        raise InvalidInput(f"--watch {folder}: not a folder")
    done, failed = folder / "done", folder / "failed"
    done.mkdir(exist_ok=True)
    failed.mkdir(exist_ok=True)
    uow, actor = context.session()
    code = 0
    seen: dict[Path, int] = {}
    try:
        while True:
            ready, seen = _complete_files(folder, seen)
            if once and not ready:
                time.sleep(interval)
                ready, seen = _complete_files(folder, seen)
            for path in ready:
                outcome = _one_file(uow, actor, run, path)
                code = max(code, _settle(outcome, path, done, failed))
            if once:
                return code
            time.sleep(interval)
    except KeyboardInterrupt:
        _error_line(f"stopped watching {folder}")
        return code


def _complete_files(folder: Path, seen: dict[Path, int]) -> tuple[list[Path], dict[Path, int]]:
    """The files whose size has not changed since the last poll, and the sizes seen now."""
    now = {p: p.stat().st_size for p in _dropped(folder)}
    ready = sorted(p for p, size in now.items() if seen.get(p) == size)
    return ready, {p: size for p, size in now.items() if p not in ready}


def _dropped(folder: Path) -> Iterator[Path]:
    for path in folder.iterdir():
        if path.is_file() and path.suffix.lower() in EXTENSIONS and not path.name.startswith("."):
            yield path


def _settle(outcome: _Outcome, path: Path, done: Path, failed: Path) -> int:
    """Move the file where its outcome says, print its line; its exit code."""
    if outcome.failure:
        moved = _move(path, failed)
        moved.with_name(moved.name + ".reason.txt").write_text(outcome.failure + "\n")
        _error_line(f"{path.name}: {outcome.failure} (moved to {moved})")
        return 2
    moved = _move(path, done)
    r = outcome.result
    assert r is not None
    sys.stdout.write(
        f"{path.name}: {r.inserted} inserted, {r.duplicates} already present, "
        f"{r.rejected} rejected (moved to {moved})\n"
    )
    return 2 if r.rejected else 0


def _move(path: Path, into: Path) -> Path:
    """Move ``path`` into the folder ``into``, never over a file already there."""
    target = into / path.name
    n = 1
    while target.exists():
        target = into / f"{path.stem}.{n}{path.suffix}"
        n += 1
    return Path(shutil.move(str(path), str(target)))


# --------------------------------------------------------------------------------------------
# Rejects


REJECT_COLUMNS = ("id", "file_id", "where", "kind", "reason", "source_id", "created_at")
EXPORT_COLUMNS = (*REJECT_COLUMNS, "resolved_at", "raw")


@ingest_app.command("rejects", help="List the stored rejected records, or export them to CSV.")
def ingest_rejects(
    file_id: int | None = typer.Option(None, "--file", help="Only the rejects of this file id."),
    unresolved: bool = typer.Option(
        False, "--unresolved", help="Leave out rejects a later ingest has stored."
    ),
    export: Path | None = typer.Option(
        None, "--export", help="Write every reject, with its raw text, to this CSV file."
    ),
    fmt: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", help="Output format: table, json or csv."
    ),
) -> None:
    uow, actor = context.session()
    rows = [
        {c: getattr(r, c) for c in EXPORT_COLUMNS}
        for r in _all_rejects(uow, actor, file_id, unresolved)
    ]
    if export is not None:
        with export.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
        _error_line(f"{len(rows)} rejects written to {export}")
        return
    columns = EXPORT_COLUMNS if fmt is not OutputFormat.TABLE else REJECT_COLUMNS
    emit_rows(rows, fmt, columns=list(columns), title="Rejected records")


def _all_rejects(
    uow: UnitOfWork, actor: Principal, file_id: int | None, unresolved: bool
) -> Iterator[Any]:
    offset = 0
    while True:
        page = service.list_rejects(
            uow,
            actor=actor,
            file_id=file_id,
            unresolved=unresolved,
            limit=MAX_PAGE,
            offset=offset,
        )
        yield from page.items
        offset += len(page.items)
        if not page.has_next or not page.items:
            return
