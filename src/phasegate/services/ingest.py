"""Take test data in: parsed records from files, requests and station scripts, stored once each.

``ingest_records(uow, items, actor=..., source_name=..., format=...)`` stores a stream of
parsed records (``ingest.records``: test runs with their measurements and attachments, station
passes, defects, and the parts of a file that could not be read) and answers, per record,
``inserted``, ``duplicate`` or ``rejected`` with the reason. ``ingest_stream`` does the same
for an open byte stream (an upload, a file): its size and digest taken, its format told, read
with ``ingest.reader.read_stream``; ``ingest_path`` opens a file and hands it to
``ingest_stream``.

``preview`` (and ``preview_stream``) answers what an import of the first records would do —
each record's status and each measurement name's characteristic (by name, alias, case, or a new
one) — by running the import's own batch in a transaction that is rolled back.

Nothing lost, nothing twice:

- Every call records one ``ingest_files`` row (name, format, digest, who, when, counts, status)
  and one ``import`` event in the audit trail.
- The items are taken in batches of ``batch_records``; each batch is stored in one write
  transaction with the counts of its file, so a batch is stored whole or not at all and a process
  killed mid-file leaves whole records only. Running the same file again completes the rest.
- A record whose source id is stored already (or came earlier in the same batch) is a
  ``duplicate``: nothing changes. Test runs, station passes and defects each have their
  ``source_id`` unique in their table.
- A record that cannot be stored (the parser's ``Rejected`` items, a unit without a build, an
  unknown station or defect code, a value out of range) is ``rejected``: it is kept in
  ``ingest_rejects`` with where it is, why, and what it held; the good records of the same batch
  are stored. When a later ingest stores a rejected record — the same source id, or the same
  place (``where``) in a file of the same name — its reject is marked resolved.
- The per-(build, characteristic) and per-(build, station) aggregates are updated in the
  transaction of the rows they count (``store.bulk``).

Mapping a record onto the database:

- The build: the record's or the call's ``Target.build`` (within ``Target.product`` when given,
  else a build code used by one product only); without one, the build of the unit that has the
  serial (within the product when given, else a serial used by one product only). A new serial
  needs a build. A unit is created, with its serial, in the build when it is new.
- A station by its name on the line of the build (exactly, else whatever its case when that is
  unambiguous). Test runs and defects may name none (work off the line).
- A measurement name: a characteristic of the build's product with that exact name, else an
  alias of the product (``characteristic_aliases``, whatever the case), else a characteristic
  whose name differs only in case. An unknown name becomes a new characteristic of the product
  (not critical to quality) with the record's unit and limits; the result lists it. A
  measurement without limits takes the characteristic's.
- A defect by its code, whatever the case.

Who may: ``Action.INGEST`` on ``Kind.TEST_DATA``. A partner user stores only into its partner's
builds (another build, or a unit of one, is answered as not existing); a token bound to a
station stores only that station's records, into builds on that station's line.

``ALIASES`` is the ``crud`` table of characteristic aliases, editable per product through the
generic create/update/list services (its permissions are those of characteristics).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import numpy as np
from sqlalchemy import Connection, func, insert, select, text, update

from phasegate.domain.enums import AuditAction, Outcome
from phasegate.domain.errors import FieldError, InvalidInput, NotFound, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import unstorable_reason
from phasegate.ingest.measurement_columns import (
    MeasurementBlock,
    is_outcome,
    judge,
    measurement_extras,
    nullable,
    repeated,
    run_outcomes,
)
from phasegate.ingest.records import (
    DefectIn,
    MeasurementIn,
    Parsed,
    Rejected,
    StationPassIn,
    Target,
    TestRunIn,
    excerpt,
)
from phasegate.ingest.tables import CsvOptions
from phasegate.services import audit
from phasegate.services.access import authorize, scoped
from phasegate.services.crud import Resource
from phasegate.services.paging import Page, check_page
from phasegate.services.volume import bound_station_refusal
from phasegate.store import bulk
from phasegate.store.models import (
    Build,
    Characteristic,
    CharacteristicAlias,
    DefectCode,
    IngestFile,
    IngestReject,
    Product,
    Station,
    Unit,
)
from phasegate.store.uow import UnitOfWork

DEFAULT_BATCH_RECORDS = 500
"""Records per write transaction: bounds the memory held and what a failure can undo."""

MAX_BATCH_MEASUREMENTS = 100_000
"""A batch closes early once its test runs hold this many measurements (wide records)."""

MAX_KEPT_RESULTS = 10_000
"""Per-record results an ``IngestResult`` keeps; beyond them only the counts grow (the rejects
are all stored in ``ingest_rejects`` whatever the number)."""

ANALYZE_AFTER = 100_000
"""Measurements stored by one call after which PostgreSQL's planner statistics are refreshed."""

RUNNING, DONE, FAILED = "running", "done", "failed"
"""The states of an ``ingest_files`` row."""

RecordStatus = Literal["inserted", "duplicate", "rejected"]
MatchedBy = Literal["name", "alias", "case", "new"]
"""How a measurement name found its characteristic: its exact name, an alias of the product,
its name whatever the case, or none (a new characteristic is made for it)."""

_CHUNK = 1 << 20  # bytes read at a time to take a file's digest
_IN_CHUNK = 900  # parameters per IN (...) list, below SQLite's historical limit
_INGEST_LOCK = 0x70676930  # PostgreSQL advisory lock taken by each ingest batch ("pgi0")

Progress = Callable[[int], None]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What became of one record: ``where`` it is in its source, its ``kind`` (``test_run``,
    ``station_pass``, ``defect``; ``unreadable`` for a part the parser could not read, ``file``
    for a file that could not be read on), its ``status`` and, for a rejected one, the reason."""

    where: str
    kind: str
    status: RecordStatus
    source_id: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NewCharacteristic:
    """A characteristic the ingest created for a measurement name it did not know."""

    product: str  # product key
    name: str
    id: int


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one file (or request) brought: counts of records, and the records one by one.

    ``records`` holds the first ``MAX_KEPT_RESULTS`` results in file order; ``records_omitted``
    says how many more there were (their rejects are in ``ingest_rejects`` all the same).
    ``measurements`` counts the measurements of the inserted test runs.
    """

    file_id: int
    name: str
    format: str
    inserted: int
    duplicates: int
    rejected: int
    measurements: int
    new_characteristics: tuple[NewCharacteristic, ...]
    records: tuple[RecordResult, ...]
    records_omitted: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.duplicates + self.rejected

    @property
    def complete(self) -> bool:
        """Every record is stored now: inserted or already present."""
        return self.rejected == 0


@dataclass(frozen=True, slots=True)
class NameMapping:
    """Where a measurement name goes: the characteristic of ``product`` it matched, and how
    (``name``, ``alias``, ``case``; ``new``: a characteristic would be made for it, not critical
    to quality). ``count`` is the measurements with that name; ``characteristic_id`` is None for
    a characteristic that does not exist yet."""

    product: str
    name: str
    how: MatchedBy
    characteristic: str
    characteristic_id: int | None
    count: int


@dataclass(frozen=True, slots=True)
class Preview:
    """What an import of the first ``read`` items would do, worked out by the import's own code
    in a transaction that is rolled back: nothing is stored.

    ``records`` gives each item's would-be status (``inserted``, ``duplicate``, ``rejected``
    with the reason), ``mapping`` each measurement name's characteristic; ``more`` says the
    source holds more items than were read.
    """

    name: str
    format: str
    read: int
    more: bool
    inserted: int
    duplicates: int
    rejected: int
    measurements: int
    records: tuple[RecordResult, ...]
    mapping: tuple[NameMapping, ...]

    @property
    def new_characteristics(self) -> tuple[NameMapping, ...]:
        return tuple(m for m in self.mapping if m.how == "new")


