"""Pages of a build's defects and of the allocation of its units.

- ``GET /builds/{id}/defects``: the defect list with its filter form (code, station, severity,
  disposition), keyed pages, the counts by severity and disposition, the quality rates and the
  Pareto charts; ``/builds/{id}/defects.csv`` downloads every defect the filters keep.
- ``GET /builds/{id}/defects/pareto``: the fragment the build page loads: the rates and the
  Pareto by code and by station, count and cost bars with the cumulative line; each bar links
  to the defect list filtered to it. ``/builds/{id}/defects/pareto.csv`` downloads a Pareto.
- ``GET /builds/{id}/allocations``: the units per purpose and the form that changes them
  (``POST``, with the CSRF token as its first field); ``/builds/{id}/allocations/counts`` is
  the fragment of the build page, ``/builds/{id}/allocations.csv`` the counts as CSV.

The numbers come from ``services.read.defects`` and ``services.allocation``; the geometry of the
Pareto charts (bar sizes, the cumulative line) is worked out here from those results, and the
templates draw it as SVG, each bar a link.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response, StreamingResponse

from phasegate.domain.enums import Allocation, Disposition, Severity
from phasegate.domain.errors import InvalidInput, PreconditionFailed, invalid
from phasegate.domain.policy import Action, Kind
from phasegate.domain.text import unstorable_reason
from phasegate.services.allocation import (
    MAX_UNITS_PER_CHANGE,
    AllocationChange,
    allocate_units,
    allocation_counts,
)
from phasegate.services.paging import MAX_SEARCH
from phasegate.services.read.defects import (
    NO_STATION,
    DefectFilters,
    DefectPareto,
    DefectRow,
    all_build_defects,
    build_defects,
    defect_pareto,
    quality_rates,
)
from phasegate.web.auth import actor
from phasegate.web.rendering import is_htmx, render, url_with
from phasegate.web.routes import PAGE_DEPENDENCIES, BuildId, needs, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

READ_TEST_DATA = needs(Action.READ, Kind.TEST_DATA)
READ_UNITS = needs(Action.READ, Kind.UNIT)
UPDATE_UNITS = needs(Action.UPDATE, Kind.UNIT)

DEFECTS_PER_PAGE = 50
Filter = Annotated[str | None, Query(max_length=MAX_SEARCH)]
After = Annotated[str | None, Query(max_length=60)]


# --- the Pareto charts ------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 270
LEFT, RIGHT, TOP, BOTTOM = 60, 44, 14, 96  # room for the axes and the rotated group names


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a drawn Pareto: where it is, what it shows, where it leads."""

    x: float
    y: float
    width: float
    height: float
    centre: float
    key: str
    label: str
    value: float
    text: str  # the value as shown
    cumulative_y: float
    cumulative_share: float
    href: str
    vital: bool


@dataclass(frozen=True, slots=True)
class ParetoChart:
    """A Pareto as the template draws it: bars, the cumulative line and the axes' ticks."""

    result: DefectPareto
    title: str
    bars: tuple[Bar, ...]
    line: str  # SVG polyline points of the cumulative share
    ticks: tuple[tuple[float, str], ...]  # left axis: y and the measure's value
    share_ticks: tuple[tuple[float, str], ...]  # right axis: y and the cumulative share
    csv_href: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _money(value: float) -> str:
    return f"{value:,.2f}"


