"""The government console (政府端金融统计): financing statistics by region, industry, size, institution,
product and period, with charts drawn as inline SVG beside the tables, drill-down by links (a city's bar
opens its districts, a district its industries), exports of the view to Excel and PDF, and the monthly
analysis report as a PDF. The operator's administrators may refresh the figures now (a job run by the
app's scheduler, ``consoles.refresh_jobs``); every viewer sees while a refresh is under way.

Every figure comes from the newest pre-aggregated set (``consoles.statistics``); every page says how
fresh it is. No personal data: cells are counts and amounts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from xinyidai.consoles import monthly_report as monthly
from xinyidai.consoles import refresh_jobs
from xinyidai.consoles import statistics as stats
from xinyidai.consoles.statistics_export import export_xlsx
from xinyidai.core import codes, i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import format_local, today_local
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings
from xinyidai.data.service import open_lake
from xinyidai.web import charts
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import redirect
from xinyidai.web.templating import render

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_STORE = {"Cache-Control": "no-store"}
BASE = "/government/statistics"
TABLE_ROWS = 100
CHART_BARS = 15

# The columns of the tables and exports: a measure or a derived rate, and how it is shown.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("needs", "count"),
    ("grabs", "count"),
    ("offers", "count"),
    ("applications", "count"),
    ("approvals", "count"),
    ("approval_rate", "pct"),
    ("loans", "count"),
    ("applied_amount", "wan"),
    ("approved_amount", "wan"),
    ("disbursed_amount", "wan"),
    ("average_rate", "rate"),
    ("pure_credit_share", "pct"),
    ("median_days", "days"),
    ("npl_rate", "pct"),
)
AMOUNT_LABELS: dict[str, str] = {
    "applied_amount": N_("Applied (10k yuan)"),
    "approved_amount": N_("Approved (10k yuan)"),
    "disbursed_amount": N_("Disbursed (10k yuan)"),
}
PUBLIC_MONEY: tuple[tuple[str, str], ...] = (
    ("whitelist_entries", "count"),
    ("whitelist_financed", "count"),
    ("policy_applications", "count"),
    ("policy_approved", "count"),
    ("policy_disbursed_amount", "wan"),
    ("covered_loans", "count"),
    ("covered_outstanding", "wan"),
    ("claims_paid", "count"),
    ("claims_paid_amount", "wan"),
)
PUBLIC_LABELS: dict[str, str] = {
    "policy_disbursed_amount": N_("Policy funds disbursed (10k yuan)"),
    "covered_outstanding": N_("Covered balance (10k yuan)"),
    "claims_paid_amount": N_("Claims paid by funds (10k yuan)"),
}


def _gettext(request: Request) -> Callable[[str], str]:
    return i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext


def column_label(name: str) -> str:
    return (
        AMOUNT_LABELS.get(name)
        or PUBLIC_LABELS.get(name)
        or stats.MEASURE_LABELS.get(name)
        or stats.DERIVED_LABELS[name]
    )


def value_of(figures: stats.Figures, name: str) -> Any:
    return figures.values.get(name, 0) if name in stats.MEASURES else figures.derived(name)


def show(value: Any, kind: str) -> str:
    """A figure as text: counts with separators, 万元 with two places, rates and shares as percent."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "wan":
        return f"{Decimal(value) / 10000:,.2f}"
    if kind == "pct":
        return f"{Decimal(value) * 100:.1f}%"
    if kind == "rate":
        return f"{value}%"
    if kind == "days":
        return f"{value:g}"
    return str(value)


def _lake(settings: Settings) -> Any:
    return open_lake(settings).root


def _store(db: Session, settings: Settings) -> stats.FactStore | None:
    return stats.open_store(db, _lake(settings))


def _dimension(request: Request) -> stats.Dimension:
    dim = request.query_params.get("dim") or "region"
    return dim if dim in stats.DIMENSIONS else "region"  # type: ignore[return-value]


def _filters(request: Request) -> tuple[stats.Filters, str]:
    """The filters asked for, or the default view with the reason a bad filter was refused."""
    try:
        return stats.parse_filters(dict(request.query_params)), ""
    except ValidationFailed as refused:
        gettext = _gettext(request)
        message = gettext(refused.message)
        return stats.parse_filters({}), message % refused.params if refused.params else message


def _href(query: dict[str, str], base: str = BASE) -> str:
    return f"{base}?{urlencode(query)}"


