"""Signing in to the pages: sessions, their cookie and timeouts, CSRF, lock-out, rate limit, the
sign-in redirect, and what a partner user may see."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import anyio
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.types import Message

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import ConfigurationError
from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import identity
from phasegate.store.models import AuditEvent, User, WebSession
from phasegate.store.uow import UnitOfWork
from phasegate.web.auth import check_permission
from tests.adapters.web.conftest import Site, csrf_token, settings_for, sign_in, signed_in_client
from tests.adapters.web.data import PASSWORD, USERS

HX = {"HX-Request": "true"}
_names = itertools.count(1)


@pytest.fixture
def app(site: Site) -> FastAPI:
    """An application of its own over the shared data: its sign-in rate limit starts afresh."""
    return create_app(settings_for(_url(site)), engine=site.engine)


def _url(site: Site) -> str:
    return site.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def person(site: Site) -> str:
    """A new engineer of this test alone (locking it out disturbs no other test)."""
    name = f"person-{next(_names)}"
    uow = UnitOfWork.for_engine(site.engine)
    identity.create_user(uow, name, Role.ENGINEER, actor=SYSTEM, password=PASSWORD)
    return name


def _holding(app: FastAPI, session_cookie: str) -> TestClient:
    """A browser that holds ``session_cookie`` (as the server would have set it)."""
    client = TestClient(app)
    client.cookies.set("phasegate_session", session_cookie, domain="testserver.local")
    return client


def _user_id(site: Site, name: str) -> int:
    with site.engine.connect() as conn:
        found = conn.scalar(select(User.id).where(User.name == name))
    assert found is not None
    return found


def _events(site: Site, name: str, action: AuditAction) -> list[str]:
    with site.engine.connect() as conn:
        stmt = select(AuditEvent.summary).where(
            AuditEvent.action == action, AuditEvent.actor == name
        )
        return list(conn.scalars(stmt.order_by(AuditEvent.id)))


def _session_cookie(client: TestClient) -> str | None:
    return client.cookies.get("phasegate_session")


# Anonymous visitors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "login"),
    [
        ("/", "/login"),
        ("/products/DRN", "/login?next=%2Fproducts%2FDRN"),
        ("/units?serial=X-1", "/login?next=%2Funits%3Fserial%3DX-1"),
        ("/account/password", "/login?next=%2Faccount%2Fpassword"),
    ],
)
def test_anonymous_page_requests_go_to_the_sign_in_page(
    app: FastAPI, path: str, login: str
) -> None:
    answer = TestClient(app).get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == login


def test_anonymous_htmx_requests_are_told_to_load_the_sign_in_page(
    app: FastAPI, site: Site
) -> None:
    answer = TestClient(app).get(f"/builds/{site.data.pilot_build_id}/units", headers=HX)
    assert answer.status_code == 401 and "<html" not in answer.text
    assert answer.headers["HX-Redirect"].startswith("/login?next=%2Fbuilds%2F")


def test_the_sign_in_page_is_a_form_with_the_csrf_token_first(app: FastAPI) -> None:
    client = TestClient(app)
    page = client.get("/login?next=/builds/1")
    assert page.status_code == 200 and client.cookies.get("csrftoken")
    form = re.search(r'<form action="/login" method="post"[^>]*>(.*?)</form>', page.text, re.S)
    assert form is not None
    fields = re.findall(r'<input type="(\w+)" name="(\w+)"', form.group(1))
    assert fields[0] == ("hidden", "csrftoken")
    assert ("hidden", "next") in fields and ("password", "password") in fields
    assert 'value="/builds/1"' in form.group(1)
    assert 'href="/api/v1/docs"' not in page.text  # the API link is for signed-in users
    assert "Sign out" not in page.text


# Signing in and out ----------------------------------------------------------------------------


def test_sign_in_sets_a_signed_http_only_lax_cookie_and_goes_on(app: FastAPI, person: str) -> None:
    client = TestClient(app)
    client.get("/login")
    data = {"csrftoken": csrf_token(client), "name": person, "password": PASSWORD}
    answer = client.post(
        "/login", data={**data, "next": "/builds/1?page=2"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/builds/1?page=2"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("phasegate_session=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= attributes
    assert "secure" not in attributes
    assert f"max-age={12 * 3600}" in attributes
    page = client.get("/")
    assert page.status_code == 200 and f'data-user="{person}"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "cookie" in page.headers["vary"].lower()
    assert "Engineer" in page.text and 'href="/api/v1/docs"' in page.text
    assert 'action="/logout"' in page.text and "Sign out" in page.text


def test_cookies_are_secure_when_served_over_https(site: Site, person: str) -> None:
    app = create_app(settings_for(_url(site), https=True), engine=site.engine)
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()  # the CSRF cookie
    answer = sign_in(client, person)
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_a_tampered_cookie_signs_nobody_in(app: FastAPI, person: str) -> None:
    client = TestClient(app)
    sign_in(client, person)
    cookie = _session_cookie(client)
    assert cookie is not None
    # One character of the signature changed for another (never for itself, whatever it was).
    other = "A" if cookie[-5] != "A" else "B"
    forged = _holding(app, cookie[:-5] + other + cookie[-4:])
    assert forged.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_a_form_error_and_audited(
    app: FastAPI, site: Site, person: str
) -> None:
    client = TestClient(app)
    answer = sign_in(client, person, "not-the-password")
    assert answer.status_code == 401 and "Wrong name or password" in answer.text
    assert f'value="{person}"' in answer.text  # the name is kept, the password is not
    assert "not-the-password" not in answer.text and _session_cookie(client) is None
    failures = _events(site, person, AuditAction.LOGIN_FAILED)
    assert len(failures) == 1 and "wrong name or password" in failures[0]
    unknown = sign_in(client, "nobody-at-all", PASSWORD)
    assert unknown.status_code == 401 and "Wrong name or password" in unknown.text


def test_five_failures_lock_the_account_out_even_with_the_right_password(
    app: FastAPI, site: Site, person: str
) -> None:
    client = TestClient(app)
    for _ in range(identity.MAX_FAILED_LOGINS):
        assert sign_in(client, person, "wrong-password!").status_code == 401
    locked = sign_in(client, person, PASSWORD)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert _session_cookie(client) is None
    assert any("locked" in e for e in _events(site, person, AuditAction.LOGIN_FAILED))


def test_too_many_attempts_from_one_address_are_refused(app: FastAPI, person: str) -> None:
    client = TestClient(app)
    for _ in range(10):
        assert sign_in(client, "nobody-here", "wrong-password!").status_code == 401
    refused = sign_in(client, person, PASSWORD)
    assert refused.status_code == 429 and "Too many sign-in attempts" in refused.text
    assert _session_cookie(client) is None


def test_the_session_id_changes_at_sign_in(app: FastAPI, site: Site, person: str) -> None:
    """Session fixation: a cookie planted before sign-in is not the one after it."""
    first = TestClient(app)
    sign_in(first, person)
    planted = _session_cookie(first)
    assert planted is not None
    victim = _holding(app, planted)
    assert sign_in(victim, USERS[Role.VIEWER]).status_code == 303
    assert _session_cookie(victim) not in (None, planted)
    # The planted session was ended at the sign-in: its holder is signed out.
    assert first.get("/", follow_redirects=False).status_code == 303
    assert victim.get("/").status_code == 200


def test_sign_out_ends_the_session(app: FastAPI, site: Site, person: str) -> None:
    client = TestClient(app)
    sign_in(client, person)
    cookie = _session_cookie(client)
    assert cookie is not None and client.get("/").status_code == 200
    answer = client.post("/logout", data={"csrftoken": csrf_token(client)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert _session_cookie(client) is None
    assert _events(site, person, AuditAction.LOGOUT)
    assert _events(site, person, AuditAction.LOGIN)
    replay = _holding(app, cookie)
    assert replay.get("/", follow_redirects=False).status_code == 303
    with site.engine.connect() as conn:
        left = conn.scalar(
            select(WebSession.digest).where(WebSession.user_id == _user_id(site, person))
        )
    assert left is None


@pytest.mark.parametrize("path", ["/login", "/logout"])
def test_posts_without_the_csrf_token_are_refused(app: FastAPI, person: str, path: str) -> None:
    client = TestClient(app)
    sign_in(client, person)
    data = {"name": person, "password": PASSWORD}
    for sent in (data, {**data, "csrftoken": "forged"}):
        answer = client.post(path, data=sent, follow_redirects=False)
        assert answer.status_code == 403 and "CSRF" in answer.text
        assert 'data-status="403"' in answer.text
    assert client.get("/").status_code == 200  # still signed in
    # A forged sign-in from a browser without any cookie is refused too.
    assert TestClient(app).post(path, data=data, follow_redirects=False).status_code in (403, 303)
    assert TestClient(app).post("/login", data=data).status_code == 403


def test_htmx_requests_carry_the_token_in_a_header(app: FastAPI, person: str) -> None:
    client = TestClient(app)
    sign_in(client, person)
    page = client.get("/")
    token = csrf_token(client)
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in page.text
    answer = client.post("/logout", headers={"x-csrftoken": token}, follow_redirects=False)
    assert answer.status_code == 303 and _session_cookie(client) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/logout",
        "/%0d%0aSet-Cookie:x=1",
    ],
)
def test_sign_in_never_redirects_off_the_site(app: FastAPI, person: str, target: str) -> None:
    client = TestClient(app)
    data = {"csrftoken": csrf_token(client), "name": person, "password": PASSWORD}
    answer = client.post("/login", data={**data, "next": target}, follow_redirects=False)
    location = answer.headers["location"]
    assert answer.status_code == 303
    assert location == "/" or (location.startswith("/") and not location.startswith("//"))
    assert "evil" not in location and "\n" not in location and "\r" not in location
    assert client.get(f"/login?next={target}", follow_redirects=False).headers["location"] in (
        "/",
        target,
    )


# Timeouts --------------------------------------------------------------------------------------


def _age_session(site: Site, name: str, **values: dt.datetime) -> None:
    with site.engine.begin() as conn:
        conn.execute(
            update(WebSession).where(WebSession.user_id == _user_id(site, name)).values(**values)
        )


def test_a_session_idle_too_long_ends(app: FastAPI, site: Site, person: str) -> None:
    client = TestClient(app)
    sign_in(client, person)
    assert client.get("/").status_code == 200
    _age_session(site, person, last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=61))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_session_past_its_lifetime_ends_however_busy(
    app: FastAPI, site: Site, person: str
) -> None:
    client = TestClient(app)
    sign_in(client, person)
    _age_session(site, person, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert client.get("/", follow_redirects=False).status_code == 303


# Passwords -------------------------------------------------------------------------------------


def test_a_forced_password_change_comes_first(app: FastAPI, site: Site) -> None:
    name = f"newcomer-{next(_names)}"
    uow = UnitOfWork.for_engine(site.engine)
    identity.create_user(
        uow, name, Role.VIEWER, actor=SYSTEM, password=PASSWORD, must_change_password=True
    )
    client = TestClient(app)
    assert sign_in(client, name).status_code == 303
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account/password"
    form = client.get("/account/password")
    assert form.status_code == 200 and "data-forced" in form.text
    new = "a-brand-new-password"
    token = csrf_token(client)
    data = {"csrftoken": token, "current_password": PASSWORD, "new_password": new}
    differ = client.post("/account/password", data={**data, "confirm_password": "other-one-here"})
    assert differ.status_code == 400 and "differ" in differ.text
    short = {**data, "new_password": "short", "confirm_password": "short"}
    assert client.post("/account/password", data=short).status_code == 400
    done = client.post(
        "/account/password", data={**data, "confirm_password": new}, follow_redirects=False
    )
    assert done.status_code == 303 and client.get("/").status_code == 200
    assert sign_in(TestClient(app), name, new).status_code == 303


def test_a_password_change_signs_out_every_other_browser(
    app: FastAPI, site: Site, person: str
) -> None:
    """A browser signed in with the old (perhaps stolen) password is signed out; the one that
    made the change goes on in a new session."""
    here, elsewhere = TestClient(app), TestClient(app)
    sign_in(here, person)
    sign_in(elsewhere, person)
    before = _session_cookie(here)
    new = "another-brand-new-password"
    data = {"csrftoken": csrf_token(here), "current_password": PASSWORD}
    done = here.post(
        "/account/password",
        data={**data, "new_password": new, "confirm_password": new},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _session_cookie(here) not in (None, before)
    assert here.get("/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/", follow_redirects=False).status_code == 303
    assert _holding(app, before or "").get("/", follow_redirects=False).status_code == 303
    with site.engine.connect() as conn:
        stmt = select(WebSession.digest).where(WebSession.user_id == _user_id(site, person))
        assert len(conn.scalars(stmt).all()) == 1


# What a partner user sees ----------------------------------------------------------------------


@pytest.fixture
def partner(app: FastAPI) -> TestClient:
    return signed_in_client(app, Role.PARTNER)


def test_a_partner_sees_only_its_products_and_counts(partner: TestClient, site: Site) -> None:
    page = partner.get("/")
    assert page.status_code == 200
    assert re.findall(r'data-product="([^"]+)"', page.text) == ["DRN"]
    assert re.search(
        r'data-kpi="products">\s*<div class="kpi-label">Products</div>\s*'
        r'<div class="kpi-value">1</div>',
        page.text,
    )
    # Its one build of DRN (PROTO-B1, one unit), linked; not the product page it may not read.
    assert re.findall(r'data-build="([^"]+)"', page.text) == ["PROTO-B1"]
    assert f'href="/builds/{site.data.partner_build_id}"' in page.text
    assert 'href="/products/DRN"' not in page.text and "/feedback" not in page.text
    card = page.text[page.text.index('data-product="DRN"') :]
    assert re.search(r'<span class="v">1</span><span class="l">Your builds</span>', card)


def test_a_partner_is_refused_what_its_role_may_not_read(partner: TestClient) -> None:
    for path in ("/products/DRN", "/products/DRN/feedback"):
        answer = partner.get(path)
        assert answer.status_code == 403 and 'data-status="403"' in answer.text, path


def test_a_partner_sees_its_own_build_and_nothing_of_others(
    partner: TestClient, site: Site
) -> None:
    own = partner.get(f"/builds/{site.data.partner_build_id}")
    assert own.status_code == 200 and "Build PROTO-B1" in own.text
    assert 'href="/products/DRN"' not in own.text
    for path in (
        f"/builds/{site.data.other_partner_build_id}",
        f"/builds/{site.data.pilot_build_id}",
        f"/builds/{site.data.pilot_build_id}/units?page=1",
        "/units/DRN-P1-0001",
        "/units/SN-0001?product=SEN",
        "/products/SEN/findings",
    ):
        answer = partner.get(path, headers=HX if "/units?" in path else {})
        assert answer.status_code == 404, path
    assert partner.get("/units/SN-0001").status_code == 200  # its unit of PROTO-B1
    findings = partner.get("/products/DRN/findings?status=all")
    assert findings.status_code == 200
    assert re.findall(r'data-finding="[^"]+"', findings.text) and (
        "Motor mount resonance" in findings.text
    )
    assert "Camera lens fogging" not in findings.text  # a finding of another build


def test_a_viewer_reads_every_page(site: Site, app: FastAPI) -> None:
    viewer = signed_in_client(app, Role.VIEWER)
    for path in ("/", "/products/DRN", "/products/DRN/feedback", "/units/DRN-P1-0001"):
        assert viewer.get(path).status_code == 200, path


# Bad input before the CSRF check ---------------------------------------------------------------


def test_bad_form_bodies_get_a_4xx_page(app: FastAPI, person: str) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    sign_in(client, person)
    token = csrf_token(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    cases = [
        (b"csrftoken=" + token.encode() + b"&name=\xff\xfe", form, 400),
        (b"csrftoken=%C3%A9", form, 403),
        (b"csrftoken=" + b"a" * (2 * 1024 * 1024), form, 413),
        (b"--x\r\n", {"content-type": "multipart/form-data; boundary=x"}, 415),
        (b"--x\r\n", {"content-type": "multipart/form-data"}, 415),
        (b"", {"x-csrftoken": b"\xe9"}, 403),
        (b"{}", {"content-type": "application/json"}, 403),
    ]
    for body, headers, status in cases:
        answer = client.post("/logout", content=body, headers=headers, follow_redirects=False)
        assert answer.status_code == status, (body[:30], headers, answer.text[:200])
        assert 'data-status="' in answer.text
    assert client.get("/").status_code == 200  # none of them signed the user out


def _raw_get(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """GET ``path`` with headers exactly as given (an HTTP client would re-encode them)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


