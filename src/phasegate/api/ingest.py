"""Test data in: test runs, station passes and defects as JSON, files as uploads, the history.

``POST /test-runs``, ``/station-passes`` and ``/defects`` take one record, ``{"product"?,
"build"?, "records": [...]}`` or a JSON array of records, each in the shape of its definition in
the native JSON Schema (``docs/schemas/test-data.schema.json``). Each record is read on its own
(``ingest.native``): one that does not fit is rejected with the reason and the others go on.
The answer lists every record with its index in the request: ``inserted``, ``duplicate``
(its source id is stored already: nothing changed) or ``rejected`` with the reason. 200 when
at least one record is stored or was already; 422 in the error shape when none is (the body is
unusable, or every record was rejected: ``fields`` names each).

``POST /ingest/files`` takes a file as ``multipart/form-data`` (``file``, and ``format``,
``product``, ``build``), streamed to a temporary file as it arrives (``api/limits.py`` bounds it
by ``Settings.max_upload_bytes``), stores it with ``services.ingest.ingest_stream`` and answers
the file's counts and its first rejects. ``POST /ingest/preview`` takes the same form and
answers what the import of the file's first records would do (``services.ingest.preview``):
each record's status and each measurement name's characteristic; nothing is stored. The
history is ``GET /ingest/files``; a file's rejects ``GET /ingest/files/{id}/rejects``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import Message as MediaType
from pathlib import PurePosixPath
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS, error_responses
from phasegate.api.resources import IdPath, page_of
from phasegate.api.schemas import Output, Page
from phasegate.api.types import MAX_OFFSET
from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.domain.text import unstorable_reason
from phasegate.ingest import native, reader
from phasegate.ingest.documents import dump
from phasegate.ingest.records import Parsed, Rejected, Target
from phasegate.ingest.tables import CsvOptions
from phasegate.services import ingest
from phasegate.services.paging import MAX_PAGE
from phasegate.store.uow import UnitOfWork

router = APIRouter(tags=["Ingest"], route_class=GuardedRoute)

MAX_RECORDS = 1000
"""The most records one request takes; more go in a file upload."""

MAX_SHOWN_REJECTS = 100
"""The rejects an answer lists; the rest are at ``GET /ingest/files/{id}/rejects``."""

UPLOAD_FORMATS = ("auto", *reader.FORMATS)
UPLOAD_FIELDS = ("file", "format", "product", "build", "delimiter", "column")
MAX_COLUMNS = 100  # column mappings of one upload
MAX_KEY = 200  # the schema's longest product key or build code

INGEST = {PERMISSION_KEY: permission(Action.INGEST, Kind.TEST_DATA)}
READ = {PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)}
INGEST_ERRORS = error_responses(401, 403, 413, 415, 422, 503)


# --- answers ----------------------------------------------------------------------------------


class RecordResultOut(BaseModel):
    index: int = Field(description="The record's place in the request, from 0.")
    status: Literal["inserted", "duplicate", "rejected"]
    source_id: str | None = Field(
        description="The record's source id (its own, or derived from serial, station and "
        "start); null for a record that could not be read."
    )
    reason: str = Field("", description="Why the record was rejected; empty otherwise.")


class NewCharacteristicOut(BaseModel):
    product: str = Field(description="The product's key.")
    name: str
    id: int


class IngestOut(BaseModel):
    """What became of the records of one request."""

    file_id: int = Field(description="The request's entry in the ingest history.")
    inserted: int
    duplicates: int = Field(description="Records stored already: nothing changed.")
    rejected: int
    new_characteristics: list[NewCharacteristicOut] = Field(
        description="Characteristics made for measurement names no characteristic had."
    )
    records: list[RecordResultOut]


class RejectShownOut(BaseModel):
    where: str = Field(description="file:line or file#/json/pointer.")
    reason: str


class FileIngestOut(BaseModel):
    """What became of the records of one uploaded file."""

    file_id: int = Field(description="The file's entry in the ingest history.")
    name: str
    format: str
    size: int = Field(description="Bytes of the file.")
    inserted: int
    duplicates: int = Field(description="Records stored already: nothing changed.")
    rejected: int
    measurements: int = Field(description="Measurements of the inserted test runs.")
    new_characteristics: list[NewCharacteristicOut]
    rejects: list[RejectShownOut] = Field(
        description=f"The first {MAX_SHOWN_REJECTS} rejected records, in file order."
    )


class PreviewRecordOut(BaseModel):
    where: str = Field(description="file:line or file#/json/pointer.")
    kind: str = Field(description="test_run, station_pass, defect, or unreadable.")
    status: Literal["inserted", "duplicate", "rejected"] = Field(
        description="What the import would do with it."
    )
    source_id: str | None
    reason: str = Field("", description="Why it would be rejected; empty otherwise.")


class NameMappingOut(BaseModel):
    product: str = Field(description="The product's key.")
    name: str = Field(description="The measurement name as the file writes it.")
    how: Literal["name", "alias", "case", "new"] = Field(
        description="name: a characteristic has this exact name; alias: an alias of the "
        "product; case: a characteristic's name whatever the case; new: a characteristic "
        "(not critical to quality) would be made for it."
    )
    characteristic: str = Field(description="The characteristic's name.")
    characteristic_id: int | None = Field(description="Null for a new characteristic.")
    count: int = Field(description="Measurements with this name in the records previewed.")


class PreviewOut(BaseModel):
    """What an import of the file's first records would do; nothing is stored."""

    name: str
    format: str
    read: int = Field(description="Records read (at most the preview's limit).")
    more: bool = Field(description="The file holds more records than were read.")
    inserted: int
    duplicates: int = Field(description="Records stored already.")
    rejected: int
    measurements: int = Field(description="Measurements of the records that would be inserted.")
    records: list[PreviewRecordOut]
    mapping: list[NameMappingOut]


