"""Checks on a request body before any route reads it: its size, its media type, its encoding.

Every body the API takes is JSON. ``RequestBodyCheck`` (ASGI middleware of the API) reads the
body of a POST, PUT or PATCH once, as it streams in, and answers in the error shape:

- 413 ``too_large`` when the body is larger than ``Settings.max_body_bytes``, whether the
  ``Content-Length`` says so or the bytes that arrive do (a chunked body has no length);
- 415 ``unsupported_media_type`` when a body is sent as anything but JSON
  (``application/json`` or ``application/<something>+json``, in UTF-8);
- 422 ``invalid_input`` (at ``body``) when the bytes are not UTF-8, as for JSON that does not
  parse.

Then the route gets the body as it came.

A file upload (``UPLOAD_PATHS``) is no JSON and may be large: it is not read here, and not held
in memory. Its route reads it as it streams in (a multipart form, whose file part goes to a
temporary file); the body is refused with 413 when its ``Content-Length`` says it is larger than
``Settings.max_upload_bytes``, and while it streams in as soon as more bytes than that arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message as MediaType

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phasegate.api.errors import ERRORS, error_response
from phasegate.config import Settings
from phasegate.domain.errors import FieldError, InvalidInput

WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
TOO_LARGE = 413
UNSUPPORTED_MEDIA_TYPE = 415
UPLOAD_PATHS = frozenset({"/ingest/files", "/ingest/preview"})
"""The API paths (below ``/api/v1``) whose POST is a file upload, with its own rules."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a body is refused: the status (a key of the error table) and what to say."""

    status: int | type[Exception]
    message: str
    fields: tuple[FieldError, ...] = ()

    def response(self) -> Response:
        status, kind = ERRORS[self.status]
        return error_response(status, kind, self.message, self.fields)


class RequestBodyCheck:
    """ASGI middleware: refuse a body that is too large, not JSON, or not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and _route_path(scope) in UPLOAD_PATHS:
            await self._upload(scope, receive, send)
            return
        limit = _limit(scope)
        headers = Headers(scope=scope)
        refusal = _check_headers(headers, limit)
        if refusal is not None:
            await refusal.response()(scope, receive, send)
            return
        body = await _read_body(receive, limit)
        if body is None:  # the client went away
            return
        refusal = _check_body(headers, body, limit)
        if refusal is not None:
            await refusal.response()(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A file upload: refused early by its declared length, else counted as it arrives."""
        limit = _settings(scope).max_upload_bytes
        length = Headers(scope=scope).get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > limit:
            await _too_large(limit, "upload").response()(scope, receive, send)
            return
        await self.app(scope, _counted(receive, limit), send)


def _route_path(scope: Scope) -> str:
    """The path below the API's mount point (``/api/v1``)."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root + "/") else path


def _settings(scope: Scope) -> Settings:
    settings = getattr(scope["app"].state, "settings", None)
    return settings if isinstance(settings, Settings) else Settings()


def _limit(scope: Scope) -> int:
    return int(_settings(scope).max_body_bytes)


def _too_large(limit: int, what: str = "request body") -> Refusal:
    return Refusal(TOO_LARGE, f"the {what} is larger than the limit of {limit} bytes")


def _counted(receive: Receive, limit: int) -> Receive:
    """A ``receive`` that stops the request with 413 once more than ``limit`` bytes came."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise HTTPException(TOO_LARGE, _too_large(limit, "upload").message)
        return message

    return counted


def _check_headers(headers: Headers, limit: int) -> Refusal | None:
    """What the headers alone refuse: a declared length over the limit, a type that is not JSON."""
    length = headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        return _too_large(limit)
    media_type = headers.get("content-type")
    if media_type is not None and not _is_json(media_type):
        return Refusal(
            UNSUPPORTED_MEDIA_TYPE,
            f"the request body must be JSON (application/json in UTF-8), not {media_type!r}",
        )
    return None


def _is_json(media_type: str) -> bool:
    parsed = MediaType()
    parsed["content-type"] = media_type
    subtype = parsed.get_content_subtype()
    charset = str(parsed.get_param("charset", "utf-8")).lower()
    return (
        parsed.get_content_maintype() == "application"
        and (subtype == "json" or subtype.endswith("+json"))
        and charset in ("utf-8", "utf8")
    )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or as much of it as shows it is over the limit; None on disconnect."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit or not message.get("more_body", False):
            return b"".join(chunks)


def _check_body(headers: Headers, body: bytes, limit: int) -> Refusal | None:
    if len(body) > limit:
        return _too_large(limit)
    if body and "content-type" not in headers:
        return Refusal(
            UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON: send Content-Type: application/json",
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"is not UTF-8 text (byte {error.start} cannot be read)"
        return Refusal(InvalidInput, f"body: {problem}", (FieldError("body", problem),))
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever comes next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
