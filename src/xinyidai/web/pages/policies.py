"""Pages of the policy supermarket (政策超市), policy effects and the government fund supermarket (基金超市).

Departments: policies (write, publish, withdraw), the applications queue, review, objections during
publicity, disbursement, the effect report and its Excel export. Enterprises: the policies judged for
them, applying with materials, their applications, the fund supermarket. Anyone logged in: the results in
publicity and objections to them. Fund managers: their funds, applications with platform data,
investments. Each endpoint calls the policy capability's services; a refused action re-shows its page
with the message by its field (``handle_form``), and nothing is saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal
from xinyidai.core.clock import today_local
from xinyidai.core.errors import ValidationFailed
from xinyidai.data import service as data_service
from xinyidai.market import service as market
from xinyidai.policies import service as policies
from xinyidai.policies import states
from xinyidai.policies.schemas import (
    DisbursementInput,
    FundApplicationInput,
    FundInput,
    InvestmentInput,
    PolicyDecision,
    PolicyInput,
)
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_date, form_decimal, form_value, handle_form, redirect
from xinyidai.web.templating import render

router = APIRouter()

MANAGE = Permission.POLICIES_MANAGE
APPLY = Permission.POLICY_APPLY
FUNDS = Permission.INVESTMENT_FUNDS_MANAGE
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
APPLICATION_STATUSES = ("submitted", "checked", "publicity", "disbursed", "rejected", "revoked", "withdrawn")


def _tr(request: Request) -> Callable[..., str]:
    locale: str = getattr(request.state, "locale", i18n.DEFAULT_LOCALE)

    def tr(message: str, params: dict[str, Any] | None = None) -> str:
        return i18n.translate(message, params or None, locale)

    return tr


# An eligibility rule is code, not prose: shown as an example, never translated.
EXAMPLE_RULE = "grade in ('A', 'B') and insured_latest >= 10"


def _base(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    context: dict[str, Any] = {
        "labels_state": states.STATE_LABELS,
        "tr": _tr(request),
        "values": {},
        "today": today_local(),
        "example_rule": EXAMPLE_RULE,
    }
    context.update(extra)
    return context


def _lake(settings: SettingsDep) -> Any:
    return data_service.open_lake(settings)


def _decimal(request: Request, name: str, *, required: bool = True) -> Decimal | None:
    if not form_value(request, name).strip():
        if required:
            raise ValidationFailed("This field is required", field=name)
        return None
    return form_decimal(request, name)


def _date(request: Request, name: str) -> date:
    found = form_date(request, name)
    if found is None:
        raise ValidationFailed("Enter a date (YYYY-MM-DD)", field=name)
    return found


# ----------------------------------------------------------------------------------- department


def _policy_input(request: Request) -> PolicyInput:
    materials = [line.strip() for line in form_value(request, "materials").splitlines() if line.strip()]
    days = form_value(request, "publicity_days") or "5"
    return PolicyInput.model_validate(
        {
            "issuer": form_value(request, "issuer"),
            "title": form_value(request, "title"),
            "summary": form_value(request, "summary"),
            "benefit": form_value(request, "benefit"),
            "benefit_max": _decimal(request, "benefit_max", required=False),
            "materials": materials,
            "opens_on": _date(request, "opens_on"),
            "closes_on": _date(request, "closes_on"),
            "eligibility": form_value(request, "eligibility"),
            "publicity_days": days,
        }
    )


def _policies_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    found = policies.list_policies(db, principal)
    return _base(
        request,
        principal,
        policies=found,
        counts=policies.application_counts(db, [p.id for p in found]),
        fields=sorted(policies.eligibility_fields()),
    )


@router.get("/government/policies")
def gov_policies(request: Request, db: DbSession, principal: Principal = page_guard(MANAGE)) -> Response:
    return render(request, "pol_gov_policies.html", _policies_context(request, db, principal))


@router.post("/government/policies")
def gov_create_policy(request: Request, db: DbSession, principal: Principal = page_guard(MANAGE)) -> Response:
    def act() -> Response:
        policy = policies.save_policy(db, principal, _policy_input(request))
        return redirect(f"/government/policies/{policy.id}")

    return handle_form(
        request, db, "pol_gov_policies.html", lambda: _policies_context(request, db, principal), act
    )


def _policy_context(request: Request, db: DbSession, principal: Principal, policy_id: int) -> dict[str, Any]:
    policy = policies.get_policy(db, principal, policy_id)
    return _base(
        request,
        principal,
        policy=policy,
        applications=policies.list_applications(db, principal, policy_id=policy.id),
        moves=states.allowed_actions("policy", policy.status),
        fields=sorted(policies.eligibility_fields()),
    )


@router.get("/government/policies/{policy_id}")
def gov_policy(
    request: Request, policy_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return render(request, "pol_gov_policy.html", _policy_context(request, db, principal, policy_id))


@router.post("/government/policies/{policy_id}")
def gov_update_policy(
    request: Request, policy_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    def act() -> Response:
        policies.save_policy(db, principal, _policy_input(request), policy_id)
        return redirect(f"/government/policies/{policy_id}?saved=1")

    return handle_form(
        request, db, "pol_gov_policy.html", lambda: _policy_context(request, db, principal, policy_id), act
    )


def _policy_move(
    request: Request, db: DbSession, principal: Principal, policy_id: int, action: str
) -> Response:
    def act() -> Response:
        policies.move_policy(db, principal, policy_id, action)
        return redirect(f"/government/policies/{policy_id}")

    return handle_form(
        request, db, "pol_gov_policy.html", lambda: _policy_context(request, db, principal, policy_id), act
    )


@router.post("/government/policies/{policy_id}/publish")
def gov_publish_policy(
    request: Request, policy_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return _policy_move(request, db, principal, policy_id, "publish")


@router.post("/government/policies/{policy_id}/withdraw")
def gov_withdraw_policy(
    request: Request, policy_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return _policy_move(request, db, principal, policy_id, "withdraw")


@router.get("/government/policy-applications")
def gov_applications(request: Request, db: DbSession, principal: Principal = page_guard(MANAGE)) -> Response:
    status = request.query_params.get("status", "")
    if status not in APPLICATION_STATUSES:
        status = ""
    found = policies.list_applications(db, principal, status=status or None)
    return render(
        request,
        "pol_gov_applications.html",
        _base(
            request,
            principal,
            applications=found,
            titles=policies.policy_titles(db, [a.policy_id for a in found]),
            status=status,
            statuses=APPLICATION_STATUSES,
        ),
    )


def _review_context(
    request: Request, db: DbSession, principal: Principal, application_id: int
) -> dict[str, Any]:
    app = policies.get_application(db, principal, application_id)
    policy = policies.get_policy(db, principal, app.policy_id)
    moves = states.allowed_actions("application", app.status)
    return _base(
        request,
        principal,
        application=app,
        policy=policy,
        materials=policies.application_materials(db, app.id),
        events=policies.application_events(db, app.id),
        objections=policies.objections_of(db, app.id),
        moves=moves,
        publicity_over=app.publicity_ends_on is not None and today_local() > app.publicity_ends_on,
    )


@router.get("/government/policy-applications/{application_id}")
def gov_application(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return render(
        request, "pol_gov_application.html", _review_context(request, db, principal, application_id)
    )


@router.get("/government/policy-applications/{application_id}/materials/{material_id}")
def gov_material(
    request: Request,
    application_id: int,
    material_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(MANAGE),
) -> Response:
    material, content = policies.material_file(db, principal, application_id, material_id, settings.home)
    return Response(
        content,
        media_type=material.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(material.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _review_form(
    request: Request, db: DbSession, principal: Principal, application_id: int, act: Callable[[], Any]
) -> Response:
    def run() -> Response:
        act()
        return redirect(f"/government/policy-applications/{application_id}")

    return handle_form(
        request,
        db,
        "pol_gov_application.html",
        lambda: _review_context(request, db, principal, application_id),
        run,
    )


@router.post("/government/policy-applications/{application_id}/approve")
def gov_approve(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return _review_form(
        request,
        db,
        principal,
        application_id,
        lambda: policies.decide(
            db,
            principal,
            application_id,
            PolicyDecision(
                approve=True,
                amount=_decimal(request, "amount", required=False),
                reason=form_value(request, "reason"),
            ),
        ),
    )


@router.post("/government/policy-applications/{application_id}/reject")
def gov_reject(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return _review_form(
        request,
        db,
        principal,
        application_id,
        lambda: policies.decide(
            db, principal, application_id, PolicyDecision(approve=False, reason=form_value(request, "reason"))
        ),
    )


@router.post("/government/policy-applications/{application_id}/recheck")
def gov_recheck(
    request: Request,
    application_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(MANAGE),
) -> Response:
    return _review_form(
        request,
        db,
        principal,
        application_id,
        lambda: policies.recheck(db, _lake(settings), principal, application_id),
    )


@router.post("/government/policy-applications/{application_id}/disburse")
def gov_disburse(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    return _review_form(
        request,
        db,
        principal,
        application_id,
        lambda: policies.disburse(
            db,
            principal,
            application_id,
            DisbursementInput(
                amount=_decimal(request, "amount"), disbursed_on=_date(request, "disbursed_on")
            ),
        ),
    )


@router.post("/government/policy-objections/{objection_id}/answer")
def gov_answer_objection(
    request: Request, objection_id: int, db: DbSession, principal: Principal = page_guard(MANAGE)
) -> Response:
    def act() -> Response:
        objection = policies.answer_objection(
            db,
            principal,
            objection_id,
            uphold=form_value(request, "decision") == "uphold",
            answer=form_value(request, "answer"),
        )
        return redirect(f"/government/policy-applications/{objection.application_id}")

    raw = form_value(request, "application_id")
    if raw.isdigit():
        return handle_form(
            request,
            db,
            "pol_gov_application.html",
            lambda: _review_context(request, db, principal, int(raw)),
            act,
        )
    return handle_form(
        request, db, "pol_gov_policies.html", lambda: _policies_context(request, db, principal), act
    )


def _effect_params(request: Request) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        try:
            return min(max(int(request.query_params.get(name, default)), low), high)
        except ValueError:
            return default

    return number("window", 12, 3, 24), number("k", 3, 1, 10)


@router.get("/government/policies/{policy_id}/effect")
def gov_effect(
    request: Request,
    policy_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(MANAGE),
) -> Response:
    window, k = _effect_params(request)
    report = policies.policy_effect(
        db, _lake(settings), principal, policy_id, window_months=window, neighbours=k
    )
    return render(
        request, "pol_gov_effect.html", _base(request, principal, report=report, window=window, k=k)
    )


@router.get("/government/policies/{policy_id}/effect.xlsx")
def gov_effect_export(
    request: Request,
    policy_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(MANAGE),
) -> Response:
    window, k = _effect_params(request)
    report = policies.policy_effect(
        db, _lake(settings), principal, policy_id, window_months=window, neighbours=k
    )
    gettext = i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext
    content = policies.export_xlsx(report, gettext)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename=policy-effect-{policy_id}.xlsx"},
    )


# ----------------------------------------------------------------------------------- enterprise


@router.get("/enterprise/policies")
def ent_policies(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal = page_guard(APPLY)
) -> Response:
    matches = policies.judge_policies(db, _lake(settings), principal)
    return render(
        request,
        "pol_ent_policies.html",
        _base(
            request,
            principal,
            eligible=[m for m in matches if m.eligible],
            others=[m for m in matches if not m.eligible],
        ),
    )


def _ent_policy_context(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal, policy_id: int
) -> dict[str, Any]:
    policy = policies.get_policy(db, principal, policy_id)
    judged = next(
        (m for m in policies.judge_policies(db, _lake(settings), principal) if m.policy.id == policy.id), None
    )
    day = today_local()
    return _base(
        request,
        principal,
        policy=policy,
        judged=judged,
        open_now=policy.opens_on <= day <= policy.closes_on,
        max_mb=policies.MAX_MATERIAL_BYTES // 2**20,
        idempotency_key=uuid.uuid4().hex,
    )


@router.get("/enterprise/policies/{policy_id}")
def ent_policy(
    request: Request,
    policy_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(APPLY),
) -> Response:
    return render(
        request, "pol_ent_policy.html", _ent_policy_context(request, db, settings, principal, policy_id)
    )


def _uploads(request: Request, required: list[str]) -> list[policies.MaterialUpload]:
    form = getattr(request.state, "form", None)
    uploads = []
    for index, material in enumerate(required):
        item = form.get(f"material_{index}") if form is not None else None
        if isinstance(item, UploadFile) and item.filename:
            try:
                content = item.file.read(policies.MAX_MATERIAL_BYTES + 1)
            finally:
                item.file.close()
            uploads.append(policies.MaterialUpload(material, item.filename, content))
    return uploads


@router.post("/enterprise/policies/{policy_id}/apply")
def ent_apply(
    request: Request,
    policy_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(APPLY),
) -> Response:
    def act() -> Response:
        policy = policies.get_policy(db, principal, policy_id)
        app = policies.apply(
            db,
            _lake(settings),
            principal,
            policy.id,
            _uploads(request, list(policy.materials)),
            settings.home,
            amount_requested=_decimal(request, "amount_requested", required=False),
            statement=form_value(request, "statement"),
            idempotency_key=form_value(request, "idempotency_key") or None,
        )
        return redirect(f"/enterprise/policy-applications/{app.id}")

    return handle_form(
        request,
        db,
        "pol_ent_policy.html",
        lambda: _ent_policy_context(request, db, settings, principal, policy_id),
        act,
    )


@router.get("/enterprise/policy-applications")
def ent_applications(request: Request, db: DbSession, principal: Principal = page_guard(APPLY)) -> Response:
    found = policies.list_applications(db, principal)
    return render(
        request,
        "pol_ent_applications.html",
        _base(
            request,
            principal,
            applications=found,
            titles=policies.policy_titles(db, [a.policy_id for a in found]),
        ),
    )


def _ent_application_context(
    request: Request, db: DbSession, principal: Principal, application_id: int
) -> dict[str, Any]:
    app = policies.get_application(db, principal, application_id)
    return _base(
        request,
        principal,
        application=app,
        title=policies.policy_titles(db, [app.policy_id]).get(app.policy_id, ""),
        materials=policies.application_materials(db, app.id),
        events=policies.application_events(db, app.id),
        moves=states.allowed_actions("application", app.status),
    )


@router.get("/enterprise/policy-applications/{application_id}")
def ent_application(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(APPLY)
) -> Response:
    return render(
        request, "pol_ent_application.html", _ent_application_context(request, db, principal, application_id)
    )


@router.post("/enterprise/policy-applications/{application_id}/withdraw")
def ent_withdraw(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(APPLY)
) -> Response:
    def act() -> Response:
        policies.withdraw(db, principal, application_id)
        return redirect(f"/enterprise/policy-applications/{application_id}")

    return handle_form(
        request,
        db,
        "pol_ent_application.html",
        lambda: _ent_application_context(request, db, principal, application_id),
        act,
    )


def _ent_funds_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    mine = policies.list_fund_applications(db, principal)
    return _base(
        request,
        principal,
        funds=policies.list_funds(db, principal),
        applications=mine,
        fund_names=policies.fund_names(db, [a.fund_id for a in mine]),
    )


@router.get("/enterprise/funds")
def ent_funds(request: Request, db: DbSession, principal: Principal = page_guard(APPLY)) -> Response:
    return render(request, "pol_ent_funds.html", _ent_funds_context(request, db, principal))


@router.post("/enterprise/funds/{fund_id}/apply")
def ent_fund_apply(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(APPLY)
) -> Response:
    def act() -> Response:
        policies.apply_to_fund(
            db,
            principal,
            fund_id,
            FundApplicationInput(
                amount_sought=_decimal(request, "amount_sought"),
                plan=form_value(request, "plan"),
            ),
        )
        return redirect("/enterprise/funds?applied=1")

    def context() -> dict[str, Any]:
        ctx = _ent_funds_context(request, db, principal)
        ctx["fund_id"] = fund_id
        return ctx

    return handle_form(request, db, "pol_ent_funds.html", context, act)


# ------------------------------------------------------------------------------ publicity (公示)


def _publicity_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    found = policies.in_publicity(db)
    return _base(
        request,
        principal,
        applications=found,
        titles=policies.policy_titles(db, [a.policy_id for a in found]),
        departments=market.organisation_names(db, [a.department_id for a in found]),
    )


@router.get("/policies/publicity")
def publicity(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)
) -> Response:
    return render(request, "pol_publicity.html", _publicity_context(request, db, principal))


@router.post("/policies/publicity/{application_id}/objections")
def object_to(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.AUTHENTICATED),
) -> Response:
    def act() -> Response:
        policies.lodge_objection(db, principal, application_id, form_value(request, "text"))
        return redirect("/policies/publicity?lodged=1")

    def context() -> dict[str, Any]:
        ctx = _publicity_context(request, db, principal)
        ctx["objecting"] = application_id
        return ctx

    return handle_form(request, db, "pol_publicity.html", context, act)


# ---------------------------------------------------------------------------------- fund managers


def _fund_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    funds = policies.list_funds(db, principal)
    status = request.query_params.get("status", "")
    return _base(
        request,
        principal,
        funds=funds,
        applications=policies.list_fund_applications(db, principal, status=status or None),
        fund_names={f.id: f.name for f in funds},
        status=status,
    )


@router.get("/government/investment-funds")
def fund_funds(request: Request, db: DbSession, principal: Principal = page_guard(FUNDS)) -> Response:
    return render(request, "pol_fund_funds.html", _fund_context(request, db, principal))


@router.post("/government/investment-funds")
def fund_create(request: Request, db: DbSession, principal: Principal = page_guard(FUNDS)) -> Response:
    def act() -> Response:
        policies.create_fund(
            db,
            principal,
            FundInput(
                name=form_value(request, "name"),
                manager_name=form_value(request, "manager_name"),
                focus=form_value(request, "focus"),
                size=_decimal(request, "size"),
                description=form_value(request, "description"),
            ),
        )
        return redirect("/government/investment-funds")

    return handle_form(request, db, "pol_fund_funds.html", lambda: _fund_context(request, db, principal), act)


def _fund_application_context(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal, application_id: int
) -> dict[str, Any]:
    view = policies.review_view(db, _lake(settings), principal, application_id)
    return _base(
        request,
        principal,
        view=view,
        moves=states.allowed_actions("fund_application", view.application.status),
        fund_names=policies.fund_names(db, [i.fund_id for i in view.investments]),
    )


@router.get("/government/investment-applications/{application_id}")
def fund_application(
    request: Request,
    application_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FUNDS),
) -> Response:
    return render(
        request,
        "pol_fund_application.html",
        _fund_application_context(request, db, settings, principal, application_id),
    )


def _fund_move(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal,
    application_id: int,
    act: Callable[[], Any],
) -> Response:
    def run() -> Response:
        act()
        return redirect(f"/government/investment-applications/{application_id}")

    return handle_form(
        request,
        db,
        "pol_fund_application.html",
        lambda: _fund_application_context(request, db, settings, principal, application_id),
        run,
    )


@router.post("/government/investment-applications/{application_id}/approve")
def fund_approve(
    request: Request,
    application_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FUNDS),
) -> Response:
    return _fund_move(
        request,
        db,
        settings,
        principal,
        application_id,
        lambda: policies.decide_fund_application(
            db, principal, application_id, approve=True, reason=form_value(request, "reason")
        ),
    )


@router.post("/government/investment-applications/{application_id}/reject")
def fund_reject(
    request: Request,
    application_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FUNDS),
) -> Response:
    return _fund_move(
        request,
        db,
        settings,
        principal,
        application_id,
        lambda: policies.decide_fund_application(
            db, principal, application_id, approve=False, reason=form_value(request, "reason")
        ),
    )


@router.post("/government/investment-applications/{application_id}/invest")
def fund_invest(
    request: Request,
    application_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FUNDS),
) -> Response:
    return _fund_move(
        request,
        db,
        settings,
        principal,
        application_id,
        lambda: policies.record_investment(
            db,
            principal,
            application_id,
            InvestmentInput(
                amount=_decimal(request, "amount"),
                invested_on=_date(request, "invested_on"),
                stake=_decimal(request, "stake"),
            ),
        ),
    )
