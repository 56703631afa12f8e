"""The enterprise's side of the financing marketplace: the product supermarket with recommendation,
financing needs and the offers on them side by side, applications and their timeline, loans, the
authorisations it gives (with the exact text it signs) and who looked at its credit report.

Each endpoint calls the marketplace's services; a refused action re-shows its page with the message in
Chinese (``handle_form``), and nothing is saved. Publish and apply forms carry an idempotency key made
when the form is shown, so a double submit publishes or applies once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import today_local
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.evidence import service as evidence
from xinyidai.core.i18n import N_
from xinyidai.data import service as data_service
from xinyidai.market import service as market
from xinyidai.market import states
from xinyidai.market.models import Application, Consent, Need
from xinyidai.market.schemas import (
    COLLATERAL_KINDS,
    CONSENT_PURPOSES,
    PRODUCT_TYPES,
    PURPOSES,
    ApplicationInput,
    ConsentInput,
    NeedInput,
)
from xinyidai.policies import service as policies
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, form_values, handle_form, page_number, redirect
from xinyidai.web.templating import render

router = APIRouter(prefix="/enterprise")

FINANCE = Permission.ENTERPRISE_FINANCE
SIGN = Permission.CONSENT_SIGN
PAGE_SIZE = 30
APPLY_CONSENT_DAYS = 90  # what ``market.apply`` signs with an application
APPLICATION_STATUSES = ("submitted", "accepted", "approved", "rejected", "withdrawn", "disbursed")

PRODUCT_TYPE_LABELS: dict[str, str] = {
    "credit": N_("Credit loan"),
    "mortgage": N_("Mortgage loan"),
    "guarantee": N_("Guaranteed loan"),
    "policy": N_("Policy product"),
}
COLLATERAL_LABELS: dict[str, str] = {
    "none": N_("No collateral"),
    "mortgage": N_("Mortgage"),
    "pledge": N_("Pledge"),
    "guarantor": N_("Guarantor"),
}
REPAYMENT_LABELS: dict[str, str] = {
    "bullet": N_("Principal and interest at maturity"),
    "interest_first": N_("Interest first, principal at maturity"),
    "equal_installment": N_("Equal instalments"),
    "equal_principal": N_("Equal principal"),
    "flexible": N_("Borrow and repay at any time"),
}
PURPOSE_LABELS: dict[str, str] = {
    "working_capital": N_("Working capital"),
    "equipment": N_("Equipment purchase"),
    "expansion": N_("Business expansion"),
    "trade": N_("Trade finance"),
    "refinance": N_("Refinancing"),
    "other": N_("Other purpose"),
}
CONSENT_PURPOSE_LABELS: dict[str, str] = {
    "loan_review": N_("Loan review"),
    "post_loan": N_("Post-loan management"),
    "guarantee_review": N_("Guarantee review"),
}
REPORT_TYPE_LABELS: dict[str, str] = {
    "concise": N_("Concise credit report"),
    "full": N_("Full credit report"),
}
QUERY_RESULT_LABELS: dict[str, str] = {
    "allowed": N_("Allowed"),
    "refused": N_("Refused"),
}
CHANNEL_LABELS: dict[str, str] = {
    "product": N_("Applied to a product"),
    "offer": N_("Accepted an offer"),
    "instant": N_("Instant pre-credit"),
    "review": N_("Review of an instant refusal by a person"),
    "dispatch": N_("Dispatched"),
    "page": N_("Web page"),
    "pdf": N_("PDF"),
    "api": N_("API"),
}
LOAN_RECORD_LABELS: dict[str, str] = {
    "repayment": N_("Repayment"),
    "overdue": N_("Overdue"),
    "cured": N_("Overdue cured"),
    "default": N_("Default"),
    "recovered": N_("Recovered"),
}
CLOSED_REASON_LABELS: dict[str, str] = {
    "need_withdrawn": N_("You withdrew the need"),
    "need_expired": N_("The need expired"),
    "another_offer_accepted": N_("You accepted another offer"),
    "released": N_("The institution released the need"),
}

LABELS: dict[str, dict[str, str]] = {
    "product_type": PRODUCT_TYPE_LABELS,
    "collateral": COLLATERAL_LABELS,
    "repayment": REPAYMENT_LABELS,
    "purpose": PURPOSE_LABELS,
    "consent_purpose": CONSENT_PURPOSE_LABELS,
    "report_type": REPORT_TYPE_LABELS,
    "query_result": QUERY_RESULT_LABELS,
    "channel": CHANNEL_LABELS,
    "loan_record": LOAN_RECORD_LABELS,
    "closed_reason": CLOSED_REASON_LABELS,
    "state": dict(states.STATE_LABELS),
}


def _translator(request: Request) -> Callable[[str, dict[str, Any] | None], str]:
    locale: str = getattr(request.state, "locale", i18n.DEFAULT_LOCALE)

    def tr(message: str, params: dict[str, Any] | None = None) -> str:
        return i18n.translate(message, params or None, locale)

    return tr


def num(value: object) -> str:
    """A rate or other decimal without trailing zeros: ``4.3500`` → ``4.35``, ``6.0000`` → ``6``."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except InvalidOperation:
        return str(value)


