"""``/static`` on the real application: text assets gzip-compressed to a client that takes it,
cached for a year under the versioned URL the pages use, revalidated under any other URL."""

from __future__ import annotations

import gzip
import re

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from phasegate import __version__
from phasegate.app import create_app
from phasegate.store import db
from phasegate.web.assets import IMMUTABLE, accepts_gzip
from phasegate.web.rendering import STATIC_DIR
from tests.adapters.web.conftest import settings_for

PLOTLY = STATIC_DIR / "js" / "plotly.min.js"
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    url = f"sqlite:///{tmp_path_factory.mktemp('static') / 'static.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    return TestClient(create_app(settings_for(url), engine=engine))


def _raw(
    client: TestClient, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as sent (not decompressed)."""
    with client.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
        return response.status_code, dict(response.headers), body


def test_the_plotly_bundle_is_compressed_and_cached_for_a_year(client: TestClient) -> None:
    original = PLOTLY.read_bytes()
    status, headers, body = _raw(client, f"/static/js/plotly.min.js?v={__version__}", GZIP)
    assert status == 200
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == "public, max-age=31536000, immutable" == IMMUTABLE
    assert int(headers["content-length"]) == len(body) < len(original) * 0.4
    assert gzip.decompress(body) == original
    assert headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_the_pages_link_the_versioned_urls(client: TestClient) -> None:
    page = client.get("/login")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links and all(link.endswith(f"?v={__version__}") for link in links)
    for link in links:
        status, headers, _ = _raw(client, link, GZIP)
        assert status == 200 and headers["cache-control"] == IMMUTABLE, link


def test_without_gzip_the_file_comes_as_it_is(client: TestClient) -> None:
    for accept in ("identity", "gzip;q=0", "br", ""):
        status, headers, body = _raw(
            client, f"/static/js/htmx.min.js?v={__version__}", {"Accept-Encoding": accept}
        )
        assert status == 200 and "content-encoding" not in headers, accept
        assert body == (STATIC_DIR / "js" / "htmx.min.js").read_bytes()


def test_an_unversioned_url_is_revalidated_by_its_etag(client: TestClient) -> None:
    status, headers, body = _raw(client, "/static/css/phasegate.css", GZIP)
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert gzip.decompress(body) == (STATIC_DIR / "css" / "phasegate.css").read_bytes()
    assert headers["etag"].endswith('-gzip"')
    again = client.get(
        "/static/css/phasegate.css", headers={**GZIP, "If-None-Match": headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other_version = client.get("/static/css/phasegate.css?v=0.0.0", headers=GZIP)
    assert other_version.headers["cache-control"] == "no-cache"


def test_ranges_small_files_and_missing_files(client: TestClient) -> None:
    status, headers, body = _raw(
        client, f"/static/js/plotly.min.js?v={__version__}", {**GZIP, "Range": "bytes=0-99"}
    )
    assert status == 206 and "content-encoding" not in headers and len(body) == 100
    small = STATIC_DIR / "img" / "favicon.svg"
    assert small.stat().st_size < 1024
    status, headers, body = _raw(client, "/static/img/favicon.svg", GZIP)
    assert status == 200 and "content-encoding" not in headers and body == small.read_bytes()
    assert client.get("/static/js/nothing.js", headers=GZIP).status_code == 404


@pytest.mark.parametrize(
    ("accept", "takes"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("GZIP", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0", False),
        ("gzip;q=x", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding(accept: str, takes: bool) -> None:
    assert accepts_gzip(Headers({"accept-encoding": accept})) is takes
