"""Pages of test data in: the import page and the ingest history.

``GET /ingest`` is the import page: files dropped on it or chosen, with their format (told from
the name and the first bytes unless given), the product and build for records that name none,
and for CSV the delimiter and the column names. ``POST /ingest/preview`` reads the first records
of each file and shows what the parser made of them and what the import would do with them
(``services.ingest.preview``, the import's own code in a transaction rolled back): which
characteristic each measurement name goes to and how (its name, an alias, its name whatever the
case, or a new one), which records would be inserted, already present or rejected and why.
``POST /ingest`` stores them (``services.ingest.ingest_stream``) and shows each file's result:
inserted, already present, rejected, with each reject's place and reason. The form is a plain
``multipart/form-data`` form (the CSRF token its first field) that works without script;
``static/js/ingest.js`` adds dropping files and sends it with HTMX, showing the upload's
progress.

An upload streams into temporary files as it arrives (``web/security.py`` bounds it by
``Settings.max_upload_bytes`` and checks its CSRF token), and each file is read from there in
batches: no file is held whole in memory.

``GET /ingest/files`` lists the files taken in, newest first, with their counts;
``GET /ingest/files/{id}`` shows one file and its rejects.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePosixPath
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import InvalidInput, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import unstorable_reason
from phasegate.ingest import reader
from phasegate.ingest.records import (
    DefectIn,
    Parsed,
    Rejected,
    StationPassIn,
    Target,
    TestRunIn,
)
from phasegate.ingest.tables import CsvOptions
from phasegate.services import ingest
from phasegate.services.paging import MAX_ID
from phasegate.store.uow import UnitOfWork
from phasegate.web.auth import actor
from phasegate.web.rendering import is_htmx, render, url_with
from phasegate.web.routes import (
    PAGE_DEPENDENCIES,
    Digits,
    PageNumber,
    needs,
    offset_of,
    page_param,
    page_uow,
)
from phasegate.web.security import max_upload_bytes

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

INGEST = needs(Action.INGEST, Kind.TEST_DATA)
READ = needs(Action.READ, Kind.TEST_DATA)

FileId = Annotated[int, Digits, Path(ge=1, le=MAX_ID)]

FORMATS = ("auto", *reader.FORMATS)
FORMAT_LABELS = {
    "auto": "Tell from the file",
    "openhtf": "OpenHTF test record (JSON)",
    "csv": "CSV, one row per measurement",
    "csv-wide": "CSV, one row per unit",
    "json": "phasegate test-data document (JSON)",
    "passes": "Station passes (CSV or JSON)",
    "defects": "Defects (CSV)",
}
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "bar": "|"}
MAX_FILES = 20
MAX_FIELD = 2000  # characters of a text field of the form
FORM_FIELDS = ("csrftoken", "files", "format", "product", "build", "delimiter", "columns")
PREVIEW_ITEMS = 200
"""Records a preview reads of each file."""
PREVIEW_SHOWN = 10
"""Records a preview lists."""
SHOWN_REJECTS = 100
"""Rejects an import's result lists per file; the file's page lists them all."""
FILES_PER_PAGE = 25
REJECTS_PER_PAGE = 50


def size_text(size: int | None) -> str:
    """A size in bytes for a person: ``812 B``, ``14.2 KiB``, ``3.1 MiB``, ``512 MiB``."""
    if size is None:
        return "—"
    units = ("B", "KiB", "MiB", "GiB")
    value, step = float(size), 0
    while value >= 1024 and step < len(units) - 1:
        value, step = value / 1024, step + 1
    digits = 0 if step == 0 or value >= 100 or value.is_integer() else 1
    return f"{value:,.{digits}f} {units[step]}"


# --- the form ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choices:
    """What the form says about how to read the files, as the person wrote it."""

    format: str = "auto"
    product: str = ""
    build: str = ""
    delimiter: str = "comma"
    columns: str = ""

    @property
    def target(self) -> Target:
        return Target(self.product or None, self.build or None)

    def options(self) -> CsvOptions:
        return CsvOptions(columns=_column_map(self.columns), delimiter=DELIMITERS[self.delimiter])


def _column_map(text: str) -> dict[str, str]:
    """``serial=SN, value=Reading`` as ``{"serial": "SN", "value": "Reading"}``."""
    mapped: dict[str, str] = {}
    for piece in text.replace("\n", ",").split(","):
        if not piece.strip():
            continue
        ours, sep, theirs = (p.strip() for p in piece.partition("="))
        if not sep or not ours or not theirs:
            raise invalid("columns", f"{piece.strip()!r} is not of the form name=column")
        mapped[ours] = theirs
    return mapped


def _text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(name, "must be text, not a file")
    problem = unstorable_reason(value) or (
        f"is {len(value)} characters long; at most {MAX_FIELD}" if len(value) > MAX_FIELD else None
    )
    if problem is not None:
        raise invalid(name, problem)
    return value.strip()


def _choices(form: FormData) -> Choices:
    unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
    if unknown:
        raise invalid(unknown[0], f"is not a field of the import form ({', '.join(FORM_FIELDS)})")
    choices = Choices(
        format=_text(form, "format", "auto") or "auto",
        product=_text(form, "product"),
        build=_text(form, "build"),
        delimiter=_text(form, "delimiter", "comma") or "comma",
        columns=_text(form, "columns"),
    )
    if choices.format not in FORMATS:
        raise invalid("format", f"must be one of {', '.join(FORMATS)}, not {choices.format!r}")
    if choices.delimiter not in DELIMITERS:
        raise invalid("delimiter", f"must be one of {', '.join(DELIMITERS)}")
    choices.options()  # an unreadable column mapping is refused now, not per file
    return choices


@dataclass(frozen=True, slots=True)
class Upload:
    """One file of the form: its name (without any folder) and its bytes, in a temporary file."""

    name: str
    file: BinaryIO


def _uploads(form: FormData) -> list[Upload]:
    uploads = []
    for value in form.getlist("files"):
        if not isinstance(value, UploadFile):
            raise invalid("files", "must be files")
        name = PurePosixPath((value.filename or "").replace("\\", "/")).name.strip()
        if not name:
            continue  # the empty part a browser sends when no file was chosen
        if unstorable_reason(name) is not None or len(name) > 300:
            raise invalid("files", "a file name must be text of at most 300 characters")
        uploads.append(Upload(name, value.file))
    if not uploads:
        raise invalid("files", "choose or drop at least one file")
    return uploads


async def _read_form(request: Request) -> FormData:
    """The form, its files streamed to temporary files (Starlette's form parser)."""
    return await request.form(
        max_files=MAX_FILES, max_fields=len(FORM_FIELDS) + 4, max_part_size=64 * 1024
    )


# --- importing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileResult:
    """What became of one uploaded file: its result, or why it could not be read at all."""

    name: str
    size: int
    result: ingest.IngestResult | None
    error: str = ""

    @property
    def rejects(self) -> tuple[ingest.RecordResult, ...]:
        if self.result is None:
            return ()
        found = (r for r in self.result.records if r.status == "rejected")
        return tuple(islice(found, SHOWN_REJECTS))

    @property
    def all_present(self) -> bool:
        """Every record of the file was stored already: sending it again changed nothing."""
        r = self.result
        return r is not None and r.total > 0 and r.duplicates == r.total


def _size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _import(uow: UnitOfWork, who: Principal, upload: Upload, choices: Choices) -> FileResult:
    size = _size(upload.file)
    try:
        result = ingest.ingest_stream(
            uow,
            upload.file,
            name=upload.name,
            actor=who,
            format=choices.format,
            options=choices.options(),
            target=choices.target,
        )
    except InvalidInput as error:
        return FileResult(upload.name, size, None, error.message)
    return FileResult(upload.name, size, result)


# --- previewing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordSeen:
    """A record as the parser read it, for the preview."""

    where: str
    kind: str
    serial: str
    station: str | None
    at: Any  # the start, or when a defect was found
    outcome: Outcome | None
    what: str  # the procedure, the defect code
    measurements: int
    target: Target


@dataclass(slots=True)
class NameSeen:
    """A measurement name in the records previewed, with the unit and limits it came with."""

    name: str
    unit: str
    lsl: float | None
    usl: float | None
    count: int = 0


@dataclass(frozen=True, slots=True)
class Preview:
    """The first records of one file as the parser read them; nothing is stored."""

    name: str
    size: int
    format: str
    columns: tuple[str, ...]
    records: tuple[RecordSeen, ...]
    names: tuple[NameSeen, ...]
    rejects: tuple[Rejected, ...]
    read: int  # items read (records and rejects)
    more: bool  # the file holds more than were read
    error: str = ""
    kinds: Mapping[str, int] = field(default_factory=dict)
    would: ingest.Preview | None = None  # what the import would do with the records read

    @property
    def would_reject(self) -> tuple[ingest.RecordResult, ...]:
        if self.would is None:
            return ()
        found = (r for r in self.would.records if r.status == "rejected")
        return tuple(islice(found, SHOWN_REJECTS))


def _columns(upload: Upload, fmt: str, options: CsvOptions) -> tuple[str, ...]:
    """The header of a delimited file, as it is written."""
    if fmt in ("openhtf", "json") or (fmt == "passes" and _looks_json(upload)):
        return ()
    head = upload.file.read(reader.HEAD)
    upload.file.seek(0)
    first = head.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0]
    line = first.decode(options.encoding, "replace").rstrip("\r")
    return tuple(next(csv.reader([line], delimiter=options.delimiter), []))


