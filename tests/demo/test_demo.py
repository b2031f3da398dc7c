"""The demo tells the story it claims: three products in the three phases, converging
prototypes, a pilot line with a bottleneck, a production run, and identical data on every load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from phasegate.demo import DemoSummary, generate, load_demo
from phasegate.demo.loader import SETUP, VOLUME
from phasegate.demo.logins import CONTRACT_MANUFACTURER, DEMO_LOGINS
from phasegate.domain.enums import (
    Fidelity,
    GateOutcome,
    Outcome,
    Phase,
    Priority,
    RequirementStatus,
    Technique,
    UnitStatus,
)
from phasegate.domain.errors import Conflict
from phasegate.domain.policy import Role
from phasegate.services import builds, crud, identity
from phasegate.store import db
from phasegate.store.models import (
    AuditEvent,
    Build,
    BuildCharacteristicStat,
    BuildStationStat,
    Characteristic,
    Feedback,
    Finding,
    GateDecision,
    GateReview,
    GateSignoff,
    Measurement,
    Partner,
    Product,
    Requirement,
    Revision,
    Station,
    StationPass,
    Unit,
    User,
)
from phasegate.store.uow import UnitOfWork


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, DemoSummary]]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    calls: list[tuple[str, int, int]] = []
    summary = load_demo(engine, progress=lambda d, c, t: calls.append((d, c, t)))
    done = {d: (c, t) for d, c, t in calls}
    assert done[SETUP][0] == done[SETUP][1] > 0
    assert done[VOLUME] == (summary.bulk_rows, summary.bulk_rows)
    yield engine, summary
    engine.dispose()


def _build(s: Any, code: str) -> Build:
    return s.scalars(select(Build).where(Build.code == code)).one()


def test_three_products_one_in_each_phase(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = loaded
    with UnitOfWork.for_engine(engine) as uow:
        phases = dict(uow.session.execute(select(Product.key, Product.phase)).all())
        decisions = uow.session.execute(
            select(Product.key, GateDecision.to_phase, GateDecision.outcome)
            .join(Product, Product.id == GateDecision.product_id)
            .order_by(GateDecision.decided_at)
        ).all()
    assert phases == {"AS1": Phase.PRODUCTION, "ASW": Phase.PILOT, "ASC": Phase.PROTOTYPE}
    assert decisions == [
        ("AS1", Phase.PILOT, GateOutcome.GO),
        ("AS1", Phase.PRODUCTION, GateOutcome.GO),
        ("ASW", Phase.PILOT, GateOutcome.GO),
    ]
    assert summary.products == 3 and summary.gate_decisions == 3


def test_prototype_revisions_and_builds(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        rows = s.execute(
            select(Revision.code, Build.planned_quantity, Build.fidelity, Build.technique)
            .join(Revision, Revision.id == Build.revision_id)
            .where(Build.code.in_(["AS1-A", "AS1-B", "AS1-C"]))
            .order_by(Revision.code)
        ).all()
        units = {
            code: s.scalar(select(func.count()).where(Unit.build_id == _build(s, code).id))
            for code in ("AS1-A", "AS1-B", "AS1-C")
        }
        asc = s.scalars(
            select(Revision.code)
            .join(Build, Build.revision_id == Revision.id)
            .where(Build.code.like("ASC-%"))
        ).all()
        costs = s.execute(
            select(Build.budget, Build.actual_cost, Build.partner_id, Build.start_date).where(
                Build.phase == Phase.PROTOTYPE
            )
        ).all()
    assert rows == [
        ("A", 5, Fidelity.LOW, Technique.PRINT_3D),
        ("B", 10, Fidelity.HIGH, Technique.CNC),
        ("C", 20, Fidelity.HIGH, Technique.SOFT_TOOLING),
    ]
    assert units == {"AS1-A": 5, "AS1-B": 10, "AS1-C": 20}
    assert sorted(asc) == ["A", "B"]
    assert all(b and p and d and dt.date(2025, 1, 1) <= d for b, _, p, d in costs)


def test_pilot_run_of_300_units_on_six_stations(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        pilot = _build(s, "AS1-PLT")
        units = s.scalar(select(func.count()).where(Unit.build_id == pilot.id))
        stations = s.scalars(
            select(Station.name).where(Station.line_id == pilot.line_id).order_by(Station.sequence)
        ).all()
        visited = s.scalar(
            select(func.count(func.distinct(StationPass.station_id)))
            .join(Unit, Unit.id == StationPass.unit_id)
            .where(Unit.build_id == pilot.id)
        )
        allocations = dict(
            s.execute(
                select(Unit.allocation, func.count())
                .where(Unit.build_id == pilot.id)
                .group_by(Unit.allocation)
            ).all()
        )
        # Rework: a failed first attempt followed by a second attempt at the same station.
        reworked = s.execute(
            text(
                "SELECT count(*) FROM station_passes a JOIN station_passes b "
                "ON a.unit_id = b.unit_id AND a.station_id = b.station_id "
                "WHERE a.attempt = 1 AND a.result = 'fail' AND b.attempt = 2 "
                "AND b.started_at > a.ended_at"
            )
        ).scalar()
    assert units == 300
    assert len(stations) == 6 and visited == 6
    assert stations[3] == "Sensor calibration"
    assert {a.value for a in allocations} >= {"testing", "marketing", "regulatory", "customer"}
    assert reworked and reworked > 10


def test_production_run_of_5000_units_mostly_shipped(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        production = _build(s, "AS1-PR1")
        statuses = dict(
            s.execute(
                select(Unit.status, func.count())
                .where(Unit.build_id == production.id)
                .group_by(Unit.status)
            ).all()
        )
    assert sum(statuses.values()) == 5000
    assert statuses[UnitStatus.SHIPPED] > 0.9 * 5000
    assert statuses[UnitStatus.SCRAPPED] > 0


def test_sensor_calibration_is_the_bottleneck(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        for code in ("AS1-PLT", "AS1-PR1"):
            rows = s.execute(
                select(Station.name, BuildStationStat)
                .join(Station, Station.id == BuildStationStat.station_id)
                .where(BuildStationStat.build_id == _build(s, code).id)
            ).all()
            means = {n: st.cycle_time_total_s / st.cycle_time_count for n, st in rows}
            assert len(means) == 6
            assert max(means, key=lambda n: means[n]) == "Sensor calibration", means


def test_prototypes_converge(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        product = s.scalars(select(Product).where(Product.key == "AS1")).one()
        findings = dict(
            s.execute(
                select(Build.code, func.count())
                .select_from(Finding)
                .join(Build, Build.id == Finding.build_id)
                .where(Build.code.in_(["AS1-A", "AS1-B", "AS1-C"]))
                .group_by(Build.code)
            ).all()
        )
        ratings = dict(
            s.execute(
                select(Revision.code, func.avg(Feedback.rating))
                .select_from(Feedback)
                .join(Revision, Revision.id == Feedback.revision_id)
                .where(Feedback.product_id == product.id, Feedback.source == "tester")
                .group_by(Revision.code)
            ).all()
        )
        open_serious = s.scalar(
            select(func.count()).where(
                Finding.product_id == product.id,
                Finding.build_id.in_(
                    select(Build.id).where(Build.code.in_(["AS1-A", "AS1-B", "AS1-C"]))
                ),
                Finding.severity.in_(["critical", "major"]),
                Finding.status.in_(["open", "investigating"]),
            )
        )
        fixed_in = s.scalar(
            select(func.count()).where(
                Finding.product_id == product.id, Finding.fixed_in_revision_id.is_not(None)
            )
        )
        musts = s.scalars(
            select(Requirement.status).where(
                Requirement.product_id == product.id, Requirement.priority == Priority.MUST
            )
        ).all()
        categories = set(
            s.execute(
                select(Finding.category, Finding.severity)
                .select_from(Finding)
                .join(Build, Build.id == Finding.build_id)
                .where(Build.code == "AS1-A")
            ).all()
        )
    assert findings["AS1-A"] > findings["AS1-B"] > findings["AS1-C"] > 0
    assert ratings["A"] < ratings["B"] < ratings["C"]
    assert open_serious == 0
    assert fixed_in >= findings["AS1-A"] + findings["AS1-B"]
    assert musts and set(musts) == {RequirementStatus.VERIFIED}
    assert ("design_flaw", "critical") in {(c.value, v.value) for c, v in categories}
    assert "material_weakness" in {c.value for c, _ in categories}


def test_every_ctq_in_spec_on_the_build_the_gate_judged(
    loaded: tuple[Engine, DemoSummary],
) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        rows = s.execute(
            select(BuildCharacteristicStat, Characteristic.ctq)
            .join(Characteristic, Characteristic.id == BuildCharacteristicStat.characteristic_id)
            .where(BuildCharacteristicStat.build_id == _build(s, "AS1-C").id)
        ).all()
    assert len([1 for _, ctq in rows if ctq]) == 6
    assert all(st.failed == 0 for st, ctq in rows if ctq)


def test_production_capability_good_on_most_marginal_on_co2(
    loaded: tuple[Engine, DemoSummary],
) -> None:
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        rows = s.execute(
            select(BuildCharacteristicStat, Characteristic)
            .join(Characteristic, Characteristic.id == BuildCharacteristicStat.characteristic_id)
            .where(BuildCharacteristicStat.build_id == _build(s, "AS1-PR1").id)
        ).all()
    cpk = {}
    for st, char in rows:
        mean = st.total / st.count
        sd = ((st.total_sq - st.count * mean * mean) / (st.count - 1)) ** 0.5
        sides = [(char.usl - mean) if char.usl is not None else None]
        sides.append((mean - char.lsl) if char.lsl is not None else None)
        cpk[char.name] = min(x for x in sides if x is not None) / (3 * sd)
    assert len(cpk) == 12
    assert 0.8 < cpk["CO2 error at 1000 ppm"] < 1.2
    assert sum(v >= 1.33 for v in cpk.values()) >= 9, cpk


def test_aggregates_match_the_measurements(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = loaded
    with UnitOfWork.for_engine(engine) as uow:
        s = uow.session
        counted = s.scalar(select(func.sum(BuildCharacteristicStat.count)))
        passes = s.scalar(select(func.sum(BuildStationStat.passes)))
        imports = s.scalar(
            select(func.count()).where(AuditEvent.action == "import", AuditEvent.actor == "system")
        )
        first = s.scalars(select(Measurement).order_by(Measurement.id).limit(1)).one()
    assert counted == summary.measurements
    assert passes == summary.station_passes
    assert imports == 10
    assert first.measured_at.tzinfo is dt.UTC
    assert dt.datetime(2025, 1, 1, tzinfo=dt.UTC) <= first.measured_at


def test_loading_again_without_reset_is_a_conflict(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with pytest.raises(Conflict, match="phasegate demo --reset"):
        load_demo(engine)


def _digest(engine: Engine) -> dict[str, Any]:
    """Counts and a fingerprint of the values: equal digests mean equal data."""
    with engine.connect() as conn:
        counts = {
            t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("units", "station_passes", "test_runs", "measurements", "defects",
                      "findings", "feedback", "requirements", "characteristics")
        }  # fmt: skip
        hasher = hashlib.sha256()
        for row in conn.execute(
            select(
                Measurement.id, Measurement.unit_id, Measurement.name, Measurement.value
            ).order_by(Measurement.id)
        ):
            hasher.update(repr(tuple(row)).encode())
        for row in conn.execute(
            select(StationPass.id, StationPass.started_at, StationPass.ended_at,
                   StationPass.result).order_by(StationPass.id)
        ):  # fmt: skip
            hasher.update(repr(tuple(row)).encode())
        for row in conn.execute(
            select(Unit.serial, Unit.status, Unit.allocation).order_by(Unit.id)
        ):
            hasher.update(repr(tuple(row)).encode())
    return counts | {"fingerprint": hasher.hexdigest()}


def test_reset_reloads_identical_data(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = loaded
    before = _digest(engine)
    again = load_demo(engine, reset=True)
    assert _digest(engine) == before
    assert again.measurements == summary.measurements
    assert again.audit_events == summary.audit_events  # the old trail went with the reset


def test_another_seed_gives_other_values() -> None:
    first, other = generate(2026), generate(7)
    values = [
        m.value
        for v in list(first.volumes.values())[:3]
        for r in v.test_runs
        for m in r.measurements
    ]
    others = [
        m.value
        for v in list(other.volumes.values())[:3]
        for r in v.test_runs
        for m in r.measurements
    ]
    assert len(values) == len(others) and values != others


@pytest.mark.postgres
def test_postgresql_holds_the_same_demo(
    loaded: tuple[Engine, DemoSummary], postgres_database: str
) -> None:
    sqlite_engine, summary = loaded
    engine = db.make_engine(postgres_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.upgrade(engine)
        on_postgres = load_demo(engine)
        assert on_postgres.bulk_rows == summary.bulk_rows
        assert _digest(engine) == _digest(sqlite_engine)
        with engine.connect() as conn:
            phases = dict(conn.execute(select(Product.key, Product.phase)).all())
        assert phases["AS1"] == "production"
    finally:
        engine.dispose()


def test_measurement_outcomes_agree_with_limits(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    with engine.connect() as conn:
        wrong = conn.execute(
            select(func.count()).where(
                Measurement.outcome == Outcome.PASS,
                (Measurement.value < Measurement.lsl) | (Measurement.value > Measurement.usl),
            )
        ).scalar()
    assert wrong == 0


def test_module_fixture_path_is_a_file(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    assert Path(str(engine.url.database)).is_file()


README = Path(__file__).resolve().parents[2] / "README.md"
_LOGIN_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (\w+) \|", re.MULTILINE)


def _readme_logins() -> dict[str, tuple[str, str]]:
    """The README's "Demo logins" table: user -> (password, role)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Demo logins", 1)[1].split("\n## ", 1)[0]
    return {user: (password, role) for user, password, role in _LOGIN_ROW.findall(section)}


