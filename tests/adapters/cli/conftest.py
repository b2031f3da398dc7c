"""Run the real ``phasegate`` entry point in-process against a chosen database."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from phasegate.cli import output
from phasegate.cli.main import main
from phasegate.config import get_settings
from phasegate.domain.policy import SYSTEM
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.factories import make_build, make_characteristic, make_line, make_product


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Result]

# Settings the machine running the tests may have set: each command sees only what it is given.
_CLEARED = ("PHASEGATE_USER", "PHASEGATE_SECRET_KEY", "PHASEGATE_DEMO")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the CLI: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    url: str = request.getfixturevalue("postgres_database")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> Runner:
    """``run(*args, url=..., env={...}, stdin="...")``: the exit code and what was printed."""

    def invoke(
        *args: str,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
    ) -> Result:
        for name in _CLEARED:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PHASEGATE_DATABASE_URL", url or database_url)
        monkeypatch.setenv("COLUMNS", "200")
        # The consoles were made when the CLI was imported, with the width of that moment.
        monkeypatch.setattr(output.console, "width", 200)
        monkeypatch.setattr(output.err_console, "width", 200)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        get_settings.cache_clear()
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        get_settings.cache_clear()
        return Result(code, captured.out, captured.err)

    return invoke


def seed_pilot_build(url: str, characteristics: Sequence[Mapping[str, Any]] = ()) -> None:
    """The schema, an admin "root" and build AQM-PLT of product AQM on a line of two stations;
    the product has the ``characteristics`` given (fields of each)."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    product = make_product(uow, key="AQM", name="Air monitor")
    for fields in characteristics:
        make_characteristic(uow, product, **fields)
    line = make_line(uow, stations=2)
    make_build(
        uow,
        product_id=product.id,
        code="AQM-PLT",
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
    )
    engine.dispose()