def _looks_json(upload: Upload) -> bool:
    head = upload.file.read(64)
    upload.file.seek(0)
    return head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1] in (b"{", b"[")


def _seen(item: TestRunIn | StationPassIn | DefectIn) -> RecordSeen:
    if isinstance(item, TestRunIn):
        return RecordSeen(
            item.where,
            "test run",
            item.serial,
            item.station,
            item.started_at,
            item.outcome,
            item.procedure,
            len(item.measurements),
            item.target,
        )
    if isinstance(item, StationPassIn):
        return RecordSeen(
            item.where,
            "station pass",
            item.serial,
            item.station,
            item.started_at,
            item.result,
            f"attempt {item.attempt}",
            0,
            item.target,
        )
    return RecordSeen(
        item.where,
        "defect",
        item.serial,
        item.station,
        item.found_at,
        None,
        item.code,
        0,
        item.target,
    )


def _read_some(upload: Upload, fmt: str, options: CsvOptions) -> tuple[list[Parsed], bool]:
    stream: Iterator[Parsed] = reader.read_stream(
        upload.file, name=upload.name, format=fmt, options=options
    )
    try:
        items = list(islice(stream, PREVIEW_ITEMS + 1))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return items[:PREVIEW_ITEMS], len(items) > PREVIEW_ITEMS