def _breadcrumbs(filters: stats.Filters, dim: str, base: str = BASE) -> list[tuple[str, str]]:
    """The way back up a drill-down: all regions, the city, the district, the industry section."""
    crumbs = [(N_("All regions"), _href(filters.query(region="", industry="", dim="region"), base))]
    if filters.region and codes.is_known_region(filters.region):
        region = codes.region(filters.region)
        if region.level == "county" and region.parent_code:
            crumbs.append(
                (
                    codes.region_name(region.parent_code),
                    _href(filters.query(region=region.parent_code, industry="", dim="region"), base),
                )
            )
        crumbs.append(
            (
                region.name_zh,
                _href(
                    filters.query(industry="", dim="region" if region.level != "county" else "industry"), base
                ),
            )
        )
    if filters.industry:
        section = (
            filters.industry
            if filters.industry in codes.SECTIONS
            else codes.DIVISIONS[filters.industry].section
        )
        crumbs.append(
            (
                f"{section} {codes.SECTIONS[section].name_zh}",
                _href(filters.query(industry=section, dim="industry"), base),
            )
        )
    return crumbs


def view(
    store: stats.FactStore,
    filters: stats.Filters,
    dim: stats.Dimension,
    gettext: Callable[[str], str],
    base: str = BASE,
) -> dict[str, Any]:
    """Everything one console view shows; shared by the page and its PDF (``base``: the page's address,
    for the drill-down links)."""
    seen = stats.overview(store, filters, dim)
    totals, trend, grades = seen.totals, seen.trend, seen.grades
    # the largest first; a table of hundreds of products helps nobody on screen (the export has them all)
    rows = seen.rows if dim == "period" else seen.rows[:TABLE_ROWS]
    links = {r.key: stats.next_drill(filters, dim, r.key) for r in rows}
    bars = [
        charts.Bar(
            r.label,
            charts.number(r["disbursed_amount"]) / 10000,
            _href(links[r.key], base) if links.get(r.key) else None,  # type: ignore[arg-type]
            f"{r.label}: {show(r['disbursed_amount'], 'wan')} {gettext('10k yuan')} · "
            f"{r['loans']} {gettext('Loans disbursed')}",
        )
        for r in rows[:CHART_BARS]
        if dim != "period"
    ]
    labels = [p.label for p in trend]
    pure = [charts.number(p["pure_credit_amount"]) / 10000 for p in trend]
    other = [charts.number(p["disbursed_amount"] - p["pure_credit_amount"]) / 10000 for p in trend]
    return {
        "totals": totals,
        "rows": rows,
        "more_rows": len(seen.rows) - len(rows),
        "links": {k: (_href(v, base) if v else None) for k, v in links.items()},
        "grades": grades,
        "trend": trend,
        "dim": dim,
        "as_of": format_local(store.as_of),
        "chart_dim": charts.bar_chart(
            bars,
            title=gettext("Amount disbursed by %(dimension)s (10k yuan)")
            % {"dimension": gettext(stats.DIMENSIONS[dim])},
            unit=gettext("10k yuan"),
            testid="chart-dimension",
        ),
        "chart_amounts": charts.stacked_bar_chart(
            labels,
            [(gettext("Pure-credit loans"), pure), (gettext("Other loans"), other)],
            title=gettext("Amount disbursed by period (10k yuan)"),
            unit=gettext("10k yuan"),
            testid="chart-amounts",
        ),
        "chart_flow": charts.line_chart(
            labels,
            [
                (gettext("Needs published"), [float(p["needs"]) for p in trend]),
                (gettext("Applications submitted"), [float(p["applications"]) for p in trend]),
                (gettext("Loans disbursed"), [float(p["loans"]) for p in trend]),
            ],
            title=gettext("Needs, applications and loans by period"),
            testid="chart-flow",
        ),
        "chart_npl": charts.bar_chart(
            [
                charts.Bar(
                    g.label,
                    float((g.npl_rate or 0) * 100),
                    None,
                    f"{g.label}: {show(g.npl_rate, 'pct')} ({g['npl_loans']}/{g['loans']})",
                )
                for g in grades
            ],
            title=gettext("Non-performing rate by grade at disbursement (%)"),
            unit="%",
            testid="chart-npl",
        ),
    }


