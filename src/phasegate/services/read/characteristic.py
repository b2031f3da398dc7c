"""One characteristic on one build, and the build's table of characteristics.

- :func:`characteristic_detail`: the characteristic page: the control chart (X̄-R, or I-MR for
  individual values) with its Nelson signals and the units and test runs behind each, capability
  (Cp, Cpk, Pp, Ppk... with confidence intervals and lower bounds), the histogram, the
  normality verdict, and for a production build the phase I limits carried over from the pilot.
- :func:`build_characteristics`: one row per characteristic measured on the build with
  ``name, ctq, n, mean, sd, cpk, cpk_ci, cpk_lower, signals, status`` (the build report's
  ``quality.characteristics``).

How the values are read and grouped:

- The values are the numeric measurements of the characteristic on the build's units, in the
  order of their test runs' start times (then test run and measurement id). Only that column is
  read for the table; the page also reads each value's unit serial and test run.
- Subgroups are ``subgroup_size`` consecutive values and the chart is X̄-R; a subgroup size of
  1 gives the I-MR chart of the individual values. Unless the caller gives a size, it is the
  sampling of the characteristic in the product's current control plan (its item's sample
  size; 1 when the item's chart is I-MR), else :data:`SUBGROUP_SIZE` (5 consecutive units).
  When the values do not divide evenly, the last subgroup keeps the values left over, and a
  single value left over joins the subgroup before it (a range needs two).
- ``n``, ``mean`` and ``sd`` (n - 1) come from the maintained aggregate
  ``BuildCharacteristicStat``; the chart and the capability from the values, through the
  analysis services (:mod:`phasegate.services.analysis`), which call :mod:`phasegate.stats`.
- The chart is judged with the eight Nelson rules (the R and MR charts with rule 1). Every
  signal counts: phasegate keeps no record of a signal's cause, so none is closed.
- Phase I: for a production build the centre line and sigma come from the product's pilot
  builds (those the reader may see), charted the same way; the production values are judged
  against those frozen limits. Without enough pilot data the build sets its own limits and the
  result says why.

Thresholds (module constants, named in the results and the docs):

- capability needs :data:`MIN_CAPABILITY_VALUES` (25) values; below that the result says
  ``insufficient data (n = …)`` and the status is ``insufficient_data``;
- a chart needs :data:`MIN_CHART_POINTS` (5) subgroups (or individual values for I-MR);
- ``status`` is ``watch`` when the Cpk lower bound at :data:`CONFIDENCE` is below
  :data:`CPK_LOWER_TARGET` (1.33) or the chart has a signal, otherwise ``ok``.

Who may: ``Action.READ`` on ``Kind.TEST_DATA``; a partner user only on its partner's builds
(another build is ``NotFound``, worded as for one that does not exist).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Select, func, select

from phasegate.domain.enums import Phase
from phasegate.domain.errors import InvalidInput, NotFound, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.ingest.columns import ColumnData
from phasegate.services.access import authorize, scoped
from phasegate.services.analysis.capability import (
    CapabilityReport,
    analyse_capability,
    histogram_bins,
)
from phasegate.services.analysis.series import finite_or_none
from phasegate.services.analysis.spc import SpcReport, analyse_spc
from phasegate.services.control_plan import current_plan
from phasegate.stats.charts import ChartResult
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    Characteristic,
    ControlPlanItem,
    Measurement,
    Product,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork

__all__ = [
    "CAPABILITY_COLUMNS",
    "CAPABILITY_INDICES",
    "CONFIDENCE",
    "CONTRACT_FIELDS",
    "CPK_LOWER_TARGET",
    "FLAT_COLUMNS",
    "MIN_CAPABILITY_VALUES",
    "MIN_CHART_POINTS",
    "POINT_COLUMNS",
    "SIGNAL_COLUMNS",
    "SUBGROUP_SIZE",
    "BuildCharacteristics",
    "BuildRef",
    "CharacteristicDetail",
    "CharacteristicRow",
    "PhaseOneLimits",
    "Sampling",
    "Signal",
    "Spec",
    "Status",
    "SubgroupRows",
    "build_characteristics",
    "characteristic_detail",
    "insufficient_data",
    "thresholds",
]

SUBGROUP_SIZE = 5
"""Consecutive values (units) per subgroup of the X̄-R chart; 1 gives the I-MR chart."""
MAX_SUBGROUP_SIZE = 25
MIN_CAPABILITY_VALUES = 25
"""Fewer values give ``insufficient data (n = …)`` instead of capability indices."""
MIN_CHART_POINTS = 5
"""Fewer subgroups (individual values for I-MR) give no chart."""
CPK_LOWER_TARGET = 1.33
"""A Cpk lower confidence bound below this puts a characteristic on watch."""
CONFIDENCE = 0.95
"""Level of the capability intervals and one-sided lower bounds."""

CONTRACT_FIELDS = (
    "name", "ctq", "n", "mean", "sd", "cpk", "cpk_ci", "cpk_lower", "signals", "status",
)  # fmt: skip
"""The fields of a row of the build report's ``quality.characteristics``, in order."""
FLAT_COLUMNS = (
    "name", "ctq", "unit", "n", "mean", "sd", "cpk", "cpk_ci_low", "cpk_ci_high", "cpk_lower",
    "signals", "status", "subgroup_size", "note",
)  # fmt: skip
"""The columns of the table as CSV: the interval in two cells, the unit and the note added."""
POINT_COLUMNS = ("subgroup", "size", "value", "lcl", "ucl", "rules", "units", "test_runs")
"""The columns of a chart's points as CSV: each subgroup with the units behind it."""
SIGNAL_COLUMNS = ("chart", "subgroup", "value", "rules", "descriptions", "units", "test_runs")
"""The columns of the signals as CSV."""
CAPABILITY_COLUMNS = ("index", "value", "ci_low", "ci_high", "lower_bound")
"""The columns of the capability indices as CSV."""
CAPABILITY_INDICES = ("cp", "cpk", "cpl", "cpu", "cpm", "pp", "ppk")
"""The indices a capability table shows, in order."""


