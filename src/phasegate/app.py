"""Composition root: settings -> engine -> unit-of-work factory -> FastAPI app (API + web)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import ASGIApp

from phasegate import __version__
from phasegate.config import Settings, get_settings
from phasegate.store import db
from phasegate.store.uow import UnitOfWork


def uow_factory_for(engine: Engine) -> Callable[[], UnitOfWork]:
    def factory() -> UnitOfWork:
        return UnitOfWork.for_engine(engine)

    return factory


class PhasegateApp(FastAPI):
    """The FastAPI application, its whole stack wrapped in the security headers: outside the
    server-error handler too, so every answer carries them, a 500 included."""

    def build_middleware_stack(self) -> ASGIApp:
        from phasegate.web.security import SecurityHeaders, protect_pages

        settings: Settings = self.state.settings
        pages = protect_pages(
            super().build_middleware_stack(),
            secret=self.state.signing_key,
            https=settings.https,
            max_body=settings.max_body_bytes,
        )
        return SecurityHeaders(pages)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The whole web application: ``/api/v1`` (JSON, OpenAPI) and the pages."""
    from phasegate.api.app import create_api
    from phasegate.web.app import install_web

    settings = settings or get_settings()
    signing_key = settings.signing_key()  # ConfigurationError now, not at the first request
    engine = engine or db.make_engine(settings.database_url)
    db.require_current_schema(engine)
    uow_factory = uow_factory_for(engine)

    app = PhasegateApp(
        title="phasegate", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.signing_key = signing_key
    app.state.engine = engine
    app.state.uow_factory = uow_factory

    api = create_api()
    api.state.settings = settings
    api.state.engine = engine
    api.state.uow_factory = uow_factory
    app.mount("/api/v1", api)
    _answer_unknown_api_paths(app)

    install_web(app)
    return app


def _answer_unknown_api_paths(app: FastAPI) -> None:
    """Paths under /api outside the mounted version answer 404 in the API's error shape, with
    any method."""
    from phasegate.api.errors import NoSuchPath

    hint = "the API is under /api/v1/, described at /api/v1/openapi.json"
    app.router.routes.append(NoSuchPath("/api", hint))


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory phasegate.app:create_app_from_env``."""
    return create_app()
