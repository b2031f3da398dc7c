"""The API application, mounted by the composition root at ``/api/v1``."""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from phasegate import __version__
from phasegate.api import (
    audit,
    characteristics,
    gate_decisions,
    gates,
    health,
    ingest,
    lines,
    measurements,
)
from phasegate.api.build_report import router as build_report_router
from phasegate.api.control_plan import routers as control_plan_routers
from phasegate.api.costing import router as costing_router
from phasegate.api.defects import router as defects_router
from phasegate.api.errors import install_error_handlers
from phasegate.api.gate_evaluation import router as gate_evaluation_router
from phasegate.api.limits import RequestBodyCheck
from phasegate.api.line_performance import router as line_performance_router
from phasegate.api.resources import COLLECTIONS, collection_router
from phasegate.api.specs import router as specs_router

DESCRIPTION = """\
Products, their revisions, requirements and specifications; partners, lines and stations;
builds, units, findings, feedback and defect codes; gate decisions and the audit trail.

Every request but `GET /health` needs an API token: `Authorization: Bearer TOKEN` (create one
with `phasegate tokens create --scope read|write|ingest|admin`). Without a valid token the answer
is 401; a token whose user's role or scopes do not allow the operation gets 403, and a partner
user's token answers 404 for a record outside its partner's builds. Changes are audited under the
token's user. Every error answers `{"error": {"type", "message", "fields": [{"loc", "message"}]}}`.
A record's response
carries its version as the `ETag`; send it back in `If-Match` so a change applies only to the
version you read (412 otherwise). Request bodies are JSON (415 otherwise), at most
`PHASEGATE_MAX_BODY_BYTES` long (413 otherwise); a file upload (`POST /ingest/files`) is
`multipart/form-data`, at most `PHASEGATE_MAX_UPLOAD_BYTES` long.
"""


# The docs page loads Swagger UI from the files the application serves under /static (vendored,
# see web/static/VENDORED.md), so it works offline; no inline script, so the
# Content-Security-Policy holds. The static files are the composition root's /static mount.
STATIC = "/static"
DOCS_PAGE = """\
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · docs</title>
  <link rel="icon" href="{static}/img/favicon.svg?v={version}" type="image/svg+xml">
  <link rel="stylesheet" href="{static}/css/swagger-ui.css?v={version}">
  <script src="{static}/js/swagger-ui-bundle.js?v={version}" defer></script>
  <script src="{static}/js/api-docs.js?v={version}" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
"""


def _docs_page(request: Request) -> HTMLResponse:
    """Swagger UI over this API's OpenAPI document."""
    api = request.app
    root = str(request.scope.get("root_path", "")).rstrip("/")
    page = DOCS_PAGE.format(
        title=escape(api.title),
        static=STATIC,
        version=escape(api.version),
        openapi_url=escape(root + api.openapi_url),
    )
    return HTMLResponse(page)


def create_api() -> FastAPI:
    """The ``/api/v1`` application; the composition root sets ``state.uow_factory`` and
    ``state.settings``."""
    api = FastAPI(
        title="phasegate API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # our own page below, with vendored assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.add_route("/docs", _docs_page, methods=["GET"], include_in_schema=False)  # a page
    install_error_handlers(api)
    api.add_middleware(RequestBodyCheck)
    routers = [
        health.router,
        *(collection_router(c) for c in COLLECTIONS),
        lines.router,
        gates.router,
        gate_evaluation_router,
        gate_decisions.router,
        ingest.router,
        measurements.router,
        defects_router,
        line_performance_router,
        costing_router,
        characteristics.router,
        build_report_router,
        specs_router,
        audit.router,
        *control_plan_routers,
    ]
    for router in routers:
        # The routers' own routes (each a GuardedRoute, path prefixed already) go straight into
        # the route table, so it lists every operation with the permission it declares.
        api.router.routes.extend(router.routes)
    return api
