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

from starlette.datastructures import MutableHeaders
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
    UTF-8 (400), a token that is not ASCII (403), a multipart body (415: no page takes files).
    The body it read is handed on unchanged.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

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
    guarded = FormGuard(protected, max_body)

    async def pages_protected(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_api(scope):
            await app(scope, receive, send)
        else:
            await guarded(scope, receive, send)

    return pages_protected
