"""Signing in to the pages: the session cookie, the permission each page declares, the limit on
sign-in attempts, and the sign-in, sign-out and password pages.

The cookie ``phasegate_session`` holds the session's random id, signed with the application's
key; the session itself lives in the database (``services/identity.py``), so signing out or an
administrator disabling the account ends it at once. Each page route declares what it needs in
``openapi_extra={PERMISSION_KEY: ...}``; ``check_permission`` enforces it before the handler
runs: an anonymous visitor is sent to the sign-in page, a role without the permission gets 403.
CSRF tokens are checked before any of this, by ``asgi-csrf`` (``web/security.py``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from phasegate.config import Settings
from phasegate.domain.errors import Forbidden, InvalidInput, TooManyAttempts, Unauthenticated
from phasegate.domain.policy import (
    PERMISSION_KEY,
    PUBLIC,
    SIGNED_IN,
    Principal,
    parse_permission,
)
from phasegate.domain.text import storable
from phasegate.services.access import authorize
from phasegate.services.identity import (
    SessionTimes,
    SignedIn,
    authenticate,
    change_own_password,
    end_session,
    resolve_session,
    start_session,
)
from phasegate.store.uow import UnitOfWork
from phasegate.web.rendering import is_htmx, render, url_with

SESSION_COOKIE = "phasegate_session"
SESSION_SALT = "phasegate.session"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
PASSWORD_PATH = "/account/password"
# Sign-in attempts one client address may make per window, whatever the names it tries; the
# per-account lock-out (``identity.MAX_FAILED_LOGINS``) guards each account besides.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_S = 60.0
FIELD_MAX_LENGTH = 2048  # a sign-in name or password longer than this is no sign-in


_UNKNOWN = object()


class SignInRequired(Exception):
    """Nobody is signed in on a page that needs someone: go to the sign-in page."""


class PasswordChangeRequired(Exception):
    """The user must set a new password before using any other page."""


class AttemptLimiter:
    """At most ``limit`` attempts per key in any ``window_s`` seconds (a sliding window), in
    this process."""

    def __init__(
        self,
        limit: int = LOGIN_ATTEMPTS,
        window_s: float = LOGIN_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count an attempt by ``key``; False (and not counted) when it is one too many."""
        now = self._clock()
        with self._lock:
            if len(self._attempts) > 10_000:
                self._forget_before(now - self.window_s)
            times = self._attempts.setdefault(key, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True

    def _forget_before(self, cutoff: float) -> None:
        stale = [k for k, times in self._attempts.items() if not times or times[-1] <= cutoff]
        for key in stale:
            del self._attempts[key]


# The session cookie ----------------------------------------------------------------------------


def session_times(settings: Settings) -> SessionTimes:
    return SessionTimes(
        idle=dt.timedelta(minutes=settings.session_idle_minutes),
        absolute=dt.timedelta(hours=settings.session_max_hours),
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.uow_factory()
    return uow


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.signing_key, salt=SESSION_SALT)


def _session_id(request: Request) -> str | None:
    """The session id the cookie carries, if its signature holds and it is not too old."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    max_age = _settings(request).session_max_hours * 3600
    try:
        value = _serializer(request).loads(cookie, max_age=max_age)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def signed_in(request: Request) -> SignedIn | None:
    """Who is signed in with this request's cookie (looked up once per request)."""
    found = getattr(request.state, "user", _UNKNOWN)
    if found is None or isinstance(found, SignedIn):
        return found
    sid = _session_id(request)
    user = None
    if sid is not None:
        user = resolve_session(_uow(request), sid, session_times(_settings(request)))
    request.state.user = user
    return user


def actor(request: Request) -> Principal:
    """The signed-in user of a page whose permission ``check_permission`` has checked."""
    user = signed_in(request)
    if user is None:
        raise SignInRequired
    return user.principal


def _set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    settings = _settings(request)
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(request).dumps(session_id),
        max_age=settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.https,
    )


def _clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).https,
    )


# The permission each page declares -------------------------------------------------------------


def declared_permission(request: Request) -> str | None:
    """The ``x-permission`` text of the route that answers this request."""
    route = request.scope.get("route")
    extra: dict[str, Any] = getattr(route, "openapi_extra", None) or {}
    text = extra.get(PERMISSION_KEY)
    return text if isinstance(text, str) else None


def check_permission(request: Request) -> None:
    """Enforce the route's declared permission before its handler runs.

    A route that declares nothing is refused to everyone: a page is public only by saying so.
    """
    text = declared_permission(request)
    if text is None:
        if signed_in(request) is None:
            raise SignInRequired
        raise Forbidden(f"the page {request.url.path} declares no permission")
    if text == PUBLIC:
        return
    user = signed_in(request)
    if user is None:
        raise SignInRequired
    if user.must_change_password and request.url.path not in (PASSWORD_PATH, LOGOUT_PATH):
        raise PasswordChangeRequired
    needed = parse_permission(text)
    if needed is not None:
        authorize(user.principal, *needed)


