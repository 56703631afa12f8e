"""Credit-reporting compliance pages: objections (the enterprise, the department, the operator), the record
of report queries (search, Excel), retention (what is kept until when), and the security audit export.

Each handler parses, calls one service and renders; the services check access and write the audit records.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.core import audit as audit_trail
from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import SHANGHAI, format_local, utcnow
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.data import service as data_service
from xinyidai.data.catalogue import catalogue
from xinyidai.market import query_records
from xinyidai.market import retention as retention_service
from xinyidai.rating import objections
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, handle_form, redirect
from xinyidai.web.pages.enterprise_market import (
    CHANNEL_LABELS,
    CONSENT_PURPOSE_LABELS,
    QUERY_RESULT_LABELS,
    REPORT_TYPE_LABELS,
)
from xinyidai.web.pages.reports import PURPOSE_LABELS, own_uscc
from xinyidai.web.templating import render

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50

QUERY_LABELS: dict[str, dict[str, str]] = {
    "purpose": {**CONSENT_PURPOSE_LABELS, **{str(k): v for k, v in PURPOSE_LABELS.items()}},
    "version": REPORT_TYPE_LABELS,
    "channel": {**CHANNEL_LABELS, "json": N_("API")},
    "result": QUERY_RESULT_LABELS,
}


def _gettext(request: Request) -> Any:
    return i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext


def _source_names() -> dict[str, str]:
    return {s.id: s.name_zh for s in catalogue().sources.values()}


def _org_names(db: DbSession, ids: set[int | None]) -> dict[int, str]:
    return accounts.organisation_names(db, {i for i in ids if i is not None})


def _base(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    context: dict[str, Any] = {
        "status_labels": objections.STATUS_LABELS,
        "sources": _source_names(),
        "now": utcnow(),
        "is_overdue": objections.is_overdue,
        "values": {},
    }
    context.update(extra)
    return context


def _local_date(value: Any) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d") if value is not None else ""


# -- the enterprise -------------------------------------------------------------------------------------
def _enterprise_context(
    request: Request, db: DbSession, principal: Principal, **extra: Any
) -> dict[str, Any]:
    item = {
        "source_id": request.query_params.get("source", ""),
        "item_key": request.query_params.get("key", ""),
        "field": request.query_params.get("field", ""),
    }
    return _base(
        request,
        principal,
        objections=objections.enterprise_objections(db, principal),
        item=item,
        uscc=own_uscc(db, principal) or "",
        due_date=_local_date,
        **extra,
    )


@router.get("/enterprise/objections")
def enterprise_objections(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.OBJECTIONS_RAISE)
) -> Response:
    """The enterprise's objections, and the form to raise one (prefilled from its report's item link)."""
    return render(request, "objections_enterprise.html", _enterprise_context(request, db, principal))


@router.post("/enterprise/objections")
def raise_objection(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.OBJECTIONS_RAISE),
) -> Response:
    def act() -> Response:
        data = objections.ObjectionInput(
            uscc=form_value(request, "uscc"),
            source_id=form_value(request, "source_id"),
            item_key=form_value(request, "item_key"),
            field=form_value(request, "field"),
            explanation=form_value(request, "explanation"),
        )
        objections.raise_objection(
            db,
            data_service.open_lake(settings),
            principal,
            data,
            own_uscc=own_uscc(db, principal),
            working_days=settings.objection_working_days,
        )
        return redirect("/enterprise/objections")

    return handle_form(
        request, db, "objections_enterprise.html", lambda: _enterprise_context(request, db, principal), act
    )


@router.post("/enterprise/objections/{objection_id}/withdraw")
def withdraw_objection(
    request: Request,
    objection_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.OBJECTIONS_RAISE),
) -> Response:
    def act() -> Response:
        objections.withdraw_objection(db, principal, objection_id, own_uscc=own_uscc(db, principal))
        return redirect("/enterprise/objections")

    return handle_form(
        request, db, "objections_enterprise.html", lambda: _enterprise_context(request, db, principal), act
    )


# -- the department (and the operator for sources without one) ------------------------------------------
def _queue_context(request: Request, db: DbSession, principal: Principal, **extra: Any) -> dict[str, Any]:
    queue = objections.department_queue(db, principal, include_closed=True, limit=300)
    return _base(
        request,
        principal,
        queue=queue,
        enterprises=_org_names(db, {o.enterprise_id for o in queue}),
        due_date=_local_date,
        **extra,
    )


@router.get("/government/objections")
def objection_queue(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.OBJECTIONS_ANSWER)
) -> Response:
    """The objections to the department's data, soonest deadline first, with the answer forms."""
    return render(request, "objections_queue.html", _queue_context(request, db, principal))


@router.post("/objections/{objection_id}/answer")
def answer_objection(
    request: Request,
    objection_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.OBJECTIONS_ANSWER),
) -> Response:
    def act() -> Response:
        decision = form_value(request, "decision")
        if decision not in ("accept", "reject"):
            raise ValidationFailed("Choose to accept or to reject the objection", field="decision")
        objections.answer_objection(
            db, principal, objection_id, accept=decision == "accept", reason=form_value(request, "reason")
        )
        return redirect("/government/objections")

    return handle_form(
        request, db, "objections_queue.html", lambda: _queue_context(request, db, principal), act
    )


