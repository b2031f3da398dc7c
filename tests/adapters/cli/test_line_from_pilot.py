"""CLI contract of ``phasegate line from-pilot BUILD``: the line file on stdout or in a file, on
SQLite and PostgreSQL, and the exit code of a build without passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.domain.policy import SYSTEM
from phasegate.line.model import parse_line_toml
from phasegate.services import identity
from phasegate.services.line_model import DEFAULT_BUFFER
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.api.test_line_performance import seed_line_build
from tests.adapters.cli.conftest import Runner
from tests.factories import make_build, make_product


def _seed(url: str) -> None:
    """The schema, an admin and build PLT-1 of product LNP (see ``seed_line_build``: S1 unit
    times 10, 12 + 14 and 12 s, S2 30 and 34 s on two servers), and build EMPTY-1 of product
    EMP without passes."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    seed_line_build(uow)
    product = make_product(uow, key="EMP")
    make_build(uow, product_id=product.id, code="EMPTY-1")
    engine.dispose()


def test_line_file_on_stdout(run: Runner, any_database_url: str) -> None:
    _seed(any_database_url)
    done = run("line", "from-pilot", "plt-1", url=any_database_url)
    assert done.code == 0, done.err
    line = parse_line_toml(done.out)
    s1, s2 = line.stations
    assert s1.time.dist == "empirical"
    assert s1.time.params == pytest.approx((10.0, 26.0, 12.0))
    assert s2.time.params == pytest.approx((30.0, 34.0))
    assert (s1.servers, s2.servers) == (1, 2)
    assert (s1.buffer, s2.buffer) == (DEFAULT_BUFFER, DEFAULT_BUFFER)
    assert done.out.startswith("# Line model of build PLT-1 (LNP, pilot)")


def test_lognormal_fit_into_a_file(run: Runner, database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    target = tmp_path / "pilot.toml"
    done = run(
        "line",
        "from-pilot",
        "PLT-1",
        "--product",
        "LNP",
        "--fit",
        "lognormal",
        "--buffer",
        "4",
        "--out",
        str(target),
    )
    assert done.code == 0, done.err
    assert done.out == ""
    text = target.read_text(encoding="utf-8")
    assert "lognormal fitted by moments" in text
    s1, s2 = parse_line_toml(text).stations
    assert (s1.time.dist, s1.buffer) == ("lognormal", 4)
    assert s2.time.params[0] == pytest.approx(32.0)
    # The file runs through the simulation command as it is.
    simulated = run("line", "simulate", str(target), "--units", "100", "--format", "json")
    assert simulated.code == 0, simulated.err
    assert simulated.json()["throughput_per_hour"] > 0


def test_refusals(run: Runner, database_url: str) -> None:
    _seed(database_url)
    empty = run("line", "from-pilot", "EMPTY-1")
    assert empty.code == 2
    assert "has no finished station passes" in empty.err
    unknown = run("line", "from-pilot", "NOPE-9")
    assert unknown.code != 0
    assert "'NOPE-9' does not exist" in unknown.err
    bad_fit = run("line", "from-pilot", "PLT-1", "--fit", "weibull")
    assert bad_fit.code == 2
    assert "unknown fit 'weibull'" in bad_fit.err
