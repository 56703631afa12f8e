"""The fund manager's pages — funds (capital, cash, covered balance against the leverage limit, exposure by
grade), the claims queue and its review, the ledger — and the institution's claims on covered loans."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import today_local
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.funds import service as funds
from xinyidai.market import service as market
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import (
    form_date,
    form_decimal,
    form_value,
    form_values,
    handle_form,
    page_count,
    page_number,
    redirect,
)
from xinyidai.web.templating import render

router = APIRouter()

PAGE_SIZE = 50


def _amount(request: Request, name: str) -> Decimal:
    return form_decimal(request, name, N_("Enter an amount in yuan"))


def _date(request: Request, name: str) -> date | None:
    return form_date(request, name, N_("Enter a date as YYYY-MM-DD"))


def _labels() -> dict[str, Any]:
    return {
        "kinds": funds.KIND_LABELS,
        "coverage": funds.COVERAGE_LABELS,
        "claims": funds.CLAIM_LABELS,
        "accounts": funds.ACCOUNT_LABELS,
    }


# ----------------------------------------------------------------------------------------- funds


def _funds_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    rows = [(fund, funds.figures(db, fund)) for fund in funds.list_funds(db, principal)]
    products, _ = market.list_products(db, principal, status="listed", limit=200)
    return {
        "rows": rows,
        "products": products,
        "may_manage": can(principal, Permission.FUNDS_MANAGE),
        "scheme": [t for t in funds.WEIHAI_SCHEME if t.covered],
        "schemes": funds.list_schemes(db, principal),
        "labels": _labels(),
        "values": {"kind": "guarantee", "leverage": "10", "fee_rate": "0"},
    }


@router.get("/government/funds")
def funds_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    return render(request, "fund_list.html", _funds_context(request, db, principal))


@router.post("/government/funds")
def create_fund(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        try:
            leverage = Decimal(form_value(request, "leverage") or "0")
        except InvalidOperation:
            raise ValidationFailed("Enter the leverage limit as a number", field="leverage") from None
        try:
            product_ids = [int(p) for p in form_values(request, "product_ids")]
        except ValueError:
            raise ValidationFailed("Choose products from the list", field="product_ids") from None
        try:
            scheme_id = int(form_value(request, "scheme_id")) if form_value(request, "scheme_id") else None
        except ValueError:
            raise ValidationFailed("Choose a scheme from the list", field="scheme_id") from None
        fee_rate = (
            form_decimal(request, "fee_rate", N_("Enter the fee rate as a number"))
            if form_value(request, "fee_rate")
            else Decimal(0)
        )
        fund = funds.create_fund(
            db,
            principal,
            name=form_value(request, "name"),
            kind=form_value(request, "kind", "guarantee"),
            leverage=leverage,
            product_ids=product_ids,
            description=form_value(request, "description"),
            scheme_id=scheme_id,
            fee_rate=fee_rate,
        )
        return redirect(f"/government/funds/{fund.id}")

    return handle_form(request, db, "fund_list.html", lambda: _funds_context(request, db, principal), act)


def _fund_context(request: Request, db: DbSession, principal: Principal, fund_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    fund = funds.get_fund(db, principal, fund_id)
    page = page_number(request)
    status = request.query_params.get("status") or None
    status = status if status in funds.COVERAGE_LABELS else None
    coverage, total = funds.list_coverage(
        db, principal, fund.id, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    schemes = funds.schemes_of(db, fund.id)
    claims, _ = funds.list_claims(db, principal, fund_id=fund.id, limit=10)
    may_manage = can(principal, Permission.FUNDS_MANAGE) and fund.manager_id == principal.organisation_id
    return {
        "fund": fund,
        "figures": funds.figures(db, fund),
        "schemes": schemes,
        "scheme": funds.scheme_of(db, fund),
        "choices": funds.list_schemes(db, principal) if may_manage else [],
        "coverage": coverage,
        "claims": claims,
        "status": status or "",
        "products": market.product_names(db, fund.product_ids),
        "names": market.organisation_names(
            db,
            [c.institution_id for c in coverage]
            + [s.third_party_id for s in schemes]
            + [fund.manager_id]
            + [c.institution_id for c in claims],
        ),
        "may_manage": can(principal, Permission.FUNDS_MANAGE)
        and fund.manager_id == principal.organisation_id,
        "labels": _labels(),
        "page": page,
        "pages": page_count(total, PAGE_SIZE),
        "total": total,
        "idempotency_key": uuid.uuid4().hex,
        "values": {},
    }


@router.get("/government/funds/{fund_id}")
def fund_page(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    return render(request, "fund_detail.html", _fund_context(request, db, principal, fund_id))


@router.post("/government/funds/{fund_id}/contributions")
def contribute(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        funds.contribute(
            db,
            principal,
            fund_id,
            amount=_amount(request, "amount"),
            contributor=form_value(request, "contributor"),
            key=form_value(request, "idempotency_key") or uuid.uuid4().hex,
        )
        return redirect(f"/government/funds/{fund_id}")

    return handle_form(
        request, db, "fund_detail.html", lambda: _fund_context(request, db, principal, fund_id), act
    )


@router.post("/government/funds/{fund_id}/cover")
def cover(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        funds.cover_approved(db, principal, fund_id)
        return redirect(f"/government/funds/{fund_id}")

    return handle_form(
        request, db, "fund_detail.html", lambda: _fund_context(request, db, principal, fund_id), act
    )


@router.get("/government/funds/{fund_id}/ledger")
def ledger_page(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    fund = funds.get_fund(db, principal, fund_id)
    page = page_number(request)
    account = request.query_params.get("account") or ""
    account = account if account in funds.ACCOUNT_LABELS else ""
    ctx: dict[str, Any] = {
        "fund": fund,
        "accounts": funds.fund_accounts(db, principal, fund.id),
        "account": account,
        "labels": _labels(),
        "page": page,
        "pages": 1,
    }
    if account:
        lines = funds.fund_statement(
            db, principal, fund.id, account, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        ctx["statement"] = lines[:PAGE_SIZE]
        ctx["pages"] = page + 1 if len(lines) > PAGE_SIZE else page
    else:
        entries, total = funds.fund_entries(
            db, principal, fund.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        ctx["entries"] = entries
        ctx["pages"] = page_count(total, PAGE_SIZE)
    return render(request, "fund_ledger.html", ctx)


# ----------------------------------------------------------------------------------------- claims


@router.get("/government/claims")
def claims_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    page = page_number(request)
    status = request.query_params.get("status", "submitted")
    status = status if status in funds.CLAIM_LABELS else ""
    claims, total = funds.list_claims(
        db, principal, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "fund_claims.html",
        {
            "claims": claims,
            "status": status,
            "names": market.organisation_names(db, [c.institution_id for c in claims]),
            "fund_names": {f.id: f.name for f in funds.list_funds(db, principal)},
            "labels": _labels(),
            "page": page,
            "pages": page_count(total, PAGE_SIZE),
            "total": total,
        },
    )


def _claim_context(request: Request, db: DbSession, principal: Principal, claim_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    claim = funds.get_claim(db, principal, claim_id)
    fund = funds.get_fund(db, principal, claim.fund_id)
    return {
        "claim": claim,
        "fund": fund,
        "coverage": funds.claim_coverage(db, claim),
        "recoveries": funds.recoveries_of(db, claim),
        "names": market.organisation_names(db, [claim.institution_id]),
        "may_review": can(principal, Permission.FUNDS_MANAGE)
        and fund.manager_id == principal.organisation_id,
        "labels": _labels(),
        "values": {},
    }


@router.get("/government/claims/{claim_id}")
def claim_page(
    request: Request, claim_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    return render(request, "fund_claim.html", _claim_context(request, db, principal, claim_id))


@router.post("/government/claims/{claim_id}/approve")
def approve_claim(
    request: Request, claim_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        funds.approve_claim(db, principal, claim_id, note=form_value(request, "note"))
        return redirect(f"/government/claims/{claim_id}")

    return handle_form(
        request, db, "fund_claim.html", lambda: _claim_context(request, db, principal, claim_id), act
    )


@router.post("/government/claims/{claim_id}/reject")
def reject_claim(
    request: Request, claim_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        funds.reject_claim(db, principal, claim_id, reason=form_value(request, "reason"))
        return redirect(f"/government/claims/{claim_id}")

    return handle_form(
        request, db, "fund_claim.html", lambda: _claim_context(request, db, principal, claim_id), act
    )


# ----------------------------------------------------------------------------------------- institution


def _institution_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    page = page_number(request)
    claims, total = funds.list_claims(db, principal, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return {
        "claimable": funds.claimable_loans(db, principal),
        "claims": claims,
        "recoveries": {c.id: funds.recoveries_of(db, c) for c in claims if c.status == "paid"},
        "may_file": can(principal, Permission.CLAIMS_FILE),
        "labels": _labels(),
        "page": page,
        "pages": page_count(total, PAGE_SIZE),
        "idempotency_key": uuid.uuid4().hex,
        "today": today_local().isoformat(),
        "values": {},
    }


@router.get("/institution/claims")
def institution_claims(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    return render(request, "fund_inst_claims.html", _institution_context(request, db, principal))


@router.post("/institution/claims")
def file_claim(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.CLAIMS_FILE)
) -> Response:
    def act() -> Response:
        try:
            loan_id = int(form_value(request, "loan_id"))
        except ValueError:
            raise ValidationFailed("Choose the loan", field="loan_id") from None
        funds.file_claim(
            db,
            principal,
            loan_id=loan_id,
            loss=_amount(request, "loss"),
            note=form_value(request, "note"),
            idempotency_key=form_value(request, "idempotency_key") or None,
        )
        return redirect("/institution/claims")

    return handle_form(
        request, db, "fund_inst_claims.html", lambda: _institution_context(request, db, principal), act
    )


@router.post("/institution/claims/{claim_id}/recoveries")
def report_recovery(
    request: Request, claim_id: int, db: DbSession, principal: Principal = page_guard(Permission.CLAIMS_FILE)
) -> Response:
    def act() -> Response:
        funds.report_recovery(
            db,
            principal,
            claim_id,
            amount=_amount(request, "amount"),
            occurred_on=_date(request, "occurred_on"),
            note=form_value(request, "note"),
            idempotency_key=form_value(request, "idempotency_key") or None,
        )
        return redirect("/institution/claims")

    return handle_form(
        request, db, "fund_inst_claims.html", lambda: _institution_context(request, db, principal), act
    )
