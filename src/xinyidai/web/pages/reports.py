"""Credit report pages: the enterprise's own report and an enterprise's report for institutions and the
operator, as a page and as a PDF (WeasyPrint; the CJK fonts come from Debian's fonts-noto-cjk).

Each view is one call of ``rating.report.view_report``, which checks who may see what and records the
look; the charts are drawn here as inline SVG polylines (no script, nothing from a CDN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.core.access import OrgKind, Permission, Principal, can
from xinyidai.core.errors import NotFound
from xinyidai.core.i18n import N_
from xinyidai.data import service as data_service
from xinyidai.market import service as market
from xinyidai.rating import report as reports
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.templating import render

router = APIRouter()

Version = Literal["concise", "full"]
VersionQuery = Annotated[Version, Query()]
AsOfQuery = Annotated[date | None, Query(description="the newest rating on or before this date")]
PurposeQuery = Annotated[str | None, Query(max_length=32)]

# Institution and operator staff pass the guard; ``rating.report.ensure_may_view`` then decides per firm,
# with the marketplace's consent check for institutions.
REPORT_READ = Permission.REPORT_READ

VERSION_LABELS: dict[str, str] = {
    "concise": N_("Concise version"),
    "full": N_("Full version"),
}
PURPOSE_LABELS: dict[str, str] = {
    reports.Purpose.SELF_INQUIRY: N_("Self-inquiry by the enterprise"),
    reports.Purpose.LOAN_REVIEW: N_("Loan review"),
    reports.Purpose.POST_LOAN: N_("Post-loan management"),
    reports.Purpose.PLATFORM_OPERATIONS: N_("Platform operations"),
}
PEER_LEVEL_LABELS: dict[str, str] = {
    "industry_size": N_("same industry and size"),
    "industry": N_("same industry"),
    "city": N_("whole city"),
}
NO_STORE = {"Cache-Control": "no-store"}


def own_uscc(db: Session, principal: Principal) -> str | None:
    """The USCC of the principal's own enterprise, None if the principal is not an enterprise's."""
    if principal.org_kind is not OrgKind.ENTERPRISE:
        return None
    profile = accounts.organisation_of(db, principal).enterprise
    return profile.uscc if profile is not None else None


# -- charts ----------------------------------------------------------------------------------------------
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 320, 110, 6


@dataclass(frozen=True)
class Chart:
    """A monthly series as SVG: one polyline per run of months with data, its range and latest value."""

    key: str
    label: str
    unit: str
    lines: list[str]
    dots: list[tuple[float, float]]
    high: float | None
    low: float | None
    latest: float | None
    first_month: date
    last_month: date
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def chart(key: str, label: str, unit: str, months: Sequence[date], values: Sequence[float | None]) -> Chart:
    """Scale a series into the chart box (baseline 0, or the minimum if negative); months without data
    break the line, and a month standing alone is drawn as a dot."""
    known = [v for v in values if v is not None]
    high = max(known) if known else None
    low = min(0.0, *known) if known else None
    span = (high - low) if high is not None and low is not None and high > low else 1.0
    step = (CHART_WIDTH - 2 * CHART_PAD) / max(len(values) - 1, 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None or low is None:
            runs.append([])
            continue
        x = round(CHART_PAD + i * step, 1)
        y = round(CHART_HEIGHT - CHART_PAD - (value - low) / span * (CHART_HEIGHT - 2 * CHART_PAD), 1)
        runs[-1].append((x, y))
    lines = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    latest = next((v for v in reversed(values) if v is not None), None)
    return Chart(key, label, unit, lines, dots, high, low, latest, months[0], months[-1])


def _number(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)  # for drawing only; amounts are shown from the report


def charts(report: reports.CreditReport) -> list[Chart]:
    months = [p.month for p in report.months]
    return [
        chart("sales", N_("Sales"), "元", months, [_number(p.sales) for p in report.months]),
        chart("tax_paid", N_("Tax paid"), "元", months, [_number(p.tax_paid) for p in report.months]),
        chart("insured", N_("Insured staff"), "人", months, [_number(p.insured) for p in report.months]),
        chart(
            "electricity",
            N_("Electricity use"),
            "kWh",
            months,
            [_number(p.electricity) for p in report.months],
        ),
    ]


# -- rendering -------------------------------------------------------------------------------------------
def display(value: object) -> str:
    """A record value for people: amounts with separators (units are in the column heading), none as —."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


@dataclass(frozen=True)
class RecordTable:
    section: reports.RecordSection
    rows: list[list[str]]


def record_tables(report: reports.CreditReport) -> list[RecordTable]:
    return [
        RecordTable(s, [[display(row.get(c.name)) for c in s.columns] for row in s.rows])
        for s in report.records
    ]


def _context(report: reports.CreditReport, *, pdf_url: str, switch_url: str | None) -> dict[str, object]:
    return {
        "report": report,
        "charts": charts(report),
        "records": record_tables(report),
        "pdf_url": pdf_url,
        "switch_url": switch_url,
        "version_labels": VERSION_LABELS,
        "purpose_labels": PURPOSE_LABELS,
        "peer_level_labels": PEER_LEVEL_LABELS,
    }