class IngestFileOut(Output):
    """One file or request of test data taken in."""

    id: int
    name: str
    format: str
    sha256: str = Field(description="SHA-256 of the file; empty for a request.")
    size: int | None
    actor: str = Field(description="Who sent it.")
    partner_id: int | None
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    inserted: int
    duplicates: int
    rejected: int
    status: str = Field(description="running, done or failed.")


class IngestRejectOut(Output):
    """A record or part of a file that was not stored."""

    id: int
    file_id: int
    where: str = Field(description="file:line or file#/json/pointer.")
    kind: str = Field(description="test_run, station_pass, defect, unreadable or file.")
    reason: str
    raw: str = Field(description="What it held, cut to a readable length.")
    source_id: str | None
    created_at: AwareDatetime
    resolved_at: AwareDatetime | None = Field(description="When a later ingest stored it.")


def _new_characteristics(result: ingest.IngestResult) -> list[NewCharacteristicOut]:
    return [
        NewCharacteristicOut(product=c.product, name=c.name, id=c.id)
        for c in result.new_characteristics
    ]


# --- the request bodies in the OpenAPI document ----------------------------------------------


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/...`` reference replaced by its definition (the native
    schema has no recursive definition), so it stands alone inside the OpenAPI document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inlined(defs[ref.removeprefix("#/$defs/")], defs)
            rest = {k: _inlined(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inlined(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inlined(v, defs) for v in node]
    return node


def _record_schema(definition: str) -> dict[str, Any]:
    defs = native.schema()["$defs"]
    inlined: dict[str, Any] = _inlined(copy.deepcopy(defs[definition]), defs)
    return inlined


def _records_body(definition: str, noun: str) -> dict[str, Any]:
    record = _record_schema(definition)
    key = _record_schema("key")
    records = {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": record}
    batch = {
        "type": "object",
        "title": f"A batch of {noun}",
        "required": ["records"],
        "additionalProperties": False,
        "properties": {
            "product": {**key, "description": "Product key for the records that name none."},
            "build": {**key, "description": "Build code for the records that name none."},
            "records": records,
        },
    }
    schema = {"oneOf": [{**record, "title": f"One {noun[:-1]}"}, batch, records]}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "contentMediaType": "application/octet-stream",
                        "description": "The file: OpenHTF JSON, CSV (long or wide), the native "
                        "JSON document, station passes (CSV or JSON) or defects (CSV).",
                    },
                    "format": {
                        "type": "string",
                        "enum": list(UPLOAD_FORMATS),
                        "default": "auto",
                        "description": "The file's format; auto tells it from the name and "
                        "the first bytes.",
                    },
                    "product": {
                        "type": "string",
                        "maxLength": MAX_KEY,
                        "description": "Product key for the records that name none.",
                    },
                    "build": {
                        "type": "string",
                        "maxLength": MAX_KEY,
                        "description": "Build code for the records that name none.",
                    },
                    "delimiter": {
                        "type": "string",
                        "description": "The CSV delimiter: one character, or tab (default ,).",
                    },
                    "column": {
                        "type": "array",
                        "maxItems": MAX_COLUMNS,
                        "items": {"type": "string", "maxLength": 2 * MAX_KEY},
                        "description": "Maps a column of a CSV, NAME=HEADER (serial=SN): the "
                        "file's HEADER holds what phasegate calls NAME. Repeat for each column.",
                    },
                },
            }
        }
    },
}


