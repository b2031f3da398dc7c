"""``/static``: the vendored and own assets, compressed and cached for as long as their URL.

The pages link every asset by a versioned URL (``rendering.static_url``:
``/static/js/plotly.min.js?v=<version>``), so an asset asked for under the current version
never changes: it is served with ``Cache-Control: public, max-age=31536000, immutable`` and a
browser asks for it once per release. Any other URL of an asset (no ``v``, or another version)
is served with ``no-cache``: the browser revalidates it by its ``ETag``.

Text assets (scripts, stylesheets, SVG) are sent gzip-compressed to a client that accepts it:
Plotly's bundle goes from 4.8 MB to 1.5 MB. Each file is compressed once per
content (its size and modification time) and kept in memory; a range request, or a client that
does not take gzip, gets the file as it is.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from starlette.datastructures import Headers, QueryParams
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from phasegate import __version__

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = frozenset({".js", ".css", ".svg", ".json", ".map", ".txt", ".md"})
MIN_COMPRESSED_SIZE = 1024  # smaller files gain nothing worth a header
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class _Compressed:
    size: int
    mtime_ns: int
    body: bytes


def accepts_gzip(headers: Headers) -> bool:
    """The request's ``Accept-Encoding`` takes gzip (not with ``q=0``)."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in ("gzip", "*"):
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


class AssetFiles(StaticFiles):
    """``StaticFiles`` with cache headers by URL version and gzip for text assets."""

    def __init__(self, *, directory: Path, version: str = __version__) -> None:
        super().__init__(directory=directory)
        self.version = version
        self._compressed: dict[str, _Compressed] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code not in (200, 304):
            return response
        versioned = QueryParams(scope.get("query_string", b"")).get("v") == self.version
        response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
        headers = Headers(scope=scope)
        if (
            isinstance(response, FileResponse)
            and response.status_code == 200
            and "range" not in headers
            and accepts_gzip(headers)
            and Path(str(response.path)).suffix.lower() in COMPRESSIBLE
        ):
            return await self._gzipped(response, headers)
        if Path(path).suffix.lower() in COMPRESSIBLE:
            response.headers["Vary"] = "Accept-Encoding"
        return response

    async def _gzipped(self, response: FileResponse, headers: Headers) -> Response:
        """The file of ``response`` compressed, with its headers; 304 for a client that holds
        the compressed file already (by its own ``ETag``)."""
        full_path = str(response.path)
        stat = os.stat(full_path)
        if stat.st_size < MIN_COMPRESSED_SIZE:
            response.headers["Vary"] = "Accept-Encoding"
            return response
        body = await self._body(full_path, stat)
        etag = response.headers.get("etag", "").removesuffix('"') + '-gzip"'
        kept = {
            "cache-control": response.headers["cache-control"],
            "etag": etag,
            "vary": "Accept-Encoding",
        }
        if "last-modified" in response.headers:
            kept["last-modified"] = response.headers["last-modified"]
        if etag in [t.strip() for t in headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=kept)
        return Response(
            body,
            media_type=response.media_type,
            headers={**kept, "content-encoding": "gzip"},
        )

    async def _body(self, full_path: str, stat: os.stat_result) -> bytes:
        known = self._compressed.get(full_path)
        if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return known.body
        raw = await anyio.Path(full_path).read_bytes()
        body = await anyio.to_thread.run_sync(lambda: gzip.compress(raw, GZIP_LEVEL, mtime=0))
        self._compressed[full_path] = _Compressed(stat.st_size, stat.st_mtime_ns, body)
        return body
