"""Partners, lines and stations, builds and their units."""

from __future__ import annotations

from phasegate.domain.enums import Phase
from phasegate.domain.errors import FieldError
from phasegate.line.calendar import calendar_problems
from phasegate.services.crud import Resource
from phasegate.store.models import Build, Line, Partner, Product, Revision, Station, Unit
from phasegate.store.uow import UnitOfWork

PARTNERS = Resource(
    name="partner",
    model=Partner,
    required=("name", "kind"),
    optional=("capabilities", "phases_served", "country", "contact"),
    choices={"phases_served": Phase},
    unique=(("name",),),
    filters=("kind",),
    search=("name", "country"),
    order_by=("name",),
    describe=lambda p: p.name,
)

LINES = Resource(
    name="line",
    model=Line,
    required=("name",),
    optional=("partner_id", "description", "shifts_per_day", "hours_per_shift", "days_per_year"),
    references={"partner_id": Partner},
    unique=(("name",),),
    filters=("partner_id",),
    search=("name",),
    order_by=("name",),
    check=lambda uow, line: calendar_problems(
        line.shifts_per_day, line.hours_per_shift, line.days_per_year
    ),
    describe=lambda line: line.name,
)


def _check_station(uow: UnitOfWork, s: Station) -> list[FieldError]:
    errors = []
    if s.sequence is not None and s.sequence < 1:
        errors.append(FieldError("sequence", f"{s.sequence} must be 1 or more"))
    if s.servers is not None and s.servers < 1:
        errors.append(FieldError("servers", f"{s.servers} must be 1 or more"))
    if s.planned_cycle_time_s is not None and s.planned_cycle_time_s <= 0:
        errors.append(FieldError("planned_cycle_time_s", "must be positive"))
    return errors


STATIONS = Resource(
    name="station",
    model=Station,
    required=("line_id", "name", "sequence"),
    optional=("equipment", "servers", "planned_cycle_time_s"),
    immutable=("line_id",),
    references={"line_id": Line},
    unique=(("line_id", "name"), ("line_id", "sequence")),
    filters=("line_id",),
    order_by=("line_id", "sequence"),
    check=_check_station,
    describe=lambda s: s.name,
)


def _check_build(uow: UnitOfWork, b: Build) -> list[FieldError]:
    errors = []
    if b.phase is not Phase.PROTOTYPE and (b.fidelity is not None):
        errors.append(FieldError("fidelity", "applies to prototype builds only"))
    if b.phase is not Phase.PROTOTYPE and b.line_id is None:
        errors.append(FieldError("line_id", f"a {b.phase.label.lower()} build needs a line"))
    if b.planned_quantity is not None and b.planned_quantity < 1:
        errors.append(FieldError("planned_quantity", f"{b.planned_quantity} must be 1 or more"))
    if b.actual_quantity is not None and b.actual_quantity < 0:
        errors.append(FieldError("actual_quantity", "must not be negative"))
    for name in ("budget", "actual_cost"):
        value = getattr(b, name)
        if value is not None and value < 0:
            errors.append(FieldError(name, f"{value} must not be negative"))
    if b.start_date and b.end_date and b.end_date < b.start_date:
        errors.append(
            FieldError("end_date", f"{b.end_date} is before the start date {b.start_date}")
        )
    return errors


BUILDS = Resource(
    name="build",
    model=Build,
    required=("product_id", "revision_id", "code", "phase", "planned_quantity"),
    optional=(
        "status",
        "fidelity",
        "technique",
        "partner_id",
        "line_id",
        "actual_quantity",
        "budget",
        "actual_cost",
        "start_date",
        "end_date",
        "purpose",
    ),
    immutable=("product_id",),
    references={
        "product_id": Product,
        "revision_id": Revision,
        "partner_id": Partner,
        "line_id": Line,
    },
    unique=(("product_id", "code"),),
    identifiers=("code",),
    filters=("product_id", "revision_id", "phase", "status", "partner_id", "line_id"),
    search=("code", "purpose"),
    order_by=("product_id", "start_date", "id"),
    check=_check_build,
    describe=lambda b: b.code,
)


UNITS = Resource(
    name="unit",
    model=Unit,
    required=("product_id", "build_id", "serial"),
    optional=("status", "allocation"),
    immutable=("product_id", "serial"),
    references={"product_id": Product, "build_id": Build},
    unique=(("product_id", "serial"),),
    identifiers=("serial",),
    filters=("product_id", "build_id", "status", "allocation", "serial"),
    search=("serial",),
    order_by=("product_id", "serial"),
    describe=lambda u: u.serial,
)