def _base(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    context: dict[str, Any] = {
        "m": LABELS,
        "tr": _translator(request),
        "num": num,
        "may_sign": can(principal, SIGN),
        "values": {},
        "today": today_local(),
    }
    context.update(extra)
    return context


def _lake(settings: SettingsDep) -> Any:
    return data_service.open_lake(settings)


def _purpose_label(purpose: str) -> str:
    """A stored purpose (``working_capital`` or ``working_capital: text``) as its label's message id."""
    code, _sep, _rest = purpose.partition(":")
    return PURPOSE_LABELS.get(code.strip(), "")


def _decimal(request: Request, name: str) -> str:
    return form_value(request, name).replace(",", "").replace("，", "")


# -- product supermarket ------------------------------------------------------------------------------


@router.get("/products")
def products(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FINANCE),
) -> Response:
    """Every listed product judged for this enterprise: eligible ones ranked by fit, then the rest."""
    product_type = request.query_params.get("type", "")
    if product_type not in PRODUCT_TYPES:
        product_type = ""
    found = market.recommend_products(db, _lake(settings), principal, product_type=product_type or None)
    page = page_number(request)
    pages = max(1, math.ceil(len(found.items) / PAGE_SIZE))
    shown = found.items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    institutions = market.organisation_names(db, (r.product.institution_id for r in shown))
    return render(
        request,
        "ent_products.html",
        _base(
            request,
            principal,
            found=found,
            shown=shown,
            closest=found.closest(),
            closest_policies=[] if found.eligible else policies.policies_for(db, _lake(settings), principal),
            eligible_count=len(found.eligible),
            institutions=institutions,
            product_type=product_type,
            product_types=PRODUCT_TYPES,
            page=page,
            pages=pages,
            purpose_label=_purpose_label,
        ),
    )


def _product_context(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal, product_id: int
) -> dict[str, Any]:
    product = market.get_product(db, principal, product_id)
    if product.status != "listed":
        raise NotFound()
    me = market.own_enterprise(db, None, principal)
    consent_text = market.preview_text(
        db,
        principal,
        ConsentInput(
            institution_id=product.institution_id,
            report_types=["full"],
            purpose="loan_review",
            expires_on=today_local() + timedelta(days=APPLY_CONSENT_DAYS),
        ),
    )
    return _base(
        request,
        principal,
        product=product,
        judged=market.evaluate_product(db, _lake(settings), principal, product),
        institution=market.organisation_names(db, [product.institution_id]).get(product.institution_id, ""),
        enterprise=me,
        consent_text=consent_text,
        purposes=PURPOSES,
        idempotency_key=uuid.uuid4().hex,
    )


