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
