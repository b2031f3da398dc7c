"""The security headers every response of the application carries: pages, static files, the API,
its documentation and every error answer.

The Content-Security-Policy lets a page load and run only the project's own files under
``/static`` (htmx, Plotly, Swagger UI and our scripts and stylesheet): no inline script, no
inline style, no plug-ins, no framing, forms posting only back to this server. Chart figures
travel in ``data-figure`` attributes and the API docs' settings in ``data-*`` attributes, which
a policy allows because they are never executed. Images may also be ``data:`` URLs: Swagger UI's
stylesheet draws its icons with them.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors 'none' for browsers that predate it
}


class SecurityHeaders:
    """ASGI middleware setting :data:`SECURITY_HEADERS` on every HTTP response passing through.

    The composition root wraps the whole application in it, outside the server-error handler,
    so even the page of a 500 carries the headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# CSRF protection of the pages ------------------------------------------------------------------

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrftoken"  # the hidden input, first in every form
CSRF_HEADER = "x-csrftoken"  # what HTMX sends, from hx-headers on <body>
FORM = b"application/x-www-form-urlencoded"


def _is_api(scope: Scope) -> bool:
    path: str = scope["path"]
    return path == "/api" or path.startswith("/api/")


async def _refuse(scope: Scope, send: Send, status: int, title: str, message: str) -> None:
    """The site's error page, answered before the application has seen the request."""
    from starlette.requests import Request

    from phasegate.web.rendering import render

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    context = {"status": status, "title": title, "message": message}
    response = render(Request(scope), "error.html", context, status_code=status)
    await response(scope, no_body, send)


async def _csrf_failed(scope: Scope, send: Send, reason: object) -> None:
    await _refuse(
        scope,
        send,
        403,
        "Request refused",
        "the form's security token is missing or out of date (the CSRF check failed): "
        "reload the page and send it again",
    )