def pareto_chart(result: DefectPareto, list_href: str, csv_href: str) -> ParetoChart:
    """The drawing of ``result``: each bar linking to ``list_href`` filtered to its group."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = result.measure == "count"
    values = [float(b.count) if count else b.cost for b in result.bars]
    top = max(values, default=0.0) or 1.0
    slot = plot_w / max(len(values), 1)
    bars = []
    for i, (bar, value) in enumerate(zip(result.bars, values, strict=True)):
        height = plot_h * value / top
        x = LEFT + i * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.12, 2),
                y=round(TOP + plot_h - height, 2),
                width=round(slot * 0.76, 2),
                height=round(height, 2),
                centre=round(x + slot / 2, 2),
                key=bar.key,
                label=bar.label,
                value=value,
                text=f"{bar.count:,}" if count else _money(bar.cost),
                cumulative_y=round(TOP + plot_h * (1 - bar.cumulative_share), 2),
                cumulative_share=bar.cumulative_share,
                href=url_with(list_href, {result.filter_name: bar.key}),
                vital=bar.vital,
            )
        )
    line = " ".join(f"{b.centre},{b.cumulative_y}" for b in bars)
    ticks = tuple((round(TOP + plot_h * (1 - f), 2), f"{top * f:,.0f}") for f in (0.0, 0.5, 1.0))
    share_ticks = tuple(
        (round(TOP + plot_h * (1 - f), 2), f"{f * 100:.0f} %") for f in (0.0, 0.5, 0.8, 1.0)
    )
    what = "code" if result.by == "code" else "station"
    title = f"By {what}, {'count' if count else 'cost'}"
    return ParetoChart(result, title, tuple(bars), line, ticks, share_ticks, csv_href)


def _charts(request: Request, build_id: int) -> list[ParetoChart]:
    uow, who = page_uow(request), actor(request)
    base = f"/builds/{build_id}/defects"
    return [
        pareto_chart(
            defect_pareto(uow, build_id, actor=who, by=by, measure=measure),
            base,
            url_with(f"{base}/pareto.csv", by=by, measure=measure),
        )
        for by in ("code", "station")
        for measure in ("count", "cost")
    ]


# --- CSV --------------------------------------------------------------------------------------


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text, line by line: a long list is sent as it is read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_response(name: str, lines: Iterator[str]) -> Response:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


DEFECT_CSV = (
    "found_at",
    "serial",
    "unit_status",
    "code",
    "description",
    "category",
    "station",
    "severity",
    "disposition",
    "cost",
    "notes",
)


def _defect_cells(row: DefectRow) -> list[Any]:
    cells = [getattr(row, c) for c in DEFECT_CSV]
    return [c.value if isinstance(c, Severity | Disposition) else c for c in cells]


# --- the defect list --------------------------------------------------------------------------


def _filters(
    code: str | None, station: str | None, severity: str | None, disposition: str | None
) -> DefectFilters:
    return DefectFilters.parse(
        code=code, station=station, severity=severity, disposition=disposition
    )


@router.get("/builds/{build_id}/defects", name="build_defects", openapi_extra=READ_TEST_DATA)
def defects_page(
    request: Request,
    build_id: BuildId,
    code: Filter = None,
    station: Filter = None,
    severity: Filter = None,
    disposition: Filter = None,
    after: After = None,
) -> Response:
    uow, who = page_uow(request), actor(request)
    filters = _filters(code, station, severity, disposition)
    page = build_defects(
        uow, build_id, filters, actor=who, after=after or None, limit=DEFECTS_PER_PAGE
    )
    charts = _charts(request, build_id)
    base = f"/builds/{build_id}/defects"
    params = filters.as_params()
    return render(
        request,
        "defects.html",
        {
            "nav": "portfolio",
            "page": page,
            "b": page.build,
            "filters": params,
            "base": base,
            "csv_href": url_with(f"{base}.csv", params),
            "next_href": url_with(base, params, after=page.next_key) if page.next_key else None,
            "first_href": url_with(base, params) if after else None,
            "codes": [bar.key for bar in charts[0].result.bars],
            "stations": [bar.key for bar in charts[2].result.bars],
            "no_station": NO_STATION,
            "charts": charts,
            "rates": quality_rates(uow, build_id, actor=who),
            "dispositions": list(Disposition),
            "fragment": False,
        },
    )


@router.get(
    "/builds/{build_id}/defects.csv", name="build_defects_csv", openapi_extra=READ_TEST_DATA
)
def defects_csv(
    request: Request,
    build_id: BuildId,
    code: Filter = None,
    station: Filter = None,
    severity: Filter = None,
    disposition: Filter = None,
) -> Response:
    uow, who = page_uow(request), actor(request)
    filters = _filters(code, station, severity, disposition)
    first = build_defects(uow, build_id, filters, actor=who, limit=1)  # bad input: before any byte
    rows = (_defect_cells(r) for r in all_build_defects(uow, build_id, filters, actor=who))
    name = f"defects-{first.build.product_key}-{first.build.code}.csv"
    return _csv_response(name, _csv_lines(DEFECT_CSV, rows))


# --- the Pareto fragment ----------------------------------------------------------------------


@router.get("/builds/{build_id}/defects/pareto", name="build_pareto", openapi_extra=READ_TEST_DATA)
def pareto_fragment(request: Request, build_id: BuildId) -> Response:
    """The build page's defects section, for HTMX; a browser gets the defect list page."""
    if not is_htmx(request):
        return RedirectResponse(f"/builds/{build_id}/defects", 303)
    charts = _charts(request, build_id)
    rates = quality_rates(page_uow(request), build_id, actor=actor(request))
    context = {"charts": charts, "rates": rates, "b": rates.build, "fragment": True}
    return render(request, "partials/defects_pareto.html", context)


PARETO_CSV = ("key", "label", "count", "cost", "share", "cumulative_share", "vital")