def _preview(uow: UnitOfWork, who: Principal, upload: Upload, choices: Choices) -> Preview:
    size = _size(upload.file)
    options = choices.options()
    fmt = choices.format
    try:
        if fmt == "auto":
            head = upload.file.read(reader.HEAD)
            upload.file.seek(0)
            fmt = reader.detect_format(upload.name, head, options=options)
        columns = _columns(upload, fmt, options)
        items, more = _read_some(upload, fmt, options)
        upload.file.seek(0)
        would = ingest.preview_stream(
            uow,
            upload.file,
            name=upload.name,
            actor=who,
            format=fmt,
            options=options,
            target=choices.target,
            limit=PREVIEW_ITEMS,
        )
    except InvalidInput as error:
        return Preview(
            name=upload.name,
            size=size,
            format=fmt,
            columns=(),
            records=(),
            names=(),
            rejects=(),
            read=0,
            more=False,
            error=error.message,
        )
    records = [i for i in items if not isinstance(i, Rejected)]
    names: dict[str, NameSeen] = {}
    kinds: dict[str, int] = {}
    for record in records:
        seen = _seen(record)
        kinds[seen.kind] = kinds.get(seen.kind, 0) + 1
        if isinstance(record, TestRunIn):
            for m in record.measurements:
                names.setdefault(m.name, NameSeen(m.name, m.unit, m.lsl, m.usl)).count += 1
    return Preview(
        name=upload.name,
        size=size,
        format=fmt,
        columns=columns,
        records=tuple(_seen(r) for r in records[:PREVIEW_SHOWN]),
        names=tuple(names.values()),
        rejects=tuple(i for i in items if isinstance(i, Rejected)),
        read=len(items),
        more=more,
        kinds=kinds,
        would=would,
    )