# --- records as JSON --------------------------------------------------------------------------

Parser = Callable[..., Parsed]


@dataclass(frozen=True, slots=True)
class _Request:
    """A records body read: where each record sits (its ``loc`` for an error), and the target."""

    records: list[Any]
    locs: list[str]
    target: Target


def _key(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: must be a non-empty text", [FieldError(name, "not a text")])
    problem = unstorable_reason(value) or (
        f"is {len(value)} characters long; at most {MAX_KEY}" if len(value) > MAX_KEY else None
    )
    if problem is not None:
        raise InvalidInput(f"{name}: {problem}", [FieldError(name, problem)])
    return value


def _read_body(body: Any) -> _Request:
    """The records of a body: one record, a batch object or an array; 422 when unusable."""
    if isinstance(body, list):
        return _checked(_Request(body, [str(i) for i in range(len(body))], Target()), "body")
    if not isinstance(body, dict):
        problem = "must be a record, an object with records, or an array of records"
        raise InvalidInput(f"body: {problem}", [FieldError("body", problem)])
    if "records" not in body:
        return _Request([body], ["body"], Target())
    unknown = sorted(set(body) - {"product", "build", "records"})
    if unknown:
        problem = "is not a member of a batch (product, build, records)"
        raise InvalidInput(
            f"{unknown[0]}: {problem}", [FieldError(name, problem) for name in unknown]
        )
    records = body["records"]
    if not isinstance(records, list):
        raise InvalidInput("records: must be an array", [FieldError("records", "not an array")])
    target = Target(_key(body, "product"), _key(body, "build"))
    locs = [f"records.{i}" for i in range(len(records))]
    return _checked(_Request(records, locs, target), "records")


def _checked(request: _Request, loc: str) -> _Request:
    count = len(request.records)
    problem = (
        "is empty: send at least one record"
        if count == 0
        else f"holds {count} records; at most {MAX_RECORDS} per request (upload a file for more)"
        if count > MAX_RECORDS
        else None
    )
    if problem is not None:
        raise InvalidInput(f"{loc}: {problem}", [FieldError(loc, problem)])
    return request


def _where(source: str, loc: str) -> str:
    """A record's place as the rejects show it: ``POST /api/v1/test-runs#/records/3``."""
    return source if loc == "body" else f"{source}#/{loc.replace('.', '/')}"


def _unstorable(obj: Any) -> str | None:
    """Where and why a record holds text no database can store (a NUL, a lone surrogate)."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, str):
            reason = unstorable_reason(node)
            if reason is not None:
                return f"at {pointer or '/'}: text {reason}"
        elif isinstance(node, dict):
            for key, value in node.items():
                reason = unstorable_reason(str(key))
                if reason is not None:
                    return f"at {pointer or '/'}: a member name {reason}"
                stack.append((f"{pointer}/{key}", value))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", value) for i, value in enumerate(node))
    return None


def _parsed(request: _Request, parse: Parser, source: str) -> Iterator[Parsed]:
    for obj, loc in zip(request.records, request.locs, strict=True):
        where = _where(source, loc)
        problem = _unstorable(obj)
        if problem is not None:
            yield Rejected(where, problem, dump(obj))
        else:
            yield parse(obj, where=where, target=request.target)


def _answer(result: ingest.IngestResult, locs: Sequence[str]) -> IngestOut:
    """The per-record answer; 422 when not one record is stored."""
    records = [
        RecordResultOut(index=i, status=r.status, source_id=r.source_id, reason=r.reason)
        for i, r in enumerate(result.records)
    ]
    if result.inserted + result.duplicates == 0:
        rejected = [
            (locs[r.index] if r.index < len(locs) else str(r.index), r.reason)
            for r in records
            if r.status == "rejected"
        ]
        raise _none_stored(result, rejected)
    return IngestOut(
        file_id=result.file_id,
        inserted=result.inserted,
        duplicates=result.duplicates,
        rejected=result.rejected,
        new_characteristics=_new_characteristics(result),
        records=records,
    )


def _none_stored(result: ingest.IngestResult, rejected: Sequence[tuple[str, str]]) -> InvalidInput:
    shown = rejected[:MAX_SHOWN_REJECTS]
    first = f": {shown[0][0]}: {shown[0][1]}" if len(shown) == 1 else ""
    listed = (
        f"; GET /api/v1/ingest/files/{result.file_id}/rejects lists them" if result.rejected else ""
    )
    return InvalidInput(
        f"no record was stored: {result.rejected} rejected{first}{listed}",
        [FieldError(loc, reason) for loc, reason in shown],
    )


def _records_route(path: str, kind: str, definition: str, parse: Parser) -> None:
    noun = kind.replace("_", " ") + "s"
    source = f"POST /api/v1{path}"

    def take(body: Annotated[Any, Body()], uow: Uow, actor: Acting) -> Any:
        request = _read_body(body)
        result = ingest.ingest_records(
            uow,
            _parsed(request, parse, source),
            actor=actor,
            source_name=source,
            format="json",
            target=request.target,
        )
        return _answer(result, request.locs)

    take.__name__ = f"ingest_{kind}s"
    router.add_api_route(
        path,
        take,
        methods=["POST"],
        response_model=IngestOut,
        summary=f"Send {noun}",
        description=f'One {noun[:-1]}, `{{"records": [...]}}` (with `product` and `build` for '
        f"the records that name none) or an array of {noun}, at most {MAX_RECORDS}. Each "
        "record is read and stored on its own: the answer gives each its status, `inserted`, "
        "`duplicate` (its source id is stored already: nothing changed) or `rejected` with the "
        "reason (kept in the ingest history). 200 when at least one record is stored or was "
        "already; 422 when none is, `fields` naming each rejected record.",
        operation_id=f"ingest_{kind}s",
        responses=INGEST_ERRORS,
        openapi_extra={**INGEST, "requestBody": _records_body(definition, noun)},
    )


_records_route("/test-runs", "test_run", "test_run", native.parse_test_run)
_records_route("/station-passes", "station_pass", "station_pass", native.parse_station_pass)
_records_route("/defects", "defect", "defect", native.parse_defect)


# --- file uploads -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Upload:
    file: BinaryIO
    name: str
    format: str
    target: Target
    options: CsvOptions | None


def _is_multipart(request: Request) -> bool:
    parsed = MediaType()
    parsed["content-type"] = request.headers.get("content-type", "")
    return parsed.get_content_type() == "multipart/form-data"


async def _form(request: Request) -> FormData:
    if not _is_multipart(request):
        shown = request.headers.get("content-type")
        raise HTTPException(
            415,
            "a file is uploaded as multipart/form-data (a `file` part), not "
            + (repr(shown) if shown else "a body without a Content-Type"),
        )
    try:
        return await request.form(
            max_files=1, max_fields=len(UPLOAD_FIELDS) + MAX_COLUMNS, max_part_size=64 * 1024
        )
    except HTTPException as error:
        if error.status_code != 400:
            raise
        problem = f"is not a readable multipart/form-data body: {error.detail}"
        raise InvalidInput(f"body: {problem}", [FieldError("body", problem)]) from None


def _text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be a text", [FieldError(name, "must be a text")])
    problem = unstorable_reason(value) or (
        f"is {len(value)} characters long; at most {MAX_KEY}" if len(value) > MAX_KEY else None
    )
    if problem is not None:
        raise InvalidInput(f"{name}: {problem}", [FieldError(name, problem)])
    return value


def _upload(form: FormData) -> _Upload:
    unknown = sorted(set(form.keys()) - set(UPLOAD_FIELDS))
    if unknown:
        problem = f"is not a field of an upload ({', '.join(UPLOAD_FIELDS)})"
        raise InvalidInput(f"{unknown[0]}: {problem}", [FieldError(n, problem) for n in unknown])
    file = form.get("file")
    if not isinstance(file, UploadFile):
        problem = "is required: a file part (Content-Disposition with a filename)"
        raise InvalidInput(f"file: {problem}", [FieldError("file", problem)])
    fmt = _text_field(form, "format") or "auto"
    if fmt not in UPLOAD_FORMATS:
        problem = f"must be one of {', '.join(UPLOAD_FORMATS)}, not {fmt!r}"
        raise InvalidInput(f"format: {problem}", [FieldError("format", problem)])
    name = PurePosixPath((file.filename or "").replace("\\", "/")).name.strip() or "upload"
    if unstorable_reason(name) is not None or len(name) > 300:
        problem = "the file name must be text of at most 300 characters without NUL"
        raise InvalidInput(f"file: {problem}", [FieldError("file", problem)])
    target = Target(_text_field(form, "product"), _text_field(form, "build"))
    return _Upload(file.file, name, fmt, target, _csv_options(form))


def _csv_options(form: FormData) -> CsvOptions | None:
    """The CSV options of an upload (as ``phasegate ingest --delimiter --column`` takes them)."""
    delimiter = _text_field(form, "delimiter")
    items = form.getlist("column")
    if delimiter is None and not items:
        return None
    sep = {"tab": "\t", "\\t": "\t"}.get(delimiter or ",", delimiter or ",")
    if len(sep) != 1 or sep in '\r\n"':
        problem = f"must be one character (or tab), not {delimiter!r}"
        raise InvalidInput(f"delimiter: {problem}", [FieldError("delimiter", problem)])
    if len(items) > MAX_COLUMNS:
        problem = f"is given {len(items)} times; at most {MAX_COLUMNS}"
        raise InvalidInput(f"column: {problem}", [FieldError("column", problem)])
    columns: dict[str, str] = {}
    for item in items:
        text = item if isinstance(item, str) else ""
        name, equals, header = text.partition("=")
        if not (equals and name.strip() and header.strip()) or unstorable_reason(text):
            problem = f"write NAME=HEADER, e.g. serial=SN, not {text[:80]!r}"
            raise InvalidInput(f"column: {problem}", [FieldError("column", problem)])
        columns[name.strip()] = header.strip()
    return CsvOptions(columns=columns, delimiter=sep)


def _size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _ingest_upload(uow: UnitOfWork, actor: Any, upload: _Upload) -> FileIngestOut:
    size = _size(upload.file)
    result = ingest.ingest_stream(
        uow,
        upload.file,
        name=upload.name,
        actor=actor,
        format=upload.format,
        options=upload.options,
        target=upload.target,
    )
    rejects = [(r.where, r.reason) for r in result.records if r.status == "rejected"]
    if result.inserted + result.duplicates == 0:
        if result.total == 0:
            problem = f"{upload.name}: the file holds no records"
            raise InvalidInput(problem, [FieldError("file", problem)])
        raise _none_stored(result, rejects)
    return FileIngestOut(
        file_id=result.file_id,
        name=result.name,
        format=result.format,
        size=size,
        inserted=result.inserted,
        duplicates=result.duplicates,
        rejected=result.rejected,
        measurements=result.measurements,
        new_characteristics=_new_characteristics(result),
        rejects=[RejectShownOut(where=w, reason=r) for w, r in rejects[:MAX_SHOWN_REJECTS]],
    )


@router.post(
    "/ingest/files",
    response_model=FileIngestOut,
    summary="Upload a file of test data",
    description="A file as `multipart/form-data`: the `file` part, and optionally its `format` "
    "(auto tells it from the name and the first bytes), the `product` and `build` for "
    "records that name none, and for a CSV its `delimiter` and `column` mappings "
    "(`serial=SN`, repeated). The upload is at most `PHASEGATE_MAX_UPLOAD_BYTES` (413 "
    "otherwise); it is written to a temporary file as it arrives and read in batches. The "
    "answer counts the records inserted, already present and rejected, and lists the first "
    f"{MAX_SHOWN_REJECTS} rejects (all at `GET /ingest/files/{{id}}/rejects`). 200 when at "
    "least one record is stored or was already; 422 when the file cannot be read, holds no "
    "records, or every record was rejected.",
    operation_id="upload_ingest_file",
    responses=INGEST_ERRORS,
    openapi_extra={**INGEST, "requestBody": UPLOAD_BODY},
)
async def upload_ingest_file(request: Request, uow: Uow, actor: Acting) -> Any:
    return await _with_upload(request, uow, actor, _ingest_upload)


def _preview_upload(uow: UnitOfWork, actor: Any, upload: _Upload) -> PreviewOut:
    seen = ingest.preview_stream(
        uow,
        upload.file,
        name=upload.name,
        actor=actor,
        format=upload.format,
        options=upload.options,
        target=upload.target,
    )
    return PreviewOut.model_validate(seen, from_attributes=True)


async def _with_upload(
    request: Request, uow: UnitOfWork, actor: Any, run: Callable[..., Any]
) -> Any:
    """Read the multipart form, run ``run(uow, actor, upload)`` off the event loop, and close
    the form (its temporary file) whatever happens."""
    form = await _form(request)
    try:
        return await run_in_threadpool(run, uow, actor, _upload(form))
    finally:
        await form.close()


@router.post(
    "/ingest/preview",
    response_model=PreviewOut,
    summary="Preview the import of a file",
    description="The same `multipart/form-data` as `POST /ingest/files`. The first "
    f"{ingest.PREVIEW_RECORDS} records of the file go through the import's own checks and "
    "look-ups in a transaction that is rolled back: the answer says what the import would do "
    "with each (inserted, duplicate, rejected with the reason) and where each measurement "
    "name would go (a characteristic by its name, an alias, its name whatever the case, or a "
    "new one). Nothing is stored and nothing enters the ingest history. 422 when the file "
    "cannot be read.",
    operation_id="preview_ingest_file",
    responses=INGEST_ERRORS,
    openapi_extra={**INGEST, "requestBody": UPLOAD_BODY},
)
async def preview_ingest_file(request: Request, uow: Uow, actor: Acting) -> Any:
    return await _with_upload(request, uow, actor, _preview_upload)


# --- the history ------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get(
    "/ingest/files",
    response_model=Page[IngestFileOut],
    summary="List the files taken in",
    description="Files and requests of test data, newest first, with their counts; a partner "
    "user's token sees its partner's only.",
    operation_id="list_ingest_files",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def list_ingest_files(uow: Uow, actor: Acting, limit: Limit = 50, offset: Offset = 0) -> Any:
    return page_of(IngestFileOut, ingest.list_files(uow, actor=actor, limit=limit, offset=offset))


@router.get(
    "/ingest/files/{id}",
    response_model=IngestFileOut,
    summary="Get a file taken in",
    description="One file or request of test data, with its counts and status.",
    operation_id="get_ingest_file",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def get_ingest_file(id: IdPath, uow: Uow, actor: Acting) -> Any:
    return IngestFileOut.from_record(ingest.get_file(uow, id, actor=actor))


@router.get(
    "/ingest/files/{id}/rejects",
    response_model=Page[IngestRejectOut],
    summary="List a file's rejects",
    description="The records and parts of the file that were not stored, in file order: where, "
    "why and what they held. `unresolved=true` leaves out those a later ingest stored.",
    operation_id="list_ingest_rejects",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def list_ingest_rejects(
    id: IdPath,
    uow: Uow,
    actor: Acting,
    unresolved: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    page = ingest.list_rejects(
        uow, actor=actor, file_id=id, unresolved=unresolved, limit=limit, offset=offset
    )
    return page_of(IngestRejectOut, page)
