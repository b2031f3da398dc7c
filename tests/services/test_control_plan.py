"""Control plans, their items, gauges, gage studies and CTQ coverage, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from phasegate.domain.policy import Role
from phasegate.services import control_plan as cp
from phasegate.services import crud
from phasegate.services.analysis import analyse_gage
from phasegate.store.models import AuditEvent, ControlPlanItem, Line
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_line,
    make_product,
    make_revision,
    person,
)

# AIAG Measurement Systems Analysis Reference Manual, 4th ed. (2010), Ch. III Sec. B, gage study
# data sheet: 10 parts x 3 appraisers x 3 trials; readings of parts 1..10 per (appraiser, trial).
AIAG = {
    ("A", 1): [0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36],
    ("A", 2): [0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25],
    ("A", 3): [0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31],
    ("B", 1): [0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68],
    ("B", 2): [0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62],
    ("B", 3): [0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50],
    ("C", 1): [0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49],
    ("C", 2): [-0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77],
    ("C", 3): [-0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16],
}


def aiag_readings() -> list[dict[str, Any]]:
    return [
        {"part": f"P{p}", "operator": op, "value": v}
        for (op, _trial), values in AIAG.items()
        for p, v in enumerate(values, start=1)
    ]


def precise_readings() -> list[dict[str, Any]]:
    """Parts far apart, the gauge repeating to a few thousandths: %GRR well under 10 %."""
    parts = [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8]
    noise = [0.001, -0.002, 0.0, 0.002, -0.001, 0.001]
    out = []
    for o, op in enumerate("AB"):
        for t in range(3):
            for p, base in enumerate(parts, start=1):
                out.append({"part": p, "operator": op, "value": base + noise[(p + o + t) % 6]})
    return out


@pytest.fixture
def setup(uow: UnitOfWork) -> dict[str, Any]:
    product = make_product(uow, key="CP1")
    line = make_line(uow, stations=2)
    with uow:
        stations = uow.get(Line, line.id).stations
    ctq_a = make_characteristic(uow, product, name="Bore", lsl=9.0, usl=11.0, ctq=True)
    ctq_b = make_characteristic(uow, product, name="Leak rate", usl=2.0, ctq=True)
    plain = make_characteristic(uow, product, name="Colour", lsl=0.0, usl=1.0)
    plan = crud.create(
        uow,
        cp.CONTROL_PLANS,
        {"product_id": product.id, "name": "Pilot plan", "line_id": line.id},
        actor=ACTOR,
    )
    gauge = crud.create(uow, cp.GAUGES, {"name": "MIC-017", "product_id": product.id}, actor=ACTOR)
    return {
        "product": product,
        "line": line,
        "stations": stations,
        "ctq_a": ctq_a,
        "ctq_b": ctq_b,
        "plain": plain,
        "plan": plan,
        "gauge": gauge,
    }


def item_data(s: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "plan_id": s["plan"].id,
        "station_id": s["stations"][0].id,
        "characteristic_id": s["ctq_a"].id,
        "method": "Bore micrometer",
        "gauge_id": s["gauge"].id,
        "sample_size": "5",
        "frequency": "5 units every hour",
        "frequency_every": 1,
        "frequency_per": "hour",
        "chart_type": "xbar-r",
        "reaction_plan": "Stop the line, quarantine since the last good sample, call quality.",
    } | overrides


def test_an_item_is_created_coerced_and_audited(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=person("qe"))
    assert item.sample_size == 5 and item.frequency_per is not None
    assert item.frequency_per.value == "hour" and item.version == 1
    with uow:
        event = uow.session.scalar(
            select(AuditEvent).where(AuditEvent.entity_type == "control_plan_items")
        )
    assert event is not None and (event.actor, event.action) == ("qe", AuditAction.CREATE)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"sample_size": 0}, "sample_size", "1 or more"),
        ({"chart_type": "pie"}, "chart_type", "xbar-r"),
        ({"frequency_every": None}, "frequency_every", "go together"),
        ({"frequency_every": 0}, "frequency_every", "1 or more"),
        ({"frequency_per": "fortnight"}, "frequency_per", "is not one of"),
        ({"method": "   "}, "method", "must not be empty"),
        ({"reaction_plan": "stop\x00"}, "reaction_plan", ""),
    ],
)
def test_bad_item_fields_are_named(
    uow: UnitOfWork, setup: dict[str, Any], overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, **overrides), actor=ACTOR)
    assert field in [e.loc for e in caught.value.fields]
    assert words in str(caught.value)


def test_the_characteristic_must_be_of_the_plans_product(
    uow: UnitOfWork, setup: dict[str, Any]
) -> None:
    other = make_characteristic(uow, make_product(uow), name="Bore")
    with pytest.raises(InvalidInput) as caught:
        crud.create(
            uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, characteristic_id=other.id), actor=ACTOR
        )
    assert caught.value.fields[0].loc == "characteristic_id"
    assert "not a characteristic of the plan's product" in caught.value.fields[0].message


def test_the_station_must_be_on_the_plans_line(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    other_line = make_line(uow, stations=1)
    with uow:
        station = uow.get(Line, other_line.id).stations[0]
    with pytest.raises(InvalidInput) as caught:
        crud.create(
            uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, station_id=station.id), actor=ACTOR
        )
    assert caught.value.fields[0].loc == "station_id"
    assert "not on the plan's line" in caught.value.fields[0].message


def test_missing_references_are_named(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, gauge_id=99999), actor=ACTOR)
    assert caught.value.fields == [FieldError("gauge_id", "gauges 99999 does not exist")]


def test_a_gauge_of_another_product_is_refused(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    other = make_product(uow)
    gauge = crud.create(uow, cp.GAUGES, {"name": "CMM-2", "product_id": other.id}, actor=ACTOR)
    with pytest.raises(InvalidInput, match="belongs to another product"):
        crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, gauge_id=gauge.id), actor=ACTOR)


def test_hostile_text_is_stored_as_text(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    hostile = "<script>alert(1)</script>'; DROP TABLE control_plans; --"
    item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup, method=hostile), actor=ACTOR)
    sheet = cp.plan_sheet(uow, "CP1", actor=ACTOR)
    assert [row.method for row in sheet.rows] == [hostile]
    assert sheet.rows[0].id == item.id


def test_a_viewer_may_read_but_not_write(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    viewer = person("vic", Role.VIEWER)
    with pytest.raises(Forbidden, match="may not create control plans"):
        crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=viewer)
    item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=ACTOR)
    with pytest.raises(Forbidden):
        cp.delete_item(uow, item.id, actor=viewer)
    with pytest.raises(Forbidden):
        cp.record_gage_study(
            uow,
            setup["gauge"].id,
            characteristic_id=setup["ctq_a"].id,
            readings=aiag_readings(),
            actor=viewer,
        )
    assert len(cp.plan_sheet(uow, "CP1", actor=viewer).rows) == 1
    assert cp.ctq_coverage(uow, "CP1", actor=viewer).ctqs


def test_a_partner_user_sees_no_control_plan(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    partner = person("pat", Role.PARTNER, partner_id=1)
    with pytest.raises((Forbidden, NotFound)):
        cp.ctq_coverage(uow, "CP1", actor=partner)


def test_quality_and_operations_may_edit_the_plan(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    item = crud.create(
        uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=person("q", Role.QUALITY)
    )
    changed = crud.update(
        uow,
        cp.CONTROL_PLAN_ITEMS,
        item.id,
        {"sample_size": 3},
        actor=person("o", Role.OPERATIONS),
        expected_version=1,
    )
    assert (changed.sample_size, changed.version) == (3, 2)
    with pytest.raises(Forbidden):
        crud.update(
            uow,
            cp.CONTROL_PLAN_ITEMS,
            item.id,
            {"sample_size": 4},
            actor=person("e", Role.ENGINEER),
        )


def test_delete_item_checks_the_version_and_audits(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=ACTOR)
    with pytest.raises(PreconditionFailed):
        cp.delete_item(uow, item.id, actor=ACTOR, expected_version=7)
    cp.delete_item(uow, item.id, actor=person("qe"), expected_version=1)
    with uow:
        assert uow.session.get(ControlPlanItem, item.id) is None
        event = uow.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.DELETE)
        )
    assert event is not None and event.product_id == setup["product"].id
    assert event.before is not None and event.before["method"] == "Bore micrometer"
    with pytest.raises(NotFound):
        cp.delete_item(uow, item.id, actor=ACTOR)


def test_gage_study_reproduces_aiag_and_is_judged(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 6 (ANOVA method): %GRR of study
    variation 27.9 %, ndc 4; with tolerance 6, %GRR of tolerance 30.24 %. ndc < 5 and %GRR of
    tolerance > 30 % make the gauge unacceptable."""
    study = cp.record_gage_study(
        uow,
        setup["gauge"].id,
        characteristic_id=setup["ctq_a"].id,
        readings=aiag_readings(),
        tolerance=6.0,
        studied_on="2026-11-20",
        actor=person("qe"),
    )
    assert study.pct_grr_study_var == pytest.approx(27.9, abs=0.05)
    assert study.pct_grr_tolerance == pytest.approx(30.24, abs=0.01)
    assert study.ndc == 4
    assert study.gage_rr == pytest.approx(0.30237, abs=5e-5)
    assert (study.n_parts, study.n_operators, study.n_trials) == (10, 3, 3)
    assert study.studied_on == dt.date(2026, 11, 20) and study.recorded_by == "qe"
    assert len(study.readings) == 90
    assert cp.study_verdict(study) is cp.GageVerdict.UNACCEPTABLE
    again = cp.recompute_study(study).as_dict()
    assert again["pct_grr_study_var"] == study.pct_grr_study_var
    assert again["ndc"] == study.ndc