@router.get("/products/{product_id}")
def product_page(
    request: Request,
    product_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FINANCE),
) -> Response:
    return render(request, "ent_product.html", _product_context(request, db, settings, principal, product_id))


@router.post("/products/{product_id}/apply")
def apply(
    request: Request,
    product_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FINANCE),
) -> Response:
    """Apply to the product; an instant product's outcome (offer, refusal, loan) shows at once."""

    def act() -> Response:
        data = ApplicationInput.model_validate(
            {
                "product_id": product_id,
                "amount": _decimal(request, "amount"),
                "term_months": form_value(request, "term_months"),
                "purpose": form_value(request, "purpose"),
            }
        )
        applied = market.apply(
            db,
            _lake(settings),
            principal,
            data,
            settings,
            idempotency_key=form_value(request, "idempotency_key") or None,
            authorise=form_value(request, "authorise") == "on",
        )
        return redirect(f"/enterprise/applications/{applied.application.id}?applied=1")

    return handle_form(
        request,
        db,
        "ent_product.html",
        lambda: _product_context(request, db, settings, principal, product_id),
        act,
    )


# -- financing needs ----------------------------------------------------------------------------------


def _needs_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    return _base(
        request,
        principal,
        needs=market.list_own_needs(db, principal, limit=100),
        purposes=PURPOSES,
        collateral_kinds=COLLATERAL_KINDS,
        idempotency_key=uuid.uuid4().hex,
        purpose_label=_purpose_label,
    )


@router.get("/needs")
def needs(request: Request, db: DbSession, principal: Principal = page_guard(FINANCE)) -> Response:
    return render(request, "ent_needs.html", _needs_context(request, db, principal))


@router.post("/needs")
def publish_need(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(FINANCE),
) -> Response:
    def act() -> Response:
        data = NeedInput.model_validate(
            {
                "amount": _decimal(request, "amount"),
                "term_months": form_value(request, "term_months"),
                "purpose": form_value(request, "purpose"),
                "description": form_value(request, "description"),
                "collateral": form_value(request, "collateral", "none") or "none",
                "valid_days": form_value(request, "valid_days", "30") or "30",
                "authorise_takers": form_value(request, "authorise_takers") == "on",
            }
        )
        need = market.publish_need(
            db,
            _lake(settings),
            principal,
            data,
            settings,
            idempotency_key=form_value(request, "idempotency_key") or None,
        )
        return redirect(f"/enterprise/needs/{need.id}")

    return handle_form(request, db, "ent_needs.html", lambda: _needs_context(request, db, principal), act)


def _need_context(request: Request, db: DbSession, principal: Principal, need_id: int) -> dict[str, Any]:
    need: Need = market.get_need(db, principal, need_id)
    orders = market.offers_on(db, principal, need_id)
    consents = [c for c in market.consents_given(db, principal, limit=500) if c.need_id == need_id]
    return _base(
        request,
        principal,
        need=need,
        orders=orders,
        offers=[o for o in orders if o.offered_at is not None],
        waiting=[o for o in orders if o.offered_at is None],
        institutions=market.organisation_names(db, (o.institution_id for o in orders)),
        products=market.product_names(db, (o.product_id for o in orders)),
        may_withdraw="withdraw" in states.allowed_actions("need", need.status),
        may_accept="match" in states.allowed_actions("need", need.status),
        need_consents=consents,
        purpose_label=_purpose_label,
    )


@router.get("/needs/{need_id}")
def need_page(
    request: Request, need_id: int, db: DbSession, principal: Principal = page_guard(FINANCE)
) -> Response:
    return render(request, "ent_need.html", _need_context(request, db, principal, need_id))


