"""Risk monitoring pages: the risk board (portfolio as traffic lights), the alert queue and an alert,
an enterprise's risk timeline, and the rule editor (library, rules with validation as you type, backtest,
switch on). Institutions see their borrowers and applicants, departments their whitelists, the operator
maintains the platform-wide sets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import OrgKind, Permission, Principal, can
from xinyidai.core.i18n import N_
from xinyidai.data import service as data_service
from xinyidai.monitoring import service as monitoring
from xinyidai.monitoring.alerts import COLOURS, SEVERITY_LABELS, STATUS_LABELS
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, handle_form, page_count, page_number, redirect
from xinyidai.web.templating import render

router = APIRouter()

PAGE_SIZE = 50
LIGHT_LABELS = {"red": N_("Red"), "orange": N_("Orange"), "yellow": N_("Yellow"), "green": N_("Green")}
TRIGGER_LABELS = {"batch": N_("After each pipeline run"), "event": N_("On each real-time push")}


def _labels() -> dict[str, Any]:
    return {
        "severity": SEVERITY_LABELS,
        "status": STATUS_LABELS,
        "light": LIGHT_LABELS,
        "colour": COLOURS,
        "trigger": TRIGGER_LABELS,
    }


@router.get("/monitoring")
def risk_board(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MONITORING_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    light = request.query_params.get("light") or None
    if light not in (None, *LIGHT_LABELS):
        light = None
    page = page_number(request)
    rows, counts = monitoring.board(
        db, principal, light=light, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    alerts, open_total = monitoring.alert_queue(db, principal, status="open", limit=10)
    total = counts[light] if light else sum(counts.values())
    return render(
        request,
        "mon_board.html",
        {
            "rows": rows,
            "counts": counts,
            "light": light,
            "alerts": alerts,
            "open_total": open_total,
            "runs": monitoring.recent_runs(db, principal, limit=1),
            "page": page,
            "pages": page_count(total, PAGE_SIZE),
            "labels": _labels(),
        },
    )


@router.get("/monitoring/alerts")
def alert_queue(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MONITORING_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    status = request.query_params.get("status", "open")
    if status not in ("open", "new", "acknowledged", "resolved", "all"):
        status = "open"
    severity = request.query_params.get("severity") or None
    if severity not in (None, "high", "medium", "low"):
        severity = None
    page = page_number(request)
    rows, total = monitoring.alert_queue(
        db,
        principal,
        status=None if status == "all" else status,
        severity=severity,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "mon_alerts.html",
        {
            "rows": rows,
            "total": total,
            "status": status,
            "severity": severity,
            "page": page,
            "pages": page_count(total, PAGE_SIZE),
            "labels": _labels(),
        },
    )


def _alert_context(request: Request, db: DbSession, principal: Principal, alert_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    alert = monitoring.get_alert(db, principal, alert_id)
    return {
        "alert": alert,
        "rule": monitoring.alert_rule(db, principal, alert),
        "may_act": can(principal, Permission.MONITORING_MANAGE)
        and principal.org_kind is not OrgKind.OPERATOR
        and alert.status != "resolved",
        "labels": _labels(),
        "values": {},
    }


@router.get("/monitoring/alerts/{alert_id}")
def alert_page(
    request: Request,
    alert_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_READ),
) -> Response:
    return render(request, "mon_alert.html", _alert_context(request, db, principal, alert_id))


@router.post("/monitoring/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    alert_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        monitoring.acknowledge_alert(db, principal, alert_id)
        return redirect(f"/monitoring/alerts/{alert_id}")

    return handle_form(
        request, db, "mon_alert.html", lambda: _alert_context(request, db, principal, alert_id), act
    )


@router.post("/monitoring/alerts/{alert_id}/resolve")
def resolve(
    request: Request,
    alert_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        monitoring.resolve_alert(db, principal, alert_id, form_value(request, "note"))
        return redirect(f"/monitoring/alerts/{alert_id}")

    return handle_form(
        request, db, "mon_alert.html", lambda: _alert_context(request, db, principal, alert_id), act
    )


@router.get("/monitoring/enterprises/{uscc}")
def enterprise_timeline(
    request: Request,
    uscc: str,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    alerts = monitoring.timeline(db, principal, uscc)
    return render(
        request,
        "mon_timeline.html",
        {
            "uscc": uscc,
            "name": next((a.enterprise_name for a in alerts if a.enterprise_name), ""),
            "alerts": alerts,
            "labels": _labels(),
        },
    )


# --------------------------------------------------------------------------------------------- rule sets
def _sets_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    sets = monitoring.visible_sets(db, principal)
    adopted = {s.library_code for s in sets if s.library_code and s.organisation_id is not None} | {
        s.library_code for s in sets if s.library_code and principal.org_kind is OrgKind.OPERATOR
    }
    return {
        "sets": sets,
        "rule_counts": monitoring.rule_counts(db, [s.id for s in sets]),
        "library": monitoring.library_for(principal),
        "adopted": adopted,
        "may_manage": can(principal, Permission.MONITORING_MANAGE),
        "principal": principal,
        "values": {},
    }


@router.get("/monitoring/rule-sets")
def rule_sets(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MONITORING_READ)
) -> Response:
    return render(request, "mon_rule_sets.html", _sets_context(request, db, principal))


@router.post("/monitoring/rule-sets")
def create_rule_set(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MONITORING_MANAGE)
) -> Response:
    def act() -> Response:
        rule_set = monitoring.create_set(
            db,
            principal,
            code=form_value(request, "code"),
            name=form_value(request, "name"),
            description=form_value(request, "description"),
        )
        return redirect(f"/monitoring/rule-sets/{rule_set.id}")

    return handle_form(request, db, "mon_rule_sets.html", lambda: _sets_context(request, db, principal), act)


@router.post("/monitoring/rule-sets/adopt")
def adopt_rule_set(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MONITORING_MANAGE)
) -> Response:
    def act() -> Response:
        rule_set = monitoring.adopt_library_set(db, principal, form_value(request, "library_code"))
        return redirect(f"/monitoring/rule-sets/{rule_set.id}")

    return handle_form(request, db, "mon_rule_sets.html", lambda: _sets_context(request, db, principal), act)


def _set_context(request: Request, db: DbSession, principal: Principal, set_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    rule_set = monitoring.get_set(db, principal, set_id)
    owner = None if principal.org_kind is OrgKind.OPERATOR else principal.organisation_id
    edit_code = request.query_params.get("edit", "")
    rules = monitoring.set_rules(db, principal, set_id)
    editing = next((r for r in rules if r.code == edit_code), None)
    values = (
        {
            "code": editing.code,
            "name": editing.name,
            "expression": editing.expression,
            "severity": editing.severity,
            "trigger": editing.trigger,
            "description": editing.description,
        }
        if editing
        else {"severity": "medium", "trigger": "batch"}
    )
    backtest = rule_set.backtest or {}
    return {
        "fields": monitoring.field_guide(principal),
        "rule_set": rule_set,
        "rules": rules,
        "history": monitoring.rule_history(db, principal, set_id)[:50],
        "backtest": backtest,
        "backtest_current": backtest.get("version") == rule_set.version,
        "may_edit": can(principal, Permission.MONITORING_MANAGE) and rule_set.organisation_id == owner,
        "labels": _labels(),
        "values": values,
    }


@router.get("/monitoring/rule-sets/{set_id}")
def rule_set_page(
    request: Request,
    set_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_READ),
) -> Response:
    return render(request, "mon_rule_set.html", _set_context(request, db, principal, set_id))


@router.post("/monitoring/rule-sets/{set_id}/rules")
def save_rule(
    request: Request,
    set_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        monitoring.save_rule(
            db,
            principal,
            set_id,
            code=form_value(request, "code"),
            name=form_value(request, "name"),
            expression=form_value(request, "expression"),
            severity=form_value(request, "severity"),
            trigger=form_value(request, "trigger", "batch"),
            description=form_value(request, "description"),
        )
        return redirect(f"/monitoring/rule-sets/{set_id}")

    def context() -> dict[str, Any]:
        ctx = _set_context(request, db, principal, set_id)
        ctx["values"] = {
            k: form_value(request, k)
            for k in ("code", "name", "expression", "severity", "trigger", "description")
        }
        return ctx

    return handle_form(request, db, "mon_rule_set.html", context, act)


@router.post("/monitoring/rule-sets/{set_id}/rules/{code}/retire")
def retire_rule(
    request: Request,
    set_id: int,
    code: str,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        monitoring.retire_rule(db, principal, set_id, code)
        return redirect(f"/monitoring/rule-sets/{set_id}")

    return handle_form(
        request, db, "mon_rule_set.html", lambda: _set_context(request, db, principal, set_id), act
    )


@router.post("/monitoring/rule-sets/{set_id}/backtest")
def backtest(
    request: Request,
    set_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        monitoring.backtest_set(db, data_service.open_lake(settings), principal, set_id)
        return redirect(f"/monitoring/rule-sets/{set_id}#backtest")

    return handle_form(
        request, db, "mon_rule_set.html", lambda: _set_context(request, db, principal, set_id), act
    )


@router.post("/monitoring/rule-sets/{set_id}/activate")
def activate(
    request: Request,
    set_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MONITORING_MANAGE),
) -> Response:
    def act() -> Response:
        if form_value(request, "active") == "0":
            monitoring.deactivate_set(db, principal, set_id)
        else:
            monitoring.activate_set(db, principal, set_id)
        return redirect(f"/monitoring/rule-sets/{set_id}")

    return handle_form(
        request, db, "mon_rule_set.html", lambda: _set_context(request, db, principal, set_id), act
    )