# --------------------------------------------------------------------------------------------
# Characteristic aliases


def _check_alias(uow: UnitOfWork, a: CharacteristicAlias) -> list[FieldError]:
    errors = []
    if a.alias != a.alias.strip():
        errors.append(FieldError("alias", "must not start or end with spaces"))
    taken = uow.session.scalar(
        select(Characteristic.id).where(
            Characteristic.product_id == a.product_id,
            func.lower(Characteristic.name) == a.alias.lower(),
            Characteristic.id != a.characteristic_id,
        )
    )
    if taken is not None:
        errors.append(FieldError("alias", f"{a.alias!r} is the name of another characteristic"))
    clash = uow.session.scalar(
        select(CharacteristicAlias.id).where(
            CharacteristicAlias.product_id == a.product_id,
            func.lower(CharacteristicAlias.alias) == a.alias.lower(),
            CharacteristicAlias.id != a.id if a.id is not None else True,
        )
    )
    if clash is not None:
        errors.append(FieldError("alias", f"{a.alias!r} is already an alias of this product"))
    return errors


@dataclass(frozen=True, eq=False)
class _AliasResource(Resource[CharacteristicAlias]):
    @property
    def kind(self) -> Kind:
        """Aliases are part of the characteristics: whoever may edit those may edit these."""
        return Kind.CHARACTERISTIC


ALIASES = _AliasResource(
    name="characteristic alias",
    model=CharacteristicAlias,
    required=("product_id", "alias", "characteristic_id"),
    immutable=("product_id",),
    references={"product_id": Product, "characteristic_id": Characteristic},
    filters=("product_id", "characteristic_id"),
    search=("alias",),
    order_by=("product_id", "alias"),
    check=_check_alias,
    describe=lambda a: repr(a.alias),
)
"""The ``crud`` table of characteristic aliases: another name, per product, for a
characteristic (unique per product whatever its case, and no other characteristic's name)."""


# --------------------------------------------------------------------------------------------
# Entry points


def ingest_records(
    uow: UnitOfWork,
    items: Iterable[Parsed],
    *,
    actor: Principal,
    source_name: str,
    format: str,
    target: Target = Target(),
    batch_records: int = DEFAULT_BATCH_RECORDS,
    progress: Progress | None = None,
    sha256: str = "",
    size: int | None = None,
) -> IngestResult:
    """Store ``items`` batch by batch, record the file and audit it; see the module docstring.

    Parameters
    ----------
    uow : the unit of work; each batch commits in a transaction of its own.
    items : parsed records in source order (a stream: read as the batches need them).
    actor : who ingests; must be allowed ``ingest`` on test data.
    source_name : the file name or request the records came from, as the history shows it.
    format : the format they were read from (``openhtf``, ``csv``, ``json``, ...).
    target : product and build for records that do not name their own.
    batch_records : records per transaction.
    progress : called after each committed batch with the number of items taken so far.
    sha256, size : the digest and size of the file, when the records come from one.

    An ``InvalidInput`` raised while reading ``items`` (the file cannot be read on) ends the
    file: the batches before it stay stored, the file is marked ``failed`` with one reject
    naming the reason, and the error is raised again. Any other error marks the file failed
    and is raised again; the batch it interrupted is not stored.
    """
    authorize(actor, Action.INGEST, Kind.TEST_DATA)
    if batch_records < 1:
        raise invalid("batch_records", f"must be at least 1, not {batch_records}")
    file_id = _open_file(uow, actor, source_name, format, sha256, size)
    state = _State(actor, file_id, source_name, format, target)
    return _run(uow, state, items, batch_records, progress)


def ingest_stream(
    uow: UnitOfWork,
    stream: BinaryIO,
    *,
    name: str,
    actor: Principal,
    format: str = "auto",
    options: CsvOptions | None = None,
    target: Target = Target(),
    progress: Progress | None = None,
    batch_records: int = DEFAULT_BATCH_RECORDS,
) -> IngestResult:
    """Store the records of an open byte stream named ``name``: its size and SHA-256 taken,
    its format told from its name and first bytes (``format="auto"``), read with
    ``ingest.reader.read_stream`` and stored with ``ingest_records``. A stream that cannot be
    seeked is copied to a temporary file first.

    A file that cannot be read at all (its format cannot be told, it is empty, ...) is recorded
    as a ``failed`` file with one reject naming the reason, and its ``InvalidInput`` is raised
    again.
    """
    authorize(actor, Action.INGEST, Kind.TEST_DATA)

    with contextlib.ExitStack() as stack:
        source, size, digest = _measured(stream, stack)
        try:
            fmt, items = _read(source, name, format, options)
        except InvalidInput as error:
            _record_unreadable(uow, actor, name, format, error, sha256=digest, size=size)
            raise
        return ingest_records(
            uow,
            items,
            actor=actor,
            source_name=name,
            format=fmt,
            target=target,
            batch_records=batch_records,
            progress=progress,
            sha256=digest,
            size=size,
        )


def _read(
    source: BinaryIO, name: str, format: str, options: CsvOptions | None
) -> tuple[str, Iterator[Parsed]]:
    """The format of a seekable ``source`` (told from its name and first bytes for ``auto``)
    and the stream of its records; ``InvalidInput`` when it cannot be told."""
    from phasegate.ingest import reader

    fmt = format
    if format == "auto":
        fmt = reader.detect_format(name, _head(source, reader.HEAD), options=options)
    return fmt, reader.read_stream(source, name=name, format=fmt, options=options)


def ingest_path(
    uow: UnitOfWork,
    path: str | Path,
    *,
    actor: Principal,
    format: str = "auto",
    options: CsvOptions | None = None,
    target: Target = Target(),
    progress: Progress | None = None,
    batch_records: int = DEFAULT_BATCH_RECORDS,
) -> IngestResult:
    """Store the records of the file at ``path`` with ``ingest_stream``.

    A file that cannot be opened or read at all is recorded as a ``failed`` file with one
    reject naming the reason, and its ``InvalidInput`` is raised again.
    """
    authorize(actor, Action.INGEST, Kind.TEST_DATA)
    file = Path(path)
    name = str(path)
    try:
        if not file.is_file():
            problem = "not a file" if file.exists() else "file not found"
            raise InvalidInput(f"{file}: {problem}")
        stream = file.open("rb")
    except InvalidInput as error:
        _record_unreadable(uow, actor, name, format, error)
        raise
    except OSError as error:
        reason = f"{name}: cannot be read: {error.strerror or error}"
        failure = InvalidInput(reason, [FieldError(name, error.strerror or str(error))])
        _record_unreadable(uow, actor, name, format, failure)
        raise failure from error
    with stream:
        return ingest_stream(
            uow,
            stream,
            name=name,
            actor=actor,
            format=format,
            options=options,
            target=target,
            progress=progress,
            batch_records=batch_records,
        )


PREVIEW_RECORDS = 200
"""Items a preview takes by default."""


