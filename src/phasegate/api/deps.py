"""Dependencies every route shares: the unit of work and who is acting.

Every route declares the permission it needs in its ``x-permission`` (``PERMISSION_KEY``):
``"public"`` or ``"<action>:<kind>"``. ``GuardedRoute`` (the route class of every router)
reads it when the route is made — a route that declares nothing cannot be made — and gives each
non-public route a dependency that resolves the bearer token (401 without a valid one) and
checks the permission (403 when the token's role or scopes do not allow it) before the endpoint
runs. The endpoint gets the same ``Principal`` (``Acting``) and passes it to the services, which
check again and scope a partner user's queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from phasegate.domain.errors import Unauthenticated
from phasegate.domain.policy import PERMISSION_KEY, PUBLIC, Principal, parse_permission
from phasegate.services import identity
from phasegate.services.access import authorize
from phasegate.store.uow import UnitOfWork

BEARER_SCHEME = "bearerAuth"
NO_TOKEN = "send Authorization: Bearer TOKEN (create a token with `phasegate tokens create`)"


def get_uow(request: Request) -> UnitOfWork:
    """A new unit of work from the factory the composition root put on the app."""
    uow: UnitOfWork = request.app.state.uow_factory()
    return uow


Uow = Annotated[UnitOfWork, Depends(get_uow)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name=BEARER_SCHEME,
    description="An API token: `Authorization: Bearer TOKEN`. Create one with "
    "`phasegate tokens create --scope read|write|ingest|admin`.",
)


def get_principal(
    uow: Uow,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Who the request's bearer token acts for; ``Unauthenticated`` without a valid one."""
    if credentials is None:
        raise Unauthenticated(NO_TOKEN)
    return identity.resolve_token(uow, credentials.credentials)


Acting = Annotated[Principal, Depends(get_principal)]
"""The principal of the request's token, resolved once per request."""


def _permission_check(text: str) -> Callable[[Principal], None]:
    """The dependency that lets a request through only with ``text``'s permission."""
    parsed = parse_permission(text)

    def check_permission(principal: Acting) -> None:
        if parsed is not None:  # else any valid token will do
            authorize(principal, *parsed)

    check_permission.permission = text  # type: ignore[attr-defined]
    return check_permission


def _is_check(dependency: Any) -> bool:
    return hasattr(getattr(dependency, "dependency", None), "permission")


class GuardedRoute(APIRoute):
    """An API route that must declare its permission, and whose permission is enforced."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        dependencies: Sequence[DependsParam] | None = None,
        openapi_extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        declared = (openapi_extra or {}).get(PERMISSION_KEY)
        if not isinstance(declared, str):
            name = getattr(endpoint, "__name__", repr(endpoint))
            raise TypeError(f"route {path} ({name}) declares no {PERMISSION_KEY}")
        deps = list(dependencies or ())
        if declared != PUBLIC and not any(_is_check(d) for d in deps):
            deps.insert(0, Depends(_permission_check(declared)))
        super().__init__(path, endpoint, dependencies=deps, openapi_extra=openapi_extra, **kwargs)