@router.post("/objections/{objection_id}/corrected")
def objection_corrected(
    request: Request,
    objection_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.OBJECTIONS_ANSWER),
) -> Response:
    def act() -> Response:
        objections.mark_corrected(db, principal, objection_id, form_value(request, "batch_id"))
        return redirect("/government/objections")

    return handle_form(
        request, db, "objections_queue.html", lambda: _queue_context(request, db, principal), act
    )


# -- the operator ---------------------------------------------------------------------------------------
@router.get("/operator/objections")
def all_objections(
    request: Request,
    db: DbSession,
    status: str = "",
    overdue: str = "",
    uscc: str = "",
    principal: Principal = page_guard(Permission.OBJECTIONS_READ_ALL),
) -> Response:
    """Every objection; overdue ones first and highlighted."""
    rows = objections.search_objections(
        db, principal, status=status[:16], overdue_only=bool(overdue), uscc=uscc[:18]
    )
    ids: set[int | None] = {o.department_id for o in rows} | {o.enterprise_id for o in rows}
    names = _org_names(db, ids)
    context = _base(
        request,
        principal,
        rows=rows,
        names=names,
        status=status,
        overdue=overdue,
        uscc=uscc,
        due_date=_local_date,
        may_answer=can(principal, Permission.OBJECTIONS_ANSWER),
    )
    return render(request, "objections_operator.html", context)


# -- report queries -------------------------------------------------------------------------------------
def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("Enter a date (YYYY-MM-DD)", field=name) from None


def _query_filter(request: Request) -> query_records.QueryFilter:
    params = request.query_params
    institution = params.get("institution_id", "")
    return query_records.QueryFilter(
        uscc=params.get("uscc", "")[:18],
        institution_id=int(institution) if institution.isdigit() else None,
        date_from=_date(params.get("date_from", ""), "date_from"),
        date_to=_date(params.get("date_to", ""), "date_to"),
        purpose=params.get("purpose", "")[:32],
        result=params.get("result", "")[:16],
    )


def _filter_query(request: Request, drop: tuple[str, ...] = ("page",)) -> str:
    kept = {k: v for k, v in request.query_params.items() if v and k not in drop}
    return urlencode(kept)


@router.get("/operator/report-queries")
def report_queries(
    request: Request,
    db: DbSession,
    page: int = 1,
    principal: Principal = page_guard(Permission.QUERY_RECORDS_READ),
) -> Response:
    """Every look at a credit report and every refused attempt, searchable, with the Excel export."""
    page = max(page, 1)
    where = _query_filter(request)
    rows, total = query_records.search_queries(
        db, principal, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    context = _base(
        request,
        principal,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        where=where,
        q=_filter_query(request),
        labels_q=QUERY_LABELS,
        institutions=accounts.list_organisations(db, principal, "institution"),
    )
    return render(request, "report_queries.html", context)


@router.get("/operator/report-queries.xlsx")
def report_queries_xlsx(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.QUERY_RECORDS_READ)
) -> Response:
    rows = query_records.export_queries(db, principal, _query_filter(request))
    content = query_records.queries_xlsx(rows, _gettext(request), QUERY_LABELS)
    name = f"report-queries-{format_local(utcnow())[:10]}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- retention ------------------------------------------------------------------------------------------
@router.get("/operator/retention")
def retention(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.RETENTION_READ),
) -> Response:
    """Each kind of record: its period and legal basis, the oldest kept, what expires and when."""
    kinds = retention_service.overview(
        db, data_service.open_lake(settings), principal, retention_service.RetentionPolicy.of(settings)
    )
    return render(request, "retention.html", _base(request, principal, kinds=kinds))


# -- the security audit trail's export ------------------------------------------------------------------
def trail_filter(request: Request) -> audit_trail.TrailFilter:
    params = request.query_params
    org = params.get("organisation_id", "")
    return audit_trail.TrailFilter(
        event_type=params.get("event_type", "")[:64],
        username=params.get("username", "")[:64],
        organisation_id=int(org) if org.isdigit() else None,
        result=params.get("result", "")[:16],
        date_from=_date(params.get("date_from", ""), "date_from"),
        date_to=_date(params.get("date_to", ""), "date_to"),
    )


AUDIT_HEADERS = (
    N_("Time"),
    N_("Event"),
    N_("Result"),
    N_("User"),
    N_("Organisation"),
    N_("Object"),
    N_("IP address"),
    N_("Request"),
    N_("Detail"),
)


@router.get("/operator/audit.xlsx")
def audit_xlsx(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.AUDIT_READ)
) -> Response:
    """The audit records matching the auditor's search, as an Excel workbook (the export is recorded)."""
    import io
    import json

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from xinyidai.web.labels import RESULT_LABELS

    rows = audit_trail.export_trail(db, principal, trail_filter(request))
    gettext = _gettext(request)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = gettext("Audit log")
    sheet.append([gettext(h) for h in AUDIT_HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [
                format_local(r.occurred_at),
                r.event_type,
                gettext(RESULT_LABELS.get(r.result, r.result)),
                r.actor_username or "",
                r.actor_organisation_id or "",
                f"{r.object_type or ''} {r.object_id or ''}".strip(),
                r.ip_address or "",
                r.request_id or "",
                json.dumps(r.detail, ensure_ascii=False, sort_keys=True),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    name = f"audit-{format_local(utcnow())[:10]}.xlsx"
    return Response(
        buffer.getvalue(), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