@router.post("/needs/{need_id}/withdraw")
def withdraw_need(
    request: Request, need_id: int, db: DbSession, principal: Principal = page_guard(FINANCE)
) -> Response:
    def act() -> Response:
        market.withdraw_need(db, principal, need_id)
        return redirect(f"/enterprise/needs/{need_id}")

    return handle_form(
        request, db, "ent_need.html", lambda: _need_context(request, db, principal, need_id), act
    )


@router.post("/needs/{need_id}/offers/{order_id}/accept")
def accept_offer(
    request: Request,
    need_id: int,
    order_id: int,
    db: DbSession,
    principal: Principal = page_guard(FINANCE),
) -> Response:
    """Accept one offer: the need is matched, the other offers close, an application goes out."""

    def act() -> Response:
        if order_id not in {o.id for o in market.offers_on(db, principal, need_id)}:
            raise NotFound()
        application = market.accept_offer(db, principal, order_id)
        return redirect(f"/enterprise/applications/{application.id}")

    return handle_form(
        request, db, "ent_need.html", lambda: _need_context(request, db, principal, need_id), act
    )


# -- applications and loans ---------------------------------------------------------------------------


@router.get("/applications")
def applications(request: Request, db: DbSession, principal: Principal = page_guard(FINANCE)) -> Response:
    status = request.query_params.get("status", "")
    if status not in APPLICATION_STATUSES:
        status = ""
    page = page_number(request)
    rows, total = market.list_applications(
        db, principal, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "ent_applications.html",
        _base(
            request,
            principal,
            applications=rows,
            total=total,
            status=status,
            statuses=APPLICATION_STATUSES,
            institutions=market.organisation_names(db, (a.institution_id for a in rows)),
            products=market.product_names(db, (a.product_id for a in rows)),
            page=page,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            purpose_label=_purpose_label,
        ),
    )


def _application_context(
    request: Request, db: DbSession, principal: Principal, application_id: int
) -> dict[str, Any]:
    app: Application = market.get_application(db, principal, application_id)
    events = market.application_events(db, principal, application_id)
    loans, _total = market.list_loans(db, principal, limit=500)
    loan = next((x for x in loans if x.application_id == app.id), None)
    decision = app.decision or {}
    return _base(
        request,
        principal,
        application=app,
        events=events,
        loan=loan,
        records=market.loan_records(db, principal, loan.id) if loan else [],
        decision=decision,
        reasons=decision.get("reasons") or [],
        just_applied=request.query_params.get("applied") == "1",
        may_withdraw="withdraw" in states.allowed_actions("application", app.status),
        institutions=market.organisation_names(
            db, [app.institution_id, *(e.actor_organisation_id for e in events)]
        ),
        products=market.product_names(db, [app.product_id]),
        purpose_label=_purpose_label,
    )


@router.get("/applications/{application_id}")
def application_page(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(FINANCE)
) -> Response:
    return render(
        request, "ent_application.html", _application_context(request, db, principal, application_id)
    )


@router.post("/applications/{application_id}/review")
def request_review(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(FINANCE)
) -> Response:
    def act() -> Response:
        review = market.request_review(db, principal, application_id)
        return redirect(f"/enterprise/applications/{review.id}?applied=1")

    return handle_form(
        request,
        db,
        "ent_application.html",
        lambda: _application_context(request, db, principal, application_id),
        act,
    )


@router.post("/applications/{application_id}/withdraw")
def withdraw_application(
    request: Request, application_id: int, db: DbSession, principal: Principal = page_guard(FINANCE)
) -> Response:
    def act() -> Response:
        market.withdraw(db, principal, application_id)
        return redirect(f"/enterprise/applications/{application_id}")

    return handle_form(
        request,
        db,
        "ent_application.html",
        lambda: _application_context(request, db, principal, application_id),
        act,
    )


@router.get("/loans")
def loans(request: Request, db: DbSession, principal: Principal = page_guard(FINANCE)) -> Response:
    page = page_number(request)
    rows, total = market.list_loans(db, principal, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "ent_loans.html",
        _base(
            request,
            principal,
            loans=rows,
            total=total,
            institutions=market.organisation_names(db, (x.institution_id for x in rows)),
            products=market.product_names(db, (x.product_id for x in rows)),
            page=page,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
        ),
    )


