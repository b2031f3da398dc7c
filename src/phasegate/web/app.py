"""``install_web``: the pages, the static assets and the web adapter's one error table."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from phasegate.domain.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    GateBlocked,
    InvalidInput,
    NotFound,
    PhasegateError,
    PreconditionFailed,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from phasegate.web import auth
from phasegate.web.assets import AssetFiles
from phasegate.web.characteristics import router as characteristics_router
from phasegate.web.control_plan import router as control_plan_router
from phasegate.web.costing import router as costing_router
from phasegate.web.defects import router as defects_router
from phasegate.web.gate_decisions import router as gate_decisions_router
from phasegate.web.gates import router as gates_router
from phasegate.web.ingest import router as ingest_router
from phasegate.web.line_performance import router as line_performance_router
from phasegate.web.rendering import STATIC_DIR, render
from phasegate.web.routes import router
from phasegate.web.what_if import router as what_if_router

# The one table that turns the error family into pages: status code and heading.
ERROR_PAGES: dict[type[PhasegateError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    Forbidden: (403, "Not allowed"),
    TooManyAttempts: (429, "Too many attempts"),
    InvalidInput: (400, "Invalid request"),
    PreconditionFailed: (412, "Changed meanwhile"),  # before Conflict: it is one
    Conflict: (409, "Conflict"),
    GateBlocked: (409, "Gate blocked"),
    Unavailable: (503, "Database unavailable"),
    ConfigurationError: (503, "Not set up"),
}
HTTP_TITLES = {404: "Not found", 405: "Method not allowed"}
SERVER_ERROR = "the server failed to answer this request; the error is in its log"


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )


async def _phasegate_error(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        raise exc  # the API answers its own errors; anything reaching here is a bug there
    assert isinstance(exc, PhasegateError)
    if isinstance(exc, Unauthenticated):  # the session ended meanwhile: sign in again
        return auth.sign_in_redirect(request)
    status, title = next(
        (v for k, v in ERROR_PAGES.items() if isinstance(exc, k)), (400, "Request refused")
    )
    return error_page(request, status, title, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 404:
        message = f"there is no page at {request.url.path}"
    else:
        message = str(exc.detail)
    title = HTTP_TITLES.get(exc.status_code, "Request refused")
    return error_page(request, exc.status_code, title, message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(
        f"invalid {'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}"
        f" {e.get('input')!r}: {str(e.get('msg', '')).lower()}"
        for e in exc.errors()
    )
    return error_page(request, 400, "Invalid request", problems)


async def _server_error(request: Request, exc: Exception) -> Response:
    """Whatever escaped the table above still gets the error page, not a plain-text 500."""
    if _is_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return error_page(request, 500, "Server error", SERVER_ERROR)


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    return auth.sign_in_redirect(request)


async def _password_change_required(request: Request, exc: Exception) -> Response:
    return auth.password_redirect(request)


def install_web(app: FastAPI) -> None:
    """Add the pages and ``/static`` (a public mount) to ``app``; HTML error pages for every
    non-API path. Every page but the sign-in page needs a signed-in user."""
    app.state.login_limiter = auth.AttemptLimiter()
    app.mount("/static", AssetFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.include_router(ingest_router)
    app.include_router(defects_router)
    app.include_router(line_performance_router)
    app.include_router(what_if_router)
    app.include_router(costing_router)
    app.include_router(characteristics_router)
    app.include_router(control_plan_router)
    app.include_router(gates_router)
    app.include_router(gate_decisions_router)
    app.include_router(auth.router)
    app.add_exception_handler(auth.SignInRequired, _sign_in_required)
    app.add_exception_handler(auth.PasswordChangeRequired, _password_change_required)
    app.add_exception_handler(PhasegateError, _phasegate_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
