"""The demo's data files: read by keyword, checked, with errors that name the file and entry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from phasegate.demo import datafiles
from phasegate.demo.catalog import read_catalog
from phasegate.demo.datafiles import DemoDataError, entries, record
from phasegate.domain.enums import Phase, Severity


@dataclass(frozen=True, slots=True)
class Part:
    code: str
    weight: float


@dataclass(frozen=True, slots=True)
class Thing:
    name: str
    phase: Phase
    parts: tuple[Part, ...]
    made_on: dt.date
    severity: Severity | None = None
    notes: dict[str, int] | None = None


PLACE = "demo/data/things.toml, things[0] (Box)"


def _thing(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "Box",
        "phase": "pilot",
        "parts": [{"code": "A", "weight": 2}],
        "made_on": dt.date(2026, 1, 2),
    }
    return entry | changes


def test_a_table_becomes_a_record_with_converted_values() -> None:
    thing = record(Thing, _thing(severity="minor", notes={"a": 1}), PLACE)
    assert thing == Thing(
        name="Box",
        phase=Phase.PILOT,
        parts=(Part(code="A", weight=2.0),),
        made_on=dt.date(2026, 1, 2),
        severity=Severity.MINOR,
        notes={"a": 1},
    )
    assert isinstance(thing.parts[0].weight, float)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_thing(colour="red"), f"{PLACE}: unknown key 'colour'"),
        ({"name": "Box", "phase": "pilot", "parts": []}, f"{PLACE}: missing key 'made_on'"),
        (_thing(phase="beta"), f"{PLACE}, phase: 'beta' is not one of: prototype, pilot"),
        (_thing(parts=[{"code": "A"}]), f"{PLACE}, parts[0]: missing key 'weight'"),
        (_thing(parts=[{"code": 1, "weight": 1}]), f"{PLACE}, parts[0], code: expected str"),
        (_thing(made_on=dt.datetime(2026, 1, 2, 8)), f"{PLACE}, made_on: expected a date"),
        (_thing(name=True), f"{PLACE}, name: expected str, got True"),
        (_thing(parts={"code": "A"}), f"{PLACE}, parts: expected an array"),
    ],
    ids=["unknown", "missing", "enum", "nested-missing", "nested-type", "date", "str", "array"],
)
def test_errors_name_the_file_the_entry_and_the_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(DemoDataError) as caught:
        record(Thing, entry, PLACE)
    assert str(caught.value).startswith(message)


def test_given_fields_are_not_stated_in_the_file() -> None:
    thing = record(Thing, _thing(), PLACE, severity=Severity.MAJOR)
    assert thing.severity is Severity.MAJOR
    with pytest.raises(DemoDataError, match="unknown key 'severity'"):
        record(Thing, _thing(severity="minor"), PLACE, severity=Severity.MAJOR)


def test_entries_are_named_by_position_and_name() -> None:
    document = {"things": [{"name": "Box"}, {"code": "C-1"}, {}]}
    places = [place for _, place in entries(document, "things", "demo/data/x.toml")]
    assert places == [
        "demo/data/x.toml, things[0] (Box)",
        "demo/data/x.toml, things[1] (C-1)",
        "demo/data/x.toml, things[2]",
    ]
    with pytest.raises(DemoDataError, match=r"things must be an array of tables"):
        entries({"things": {"name": "Box"}}, "things", "demo/data/x.toml")


def test_a_missing_file_is_named() -> None:
    with pytest.raises(DemoDataError, match=r"demo/data/nope\.toml: the file is missing"):
        datafiles.read("nope.toml")


def test_the_shipped_files_refer_only_to_what_they_define() -> None:
    """Every name a data file uses is defined in the data files (the loader relies on it)."""
    catalog = read_catalog()
    partners = {p.name for p in catalog.partners}
    stations = {(line.name, s.name) for line in catalog.lines for s in line.stations}
    codes = {d.code for d in catalog.defect_codes}
    assert {line.partner for line in catalog.lines} <= partners
    assert {c.code for f in catalog.failures.values() for c in f.codes} <= codes
    for product in catalog.products:
        revisions = {r.code for r in product.revisions}
        requirements = {r.key for r in product.requirements}
        builds = {b.rec.code for b in product.builds}
        findings = {f.ref for f in product.findings}
        for spec in product.specs:
            assert spec.process.defect_code in codes, spec
            assert spec.rec.requirement in requirements | {None}, spec
            assert spec.rec.line is None or (spec.rec.line, spec.rec.station) in stations, spec
            assert set(spec.process.stages) <= revisions | {"pilot", "production"}, spec
        for plan in product.builds:
            assert plan.rec.revision in revisions and plan.rec.partner in partners, plan.rec
        for f in product.findings:
            assert f.build in builds, f
            assert f.resolution is None or f.resolution.fixed_in in revisions | {None}, f
        for fb in product.feedback:
            assert fb.revision in revisions, fb
            assert fb.requirement in requirements | {None}, fb
            assert fb.finding in findings | {None}, fb
        for campaign in product.campaigns:
            assert campaign.revision in revisions, campaign
            assert {t.requirement for t in campaign.texts} <= requirements | {None}, campaign