# --- the pages --------------------------------------------------------------------------------


def _page(
    request: Request,
    choices: Choices,
    *,
    results: list[FileResult] | None = None,
    previews: list[Preview] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "nav": "ingest",
        "choices": choices,
        "formats": [(f, FORMAT_LABELS.get(f, f)) for f in FORMATS],
        "delimiters": list(DELIMITERS),
        "max_upload": max_upload_bytes(request.scope),
        "max_files": MAX_FILES,
        "results": results,
        "previews": previews,
        "error": error,
        "size": size_text,
        "htmx": is_htmx(request),
    }
    template = "partials/ingest_outcome.html" if is_htmx(request) else "import.html"
    return render(request, template, context, status_code=status_code)


@router.get("/ingest", name="ingest", openapi_extra=INGEST)
def import_page(request: Request) -> Response:
    return _page(request, Choices())


async def _submitted(request: Request) -> tuple[FormData, Choices, list[Upload]] | Response:
    """The form read, or the import page again saying what is wrong with it."""
    form = await _read_form(request)
    try:
        choices = _choices(form)
    except InvalidInput as error:
        await form.close()
        return _page(request, Choices(), error=error.message, status_code=400)
    try:
        uploads = _uploads(form)
    except InvalidInput as error:
        await form.close()
        return _page(request, choices, error=error.message, status_code=400)
    return form, choices, uploads


async def _each_upload(
    request: Request, run: Callable[..., Any]
) -> tuple[Choices, list[Any]] | Response:
    """Run ``run(uow, user, upload, choices)`` off the event loop for each uploaded file and
    close the form (its temporary files) whatever happens; the page to show instead when the
    form is unusable."""
    who = actor(request)
    submitted = await _submitted(request)
    if isinstance(submitted, Response):
        return submitted
    form, choices, uploads = submitted
    uow = page_uow(request)
    try:
        answers = [await run_in_threadpool(run, uow, who, u, choices) for u in uploads]
    finally:
        await form.close()
    return choices, answers


@router.post("/ingest", name="ingest_files", openapi_extra=INGEST)
async def import_files(request: Request) -> Response:
    done = await _each_upload(request, _import)
    if isinstance(done, Response):
        return done
    choices, results = done
    return _page(request, choices, results=results)


@router.post("/ingest/preview", name="ingest_preview", openapi_extra=INGEST)
async def preview_files(request: Request) -> Response:
    done = await _each_upload(request, _preview)
    if isinstance(done, Response):
        return done
    choices, previews = done
    return _page(request, choices, previews=previews)


@router.get("/ingest/files", name="ingest_history", openapi_extra=READ)
def history_page(request: Request, page: PageNumber = 1) -> Response:
    files = ingest.list_files(
        page_uow(request),
        actor=actor(request),
        limit=FILES_PER_PAGE,
        offset=offset_of(page, FILES_PER_PAGE),
    )
    context = {"files": files, "base": "/ingest/files", "filters": {}, "size": size_text}
    if is_htmx(request):
        push = url_with("/ingest/files", page=page_param(page))
        return render(
            request, "partials/ingest_files_table.html", context, headers={"HX-Push-Url": push}
        )
    return render(request, "ingest_history.html", {**context, "nav": "ingest"})


@router.get("/ingest/files/{id}", name="ingest_file", openapi_extra=READ)
def file_page(request: Request, id: FileId, page: PageNumber = 1) -> Response:
    uow = page_uow(request)
    who = actor(request)
    found = ingest.get_file(uow, id, actor=who)
    rejects = ingest.list_rejects(
        uow,
        actor=who,
        file_id=id,
        limit=REJECTS_PER_PAGE,
        offset=offset_of(page, REJECTS_PER_PAGE),
    )
    base = f"/ingest/files/{id}"
    context = {"file": found, "rejects": rejects, "base": base, "filters": {}, "size": size_text}
    if is_htmx(request):
        push = url_with(base, page=page_param(page))
        return render(
            request, "partials/ingest_rejects_table.html", context, headers={"HX-Push-Url": push}
        )
    return render(request, "ingest_file.html", {**context, "nav": "ingest"})