def _page(request: Request, principal: Principal, context: dict[str, object]) -> Response:
    request.state.nav = navigation_for(principal)
    response = render(request, "credit_report.html", context)
    response.headers.update(NO_STORE)
    return response


def _pdf(request: Request, report: reports.CreditReport, context: dict[str, object]) -> Response:
    """The report as an A4 PDF, downloaded as an attachment named after the enterprise and the date."""
    # Imported here: WeasyPrint loads Pango when imported, and only the PDF needs it (Makefile: system-deps).
    from weasyprint import HTML  # type: ignore[import-untyped]

    html = bytes(render(request, "credit_report_print.html", context).body).decode("utf-8")
    document = HTML(string=html).write_pdf()
    ascii_name = f"credit-report-{report.basics.uscc}-{report.as_of:%Y%m%d}.pdf"
    local_name = f"信用报告-{report.basics.name}-{report.as_of:%Y%m%d}.pdf"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(local_name)}"
    return Response(
        document, media_type="application/pdf", headers={"Content-Disposition": disposition, **NO_STORE}
    )


def _query(**params: str | date | None) -> str:
    """A query string of the given parameters that have a value."""
    present = {k: str(v) for k, v in params.items() if v}
    return "?" + urlencode(present) if present else ""


def _own(
    db: Session,
    settings: SettingsDep,
    principal: Principal,
    version: Version,
    as_of: date | None,
    channel: Literal["page", "pdf"],
) -> reports.CreditReport:
    uscc = own_uscc(db, principal)
    if uscc is None:
        raise NotFound("No enterprise with this unified social credit code is known")
    return reports.view_report(
        db,
        data_service.open_lake(settings),
        principal,
        uscc,
        version=version,
        own_uscc=uscc,
        as_of=as_of,
        channel=channel,
        consent=market.report_consent_check(db, principal, channel),
    )


@router.get("/enterprise/report")
def own_report(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    version: VersionQuery = "concise",
    as_of: AsOfQuery = None,
    principal: Principal = page_guard(Permission.ENTERPRISE_HOME),
) -> Response:
    """The enterprise's own credit report (concise by default; the full one shows what institutions see)."""
    report = _own(db, settings, principal, version, as_of, "page")
    other = "full" if version == "concise" else "concise"
    context = _context(
        report,
        pdf_url="/enterprise/report.pdf" + _query(version=version, as_of=as_of),
        switch_url="/enterprise/report" + _query(version=other, as_of=as_of),
    )
    # the enterprise raises an objection to an item straight from its report (征信业管理条例 Art. 25)
    context["may_object"] = can(principal, Permission.OBJECTIONS_RAISE)
    return _page(request, principal, context)


@router.get("/enterprise/report.pdf")
def own_report_pdf(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    version: VersionQuery = "concise",
    as_of: AsOfQuery = None,
    principal: Principal = page_guard(Permission.ENTERPRISE_HOME),
) -> Response:
    report = _own(db, settings, principal, version, as_of, "pdf")
    return _pdf(request, report, _context(report, pdf_url="", switch_url=None))


def _theirs(
    db: Session,
    settings: SettingsDep,
    principal: Principal,
    uscc: str,
    purpose: str | None,
    as_of: date | None,
    channel: Literal["page", "pdf"],
) -> reports.CreditReport:
    return reports.view_report(
        db,
        data_service.open_lake(settings),
        principal,
        uscc,
        version="full",
        own_uscc=own_uscc(db, principal),
        purpose=purpose,
        as_of=as_of,
        channel=channel,
        consent=market.report_consent_check(db, principal, channel),
    )


# Declared before /reports/{uscc}, which would otherwise take "….pdf" for a code.
@router.get("/reports/{uscc}.pdf")
def report_pdf(
    request: Request,
    uscc: str,
    db: DbSession,
    settings: SettingsDep,
    purpose: PurposeQuery = None,
    as_of: AsOfQuery = None,
    principal: Principal = page_guard(REPORT_READ),
) -> Response:
    report = _theirs(db, settings, principal, uscc, purpose, as_of, "pdf")
    return _pdf(request, report, _context(report, pdf_url="", switch_url=None))


@router.get("/reports/{uscc}")
def report_page(
    request: Request,
    uscc: str,
    db: DbSession,
    settings: SettingsDep,
    purpose: PurposeQuery = None,
    as_of: AsOfQuery = None,
    principal: Principal = page_guard(REPORT_READ),
) -> Response:
    """An enterprise's full credit report for an institution or the operator, for a stated purpose."""
    report = _theirs(db, settings, principal, uscc, purpose, as_of, "page")
    query = _query(purpose=report.purpose, as_of=as_of)
    context = _context(report, pdf_url=f"/reports/{report.basics.uscc}.pdf{query}", switch_url=None)
    return _page(request, principal, context)