@pytest.mark.parametrize("cookie", [b"a<b=1", b"phasegate_session=\xff", b"csrftoken=\xc3("])
def test_an_unreadable_cookie_header_is_a_bad_request(app: FastAPI, cookie: bytes) -> None:
    status, body = _raw_get(app, "/login", [(b"cookie", cookie)])
    assert status == 400 and b'data-status="400"' in body


# Start-up --------------------------------------------------------------------------------------


def test_the_server_needs_a_secret_key_outside_demo_mode(site: Site) -> None:
    with pytest.raises(ConfigurationError, match="PHASEGATE_SECRET_KEY is not set"):
        create_app(Settings(database_url=_url(site)), engine=site.engine)
    with pytest.raises(ConfigurationError, match="at least 32"):
        create_app(Settings(database_url=_url(site), secret_key="short"), engine=site.engine)
    demo = create_app(Settings(database_url=_url(site), demo=True), engine=site.engine)
    assert len(demo.state.signing_key) >= 32


def test_a_page_that_declares_no_permission_is_refused(app: FastAPI) -> None:
    """Fail closed: a page is open to a role only by declaring what it needs."""
    undeclared = APIRouter(dependencies=[Depends(check_permission)])

    @undeclared.get("/undeclared")
    def page() -> dict[str, str]:
        return {"reached": "yes"}

    app.include_router(undeclared)
    assert TestClient(app).get("/undeclared", follow_redirects=False).status_code == 303
    answer = signed_in_client(app).get("/undeclared")
    assert answer.status_code == 403 and "declares no permission" in answer.text