class Status(StrEnum):
    """How a characteristic stands on a build."""

    OK = "ok"
    WATCH = "watch"  # Cpk lower bound below the target, or a signal on the chart
    INSUFFICIENT_DATA = "insufficient_data"  # fewer values than capability needs

    @property
    def label(self) -> str:
        return {"ok": "OK", "watch": "Watch", "insufficient_data": "Insufficient data"}[self.value]


def insufficient_data(n: int) -> str:
    """What is shown instead of a number computed from too few values."""
    return f"insufficient data (n = {n})"


@dataclass(frozen=True, slots=True)
class BuildRef:
    """The build a result is about."""

    id: int
    code: str
    phase: Phase
    product_key: str
    product_id: int
    revision_id: int


@dataclass(frozen=True, slots=True)
class Sampling:
    """How many consecutive values make a subgroup, and where that comes from."""

    subgroup_size: int
    source: str

    @property
    def chart(self) -> str:
        return "imr" if self.subgroup_size == 1 else "xbar-r"


@dataclass(frozen=True, slots=True)
class Spec:
    """A characteristic and its specification."""

    id: int
    name: str
    unit: str
    ctq: bool
    lsl: float | None
    usl: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class PhaseOneLimits:
    """The centre line and process sigma a production build is judged against, and whence."""

    builds: tuple[str, ...]  # codes of the pilot builds whose values set them
    n: int  # values
    subgroups: int
    center: float
    sigma: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": "pilot",
            "builds": list(self.builds),
            "n": self.n,
            "subgroups": self.subgroups,
            "center": self.center,
            "sigma": self.sigma,
        }


@dataclass(frozen=True, slots=True)
class Signal:
    """A point of the chart that breaks a run rule, with the units and test runs behind it."""

    chart: str  # "xbar", "r", "i" or "mr"
    subgroup: int  # 1-based; for a moving range, the later of its two values
    value: float
    rules: tuple[int, ...]
    descriptions: tuple[str, ...]
    serials: tuple[str, ...]  # distinct, in value order
    test_runs: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "subgroup": self.subgroup,
            "value": finite_or_none(self.value),
            "rules": list(self.rules),
            "descriptions": list(self.descriptions),
            "units": list(self.serials),
            "test_runs": list(self.test_runs),
        }


