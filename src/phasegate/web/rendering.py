"""The template environment: formatting filters and the colours of badges and charts.

Filters only format values for a person to read; every number they receive was computed by a
service.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from phasegate import __version__
from phasegate.domain.enums import (
    PHASE_COLOURS,
    SEVERITY_COLOURS,
    UNIT_STATUS_COLOURS,
    Allocation,
    FindingStatus,
    Severity,
    UnitStatus,
)
from phasegate.domain.phases import PHASE_ORDER
from phasegate.domain.policy import Action, Kind
from phasegate.services.identity import SignedIn
from phasegate.services.read.yields import RTY_METHOD
from phasegate.stats.intervals import Interval

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
DASH = "—"

# Unit status colours for badges and the status chart (good, in progress, bad, neutral).


def fmt_num(value: float | int | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return f"{value:,.{digits}f}"


def fmt_pct(fraction: float | None, digits: int = 0) -> str:
    if fraction is None:
        return DASH
    return f"{fraction * 100:.{digits}f} %"


INTERVAL_NAMES = {
    "wilson": "Wilson score interval",
    "clopper-pearson": "Clopper-Pearson exact interval",
    RTY_METHOD: "interval: the product of the stations' Wilson intervals (Bonferroni)",
}


def fmt_interval_title(ci: Interval) -> str:
    """What an interval is, for a tooltip: ``95 % Wilson score interval``."""
    name = INTERVAL_NAMES.get(ci.method, f"{ci.method} interval")
    return f"{ci.confidence * 100:g} % {name}"


def fmt_pct_interval(ci: Interval | None, digits: int = 1) -> str:
    """An interval of fractions in percent, ``[90.1, 95.6]``."""
    if ci is None:
        return DASH
    return f"[{ci.low * 100:.{digits}f}, {ci.high * 100:.{digits}f}]"


def fmt_money(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def fmt_date(value: dt.date | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return DASH
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    """``42.1 s``, ``3 min 12 s``, ``2 h 05 min``."""
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_label(value: Any) -> str:
    if value is None:
        return DASH
    return str(value.label) if hasattr(value, "label") else str(value)


def fmt_value(value: float | None) -> str:
    """A measured value or limit with the digits it needs (up to 6 significant)."""
    return DASH if value is None else f"{value:.6g}"


def url_with(base: str, params: Mapping[str, Any] | None = None, **more: Any) -> str:
    """``base`` with the non-empty query parameters, e.g. a filter kept across pages."""
    merged = {**(params or {}), **more}
    query = {
        k: (v.value if isinstance(v, Enum) else v) for k, v in merged.items() if v not in (None, "")
    }
    return f"{base}?{urlencode(query)}" if query else base


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


def csrf_token(request: Request) -> str:
    """The CSRF token forms and HTMX requests send back (``asgi-csrf`` sets its cookie)."""
    token = request.scope.get("csrftoken")
    return str(token()) if callable(token) else ""


def may(user: Any, action: str, kind: str) -> bool:
    """Whether the signed-in ``user`` may ``action`` records of ``kind``: which links a page
    offers (the routes and services check again)."""
    return user is not None and bool(user.principal.may(Action(action), Kind(kind)))


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
_env = templates.env
_env.filters.update(
    num=fmt_num,
    pct=fmt_pct,
    money=fmt_money,
    date=fmt_date,
    datetime=fmt_datetime,
    duration=fmt_duration,
    label=fmt_label,
    value=fmt_value,
    interval_title=fmt_interval_title,
    pct_interval=fmt_pct_interval,
)
_env.globals.update(
    version=__version__,
    static_url=static_url,
    url_with=url_with,
    csrf_token=csrf_token,
    may=may,
    phase_colours={p.value: c for p, c in PHASE_COLOURS.items()},
    severity_colours={s.value: c for s, c in SEVERITY_COLOURS.items()},
    unit_status_colours={s.value: c for s, c in UNIT_STATUS_COLOURS.items()},
    phases=list(PHASE_ORDER),
    severities=list(Severity),
    unit_statuses=list(UnitStatus),
    allocations=list(Allocation),
    finding_statuses=list(FindingStatus),
)


def is_htmx(request: Request) -> bool:
    """A partial update asked for by HTMX (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    values = {"user": getattr(request.state, "user", None), **context}
    if not isinstance(values["user"], SignedIn):
        values["user"] = None
    response = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=dict(headers or {})
    )
    response.headers["Vary"] = "HX-Request"
    if values["user"] is not None:  # a signed-in person's page: no cache keeps it after sign-out
        response.headers["Cache-Control"] = "no-store"
    return response