@router.get(
    "/builds/{build_id}/defects/pareto.csv", name="build_pareto_csv", openapi_extra=READ_TEST_DATA
)
def pareto_csv(
    request: Request, build_id: BuildId, by: str = "code", measure: str = "count"
) -> Response:
    result = defect_pareto(
        page_uow(request), build_id, actor=actor(request), by=by, measure=measure
    )
    rows = ([getattr(bar, c) for c in PARETO_CSV] for bar in result.bars)
    name = f"defect-pareto-{result.build.code}-{result.by}-{result.measure}.csv"
    return _csv_response(name, _csv_lines(PARETO_CSV, rows))


# --- allocation -------------------------------------------------------------------------------

ALLOCATION_FIELDS = ("csrftoken", "purpose", "serials", "count")
MAX_FIELD = 40_000  # characters: a thousand serials, one per line


@dataclass(frozen=True, slots=True)
class AllocationForm:
    """The allocation form as the person filled it in."""

    purpose: str = Allocation.TESTING.value
    serials: str = ""
    count: str = ""

    def serial_list(self) -> list[str] | None:
        found = [s.strip() for s in self.serials.replace(",", "\n").splitlines() if s.strip()]
        return found or None

    def number(self) -> int | None:
        if not self.count.strip():
            return None
        text = self.count.strip()
        if not (text.isascii() and text.isdigit()):
            raise invalid("count", f"{text!r} is not a whole number")
        return int(text)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(name, "must be text, not a file")
    problem = unstorable_reason(value) or (
        f"is {len(value)} characters long; at most {MAX_FIELD}" if len(value) > MAX_FIELD else None
    )
    if problem is not None:
        raise invalid(name, problem)
    return value


def _read_allocation_form(form: FormData) -> AllocationForm:
    unknown = sorted(set(form.keys()) - set(ALLOCATION_FIELDS))
    if unknown:
        raise invalid(unknown[0], "is not a field of the allocation form")
    return AllocationForm(
        purpose=_form_text(form, "purpose").strip(),
        serials=_form_text(form, "serials"),
        count=_form_text(form, "count"),
    )


def _allocation_page(
    request: Request,
    build_id: int,
    *,
    form: AllocationForm | None = None,
    change: AllocationChange | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    counts = (
        change.counts
        if change is not None
        else allocation_counts(page_uow(request), build_id, actor=actor(request))
    )
    return render(
        request,
        "allocations.html",
        {
            "nav": "portfolio",
            "counts": counts,
            "b": counts.build,
            "form": form or AllocationForm(),
            "change": change,
            "error": error,
            "purposes": list(Allocation),
            "max_units": MAX_UNITS_PER_CHANGE,
        },
        status_code=status_code,
    )


@router.get("/builds/{build_id}/allocations", name="build_allocations", openapi_extra=READ_UNITS)
def allocations_page(request: Request, build_id: BuildId) -> Response:
    return _allocation_page(request, build_id)


@router.post("/builds/{build_id}/allocations", name="allocate_units", openapi_extra=UPDATE_UNITS)
async def allocate(request: Request, build_id: BuildId) -> Response:
    """Apply the form; the page again with what changed, or with what is wrong."""
    form = await request.form(max_files=0, max_fields=len(ALLOCATION_FIELDS) + 2)
    try:
        filled = _read_allocation_form(form)
    except InvalidInput as error:
        return _allocation_page(request, build_id, error=error.message, status_code=400)
    try:
        change = allocate_units(
            page_uow(request),
            build_id,
            filled.purpose,
            actor=actor(request),
            serials=filled.serial_list(),
            count=filled.number(),
        )
    except InvalidInput as error:
        return _allocation_page(
            request, build_id, form=filled, error=error.message, status_code=400
        )
    except PreconditionFailed as error:
        return _allocation_page(
            request, build_id, form=filled, error=error.message, status_code=412
        )
    return _allocation_page(request, build_id, change=change)


@router.get(
    "/builds/{build_id}/allocations/counts",
    name="build_allocation_counts",
    openapi_extra=READ_UNITS,
)
def allocation_counts_fragment(request: Request, build_id: BuildId) -> Response:
    """The build page's allocation card, for HTMX; a browser gets the allocation page."""
    if not is_htmx(request):
        return RedirectResponse(f"/builds/{build_id}/allocations", 303)
    counts = allocation_counts(page_uow(request), build_id, actor=actor(request))
    return render(request, "partials/allocation_counts.html", {"counts": counts, "b": counts.build})


@router.get(
    "/builds/{build_id}/allocations.csv", name="build_allocations_csv", openapi_extra=READ_UNITS
)
def allocations_csv(request: Request, build_id: BuildId) -> Response:
    counts = allocation_counts(page_uow(request), build_id, actor=actor(request))
    rows = ([c.value.value, c.count] for c in counts.counts)
    name = f"allocations-{counts.build.product_key}-{counts.build.code}.csv"
    return _csv_response(name, _csv_lines(("purpose", "units"), rows))
