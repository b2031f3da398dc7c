"""What the builds taught: findings with their resolutions, feedback, and gate decisions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from phasegate.demo.datafiles import DemoDataError, where
from phasegate.demo.records import FeedbackRec, FindingRec, GateRec, Resolution
from phasegate.demo.sampling import build_by_code, first_build
from phasegate.demo.scenario import Catalog, FindingText, ProductData, ResolutionText
from phasegate.domain.enums import FeedbackSource, FindingStatus, Outcome, Phase
from phasegate.services.volume import BuildVolume

# Takt time in the gate rationale: two shifts of 7.5 h on 250 workdays a year.
_SHIFTS = 2
_SHIFT_HOURS = 7.5
_WORKDAYS_PER_YEAR = 250


def findings(rng: np.random.Generator, catalog: Catalog) -> tuple[FindingRec, ...]:
    """Findings as first reported, each with its resolution if it has one."""
    out: list[FindingRec] = []
    for product in catalog.products:
        for text in product.findings:
            build = build_by_code(product, text.build)
            base = build.end_date or build.start_date + dt.timedelta(days=5)
            opened = base + dt.timedelta(days=text.opened_days)
            out.append(
                FindingRec(
                    ref=text.ref,
                    product=build.product,
                    revision=build.revision,
                    build=build.code,
                    title=text.title,
                    description=text.description,
                    category=text.category,
                    severity=text.severity,
                    owner=text.owner,
                    opened_on=opened,
                    resolution=_resolution(rng, catalog, product, text, opened),
                )
            )
    return tuple(out)


def _resolution(
    rng: np.random.Generator,
    catalog: Catalog,
    product: ProductData,
    text: FindingText,
    opened: dt.date,
) -> Resolution | None:
    """The finding's resolution, closed a few days after the build with the fix (if any)."""
    fix: ResolutionText | None = text.resolution
    if fix is None:
        return None
    closed_on = None
    if fix.status is not FindingStatus.INVESTIGATING:
        if fix.fixed_in is not None:
            fixing = first_build(product, fix.fixed_in)
            closed = (fixing.end_date or fixing.start_date) + dt.timedelta(
                days=int(rng.integers(2, 10))
            )
        else:
            closed = opened + dt.timedelta(days=int(rng.integers(10, 40)))
        closed_on = min(closed, catalog.today.date())
    return Resolution(
        status=fix.status,
        root_cause=fix.root_cause,
        corrective_action=fix.corrective_action,
        fixed_in=fix.fixed_in,
        closed_on=closed_on,
    )


def _rating(rng: np.random.Generator, base: int) -> int:
    return int(min(5, max(1, base + int(rng.choice([-1, 0, 1], p=[0.15, 0.7, 0.15])))))


def feedback(rng: np.random.Generator, catalog: Catalog) -> tuple[FeedbackRec, ...]:
    """Testers' feedback on every revision, then the campaigns (pilot users, customers)."""
    testers = [fb for p in catalog.products for fb in _tester_feedback(rng, catalog, p)]
    campaigns = [fb for p in catalog.products for fb in _campaign_feedback(rng, catalog, p)]
    return (*testers, *campaigns)


def _tester_feedback(
    rng: np.random.Generator, catalog: Catalog, product: ProductData
) -> list[FeedbackRec]:
    testers = catalog.people.testers
    out: list[FeedbackRec] = []
    for item in product.feedback:
        build = first_build(product, item.revision)
        base = build.end_date or build.start_date + dt.timedelta(days=10)
        received = min(base + dt.timedelta(days=int(rng.integers(4, 30))), catalog.today.date())
        author = testers[int(rng.integers(0, len(testers)))]
        out.append(
            FeedbackRec(
                product=build.product,
                revision=item.revision,
                requirement=item.requirement,
                finding=item.finding,
                source=FeedbackSource.TESTER,
                author=author,
                rating=_rating(rng, item.rating),
                text=item.text,
                received_on=received,
            )
        )
    return out


def _campaign_feedback(
    rng: np.random.Generator, catalog: Catalog, product: ProductData
) -> list[FeedbackRec]:
    testers = catalog.people.testers
    out: list[FeedbackRec] = []
    for campaign in product.campaigns:
        for k in range(campaign.count):
            said = campaign.texts[k % len(campaign.texts)]
            received = min(
                campaign.start + dt.timedelta(days=int(rng.integers(0, 28))), catalog.today.date()
            )
            author = testers[int(rng.integers(0, len(testers)))]
            out.append(
                FeedbackRec(
                    product=product.product.key,
                    revision=campaign.revision,
                    requirement=said.requirement,
                    finding=None,
                    source=campaign.source,
                    author=author,
                    rating=_rating(rng, said.rating),
                    text=said.text,
                    received_on=received,
                )
            )
    return out


def _first_pass_yield(volume: BuildVolume) -> tuple[int, int]:
    passes = volume.station_passes
    failed_first = {p.unit for p in passes if p.attempt == 1 and p.result is Outcome.FAIL}
    started = {p.unit for p in passes}
    return len(started - failed_first), len(started)


def _station_means(volume: BuildVolume) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for p in volume.station_passes:
        assert p.ended_at is not None  # the generator ends every pass it records
        sums.setdefault(p.station, []).append((p.ended_at - p.started_at).total_seconds())
    return {k: float(np.mean(v)) for k, v in sums.items()}


def _gate_facts(
    catalog: Catalog, product: ProductData, volumes: dict[str, BuildVolume]
) -> dict[str, object]:
    """The numbers the gate rationales quote, by placeholder name."""
    builds = [p.rec for p in product.builds]
    prototypes = [b for b in builds if b.phase is Phase.PROTOTYPE]
    facts: dict[str, object] = {
        "signoff": catalog.gate_signoff,
        "prototype_spend": sum(b.actual_cost or 0.0 for b in prototypes),
        "prototype_budget": sum(b.budget for b in prototypes),
    }
    pilot = next((b for b in builds if b.phase is Phase.PILOT and b.code in volumes), None)
    if pilot is not None:
        ok, started = _first_pass_yield(volumes[pilot.code])
        means = _station_means(volumes[pilot.code])
        bottleneck = max(means, key=lambda k: means[k])
        demand_per_day = product.product.target_annual_volume / _WORKDAYS_PER_YEAR
        facts |= {
            "pilot_units": started,
            "pilot_fpy": ok / started,
            "bottleneck": bottleneck,
            "bottleneck_s": means[bottleneck],
            "takt_s": _SHIFTS * _SHIFT_HOURS * 3600 / demand_per_day,
        }
    return facts


def gates(catalog: Catalog, volumes: dict[str, BuildVolume]) -> tuple[GateRec, ...]:
    """The gate decisions, their rationales filled in from the generated data."""
    out: list[GateRec] = []
    for product in catalog.products:
        facts = _gate_facts(catalog, product, volumes)
        for i, gate in enumerate(product.gates):
            try:
                rationale = gate.rationale.format(**facts)
            except (KeyError, IndexError, ValueError) as error:
                place = where(f"products/{product.product.key}.toml")
                raise DemoDataError(
                    f"{place}, gates[{i}], rationale: cannot fill in {error} "
                    f"(placeholders: {', '.join(sorted(facts))})"
                ) from None
            out.append(dataclasses.replace(gate, rationale=rationale))
    return tuple(out)
