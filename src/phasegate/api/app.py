"""The API application, mounted by the composition root at ``/api/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from phasegate import __version__
from phasegate.api import audit, gates, health, lines
from phasegate.api.errors import install_error_handlers
from phasegate.api.limits import RequestBodyCheck
from phasegate.api.resources import COLLECTIONS, collection_router

DESCRIPTION = """\
Products, their revisions, requirements and specifications; partners, lines and stations;
builds, units, findings, feedback and defect codes; gate decisions and the audit trail.

Every error answers `{"error": {"type", "message", "fields": [{"loc", "message"}]}}`.
Changes are audited under the name in the `X-Phasegate-Actor` header. A record's response
carries its version as the `ETag`; send it back in `If-Match` so a change applies only to the
version you read (412 otherwise). Request bodies are JSON (415 otherwise), at most
`PHASEGATE_MAX_BODY_BYTES` long (413 otherwise).
"""


def create_api() -> FastAPI:
    """The ``/api/v1`` application; the composition root sets ``state.uow_factory`` and
    ``state.settings``."""
    api = FastAPI(
        title="phasegate API",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(api)
    api.add_middleware(RequestBodyCheck)
    api.include_router(health.router)
    for collection in COLLECTIONS:
        api.include_router(collection_router(collection))
    api.include_router(lines.router)
    api.include_router(gates.router)
    api.include_router(audit.router)
    return api
