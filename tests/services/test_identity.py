"""Users, passwords, sign-in with lock-out, sessions and API tokens, on both backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from phasegate.domain.policy import Action, Kind, Principal, Role, Scope
from phasegate.services import identity
from phasegate.store.models import ApiToken, AuditEvent, Station, User, WebSession
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_line, make_partner

PASSWORD = "correct horse battery"
TIMES = identity.SessionTimes(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=8))


def _user(
    uow: UnitOfWork,
    name: str,
    role: Role = Role.ENGINEER,
    *,
    partner: int | None = None,
    full_name: str = "",
) -> Principal:
    """A user who signs in with ``PASSWORD``, as the principal it acts as."""
    user = identity.create_user(
        uow, name, role, actor=ACTOR, password=PASSWORD, partner=partner, full_name=full_name
    )
    return identity.principal_for(user)


def _stored(uow: UnitOfWork, name: str) -> User:
    with uow:
        return identity.get_user(uow, name)


def _events(uow: UnitOfWork, action: AuditAction | None = None) -> list[AuditEvent]:
    with uow:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        return list(uow.session.scalars(stmt))


def _audit_text(uow: UnitOfWork) -> str:
    """Everything the audit trail holds, as one text to search for secrets."""
    return "\n".join(
        json.dumps([e.actor, e.summary, e.before, e.after], default=str) for e in _events(uow)
    )


def _move_back(uow: UnitOfWork, model: type[Any], by: dt.timedelta, *columns: str) -> None:
    """Make stored times lie ``by`` further in the past, as if that time had gone by."""
    with uow:
        for row in uow.session.scalars(select(model)):
            for column in columns:
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - by)
        uow.commit()


# Users ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("ann smith", "not a sign-in name"),
        ("jürgen", "not a sign-in name"),
        ("an\x00n", "not a sign-in name"),
        ("a" * (identity.NAME_MAX_LENGTH + 1), "not a sign-in name"),
    ],
)
def test_create_user_refuses_bad_names(uow: UnitOfWork, name: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        identity.create_user(uow, name, Role.VIEWER, actor=ACTOR, password=PASSWORD)
    assert [f.loc for f in caught.value.fields] == ["name"]
    with uow:
        assert identity.list_users(uow, actor=ACTOR) == []


def test_create_user_accepts_the_longest_name_and_keeps_its_case(uow: UnitOfWork) -> None:
    longest = "A" * identity.NAME_MAX_LENGTH
    assert identity.create_user(uow, longest, "viewer", actor=ACTOR).name == longest
    assert identity.create_user(uow, " Ann.O'Neil ", "viewer", actor=ACTOR).name == "Ann.O'Neil"


def test_a_name_is_taken_whatever_its_case(uow: UnitOfWork) -> None:
    _user(uow, "Ann")
    for name in ("ann", "ANN", " aNn "):
        with pytest.raises(Conflict, match="already exists"):
            identity.create_user(uow, name, Role.VIEWER, actor=ACTOR)
    assert [u.name for u in identity.list_users(uow, actor=ACTOR)] == ["Ann"]


def test_create_user_validates_role_partner_and_password(uow: UnitOfWork) -> None:
    partner = make_partner(uow, name="Acme EMS")
    with pytest.raises(InvalidInput, match="is not a role"):
        identity.create_user(uow, "x", "superuser", actor=ACTOR)
    with pytest.raises(InvalidInput, match="needs the partner"):
        identity.create_user(uow, "cm", Role.PARTNER, actor=ACTOR)
    with pytest.raises(InvalidInput, match="does not exist"):
        identity.create_user(uow, "cm", Role.PARTNER, actor=ACTOR, partner="Nobody Ltd")
    with pytest.raises(InvalidInput, match="only a partner user works for a partner"):
        identity.create_user(uow, "eng", Role.ENGINEER, actor=ACTOR, partner=partner.id)
    with pytest.raises(InvalidInput, match=f"at least {identity.PASSWORD_MIN_LENGTH}"):
        identity.create_user(uow, "eng", Role.ENGINEER, actor=ACTOR, password="short")
    with pytest.raises(InvalidInput, match="NUL"):
        identity.create_user(uow, "eng", Role.ENGINEER, actor=ACTOR, password="x" * 12 + "\x00")
    assert identity.list_users(uow, actor=ACTOR) == []
    by_name = identity.create_user(uow, "cm", Role.PARTNER, actor=ACTOR, partner="Acme EMS")
    by_id = identity.create_user(uow, "cm2", Role.PARTNER, actor=ACTOR, partner=partner.id)
    assert by_name.partner_id == by_id.partner_id == partner.id


def test_only_an_admin_manages_users(uow: UnitOfWork) -> None:
    engineer = _user(uow, "eng")
    with pytest.raises(Forbidden):
        identity.create_user(uow, "mallory", Role.ADMIN, actor=engineer)
    with pytest.raises(Forbidden):
        identity.list_users(uow, actor=engineer)
    with pytest.raises(Forbidden):
        identity.set_role(uow, "eng", Role.ADMIN, actor=engineer)
    with pytest.raises(Forbidden):
        identity.reset_password(uow, "eng", actor=engineer, password="another long one")
    read_only = Principal(name="root", role=Role.ADMIN, scopes=frozenset({Scope.READ}))
    with pytest.raises(Forbidden, match="token's scopes"):
        identity.create_user(uow, "mallory", Role.ADMIN, actor=read_only)
    assert _stored(uow, "eng").role is Role.ENGINEER


def test_the_password_is_stored_as_an_argon2_hash_only(uow: UnitOfWork) -> None:
    _user(uow, "ann")
    user = _stored(uow, "ann")
    assert user.password_hash is not None and user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert not user.must_change_password
    text = _audit_text(uow)
    assert PASSWORD not in text and user.password_hash not in text
    # A user without a password cannot sign in with one.
    identity.create_user(uow, "bot", Role.OPERATIONS, actor=ACTOR)
    assert _stored(uow, "bot").password_hash is None
    with pytest.raises(Unauthenticated, match="wrong name or password"):
        identity.authenticate(uow, "bot", "")


# Signing in ------------------------------------------------------------------------------------


def test_authenticate_and_the_same_answer_for_a_wrong_password_or_name(uow: UnitOfWork) -> None:
    _user(uow, "Ann", Role.QUALITY)
    principal = identity.authenticate(uow, "ann", PASSWORD, client="10.0.0.7")
    assert (principal.name, principal.role, principal.scopes) == ("Ann", Role.QUALITY, None)
    assert principal.user_id == _stored(uow, "ann").id
    assert _stored(uow, "ann").last_login_at is not None
    answers = []
    for name, password in [("ann", PASSWORD + "!"), ("nobody", PASSWORD), ("", ""), ("a\x00", "x")]:
        with pytest.raises(Unauthenticated) as caught:
            identity.authenticate(uow, name, password)
        answers.append(str(caught.value))
    assert set(answers) == {"wrong name or password"}
    failed = _events(uow, AuditAction.LOGIN_FAILED)
    assert len(failed) == 4
    assert failed[0].entity_type == "users" and failed[0].entity_id == principal.user_id
    assert failed[1].entity_id is None and failed[1].actor == "nobody"
    login = _events(uow, AuditAction.LOGIN)
    assert [(e.actor, e.entity_id) for e in login] == [("Ann", principal.user_id)]
    assert "10.0.0.7" in login[0].summary


def test_a_too_long_password_is_refused_without_hashing_it_whole(uow: UnitOfWork) -> None:
    _user(uow, "ann")
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "ann", PASSWORD + "x" * identity.PASSWORD_MAX_LENGTH)


def test_lock_out_after_repeated_failures_even_with_the_right_password(uow: UnitOfWork) -> None:
    _user(uow, "ann")
    for _ in range(identity.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthenticated):
            identity.authenticate(uow, "ann", "not the password")
    assert _stored(uow, "ann").locked_until is None
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "ann", "not the password")
    locked = _stored(uow, "ann").locked_until
    assert locked is not None and locked > dt.datetime.now(dt.UTC)
    with pytest.raises(TooManyAttempts, match="try again in 15 minutes"):
        identity.authenticate(uow, "ann", PASSWORD)
    summaries = [e.summary for e in _events(uow, AuditAction.LOGIN_FAILED)]
    assert len(summaries) == identity.MAX_FAILED_LOGINS + 1
    assert "locked out for 15 minutes" in summaries[-2]
    assert "the account is locked" in summaries[-1]
    # Once the lock-out has run out, the right password works again.
    _move_back(uow, User, identity.LOCKOUT, "locked_until")
    assert identity.authenticate(uow, "ann", PASSWORD).name == "ann"
    assert _stored(uow, "ann").failed_logins == 0
    assert PASSWORD not in _audit_text(uow) and "not the password" not in _audit_text(uow)


def test_a_success_resets_the_failure_count(uow: UnitOfWork) -> None:
    _user(uow, "ann")
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            identity.authenticate(uow, "ann", "not the password")
    identity.authenticate(uow, "ann", PASSWORD)
    for _ in range(identity.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthenticated):
            identity.authenticate(uow, "ann", "not the password")
    assert _stored(uow, "ann").locked_until is None


def test_a_disabled_account_cannot_sign_in(uow: UnitOfWork) -> None:
    _user(uow, "ann")
    identity.set_active(uow, "ann", False, actor=ACTOR)
    with pytest.raises(Unauthenticated, match="wrong name or password"):
        identity.authenticate(uow, "ann", PASSWORD)
    assert "disabled" in _events(uow, AuditAction.LOGIN_FAILED)[-1].summary
    identity.set_active(uow, "ann", True, actor=ACTOR)
    assert identity.authenticate(uow, "ann", PASSWORD).name == "ann"


def test_generated_passwords_must_be_changed(uow: UnitOfWork) -> None:
    first = identity.ensure_first_admin(uow, "root")
    assert first is not None
    admin, password = first
    assert admin.must_change_password and admin.role is Role.ADMIN
    assert identity.ensure_first_admin(uow, "again") is None
    principal = identity.authenticate(uow, "root", password)
    session_id = identity.start_session(uow, principal, TIMES)
    signed_in = identity.resolve_session(uow, session_id, TIMES)
    assert signed_in is not None and signed_in.must_change_password
    with pytest.raises(InvalidInput, match="current password is wrong"):
        identity.change_own_password(uow, principal, "not it at all", "a brand new passphrase")
    with pytest.raises(InvalidInput, match="must differ"):
        identity.change_own_password(uow, principal, password, password)
    identity.change_own_password(uow, principal, password, "a brand new passphrase")
    assert not _stored(uow, "root").must_change_password
    # The session the password was changed in ended with the old password.
    assert identity.resolve_session(uow, session_id, TIMES) is None
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "root", password)
    identity.authenticate(uow, "root", "a brand new passphrase")
    text = _audit_text(uow)
    assert password not in text and "a brand new passphrase" not in text


def test_reset_password_unlocks_and_ends_sessions(uow: UnitOfWork) -> None:
    ann = _user(uow, "ann")
    session_id = identity.start_session(uow, ann, TIMES)
    for _ in range(identity.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            identity.authenticate(uow, "ann", "not the password")
    with pytest.raises(TooManyAttempts):
        identity.authenticate(uow, "ann", PASSWORD)
    old_hash = _stored(uow, "ann").password_hash
    generated = identity.reset_password(uow, "ann", actor=ACTOR)
    user = _stored(uow, "ann")
    assert user.locked_until is None and user.failed_logins == 0
    assert user.must_change_password and user.password_hash != old_hash
    assert identity.resolve_session(uow, session_id, TIMES) is None
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "ann", PASSWORD)
    assert identity.authenticate(uow, "ann", generated).name == "ann"
    chosen = identity.reset_password(uow, "ann", actor=ACTOR, password="chosen by the admin")
    assert chosen == "chosen by the admin" and not _stored(uow, "ann").must_change_password
    text = _audit_text(uow)
    assert generated not in text and chosen not in text and str(old_hash) not in text
    with pytest.raises(NotFound):
        identity.reset_password(uow, "nobody", actor=ACTOR)


def test_the_last_active_admin_stays(uow: UnitOfWork) -> None:
    _user(uow, "root", Role.ADMIN)
    with pytest.raises(Conflict, match="last active admin"):
        identity.set_role(uow, "root", Role.ENGINEER, actor=ACTOR)
    with pytest.raises(Conflict, match="last active admin"):
        identity.set_active(uow, "root", False, actor=ACTOR)
    assert _stored(uow, "root").role is Role.ADMIN and _stored(uow, "root").active
    _user(uow, "second", Role.ADMIN)
    identity.set_active(uow, "second", False, actor=ACTOR)  # a disabled admin does not count
    with pytest.raises(Conflict, match="last active admin"):
        identity.set_role(uow, "root", Role.VIEWER, actor=ACTOR)
    identity.set_active(uow, "second", True, actor=ACTOR)
    assert identity.set_role(uow, "root", Role.VIEWER, actor=ACTOR).role is Role.VIEWER
    with pytest.raises(Conflict, match="last active admin"):
        identity.set_active(uow, "second", False, actor=ACTOR)


def test_set_role_checks_the_partner_and_ends_sessions(uow: UnitOfWork) -> None:
    partner = make_partner(uow)
    ann = _user(uow, "ann")
    session_id = identity.start_session(uow, ann, TIMES)
    with pytest.raises(InvalidInput, match="needs the partner"):
        identity.set_role(uow, "ann", Role.PARTNER, actor=ACTOR)
    assert identity.resolve_session(uow, session_id, TIMES) is not None
    changed = identity.set_role(uow, "ann", Role.PARTNER, actor=ACTOR, partner=partner.id)
    assert (changed.role, changed.partner_id) == (Role.PARTNER, partner.id)
    assert identity.resolve_session(uow, session_id, TIMES) is None
    back = identity.set_role(uow, "ann", Role.ENGINEER, actor=ACTOR)
    assert (back.role, back.partner_id) == (Role.ENGINEER, None)


# Sessions ----------------------------------------------------------------------------------


def test_session_start_resolve_and_end(uow: UnitOfWork) -> None:
    ann = identity.authenticate(uow, _user(uow, "ann", full_name="Ann Smith").name, PASSWORD)
    session_id = identity.start_session(uow, ann, TIMES, client="10.0.0.7")
    with uow:
        rows = list(uow.session.scalars(select(WebSession)))
    assert [r.digest for r in rows] == [identity.digest(session_id)]  # never the id itself
    signed_in = identity.resolve_session(uow, session_id, TIMES)
    assert signed_in is not None
    assert (signed_in.principal, signed_in.full_name) == (ann, "Ann Smith")
    assert identity.resolve_session(uow, session_id + "x", TIMES) is None
    identity.end_session(uow, session_id)
    assert identity.resolve_session(uow, session_id, TIMES) is None
    identity.end_session(uow, session_id)  # twice is harmless
    assert [e.actor for e in _events(uow, AuditAction.LOGOUT)] == ["ann"]
    text = _audit_text(uow)
    assert session_id not in text and identity.digest(session_id) not in text


def test_an_idle_session_ends(uow: UnitOfWork) -> None:
    session_id = identity.start_session(uow, _user(uow, "ann"), TIMES)
    _move_back(uow, WebSession, TIMES.idle - dt.timedelta(seconds=90), "last_seen_at")
    assert identity.resolve_session(uow, session_id, TIMES) is not None  # touched again
    _move_back(uow, WebSession, TIMES.idle - dt.timedelta(seconds=90), "last_seen_at")
    assert identity.resolve_session(uow, session_id, TIMES) is not None
    _move_back(uow, WebSession, TIMES.idle + dt.timedelta(seconds=1), "last_seen_at")
    assert identity.resolve_session(uow, session_id, TIMES) is None
    with uow:
        assert list(uow.session.scalars(select(WebSession))) == []


def test_a_session_ends_at_its_absolute_lifetime_however_busy(uow: UnitOfWork) -> None:
    session_id = identity.start_session(uow, _user(uow, "ann"), TIMES)
    _move_back(uow, WebSession, TIMES.absolute, "created_at", "expires_at")
    assert identity.resolve_session(uow, session_id, TIMES) is None


def test_a_disabled_users_session_is_refused(uow: UnitOfWork) -> None:
    ann = _user(uow, "ann")
    session_id = identity.start_session(uow, ann, TIMES)
    with uow:  # disabled behind the service's back: the session is still refused
        uow.session.execute(update(User).where(User.id == ann.user_id).values(active=False))
        uow.commit()
    assert identity.resolve_session(uow, session_id, TIMES) is None
    with uow:
        uow.session.execute(update(User).where(User.id == ann.user_id).values(active=True))
        uow.commit()
    assert identity.resolve_session(uow, session_id, TIMES) is not None
    identity.set_active(uow, "ann", False, actor=ACTOR)
    identity.set_active(uow, "ann", True, actor=ACTOR)
    assert identity.resolve_session(uow, session_id, TIMES) is None  # ended, not paused


# Tokens ------------------------------------------------------------------------------------


def test_token_create_resolve_and_revoke(uow: UnitOfWork) -> None:
    eng = _user(uow, "eng")
    token, raw = identity.create_token(uow, actor=eng, scopes=["read", "write", "read"], name="ci")
    assert raw.startswith(identity.TOKEN_PREFIX) and token.prefix == raw[:12]
    assert token.digest == identity.digest(raw) and token.scopes == ["read", "write"]
    assert token.last_used_at is None
    principal = identity.resolve_token(uow, raw)
    assert (principal.name, principal.role, principal.user_id) == (
        "eng",
        Role.ENGINEER,
        eng.user_id,
    )
    assert principal.scopes == frozenset({Scope.READ, Scope.WRITE})
    assert principal.may(Action.CREATE, Kind.BUILD)
    assert not principal.may(Action.INGEST, Kind.TEST_DATA)  # the role could, the token not
    with uow:
        stored = uow.session.get(ApiToken, token.id)
        assert stored is not None and stored.last_used_at is not None
    with pytest.raises(Unauthenticated, match="not known"):
        identity.resolve_token(uow, raw[:-1])
    identity.revoke_token(uow, token.id, actor=eng)
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.resolve_token(uow, raw)
    identity.revoke_token(uow, token.id, actor=eng)  # again: harmless, audited once
    assert len(_events(uow, AuditAction.REVOKE)) == 1
    text = _audit_text(uow)
    assert raw not in text and token.digest not in text


def test_an_expired_token_is_refused(uow: UnitOfWork) -> None:
    eng = _user(uow, "eng")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _, raw = identity.create_token(uow, actor=eng, scopes=["read"], expires_at=soon)
    assert identity.resolve_token(uow, raw).name == "eng"
    _move_back(uow, ApiToken, dt.timedelta(hours=2), "expires_at")
    with pytest.raises(Unauthenticated, match="expired"):
        identity.resolve_token(uow, raw)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with pytest.raises(InvalidInput, match="lies in the past"):
        identity.create_token(uow, actor=eng, scopes=["read"], expires_at=past)


def test_a_disabled_users_token_is_refused(uow: UnitOfWork) -> None:
    _, raw = identity.create_token(uow, actor=_user(uow, "eng"), scopes=["read"])
    identity.set_active(uow, "eng", False, actor=ACTOR)
    with pytest.raises(Unauthenticated, match="disabled"):
        identity.resolve_token(uow, raw)
    identity.set_active(uow, "eng", True, actor=ACTOR)
    assert identity.resolve_token(uow, raw).name == "eng"


@pytest.mark.parametrize(
    ("role", "refused"),
    [
        (Role.VIEWER, ["write", "ingest", "admin"]),
        (Role.PRODUCT, ["ingest", "admin"]),
        (Role.ENGINEER, ["admin"]),
        (Role.PARTNER, ["admin"]),
    ],
)
def test_a_token_holds_only_scopes_the_role_can_use(
    uow: UnitOfWork, role: Role, refused: list[str]
) -> None:
    partner = make_partner(uow) if role is Role.PARTNER else None
    owner = _user(uow, "someone", role, partner=partner.id if partner else None)
    for scope in refused:
        with pytest.raises(InvalidInput, match=f"cannot hold a {scope} token"):
            identity.create_token(uow, actor=owner, scopes=[scope])
    with pytest.raises(InvalidInput, match="is not a scope"):
        identity.create_token(uow, actor=owner, scopes=["root"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        identity.create_token(uow, actor=owner, scopes=[])
    assert identity.create_token(uow, actor=owner, scopes=["read"])[0].scopes == ["read"]
    assert len(identity.list_tokens(uow, actor=owner)) == 1


def test_station_binding_only_for_ingest_and_only_to_a_visible_station(uow: UnitOfWork) -> None:
    mine, theirs = make_partner(uow), make_partner(uow)
    my_line = make_line(uow, stations=2, partner_id=mine.id)
    their_line = make_line(uow, stations=2, partner_id=theirs.id)
    with uow:
        stations = {(s.line_id, s.name): s.id for s in uow.session.scalars(select(Station))}
    cm = _user(uow, "cm", Role.PARTNER, partner=mine.id)
    ops = _user(uow, "ops", Role.OPERATIONS)
    bound, raw = identity.create_token(uow, actor=cm, scopes=["ingest"], station="S2")
    assert bound.station_id == stations[(my_line.id, "S2")]  # its own line's S2, not theirs
    assert identity.resolve_token(uow, raw).station_id == bound.station_id
    with pytest.raises(InvalidInput, match="only an ingest token"):
        identity.create_token(uow, actor=cm, scopes=["read"], station="S1")
    for other in (stations[(their_line.id, "S1")], str(stations[(their_line.id, "S1")]), "S9"):
        with pytest.raises(InvalidInput, match="does not exist"):
            identity.create_token(uow, actor=cm, scopes=["ingest"], station=other)
    # An internal user sees both lines: a name two lines share is ambiguous, an id is not.
    with pytest.raises(InvalidInput, match="give its id"):
        identity.create_token(uow, actor=ops, scopes=["ingest"], station="S1")
    theirs_s1 = stations[(their_line.id, "S1")]
    token, _ = identity.create_token(uow, actor=ops, scopes=["ingest"], station=theirs_s1)
    assert token.station_id == theirs_s1


def test_tokens_of_others_are_an_admins_business(uow: UnitOfWork) -> None:
    eng, bob = _user(uow, "eng"), _user(uow, "bob")
    admin = _user(uow, "root", Role.ADMIN)
    bobs, bobs_raw = identity.create_token(uow, actor=bob, scopes=["read"])
    with pytest.raises(Forbidden):
        identity.create_token(uow, actor=eng, scopes=["read"], user="bob")
    with pytest.raises(Forbidden):
        identity.list_tokens(uow, actor=eng, user="bob")
    with pytest.raises(Forbidden):
        identity.list_tokens(uow, actor=eng, user="*")
    with pytest.raises(NotFound, match=f"token {bobs.id} does not exist"):
        identity.revoke_token(uow, bobs.id, actor=eng)
    with pytest.raises(NotFound, match="token 999999 does not exist"):
        identity.revoke_token(uow, 999_999, actor=eng)
    assert identity.resolve_token(uow, bobs_raw).name == "bob"
    assert identity.list_tokens(uow, actor=eng) == []
    # An admin does all of it for anyone.
    made, _ = identity.create_token(uow, actor=admin, scopes=["write"], user="eng")
    assert made.user_id == eng.user_id
    assert [t.id for t in identity.list_tokens(uow, actor=admin, user="*")] == [bobs.id, made.id]
    assert [t.id for t in identity.list_tokens(uow, actor=admin, user="BOB")] == [bobs.id]
    identity.revoke_token(uow, bobs.id, actor=admin)
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.resolve_token(uow, bobs_raw)
    # A token without a user to belong to.
    with pytest.raises(InvalidInput, match="name the user"):
        identity.create_token(uow, actor=ACTOR, scopes=["read"])


# The CLI's user --------------------------------------------------------------------------------


def test_cli_principal(uow: UnitOfWork) -> None:
    with pytest.raises(Unauthenticated, match="no users yet"):
        identity.cli_principal(uow, None)
    _user(uow, "eng")
    with pytest.raises(Unauthenticated, match="no users yet"):
        identity.cli_principal(uow, None)  # users, but no admin to fall back on
    _user(uow, "first", Role.ADMIN)
    _user(uow, "later", Role.ADMIN)
    assert identity.cli_principal(uow, None).name == "first"
    assert identity.cli_principal(uow, "").name == "first"
    named = identity.cli_principal(uow, "ENG")
    assert (named.name, named.role, named.scopes) == ("eng", Role.ENGINEER, None)
    with pytest.raises(Unauthenticated, match="'nobody', who is not a user"):
        identity.cli_principal(uow, "nobody")
    identity.set_active(uow, "eng", False, actor=ACTOR)
    with pytest.raises(Unauthenticated, match="eng, whose account is disabled"):
        identity.cli_principal(uow, "eng")
    identity.set_active(uow, "first", False, actor=ACTOR)
    assert identity.cli_principal(uow, None).name == "later"


def test_no_secret_in_any_audit_event(uow: UnitOfWork) -> None:
    """Every identity operation at once; then the whole audit trail is searched for secrets."""
    root = _user(uow, "root", Role.ADMIN)
    ann = _user(uow, "ann")
    identity.authenticate(uow, "ann", PASSWORD)
    with pytest.raises(Unauthenticated):
        identity.authenticate(uow, "ann", PASSWORD + "?")
    session_id = identity.start_session(uow, ann, TIMES)
    identity.end_session(uow, session_id)
    token, raw = identity.create_token(uow, actor=ann, scopes=["read"])
    identity.revoke_token(uow, token.id, actor=root)
    reset = identity.reset_password(uow, "ann", actor=root)
    identity.change_own_password(uow, ann, reset, "yet another passphrase")
    hashes = [u.password_hash for u in identity.list_users(uow, actor=root)]
    secrets = [PASSWORD, PASSWORD + "?", reset, "yet another passphrase", raw, token.digest]
    secrets += [session_id, identity.digest(session_id)] + [h for h in hashes if h]
    events = _events(uow)
    assert {e.action for e in events} >= {
        AuditAction.CREATE,
        AuditAction.UPDATE,
        AuditAction.LOGIN,
        AuditAction.LOGIN_FAILED,
        AuditAction.LOGOUT,
        AuditAction.REVOKE,
    }
    text = _audit_text(uow)
    leaked = [s for s in secrets if s in text]
    assert leaked == []
    # A changed password still shows as a change, by a marker.
    changes = [e for e in events if e.after and "password_hash" in e.after]
    assert changes and all(
        str((e.after or {})["password_hash"]).startswith("(hidden)") for e in changes
    )