def preview(
    uow: UnitOfWork,
    items: Iterable[Parsed],
    *,
    actor: Principal,
    target: Target = Target(),
    limit: int = PREVIEW_RECORDS,
    source_name: str = "preview",
    format: str = "",
) -> Preview:
    """What ``ingest_records`` would do with the first ``limit`` of ``items``, and where each
    measurement name would go.

    The items go through the import's own batch — the checks, the build, the unit by serial,
    the station, the duplicates by source id, the characteristic of each name (exact name, then
    alias, then whatever the case; a new one for a name none has), the limits — in one write
    transaction that is rolled back: nothing is stored, no file is recorded, no reject is kept,
    nothing is audited. An ``InvalidInput`` raised while reading the items (the file cannot be
    read) is raised as it is.
    """
    authorize(actor, Action.INGEST, Kind.TEST_DATA)
    if limit < 1:
        raise invalid("limit", f"must be at least 1, not {limit}")
    stream = iter(items)
    try:
        chunk = list(itertools.islice(stream, limit + 1))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    more = len(chunk) > limit
    chunk = chunk[:limit]
    mapping = _Mapping()
    with uow.write():
        try:
            conn = uow.session.connection()
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INGEST_LOCK})
            file_id = _file_row(uow, actor, source_name, format, "", None).id
            state = _State(actor, file_id, source_name, format, target)
            batch = _Batch(state, chunk, mapping)
            batch.store(uow)
        finally:
            uow.session.rollback()
    return Preview(
        name=source_name,
        format=format,
        read=len(chunk),
        more=more,
        inserted=batch.inserted,
        duplicates=batch.duplicates,
        rejected=batch.rejected,
        measurements=batch.measurements,
        records=tuple(batch.results()),
        mapping=mapping.result(),
    )


def preview_stream(
    uow: UnitOfWork,
    stream: BinaryIO,
    *,
    name: str,
    actor: Principal,
    format: str = "auto",
    options: CsvOptions | None = None,
    target: Target = Target(),
    limit: int = PREVIEW_RECORDS,
) -> Preview:
    """``preview`` of the first records of an open byte stream, its format told as
    ``ingest_stream`` tells it. A file that cannot be read raises ``InvalidInput``; unlike an
    import, nothing records it."""
    authorize(actor, Action.INGEST, Kind.TEST_DATA)

    with contextlib.ExitStack() as stack:
        source = stream if _seekable(stream) else _spooled(stream, stack)[0]
        fmt, items = _read(source, name, format, options)
        return preview(
            uow, items, actor=actor, target=target, limit=limit, source_name=name, format=fmt
        )


def list_files(
    uow: UnitOfWork, *, actor: Principal, limit: int = 50, offset: int = 0
) -> Page[IngestFile]:
    """The files taken in, newest first; a partner user sees only its partner's."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    check_page(limit, offset)
    stmt = _files_in_scope(select(IngestFile), actor)
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = uow.session.scalars(
            stmt.order_by(IngestFile.started_at.desc(), IngestFile.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return Page(items=tuple(rows), total=total, limit=limit, offset=offset)


def get_file(uow: UnitOfWork, file_id: int, *, actor: Principal) -> IngestFile:
    """One file taken in; ``NotFound`` when there is none or it is outside the scope."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    with uow:
        found: IngestFile | None = uow.session.scalar(
            _files_in_scope(select(IngestFile), actor).where(IngestFile.id == file_id)
        )
        if found is None:
            raise NotFound(f"ingest file {file_id} does not exist")
        return found