class FormGuard:
    """What ``asgi-csrf`` reads of a page request, checked first, so that bad input gets a
    4xx page rather than an error inside the CSRF check: a Cookie header that is not UTF-8
    or not a cookie list (400), a body larger than ``max_body`` (413), a form body that is not
    UTF-8 (400), a token that is not ASCII (403), a multipart body (415), except on the pages
    that take files (:data:`UPLOAD_PATHS`, see :func:`_guard_upload`).
    The body it read is handed on unchanged.
    """

    def __init__(self, app: ASGIApp, max_body: int, secret: str | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.secret = secret  # signs the CSRF cookie: uploads are checked here

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_api(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not _cookies_readable(headers.get(b"cookie", b"")):
            await _refuse(scope, send, 400, "Invalid request", "the Cookie header is unreadable")
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if scope["path"] in UPLOAD_PATHS and _media_type(headers) == MULTIPART:
            await _guard_upload(self.app, scope, receive, send, headers, self.secret)
            return
        refusal = _refusal(headers, self.max_body)
        if refusal is None:
            body, messages = await _read_body(receive, self.max_body)
            refusal = _body_refusal(headers, body, self.max_body)
            if refusal is None:
                await self.app(scope, _replay(messages, receive), send)
                return
        await _refuse(scope, send, *refusal)


def _cookies_readable(raw: bytes) -> bool:
    from http.cookies import CookieError, SimpleCookie

    try:
        SimpleCookie().load(raw.decode("utf-8"))
    except (UnicodeDecodeError, CookieError):
        return False
    return True


TOO_LARGE = (413, "Request too large", "the form is larger than this server accepts")


def _refusal(headers: dict[bytes, bytes], max_body: int) -> tuple[int, str, str] | None:
    """Why the request is refused from its headers alone, if it is."""
    if not headers.get(CSRF_HEADER.encode(), b"").isascii():
        return 403, "Request refused", "the CSRF token header is not ASCII"
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if content_type == b"multipart/form-data":
        return 415, "Unsupported form", "the pages take no file uploads: send a plain form"
    length = headers.get(b"content-length", b"").strip()
    if length and (not length.isdigit() or int(length) > max_body):
        return TOO_LARGE
    return None


# File uploads ---------------------------------------------------------------------------------

UPLOAD_PATHS = frozenset({"/ingest", "/ingest/preview"})
"""The pages whose POST takes files, as ``multipart/form-data``."""
MULTIPART = b"multipart/form-data"
DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024
TOKEN_WITHIN = 64 * 1024
"""The bytes of an upload within which its ``csrftoken`` field must have come."""
CSRF_COOKIE = "csrftoken"
CSRF_SALT = "csrftoken"  # asgi-csrf's signing namespace


def _media_type(headers: dict[bytes, bytes]) -> bytes:
    return headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()


def max_upload_bytes(scope: Scope) -> int:
    """The largest upload the server takes: ``Settings.max_upload_bytes`` of the application."""
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return int(getattr(settings, "max_upload_bytes", DEFAULT_MAX_UPLOAD))


def _too_large_message(limit: int) -> str:
    return f"the upload is larger than this server takes ({limit:,} bytes)"


class UploadTooLarge(HTTPException):
    """More bytes of an upload arrived than the server takes: a 413, raised while the page
    reads the form."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))
        self.limit = limit


TOKEN_LATE = (
    403,
    "Request refused",
    "the form's security token (csrftoken) must come first, before the files",
)


async def _guard_upload(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[bytes, bytes],
    secret: str | None,
) -> None:
    """A file upload to a page, checked here in full so that it is never held whole in memory
    and never reaches the multipart reading of ``asgi-csrf`` (which holds everything before the
    token, and fails on the ``python-multipart`` it runs with).

    Refused: a declared length over the upload limit (413); a form whose ``csrftoken`` field
    does not come before any file within the first :data:`TOKEN_WITHIN` bytes, or does not
    match the signed CSRF cookie (403); a form ``asgi-csrf`` could not read the boundary of
    (400). An upload that passes goes on with the form's token as the ``x-csrftoken`` header,
    which ``asgi-csrf`` checks against the cookie again; what was read is handed on, and the
    rest streams through counted: past the limit, reading it raises :class:`UploadTooLarge`.
    A request without cookies is no forged browser request: it goes on (to the sign-in page).
    """
    limit = max_upload_bytes(scope)
    refusal = _upload_refusal(headers, limit)
    if refusal is None and not headers.get(b"cookie"):
        await app(scope, _counted(receive, limit), send)
        return
    if refusal is None:
        boundary = headers[b"content-type"].split(b"; boundary=")[1]
        messages, token = await _form_token(receive, boundary)
        refusal = token if isinstance(token, tuple) else None
        if isinstance(token, str):
            if not _matches_cookie(token, headers, secret):
                await _csrf_failed(scope, send, None)
                return
            scope = {**scope, "headers": _with_token_header(scope, token)}
            await app(scope, _counted(_replay(messages, receive), limit), send)
            return
    assert refusal is not None
    await _refuse(scope, send, *refusal)


def _upload_refusal(headers: dict[bytes, bytes], limit: int) -> tuple[int, str, str] | None:
    length = headers.get(b"content-length", b"").strip()
    if length and (not length.isdigit() or int(length) > limit):
        return 413, "Upload too large", _too_large_message(limit)
    # asgi-csrf takes the boundary after exactly "; boundary=": a form it could not read is
    # refused here rather than failing there.
    parts = headers.get(b"content-type", b"").split(b"; boundary=")
    if len(parts) != 2 or not parts[1] or not parts[1].isascii():
        return 400, "Invalid request", "the multipart form has no boundary that can be read"
    return None


def _matches_cookie(token: str, headers: dict[bytes, bytes], secret: str | None) -> bool:
    """Whether ``token`` is the value of the request's CSRF cookie, signed by ``secret``, as
    ``asgi-csrf`` checks it."""
    import secrets
    from http.cookies import SimpleCookie

    from itsdangerous import BadSignature, URLSafeSerializer

    cookies: SimpleCookie = SimpleCookie()
    cookies.load(headers.get(b"cookie", b"").decode("utf-8"))  # readable: checked before
    morsel = cookies.get(CSRF_COOKIE)
    if morsel is None or secret is None:
        return False
    try:
        URLSafeSerializer(secret).loads(morsel.value, CSRF_SALT)
    except BadSignature:
        return False
    return secrets.compare_digest(token.encode(), morsel.value.encode())


def _with_token_header(scope: Scope, token: str) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != CSRF_HEADER.encode()]
    return [*kept, (CSRF_HEADER.encode(), token.encode())]


class _TokenFound(Exception):
    pass


class _FileFirst(Exception):
    pass


MAX_TOKEN = 1000  # far longer than any token asgi-csrf makes


async def _form_token(
    receive: Receive, boundary: bytes
) -> tuple[list[Message], str | tuple[int, str, str]]:
    """The messages read until the form's ``csrftoken`` field was complete, and the token, or
    the refusal when a file, the end of the form or :data:`TOKEN_WITHIN` bytes came first, or
    the token is not ASCII text."""
    parser = _token_parser(boundary)
    messages: list[Message] = []
    size = 0
    try:
        while size <= TOKEN_WITHIN:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            parser.write(chunk)
            if not message.get("more_body", False):
                break
    except _TokenFound as found:
        value: bytes = found.args[0]
        if not value.isascii() or len(value) > MAX_TOKEN:
            return messages, (403, "Request refused", "the form's CSRF token is not ASCII")
        return messages, value.decode()
    except _FileFirst:
        return messages, TOKEN_LATE
    except Exception:  # the parser's errors on a malformed form, whatever their class
        return messages, (400, "Invalid request", "the multipart form cannot be read")
    return messages, TOKEN_LATE


def _token_parser(boundary: bytes) -> Any:
    """A multipart parser that raises ``_TokenFound`` with the ``csrftoken`` field's value once
    it is complete, and ``_FileFirst`` at a file part before it."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    header: dict[str, bytes] = {"name": b"", "value": b""}
    disposition: list[bytes] = []
    value = bytearray()
    state = {"token": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        if header["name"].strip().lower() == b"content-disposition":
            disposition.append(header["value"].strip())
        header["name"] = header["value"] = b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(disposition[-1] if disposition else b"")
        disposition.clear()
        if options.get(b"filename") is not None:
            raise _FileFirst
        state["token"] = options.get(b"name") == CSRF_FIELD.encode()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["token"] and len(value) <= MAX_TOKEN:
            value.extend(data[start:end])

    def on_part_end() -> None:
        if state["token"]:
            raise _TokenFound(bytes(value))

    return MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive``, raising :class:`UploadTooLarge` once more than ``limit`` body bytes came."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise UploadTooLarge(limit)
        return message

    return counted


def _body_refusal(
    headers: dict[bytes, bytes], body: bytes | None, max_body: int
) -> tuple[int, str, str] | None:
    from urllib.parse import parse_qsl

    if body is None:
        return TOO_LARGE
    if headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower() != FORM:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "Invalid request", "the form is not UTF-8 text"
    fields = parse_qsl(text, keep_blank_values=True, max_num_fields=1000)
    if any(k == CSRF_FIELD and not v.isascii() for k, v in fields):
        return 403, "Request refused", "the form's CSRF token is not ASCII"
    return None


async def _read_body(receive: Receive, max_body: int) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than ``max_body``) and the messages it came in."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > max_body:
            return None, messages
        if not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


def protect_pages(app: ASGIApp, *, secret: str, https: bool, max_body: int) -> ASGIApp:
    """``app`` with the pages' CSRF protection (``asgi-csrf``, a signed double-submit cookie):
    every POST of a page from a browser with cookies (and every sign-in) needs the token, in the
    form field ``csrftoken`` or the header ``x-csrftoken``. The API is left out: it takes
    bearer tokens only and reads no cookie."""
    from asgi_csrf import asgi_csrf

    from phasegate.web.auth import ALWAYS_CSRF_CHECKED

    protected = asgi_csrf(
        app,
        signing_secret=secret,
        always_protect=set(ALWAYS_CSRF_CHECKED),
        skip_if_scope=_is_api,
        cookie_secure=https,
        cookie_samesite="Lax",
        send_csrf_failed=_csrf_failed,
    )
    guarded = FormGuard(protected, max_body, secret)

    async def pages_protected(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_api(scope):
            await app(scope, receive, send)
        else:
            await guarded(scope, receive, send)

    return pages_protected