@dataclass(frozen=True, slots=True)
class CharacteristicRow:
    """One characteristic on one build: the build report's ``quality.characteristics`` row."""

    spec: Spec
    n: int
    mean: float | None
    sd: float | None  # sample standard deviation (n - 1); None below two values
    cpk: float | None
    cpk_ci: tuple[float | None, float | None] | None
    cpk_lower: float | None
    signals: int  # chart points with at least one rule broken
    status: Status
    note: str  # why there is no Cpk or no chart, or ""
    sampling: Sampling

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def headline(self) -> str:
        """The note without its reason: ``insufficient data (n = 12)``."""
        return self.note.partition(":")[0]

    @property
    def ctq(self) -> bool:
        return self.spec.ctq

    def as_dict(self) -> dict[str, Any]:
        """Exactly the contract's fields, floats unrounded, NaN as None."""
        return {
            "name": self.spec.name,
            "ctq": self.spec.ctq,
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "cpk": self.cpk,
            "cpk_ci": None if self.cpk_ci is None else list(self.cpk_ci),
            "cpk_lower": self.cpk_lower,
            "signals": self.signals,
            "status": self.status.value,
        }


@dataclass(frozen=True, slots=True)
class BuildCharacteristics:
    """The build's characteristics table."""

    build: BuildRef
    subgroup_size: int | None  # as asked; None: each characteristic's own sampling
    rows: tuple[CharacteristicRow, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of the API and ``phasegate characteristics --format json``."""
        return {
            "build": self.build.code,
            "product": self.build.product_key,
            "phase": self.build.phase.value,
            "subgroup_size": self.subgroup_size,
            "sampling": {
                row.name: {
                    "subgroup_size": row.sampling.subgroup_size,
                    "source": row.sampling.source,
                }
                for row in self.rows
            },
            "thresholds": thresholds(),
            "characteristics": [row.as_dict() for row in self.rows],
        }

    def flat_rows(self) -> list[dict[str, Any]]:
        """The rows with one value per cell (:data:`FLAT_COLUMNS`), for CSV and tables."""
        out = []
        for row in self.rows:
            doc = row.as_dict()
            low, high = doc.pop("cpk_ci") or (None, None)
            doc.update(
                cpk_ci_low=low,
                cpk_ci_high=high,
                unit=row.spec.unit,
                subgroup_size=row.sampling.subgroup_size,
                note=row.note,
            )
            out.append({c: doc[c] for c in FLAT_COLUMNS})
        return out


def thresholds() -> dict[str, float]:
    """The thresholds behind ``status``, as the results state them."""
    return {
        "min_capability_values": MIN_CAPABILITY_VALUES,
        "min_chart_points": MIN_CHART_POINTS,
        "cpk_lower_target": CPK_LOWER_TARGET,
        "confidence": CONFIDENCE,
    }


@dataclass(frozen=True, slots=True)
class SubgroupRows:
    """The values of one subgroup with the unit and test run of each."""

    subgroup: int  # 1-based
    values: tuple[float, ...]
    serials: tuple[str, ...]
    test_runs: tuple[int, ...]


@dataclass(frozen=True, slots=True, eq=False)
class CharacteristicDetail:
    """Everything the characteristic page shows."""

    build: BuildRef
    row: CharacteristicRow
    chart: SpcReport | None
    chart_note: str
    signals: tuple[Signal, ...]
    capability: CapabilityReport | None
    capability_note: str
    histogram_edges: tuple[float, ...]
    histogram_counts: tuple[int, ...]
    phase1: PhaseOneLimits | None
    phase1_note: str
    values: NDArray[np.float64]
    group: NDArray[np.int64]  # subgroup index (0-based) of each value
    serials: tuple[str, ...]
    test_runs: tuple[int, ...]

    @property
    def spec(self) -> Spec:
        return self.row.spec

    @property
    def subgroup_size(self) -> int:
        return self.row.sampling.subgroup_size

    @property
    def chart_kind(self) -> str:
        return self.row.sampling.chart

    @property
    def subgroup_count(self) -> int:
        return int(self.group[-1]) + 1 if self.group.shape[0] else 0

    def subgroup(self, number: int) -> SubgroupRows:
        """The rows of subgroup ``number`` (1-based); ``NotFound`` beyond the last."""
        if not 1 <= number <= self.subgroup_count:
            raise NotFound(
                f"subgroup {number} does not exist: {self.spec.name} on build "
                f"{self.build.code} has {self.subgroup_count}"
            )
        rows = np.flatnonzero(self.group == number - 1).tolist()
        return SubgroupRows(
            number,
            tuple(float(self.values[i]) for i in rows),
            tuple(self.serials[i] for i in rows),
            tuple(self.test_runs[i] for i in rows),
        )

    def point_rows(self) -> list[dict[str, Any]]:
        """The primary chart's points (:data:`POINT_COLUMNS`): each subgroup's statistic,
        limits, broken rules and the units and test runs behind it."""
        if self.chart is None:
            return []
        c = self.chart.result.primary
        rules = c.violations.as_lists()
        starts = np.searchsorted(self.group, np.arange(c.count + 1))
        out = []
        for i in range(c.count):
            rows = range(int(starts[i]), int(starts[i + 1]))
            out.append(
                {
                    "subgroup": i + 1,
                    "size": len(rows),
                    "value": finite_or_none(float(c.values[i])),
                    "lcl": finite_or_none(float(c.lcl[i])),
                    "ucl": finite_or_none(float(c.ucl[i])),
                    "rules": rules[i],
                    "units": list(dict.fromkeys(self.serials[j] for j in rows)),
                    "test_runs": [self.test_runs[j] for j in rows],
                }
            )
        return out

    def capability_rows(self) -> list[dict[str, Any]]:
        """The capability indices (:data:`CAPABILITY_COLUMNS`), each with its two-sided
        interval and one-sided lower bound; none without capability."""
        if self.capability is None:
            return []
        r = self.capability.result
        return [
            {
                "index": name,
                "value": finite_or_none(r.index(name)),
                "ci_low": finite_or_none(r.ci[name].low),
                "ci_high": finite_or_none(r.ci[name].high),
                "lower_bound": finite_or_none(r.lower_bounds[name]),
            }
            for name in CAPABILITY_INDICES
        ]

    def signal_rows(self) -> list[dict[str, Any]]:
        """The signals (:data:`SIGNAL_COLUMNS`) with the units and test runs behind each."""
        return [signal.as_dict() for signal in self.signals]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of the API and ``phasegate characteristics --name``."""
        s = self.spec
        histogram = {"edges": list(self.histogram_edges), "counts": list(self.histogram_counts)}
        normality = None
        if self.capability is not None:
            normality = self.capability.as_dict()["normality"]
        return {
            "build": self.build.code,
            "product": self.build.product_key,
            "phase": self.build.phase.value,
            "characteristic": {
                "name": s.name,
                "unit": s.unit,
                "ctq": s.ctq,
                "lsl": s.lsl,
                "usl": s.usl,
                "target": s.target,
            },
            "summary": self.row.as_dict(),
            "note": self.row.note,
            "subgroup_size": self.subgroup_size,
            "sampling": self.row.sampling.source,
            "chart": None if self.chart is None else self.chart.as_dict(),
            "chart_note": self.chart_note,
            "signals": self.signal_rows(),
            "capability": None if self.capability is None else self.capability.as_dict(),
            "capability_note": self.capability_note,
            "histogram": histogram,
            "normality": normality,
            "phase1": None if self.phase1 is None else self.phase1.as_dict(),
            "phase1_note": self.phase1_note,
        }


# -------------------------------------------------------------------------------------------
# the computation, shared by the table and the page


def subgroup_index(n: int, size: int) -> NDArray[np.int64]:
    """Subgroup (0-based) of each of ``n`` consecutive values in subgroups of ``size``; a single
    value left over joins the subgroup before it."""
    group = np.arange(n, dtype=np.int64) // size
    if size > 1 and n > size and n % size == 1:
        group[-1] -= 1
    return group


def _columns(values: NDArray[np.float64], group: NDArray[np.int64], source: str) -> ColumnData:
    """The values (and their subgroup labels) as the analysis services read a file."""
    n = values.shape[0]
    return ColumnData(
        path=source,
        numeric={"value": values},
        text={"subgroup": (group + 1).astype(np.str_)},
        lines=np.arange(1, n + 1, dtype=np.int64),
        header=("value", "subgroup"),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Analysis:
    chart: SpcReport | None
    chart_note: str
    capability: CapabilityReport | None
    capability_note: str
    phase1: PhaseOneLimits | None
    phase1_note: str
    group: NDArray[np.int64]


def _chart(
    values: NDArray[np.float64],
    group: NDArray[np.int64],
    size: int,
    source: str,
    known: PhaseOneLimits | None = None,
) -> tuple[SpcReport | None, str]:
    """The X̄-R (I-MR for ``size`` 1) chart of ``values``, against ``known`` limits if given."""
    points = int(group[-1]) + 1 if group.shape[0] else 0
    if points < MIN_CHART_POINTS:
        what = "values" if size == 1 else f"subgroups of {size}"
        return None, (
            f"{insufficient_data(int(values.shape[0]))}: a control chart needs at least "
            f"{MIN_CHART_POINTS} {what}"
        )
    try:
        report = analyse_spc(
            _columns(values, group, source),
            value="value",
            chart="imr" if size == 1 else "xbar-r",
            subgroup=None if size == 1 else "subgroup",
            target=None if known is None else known.center,
            sigma=None if known is None else known.sigma,
        )
    except InvalidInput as error:
        return None, f"no control chart: {error.message}"
    return report, ""


def _capability(
    values: NDArray[np.float64], group: NDArray[np.int64], size: int, spec: Spec, source: str
) -> tuple[CapabilityReport | None, str]:
    n = int(values.shape[0])
    if spec.lsl is None and spec.usl is None:
        return None, "no capability: the characteristic has no specification limit"
    if n < MIN_CAPABILITY_VALUES:
        return None, (
            f"{insufficient_data(n)}: capability needs at least {MIN_CAPABILITY_VALUES} values"
        )
    try:
        report = analyse_capability(
            _columns(values, group, source),
            value="value",
            lsl=spec.lsl,
            usl=spec.usl,
            subgroup=None if size == 1 else "subgroup",
            target=spec.target,
            confidence=CONFIDENCE,
        )
    except InvalidInput as error:
        return None, f"no capability: {error.message}"
    return report, ""


def _phase_one(
    pilot: tuple[tuple[str, ...], NDArray[np.float64]] | None, size: int, source: str
) -> tuple[PhaseOneLimits | None, str]:
    """The pilot's centre line and sigma, charted as the production build will be."""
    if pilot is None:
        return None, ""
    builds, values = pilot
    if values.shape[0] == 0:
        return None, "no pilot build has values of this characteristic: limits from this build"
    group = subgroup_index(int(values.shape[0]), size)
    report, note = _chart(values, group, size, source)
    if report is None:
        return None, f"pilot data too small for phase I limits ({note}): limits from this build"
    primary = report.result.primary
    if not (math.isfinite(primary.sigma) and primary.sigma > 0):
        return None, "the pilot values do not vary: limits from this build"
    limits = PhaseOneLimits(
        builds, int(values.shape[0]), int(group[-1]) + 1, primary.center, primary.sigma
    )
    return limits, ""


def _analyse(
    values: NDArray[np.float64],
    spec: Spec,
    size: int,
    source: str,
    pilot: tuple[tuple[str, ...], NDArray[np.float64]] | None,
) -> _Analysis:
    group = subgroup_index(int(values.shape[0]), size)
    phase1, phase1_note = _phase_one(pilot, size, f"{source} (pilot)")
    chart, chart_note = _chart(values, group, size, source, phase1)
    capability, capability_note = _capability(values, group, size, spec, source)
    return _Analysis(chart, chart_note, capability, capability_note, phase1, phase1_note, group)


def _signal_count(chart: SpcReport | None) -> int:
    if chart is None:
        return 0
    res = chart.result
    return sum(c.violations.count() for c in (res.primary, res.secondary) if c is not None)


def _row(
    spec: Spec, totals: tuple[int, float, float], analysis: _Analysis, sampling: Sampling
) -> CharacteristicRow:
    count, total, total_sq = totals
    mean = total / count if count else None
    sd = None
    if count >= 2:
        sd = math.sqrt(max(total_sq - total * (total / count), 0.0) / (count - 1))
    cap = analysis.capability
    cpk = cpk_lower = None
    cpk_ci = None
    if cap is not None:
        r = cap.result
        cpk = finite_or_none(r.cpk)
        cpk_ci = (finite_or_none(r.ci["cpk"].low), finite_or_none(r.ci["cpk"].high))
        cpk_lower = finite_or_none(r.lower_bounds["cpk"])
    signals = _signal_count(analysis.chart)
    if count < MIN_CAPABILITY_VALUES:
        status = Status.INSUFFICIENT_DATA
    elif signals or (cpk_lower is not None and cpk_lower < CPK_LOWER_TARGET):
        status = Status.WATCH
    else:
        status = Status.OK
    note = analysis.capability_note or analysis.chart_note
    return CharacteristicRow(
        spec, count, mean, sd, cpk, cpk_ci, cpk_lower, signals, status, note, sampling
    )


# -------------------------------------------------------------------------------------------
# reading


def _ci(column: Any, value: str) -> ColumnElement[bool]:
    return func.lower(column) == func.lower(value)


def _check_size(subgroup_size: int | None) -> None:
    if subgroup_size is not None and not 1 <= subgroup_size <= MAX_SUBGROUP_SIZE:
        raise invalid(
            "subgroup_size", f"must be from 1 to {MAX_SUBGROUP_SIZE}, got {subgroup_size}"
        )


def _build(uow: UnitOfWork, build: int | str, product: str | None, actor: Principal) -> BuildRef:
    """The build by id, or by code (in ``product`` when given); ``NotFound`` outside scope."""
    stmt = select(
        Build.id, Build.code, Build.phase, Product.key, Product.id, Build.revision_id
    ).join(Product, Product.id == Build.product_id)
    if isinstance(build, int):
        stmt = stmt.where(Build.id == build)
    else:
        stmt = stmt.where(_ci(Build.code, build))
    if product is not None:
        stmt = stmt.where(_ci(Product.key, product))
    found = uow.session.execute(scoped(stmt, actor, Build)).all()
    if not found:
        where = f" in product {product!r}" if product is not None else ""
        raise NotFound(f"build {build!r} does not exist{where}")
    if len(found) > 1:
        raise invalid("product", f"build {build!r} is in several products: name the product")
    return BuildRef(*found[0])


_VARIABLES_CHARTS = ("xbar-r", "xbar-s", "imr")


def _sampling(
    uow: UnitOfWork, ref: BuildRef, char_ids: Sequence[int], asked: int | None
) -> dict[int, Sampling]:
    """Per characteristic: the subgroup size asked for, else its control plan's sampling, else
    :data:`SUBGROUP_SIZE`. Of several items of one characteristic (at several stations) the
    first with a variables chart is used, else the first."""
    if asked is not None:
        given = Sampling(asked, f"subgroups of {asked} as asked")
        return dict.fromkeys(char_ids, given)
    default = Sampling(SUBGROUP_SIZE, f"subgroups of {SUBGROUP_SIZE} consecutive units (default)")
    out = dict.fromkeys(char_ids, default)
    plan = current_plan(uow, ref.product_id, revision_id=ref.revision_id)
    if plan is None or not char_ids:
        return out
    items = uow.session.execute(
        select(
            ControlPlanItem.characteristic_id,
            ControlPlanItem.sample_size,
            ControlPlanItem.chart_type,
        )
        .where(ControlPlanItem.plan_id == plan.id, ControlPlanItem.characteristic_id.in_(char_ids))
        .order_by(ControlPlanItem.id)
    ).all()
    chosen: dict[int, tuple[int, str | None]] = {}
    for cid, size, chart in items:
        if cid not in chosen or (
            chart in _VARIABLES_CHARTS and chosen[cid][1] not in _VARIABLES_CHARTS
        ):
            chosen[cid] = (int(size), chart)
    for cid, (size, chart) in chosen.items():
        used = 1 if chart == "imr" else max(1, min(size, MAX_SUBGROUP_SIZE))
        how = f", {chart} chart" if chart else ""
        out[cid] = Sampling(
            used,
            f"control plan {plan.name!r} (version {plan.plan_version}): samples of {size}{how}",
        )
    return out


def _spec(c: Characteristic) -> Spec:
    return Spec(c.id, c.name, c.unit, c.ctq, c.lsl, c.usl, c.target)


_VALUE_ORDER = (TestRun.started_at, TestRun.id, Measurement.id)


def _values_of(build_ids: Sequence[int], *columns: Any) -> Select[Any]:
    """The numeric measurements of the builds' units, in test-run start order."""
    return (
        select(*columns)
        .select_from(Measurement)
        .join(TestRun, TestRun.id == Measurement.test_run_id)
        .join(Unit, Unit.id == Measurement.unit_id)
        .where(Unit.build_id.in_(build_ids), Measurement.value.is_not(None))
    )


def _split(rows: Sequence[Any]) -> dict[int, NDArray[np.float64]]:
    """(characteristic id, value) rows ordered by characteristic, as one array per id."""
    if not rows:
        return {}
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    cuts = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate(([0], cuts))
    return {
        int(ids[s]): part for s, part in zip(starts.tolist(), np.split(values, cuts), strict=True)
    }


def _pilot_builds(uow: UnitOfWork, ref: BuildRef, actor: Principal) -> list[tuple[int, str]]:
    """The product's pilot builds the actor may see, when ``ref`` is a production build."""
    if ref.phase is not Phase.PRODUCTION:
        return []
    stmt = (
        select(Build.id, Build.code)
        .where(Build.product_id == ref.product_id, Build.phase == Phase.PILOT)
        .order_by(Build.id)
    )
    return [(int(i), str(c)) for i, c in uow.session.execute(scoped(stmt, actor, Build))]


def _pilot_values(
    uow: UnitOfWork, pilots: list[tuple[int, str]], char_ids: Sequence[int] | None
) -> tuple[dict[int, NDArray[np.float64]], dict[int, tuple[str, ...]]]:
    """Per characteristic: the pilot values in time order, and the codes of the builds they
    come from."""
    if not pilots:
        return {}, {}
    ids = [i for i, _ in pilots]
    stmt = _values_of(ids, Measurement.characteristic_id, Measurement.value, Unit.build_id)
    if char_ids is not None:
        stmt = stmt.where(Measurement.characteristic_id.in_(char_ids))
    rows = uow.session.execute(stmt.order_by(Measurement.characteristic_id, *_VALUE_ORDER)).all()
    code = dict(pilots)
    sources: dict[int, set[int]] = {}
    for cid, _value, build_id in rows:
        sources.setdefault(int(cid), set()).add(int(build_id))
    names = {cid: tuple(code[b] for b in ids if b in used) for cid, used in sources.items()}
    return _split(rows), names


def _pilot_of(
    ref: BuildRef,
    values: dict[int, NDArray[np.float64]],
    names: dict[int, tuple[str, ...]],
    cid: int,
) -> tuple[tuple[str, ...], NDArray[np.float64]] | None:
    """The pilot values phase I limits come from; None for a build that sets its own."""
    if ref.phase is not Phase.PRODUCTION:
        return None
    return names.get(cid, ()), values.get(cid, np.empty(0))


def build_characteristics(
    uow: UnitOfWork,
    build: int | str,
    *,
    actor: Principal,
    product: str | None = None,
    subgroup_size: int | None = None,
) -> BuildCharacteristics:
    """One row per characteristic measured on the build, CTQs first, then by name.

    ``build`` is the build's id, or its code (``product`` names the product when the code is in
    several). Reads the aggregates and, per characteristic, only its values in time order.
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    _check_size(subgroup_size)
    with uow:
        ref = _build(uow, build, product, actor)
        cstat = BuildCharacteristicStat
        chars = uow.session.execute(
            select(Characteristic, cstat.count, cstat.total, cstat.total_sq)
            .join(cstat, cstat.characteristic_id == Characteristic.id)
            .where(cstat.build_id == ref.id)
            .order_by(Characteristic.ctq.desc(), Characteristic.name, Characteristic.id)
        ).all()
        stmt = _values_of([ref.id], Measurement.characteristic_id, Measurement.value)
        values = _split(
            uow.session.execute(stmt.order_by(Measurement.characteristic_id, *_VALUE_ORDER)).all()
        )
        pilots = _pilot_builds(uow, ref, actor)
        pilot_values, pilot_names = _pilot_values(uow, pilots, None)
        sampling = _sampling(uow, ref, [c.id for c, *_ in chars], subgroup_size)
    rows = []
    for c, count, total, total_sq in chars:
        spec = _spec(c)
        analysis = _analyse(
            values.get(c.id, np.empty(0)),
            spec,
            sampling[c.id].subgroup_size,
            f"{ref.product_key}/{ref.code}/{c.name}",
            _pilot_of(ref, pilot_values, pilot_names, c.id),
        )
        totals = (int(count), float(total), float(total_sq))
        rows.append(_row(spec, totals, analysis, sampling[c.id]))
    return BuildCharacteristics(ref, subgroup_size, tuple(rows))


def _characteristic(
    uow: UnitOfWork, ref: BuildRef, characteristic: int | str, actor: Principal
) -> Characteristic:
    stmt = select(Characteristic).where(Characteristic.product_id == ref.product_id)
    if isinstance(characteristic, int):
        stmt = stmt.where(Characteristic.id == characteristic)
    else:
        stmt = stmt.where(_ci(Characteristic.name, characteristic))
    found = uow.session.scalars(scoped(stmt, actor, Characteristic)).first()
    if found is None:
        raise NotFound(
            f"characteristic {characteristic!r} does not exist in product {ref.product_key}"
        )
    return found


def characteristic_detail(
    uow: UnitOfWork,
    build: int | str,
    characteristic: int | str,
    *,
    actor: Principal,
    product: str | None = None,
    subgroup_size: int | None = None,
) -> CharacteristicDetail:
    """The characteristic page: chart and signals, capability, histogram, normality, phase I.

    ``build`` is an id or a code (``product`` as for :func:`build_characteristics`);
    ``characteristic`` an id or a name of the build's product. A characteristic not measured on
    the build gives a result with ``n = 0``, not an error.
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    _check_size(subgroup_size)
    with uow:
        ref = _build(uow, build, product, actor)
        char = _characteristic(uow, ref, characteristic, actor)
        spec = _spec(char)
        cstat = BuildCharacteristicStat
        agg = uow.session.execute(
            select(cstat.count, cstat.total, cstat.total_sq).where(
                cstat.build_id == ref.id, cstat.characteristic_id == char.id
            )
        ).first()
        rows = uow.session.execute(
            _values_of([ref.id], Measurement.value, Unit.serial, TestRun.id)
            .where(Measurement.characteristic_id == char.id)
            .order_by(*_VALUE_ORDER)
        ).all()
        pilots = _pilot_builds(uow, ref, actor)
        pilot_values, pilot_names = _pilot_values(uow, pilots, [char.id])
        sampling = _sampling(uow, ref, [char.id], subgroup_size)[char.id]
    values = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
    serials = tuple(str(r[1]) for r in rows)
    runs = tuple(int(r[2]) for r in rows)
    analysis = _analyse(
        values,
        spec,
        sampling.subgroup_size,
        f"{ref.product_key}/{ref.code}/{spec.name}",
        _pilot_of(ref, pilot_values, pilot_names, char.id),
    )
    totals = (0, 0.0, 0.0) if agg is None else (int(agg[0]), float(agg[1]), float(agg[2]))
    row = _row(spec, totals, analysis, sampling)
    edges: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()
    if analysis.capability is not None:
        edges = analysis.capability.histogram_edges
        counts = analysis.capability.histogram_counts
    elif values.shape[0]:
        edges, counts = histogram_bins(values)
    return CharacteristicDetail(
        build=ref,
        row=row,
        chart=analysis.chart,
        chart_note=analysis.chart_note,
        signals=_signals(analysis.chart, analysis.group, serials, runs),
        capability=analysis.capability,
        capability_note=analysis.capability_note,
        histogram_edges=edges,
        histogram_counts=counts,
        phase1=analysis.phase1,
        phase1_note=analysis.phase1_note,
        values=values,
        group=analysis.group,
        serials=serials,
        test_runs=runs,
    )


def _signals(
    chart: SpcReport | None,
    group: NDArray[np.int64],
    serials: tuple[str, ...],
    runs: tuple[int, ...],
) -> tuple[Signal, ...]:
    """Every signalling point of both charts, with the values behind it."""
    if chart is None:
        return ()
    out: list[Signal] = []
    for c in (chart.result.primary, chart.result.secondary):
        if c is not None:
            out.extend(_chart_signals(c, group, serials, runs))
    return tuple(out)


def _chart_signals(
    c: ChartResult,
    group: NDArray[np.int64],
    serials: tuple[str, ...],
    runs: tuple[int, ...],
) -> list[Signal]:
    out = []
    individuals = c.chart in ("i", "mr")
    for point in np.flatnonzero(c.signals()).tolist():
        sub = point + c.first_point  # 0-based subgroup (an individual value for I-MR)
        if c.chart == "mr":
            rows = [sub - 1, sub]
        elif individuals:
            rows = [sub]
        else:
            rows = np.flatnonzero(group == sub).tolist()
        rules = tuple(c.violations.at(point))
        out.append(
            Signal(
                chart=c.chart,
                subgroup=sub + 1,
                value=float(c.values[point]),
                rules=rules,
                descriptions=tuple(c.violations.rule_set.describe(r) for r in rules),
                serials=tuple(dict.fromkeys(serials[i] for i in rows)),
                test_runs=tuple(runs[i] for i in rows),
            )
        )
    return out