def test_tolerance_defaults_to_the_spec_width(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    study = cp.record_gage_study(
        uow,
        setup["gauge"].id,
        characteristic_id=setup["ctq_a"].id,  # LSL 9, USL 11
        readings=precise_readings(),
        actor=ACTOR,
    )
    assert study.tolerance == 2.0
    assert study.pct_grr_study_var is not None and study.pct_grr_study_var < 10
    assert study.ndc is not None and study.ndc >= 5
    assert cp.study_verdict(study) is cp.GageVerdict.ACCEPTABLE


@pytest.mark.parametrize(
    ("study_var", "tolerance", "ndc", "verdict"),
    [
        (9.99, None, 14, cp.GageVerdict.ACCEPTABLE),
        (10.0, None, 14, cp.GageVerdict.CONDITIONAL),
        (30.0, 5.0, 5, cp.GageVerdict.CONDITIONAL),
        (30.01, None, 5, cp.GageVerdict.UNACCEPTABLE),
        (5.0, 31.0, 20, cp.GageVerdict.UNACCEPTABLE),  # the worse figure decides
        (5.0, 12.0, 20, cp.GageVerdict.CONDITIONAL),
        (5.0, None, 4, cp.GageVerdict.UNACCEPTABLE),  # ndc < 5
        (0.0, None, None, cp.GageVerdict.UNACCEPTABLE),  # no gage error seen: no resolution
    ],
)
def test_verdict_thresholds_follow_aiag(
    study_var: float, tolerance: float | None, ndc: int | None, verdict: cp.GageVerdict
) -> None:
    """Source: AIAG MSA Reference Manual, 4th ed., Ch. II Sec. D: %GRR < 10 % acceptable,
    10 % to 30 % may be acceptable, > 30 % unacceptable; ndc should be 5 or more."""
    assert cp.gage_verdict(study_var, tolerance, ndc) is verdict


@pytest.mark.parametrize(
    ("readings", "loc"),
    [
        ("not a list", "readings"),
        ([{"part": "1", "operator": "A"}], "readings[0].value"),
        ([{"part": "", "operator": "A", "value": 1}], "readings[0].part"),
        ([{"part": "1", "operator": "A\x00", "value": 1}], "readings[0].operator"),
        ([{"part": "1", "operator": "A", "value": "nan"}], "readings[0].value"),
        ([{"part": "1", "operator": "A", "value": 1, "x": 2}], "readings[0].x"),
        ([{"part": "1", "operator": "A", "value": 1.0}] * 4, "parts"),
    ],
)
def test_bad_readings_are_named(
    uow: UnitOfWork, setup: dict[str, Any], readings: Any, loc: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        cp.record_gage_study(
            uow,
            setup["gauge"].id,
            characteristic_id=setup["ctq_a"].id,
            readings=readings,
            actor=ACTOR,
        )
    assert loc in [e.loc for e in caught.value.fields]


def test_a_study_of_another_products_characteristic_is_refused(
    uow: UnitOfWork, setup: dict[str, Any]
) -> None:
    other = make_characteristic(uow, make_product(uow))
    with pytest.raises(InvalidInput, match="not of gauge MIC-017's product"):
        cp.record_gage_study(
            uow, setup["gauge"].id, characteristic_id=other.id, readings=[], actor=ACTOR
        )


def test_study_from_csv_equals_the_gage_command(
    uow: UnitOfWork, setup: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "gage.csv"
    rows = ["part,operator,value"] + [
        f"{r['part']},{r['operator']},{r['value']}" for r in aiag_readings()
    ]
    path.write_text("\n".join(rows) + "\n")
    study = cp.record_gage_study_from_csv(
        uow,
        "mic-017",
        path,
        characteristic="bore",
        part="part",
        operator="operator",
        value="value",
        actor=ACTOR,
    )
    report = analyse_gage(path, part="part", operator="operator", value="value", tolerance=2.0)
    assert study.pct_grr_study_var == report.as_dict()["pct_grr_study_var"]
    assert study.pct_grr_tolerance == report.as_dict()["pct_grr_tolerance"]
    assert study.ndc == report.result.ndc


def test_a_csv_with_a_missing_reading_is_refused_by_line(
    uow: UnitOfWork, setup: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "gage.csv"
    path.write_text("part,operator,value\n1,A,1.0\n1,A,\n2,A,2.0\n")
    with pytest.raises(InvalidInput, match="value: 3"):
        cp.record_gage_study_from_csv(
            uow,
            "MIC-017",
            path,
            characteristic="Bore",
            part="part",
            operator="operator",
            value="value",
            actor=ACTOR,
        )


def test_coverage_per_ctq(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    s = setup
    crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(s), actor=ACTOR)
    crud.create(
        uow,
        cp.CONTROL_PLAN_ITEMS,
        item_data(s, characteristic_id=s["plain"].id, station_id=s["stations"][1].id),
        actor=ACTOR,
    )
    before = cp.ctq_coverage(uow, "CP1", actor=ACTOR)
    assert [c.name for c in before.ctqs] == ["Bore", "Leak rate"]  # CTQs only, by name
    assert [c.covered for c in before.ctqs] == [True, False]
    assert before.ctqs[0].verdict is None and not before.complete()

    cp.record_gage_study(
        uow,
        s["gauge"].id,
        characteristic_id=s["ctq_a"].id,
        readings=aiag_readings(),
        studied_on="2026-10-01",
        actor=ACTOR,
    )
    newer = cp.record_gage_study(
        uow,
        s["gauge"].id,
        characteristic_id=s["ctq_a"].id,
        readings=precise_readings(),
        studied_on="2026-11-01",
        actor=ACTOR,
    )
    after = cp.ctq_coverage(uow, "cp1", actor=ACTOR)
    bore = after.ctqs[0].as_dict()
    assert bore["study_id"] == newer.id and bore["verdict"] == "acceptable"
    assert bore["gauge"] == "MIC-017" and bore["station"] == "S1"
    assert after.as_dict()["covered_count"] == 1 and after.as_dict()["acceptable_count"] == 1
    assert [c.name for c in after.uncovered] == ["Leak rate"] and not after.complete()

    crud.create(
        uow,
        cp.CONTROL_PLAN_ITEMS,
        item_data(s, characteristic_id=s["ctq_b"].id, gauge_id=None, chart_type=None),
        actor=ACTOR,
    )
    last = cp.ctq_coverage(uow, "CP1", actor=ACTOR)
    assert len(last.covered) == 2 and last.ctqs[1].verdict is None and not last.complete()


def test_the_current_plan_prefers_released_and_skips_obsolete(
    uow: UnitOfWork, setup: dict[str, Any]
) -> None:
    s = setup
    released = crud.create(
        uow,
        cp.CONTROL_PLANS,
        {"product_id": s["product"].id, "name": "Pilot plan", "plan_version": "2",
         "status": "released"},
        actor=ACTOR,
    )  # fmt: skip
    crud.create(
        uow,
        cp.CONTROL_PLANS,
        {"product_id": s["product"].id, "name": "Old", "status": "obsolete"},
        actor=ACTOR,
    )
    with uow:
        assert cp.current_plan(uow, s["product"].id) is not None
    assert cp.ctq_coverage(uow, "CP1", actor=ACTOR).plan.id == released.id  # type: ignore[union-attr]
    assert cp.plan_sheet(uow, "CP1", actor=ACTOR).plan.id == released.id
    assert cp.plan_sheet(uow, "CP1", actor=ACTOR, plan_id=s["plan"].id).plan.id == s["plan"].id


def test_a_product_without_a_plan(uow: UnitOfWork) -> None:
    make_product(uow, key="NOPLAN")
    coverage = cp.ctq_coverage(uow, "NOPLAN", actor=ACTOR)
    assert coverage.plan is None and coverage.as_dict()["complete"] is False
    with pytest.raises(NotFound, match="no control plan"):
        cp.plan_sheet(uow, "NOPLAN", actor=ACTOR)


def test_item_names_resolves_what_people_type(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    ids = cp.item_names(
        uow, "CP1", actor=ACTOR, station="s2", characteristic="leak RATE", gauge="mic-017"
    )
    assert ids == {
        "plan_id": setup["plan"].id,
        "station_id": setup["stations"][1].id,
        "characteristic_id": setup["ctq_b"].id,
        "gauge_id": setup["gauge"].id,
    }
    with pytest.raises(InvalidInput) as caught:
        cp.item_names(uow, "CP1", actor=ACTOR, station="Nowhere", characteristic="Bore")
    assert caught.value.fields[0].loc == "station"


def test_gauge_names_are_unique_whatever_their_case(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    from phasegate.domain.errors import Conflict

    with pytest.raises(Conflict):
        crud.create(uow, cp.GAUGES, {"name": "mic-017"}, actor=ACTOR)
    with pytest.raises(InvalidInput, match="printable ASCII"):
        crud.create(uow, cp.GAUGES, {"name": "Mic 2"}, actor=ACTOR)


def test_gauge_sheet_lists_studies_and_uses(uow: UnitOfWork, setup: dict[str, Any]) -> None:
    crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(setup), actor=ACTOR)
    cp.record_gage_study(
        uow,
        setup["gauge"].id,
        characteristic_id=setup["ctq_a"].id,
        readings=precise_readings(),
        actor=ACTOR,
    )
    sheet = cp.gauge_sheet(uow, setup["gauge"].id, actor=person("v", Role.VIEWER))
    assert sheet.product_key == "CP1"
    assert [s.characteristic for s in sheet.studies] == ["Bore"]
    assert sheet.used_by == (("CP1", "S1", "Bore"),)


def test_a_build_is_judged_by_the_plan_of_its_revision(
    uow: UnitOfWork, setup: dict[str, Any]
) -> None:
    s = setup
    rev_a = make_revision(uow, s["product"], code="A")
    rev_b = make_revision(uow, s["product"], code="B")
    crud.create(uow, cp.CONTROL_PLAN_ITEMS, item_data(s), actor=ACTOR)  # the general plan
    for_b = cp.new_plan(uow, "cp1", name="Rev B plan", revision="b", line=None, actor=ACTOR)
    build_a = make_build(uow, product_id=s["product"].id, revision_id=rev_a.id)
    build_b = make_build(uow, product_id=s["product"].id, revision_id=rev_b.id)
    assert cp.build_coverage(uow, build_a.id, actor=ACTOR).plan.id == s["plan"].id  # type: ignore[union-attr]
    judged_b = cp.build_coverage(uow, build_b.id, actor=ACTOR)
    assert judged_b.plan is not None and judged_b.plan.id == for_b.id
    assert not judged_b.covered  # the revision's own plan has no items yet
    with pytest.raises(InvalidInput) as caught:
        cp.new_plan(uow, "CP1", name="X", revision="Z", actor=ACTOR)
    assert caught.value.fields[0].loc == "revision"