def _options(store: stats.FactStore | None, filters: stats.Filters, within: str = "") -> dict[str, Any]:
    """The filter form's choices; the regions only ``within`` one (a district sub-platform's) when given."""
    regions = [r for r in codes.regions().values() if r.level == "city"]
    districts = [c for r in regions for c in codes.children(r.code)]
    if within:
        prefix = codes.region_prefix(within)
        regions = [r for r in regions if r.code.startswith(prefix)]
        districts = [d for d in districts if d.code.startswith(prefix)]
    divisions = []
    if filters.industry:
        section = (
            filters.industry
            if filters.industry in codes.SECTIONS
            else codes.DIVISIONS[filters.industry].section
        )
        divisions = list(codes.divisions_of(section))
    names = store.names if store else {}
    return {
        "regions": regions + districts,
        "sections": list(codes.SECTIONS.values()),
        "divisions": divisions,
        "sizes": stats.SIZE_LABELS,
        "granularities": stats.GRANULARITIES,
        "dimensions": stats.DIMENSIONS,
        "institutions": sorted((i, n) for (k, i), n in names.items() if k == "institution"),
        "products": sorted((i, n) for (k, i), n in names.items() if k == "product"),
    }


Narrow = Callable[[stats.FactStore, stats.Filters], "tuple[stats.Filters | None, dict[str, Any]]"]


def console_context(
    request: Request,
    db: Session,
    settings: Settings,
    *,
    base: str = BASE,
    narrow: Narrow | None = None,
    within: str = "",
) -> dict[str, Any]:
    """A console view's page context from the request's filters.

    ``narrow`` (a sub-platform's) turns the filters into the ones actually read and adds what its page
    says about the scope; when it returns no filters nothing is read (the page says why).
    """
    filters, error = _filters(request)
    dim = _dimension(request)
    store = _store(db, settings)
    gettext = _gettext(request)
    read: stats.Filters | None = filters
    extra: dict[str, Any] = {}
    if store is not None and narrow is not None:
        read, extra = narrow(store, filters)
    ctx: dict[str, Any] = {
        "base": base,
        "filters": filters,
        "error": error,
        "dim": dim,
        "columns": COLUMNS,
        "public": PUBLIC_MONEY,
        "column_label": column_label,
        "value_of": value_of,
        "show": show,
        "dimension_labels": stats.DIMENSIONS,
        "breadcrumbs": _breadcrumbs(filters, dim, base),
        "query": urlencode(filters.query(dim=dim)),
        "month": f"{today_local():%Y-%m}",
        "store": store,
        **_options(store, filters, within),
        **extra,
    }
    if store is not None and read is not None:
        ctx["read"] = read
        ctx.update(view(store, read, dim, gettext, base))
    return ctx


@router.get(BASE)
def statistics_page(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.STATISTICS_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    ctx = console_context(request, db, settings)
    status = refresh_jobs.refresh_status(db)
    ctx.update(
        refresh=status,
        refresh_line=refresh_text(status, _gettext(request)),
        may_refresh=can(principal, Permission.CONSOLES_REFRESH),
        refresh_requested=request.query_params.get("refresh") == "requested",
    )
    return render(request, "gov_statistics.html", ctx)


@router.post(BASE + "/refresh")
def statistics_refresh(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.CONSOLES_REFRESH)
) -> Response:
    """Queue a refresh (or join the one under way) and go back to the same view."""
    refresh_jobs.request_refresh(db, principal)
    filters, _ = _filters(request)
    return redirect(_href(filters.query(dim=_dimension(request), refresh="requested")))


def refresh_text(status: refresh_jobs.RefreshStatus, gettext: Callable[[str], str]) -> str:
    """The status line while a refresh is queued or running (empty otherwise)."""
    if status.state == "running":
        message = N_(
            "The statistics are being refreshed (%(seconds)s s so far); "
            "the new figures appear when it finishes."
        )
    elif status.state == "queued":
        message = N_(
            "A refresh of the statistics is waiting to start (asked for %(seconds)s s ago); "
            "the new figures appear when it finishes."
        )
    else:
        return ""
    return gettext(message) % {"seconds": status.seconds}


@router.get(BASE + "/refresh.json")
def statistics_refresh_status(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.STATISTICS_READ)
) -> Response:
    """Is a refresh under way? The page polls it every 5 s while one is (``static/statistics_refresh.js``)."""
    status = refresh_jobs.refresh_status(db)
    body = {"state": status.state, "seconds": status.seconds, "text": refresh_text(status, _gettext(request))}
    return JSONResponse(body, headers=NO_STORE)


def _download(content: bytes, media_type: str, names: tuple[str, str], stem: str, suffix: str) -> Response:
    """A file to save: ``names`` are the file name's ASCII and Chinese stems, ``stem`` its period."""
    name_ascii, name_local = f"{names[0]}-{stem}.{suffix}", f"{names[1]}-{stem}.{suffix}"
    disposition = f"attachment; filename=\"{name_ascii}\"; filename*=UTF-8''{quote(name_local)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition, **NO_STORE})