def list_rejects(
    uow: UnitOfWork,
    *,
    actor: Principal,
    file_id: int | None = None,
    unresolved: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page[IngestReject]:
    """Stored rejects in file order, of one file or all; ``unresolved`` leaves out those a
    later ingest stored. ``NotFound`` for a file that does not exist or is outside the scope."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    check_page(limit, offset)
    if file_id is not None:
        get_file(uow, file_id, actor=actor)
    files = _files_in_scope(select(IngestFile.id), actor)
    stmt = select(IngestReject).where(IngestReject.file_id.in_(files))
    if file_id is not None:
        stmt = stmt.where(IngestReject.file_id == file_id)
    if unresolved:
        stmt = stmt.where(IngestReject.resolved_at.is_(None))
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = uow.session.scalars(
            stmt.order_by(IngestReject.file_id.desc(), IngestReject.id).limit(limit).offset(offset)
        )
        return Page(items=tuple(rows), total=total, limit=limit, offset=offset)


def _files_in_scope(stmt: Any, actor: Principal) -> Any:
    if not actor.scoped:
        return stmt
    return stmt.where(IngestFile.partner_id == actor.partner_id)


# --------------------------------------------------------------------------------------------
# The file row


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def _spooled(stream: BinaryIO, stack: contextlib.ExitStack) -> tuple[BinaryIO, int, str]:
    """The stream copied to a temporary file (closed with ``stack``), its size and digest."""
    copy: BinaryIO = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        copy.write(chunk)
    copy.seek(0)
    return copy, size, digest.hexdigest()


def _measured(stream: BinaryIO, stack: contextlib.ExitStack) -> tuple[BinaryIO, int, str]:
    """The stream to read from where it stands, with the size and SHA-256 of what it holds."""
    if not _seekable(stream):
        return _spooled(stream, stack)
    start = stream.tell()
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(start)
    return stream, size, digest.hexdigest()


def _head(stream: BinaryIO, length: int) -> bytes:
    """The first ``length`` bytes of a seekable stream, leaving it where it stood."""
    start = stream.tell()
    head = stream.read(length)
    stream.seek(start)
    return head


def _file_row(
    uow: UnitOfWork, actor: Principal, name: str, fmt: str, sha256: str, size: int | None
) -> IngestFile:
    row = IngestFile(
        name=_cut(name, 500),
        format=_cut(fmt, 40),
        sha256=sha256,
        size=size,
        actor=_cut(actor.name, 120),
        partner_id=actor.partner_id if actor.scoped else None,
        started_at=_now(),
        inserted=0,
        duplicates=0,
        rejected=0,
        status=RUNNING,
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def _open_file(
    uow: UnitOfWork, actor: Principal, name: str, fmt: str, sha256: str, size: int | None
) -> int:
    with uow.write():
        row = _file_row(uow, actor, name, fmt, sha256, size)
        uow.commit()
        return row.id


def _record_unreadable(
    uow: UnitOfWork,
    actor: Principal,
    name: str,
    fmt: str,
    error: InvalidInput,
    *,
    sha256: str = "",
    size: int | None = None,
) -> None:
    """A file that could not be opened or read: a failed file row with one reject, audited."""
    file_id = _open_file(uow, actor, name, fmt, sha256, size)
    state = _State(actor, file_id, name, fmt, Target())
    _fail(uow, state, error)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _cut(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"


# --------------------------------------------------------------------------------------------
# Running a file


@dataclass(frozen=True, slots=True)
class _Build:
    id: int
    code: str
    product_id: int
    product_key: str
    line_id: int | None


@dataclass(frozen=True, slots=True)
class _Limits:
    id: int
    name: str
    unit: str
    lsl: float | None
    usl: float | None


@dataclass(slots=True)
class _Characteristics:
    """A product's characteristics by every name a measurement may use for them."""

    exact: dict[str, _Limits]
    aliases: dict[str, _Limits]  # lower-case alias
    folded: dict[str, dict[str, _Limits]]  # lower-case name -> the names and their limits

    def find(self, name: str) -> _Limits | None:
        found = self.exact.get(name) or self.aliases.get(name.lower())
        if found is not None:
            return found
        same = self.folded.get(name.lower(), {})
        return next(iter(same.values())) if len(same) == 1 else None

    def how(self, name: str) -> MatchedBy:
        """How ``find`` matches ``name``: the one rule, told (``new`` when it matches none)."""
        if name in self.exact:
            return "name"
        if name.lower() in self.aliases:
            return "alias"
        return "case" if self.find(name) is not None else "new"

    def add(self, name: str, limits: _Limits) -> None:
        self.exact[name] = limits
        self.folded.setdefault(name.lower(), {})[name] = limits


@dataclass(slots=True)
class _State:
    """One ingest call: who, into which file row, the names resolved so far and the tallies."""

    actor: Principal
    file_id: int
    name: str
    format: str
    target: Target
    seen: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    measurements: int = 0
    omitted: int = 0
    results: list[RecordResult] = field(default_factory=list)
    new_characteristics: list[NewCharacteristic] = field(default_factory=list)
    products: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    builds: dict[tuple[int | None, str], _Build | str] = field(default_factory=dict)
    builds_by_id: dict[int, _Build | None] = field(default_factory=dict)
    stations: dict[int, dict[str, int]] = field(default_factory=dict)
    characteristics: dict[int, _Characteristics] = field(default_factory=dict)
    defect_codes: dict[str, int] | None = None

    def keep(self, results: Sequence[RecordResult]) -> None:
        room = max(0, MAX_KEPT_RESULTS - len(self.results))
        self.results.extend(results[:room])
        self.omitted += max(0, len(results) - room)


def _run(
    uow: UnitOfWork,
    state: _State,
    items: Iterable[Parsed],
    size: int,
    progress: Progress | None,
) -> IngestResult:
    stream = iter(items)
    try:
        while True:
            chunk, ended, stop = _take(stream, size)
            if chunk:
                _commit_batch(uow, state, chunk)
                if progress is not None:
                    progress(state.seen)
            if stop is not None:
                raise stop
            if ended:
                break
    except InvalidInput as error:
        _fail(uow, state, error)
        raise
    except BaseException as error:
        _fail(uow, state, None, stopped=error)
        raise
    return _finish(uow, state)


def _take(stream: Iterator[Parsed], size: int) -> tuple[list[Parsed], bool, InvalidInput | None]:
    """Up to ``size`` items (fewer once they hold ``MAX_BATCH_MEASUREMENTS`` measurements),
    whether the stream has ended, and the ``InvalidInput`` that ended it early, if one did:
    the items read before that error are still stored."""
    chunk: list[Parsed] = []
    measured = 0
    try:
        for item in stream:
            chunk.append(item)
            if isinstance(item, TestRunIn):
                measured += len(item.measurements)
            if len(chunk) >= size or measured >= MAX_BATCH_MEASUREMENTS:
                return chunk, False, None
    except InvalidInput as error:
        return chunk, True, error
    return chunk, True, None


def _commit_batch(uow: UnitOfWork, state: _State, chunk: Sequence[Parsed]) -> None:
    # Read afresh for each batch: another ingest may have created characteristics meanwhile.
    state.characteristics.clear()
    with uow.write():
        conn = uow.session.connection()
        if conn.dialect.name == "postgresql":
            # One ingest batch at a time: the source ids and serials checked below stay
            # unclaimed until this transaction commits.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INGEST_LOCK})
        batch = _Batch(state, chunk)
        new = batch.store(uow)
        uow.commit()
    state.seen += len(chunk)
    state.inserted += batch.inserted
    state.duplicates += batch.duplicates
    state.rejected += batch.rejected
    state.measurements += batch.measurements
    state.new_characteristics.extend(new)
    state.keep(batch.results())


def _finish(uow: UnitOfWork, state: _State) -> IngestResult:
    with uow.write():
        row = uow.get(IngestFile, state.file_id, label="ingest file", lock=True)
        row.status = DONE
        row.finished_at = _now()
        _audit(uow, state, row, "")
        uow.commit()
    if state.measurements >= ANALYZE_AFTER:
        _analyze(uow)
    return IngestResult(
        file_id=state.file_id,
        name=state.name,
        format=state.format,
        inserted=state.inserted,
        duplicates=state.duplicates,
        rejected=state.rejected,
        measurements=state.measurements,
        new_characteristics=tuple(state.new_characteristics),
        records=tuple(state.results),
        records_omitted=state.omitted,
    )


def _analyze(uow: UnitOfWork) -> None:
    """Fresh planner statistics on PostgreSQL after a large load: without them, the pages of a
    big build are planned as if the tables were still small (many times slower)."""
    with uow:
        conn = uow.session.connection()
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE units, test_runs, measurements, station_passes"))
            uow.commit()


def _fail(
    uow: UnitOfWork,
    state: _State,
    error: InvalidInput | None,
    *,
    stopped: BaseException | None = None,
) -> None:
    """Mark the file failed: with one reject naming ``error`` (the file could not be read on),
    or after ``stopped`` (storing was interrupted; nothing of that batch is stored)."""
    # The error that ended the file is what the caller must see: a database that is gone
    # cannot take this note either, and must not hide it.
    with contextlib.suppress(Exception), uow.write():
        row = uow.get(IngestFile, state.file_id, label="ingest file", lock=True)
        row.status = FAILED
        row.finished_at = _now()
        if error is not None:
            where = error.fields[0].loc if error.fields else state.name
            uow.session.add(
                IngestReject(
                    file_id=state.file_id,
                    where=_cut(where, 500),
                    kind="file",
                    reason=error.message,
                    raw="",
                    created_at=_now(),
                )
            )
            row.rejected += 1
            state.rejected += 1
            reason = error.message
        else:
            reason = f"stopped: {type(stopped).__name__}: {stopped}"
        _audit(uow, state, row, reason)
        uow.commit()


def _audit(uow: UnitOfWork, state: _State, row: IngestFile, failure: str) -> None:
    after: dict[str, Any] = {
        "name": row.name,
        "format": row.format,
        "status": row.status,
        "inserted": row.inserted,
        "duplicates": row.duplicates,
        "rejected": row.rejected,
        "measurements": state.measurements,
        "new_characteristics": [f"{c.product}: {c.name}" for c in state.new_characteristics],
    }
    if failure:
        after["failure"] = failure
    summary = (
        f"ingested {row.name}: {row.inserted} inserted, {row.duplicates} already present, "
        f"{row.rejected} rejected"
    )
    if failure:
        summary = f"{summary}; failed: {failure}"
    audit.record(
        uow,
        actor=state.actor.name,
        action=AuditAction.IMPORT,
        obj=row,
        before=None,
        after=after,
        summary=summary,
    )


# --------------------------------------------------------------------------------------------
# One batch


Record = TestRunIn | StationPassIn | DefectIn

_KIND = {TestRunIn: "test_run", StationPassIn: "station_pass", DefectIn: "defect"}
_TABLE = {TestRunIn: "test_runs", StationPassIn: "station_passes", DefectIn: "defects"}


@dataclass(frozen=True, slots=True)
class _Unit:
    id: int
    build_id: int
    product_id: int


@dataclass(slots=True)
class _Placed:
    """A record resolved to ids, ready to store."""

    index: int
    record: Record
    build: _Build
    unit_key: tuple[int, str]  # (product id, lower-case serial)
    unit_id: int | None  # None for a unit this batch creates
    station_id: int | None
    extra: int | None = None  # the defect code id of a defect


class _Batch:
    """One batch of items: sorted into rejects, duplicates and records to insert, then stored."""

    def __init__(
        self, state: _State, items: Sequence[Parsed], mapping: _Mapping | None = None
    ) -> None:
        self.state = state
        self.mapping = mapping
        self.items = items
        self.status: list[RecordResult | None] = [None] * len(items)
        self.rejects: list[dict[str, Any]] = []
        self.placed: list[_Placed] = []
        self.new_units: dict[tuple[int, str], tuple[_Build, str]] = {}
        self.measurements = 0
        self.block = MeasurementBlock.of(())
        self.block_at: dict[int, int] = {}  # item index -> run position in the block

    @property
    def inserted(self) -> int:
        return sum(1 for r in self.status if r is not None and r.status == "inserted")

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self.status if r is not None and r.status == "duplicate")

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.status if r is not None and r.status == "rejected")

    def results(self) -> list[RecordResult]:
        return [r for r in self.status if r is not None]

    # ---- sorting

    def reject(self, index: int, reason: str) -> None:
        item = self.items[index]
        if isinstance(item, Rejected):
            kind, source_id, raw = "unreadable", None, item.raw
        else:
            kind, source_id, raw = _KIND[type(item)], item.source_id, _raw(item)
        self.status[index] = RecordResult(item.where, kind, "rejected", source_id, reason)
        self.rejects.append(
            {
                "file_id": self.state.file_id,
                "where": _cut(item.where, 500),
                "kind": kind,
                "reason": reason,
                "raw": excerpt(raw),
                "source_id": source_id[:200] if source_id else None,
                "created_at": _now(),
            }
        )

    def duplicate(self, index: int) -> None:
        item = self.items[index]
        assert not isinstance(item, Rejected)
        self.status[index] = RecordResult(
            item.where, _KIND[type(item)], "duplicate", item.source_id
        )

    def store(self, uow: UnitOfWork) -> list[NewCharacteristic]:
        conn = uow.session.connection()
        runs_at = [i for i, item in enumerate(self.items) if isinstance(item, TestRunIn)]
        self.block = MeasurementBlock.of([cast(TestRunIn, self.items[i]) for i in runs_at])
        self.block_at = {index: k for k, index in enumerate(runs_at)}
        # Every measurement checked at once; a run with one outside the plain case is checked
        # again measurement by measurement, so that its rejection names it.
        good = self.block.plainly_good_runs().tolist()
        checked = {index for index, ok in zip(runs_at, good, strict=True) if ok}
        candidates: list[tuple[int, Record]] = []
        for index, item in enumerate(self.items):
            if isinstance(item, Rejected):
                self.reject(index, item.reason)
                continue
            problem = _problem(item, measurements_checked=index in checked)
            if problem is not None:
                self.reject(index, problem)
            else:
                candidates.append((index, item))
        stored = _stored_source_ids(conn, candidates)
        fresh = []
        for index, record in candidates:
            if record.source_id in stored[type(record)]:
                self.duplicate(index)
            else:
                fresh.append((index, record))
        self._place(uow, conn, fresh)
        new = self._insert(uow, conn)
        self._finish(conn)
        return new

    # ---- resolving names

    def _place(
        self, uow: UnitOfWork, conn: Connection, records: Sequence[tuple[int, Record]]
    ) -> None:
        known = _units_by_serial(conn, {r.serial.lower() for _, r in records})
        taken: dict[type, set[str]] = {TestRunIn: set(), StationPassIn: set(), DefectIn: set()}
        for index, record in records:
            placed = self._resolve(uow, index, record, known)
            if isinstance(placed, str):
                self.reject(index, placed)
                continue
            if record.source_id in taken[type(record)]:
                self.duplicate(index)
                continue
            taken[type(record)].add(record.source_id)
            if placed.unit_id is None:
                self.new_units.setdefault(placed.unit_key, (placed.build, record.serial))
            self.placed.append(placed)

    def _resolve(
        self, uow: UnitOfWork, index: int, record: Record, known: Mapping[str, list[_Unit]]
    ) -> _Placed | str:
        placed = self._unit(uow, index, record, known)
        if isinstance(placed, str):
            return placed
        station = _station(uow, self.state, placed.build, record)
        if isinstance(station, str):
            return station
        placed.station_id = station
        if isinstance(record, DefectIn):
            code = _defect_code(uow, self.state, record.code)
            if code is None:
                return f"defect code {record.code!r} does not exist"
            placed.extra = code
        return placed

    def _unit(
        self, uow: UnitOfWork, index: int, record: Record, known: Mapping[str, list[_Unit]]
    ) -> _Placed | str:
        """The build and unit of the record, or why there is none."""
        state = self.state
        serial = record.serial.lower()
        wanted = _target_of(record, state.target)
        product_id: int | None = None
        if wanted.product:
            product = _product(uow, state, wanted.product)
            if product is None:
                return f"product {wanted.product!r} does not exist"
            product_id = product[0]
        units = [u for u in known.get(serial, []) if product_id in (None, u.product_id)]
        pending = [
            (key, build)
            for key, (build, _) in self.new_units.items()
            if key[1] == serial and product_id in (None, key[0])
        ]
        if wanted.build:
            build = _build(uow, state, wanted.build, product_id)
            if isinstance(build, str):
                return build
            return self._into_build(uow, index, record, build, units, pending)
        # Without a build, only the units the actor may see can be meant.
        visible = [(u, b) for u in units if (b := _build_of(uow, state, u.build_id)) is not None]
        choices = {b.product_key for _, b in visible} | {b.product_key for _, b in pending}
        if len(choices) > 1:
            return (
                f"serial {record.serial!r} is used in several products "
                f"({', '.join(sorted(choices))}); name the product"
            )
        if pending:
            key, build = pending[0]
            return _Placed(index, record, build, key, None, None)
        if not visible:
            where = f" in product {wanted.product}" if wanted.product else ""
            return (
                f"unit {record.serial!r} does not exist{where}; a new serial needs a build "
                "to go into: name the build"
            )
        unit, found = visible[0]
        return _Placed(index, record, found, (unit.product_id, serial), unit.id, None)

    def _into_build(
        self,
        uow: UnitOfWork,
        index: int,
        record: Record,
        build: _Build,
        units: Sequence[_Unit],
        pending: Sequence[tuple[tuple[int, str], _Build]],
    ) -> _Placed | str:
        key = (build.product_id, record.serial.lower())
        same_product = [u for u in units if u.product_id == build.product_id]
        if same_product:
            unit = same_product[0]
            if unit.build_id != build.id:
                other = _build_of(uow, self.state, unit.build_id)
                named = f"build {other.code}" if other is not None else "another build"
                return f"unit {record.serial!r} belongs to {named}, not to build {build.code}"
            return _Placed(index, record, build, key, unit.id, None)
        for pending_key, pending_build in pending:
            if pending_key == key and pending_build.id != build.id:
                return (
                    f"unit {record.serial!r} is new in build {pending_build.code} in this "
                    f"batch, not in build {build.code}"
                )
        return _Placed(index, record, build, key, None, None)

    # ---- inserting

    def _insert(self, uow: UnitOfWork, conn: Connection) -> list[NewCharacteristic]:
        unit_ids = self._insert_units(conn)
        build_of_unit: dict[int, int] = {}
        for placed in self.placed:
            if placed.unit_id is None:
                placed.unit_id = unit_ids[placed.unit_key]
            build_of_unit[placed.unit_id] = placed.build.id
        runs = [p for p in self.placed if isinstance(p.record, TestRunIn)]
        passes = [p for p in self.placed if isinstance(p.record, StationPassIn)]
        defects = [p for p in self.placed if isinstance(p.record, DefectIn)]
        block = self.block.take([self.block_at[p.index] for p in runs])
        new = _new_characteristics(uow, self.state, runs, block, self.mapping)
        measured = _MeasurementColumns.of(self.state, runs, block)
        run_rows = [
            _run_row(p, outcome) for p, outcome in zip(runs, measured.run_outcomes, strict=True)
        ]
        run_ids = bulk.insert_test_runs(conn, run_rows)
        measured.store(conn, run_ids)
        bulk.insert_attachments(conn, _attachment_rows(runs, run_ids))
        bulk.insert_station_passes(
            conn, [_pass_row(p) for p in passes], build_of_unit=build_of_unit
        )
        bulk.insert_defects(conn, [_defect_row(p) for p in defects])
        self.measurements = len(block)
        for p in self.placed:
            record = p.record
            self.status[p.index] = RecordResult(
                record.where, _KIND[type(record)], "inserted", record.source_id
            )
        return new

    def _insert_units(self, conn: Connection) -> dict[tuple[int, str], int]:
        if not self.new_units:
            return {}
        keys = list(self.new_units)
        rows = [
            {"product_id": build.product_id, "build_id": build.id, "serial": serial}
            for build, serial in self.new_units.values()
        ]
        return dict(zip(keys, bulk.insert_units(conn, rows), strict=True))

    def _finish(self, conn: Connection) -> None:
        """Store the rejects, mark the rejects resolved that are stored now, count the file."""
        if self.rejects:
            conn.execute(insert(IngestReject), self.rejects)
        stored = [r for r in self.status if r is not None and r.status != "rejected"]
        now = _now()
        # A reject is resolved by its record stored now: by its source id, or — a repair may
        # change what the id is derived from — by its place in a file of the same name.
        by_id = sorted({r.source_id for r in stored if r.source_id})
        same_name = select(IngestFile.id).where(IngestFile.name == _cut(self.state.name, 500))
        places = sorted({_cut(r.where, 500) for r in stored})
        for column, values, extra in (
            (IngestReject.source_id, by_id, None),
            (IngestReject.where, places, IngestReject.file_id.in_(same_name)),
        ):
            for start in range(0, len(values), _IN_CHUNK):
                stmt = update(IngestReject).where(
                    column.in_(values[start : start + _IN_CHUNK]),
                    IngestReject.resolved_at.is_(None),
                )
                if extra is not None:
                    stmt = stmt.where(extra)
                conn.execute(stmt.values(resolved_at=now))
        conn.execute(
            update(IngestFile)
            .where(IngestFile.id == self.state.file_id)
            .values(
                inserted=IngestFile.inserted + self.inserted,
                duplicates=IngestFile.duplicates + self.duplicates,
                rejected=IngestFile.rejected + self.rejected,
            )
        )


