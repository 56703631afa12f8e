"""Institution ranking (金融机构服务排名): how each institution served enterprises in a period.

Per institution, for a month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``), in Beijing time:

* **applications received**: applications created in the period;
* **median response time** (hours): from submission to the institution's first move on the application
  (its first ``ApplicationEvent`` made by the institution itself or by its instant decision — accepted,
  approved or rejected), over the period's applications that have one;
* **approval rate**: approved (disbursed included) ÷ decided (approved + rejected), over the period's
  applications;
* **loans** and **amount disbursed**: loans disbursed in the period and their total;
* **average rate**: the amount-weighted average annual rate of those loans.

Institutions are ranked by amount disbursed, then approval rate, then response time.
"""

from __future__ import annotations

import io
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.core.access import OrgKind, Permission, Principal, require
from xinyidai.core.clock import SHANGHAI, add_months, today_local
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.market.models import Application, ApplicationEvent, Loan

PERIOD_KINDS = ("month", "quarter", "year")
KIND_LABELS = {"month": N_("Month"), "quarter": N_("Quarter"), "year": N_("Year")}
DECIDED = ("approved", "disbursed", "rejected")
APPROVED = ("approved", "disbursed")
INSTITUTION_MOVES = ("accepted", "approved", "rejected", "disbursed")


@dataclass(frozen=True)
class Period:
    kind: str
    label: str  # 2026-11, 2026-Q4, 2026
    start: date  # inclusive
    end: date  # exclusive

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time(), SHANGHAI)

    @property
    def end_utc(self) -> datetime:
        return datetime.combine(self.end, datetime.min.time(), SHANGHAI)


def parse_period(kind: str, label: str | None = None, *, today: date | None = None) -> Period:
    """A period from its kind and label (the current one without a label); ValidationFailed if malformed."""
    day = today or today_local()
    if kind not in PERIOD_KINDS:
        raise ValidationFailed("Choose a month, a quarter or a year", field="kind")
    if not label:
        label = current_label(kind, day)
    patterns = {"month": r"(\d{4})-(\d{2})", "quarter": r"(\d{4})-Q([1-4])", "year": r"(\d{4})"}
    match = re.fullmatch(patterns[kind], label.strip().upper() if kind == "quarter" else label.strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed("%(period)s is not a valid period", field="period", period=label)
    year = int(match.group(1))
    if kind == "month":
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise ValidationFailed("%(period)s is not a valid period", field="period", period=label)
        start = date(year, month, 1)
        return Period(kind, f"{year}-{month:02d}", start, add_months(start, 1))
    if kind == "quarter":
        q = int(match.group(2))
        start = date(year, 3 * q - 2, 1)
        return Period(kind, f"{year}-Q{q}", start, add_months(start, 3))
    return Period(kind, str(year), date(year, 1, 1), date(year + 1, 1, 1))


def current_label(kind: str, day: date) -> str:
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def recent_periods(kind: str, count: int = 12, *, today: date | None = None) -> list[str]:
    """The labels of the current period and the ones before it, newest first (for the selector)."""
    day = today or today_local()
    step = {"month": 1, "quarter": 3, "year": 12}[kind]
    labels: list[str] = []
    for k in range(count):
        label = current_label(kind, add_months(day.replace(day=1), -step * k))
        if label not in labels:
            labels.append(label)
    return labels


@dataclass
class _Tally:
    apps: int = 0
    decided: int = 0
    approved: int = 0
    responses: list[float] = field(default_factory=list)
    loans: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)


@dataclass(frozen=True)
class RankingRow:
    rank: int
    institution_id: int
    name: str
    applications: int
    responded: int
    median_response_hours: float | None
    decided: int
    approved: int
    approval_rate: float | None
    loans: int
    disbursed: Decimal
    average_rate: Decimal | None


