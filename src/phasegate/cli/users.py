"""``phasegate users ...`` and ``phasegate tokens ...``: accounts, roles and API tokens.

Every command acts as the CLI's user (``PHASEGATE_USER``, else the first admin); the identity
service decides whether that user may. Passwords and tokens are printed once, when they are
made; no listing ever shows a password hash or a token's digest.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer

from phasegate.cli import context
from phasegate.cli.errors import with_flags
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, dump_json, emit_record, emit_rows
from phasegate.domain.errors import InvalidInput, NotFound, invalid
from phasegate.domain.policy import Principal
from phasegate.services import builds as build_records
from phasegate.services import crud, identity
from phasegate.store.models import ApiToken, User
from phasegate.store.uow import UnitOfWork

users_app = typer.Typer(
    help="Users: who signs in, with which role (admin only).", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API tokens: bearer tokens with scopes, shown once when made.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")

# The services' parameter names, as the command lines spell them.
USER_FLAGS = {
    "role": "--role",
    "partner": "--partner",
    "full_name": "--full-name",
    "password": "--password-stdin",
}
TOKEN_FLAGS = {
    "scope": "--scope",
    "user": "--user",
    "station": "--station",
    "expires_at": "--expires-in-days",
    "name": "--name",
}

ONCE = "shown only now: it is not stored and cannot be shown again"


@contextmanager
def _flags_named(flags: dict[str, str]) -> Iterator[None]:
    try:
        yield
    except InvalidInput as error:
        raise with_flags(error, flags) from error


class _Names:
    """Names of the partners, stations and users the rows refer to by id."""

    def __init__(self, uow: UnitOfWork, actor: Principal) -> None:
        self.uow = uow
        self.actor = actor
        self._cache: dict[tuple[str, int], str] = {}

    def _lookup(self, resource: crud.Resource[Any], ident: int | None) -> str | None:
        if ident is None:
            return None
        key = (resource.name, ident)
        if key not in self._cache:
            try:
                self._cache[key] = str(crud.get(self.uow, resource, ident, actor=self.actor).name)
            except NotFound:
                self._cache[key] = str(ident)
        return self._cache[key]

    def partner(self, ident: int | None) -> str | None:
        return self._lookup(build_records.PARTNERS, ident)

    def station(self, ident: int | None) -> str | None:
        return self._lookup(build_records.STATIONS, ident)

    def user_of(self, token: ApiToken) -> str:
        key = ("user", token.user_id)
        if key not in self._cache:
            with self.uow:
                self._cache[key] = identity.token_user(self.uow, token).name
        return self._cache[key]


def _user_row(user: User, names: _Names) -> dict[str, Any]:
    """What a listing shows of an account: never its password hash."""
    return {
        "name": user.name,
        "full_name": user.full_name,
        "role": user.role.value,
        "partner": names.partner(user.partner_id),
        "active": user.active,
        "must_change_password": user.must_change_password,
        "locked_until": user.locked_until,
        "last_login_at": user.last_login_at,
    }


USER_TABLE = {
    "name": "name",
    "full_name": "full name",
    "role": "role",
    "partner": "partner",
    "active": "active",
    "must_change_password": "must change password",
    "locked_until": "locked until",
    "last_login_at": "last login",
}


def _emit_user(user: User, names: _Names, fmt: RecordFormat, title: str) -> None:
    row = _user_row(user, names)
    if fmt is RecordFormat.TABLE:
        emit_record({USER_TABLE[k]: v for k, v in row.items()}, OutputFormat.TABLE, title=title)
    else:
        emit_record(row, OutputFormat.JSON)


def _emit_password(
    row: dict[str, Any], password: str, fmt: RecordFormat, title: str, name: str
) -> None:
    """A record with the one-time password it was given, printed once."""
    if fmt is RecordFormat.JSON:
        sys.stdout.write(dump_json(row | {"one_time_password": password}) + "\n")
        return
    emit_record({USER_TABLE[k]: v for k, v in row.items()}, OutputFormat.TABLE, title=title)
    console.print(f"One-time password for {name}: [bold]{password}[/bold]", highlight=False)
    console.print(f"The password is {ONCE}; it must be changed at the first sign-in.")


def _read_password() -> str:
    """The password given on standard input: its first line, without the line break."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise invalid("password", "standard input held no password")
    return line