def _target_of(record: Record, default: Target) -> Target:
    """The record's own target, each part falling back to the call's."""
    own = record.target
    if own.build:
        # A build named by the record goes with the product the record names, if any.
        return Target(product=own.product or default.product, build=own.build)
    return Target(product=own.product or default.product, build=default.build)


def _raw(record: Record) -> str:
    """The record as JSON text, for its repair."""
    if isinstance(record, TestRunIn):
        record = dataclasses.replace(record, measurements=tuple(record.measurements))
    data = dataclasses.asdict(record)
    return json.dumps(data, default=str, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Checks of one record before anything is looked up


def _problem(record: Record, *, measurements_checked: bool = False) -> str | None:
    """Why the record cannot be stored as it is, or None (a test run's measurements are
    skipped when ``measurements_checked``: they passed the batch's check already)."""
    common = _text_problems(
        ("serial", record.serial, 80, True),
        ("source_id", record.source_id, 200, True),
    )
    if common:
        return common
    if isinstance(record, TestRunIn):
        return _run_problem(record, measurements_checked)
    if isinstance(record, StationPassIn):
        return _pass_problem(record)
    return _defect_problem(record)


def _text_problems(*checks: tuple[str, str | None, int, bool]) -> str | None:
    """The first text field that cannot be stored as it is: empty when required, holding a NUL
    or a lone surrogate (which no database stores), or too long."""
    for name, value, length, required in checks:
        if value is None:
            continue
        if required and not value.strip():
            return f"{name} is empty"
        unstorable = unstorable_reason(value)
        if unstorable is not None:
            return f"{name} {unstorable}"
        if len(value) > length:
            return f"{name} is {len(value)} characters long; at most {length} allowed"
    return None


def _time_problem(name: str, value: dt.datetime | None) -> str | None:
    if value is not None and value.tzinfo is None:
        return f"{name} {value.isoformat()} has no time zone"
    return None


def _span_problem(started: dt.datetime, ended: dt.datetime | None) -> str | None:
    problem = _time_problem("started_at", started) or _time_problem("ended_at", ended)
    if problem:
        return problem
    if ended is not None and ended < started:
        return f"ends ({ended.isoformat()}) before it starts ({started.isoformat()})"
    return None


def _run_problem(run: TestRunIn, measurements_checked: bool = False) -> str | None:
    problem = _span_problem(run.started_at, run.ended_at) or _text_problems(
        ("station", run.station, 120, True),
        ("procedure", run.procedure, 200, False),
        ("operator", run.operator, 80, False),
        ("source", run.source, 40, False),
    )
    if problem:
        return problem
    for i, m in enumerate(() if measurements_checked else run.measurements):
        problem = _measurement_problem(m)
        if problem:
            return f"measurement {i + 1} ({m.name[:80]!r}): {problem}"
    for i, a in enumerate(run.attachments):
        problem = _text_problems(
            ("name", a.name, 300, True), ("mimetype", a.mimetype, 120, False)
        ) or _text_problems(("sha1", a.sha1, 40, False))
        if problem is None and a.size is not None and a.size < 0:
            problem = f"size {a.size} is negative"
        if problem:
            return f"attachment {i + 1}: {problem}"
    return _json_problem("extra", _run_extra(run))


def _measurement_problem(m: MeasurementIn) -> str | None:
    problem = _text_problems(
        ("name", m.name, 200, True), ("unit", m.unit, 40, False)
    ) or _text_problems(("text_value", m.text_value, 400, False))
    if problem:
        return problem
    for name, number in (("value", m.value), ("lsl", m.lsl), ("usl", m.usl)):
        if number is not None and not math.isfinite(number):
            return f"{name} {number} is not a finite number"
    if m.lsl is not None and m.usl is not None and m.lsl > m.usl:
        return f"lsl ({m.lsl}) is greater than usl ({m.usl})"
    if m.series is not None and not all(math.isfinite(v) for row in m.series for v in row):
        return "series holds a value that is not a finite number"
    return _time_problem("measured_at", m.measured_at)


def _pass_problem(p: StationPassIn) -> str | None:
    problem = _span_problem(p.started_at, p.ended_at) or _text_problems(
        ("station", p.station, 120, True), ("operator", p.operator, 80, False)
    )
    if problem:
        return problem
    if p.attempt < 1:
        return f"attempt {p.attempt} must be 1 or more"
    return None


def _defect_problem(d: DefectIn) -> str | None:
    problem = _time_problem("found_at", d.found_at) or _text_problems(
        ("code", d.code, 40, True), ("station", d.station, 120, True)
    )
    if problem:
        return problem
    if not math.isfinite(d.cost) or d.cost < 0:
        return f"cost {d.cost} must be a finite number, 0 or more"
    return None


def _json_problem(name: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        return f"{name} is not JSON data: {error}"
    return None


def _run_extra(run: TestRunIn) -> dict[str, Any] | None:
    """The run's unknown fields, with those of its measurements under ``measurements``."""
    extra = dict(run.extra)
    per_measurement = measurement_extras(run.measurements)
    if per_measurement:
        extra["measurements"] = per_measurement
    return extra or None


# --------------------------------------------------------------------------------------------
# How measurement names map onto characteristics


@dataclass(slots=True)
class _Mapping:
    """Per (product key, measurement name): how it matched, the characteristic, how often."""

    entries: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def see(self, product: str, chars: _Characteristics, name: str) -> None:
        entry = self.entries.get((product, name))
        if entry is None:
            how = chars.how(name)
            found = chars.find(name)
            target = found.name if found is not None else name
            ident = found.id if found is not None and found.id and how != "new" else None
            entry = self.entries[(product, name)] = [how, target, ident, 0]
        entry[3] += 1

    def result(self) -> tuple[NameMapping, ...]:
        return tuple(
            NameMapping(product, name, how, target, ident, count)
            for (product, name), (how, target, ident, count) in self.entries.items()
        )


# --------------------------------------------------------------------------------------------
# Looking names up (cached for the call)


def _stored_source_ids(
    conn: Connection, records: Sequence[tuple[int, Record]]
) -> dict[type, set[str]]:
    """The source ids of ``records`` already stored, per record type."""
    found: dict[type, set[str]] = {TestRunIn: set(), StationPassIn: set(), DefectIn: set()}
    for kind, table in _TABLE.items():
        ids = sorted({r.source_id for _, r in records if type(r) is kind})
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ", ".join(f":s{i}" for i in range(len(chunk)))
            rows = conn.execute(
                text(f"SELECT source_id FROM {table} WHERE source_id IN ({marks})"),
                {f"s{i}": v for i, v in enumerate(chunk)},
            )
            found[kind].update(s for (s,) in rows)
    return found


def _units_by_serial(conn: Connection, serials: set[str]) -> dict[str, list[_Unit]]:
    """Units by lower-case serial, in every product."""
    wanted = sorted(serials)
    found: dict[str, list[_Unit]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = conn.execute(
            select(Unit.id, Unit.serial, Unit.build_id, Unit.product_id).where(
                func.lower(Unit.serial).in_(chunk)
            )
        )
        for ident, serial, build_id, product_id in rows:
            found.setdefault(serial.lower(), []).append(_Unit(ident, build_id, product_id))
    return found


def _product(uow: UnitOfWork, state: _State, key: str) -> tuple[int, str] | None:
    folded = key.lower()
    if folded not in state.products:
        stmt = scoped(select(Product.id, Product.key), state.actor, Product).where(
            func.lower(Product.key) == folded
        )
        row = uow.session.execute(stmt).first()
        state.products[folded] = (row[0], row[1]) if row is not None else None
    return state.products[folded]


def _build_stmt(state: _State) -> Any:
    stmt = select(Build.id, Build.code, Build.product_id, Product.key, Build.line_id).join(
        Product, Product.id == Build.product_id
    )
    return scoped(stmt, state.actor, Build)


def _build(uow: UnitOfWork, state: _State, code: str, product_id: int | None) -> _Build | str:
    """The build with ``code`` (in the product, when given), or why there is none."""
    key = (product_id, code.lower())
    if key not in state.builds:
        stmt = _build_stmt(state).where(func.lower(Build.code) == code.lower())
        if product_id is not None:
            stmt = stmt.where(Build.product_id == product_id)
        rows = [_Build(*row) for row in uow.session.execute(stmt)]
        if not rows:
            state.builds[key] = f"build {code!r} does not exist"
        elif len(rows) > 1:
            products = ", ".join(sorted(b.product_key for b in rows))
            state.builds[key] = (
                f"build {code!r} exists in several products ({products}); name the product"
            )
        else:
            state.builds[key] = rows[0]
            state.builds_by_id[rows[0].id] = rows[0]
    return state.builds[key]


def _build_of(uow: UnitOfWork, state: _State, build_id: int) -> _Build | None:
    """The build with this id, or None when it is outside the actor's scope."""
    if build_id not in state.builds_by_id:
        row = uow.session.execute(_build_stmt(state).where(Build.id == build_id)).first()
        state.builds_by_id[build_id] = _Build(*row) if row is not None else None
    return state.builds_by_id[build_id]


def _station(uow: UnitOfWork, state: _State, build: _Build, record: Record) -> int | str | None:
    """The id of the record's station on the build's line (None for none), or why not."""
    name = record.station
    stations = _stations(uow, state, build.line_id)
    if state.actor.station_id is not None:
        refusal = bound_station_refusal(stations, state.actor.station_id, build.code, name)
        if refusal is not None:
            return refusal
    if name is None:
        return None
    if build.line_id is None:
        return f"station {name!r} cannot be used: build {build.code} has no line"
    found = stations.get(name)
    if found is None:
        same = [sid for n, sid in stations.items() if n.lower() == name.lower()]
        found = same[0] if len(same) == 1 else None
    if found is None:
        return f"station {name!r} is not a station on the line of build {build.code}"
    return found


def _stations(uow: UnitOfWork, state: _State, line_id: int | None) -> dict[str, int]:
    if line_id is None:
        return {}
    if line_id not in state.stations:
        rows = uow.session.execute(
            select(Station.name, Station.id).where(Station.line_id == line_id)
        )
        state.stations[line_id] = dict(rows.all())
    return state.stations[line_id]


def _defect_code(uow: UnitOfWork, state: _State, code: str) -> int | None:
    if state.defect_codes is None:
        rows = uow.session.execute(select(DefectCode.code, DefectCode.id))
        state.defect_codes = {c.lower(): i for c, i in rows}
    return state.defect_codes.get(code.lower())


def _characteristics(uow: UnitOfWork, state: _State, product_id: int) -> _Characteristics:
    if product_id not in state.characteristics:
        chars = _Characteristics({}, {}, {})
        by_id: dict[int, _Limits] = {}
        rows = uow.session.execute(
            select(
                Characteristic.id,
                Characteristic.name,
                Characteristic.unit,
                Characteristic.lsl,
                Characteristic.usl,
            ).where(Characteristic.product_id == product_id)
        )
        for ident, name, unit, lsl, usl in rows:
            limits = _Limits(ident, name, unit, lsl, usl)
            by_id[ident] = limits
            chars.add(name, limits)
        aliases = uow.session.execute(
            select(CharacteristicAlias.alias, CharacteristicAlias.characteristic_id).where(
                CharacteristicAlias.product_id == product_id
            )
        )
        chars.aliases = {a.lower(): by_id[c] for a, c in aliases if c in by_id}
        state.characteristics[product_id] = chars
    return state.characteristics[product_id]


def _new_characteristics(
    uow: UnitOfWork,
    state: _State,
    runs: Sequence[_Placed],
    block: MeasurementBlock,
    mapping: _Mapping | None = None,
) -> list[NewCharacteristic]:
    """Create a characteristic for every measurement name of ``runs`` (whose measurements
    ``block`` holds) no characteristic has; with ``mapping``, note there how each name finds
    its characteristic."""
    created: list[tuple[_Build, Characteristic]] = []
    known: dict[int, set[str]] = {}  # per product: the names found already
    starts = block.starts.tolist()
    for k, placed in enumerate(runs):
        chars = _characteristics(uow, state, placed.build.product_id)
        seen = known.setdefault(placed.build.product_id, set())
        a, b = starts[k], starts[k + 1]
        names = block.names[a:b]
        if mapping is not None:
            for name in names:
                mapping.see(placed.build.product_key, chars, name)
        if seen.issuperset(names):
            continue
        for j in range(a, b):
            name = block.names[j]
            if name in seen:
                continue
            seen.add(name)
            if chars.find(name) is not None:
                continue
            unit = block.units[j]
            lsl = float(block.lsl[j]) if block.lsl_given[j] else None
            usl = float(block.usl[j]) if block.usl_given[j] else None
            char = Characteristic(
                product_id=placed.build.product_id,
                name=name,
                unit=unit,
                lsl=lsl,
                usl=usl,
                ctq=False,
                description="Created by an ingest for a measurement name it did not know.",
            )
            uow.session.add(char)
            # A placeholder until the flush gives the id: later runs of the batch find it.
            chars.add(name, _Limits(0, name, unit, lsl, usl))
            created.append((placed.build, char))
    if not created:
        return []
    uow.session.flush()
    new = []
    for build, char in created:
        state.characteristics[build.product_id].add(
            char.name, _Limits(char.id, char.name, char.unit, char.lsl, char.usl)
        )
        new.append(NewCharacteristic(product=build.product_key, name=char.name, id=char.id))
    return new


class _MeasurementColumns:
    """The measurements of a batch's new test runs as the columns they are stored in.

    Each name's characteristic is looked up once per product; a measurement without limits of
    its own takes its characteristic's (and its unit, if it gives none); a measurement given no
    outcome but a value and a limit is judged against them; a run given no outcome takes its
    measurements' (``fail`` if one failed, ``pass`` if one passed and none failed)."""

    def __init__(
        self,
        runs: Sequence[_Placed],
        block: MeasurementBlock,
        columns: dict[str, Any],
        arrays: dict[str, np.ndarray],
        run_outcomes: list[Outcome],
    ) -> None:
        self.runs = runs
        self.block = block
        self.columns = columns
        self.arrays = arrays
        self.run_outcomes = run_outcomes

    @classmethod
    def of(
        cls, state: _State, runs: Sequence[_Placed], block: MeasurementBlock
    ) -> _MeasurementColumns:
        table, codes = _limit_codes(state, runs, block)
        ids = np.array([t.id if t else -1 for t in table], dtype=np.int64)[codes]
        c_lsl = np.array([_nan(t.lsl if t else None) for t in table], dtype=np.float64)[codes]
        c_usl = np.array([_nan(t.usl if t else None) for t in table], dtype=np.float64)[codes]
        own = block.lsl_given | block.usl_given
        lsl = np.where(own, block.lsl, c_lsl)
        usl = np.where(own, block.usl, c_usl)
        lsl_given = np.where(own, block.lsl_given, ~np.isnan(c_lsl))
        usl_given = np.where(own, block.usl_given, ~np.isnan(c_usl))
        outcomes = judge(
            block.values,
            np.where(lsl_given, lsl, np.nan),
            np.where(usl_given, usl, np.nan),
            block.outcomes,
        )
        derived = run_outcomes(outcomes, block.starts)
        given = [cast(TestRunIn, p.record).outcome for p in runs]
        units_of = [t.unit if t else "" for t in table]
        code_list = codes.tolist()
        started = [cast(TestRunIn, p.record).started_at for p in runs]
        char_ids = ids.astype(object)
        char_ids[ids < 0] = None
        columns: dict[str, Any] = {
            "unit_id": repeated([p.unit_id for p in runs], block.starts),
            "characteristic_id": char_ids.tolist(),
            "name": block.names,
            "value": nullable(block.values, block.value_given),
            "text_value": block.text_values,
            "unit": [u or units_of[c] for u, c in zip(block.units, code_list, strict=True)],
            "lsl": nullable(lsl, lsl_given),
            "usl": nullable(usl, usl_given),
            "outcome": outcomes,
            "marginal": block.marginal,
            "series": [None if x is None else [list(row) for row in x] for x in block.series],
            "measured_at": [
                m or t
                for m, t in zip(block.measured_at, repeated(started, block.starts), strict=True)
            ],
        }
        arrays = {
            "builds": np.repeat(
                np.array([p.build.id for p in runs], dtype=np.int64), np.diff(block.starts)
            ),
            "characteristics": ids,
            "lsl": np.where(lsl_given, lsl, np.nan),
            "usl": np.where(usl_given, usl, np.nan),
            "passed": is_outcome(outcomes, Outcome.PASS),
            "failed": is_outcome(outcomes, Outcome.FAIL),
        }
        outcome_of_run = [
            own_outcome if own_outcome is not Outcome.UNSET else judged
            for own_outcome, judged in zip(given, derived, strict=True)
        ]
        return cls(runs, block, columns, arrays, outcome_of_run)

    def store(self, conn: Connection, run_ids: Sequence[int]) -> None:
        """Insert the measurements of the runs stored with ``run_ids``, and their totals."""
        n = len(self.block)
        if n == 0:
            return
        self.columns["test_run_id"] = repeated(list(run_ids), self.block.starts)
        a = self.arrays
        deltas = bulk.characteristic_stat_deltas_of(
            builds=a["builds"],
            characteristics=a["characteristics"],
            values=self.block.values,
            lsl=a["lsl"],
            usl=a["usl"],
            passed=a["passed"],
            failed=a["failed"],
        )
        bulk.insert_measurement_columns(conn, self.columns, n, deltas=deltas)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _limit_codes(
    state: _State, runs: Sequence[_Placed], block: MeasurementBlock
) -> tuple[list[_Limits | None], np.ndarray]:
    """The characteristics the block's names map onto, and per measurement its position in
    that list (0: none)."""
    table: list[_Limits | None] = [None]
    position: dict[int, int] = {}  # id(_Limits) -> its position in table
    per_product: dict[int, dict[str, int]] = {}
    codes = np.zeros(len(block), dtype=np.int64)
    starts = block.starts.tolist()
    for k, placed in enumerate(runs):
        product = placed.build.product_id
        chars = state.characteristics[product]
        codes_of = per_product.setdefault(product, {})
        a, b = starts[k], starts[k + 1]
        names = block.names[a:b]
        for name in set(names).difference(codes_of):
            found = chars.find(name)
            if found is None:
                codes_of[name] = 0
                continue
            at = position.get(id(found))
            if at is None:
                at = position[id(found)] = len(table)
                table.append(found)
            codes_of[name] = at
        codes[a:b] = [codes_of[name] for name in names]
    return table, codes


# --------------------------------------------------------------------------------------------
# Rows


def _run_row(p: _Placed, outcome: Outcome) -> dict[str, Any]:
    run = p.record
    assert isinstance(run, TestRunIn)
    return {
        "unit_id": p.unit_id,
        "station_id": p.station_id,
        "procedure": run.procedure,
        "outcome": outcome,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "operator": run.operator,
        "source": run.source,
        "source_id": run.source_id,
        "extra": _run_extra(run),
    }


def _attachment_rows(runs: Sequence[_Placed], run_ids: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "test_run_id": run_id,
            "name": a.name,
            "mimetype": a.mimetype,
            "size": a.size,
            "sha1": a.sha1,
        }
        for placed, run_id in zip(runs, run_ids, strict=True)
        for a in cast(TestRunIn, placed.record).attachments
    ]


def _pass_row(p: _Placed) -> dict[str, Any]:
    record = p.record
    assert isinstance(record, StationPassIn)
    return {
        "unit_id": p.unit_id,
        "station_id": p.station_id,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "operator": record.operator,
        "result": record.result,
        "attempt": record.attempt,
        "source_id": record.source_id,
    }


def _defect_row(p: _Placed) -> dict[str, Any]:
    record = p.record
    assert isinstance(record, DefectIn)
    return {
        "unit_id": p.unit_id,
        "station_id": p.station_id,
        "defect_code_id": p.extra,
        "severity": record.severity,
        "disposition": record.disposition,
        "cost": record.cost,
        "found_at": record.found_at,
        "notes": record.notes,
        "source_id": record.source_id,
    }
