"""Users, passwords, sign-in with lock-out, browser sessions and API tokens.

Passwords are hashed with Argon2 (pwdlib). Session ids and tokens are random secrets of 256 bits
of which only the SHA-256 digest is stored: a fast digest is enough for a secret nobody can
guess, and it lets each request find its session or token by an index. Sign-in, sign-out and
failed sign-ins enter the audit trail; no password, hash, session id or token ever does.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import delete, func, or_, select, update

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    invalid,
)
from phasegate.domain.policy import Action, Kind, Principal, Role, Scope
from phasegate.domain.text import unstorable_reason
from phasegate.services import audit
from phasegate.services.access import authorize, is_visible, scoped
from phasegate.services.crud import IDENTIFIER
from phasegate.store.models import ApiToken, Partner, Station, User, WebSession, utcnow
from phasegate.store.uow import UnitOfWork

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024  # hashing is slow on purpose: a megabyte password is an attack
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
TOKEN_PREFIX = "pgt_"
# Last-use times and session activity are written at most this often, so reading is not writing.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
NAME_MAX_LENGTH = 80

_hasher = PasswordHash.recommended()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both answers take the same time.
    Made at the first sign-in, not at import: a command that signs no one in pays nothing."""
    return _hasher.hash(secrets.token_urlsafe(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_password() -> str:
    """A random password to hand out once (about 96 bits)."""
    return secrets.token_urlsafe(16)


def check_password(password: str, loc: str = "password") -> None:
    reason = unstorable_reason(password)
    if reason is not None:
        raise invalid(loc, reason)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise invalid(loc, f"must be at least {PASSWORD_MIN_LENGTH} characters long")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise invalid(loc, f"must be at most {PASSWORD_MAX_LENGTH} characters long")


def principal_for(user: User, **token: object) -> Principal:
    return Principal(
        name=user.name,
        role=user.role,
        user_id=user.id,
        partner_id=user.partner_id,
        **token,  # type: ignore[arg-type]
    )


# Users ------------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise invalid("name", "must not be empty")
    if len(name) > NAME_MAX_LENGTH or not IDENTIFIER.fullmatch(name):
        raise invalid(
            "name",
            f"{name[:NAME_MAX_LENGTH]!r} is not a sign-in name: printable ASCII without spaces, "
            f"at most {NAME_MAX_LENGTH} characters",
        )
    return name


def _find_user(uow: UnitOfWork, name: str) -> User | None:
    return uow.session.scalar(select(User).where(func.lower(User.name) == name.strip().lower()))


def get_user(uow: UnitOfWork, name: str) -> User:
    user = _find_user(uow, name)
    if user is None:
        raise NotFound(f"user {name!r} does not exist")
    return user


def _partner_id(uow: UnitOfWork, role: Role, partner: str | int | None) -> int | None:
    """The partner a partner user works for: required for that role, refused for the others."""
    if role is not Role.PARTNER:
        if partner is not None:
            raise invalid("partner", "only a partner user works for a partner")
        return None
    if partner is None or partner == "":
        raise invalid("partner", "a partner user needs the partner it works for")
    if isinstance(partner, int) or str(partner).isdigit():
        found = uow.session.get(Partner, int(partner))
    else:
        found = uow.session.scalar(select(Partner).where(Partner.name == str(partner).strip()))
    if found is None:
        raise invalid("partner", f"partner {partner!r} does not exist")
    return found.id


def _audit(
    uow: UnitOfWork,
    actor: Principal,
    action: AuditAction,
    obj: User | ApiToken,
    before: dict[str, object] | None,
    summary: str,
) -> None:
    audit.record(
        uow,
        actor=actor.name,
        action=action,
        obj=obj,
        before=before,
        after=audit.snapshot(obj),
        summary=summary,
    )


def create_user(
    uow: UnitOfWork,
    name: str,
    role: Role | str,
    *,
    actor: Principal,
    full_name: str = "",
    partner: str | int | None = None,
    password: str | None = None,
    must_change_password: bool = False,
) -> User:
    """A new user; without ``password`` the account signs in with tokens only until a
    password is set (``reset_password``)."""
    authorize(actor, Action.ADMINISTER, Kind.USER)
    with uow.write():
        user = _new_user(uow, name, role, full_name, partner, password, must_change_password)
        _audit(uow, actor, AuditAction.CREATE, user, None, f"created user {user.name}")
        uow.commit()
        return user


def _new_user(
    uow: UnitOfWork,
    name: str,
    role: Role | str,
    full_name: str,
    partner: str | int | None,
    password: str | None,
    must_change_password: bool,
) -> User:
    name = _check_name(name)
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise invalid("role", f"{role!r} is not a role; one of {choices}") from None
    reason = unstorable_reason(full_name)
    if reason is not None or len(full_name) > 200:
        raise invalid("full_name", reason or "is longer than 200 characters")
    if password is not None:
        check_password(password)
    if _find_user(uow, name) is not None:
        raise Conflict(f"a user named {name!r} already exists", [FieldError("name", "exists")])
    user = User(
        name=name,
        full_name=full_name.strip(),
        role=role,
        partner_id=_partner_id(uow, role, partner),
        password_hash=_hasher.hash(password) if password is not None else None,
        must_change_password=must_change_password,
        active=True,
        failed_logins=0,
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def first_admin(uow: UnitOfWork) -> User | None:
    """The active admin created first: whom the CLI acts as when ``PHASEGATE_USER`` is unset."""
    stmt = select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    return uow.session.scalar(stmt.limit(1))


def ensure_first_admin(uow: UnitOfWork, name: str = "admin") -> tuple[User, str] | None:
    """On a database without users: an admin with a one-time password (to be changed at the
    first sign-in), and that password. None when users exist already."""
    with uow.write():
        if uow.session.scalar(select(func.count()).select_from(User)):
            return None
        password = new_password()
        user = _new_user(uow, name, Role.ADMIN, "", None, password, True)
        system = Principal(name="system", role=Role.ADMIN)
        _audit(uow, system, AuditAction.CREATE, user, None, f"created the first admin {name}")
        uow.commit()
        return user, password


def list_users(uow: UnitOfWork, *, actor: Principal) -> list[User]:
    authorize(actor, Action.ADMINISTER, Kind.USER)
    with uow:
        return list(uow.session.scalars(select(User).order_by(func.lower(User.name))))


def _change_user(uow: UnitOfWork, name: str) -> tuple[User, dict[str, object]]:
    """The user named, read under the write lock, and its state before the change."""
    user = uow.get(User, get_user(uow, name).id, label="user", lock=True)
    return user, audit.snapshot(user)


def set_role(
    uow: UnitOfWork,
    name: str,
    role: Role | str,
    *,
    actor: Principal,
    partner: str | int | None = None,
) -> User:
    authorize(actor, Action.ADMINISTER, Kind.USER)
    with uow.write():
        user, before = _change_user(uow, name)
        try:
            new_role = Role(role)
        except ValueError:
            raise invalid("role", f"{role!r} is not a role") from None
        _keep_an_admin(uow, user, new_role if user.active else None)
        user.partner_id = _partner_id(uow, new_role, partner)
        user.role = new_role
        _end_sessions(uow, user.id)  # the old role's sessions end with it
        _audit(uow, actor, AuditAction.UPDATE, user, before, f"set the role of {user.name}")
        uow.commit()
        return user


def set_active(uow: UnitOfWork, name: str, active: bool, *, actor: Principal) -> User:
    """Disable an account (its sessions end, its tokens stop working) or enable it again."""
    authorize(actor, Action.ADMINISTER, Kind.USER)
    with uow.write():
        user, before = _change_user(uow, name)
        if not active:
            _keep_an_admin(uow, user, None)
            _end_sessions(uow, user.id)
        user.active = active
        verb = "enabled" if active else "disabled"
        _audit(uow, actor, AuditAction.UPDATE, user, before, f"{verb} user {user.name}")
        uow.commit()
        return user


def _keep_an_admin(uow: UnitOfWork, user: User, new_role: Role | None) -> None:
    """Refuse to take the last active admin's role or account away."""
    if user.role is not Role.ADMIN or new_role is Role.ADMIN or not user.active:
        return
    others = (
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    if not uow.session.scalar(others):
        raise Conflict(f"{user.name} is the last active admin; make another admin first")


def reset_password(
    uow: UnitOfWork, name: str, *, actor: Principal, password: str | None = None
) -> str:
    """Set a new password (a random one-time password unless given), unlock the account and
    end its sessions. Returns the password, to hand over once."""
    authorize(actor, Action.ADMINISTER, Kind.USER)
    generated = password is None
    password = new_password() if password is None else password
    check_password(password)
    with uow.write():
        user, before = _change_user(uow, name)
        user.password_hash = _hasher.hash(password)
        user.must_change_password = generated
        user.failed_logins = 0
        user.locked_until = None
        _end_sessions(uow, user.id)
        _audit(uow, actor, AuditAction.UPDATE, user, before, f"reset the password of {user.name}")
        uow.commit()
    return password


def change_own_password(uow: UnitOfWork, actor: Principal, current: str, new: str) -> None:
    """A signed-in user sets a new password, proving the current one.

    Every session of the user ends with the old password, the one it was changed in included:
    a browser signed in with a stolen password is signed out, and the caller starts a new
    session for the browser that made the change (``start_session``). API tokens stay valid:
    they are separate credentials, revoked on their own.
    """
    check_password(new, "new_password")
    if current == new:
        raise invalid("new_password", "must differ from the current password")
    with uow.write():
        user = uow.get(User, actor.user_id, label="user", lock=True)
        if user.password_hash is None or not _hasher.verify(current, user.password_hash):
            raise InvalidInput(
                "the current password is wrong", [FieldError("current_password", "is wrong")]
            )
        before = audit.snapshot(user)
        user.password_hash = _hasher.hash(new)
        user.must_change_password = False
        _end_sessions(uow, user.id)
        summary = f"{user.name} changed the password; every session of theirs ended"
        _audit(uow, actor, AuditAction.UPDATE, user, before, summary)
        uow.commit()


# Signing in ---------------------------------------------------------------------------------


def _login_failed(uow: UnitOfWork, name: str, user: User | None, why: str, client: str) -> None:
    """Count the failure against the account (locking it after ``MAX_FAILED_LOGINS``) and audit
    it under the name given, as an event about the account or, for an unknown name, about none."""
    shown = name if unstorable_reason(name) is None else repr(name)
    actor = shown[:NAME_MAX_LENGTH] or "(no name)"
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = utcnow() + LOCKOUT
            user.failed_logins = 0
            why += f"; locked out for {int(LOCKOUT.total_seconds() // 60)} minutes"
    summary = f"failed sign-in as {actor} from {client[:60]}: {why}"
    if user is not None:
        _audit_sign_in(uow, user, AuditAction.LOGIN_FAILED, summary, actor=actor)
    else:
        audit.record_event(
            uow, actor=actor, action=AuditAction.LOGIN_FAILED, entity_type="users", summary=summary
        )
    uow.commit()


def authenticate(uow: UnitOfWork, name: str, password: str, *, client: str = "") -> Principal:
    """The user ``name`` if ``password`` is theirs and the account may sign in.

    A wrong name and a wrong password get the same answer in the same time. After
    ``MAX_FAILED_LOGINS`` failures in a row the account is locked for ``LOCKOUT``; every
    failure is audited (without the password).
    """
    with uow.write():
        user = _find_user(uow, name) if name and unstorable_reason(name) is None else None
        hashed = user.password_hash if user is not None else None
        ok, rehashed = _hasher.verify_and_update(
            password[:PASSWORD_MAX_LENGTH], hashed or _dummy_hash()
        )
        now = utcnow()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            _login_failed(uow, name, user, "the account is locked", client)
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(f"too many failed sign-ins: try again in {minutes} minutes")
        if user is None or hashed is None or not ok or len(password) > PASSWORD_MAX_LENGTH:
            _login_failed(uow, name, user, "wrong name or password", client)
            raise Unauthenticated("wrong name or password")
        if not user.active:
            _login_failed(uow, name, user, "the account is disabled", client)
            raise Unauthenticated("wrong name or password")
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        if rehashed is not None:  # the hasher's parameters have been raised since
            user.password_hash = rehashed
        _audit_sign_in(uow, user, AuditAction.LOGIN, f"{user.name} signed in from {client[:60]}")
        uow.commit()
        return principal_for(user)


def _audit_sign_in(
    uow: UnitOfWork, user: User, action: AuditAction, summary: str, actor: str | None = None
) -> None:
    """A sign-in, sign-out or failed sign-in in the audit trail: who, what, never a secret."""
    audit.record(
        uow,
        actor=actor or user.name,
        action=action,
        obj=user,
        before=None,
        after=None,
        summary=summary,
    )


# Browser sessions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionTimes:
    idle: dt.timedelta
    absolute: dt.timedelta


def start_session(
    uow: UnitOfWork, principal: Principal, times: SessionTimes, *, client: str = ""
) -> str:
    """A new session for a user who has just signed in; returns its id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with uow.write():
        uow.session.add(
            WebSession(
                digest=digest(session_id),
                user_id=principal.user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + times.absolute,
                client=client[:200],
            )
        )
        _purge_sessions(uow, now, times)
        uow.commit()
    return session_id


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    must_change_password: bool
    full_name: str


def resolve_session(uow: UnitOfWork, session_id: str, times: SessionTimes) -> SignedIn | None:
    """Who the session belongs to; None when it has ended, gone idle or expired."""
    now = utcnow()
    with uow:
        row = uow.session.get(WebSession, digest(session_id))
        if row is None:
            return None
        user = uow.session.get(User, row.user_id)
        expired = row.expires_at <= now or row.last_seen_at + times.idle <= now
        if user is None or not user.active or expired:
            if expired:
                _purge_session(uow, row.digest)
            return None
        stale = now - row.last_seen_at >= TOUCH_INTERVAL
        signed_in = SignedIn(principal_for(user), user.must_change_password, user.full_name)
    if stale:
        _touch(
            uow, WebSession.__table__.c.digest == digest(session_id), WebSession.last_seen_at, now
        )
    return signed_in


def _purge_session(uow: UnitOfWork, key: str) -> None:
    """Delete an ended session, in a write transaction of its own (see ``_touch``)."""
    uow.session.rollback()
    with uow.write():
        uow.session.execute(delete(WebSession).where(WebSession.digest == key))
        uow.commit()


def end_session(uow: UnitOfWork, session_id: str) -> None:
    """Sign out: the session is deleted, so its cookie signs nobody in again."""
    with uow.write():
        row = uow.session.get(WebSession, digest(session_id))
        if row is None:
            return
        user = uow.session.get(User, row.user_id)
        uow.session.delete(row)
        if user is not None:
            _audit_sign_in(uow, user, AuditAction.LOGOUT, f"{user.name} signed out")
        uow.commit()


def _end_sessions(uow: UnitOfWork, user_id: int) -> None:
    uow.session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def _purge_sessions(uow: UnitOfWork, now: dt.datetime, times: SessionTimes) -> None:
    """Delete sessions that can no longer be used."""
    uow.session.execute(
        delete(WebSession).where(
            (WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - times.idle)
        )
    )


# API tokens ---------------------------------------------------------------------------------


def _scopes(role: Role, scopes: Iterable[Scope | str]) -> list[Scope]:
    """The scopes asked for, each one the role can use."""
    chosen: list[Scope] = []
    for raw in scopes:
        try:
            scope = Scope(raw)
        except ValueError:
            choices = ", ".join(s.value for s in Scope)
            raise invalid("scope", f"{raw!r} is not a scope; one of {choices}") from None
        if not _role_can_use(role, scope):
            raise invalid("scope", f"a {role.value} user cannot hold a {scope.value} token")
        if scope not in chosen:
            chosen.append(scope)
    if not chosen:
        raise invalid("scope", "name at least one scope")
    return chosen


def _role_can_use(role: Role, scope: Scope) -> bool:
    from phasegate.domain.policy import POLICY

    rules = POLICY[role]
    if scope is Scope.READ:
        return bool(rules[Action.READ])
    if scope is Scope.WRITE:
        return bool(rules[Action.CREATE] or rules[Action.UPDATE] or rules[Action.DECIDE_GATE])
    if scope is Scope.INGEST:
        return bool(rules[Action.INGEST])
    return bool(rules[Action.ADMINISTER])


def _may_manage_tokens_of(actor: Principal, user: User) -> None:
    """Everyone manages their own tokens; only an administrator anyone else's."""
    if user.id != actor.user_id:
        authorize(actor, Action.ADMINISTER, Kind.TOKEN)


def create_token(
    uow: UnitOfWork,
    *,
    actor: Principal,
    scopes: Sequence[Scope | str],
    user: str | None = None,
    station: int | str | None = None,
    expires_at: dt.datetime | None = None,
    name: str = "",
) -> tuple[ApiToken, str]:
    """A new token for ``user`` (default: the actor) and the token itself, shown only now."""
    with uow.write():
        owner = get_user(uow, user) if user is not None else _actor_user(uow, actor)
        _may_manage_tokens_of(actor, owner)
        chosen = _scopes(owner.role, scopes)
        station_id = _token_station(uow, principal_for(owner), station, chosen)
        if expires_at is not None and expires_at <= utcnow():
            raise invalid("expires_at", "lies in the past")
        reason = unstorable_reason(name)
        if reason is not None or len(name) > 120:
            raise invalid("name", reason or "is longer than 120 characters")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=owner.id,
            name=name.strip(),
            prefix=raw[:12],
            digest=digest(raw),
            scopes=[s.value for s in chosen],
            station_id=station_id,
            expires_at=expires_at,
        )
        uow.session.add(token)
        uow.session.flush()
        summary = f"created token {token.prefix}… for {owner.name}"
        _audit(uow, actor, AuditAction.CREATE, token, None, summary)
        uow.commit()
        return token, raw


def _actor_user(uow: UnitOfWork, actor: Principal) -> User:
    if actor.user_id is None:
        raise invalid("user", "name the user the token is for")
    return uow.get(User, actor.user_id, label="user")


def _token_station(
    uow: UnitOfWork, owner: Principal, station: int | str | None, scopes: list[Scope]
) -> int | None:
    """The station an ingest token is bound to; it must exist and be the owner's to see."""
    if station is None or station == "":
        return None
    if Scope.INGEST not in scopes:
        raise invalid("station", "only an ingest token is bound to a station")
    if isinstance(station, int) or str(station).isdigit():
        found = uow.session.get(Station, int(station))
        if found is None or not is_visible(uow, owner, Station, found.id):
            raise invalid("station", f"station {station!r} does not exist")
        return found.id
    # Station names are unique per line only: by name, among the stations the owner can see.
    named = scoped(select(Station.id).where(Station.name == str(station).strip()), owner, Station)
    ids = list(uow.session.scalars(named.limit(2)))
    if not ids:
        raise invalid("station", f"station {station!r} does not exist")
    if len(ids) > 1:
        raise invalid("station", f"several lines have a station {station!r}: give its id")
    return ids[0]


def list_tokens(uow: UnitOfWork, *, actor: Principal, user: str | None = None) -> list[ApiToken]:
    """The tokens of ``user`` (default: the actor's own); every user's for ``user="*"``."""
    with uow:
        stmt = select(ApiToken).order_by(ApiToken.id)
        if user == "*":
            authorize(actor, Action.ADMINISTER, Kind.TOKEN)
        else:
            owner = get_user(uow, user) if user is not None else _actor_user(uow, actor)
            _may_manage_tokens_of(actor, owner)
            stmt = stmt.where(ApiToken.user_id == owner.id)
        return list(uow.session.scalars(stmt))


def revoke_token(uow: UnitOfWork, token_id: int, *, actor: Principal) -> ApiToken:
    """Revoke a token at once: the next request that shows it is refused."""
    with uow.write():
        token = uow.session.get(ApiToken, token_id)
        owner = uow.session.get(User, token.user_id) if token is not None else None
        if token is None or owner is None:
            raise NotFound(f"token {token_id} does not exist")
        if owner.id != actor.user_id and not actor.may(Action.ADMINISTER, Kind.TOKEN):
            raise NotFound(f"token {token_id} does not exist")
        if token.revoked_at is None:
            before = audit.snapshot(token)
            token.revoked_at = utcnow()
            summary = f"revoked token {token.prefix}… of {owner.name}"
            _audit(uow, actor, AuditAction.REVOKE, token, before, summary)
        uow.commit()
        return token


def token_user(uow: UnitOfWork, token: ApiToken) -> User:
    return uow.get(User, token.user_id, label="user")


def resolve_token(uow: UnitOfWork, raw: str) -> Principal:
    """Who the bearer token acts for; ``Unauthenticated`` (saying why) when it may not."""
    now = utcnow()
    with uow:
        token = uow.session.scalar(select(ApiToken).where(ApiToken.digest == digest(raw)))
        if token is None:
            raise Unauthenticated("the bearer token is not known")
        if token.revoked_at is not None:
            raise Unauthenticated("the bearer token has been revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthenticated("the bearer token has expired")
        user = uow.session.get(User, token.user_id)
        if user is None or not user.active:
            raise Unauthenticated("the bearer token's account is disabled")
        stale = token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL
        principal = principal_for(
            user,
            scopes=frozenset(Scope(s) for s in token.scopes),
            station_id=token.station_id,
        )
    if stale:
        _touch(uow, ApiToken.__table__.c.id == token.id, ApiToken.last_used_at, now)
    return principal


def _touch(uow: UnitOfWork, which: Any, column: Any, now: dt.datetime) -> None:
    """Note ``now`` in ``column`` of the row ``which`` names, unless another request has just
    done so. A write transaction of its own (on SQLite ``BEGIN IMMEDIATE``, which waits for the
    lock): a read transaction turned into a write would fail at once when another writer
    committed meanwhile ("database is locked")."""
    with uow.write():
        uow.session.execute(
            update(column.table)
            .where(which, or_(column.is_(None), column <= now - TOUCH_INTERVAL))
            .values({column.key: now})
        )
        uow.commit()


# The CLI's user -----------------------------------------------------------------------------


def cli_principal(uow: UnitOfWork, name: str | None) -> Principal:
    """The user the CLI acts as: ``name`` (``PHASEGATE_USER``), else the first admin."""
    with uow:
        if name:
            user = _find_user(uow, name)
            if user is None:
                raise Unauthenticated(f"PHASEGATE_USER names {name!r}, who is not a user")
            if not user.active:
                raise Unauthenticated(
                    f"PHASEGATE_USER names {user.name}, whose account is disabled"
                )
            return principal_for(user)
        admin = first_admin(uow)
        if admin is None:
            raise Unauthenticated(
                "there are no users yet: run `phasegate init` to create the first admin"
            )
        return principal_for(admin)
