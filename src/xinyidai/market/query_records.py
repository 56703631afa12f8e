"""The record of every query of a credit report (征信业管理条例 Art. 22), searched by the operator.

Each institution's look (and refused attempt) is a ``ReportQuery`` written by ``consents.check_report_access``
with who, which institution, under which consent, for what purpose, by which channel and the outcome;
the enterprise sees its own in ``consents.who_looked``. Here the operator's administrator and the auditor
search them all and export them to Excel; both are recorded in the audit trail.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.audit import record_event
from xinyidai.core.clock import SHANGHAI, format_local
from xinyidai.core.i18n import N_
from xinyidai.market.models import ReportQuery

__all__ = ["QueryFilter", "export_queries", "queries_xlsx", "search_queries"]

EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class QueryFilter:
    """The operator's search: the enterprise's USCC, the institution, a date range (Asia/Shanghai days,
    both included), the purpose and the outcome (``allowed`` / ``refused``)."""

    uscc: str = ""
    institution_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    purpose: str = ""
    result: str = ""


def _filtered(where: QueryFilter) -> Any:
    stmt = select(ReportQuery, Organisation.name).join(
        Organisation, Organisation.id == ReportQuery.institution_id
    )
    if where.uscc:
        stmt = stmt.where(ReportQuery.uscc == where.uscc.strip().upper())
    if where.institution_id is not None:
        stmt = stmt.where(ReportQuery.institution_id == where.institution_id)
    if where.date_from is not None:
        stmt = stmt.where(
            ReportQuery.queried_at >= datetime.combine(where.date_from, time(0), tzinfo=SHANGHAI)
        )
    if where.date_to is not None:
        end = datetime.combine(where.date_to + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        stmt = stmt.where(ReportQuery.queried_at < end)
    if where.purpose:
        stmt = stmt.where(ReportQuery.purpose == where.purpose)
    if where.result:
        stmt = stmt.where(ReportQuery.result == where.result)
    return stmt


def _detail(where: QueryFilter) -> dict[str, Any]:
    return {
        "uscc": where.uscc or None,
        "institution_id": where.institution_id,
        "date_from": where.date_from.isoformat() if where.date_from else None,
        "date_to": where.date_to.isoformat() if where.date_to else None,
        "purpose": where.purpose or None,
        "result": where.result or None,
    }


def search_queries(
    session: Session, principal: Principal, where: QueryFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[tuple[ReportQuery, str]], int]:
    """Report queries matching the search, newest first, with the institution's name; and how many match."""
    require(principal, Permission.QUERY_RECORDS_READ)
    stmt = _filtered(where)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(stmt.order_by(ReportQuery.id.desc()).limit(limit).offset(offset)).all()
    record_event(
        session,
        "report_queries.read",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        detail={**_detail(where), "offset": offset},
    )
    return [(q, name) for q, name in rows], total


def export_queries(
    session: Session, principal: Principal, where: QueryFilter
) -> Sequence[tuple[ReportQuery, str]]:
    """Every query matching the search (at most ``EXPORT_LIMIT``), for the Excel export (recorded)."""
    require(principal, Permission.QUERY_RECORDS_READ)
    rows = session.execute(_filtered(where).order_by(ReportQuery.id.desc()).limit(EXPORT_LIMIT)).all()
    record_event(
        session,
        "report_queries.export",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        detail={**_detail(where), "rows": len(rows)},
    )
    return [(q, name) for q, name in rows]


HEADERS = (
    N_("Time"),
    N_("Enterprise (USCC)"),
    N_("Institution"),
    N_("User"),
    N_("Person"),
    N_("Consent"),
    N_("Purpose"),
    N_("Report"),
    N_("Channel"),
    N_("Result"),
)


def queries_xlsx(
    rows: Sequence[tuple[ReportQuery, str]],
    translate: Callable[[str], str],
    labels: dict[str, dict[str, str]],
) -> bytes:
    """The queries as an Excel workbook in the reader's language; ``labels`` map codes to message ids."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = translate(N_("Report queries"))
    sheet.append([translate(h) for h in HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    def label(kind: str, code: str) -> str:
        return translate(labels.get(kind, {}).get(code, code))

    for query, name in rows:
        sheet.append(
            [
                format_local(query.queried_at),
                query.uscc,
                name,
                query.username,
                query.person_name,
                query.consent_id or "",
                label("purpose", query.purpose),
                label("version", query.version),
                label("channel", query.channel),
                label("result", query.result),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