def test_one_login_per_role_signs_in_with_the_readme_password(
    loaded: tuple[Engine, DemoSummary],
) -> None:
    engine, summary = loaded
    listed = _readme_logins()
    assert listed == {login.name: (login.password, login.role.value) for login in DEMO_LOGINS}
    assert {login.role for login in DEMO_LOGINS} == set(Role)
    assert summary.users == len(DEMO_LOGINS)
    uow = UnitOfWork.for_engine(engine)
    for name, (password, role) in listed.items():
        signed_in = identity.authenticate(uow, name, password)
        assert (signed_in.name, signed_in.role.value) == (name, role)
    with uow:
        assert not any(u.must_change_password for u in uow.session.scalars(select(User)))


def test_the_partner_login_sees_its_builds_only(loaded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = loaded
    uow = UnitOfWork.for_engine(engine)
    (login,) = [x for x in DEMO_LOGINS if x.role is Role.PARTNER]
    partner = identity.authenticate(uow, login.name, login.password)
    with uow:
        northbridge = uow.session.scalars(
            select(Partner).where(Partner.name == CONTRACT_MANUFACTURER)
        ).one()
        all_builds = uow.session.scalar(select(func.count()).select_from(Build))
    assert partner.partner_id == northbridge.id
    seen = crud.list_page(uow, builds.BUILDS, actor=partner, limit=100).items
    assert seen and len(seen) < (all_builds or 0)
    assert {b.partner_id for b in seen} == {northbridge.id}
    assert {b.phase for b in seen} >= {Phase.PILOT, Phase.PRODUCTION}


def test_gate_decisions_keep_the_names_of_who_took_them(
    loaded: tuple[Engine, DemoSummary],
) -> None:
    engine, summary = loaded
    expected = sorted(
        (g.product, g.to_phase.value, g.decided_by) for g in generate(summary.seed).gates
    )
    with UnitOfWork.for_engine(engine) as uow:
        stored = uow.session.execute(
            select(Product.key, GateDecision.to_phase, GateDecision.decided_by).join(
                Product, Product.id == GateDecision.product_id
            )
        ).all()
        actors = set(
            uow.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "decision"))
        )
    assert sorted((k, str(p), by) for k, p, by in stored) == expected
    assert "system" not in {by for *_, by in expected}
    # The deciders, and the people who signed the gates off (named in the rationales).
    signers = {"Lena Moreau", "Mei Chen", "Daniel Okafor", "Sofia Lindqvist"}
    assert actors == {by for *_, by in expected} | signers


def test_the_past_gates_were_decided_by_review_with_frozen_evidence(
    loaded: tuple[Engine, DemoSummary],
) -> None:
    """AirSense One's two gates: each from an evaluation frozen with its plan, its data's
    extent and the four sign-offs, linked to the recorded decision."""
    engine, _ = loaded
    with UnitOfWork.for_engine(engine) as uow:
        reviews = uow.session.scalars(
            select(GateReview)
            .join(Product, Product.id == GateReview.product_id)
            .where(Product.key == "AS1")
            .order_by(GateReview.opened_at)
        ).all()
        assert [(r.to_phase.value, r.status) for r in reviews] == [
            ("pilot", "decided"),
            ("production", "decided"),
        ]
        for review in reviews:
            assert review.decision_id is not None
            assert review.plan_name == review.evaluation["plan"]["name"]
            assert review.evaluation["criteria"] and review.evaluation["extent"]["units"] > 0
            roles = uow.session.scalars(
                select(GateSignoff.role).where(GateSignoff.review_id == review.id)
            ).all()
            assert sorted(r.value for r in roles) == [
                "engineer",
                "operations",
                "product",
                "quality",
            ]