class RecordFormat(StrEnum):
    """How a command that prints one record (and perhaps a secret) prints it."""

    TABLE = "table"
    JSON = "json"


JSON_ONLY = typer.Option(RecordFormat.TABLE, "--format", help="Output format: table or json.")


@users_app.command("create", help="Create a user; without a password, prints a one-time one.")
def users_create(
    name: str = typer.Argument(..., help="Sign-in name: printable ASCII without spaces."),
    role: str = typer.Option(
        ...,
        "--role",
        help="admin, engineer, quality, operations, product, viewer or partner.",
    ),
    full_name: str = typer.Option("", "--full-name", help="The person's name, as shown."),
    partner: str | None = typer.Option(
        None, "--partner", help="The partner a partner user works for (name or id)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    fmt: RecordFormat = JSON_ONLY,
) -> None:
    uow, actor = context.session()
    password = _read_password() if password_stdin else None
    with _flags_named(USER_FLAGS):
        generated = identity.new_password() if password is None else None
        user = identity.create_user(
            uow,
            name,
            role,
            actor=actor,
            full_name=full_name,
            partner=partner,
            password=password or generated,
            must_change_password=generated is not None,
        )
    names = _Names(uow, actor)
    if generated is not None:
        _emit_password(_user_row(user, names), generated, fmt, f"User {user.name}", user.name)
    else:
        _emit_user(user, names, fmt, f"User {user.name}")


@users_app.command("list", help="List the users: role, partner, state and last sign-in.")
def users_list(fmt: OutputFormat = FORMAT) -> None:
    uow, actor = context.session()
    users = identity.list_users(uow, actor=actor)
    names = _Names(uow, actor)
    rows = [_user_row(user, names) for user in users]
    emit_rows(rows, fmt, columns=list(USER_TABLE), headers=USER_TABLE, title="Users")


@users_app.command("disable", help="Disable an account: it cannot sign in, its tokens stop.")
def users_disable(
    name: str = typer.Argument(..., help="Sign-in name."), fmt: RecordFormat = JSON_ONLY
) -> None:
    uow, actor = context.session()
    user = identity.set_active(uow, name, False, actor=actor)
    _emit_user(user, _Names(uow, actor), fmt, f"Disabled {user.name}")


@users_app.command("enable", help="Enable a disabled account again.")
def users_enable(
    name: str = typer.Argument(..., help="Sign-in name."), fmt: RecordFormat = JSON_ONLY
) -> None:
    uow, actor = context.session()
    user = identity.set_active(uow, name, True, actor=actor)
    _emit_user(user, _Names(uow, actor), fmt, f"Enabled {user.name}")


@users_app.command(
    "reset-password",
    help="Give a user a new one-time password (printed once); unlocks the account and "
    "signs it out everywhere.",
)
def users_reset_password(
    name: str = typer.Argument(..., help="Sign-in name."), fmt: RecordFormat = JSON_ONLY
) -> None:
    uow, actor = context.session()
    password = identity.reset_password(uow, name, actor=actor)
    with uow:
        user = identity.get_user(uow, name)
    row = _user_row(user, _Names(uow, actor))
    _emit_password(row, password, fmt, f"New password for {user.name}", user.name)


@users_app.command("set-role", help="Change a user's role (a partner user needs --partner).")
def users_set_role(
    name: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Argument(..., help="The new role."),
    partner: str | None = typer.Option(
        None, "--partner", help="The partner a partner user works for (name or id)."
    ),
    fmt: RecordFormat = JSON_ONLY,
) -> None:
    uow, actor = context.session()
    with _flags_named(USER_FLAGS | {"role": "ROLE"}):
        user = identity.set_role(uow, name, role, actor=actor, partner=partner)
    _emit_user(user, _Names(uow, actor), fmt, f"Role of {user.name}")


# Tokens -----------------------------------------------------------------------------------


def _token_row(token: ApiToken, names: _Names) -> dict[str, Any]:
    """What a listing shows of a token: never the token or its digest."""
    return {
        "id": token.id,
        "prefix": token.prefix,
        "name": token.name,
        "user": names.user_of(token),
        "scopes": list(token.scopes),
        "station": names.station(token.station_id),
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


TOKEN_TABLE = {
    "id": "id",
    "prefix": "prefix",
    "name": "name",
    "user": "user",
    "scopes": "scopes",
    "station": "station",
    "created_at": "created",
    "expires_at": "expires",
    "last_used_at": "last used",
    "revoked_at": "revoked",
}


@tokens_app.command("create", help="Create an API token; it is printed once.")
def tokens_create(
    scope: list[str] = typer.Option(
        ..., "--scope", help="read, write, ingest or admin; repeat for several."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Whose token (default: the CLI's user); others' need an admin."
    ),
    station: str | None = typer.Option(
        None, "--station", help="Bind an ingest token to this station (name or id)."
    ),
    expires_in_days: int | None = typer.Option(
        None, "--expires-in-days", min=1, help="Expires after this many days (default: never)."
    ),
    name: str = typer.Option("", "--name", help="What the token is for."),
    fmt: RecordFormat = JSON_ONLY,
) -> None:
    uow, actor = context.session()
    expires_at = (
        dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days)
        if expires_in_days is not None
        else None
    )
    with _flags_named(TOKEN_FLAGS):
        token, raw = identity.create_token(
            uow,
            actor=actor,
            scopes=scope,
            user=user,
            station=station,
            expires_at=expires_at,
            name=name,
        )
    names = _Names(uow, actor)
    row = {
        "token": raw,
        "id": token.id,
        "prefix": token.prefix,
        "user": names.user_of(token),
        "scopes": list(token.scopes),
        "station": names.station(token.station_id),
        "expires_at": token.expires_at,
    }
    if fmt is RecordFormat.JSON:
        sys.stdout.write(dump_json(row) + "\n")
        return
    shown = {k: v for k, v in row.items() if k != "token"} | {"name": token.name}
    shown["scopes"] = ", ".join(token.scopes)
    emit_record(shown, OutputFormat.TABLE, title=f"Token {token.id}")
    console.print(f"Token: [bold]{raw}[/bold]", highlight=False, soft_wrap=True)
    console.print(
        f"The token is {ONCE}. Send it as `Authorization: Bearer <token>`.", highlight=False
    )


@tokens_app.command("list", help="List API tokens (never the tokens themselves).")
def tokens_list(
    user: str | None = typer.Option(
        None, "--user", help="This user's tokens (default: the CLI's user's)."
    ),
    every: bool = typer.Option(False, "--all", help="Every user's tokens (admin)."),
    fmt: OutputFormat = FORMAT,
) -> None:
    if every and user is not None:
        raise invalid("--all", "give either --user or --all, not both")
    uow, actor = context.session()
    tokens = identity.list_tokens(uow, actor=actor, user="*" if every else user)
    names = _Names(uow, actor)
    rows = [_token_row(token, names) for token in tokens]
    emit_rows(rows, fmt, columns=list(TOKEN_TABLE), headers=TOKEN_TABLE, title="API tokens")


@tokens_app.command("revoke", help="Revoke an API token at once.")
def tokens_revoke(
    token_id: int = typer.Argument(..., help="The token's id (see `phasegate tokens list`)."),
    fmt: RecordFormat = JSON_ONLY,
) -> None:
    uow, actor = context.session()
    token = identity.revoke_token(uow, token_id, actor=actor)
    row = _token_row(token, _Names(uow, actor))
    if fmt is RecordFormat.TABLE:
        row["scopes"] = ", ".join(token.scopes)
        emit_record(
            {TOKEN_TABLE[k]: v for k, v in row.items()}, OutputFormat.TABLE, title="Revoked"
        )
    else:
        emit_record(row, OutputFormat.JSON)
