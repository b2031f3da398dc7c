"""The CLI's identity: the first admin, users and tokens, and the user every command acts as."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, func, select

from phasegate.domain.errors import Unauthenticated
from phasegate.domain.policy import SYSTEM, Role, Scope
from phasegate.services import builds, crud, identity
from phasegate.store import db
from phasegate.store.models import AuditEvent, User
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner

USER_KEYS = {
    "name",
    "full_name",
    "role",
    "partner",
    "active",
    "must_change_password",
    "locked_until",
    "last_login_at",
}
TOKEN_KEYS = {
    "id",
    "prefix",
    "name",
    "user",
    "scopes",
    "station",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}


def _engine(url: str) -> Engine:
    return db.make_engine(url)


def _work(url: str) -> UnitOfWork:
    return UnitOfWork.for_engine(_engine(url))


def _no_secrets(text: str) -> None:
    """No password hash and no token digest ever reaches the output."""
    assert "$argon2" not in text
    assert "password_hash" not in text and "digest" not in text


def _init(run: Runner, url: str) -> str:
    """Initialise the database; the first admin's one-time password."""
    result = run("init", "--format", "json", url=url)
    assert result.code == 0, result.err
    password: str = result.json()["one_time_password"]
    return password


def test_init_creates_the_first_admin_once(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    first = run("init", url=url)
    assert first.code == 0, first.err
    assert "Created the first admin admin." in first.out
    assert "must be changed at the first sign-in" in first.out
    password = first.out.split("One-time password: ")[1].split()[0]
    uow = _work(url)
    signed_in = identity.authenticate(uow, "admin", password)
    assert signed_in.role is Role.ADMIN
    with uow:
        assert identity.get_user(uow, "admin").must_change_password is True

    again = run("init", "--format", "json", url=url)
    assert again.code == 0, again.err
    assert again.json()["admin_created"] is False
    assert again.json()["one_time_password"] is None
    table = run("init", url=url)
    assert "Users exist already" in table.out and "One-time password" not in table.out
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(User)) == 1


def test_users_create_list_disable_enable_reset_and_set_role(
    run: Runner, any_database_url: str
) -> None:
    url = any_database_url
    _init(run, url)
    created = run("users", "create", "eve", "--role", "engineer", "--full-name", "Eve Ng",
                  "--format", "json", url=url)  # fmt: skip
    assert created.code == 0, created.err
    row = created.json()
    assert set(row) == USER_KEYS | {"one_time_password"}
    assert (row["name"], row["role"], row["full_name"]) == ("eve", "engineer", "Eve Ng")
    assert row["must_change_password"] is True
    uow = _work(url)
    assert identity.authenticate(uow, "eve", row["one_time_password"]).name == "eve"

    chosen = run("users", "create", "val", "--role", "viewer", "--password-stdin",
                 url=url, stdin="a long password 1\n")  # fmt: skip
    assert chosen.code == 0, chosen.err
    assert "One-time password" not in chosen.out
    assert identity.authenticate(uow, "val", "a long password 1").role is Role.VIEWER

    listed = run("users", "list", "--format", "json", url=url)
    assert listed.code == 0, listed.err
    rows = {r["name"]: r for r in listed.json()}
    assert set(rows) == {"admin", "eve", "val"}
    assert all(set(r) == USER_KEYS for r in rows.values())
    assert rows["eve"]["last_login_at"] is not None and rows["val"]["must_change_password"] is False
    csv = run("users", "list", "--format", "csv", url=url)
    assert csv.out.splitlines()[0].split(",") == list(USER_KEYS_IN_ORDER)
    table = run("users", "list", url=url)
    assert "Eve Ng" in table.out and "last login" in table.out
    for output in (created.out, chosen.out, listed.out, csv.out, table.out):
        _no_secrets(output)

    disabled = run("users", "disable", "eve", "--format", "json", url=url)
    assert disabled.code == 0 and disabled.json()["active"] is False
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "eve", row["one_time_password"])
    enabled = run("users", "enable", "eve", url=url)
    assert enabled.code == 0 and "Enabled eve" in enabled.out

    reset = run("users", "reset-password", "eve", url=url)
    assert reset.code == 0, reset.err
    new_password = reset.out.split("One-time password for eve: ")[1].split()[0]
    assert new_password != row["one_time_password"]
    assert "shown only now" in reset.out
    assert identity.authenticate(uow, "eve", new_password).role is Role.ENGINEER

    moved = run("users", "set-role", "eve", "quality", "--format", "json", url=url)
    assert moved.code == 0 and moved.json()["role"] == "quality"
    no_partner = run("users", "set-role", "eve", "partner", url=url)
    assert no_partner.code == 2
    assert no_partner.err.startswith("Error: --partner:")


