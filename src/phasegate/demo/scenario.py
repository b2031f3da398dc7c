"""How the demo's story unfolds: the generator's inputs beyond the records it stores.

Each type here is read from a table of the data files (``demo/data/``) by keyword; the
comments say what the fields mean there.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from phasegate.demo.records import (
    BuildRec,
    CharacteristicRec,
    DefectCodeRec,
    GateRec,
    LineRec,
    PartnerRec,
    ProductRec,
    RequirementRec,
    RevisionRec,
)
from phasegate.domain.enums import (
    Allocation,
    FeedbackSource,
    FindingCategory,
    FindingStatus,
    Severity,
    UnitStatus,
)

# --------------------------------------------------------------------------------------------
# Characteristics: how their values come about


@dataclass(frozen=True, slots=True)
class Normal:
    """A process mean and standard deviation."""

    mean: float
    sd: float


@dataclass(frozen=True, slots=True)
class Process:
    """How the values of one characteristic are drawn."""

    resolution: float  # instrument step: values are rounded to it
    defect_code: str  # recorded when a value on the line is out of the limits
    # Revision code (bench tests of prototypes) or line stage ("pilot", "production") -> the
    # process there. A stage left out is not measured there.
    stages: dict[str, Normal]


@dataclass(frozen=True, slots=True)
class Spec:
    """A characteristic as stored, and the process behind its values."""

    rec: CharacteristicRec
    process: Process


# --------------------------------------------------------------------------------------------
# Stations: how they fail units beyond what the measurements show


@dataclass(frozen=True, slots=True)
class FailureCode:
    """A defect code a station failure gets."""

    code: str  # defect code
    weight: float  # relative frequency among the station's failures
    severity: Severity


@dataclass(frozen=True, slots=True)
class StationFailures:
    """How a station fails units beyond what its measurements show."""

    probability: float  # of a failure the measurements do not show, per first attempt
    codes: tuple[FailureCode, ...]
    cosmetic: float = 0.0  # probability of a cosmetic scratch that is used as is


# --------------------------------------------------------------------------------------------
# Builds: bench tests of prototypes, runs on a line


@dataclass(frozen=True, slots=True)
class BenchTest:
    """How a prototype build is tested in the lab: one test run per unit."""

    tested: int | None = None  # units tested so far; all of them when left out
    ctq_in_spec: bool = False  # the build a gate judged: its CTQ values fall inside the limits


@dataclass(frozen=True, slots=True)
class StationTime:
    """Processing time of a station in one run: lognormal with this mean and CV."""

    mean_s: float
    cv: float


@dataclass(frozen=True, slots=True)
class ReleaseDays:
    """Consecutive workdays (Monday to Friday) from ``start`` and the units released on each."""

    start: dt.date
    units: tuple[int, ...]  # units released on each workday
    first_release: dt.time  # of each day, UTC

    def days(self) -> list[tuple[dt.datetime, int]]:
        """(first release, units) per workday."""
        out: list[tuple[dt.datetime, int]] = []
        day = self.start
        while len(out) < len(self.units):
            if day.weekday() < 5:
                release = dt.datetime.combine(day, self.first_release, tzinfo=dt.UTC)
                out.append((release, self.units[len(out)]))
            day += dt.timedelta(days=1)
        return out


@dataclass(frozen=True, slots=True)
class Learning:
    """Processing times start ``extra`` above their mean and learn it with ``decay_units``."""

    extra: float
    decay_units: float

    def factor(self, unit_index: int) -> float:
        return 1 + self.extra * math.exp(-unit_index / self.decay_units)


@dataclass(frozen=True, slots=True)
class Drift:
    """A change of a characteristic's process mean during a run: a step and/or a trend."""

    characteristic: str
    step: float = 0.0  # added from unit ``step_from`` on (e.g. a new component lot)
    step_from: int = 0
    trend: float = 0.0  # reached at unit ``trend_over``, growing linearly (e.g. mould wear)
    trend_over: int = 1

    def at(self, unit_index: int) -> float:
        step = self.step if unit_index >= self.step_from else 0.0
        return step + self.trend * unit_index / self.trend_over


