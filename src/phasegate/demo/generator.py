"""Deterministic demo data: everything comes from one ``numpy.random.Generator`` seed.

``generate(seed)`` returns plain records (``DemoData``) and touches no database. The fixed
part comes from the data files (``catalog``); the draws happen in a fixed order, so the same
seed gives the same data on every machine. Prototype builds are tested on the bench
(``bench``), pilot and production builds run on a line (``line_runs``), and ``lessons`` adds
the findings, feedback and gate decisions.

How the numbers behave, so the pages and analytics have something to find:

- prototypes converge: revision A misses most specs, B fewer, C meets every CTQ (C is the
  build the gate to pilot judged, so its CTQ values are drawn inside the limits);
- line builds flow through the stations one unit after another (each station serves one unit
  at a time; a unit waits for the station to be free), with lognormal processing times, a
  learning curve and one bottleneck (sensor calibration);
- a failed station pass is followed by rework and a second attempt, or by scrap;
- the production run of AS1 has a PM2.5 shift after a sensor lot change (serial 3201 on) and a
  slow upward trend of the enclosure gap (mould wear): signals for the SPC charts;
- the CO2 error of AS1 is marginally capable, the rest comfortably so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from phasegate.demo import lessons
from phasegate.demo.bench import bench_volume
from phasegate.demo.catalog import read_catalog
from phasegate.demo.line_runs import allocate, line_volume
from phasegate.demo.records import BuildRec, DemoData
from phasegate.demo.sampling import Collected
from phasegate.domain.enums import BuildStatus
from phasegate.services.volume import BuildVolume

DEFAULT_SEED = 2026


def generate(seed: int = DEFAULT_SEED) -> DemoData:
    """All demo records for ``seed``; the same seed always gives the same records."""
    catalog = read_catalog()
    rng = np.random.default_rng(seed)
    plans = catalog.builds()
    collected: dict[str, Collected] = {}
    for plan in plans:
        if plan.bench is not None:
            collected[plan.rec.code] = bench_volume(rng, catalog, plan.rec, plan.bench)
    for plan in plans:
        if plan.line_run is not None:
            collected[plan.rec.code] = line_volume(rng, catalog, plan.rec, plan.line_run)
    for plan in plans:
        if plan.line_run is not None:
            allocate(rng, collected[plan.rec.code].units, plan.line_run.allocations)
    # Findings before feedback: the order of the draws is part of the seed's meaning.
    findings = lessons.findings(rng, catalog)
    feedback = lessons.feedback(rng, catalog)
    volumes = {p.rec.code: collected[p.rec.code].freeze() for p in plans if p.rec.code in collected}
    products = catalog.products
    return DemoData(
        seed=seed,
        partners=catalog.partners,
        lines=catalog.lines,
        defect_codes=catalog.defect_codes,
        products=tuple(p.product for p in products),
        revisions=tuple(r for p in products for r in p.revisions),
        requirements=tuple(r for p in products for r in p.requirements),
        characteristics=tuple(s.rec for p in products for s in p.specs),
        builds=tuple(_with_actuals(p.rec, volumes.get(p.rec.code)) for p in plans),
        findings=findings,
        feedback=feedback,
        gates=lessons.gates(catalog, volumes),
        volumes=volumes,
    )


def _with_actuals(build: BuildRec, volume: BuildVolume | None) -> BuildRec:
    """A build in progress reports the units started so far and what they cost."""
    if build.status is not BuildStatus.IN_PROGRESS or volume is None:
        return build
    started = len(volume.units)
    cost = round(build.budget * started / build.planned_quantity * 1.04, 2)
    return dataclasses.replace(build, actual_quantity=started, actual_cost=cost)
