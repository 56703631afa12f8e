"""The department's marketplace pages — whitelists, dispatch (派单), institution ranking — and the
institution's list of what was dispatched to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.data import service as data
from xinyidai.market import service as market
from xinyidai.market.dispatch import (
    ASSIGNMENT_STATUS,
    DEFAULT_PER_MANAGER,
    DEFAULT_SLACK,
    REASONS,
    TARGET_LABELS,
)
from xinyidai.market.ranking import KIND_LABELS, PERIOD_KINDS
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, handle_form, page_count, page_number, redirect
from xinyidai.web.templating import render

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024

ENTRY_STATUS: dict[str, str] = {
    "new": N_("Not assigned"),
    "assigned": N_("Assigned"),
    "contacted": N_("Contacted"),
    "applied": N_("Applied"),
    "approved": N_("Approved"),
}
PAGE_SIZE = 100


def _gettext(request: Request) -> Any:
    return i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext


def reason_texts(request: Request, reasons: list[Any]) -> list[str]:
    """An assignment's stored reasons (codes and parameters) as sentences in the reader's language."""
    gettext = _gettext(request)
    out = []
    for reason in reasons or []:
        if not isinstance(reason, dict) or reason.get("code") not in REASONS:
            continue
        params = dict(reason.get("params") or {})
        if "targets" in params:
            params["targets"] = "、".join(gettext(TARGET_LABELS.get(t, t)) for t in params["targets"])
        try:
            out.append(gettext(REASONS[reason["code"]]) % params)
        except (KeyError, TypeError, ValueError):
            out.append(gettext(REASONS[reason["code"]]))
    return out


# ----------------------------------------------------------------------------------------- whitelists


def _whitelists_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    return {
        "whitelists": market.list_whitelists(db, principal),
        "may_dispatch": can(principal, Permission.DISPATCH),
        "values": {},
        "problems": [],
    }


@router.get("/government/whitelists")
def whitelists(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.WHITELISTS_MANAGE)
) -> Response:
    return render(request, "gov_whitelists.html", _whitelists_context(request, db, principal))


@router.post("/government/whitelists")
def upload(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.WHITELISTS_MANAGE)
) -> Response:
    form = getattr(request.state, "form", None)
    upload_file = form.get("file") if form is not None else None

    def act() -> Response:
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            raise ValidationFailed("Choose the file to upload", field="file")
        try:
            content = upload_file.file.read(MAX_UPLOAD + 1)
        finally:
            upload_file.file.close()
        if len(content) > MAX_UPLOAD:
            raise ValidationFailed("The file is larger than %(mb)s MB", field="file", mb=MAX_UPLOAD // 2**20)
        try:
            whitelist = market.upload_whitelist(
                db,
                principal,
                filename=upload_file.filename,
                data=content,
                programme=form_value(request, "programme"),
            )
        except market.WhitelistRejected as rejected:  # every bad line listed; nothing was written
            db.rollback()
            ctx = context()
            ctx.update(
                {
                    "error": _gettext(request)(rejected.title),
                    "error_field": "file",
                    "problems": rejected.problems,
                    "values": {"programme": form_value(request, "programme")},
                }
            )
            return render(request, "gov_whitelists.html", ctx, status_code=422)
        return redirect(f"/government/whitelists/{whitelist.id}")

    def context() -> dict[str, Any]:
        ctx = _whitelists_context(request, db, principal)
        ctx["filename"] = upload_file.filename if isinstance(upload_file, UploadFile) else ""
        return ctx

    return handle_form(request, db, "gov_whitelists.html", context, act)


@router.get("/government/whitelists/{whitelist_id}")
def whitelist(
    request: Request,
    whitelist_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.WHITELISTS_MANAGE),
) -> Response:
    request.state.nav = navigation_for(principal)
    page = page_number(request)
    view = market.whitelist_view(
        db, principal, whitelist_id, limit=PAGE_SIZE * 5, offset=(page - 1) * PAGE_SIZE * 5
    )
    return render(
        request,
        "gov_whitelist.html",
        {
            "view": view,
            "statuses": ENTRY_STATUS,
            "may_dispatch": can(principal, Permission.DISPATCH),
            "page": page,
            "pages": page_count(view.total, PAGE_SIZE * 5),
        },
    )


# ----------------------------------------------------------------------------------------- dispatch


def _dispatch_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    return {
        "whitelists": market.list_whitelists(db, principal),
        "runs": market.list_runs(db, principal),
        "defaults": {"per_manager": DEFAULT_PER_MANAGER, "slack": int(DEFAULT_SLACK * 100)},
        "values": {},
    }


@router.get("/government/dispatch")
def dispatch_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.DISPATCH)
) -> Response:
    ctx = _dispatch_context(request, db, principal)
    chosen = request.query_params.get("whitelist", "")
    ctx["values"] = {"whitelist_id": chosen, "include_needs": "" if chosen else "on"}
    return render(request, "gov_dispatch.html", ctx)


def _int(request: Request, name: str, default: int | None) -> int | None:
    raw = form_value(request, name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed("Enter a whole number", field=name) from None


@router.post("/government/dispatch")
def run_dispatch(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.DISPATCH),
) -> Response:
    def act() -> Response:
        slack_pct = _int(request, "slack", int(DEFAULT_SLACK * 100))
        result = market.dispatch(
            db,
            data.open_lake(settings),
            principal,
            include_needs=form_value(request, "include_needs") == "on",
            whitelist_id=_int(request, "whitelist_id", None),
            per_manager=_int(request, "per_manager", DEFAULT_PER_MANAGER) or 0,
            slack=None if form_value(request, "fairness") == "off" else (slack_pct or 0) / 100,
        )
        return redirect(f"/government/dispatch/{result.run.id}")

    return handle_form(
        request, db, "gov_dispatch.html", lambda: _dispatch_context(request, db, principal), act
    )


@router.get("/government/dispatch/{run_id}")
def dispatch_run(
    request: Request, run_id: int, db: DbSession, principal: Principal = page_guard(Permission.DISPATCH)
) -> Response:
    request.state.nav = navigation_for(principal)
    page = page_number(request)
    summary = market.run_summary(db, principal, run_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "gov_dispatch_run.html",
        {
            "summary": summary,
            "run": summary.run,
            "reasons": {a.id: reason_texts(request, a.reasons) for a in summary.assignments},
            "statuses": ASSIGNMENT_STATUS,
            "page": page,
            "pages": page_count(summary.total, PAGE_SIZE),
        },
    )


# ----------------------------------------------------------------------------------------- ranking


def _period(request: Request) -> Any:
    kind = request.query_params.get("kind", "month")
    kind = kind if kind in PERIOD_KINDS else "month"
    try:
        return market.parse_period(kind, request.query_params.get("period") or None)
    except ValidationFailed:
        return market.parse_period(kind)


@router.get("/government/ranking")
def ranking_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MARKET_STATISTICS)
) -> Response:
    request.state.nav = navigation_for(principal)
    period = _period(request)
    return render(
        request,
        "gov_ranking.html",
        {
            "period": period,
            "rows": market.ranking(db, principal, period),
            "kinds": KIND_LABELS,
            "periods": market.recent_periods(period.kind, 12 if period.kind == "month" else 8),
        },
    )


@router.get("/government/ranking/export")
def ranking_export(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MARKET_STATISTICS)
) -> Response:
    period = _period(request)
    content = market.export_xlsx(market.ranking(db, principal, period), period, _gettext(request))
    name = f"institution-ranking-{period.label}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# ----------------------------------------------------------------------------------------- institution


def _assignments_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    page = page_number(request)
    status = request.query_params.get("status") or None
    status = status if status in ASSIGNMENT_STATUS else None
    rows, total = market.institution_assignments(
        db, principal, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return {
        "rows": rows,
        "reasons": {r.assignment.id: reason_texts(request, r.assignment.reasons) for r in rows},
        "statuses": ASSIGNMENT_STATUS,
        "status": status or "",
        "may_work": can(principal, Permission.ORDERS_WORK),
        "page": page,
        "pages": page_count(total, PAGE_SIZE),
        "total": total,
        "values": {},
    }


@router.get("/institution/assignments")
def assignments(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    return render(request, "gov_institution_assignments.html", _assignments_context(request, db, principal))


def _mark(request: Request, db: DbSession, principal: Principal, assignment_id: int, status: str) -> Response:
    def act() -> Response:
        market.mark_assignment(db, principal, assignment_id, status)
        return redirect("/institution/assignments")

    return handle_form(
        request,
        db,
        "gov_institution_assignments.html",
        lambda: _assignments_context(request, db, principal),
        act,
    )


@router.post("/institution/assignments/{assignment_id}/contacted")
def mark_contacted(
    request: Request,
    assignment_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORDERS_WORK),
) -> Response:
    return _mark(request, db, principal, assignment_id, "contacted")


@router.post("/institution/assignments/{assignment_id}/declined")
def mark_declined(
    request: Request,
    assignment_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORDERS_WORK),
) -> Response:
    return _mark(request, db, principal, assignment_id, "declined")