@dataclass(frozen=True, slots=True)
class Quota:
    """Passed units given a use: ``units`` of them, or all left but ``keep_back``."""

    allocation: Allocation
    status: UnitStatus
    units: int | None = None
    keep_back: int | None = None


@dataclass(frozen=True, slots=True)
class Use:
    """What a unit is used for, and its status then."""

    allocation: Allocation
    status: UnitStatus


@dataclass(frozen=True, slots=True)
class Allocations:
    """What the passed units of a run are used for, drawn in a random order."""

    quotas: tuple[Quota, ...]
    rest: Use  # the passed units no quota took


@dataclass(frozen=True, slots=True)
class LineRun:
    """How a pilot or production build runs on its line."""

    stage: str  # selects the process of each characteristic: "pilot" or "production"
    procedure_version: str
    release_gap_s: float  # between units entering the line
    failure_scale: float  # multiplies the stations' failure probabilities
    learning: Learning
    stations: dict[str, StationTime]  # by station name: every station of the line
    schedule: tuple[ReleaseDays, ...]
    allocations: Allocations
    drift: tuple[Drift, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """A build as stored, and how its units are made and tested."""

    rec: BuildRec
    bench: BenchTest | None  # prototype builds
    line_run: LineRun | None  # pilot and production builds


# --------------------------------------------------------------------------------------------
# What the builds taught: findings, feedback, gate decisions


@dataclass(frozen=True, slots=True)
class ResolutionText:
    """How a finding was resolved; the generator dates it from the fixing build."""

    status: FindingStatus
    root_cause: str
    corrective_action: str = ""
    fixed_in: str | None = None  # revision code


@dataclass(frozen=True, slots=True)
class FindingText:
    """A finding as the data files state it; the generator dates it."""

    ref: str  # unique within the demo; feedback points at it
    build: str  # the build it was found on (its revision is the finding's)
    title: str
    description: str
    category: FindingCategory
    severity: Severity
    owner: str
    opened_days: int  # after the build ended
    resolution: ResolutionText | None = None


@dataclass(frozen=True, slots=True)
class FeedbackText:
    """A tester's feedback on a revision; author, date and a small rating change are drawn."""

    revision: str
    text: str
    rating: int  # 1-5, before the random change
    requirement: str | None = None  # requirement key
    finding: str | None = None  # finding ref


@dataclass(frozen=True, slots=True)
class CampaignText:
    """One thing pilot users or customers said."""

    text: str
    rating: int
    requirement: str | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    """Feedback collected from ``start`` on: ``count`` items cycling through ``texts``."""

    revision: str
    source: FeedbackSource
    start: dt.date
    count: int
    texts: tuple[CampaignText, ...]


# --------------------------------------------------------------------------------------------
# The whole catalog


@dataclass(frozen=True, slots=True)
class Operators:
    """Line operators per shift."""

    early: tuple[str, ...]  # shift starting before 13:00
    late: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class People:
    """Who tests, measures and works the lines."""

    testers: tuple[str, ...]
    lab_technicians: tuple[str, ...]
    operators: Operators


@dataclass(frozen=True, slots=True)
class ProductData:
    """Everything fixed about one product (one file ``products/<KEY>.toml``)."""

    product: ProductRec
    revisions: tuple[RevisionRec, ...]
    requirements: tuple[RequirementRec, ...]
    specs: tuple[Spec, ...]
    builds: tuple[BuildPlan, ...]
    findings: tuple[FindingText, ...]
    feedback: tuple[FeedbackText, ...]
    campaigns: tuple[Campaign, ...]
    gates: tuple[GateRec, ...]  # rationales with placeholders


@dataclass(frozen=True, slots=True)
class Catalog:
    """The fixed part of the demo, as read from the data files."""

    today: dt.datetime  # nothing happens after this; builds in progress stop here
    gate_signoff: str  # the ``{signoff}`` of the gate rationales
    partners: tuple[PartnerRec, ...]
    lines: tuple[LineRec, ...]
    failures: dict[tuple[str, str], StationFailures]  # by (line, station)
    defect_codes: tuple[DefectCodeRec, ...]
    people: People
    products: tuple[ProductData, ...]

    def line(self, name: str) -> LineRec:
        return next(line for line in self.lines if line.name == name)

    def builds(self) -> list[BuildPlan]:
        return [plan for p in self.products for plan in p.builds]