def _months(filters: stats.Filters) -> str:
    return f"{filters.start:%Y%m}-{filters.end:%Y%m}"


def _need_store(db: Session, settings: Settings) -> stats.FactStore:
    store = _store(db, settings)
    if store is None:
        raise NotFound("No statistics have been computed yet")
    return store


def xlsx_response(
    request: Request, store: stats.FactStore, filters: stats.Filters, names: tuple[str, str]
) -> Response:
    """The view's Excel file; ``names`` are the file name's ASCII and Chinese stems."""
    content = export_xlsx(store, filters, _dimension(request), _gettext(request))
    return _download(content, XLSX, names, _months(filters), "xlsx")


def export_filters(
    request: Request, db: Session, settings: Settings
) -> tuple[stats.FactStore, stats.Filters]:
    """What an export reads: the newest set (404 before the first refresh) and the filters asked for (the
    default view for bad ones)."""
    return _need_store(db, settings), _filters(request)[0]


@router.get(BASE + "/export.xlsx")
def statistics_xlsx(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.STATISTICS_READ),
) -> Response:
    store, filters = export_filters(request, db, settings)
    return xlsx_response(request, store, filters, ("financing-statistics", "金融统计"))


def _pdf(request: Request, template: str, context: dict[str, Any]) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, and only the PDFs need it.
    from weasyprint import HTML  # type: ignore[import-untyped]

    html = bytes(render(request, template, context).body).decode("utf-8")
    return bytes(HTML(string=html).write_pdf())


def view_pdf_response(request: Request, context: dict[str, Any], names: tuple[str, str]) -> Response:
    """The view (a ``console_context``) as a PDF; ``names`` as for ``xlsx_response``."""
    content = _pdf(request, "gov_statistics_print.html", context)
    return _download(content, "application/pdf", names, _months(context["filters"]), "pdf")


@router.get(BASE + "/export.pdf")
def statistics_pdf(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.STATISTICS_READ),
) -> Response:
    _need_store(db, settings)
    context = console_context(request, db, settings)
    return view_pdf_response(request, context, ("financing-statistics", "金融统计"))


def _report_month(request: Request) -> date:
    text = request.query_params.get("month") or f"{today_local():%Y-%m}"
    return stats.parse_filters({"from": text, "to": text}).start


def monthly_report_response(
    request: Request,
    store: stats.FactStore,
    names: tuple[str, str],
    *,
    scope: stats.Filters | None = None,
    subject: str = "",
) -> Response:
    """The monthly analysis report of the requested month as a PDF (of ``scope`` when given, headed by
    ``subject``: a sub-platform's)."""
    month = _report_month(request)
    gettext = _gettext(request)
    report = monthly.monthly_report(store, month, scope)
    trend = report.trend
    labels = [p.label for p in trend]
    context: dict[str, Any] = {
        "subject": subject,
        "report": report,
        "as_of": format_local(store.as_of),
        "headline": [(m, "wan" if stats.MEASURES[m] == "money" else "count") for m in monthly.HEADLINE],
        "column_label": column_label,
        "show": show,
        "change": monthly.change,
        "columns": COLUMNS,
        "value_of": value_of,
        "sentences": [gettext(s.msgid) % s.params for s in report.sentences],
        "chart_trend": charts.line_chart(
            labels,
            [
                (
                    gettext("Amount disbursed (10k yuan)"),
                    [charts.number(p["disbursed_amount"]) / 10000 for p in trend],
                )
            ],
            title=gettext("Amount disbursed, last 12 months (10k yuan)"),
            testid="chart-trend",
        ),
        "chart_region": charts.bar_chart(
            [charts.Bar(r.label, charts.number(r["disbursed_amount"]) / 10000) for r in report.by_region],
            title=gettext("Amount disbursed by district (10k yuan)"),
            testid="chart-region",
        ),
        "chart_npl": charts.bar_chart(
            [charts.Bar(g.label, float((g.npl_rate or 0) * 100)) for g in report.by_grade],
            title=gettext("Non-performing rate by grade at disbursement (%)"),
            testid="chart-npl",
        ),
        "public": PUBLIC_MONEY,
    }
    content = _pdf(request, "gov_statistics_report.html", context)
    return _download(content, "application/pdf", names, f"{month:%Y-%m}", "pdf")


@router.get(BASE + "/monthly-report.pdf")
def monthly_report_pdf(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.STATISTICS_READ),
) -> Response:
    store = _need_store(db, settings)
    return monthly_report_response(request, store, ("financing-monthly-report", "金融运行月度分析"))