def _redirect(request: Request, location: str) -> Response:
    """A redirect a browser follows; HTMX is told to load the whole page there instead."""
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, 303)


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _redirect(request, url_with(LOGIN_PATH, next=here if here != "/" else None))


def password_redirect(request: Request) -> Response:
    return _redirect(request, PASSWORD_PATH)


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: the sign-in page never sends a
    browser elsewhere (no open redirect)."""
    if not target or len(target) > 2000 or not storable(target):
        return "/"
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in (LOGIN_PATH, LOGOUT_PATH):
        return "/"
    return target


# The pages -------------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_permission)])
PUBLIC_PAGE = {PERMISSION_KEY: PUBLIC}
# Signing out and changing one's own password need a signed-in user of any role.
SIGNED_IN_PAGE = {PERMISSION_KEY: SIGNED_IN}


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:FIELD_MAX_LENGTH] if isinstance(value, str) else ""


def _login_page(
    request: Request, next_path: str, *, name: str = "", error: str = "", status: int = 200
) -> Response:
    context = {"nav": "login", "next": next_path, "name": name, "error": error}
    return render(request, "login.html", context, status_code=status)


@router.get(LOGIN_PATH, name="login", openapi_extra=PUBLIC_PAGE)
def login_form(request: Request, next: str | None = None) -> Response:
    target = local_path(next)
    if signed_in(request) is not None:
        return RedirectResponse(target, 303)
    return _login_page(request, target)


@router.post(LOGIN_PATH, name="login_submit", openapi_extra=PUBLIC_PAGE)
async def login_submit(request: Request) -> Response:
    form = await request.form()
    name, password = _field(form, "name").strip(), _field(form, "password")
    target = local_path(_field(form, "next"))
    limiter: AttemptLimiter = request.app.state.login_limiter
    if not limiter.allow(_client(request)):
        message = "too many sign-in attempts from this address: wait a minute and try again"
        return _login_page(request, target, name=name, error=message, status=429)
    if not name or not password:
        return _login_page(
            request, target, name=name, error="enter your name and password", status=400
        )
    uow = _uow(request)
    try:
        principal = authenticate(uow, name, password, client=_client(request))
    except TooManyAttempts as error:
        return _login_page(request, target, name=name, error=error.message, status=429)
    except Unauthenticated as error:
        return _login_page(request, target, name=name, error=error.message, status=401)
    old = _session_id(request)
    if old is not None:  # a new id at every sign-in: a planted cookie signs nobody in
        end_session(uow, old)
    sid = start_session(uow, principal, session_times(_settings(request)), client=_client(request))
    response = RedirectResponse(target, 303)
    _set_session_cookie(request, response, sid)
    return response


@router.post(LOGOUT_PATH, name="logout", openapi_extra=SIGNED_IN_PAGE)
def logout(request: Request) -> Response:
    sid = _session_id(request)
    if sid is not None:
        end_session(_uow(request), sid)
    response = RedirectResponse(LOGIN_PATH, 303)
    _clear_session_cookie(request, response)
    return response


def _password_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    user = signed_in(request)
    context = {"nav": "account", "error": error, "forced": bool(user and user.must_change_password)}
    return render(request, "password.html", context, status_code=status)


@router.get(PASSWORD_PATH, name="password", openapi_extra=SIGNED_IN_PAGE)
def password_form(request: Request) -> Response:
    return _password_page(request)


@router.post(PASSWORD_PATH, name="password_submit", openapi_extra=SIGNED_IN_PAGE)
async def password_submit(request: Request) -> Response:
    user = signed_in(request)
    if user is None:
        raise SignInRequired
    form = await request.form()
    new = _field(form, "new_password")
    if new != _field(form, "confirm_password"):
        return _password_page(request, error="the two new passwords differ", status=400)
    uow = _uow(request)
    try:
        change_own_password(uow, user.principal, _field(form, "current_password"), new)
    except InvalidInput as error:
        return _password_page(request, error=error.message, status=400)
    # The change ended every session of the user's; this browser goes on in a new one.
    sid = start_session(
        uow, user.principal, session_times(_settings(request)), client=_client(request)
    )
    response = RedirectResponse("/", 303)
    _set_session_cookie(request, response, sid)
    return response


ALWAYS_CSRF_CHECKED = frozenset({LOGIN_PATH})
"""Paths whose POST is CSRF-checked even from a browser without cookies (a forged sign-in);
every other form needs the session cookie, and a request with a cookie is always checked."""
