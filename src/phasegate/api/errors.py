"""The API's one error table: every error leaves as ``{"error": {type, message, fields}}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from phasegate.api.schemas import ErrorOut
from phasegate.domain.errors import (
    ConfigurationError,
    Conflict,
    FieldError,
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

# The one table: error class (or the status of an HTTP error) -> (HTTP status, error type).
# First match wins, so subclasses come before their base.
ERRORS: dict[type[Exception] | int, tuple[int, str]] = {
    Unauthenticated: (401, Unauthenticated.kind),
    Forbidden: (403, Forbidden.kind),
    TooManyAttempts: (429, TooManyAttempts.kind),
    NotFound: (404, NotFound.kind),
    InvalidInput: (422, InvalidInput.kind),
    PreconditionFailed: (412, PreconditionFailed.kind),
    Conflict: (409, Conflict.kind),
    GateBlocked: (409, GateBlocked.kind),
    Unavailable: (503, Unavailable.kind),
    ConfigurationError: (503, ConfigurationError.kind),
    PhasegateError: (400, PhasegateError.kind),
    RequestValidationError: (422, InvalidInput.kind),  # the request does not fit the schema
    404: (404, NotFound.kind),  # no such route
    405: (405, "method_not_allowed"),  # the route exists, the method does not
    413: (413, "too_large"),  # the request body is over the limit (api/limits.py)
    415: (415, "unsupported_media_type"),  # the request body is not JSON (api/limits.py)
}

# What each error status means, for the OpenAPI document of the routes that can answer it.
_MEANINGS = {
    401: "No bearer token, or one that is unknown, revoked or expired, or whose account is "
    "disabled; `WWW-Authenticate` says which",
    403: "The token's role or scopes do not allow this",
    404: "No such record",
    409: "Conflicts with existing data or the gate plan",
    412: "`If-Match` names another version of the record than the current one",
    413: "The request body is larger than the server takes",
    415: "The request body is not JSON",
    422: "Invalid input; `fields` names each bad field",
    503: "The database is unavailable or not set up",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses, each in the one error shape."""
    return {status: {"model": ErrorOut, "description": _MEANINGS[status]} for status in statuses}


# Per kind of route, the errors it can answer (besides 405, which no operation can document).
# Every route but the public ones answers 401 without a valid token and 403 without permission.
READ_ERRORS = error_responses(401, 403, 404, 422, 503)
CREATE_ERRORS = error_responses(401, 403, 409, 413, 415, 422, 503)
CREATE_UNDER_ERRORS = error_responses(401, 403, 404, 409, 413, 415, 422, 503)  # under a URL
UPDATE_ERRORS = error_responses(401, 403, 404, 409, 412, 413, 415, 422, 503)

_SOURCES = ("body", "query", "path", "header", "cookie")
# Clearer words for the commonest complaints, by (error type, where the value came from).
_MESSAGES = {
    ("missing", "body"): "is required",
    ("missing", "query"): "is required",
    ("extra_forbidden", "body"): "is not a field that can be set here (unknown or read-only)",
    ("extra_forbidden", "query"): "is not a parameter of this request",
    # If-Match is the only header with a pattern
    ("string_pattern_mismatch", "header"): 'must be * or a list of entity tags such as "7.3"',
}


def error_response(
    status: int,
    kind: str,
    message: str,
    fields: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "fields": [f.as_dict() for f in fields]}}
    return JSONResponse(body, status_code=status, headers=headers)


def _lookup(error: Exception) -> tuple[int, str]:
    if isinstance(error, HTTPException):
        return ERRORS.get(error.status_code, (error.status_code, "http_error"))
    for kind, answer in ERRORS.items():
        if isinstance(kind, type) and isinstance(error, kind):
            return answer
    return 500, "internal_error"


def _field_error(detail: dict[str, Any]) -> FieldError:
    loc = [str(part) for part in detail.get("loc", ())]
    source = loc[0] if loc else "body"
    if len(loc) > 1 and source in _SOURCES:
        loc = loc[1:]
    kind = str(detail.get("type", ""))
    if kind == "json_invalid":
        loc = ["body"]
    message = _MESSAGES.get((kind, source), str(detail.get("msg", "is invalid")))
    return FieldError(".".join(loc) or "body", message)


def challenge(request: Request, error: Unauthenticated) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a 401 (RFC 6750): ``invalid_token`` when the request
    showed a bearer token that was refused."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return {"WWW-Authenticate": "Bearer"}
    reason = error.message.replace("\\", "").replace('"', "'")
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'}


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PhasegateError)
    status, kind = _lookup(error)
    headers = challenge(request, error) if isinstance(error, Unauthenticated) else None
    return error_response(status, kind, error.message, error.fields, headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    status, kind = _lookup(error)
    fields = [_field_error(detail) for detail in error.errors()]
    detail = "; ".join(f"{f.loc}: {f.message}" for f in fields)
    return error_response(status, kind, f"invalid input: {detail}", fields)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    status, kind = _lookup(error)
    if status == 405:
        allowed = allowed_methods(request)
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        return error_response(status, kind, message, headers={"Allow": allowed})
    messages = {404: f"{request.url.path} does not exist"}
    return error_response(
        status, kind, messages.get(status, str(error.detail)), headers=error.headers
    )


def allowed_methods(request: Request) -> str:
    """Every method some route takes at the request's path, for ``Allow``."""
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        methods = route.methods
        if methods and route.matches(request.scope)[0] is not Match.NONE:
            allowed.update(methods)
    return ", ".join(sorted(allowed))


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    status, kind = _lookup(error)
    return error_response(status, kind, "internal error; the server log has the details")


class NoSuchPath(BaseRoute):
    """A route for every path under ``prefix`` that no earlier route took: 404 in the error
    shape, whatever the method and whatever the path holds (a path pattern's ``.*`` would miss
    one with a newline)."""

    def __init__(self, prefix: str, hint: str) -> None:
        self.prefix = prefix
        self.hint = hint

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", ""))
        under = path == self.prefix or path.startswith(self.prefix + "/")
        return (Match.FULL if scope["type"] == "http" and under else Match.NONE), {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, kind = ERRORS[404]
        message = f"{scope['path']!r} does not exist; {self.hint}"
        await error_response(status, kind, message)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Translate every error into the one JSON shape."""
    app.add_exception_handler(PhasegateError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