def ranking(session: Session, principal: Principal, period: Period) -> list[RankingRow]:
    """Every institution's figures for the period, ranked (institutions with no activity at the end)."""
    require(principal, Permission.MARKET_STATISTICS)
    start, end = period.start_utc, period.end_utc
    institutions = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.kind == OrgKind.INSTITUTION.value, Organisation.parent_id.is_(None)
            )
        ).all()
    )
    in_period = (Application.created_at >= start, Application.created_at < end)
    counts: dict[int, list[int]] = {}
    for inst, status, n in session.execute(
        select(Application.institution_id, Application.status, func.count())
        .where(*in_period)
        .group_by(Application.institution_id, Application.status)
    ).all():
        row = counts.setdefault(inst, [0, 0, 0])
        row[0] += n
        if status in DECIDED:
            row[1] += n
        if status in APPROVED:
            row[2] += n
    # First move by the institution (or the system deciding for it) after submission, per application.
    first = (
        select(ApplicationEvent.application_id, func.min(ApplicationEvent.occurred_at).label("first_at"))
        .where(
            ApplicationEvent.to_status.in_(INSTITUTION_MOVES),
            ApplicationEvent.from_status != ApplicationEvent.to_status,
        )
        .group_by(ApplicationEvent.application_id)
        .subquery()
    )
    responses: dict[int, list[float]] = {}
    for inst, created, first_at in session.execute(
        select(Application.institution_id, Application.created_at, first.c.first_at)
        .join(first, first.c.application_id == Application.id)
        .where(*in_period)
    ).all():
        created_at = _aware(created)
        moved = _aware(first_at)
        responses.setdefault(inst, []).append(max(0.0, (moved - created_at).total_seconds() / 3600))
    loans: dict[int, tuple[int, Decimal, Decimal]] = {}
    for inst, n, amount, weighted in session.execute(
        select(Loan.institution_id, func.count(), func.sum(Loan.amount), func.sum(Loan.amount * Loan.rate))
        .where(Loan.disbursed_on >= period.start, Loan.disbursed_on < period.end)
        .group_by(Loan.institution_id)
    ).all():
        loans[inst] = (int(n), Decimal(amount or 0), Decimal(weighted or 0))
    # Branches count with their head institution.
    heads = _heads(session)
    merged: dict[int, _Tally] = {}
    for inst in set(counts) | set(responses) | set(loans) | set(institutions):
        tally = merged.setdefault(heads.get(inst, inst), _Tally())
        apps, decided, approved = counts.get(inst, [0, 0, 0])
        tally.apps += apps
        tally.decided += decided
        tally.approved += approved
        tally.responses.extend(responses.get(inst, []))
        n_loans, amount, weighted = loans.get(inst, (0, Decimal(0), Decimal(0)))
        tally.loans += n_loans
        tally.amount += amount
        tally.weighted += weighted
    rows = [
        RankingRow(
            rank=0,
            institution_id=inst,
            name=institutions[inst],
            applications=t.apps,
            responded=len(t.responses),
            median_response_hours=round(statistics.median(t.responses), 1) if t.responses else None,
            decided=t.decided,
            approved=t.approved,
            approval_rate=t.approved / t.decided if t.decided else None,
            loans=t.loans,
            disbursed=t.amount.quantize(Decimal("0.01")),
            average_rate=(t.weighted / t.amount).quantize(Decimal("0.0001")) if t.amount else None,
        )
        for inst, t in merged.items()
        if inst in institutions
    ]
    rows.sort(
        key=lambda r: (
            -r.disbursed,
            -(r.approval_rate if r.approval_rate is not None else -1),
            r.median_response_hours if r.median_response_hours is not None else float("inf"),
            r.name,
        )
    )
    return [replace(r, rank=k) for k, r in enumerate(rows, start=1)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _heads(session: Session) -> dict[int, int]:
    parent = dict(
        session.execute(
            select(Organisation.id, Organisation.parent_id).where(
                Organisation.kind == OrgKind.INSTITUTION.value
            )
        ).all()
    )
    heads = {}
    for org in parent:
        top: int = org
        while (up := parent.get(top)) is not None:
            top = up
        heads[org] = top
    return heads


EXPORT_HEADERS = (
    N_("Rank"),
    N_("Institution"),
    N_("Applications received"),
    N_("Median response (hours)"),
    N_("Decided"),
    N_("Approved"),
    N_("Approval rate"),
    N_("Loans"),
    N_("Amount disbursed (yuan)"),
    N_("Average rate (%)"),
)


def export_xlsx(rows: list[RankingRow], period: Period, translate: Callable[[str], str]) -> bytes:
    """The ranking as an Excel workbook, headers in the reader's language (``translate``: gettext)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    gettext = translate
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = period.label
    sheet.append([gettext(h) for h in EXPORT_HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [
                r.rank,
                r.name,
                r.applications,
                r.median_response_hours,
                r.decided,
                r.approved,
                round(r.approval_rate, 4) if r.approval_rate is not None else None,
                r.loans,
                float(r.disbursed),
                float(r.average_rate) if r.average_rate is not None else None,
            ]
        )
    sheet.column_dimensions["B"].width = 36
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