# -- authorisations -----------------------------------------------------------------------------------


def consent_status(consent: Consent, today: date) -> str:
    """``given``, ``revoked`` or ``expired`` (a given consent past its date)."""
    if consent.status == "given" and consent.expires_on < today:
        return "expired"
    return consent.status


def _consents_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    consents = market.consents_given(db, principal, limit=200)
    today = today_local()
    return _base(
        request,
        principal,
        consents=consents,
        status_of={c.id: consent_status(c, today) for c in consents},
        receipts=evidence.receipts_for(db, (f"consent:{c.id}" for c in consents)),
        institutions=market.organisation_names(db, (c.institution_id for c in consents)),
        choices=market.institution_choices(db),
        consent_purposes=CONSENT_PURPOSES,
        default_expiry=today + timedelta(days=90),
    )


def _consent_input(request: Request) -> ConsentInput:
    institution = form_value(request, "institution_id")
    expires = form_value(request, "expires_on")
    try:
        expires_on = date.fromisoformat(expires)
    except ValueError:
        raise ValidationFailed("Enter the date as YYYY-MM-DD", field="expires_on") from None
    return ConsentInput.model_validate(
        {
            "institution_id": institution or None,
            "report_types": form_values(request, "report_types") or ["full"],
            "purpose": form_value(request, "purpose", "loan_review") or "loan_review",
            "expires_on": expires_on,
        }
    )


@router.get("/consents")
def consents(request: Request, db: DbSession, principal: Principal = page_guard(FINANCE)) -> Response:
    return render(request, "ent_consents.html", _consents_context(request, db, principal))


@router.post("/consents/preview")
def preview_consent(request: Request, db: DbSession, principal: Principal = page_guard(SIGN)) -> Response:
    """The confirm step: the exact text the enterprise will sign, to read before it signs."""

    def act() -> Response:
        data = _consent_input(request)
        text = market.preview_text(db, principal, data)
        return render(
            request,
            "ent_consent_confirm.html",
            _base(
                request,
                principal,
                data=data,
                text=text,
                institution=market.organisation_names(db, [data.institution_id]).get(
                    data.institution_id or 0, ""
                ),
            ),
        )

    return handle_form(
        request, db, "ent_consents.html", lambda: _consents_context(request, db, principal), act
    )


@router.post("/consents")
def give_consent(request: Request, db: DbSession, principal: Principal = page_guard(SIGN)) -> Response:
    """Sign: the text posted back must be the text the platform records, or nothing is signed."""

    def act() -> Response:
        data = _consent_input(request)
        signed = form_value(request, "signed_text")
        if not signed:
            raise ValidationFailed("Read the authorisation text and confirm it first", field="signed_text")
        market.give_consent(db, principal, data, signed_text=signed)
        return redirect("/enterprise/consents")

    return handle_form(
        request, db, "ent_consents.html", lambda: _consents_context(request, db, principal), act
    )


@router.post("/consents/{consent_id}/revoke")
def revoke_consent(
    request: Request, consent_id: int, db: DbSession, principal: Principal = page_guard(SIGN)
) -> Response:
    def act() -> Response:
        market.revoke_consent(db, principal, consent_id)
        return redirect("/enterprise/consents")

    return handle_form(
        request, db, "ent_consents.html", lambda: _consents_context(request, db, principal), act
    )


@router.get("/consents/looks")
def looks(request: Request, db: DbSession, principal: Principal = page_guard(FINANCE)) -> Response:
    """Who looked at my credit report, when, under which authorisation — and the refused attempts."""
    rows: Sequence[Any] = market.who_looked(db, principal, limit=200)
    return render(request, "ent_looks.html", _base(request, principal, looks=rows))