USER_KEYS_IN_ORDER = (
    "name",
    "full_name",
    "role",
    "partner",
    "active",
    "must_change_password",
    "locked_until",
    "last_login_at",
)


def test_partner_users_name_their_partner(run: Runner, database_url: str) -> None:
    _init(run, database_url)
    uow = _work(database_url)
    crud.create(uow, builds.PARTNERS, {"name": "Acme CM", "kind": "contract_manufacturer"},
                actor=SYSTEM)  # fmt: skip
    made = run("users", "create", "cm", "--role", "partner", "--partner", "Acme CM",
               "--format", "json")  # fmt: skip
    assert made.code == 0, made.err
    assert made.json()["partner"] == "Acme CM"
    wrong = run("users", "create", "cm2", "--role", "partner", "--partner", "Nobody Inc")
    assert wrong.code == 2 and "--partner" in wrong.err and "Nobody Inc" in wrong.err
    bad_role = run("users", "create", "x", "--role", "wizard")
    assert bad_role.code == 2 and "--role" in bad_role.err and "wizard" in bad_role.err
    twice = run("users", "create", "CM", "--role", "viewer")
    assert twice.code == 1 and "already exists" in twice.err


def test_tokens_create_list_revoke(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _init(run, url)
    created = run("tokens", "create", "--scope", "read", "--scope", "write", "--name", "ci",
                  "--expires-in-days", "30", "--format", "json", url=url)  # fmt: skip
    assert created.code == 0, created.err
    shown = created.json()
    assert set(shown) == {"token", "id", "prefix", "user", "scopes", "station", "expires_at"}
    assert shown["user"] == "admin" and shown["scopes"] == ["read", "write"]
    assert shown["token"].startswith(shown["prefix"]) and shown["expires_at"] is not None
    uow = _work(url)
    principal = identity.resolve_token(uow, shown["token"])
    assert principal.name == "admin" and principal.scopes == {Scope.READ, Scope.WRITE}

    table = run("tokens", "create", "--scope", "read", url=url)
    assert table.code == 0, table.err
    assert "shown only now" in table.out
    second = table.out.split("Token: ")[1].split()[0]
    assert identity.resolve_token(uow, second).scopes == {Scope.READ}

    for fmt in ("json", "csv", "table"):
        listed = run("tokens", "list", "--format", fmt, url=url)
        assert listed.code == 0, listed.err
        assert shown["token"] not in listed.out and second not in listed.out
        _no_secrets(listed.out)
    rows = run("tokens", "list", "--format", "json", url=url).json()
    assert [r["id"] for r in rows] == [shown["id"], shown["id"] + 1]
    assert all(set(r) == TOKEN_KEYS for r in rows)
    assert rows[0]["name"] == "ci" and rows[0]["revoked_at"] is None

    revoked = run("tokens", "revoke", str(shown["id"]), url=url)
    assert revoked.code == 0, revoked.err
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.resolve_token(uow, shown["token"])
    assert identity.resolve_token(uow, second).name == "admin"
    after = run("tokens", "list", "--all", "--format", "json", url=url).json()
    assert after[0]["revoked_at"] is not None and after[1]["revoked_at"] is None
    missing = run("tokens", "revoke", "999", url=url)
    assert missing.code == 1 and "token 999 does not exist" in missing.err
    bad_scope = run("tokens", "create", "--scope", "everything", url=url)
    assert bad_scope.code == 2 and "--scope" in bad_scope.err
    both = run("tokens", "list", "--all", "--user", "admin", url=url)
    assert both.code == 2


def test_tokens_for_another_user_need_an_admin(run: Runner, database_url: str) -> None:
    _init(run, database_url)
    run("users", "create", "val", "--role", "viewer", "--password-stdin",
        stdin="a long password 1")  # fmt: skip
    for_val = run("tokens", "create", "--scope", "read", "--user", "val", "--format", "json")
    assert for_val.code == 0 and for_val.json()["user"] == "val"
    as_val = {"PHASEGATE_USER": "val"}
    own = run("tokens", "list", "--format", "json", env=as_val)
    assert own.code == 0 and [r["user"] for r in own.json()] == ["val"]
    others = run("tokens", "list", "--user", "admin", env=as_val)
    assert others.code == 1 and "may not" in others.err
    wider = run("tokens", "create", "--scope", "write", env=as_val)
    assert wider.code == 2 and "cannot hold a write token" in wider.err


def test_a_viewer_may_not_administer_users(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _init(run, url)
    run("users", "create", "val", "--role", "viewer", url=url)
    refused = run("users", "create", "mallory", "--role", "admin", url=url,
                  env={"PHASEGATE_USER": "val"})  # fmt: skip
    assert refused.code == 1
    assert refused.err.startswith("Error: val (viewer) may not administer ")
    assert refused.err.endswith(": the role does not allow it\n")
    assert refused.err.count("\n") == 1
    for args in (
        ("users", "list"),
        ("users", "reset-password", "admin"),
        ("tokens", "list", "--all"),
    ):
        result = run(*args, url=url, env={"PHASEGATE_USER": "val"})
        assert result.code == 1 and "may not" in result.err, args
    reads = run("products", "list", "--format", "json", url=url, env={"PHASEGATE_USER": "val"})
    assert reads.code == 0 and reads.json() == []
    with _work(url) as uow:
        assert uow.session.scalar(select(User).where(User.name == "mallory")) is None


def test_unknown_or_disabled_cli_user_fails_clearly(run: Runner, database_url: str) -> None:
    _init(run, database_url)
    unknown = run("products", "list", env={"PHASEGATE_USER": "ghost"})
    assert unknown.code == 1
    assert unknown.err == "Error: PHASEGATE_USER names 'ghost', who is not a user\n"
    run("users", "create", "val", "--role", "viewer")
    run("users", "disable", "val")
    disabled = run("builds", "list", env={"PHASEGATE_USER": "val"})
    assert disabled.code == 1 and "disabled" in disabled.err


def test_no_users_yet_asks_for_init(run: Runner, database_url: str) -> None:
    engine = _engine(database_url)
    db.upgrade(engine)
    engine.dispose()
    result = run("products", "list")
    assert result.code == 1
    assert "run `phasegate init` to create the first admin" in result.err
    assert result.err.count("\n") == 1


def test_audit_events_name_the_cli_user(run: Runner, any_database_url: str) -> None:
    url = any_database_url
    _init(run, url)
    run("users", "create", "boss", "--role", "admin", url=url)
    as_boss = {"PHASEGATE_USER": "boss"}
    assert run("users", "create", "eve", "--role", "engineer", url=url, env=as_boss).code == 0
    assert run("users", "set-role", "eve", "quality", url=url, env=as_boss).code == 0
    token = run("tokens", "create", "--scope", "read", "--user", "eve", "--format", "json",
                url=url, env=as_boss).json()  # fmt: skip
    assert run("tokens", "revoke", str(token["id"]), url=url).code == 0
    with _work(url) as uow:
        events = uow.session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.summary).order_by(AuditEvent.id)
        ).all()
    made = [(actor, action) for actor, action, _ in events]
    assert made[-4:] == [("boss", "create"), ("boss", "update"), ("boss", "create"),
                         ("admin", "revoke")]  # fmt: skip
    assert ("admin", "create") in made  # the first admin created boss, as the CLI's default user
    trail = " ".join(summary for *_, summary in events)
    assert token["token"] not in trail and "$argon2" not in trail


def test_serve_needs_a_secret_key_outside_demo_mode(run: Runner, database_url: str) -> None:
    _init(run, database_url)
    missing = run("serve", "--port", "1")
    assert missing.code == 1
    assert missing.err.startswith("Error: PHASEGATE_SECRET_KEY is not set")
    assert missing.err.count("\n") == 1 and "Traceback" not in missing.err
    short = run("serve", env={"PHASEGATE_SECRET_KEY": "too-short"})
    assert short.code == 1 and "at least 32" in short.err


def test_serve_starts_with_a_key_or_in_demo_mode(
    run: Runner, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init(run, database_url)
    started: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append(kwargs))
    monkeypatch.setenv("PHASEGATE_DEMO", "")  # restored after the test, whatever serve sets
    keyed = run("serve", "--port", "8123", env={"PHASEGATE_SECRET_KEY": "k" * 32})
    assert keyed.code == 0, keyed.err
    assert started[-1]["port"] == 8123
    demo = run("serve", "--demo")
    assert demo.code == 0, demo.err
    assert len(started) == 2
    assert os.environ["PHASEGATE_DEMO"] == "1"
