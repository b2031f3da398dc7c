"""Specs met, on SQLite and PostgreSQL: each characteristic judged by its units' final results,
with the first-pass failures beside it, over the characteristics measured on the build; the
product page, the build page, the portfolio and the CLI all show the same numbers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, insert

from phasegate.cli import output
from phasegate.cli.main import main
from phasegate.config import get_settings
from phasegate.domain.enums import Outcome
from phasegate.domain.policy import SYSTEM
from phasegate.ingest.records import MeasurementIn, Parsed, Target, TestRunIn, derived_source_id
from phasegate.services import identity
from phasegate.services.ingest import ingest_records
from phasegate.services.read.build import build_overview
from phasegate.services.read.portfolio import portfolio
from phasegate.services.read.product import product_overview
from phasegate.services.read.rows import specs_met
from phasegate.store.models import BuildCharacteristicStat
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_build, make_characteristic, make_product, make_revision
from tests.services.read.helpers import char_stat

T0 = dt.datetime(2026, 4, 6, 8, 0, tzinfo=dt.UTC)


def _run(serial: str, minute: int, *measurements: MeasurementIn) -> TestRunIn:
    started = T0 + dt.timedelta(minutes=minute)
    return TestRunIn(
        where=f"runs.json#/{serial}/{minute}",
        serial=serial,
        started_at=started,
        ended_at=started + dt.timedelta(seconds=40),
        outcome=Outcome.PASS,
        source_id=derived_source_id("run", serial, "bench", started),
        source="json",
        station=None,
        procedure="final test",
        measurements=measurements,
    )


def gap(value: float) -> MeasurementIn:
    return MeasurementIn("Gap", value=value, unit="mm", lsl=0.1, usl=0.3)


def noise(value: float) -> MeasurementIn:
    return MeasurementIn("Noise", value=value, unit="dB", usl=40.0)


def seal(outcome: Outcome) -> MeasurementIn:
    """A go/no-go check: no value, only its outcome."""
    return MeasurementIn("Seal", outcome=outcome)


@dataclass(frozen=True)
class Made:
    product: str
    build_id: int
    build: str
    empty_build_id: int
    gap: int
    noise: int
    seal: int
    unmeasured: int


@pytest.fixture
def made(uow: UnitOfWork) -> Made:
    return seed_specs(uow)


def seed_specs(uow: UnitOfWork) -> Made:
    """Product SPX with four characteristics, three measured on build SPX-PR1:

    - Gap (0.1..0.3 mm): U1 fails (0.35), is reworked and passes its retest (0.20); U2 and U3
      pass. Met, one first-pass failure; the old rule ("no measurement out of limits") said
      not met.
    - Noise (USL 40 dB): U1 passes; U2 passes first (38) and fails its latest test (45). Not
      met, no first-pass failure.
    - Seal (outcome only): U3 fails, then passes. Met, one first-pass failure.
    - Cover: never measured here; not in the denominator.

    Product SPY has one build, SPY-1, without measurements.
    """
    product = make_product(uow, key="SPX", target_launch_date="2030-01-01")
    rev = make_revision(uow, product, code="A")
    chars = {
        name: make_characteristic(uow, product, name=name, lsl=lsl, usl=usl)
        for name, lsl, usl in [
            ("Gap", 0.1, 0.3),
            ("Noise", None, 40.0),
            ("Seal", None, None),
            ("Cover", 1.0, 2.0),
        ]
    }
    build = make_build(
        uow, product_id=product.id, revision_id=rev.id, code="SPX-PR1", start_date="2026-04-01"
    )
    items: list[Parsed] = [
        _run("U1", 0, gap(0.35), noise(35.0)),
        _run("U2", 1, gap(0.20), noise(38.0)),
        _run("U3", 2, gap(0.25), seal(Outcome.FAIL)),
        _run("U1", 10, gap(0.20)),  # the rework's retest
        _run("U2", 11, noise(45.0)),
        _run("U3", 12, seal(Outcome.PASS)),
    ]
    ingest_records(
        uow,
        items,
        actor=SYSTEM,
        source_name="bench.json",
        format="json",
        target=Target(product="SPX", build="SPX-PR1"),
    )
    other = make_product(uow, key="SPY")
    make_characteristic(uow, other, name="Gap")
    empty = make_build(uow, product_id=other.id, code="SPY-1", start_date="2026-05-01")
    return Made(
        "SPX",
        build.id,
        build.code,
        empty.id,
        chars["Gap"].id,
        chars["Noise"].id,
        chars["Seal"].id,
        chars["Cover"].id,
    )


EXPECTED_LABEL = "2 of 3 characteristics measured on SPX-PR1 met (2 first-pass failures)"


def test_a_unit_retested_and_passing_meets_its_spec(uow: UnitOfWork, made: Made) -> None:
    with uow:
        specs = specs_met(uow, [(made.build_id, made.build)])[made.build_id]
    verdicts = {
        c.characteristic_id: (c.met, c.first_pass_failures, c.final_failures)
        for c in specs.characteristics
    }
    assert verdicts == {
        made.gap: (True, 1, 0),  # U1 failed first, passed after rework
        made.noise: (False, 0, 1),  # U2's latest test failed
        made.seal: (True, 1, 0),  # judged by outcome: failed, then passed
    }
    assert (specs.met, specs.measured, specs.first_pass_failures) == (2, 3, 2)
    assert specs.share == pytest.approx(2 / 3)
    assert specs.label == EXPECTED_LABEL
    assert specs.of(made.unmeasured) is None


def test_a_build_without_measurements_says_so_instead_of_zero(uow: UnitOfWork, made: Made) -> None:
    with uow:
        specs = specs_met(uow, [(made.empty_build_id, "SPY-1")])[made.empty_build_id]
    assert (specs.measured, specs.met, specs.share) == (0, 0, None)
    assert specs.label == "no characteristics measured on SPY-1"


def test_aggregates_without_stored_measurements_are_judged_by_the_aggregate(
    uow: UnitOfWork, engine: Engine
) -> None:
    """Aggregates loaded on their own: a value out of limits cannot be shown to be reworked."""
    product = make_product(uow)
    a, b = make_characteristic(uow, product), make_characteristic(uow, product)
    build = make_build(uow, product_id=product.id, code="HAND-1")
    with engine.begin() as conn:
        conn.execute(
            insert(BuildCharacteristicStat),
            [char_stat(build.id, a.id, 3, above=1), char_stat(build.id, b.id, 2)],
        )
    with uow:
        specs = specs_met(uow, [(build.id, "HAND-1")])[build.id]
    assert specs.label == "1 of 2 characteristics measured on HAND-1 met (1 first-pass failure)"


def test_every_page_and_the_cli_show_the_same_count_and_denominator(
    uow: UnitOfWork,
    engine: Engine,
    made: Made,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with uow:
        measured = specs_met(uow, [(made.build_id, made.build)])[made.build_id]
    build = build_overview(uow, made.build_id, actor=ACTOR)
    assert build.specs == measured
    # The build page's table marks each characteristic as the count does.
    assert {c.name: (c.met, c.first_pass_failures) for c in build.characteristics} == {
        "Gap": (True, 1),
        "Noise": (False, 0),
        "Seal": (True, 1),
    }
    product = product_overview(uow, made.product, actor=ACTOR)
    assert product.latest_specs == measured
    (revision,) = product.revisions
    assert revision.specs == measured
    cards = {card.key: card for card in portfolio(uow, actor=ACTOR)}
    assert cards["SPX"].latest_specs == measured
    empty = cards["SPY"].latest_specs
    assert empty is not None and empty.label == "no characteristics measured on SPY-1"

    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    monkeypatch.setenv("PHASEGATE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("PHASEGATE_USER", raising=False)
    monkeypatch.setattr(output.console, "width", 200)
    get_settings.cache_clear()
    capsys.readouterr()
    try:
        assert main(["products", "list", "--format", "json"]) == 0
    finally:
        get_settings.cache_clear()
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["SPX"]["latest_specs"] == {
        "build": "SPX-PR1",
        "measured": 3,
        "met": 2,
        "first_pass_failures": 2,
        "share": pytest.approx(2 / 3),
        "label": EXPECTED_LABEL,
    }
    assert rows["SPY"]["latest_specs"]["measured"] == 0
