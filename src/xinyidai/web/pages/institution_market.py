"""The institution's marketplace workbench and the operator's product review.

Institution: its products (form with the decision strategy, Excel export, import and template, submit,
delist), the need pool (抢单), its orders and offers, the applications queue with deadlines, one
application with its timeline and the allowed moves, loans with their records and the reporting form,
and the consents it holds. Operator: products waiting for review, listed or sent back with a note.

Every page calls the marketplace's services; a refused move re-shows the page with the message in the
user's language and changes nothing (``handle_form`` rolls back).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from xinyidai.accounts.models import Organisation
from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.codes import SECTIONS
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.core.evidence import service as evidence
from xinyidai.core.i18n import N_
from xinyidai.funds import service as funds
from xinyidai.market import product_excel, states
from xinyidai.market import service as market
from xinyidai.market.models import Application, Loan, Product
from xinyidai.market.schemas import (
    ApprovalInput,
    DisbursementInput,
    LoanReportInput,
    OfferInput,
    ProductInput,
    RejectionInput,
)
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, form_values, handle_form, page_count, page_number, redirect
from xinyidai.web.templating import render

router = APIRouter()

PAGE_SIZE = 20
EXPIRING_DAYS = 30
GRADES = ("A", "B", "C", "D")

PRODUCT_TYPE_LABELS: dict[str, str] = {
    "credit": N_("Credit loan"),
    "mortgage": N_("Mortgage loan"),
    "guarantee": N_("Guaranteed loan"),
    "policy": N_("Policy product"),
}
COLLATERAL_LABELS: dict[str, str] = {
    "none": N_("None"),
    "mortgage": N_("Mortgage"),
    "pledge": N_("Pledge"),
    "guarantor": N_("Guarantor"),
}
REPAYMENT_LABELS: dict[str, str] = {
    "bullet": N_("Principal and interest at maturity"),
    "interest_first": N_("Interest first, principal at maturity"),
    "equal_installment": N_("Equal instalments"),
    "equal_principal": N_("Equal principal"),
    "flexible": N_("Borrow and repay any time"),
}
SIZE_LABELS: dict[str, str] = {
    "micro": N_("Micro"),
    "small": N_("Small"),
    "medium": N_("Medium"),
    "large": N_("Large"),
}
PURPOSE_LABELS: dict[str, str] = {
    "working_capital": N_("Working capital"),
    "equipment": N_("Equipment"),
    "expansion": N_("Expansion"),
    "trade": N_("Trade"),
    "refinance": N_("Refinancing"),
    "other": N_("Other"),
}
CHANNEL_LABELS: dict[str, str] = {
    "product": N_("Product application"),
    "offer": N_("Accepted offer"),
    "instant": N_("Instant pre-credit"),
    "review": N_("Review of an instant refusal by a person"),
    "dispatch": N_("Dispatched"),
}
CLOSED_REASON_LABELS: dict[str, str] = {
    "released": N_("Released by us"),
    "another_offer_accepted": N_("Another offer was accepted"),
    "need_withdrawn": N_("The enterprise withdrew the need"),
    "need_expired": N_("The need expired"),
}
REPORT_KIND_LABELS: dict[str, str] = {
    "repayment": N_("Repayment"),
    "overdue": N_("Overdue"),
    "cured": N_("Overdue cured"),
    "default": N_("Default"),
    "recovered": N_("Recovered"),
}
CONSENT_PURPOSE_LABELS: dict[str, str] = {
    "loan_review": N_("Loan review"),
    "post_loan": N_("Post-loan management"),
    "guarantee_review": N_("Guarantee review"),
}
REPORT_TYPE_LABELS: dict[str, str] = {"concise": N_("Concise version"), "full": N_("Full version")}

MARKET_LABELS: dict[str, dict[str, str]] = {
    "state": dict(states.STATE_LABELS),
    "action": dict(states.ACTION_LABELS),
    "product_type": PRODUCT_TYPE_LABELS,
    "collateral": COLLATERAL_LABELS,
    "repayment": REPAYMENT_LABELS,
    "size": SIZE_LABELS,
    "purpose": PURPOSE_LABELS,
    "channel": CHANNEL_LABELS,
    "closed_reason": CLOSED_REASON_LABELS,
    "report_kind": REPORT_KIND_LABELS,
    "consent_purpose": CONSENT_PURPOSE_LABELS,
    "report_type": REPORT_TYPE_LABELS,
}

# The moves of an application the institution makes, and who may make each.
APPLICATION_MOVES: dict[str, Permission] = {
    "accept": Permission.ORDERS_WORK,
    "approve": Permission.CREDIT_DECIDE,
    "reject": Permission.CREDIT_DECIDE,
    "disburse": Permission.ORDERS_WORK,
}
WAITING = ("submitted", "accepted", "approved")


def _base(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    return {"mlabels": MARKET_LABELS, "values": {}, **extra}


def _organisation_names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def _own_products(db: Session, principal: Principal, status: str | None = None) -> Sequence[Product]:
    products, _total = market.list_products(db, principal, own=True, status=status, limit=500)
    return products


# --- products -------------------------------------------------------------------------------------

PRODUCT_TEXT_FIELDS = (
    "external_id",
    "name",
    "product_type",
    "description",
    "amount_min",
    "amount_max",
    "term_min",
    "term_max",
    "rate_min",
    "rate_max",
    "collateral",
    "admission_rule",
    "limit_formula",
)
PRODUCT_LIST_FIELDS = ("repayment_methods", "industries", "sizes", "grades")
PRODUCT_FLAGS = ("pure_credit", "online", "instant", "auto_disburse")
KEEP_EMPTY = ("description", "admission_rule", "limit_formula")


def _split_codes(text: str) -> list[str]:
    return [part for part in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if part]


def _posted_product(request: Request) -> dict[str, Any]:
    """The product form as ``ProductInput`` fields; empty inputs are left out so defaults apply."""
    fields: dict[str, Any] = {}
    for name in PRODUCT_TEXT_FIELDS:
        value = form_value(request, name)
        if value or name in KEEP_EMPTY:
            fields[name] = value
    for name in PRODUCT_LIST_FIELDS:
        fields[name] = form_values(request, name)
    fields["regions"] = _split_codes(form_value(request, "regions"))
    for name in PRODUCT_FLAGS:
        fields[name] = form_value(request, name) == "on"
    fields["pricing"] = {
        g: form_value(request, f"pricing_{g}") for g in GRADES if form_value(request, f"pricing_{g}")
    }
    return fields


def _shown_product(request: Request, product: Product | None) -> dict[str, Any]:
    """What the form shows: what was just posted (after an error), else the product, else defaults."""
    if request.method == "POST" and getattr(request.state, "form", None) is not None:
        shown = _posted_product(request)
        shown["regions"] = form_value(request, "regions")
        return shown
    if product is None:
        return {"product_type": "credit", "collateral": "none", "repayment_methods": [], "pricing": {}}
    shown = market.product_values(product)
    shown["external_id"] = product.external_id
    shown["regions"] = "、".join(product.regions or [])
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        shown[name] = format(shown[name], "f")
    shown["pricing"] = {k: format(v, "f") for k, v in shown["pricing"].items()}
    return shown


def _products_context(
    request: Request, db: Session, principal: Principal, status: str = "", page: int = 1
) -> dict[str, Any]:
    page = max(page, 1)
    products, total = market.list_products(
        db, principal, own=True, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return _base(
        request,
        principal,
        products=products,
        status=status,
        statuses=("draft", "pending_review", "listed", "delisted"),
        page=page,
        pages=page_count(total, PAGE_SIZE),
        total=total,
        may_manage=can(principal, Permission.PRODUCTS_MANAGE),
        imported={k: request.query_params.get(k) for k in ("created", "updated", "unchanged")},
        import_errors=[],
    )


@router.get("/institution/products")
def products(
    request: Request,
    db: DbSession,
    status: str = "",
    page: int = 1,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    return render(request, "inst_products.html", _products_context(request, db, principal, status, page))


@router.get("/institution/products/export.xlsx")
def export_products(db: DbSession, principal: Principal = page_guard(Permission.PRODUCTS_MANAGE)) -> Response:
    content = product_excel.export_products(db, principal)
    name = f"products-{today_local().isoformat()}.xlsx"
    return Response(
        content,
        media_type=product_excel.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@router.get("/institution/products/template.xlsx")
def product_template(principal: Principal = page_guard(Permission.PRODUCTS_MANAGE)) -> Response:
    return Response(
        product_excel.product_template(),
        media_type=product_excel.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''" + quote("产品导入模板.xlsx")},
    )


@router.post("/institution/products/import")
def import_products(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.PRODUCTS_MANAGE)
) -> Response:
    def act() -> Response:
        form = getattr(request.state, "form", None)
        upload = form.get("file") if form is not None else None
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("Choose an Excel file (.xlsx) to import", field="file")
        try:
            content = upload.file.read()
        finally:
            upload.file.close()  # the spooled temporary file of the upload
        if not content:
            raise ValidationFailed("Choose an Excel file (.xlsx) to import", field="file")
        report = product_excel.import_products(db, principal, content)
        if not report.ok:
            db.rollback()  # nothing is written unless every row is right
            ctx = _products_context(request, db, principal)
            ctx["import_errors"] = [
                {
                    "row": e.row,
                    "column": e.column,
                    "message": i18n.translate(e.message, e.params, request.state.locale),
                }
                for e in report.errors
            ]
            ctx["import_rows"] = report.rows
            return render(request, "inst_products.html", ctx, status_code=422)
        return redirect(
            f"/institution/products?created={report.created}&updated={report.updated}&unchanged={report.unchanged}"
        )

    return handle_form(
        request, db, "inst_products.html", lambda: _products_context(request, db, principal), act
    )


def _product_form_context(
    request: Request, db: Session, principal: Principal, product: Product | None
) -> dict[str, Any]:
    return _base(
        request,
        principal,
        product=product,
        v=_shown_product(request, product),
        may_manage=can(principal, Permission.PRODUCTS_MANAGE),
        actions=[a for a in states.allowed_actions("product", product.status) if a in ("submit", "delist")]
        if product
        else [],
        grades=GRADES,
        sections=SECTIONS,
    )


@router.get("/institution/products/new")
def new_product(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.PRODUCTS_MANAGE)
) -> Response:
    return render(request, "inst_product.html", _product_form_context(request, db, principal, None))


@router.post("/institution/products")
def create_product(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.PRODUCTS_MANAGE)
) -> Response:
    def act() -> Response:
        data = ProductInput.model_validate(_posted_product(request))
        written = market.upsert_product(db, principal, data)
        if not written.created:
            raise Conflict(
                "You already have a product with the id %(id)s", field="external_id", id=data.external_id
            )
        return redirect(f"/institution/products/{written.product.id}")

    return handle_form(
        request, db, "inst_product.html", lambda: _product_form_context(request, db, principal, None), act
    )


@router.get("/institution/products/{product_id}")
def product_detail(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    product = _own_product(db, principal, product_id)
    return render(request, "inst_product.html", _product_form_context(request, db, principal, product))


def _own_product(db: Session, principal: Principal, product_id: int) -> Product:
    product = market.get_product(db, principal, product_id)
    if product.institution_id != principal.organisation_id:
        raise NotFound()
    return product


def _product_action(
    request: Request, db: Session, principal: Principal, product_id: int, action: Callable[[Product], Any]
) -> Response:
    product = _own_product(db, principal, product_id)

    def act() -> Response:
        action(product)
        return redirect(f"/institution/products/{product_id}")

    return handle_form(
        request,
        db,
        "inst_product.html",
        lambda: _product_form_context(request, db, principal, _own_product(db, principal, product_id)),
        act,
    )


@router.post("/institution/products/{product_id}")
def update_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_MANAGE),
) -> Response:
    def update(product: Product) -> None:
        fields = _posted_product(request)
        fields["external_id"] = product.external_id  # the institution's id never changes here
        market.upsert_product(db, principal, ProductInput.model_validate(fields))

    return _product_action(request, db, principal, product_id, update)


@router.post("/institution/products/{product_id}/submit")
def submit_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_MANAGE),
) -> Response:
    return _product_action(
        request, db, principal, product_id, lambda p: market.submit_product(db, principal, p.id)
    )


@router.post("/institution/products/{product_id}/delist")
def delist_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_MANAGE),
) -> Response:
    return _product_action(
        request, db, principal, product_id, lambda p: market.delist_product(db, principal, p.id)
    )


# --- need pool and orders -------------------------------------------------------------------------


def _amount(text: str) -> Decimal | None:
    text = text.replace(",", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _pool_context(request: Request, db: Session, principal: Principal) -> dict[str, Any]:
    params = request.query_params
    grade = params.get("grade", "")
    grade = grade if grade in GRADES else ""
    min_amount, max_amount = _amount(params.get("min_amount", "")), _amount(params.get("max_amount", ""))
    try:
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        page = 1
    pool = market.need_pool(
        db,
        principal,
        grade=grade or None,
        min_amount=min_amount,
        max_amount=max_amount,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return _base(
        request,
        principal,
        pool=pool,
        grade=grade,
        grades=GRADES,
        min_amount=params.get("min_amount", ""),
        max_amount=params.get("max_amount", ""),
        page=page,
        pages=page_count(pool.total, PAGE_SIZE),
        may_grab=can(principal, Permission.ORDERS_WORK),
        sections=SECTIONS,
        purpose_code=lambda p: p.partition(":")[0],
        purpose_note=lambda p: p.partition(":")[2].strip(),
    )


@router.get("/institution/pool")
def need_pool(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    return render(request, "inst_pool.html", _pool_context(request, db, principal))


@router.post("/institution/pool/{need_id}/grab")
def grab(
    request: Request, need_id: int, db: DbSession, principal: Principal = page_guard(Permission.ORDERS_WORK)
) -> Response:
    def act() -> Response:
        order = market.grab(db, principal, need_id)
        return redirect(f"/institution/orders#order-{order.id}")

    return handle_form(request, db, "inst_pool.html", lambda: _pool_context(request, db, principal), act)


def _orders_context(
    request: Request, db: Session, principal: Principal, order_id: int | None = None
) -> dict[str, Any]:
    status = request.query_params.get("status", "")
    rows = market.list_orders(db, principal, status=status or None, limit=200)
    names = {p.id: p.name for p in _own_products(db, principal)}
    return _base(
        request,
        principal,
        rows=rows,
        status=status,
        statuses=("held", "offered", "accepted", "closed"),
        listed=_own_products(db, principal, "listed"),
        product_names=names,
        may_work=can(principal, Permission.ORDERS_WORK),
        error_order=order_id,
        purpose_code=lambda p: p.partition(":")[0],
        purpose_note=lambda p: p.partition(":")[2].strip(),
    )


@router.get("/institution/orders")
def orders(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    return render(request, "inst_orders.html", _orders_context(request, db, principal))


@router.post("/institution/orders/{order_id}/offer")
def make_offer(
    request: Request, order_id: int, db: DbSession, principal: Principal = page_guard(Permission.ORDERS_WORK)
) -> Response:
    def act() -> Response:
        fields: dict[str, Any] = {
            name: form_value(request, name)
            for name in (
                "product_id",
                "amount",
                "rate",
                "term_months",
                "collateral",
                "fees",
                "repayment_method",
                "note",
            )
            if form_value(request, name) or name == "note"
        }
        market.make_offer(db, principal, order_id, OfferInput.model_validate(fields))
        return redirect(f"/institution/orders#order-{order_id}")

    return handle_form(
        request, db, "inst_orders.html", lambda: _orders_context(request, db, principal, order_id), act
    )


@router.post("/institution/orders/{order_id}/release")
def release_order(
    request: Request, order_id: int, db: DbSession, principal: Principal = page_guard(Permission.ORDERS_WORK)
) -> Response:
    def act() -> Response:
        market.release(db, principal, order_id)
        return redirect("/institution/orders")

    return handle_form(
        request, db, "inst_orders.html", lambda: _orders_context(request, db, principal, order_id), act
    )


# --- applications ---------------------------------------------------------------------------------


@router.get("/institution/applications")
def applications(
    request: Request,
    db: DbSession,
    status: str = "",
    page: int = 1,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    page = max(page, 1)
    rows, total = market.list_applications(
        db, principal, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    now = utcnow()
    return render(
        request,
        "inst_applications.html",
        _base(
            request,
            principal,
            rows=rows,
            total=total,
            status=status,
            statuses=("submitted", "accepted", "approved", "rejected", "disbursed", "withdrawn"),
            page=page,
            pages=page_count(total, PAGE_SIZE),
            product_names={p.id: p.name for p in _own_products(db, principal)},
            late={a.id for a in rows if a.status in WAITING and a.due_at is not None and a.due_at < now},
        ),
    )


def _application_context(
    request: Request, db: Session, principal: Principal, application_id: int
) -> dict[str, Any]:
    app = market.get_application(db, principal, application_id)
    product = db.get(Product, app.product_id)
    loan_id = db.scalar(select(Loan.id).where(Loan.application_id == app.id))
    moves = [
        a
        for a in states.allowed_actions("application", app.status)
        if a in APPLICATION_MOVES and can(principal, APPLICATION_MOVES[a])
    ]
    return _base(
        request,
        principal,
        application=app,
        product=product,
        events=market.application_events(db, principal, application_id),
        receipts=evidence.receipts_for(db, [f"application:{app.id}"]).get(f"application:{app.id}", []),
        moves=moves,
        loan_id=loan_id,
        late=app.status in WAITING and app.due_at is not None and app.due_at < utcnow(),
        may_read_report=can(principal, Permission.REPORT_READ),
        today=today_local().isoformat(),
        coverage=funds.decisions_for(db, principal, application_id),  # the funds' decisions on the loan
        may_state_collateral=can(principal, Permission.CREDIT_DECIDE),
    )


@router.get("/institution/applications/{application_id}")
def application_detail(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    return render(
        request, "inst_application.html", _application_context(request, db, principal, application_id)
    )


def _application_move(
    request: Request, db: Session, principal: Principal, application_id: int, move: Callable[[], Any]
) -> Response:
    market.get_application(db, principal, application_id)  # another institution's: 404 before any form

    def act() -> Response:
        result = move()
        if isinstance(result, Loan):
            return redirect(f"/institution/loans/{result.id}")
        return redirect(f"/institution/applications/{application_id}")

    return handle_form(
        request,
        db,
        "inst_application.html",
        lambda: _application_context(request, db, principal, application_id),
        act,
    )


def _fields(request: Request, names: Sequence[str], keep: Sequence[str] = ()) -> dict[str, str]:
    return {n: form_value(request, n) for n in names if form_value(request, n) or n in keep}


@router.post("/institution/applications/{application_id}/accept")
def accept_application(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORDERS_WORK),
) -> Response:
    return _application_move(
        request, db, principal, application_id, lambda: market.accept(db, principal, application_id)
    )


@router.post("/institution/applications/{application_id}/approve")
def approve_application(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.CREDIT_DECIDE),
) -> Response:
    def move() -> Application:
        data = ApprovalInput.model_validate(
            _fields(request, ("amount", "rate", "term_months", "note", "collateral_value"), ("note",))
        )
        return market.approve(db, principal, application_id, data)

    return _application_move(request, db, principal, application_id, move)


@router.post("/institution/applications/{application_id}/reject")
def reject_application(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.CREDIT_DECIDE),
) -> Response:
    def move() -> Application:
        data = RejectionInput.model_validate(_fields(request, ("reason",), ("reason",)))
        return market.reject(db, principal, application_id, data)

    return _application_move(request, db, principal, application_id, move)


@router.post("/institution/applications/{application_id}/disburse")
def disburse_application(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORDERS_WORK),
) -> Response:
    def move() -> Loan:
        data = DisbursementInput.model_validate(
            _fields(request, ("contract_no", "disbursed_on"), ("contract_no",))
        )
        return market.disburse(db, principal, application_id, data)

    return _application_move(request, db, principal, application_id, move)


# --- loans ----------------------------------------------------------------------------------------


@router.get("/institution/loans")
def loans(
    request: Request,
    db: DbSession,
    status: str = "",
    page: int = 1,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    page = max(page, 1)
    rows, total = market.list_loans(
        db, principal, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    enterprises = _organisation_names(db, {loan.enterprise_id for loan in rows})
    return render(
        request,
        "inst_loans.html",
        _base(
            request,
            principal,
            rows=rows,
            total=total,
            status=status,
            statuses=("current", "overdue", "defaulted", "repaid"),
            page=page,
            pages=page_count(total, PAGE_SIZE),
            enterprises=enterprises,
            product_names={p.id: p.name for p in _own_products(db, principal)},
        ),
    )


def _loan_context(request: Request, db: Session, principal: Principal, loan_id: int) -> dict[str, Any]:
    loan = market.get_loan(db, principal, loan_id)
    product = db.get(Product, loan.product_id)
    return _base(
        request,
        principal,
        loan=loan,
        product=product,
        enterprise=_organisation_names(db, {loan.enterprise_id}).get(loan.enterprise_id, ""),
        records=market.loan_records(db, principal, loan_id),
        kinds=[k for k in REPORT_KIND_LABELS if k in _reportable(loan.status)],
        may_report=can(principal, Permission.INSTITUTION_WORKBENCH) and bool(_reportable(loan.status)),
        may_read_report=can(principal, Permission.REPORT_READ),
        today=today_local().isoformat(),
        idempotency_key=uuid.uuid4().hex,
    )


def _reportable(status: str) -> set[str]:
    """The report kinds that make sense for a loan in ``status`` (a full repayment closes it)."""
    allowed = set(states.allowed_actions("loan", status))
    return {k for k in REPORT_KIND_LABELS if k in allowed}


@router.get("/institution/loans/{loan_id}")
def loan_detail(
    request: Request,
    loan_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    return render(request, "inst_loan.html", _loan_context(request, db, principal, loan_id))


@router.post("/institution/loans/{loan_id}/reports")
def report_loan(
    request: Request,
    loan_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH),
) -> Response:
    market.get_loan(db, principal, loan_id)

    def act() -> Response:
        fields = _fields(
            request,
            ("kind", "amount", "occurred_on", "days_overdue", "note", "idempotency_key"),
            ("note",),
        )
        market.report_loan(db, principal, loan_id, LoanReportInput.model_validate(fields))
        return redirect(f"/institution/loans/{loan_id}")

    return handle_form(
        request, db, "inst_loan.html", lambda: _loan_context(request, db, principal, loan_id), act
    )


# --- consents -------------------------------------------------------------------------------------


@router.get("/institution/consents")
def consents(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    held = market.consents_received(db, principal, limit=500)
    soon = today_local() + timedelta(days=EXPIRING_DAYS)
    return render(
        request,
        "inst_consents.html",
        _base(
            request,
            principal,
            consents=held,
            expiring={c.id for c in held if c.expires_on <= soon},
            enterprises=_organisation_names(db, {c.enterprise_id for c in held}),
            days=EXPIRING_DAYS,
            may_read_report=can(principal, Permission.REPORT_READ),
        ),
    )


# --- the operator's product review ----------------------------------------------------------------


def _review_list_context(request: Request, db: Session, principal: Principal) -> dict[str, Any]:
    status = request.query_params.get("status", "pending_review")
    status = (
        status if status in ("pending_review", "listed", "draft", "delisted", "all") else "pending_review"
    )
    page = page_number(request)
    rows, total = market.list_products(
        db,
        principal,
        own=True,
        status=None if status == "all" else status,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return _base(
        request,
        principal,
        products=rows,
        total=total,
        status=status,
        statuses=("pending_review", "listed", "draft", "delisted", "all"),
        page=page,
        pages=page_count(total, PAGE_SIZE),
        institutions=_organisation_names(db, {p.institution_id for p in rows}),
    )


@router.get("/operator/products")
def review_queue(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.PRODUCTS_REVIEW)
) -> Response:
    return render(request, "op_products.html", _review_list_context(request, db, principal))


def _review_context(request: Request, db: Session, principal: Principal, product_id: int) -> dict[str, Any]:
    product = market.get_product(db, principal, product_id)
    return _base(
        request,
        principal,
        product=product,
        institution=_organisation_names(db, {product.institution_id}).get(product.institution_id, ""),
        actions=[a for a in states.allowed_actions("product", product.status) if a in ("list", "send_back")],
        sections=SECTIONS,
    )


@router.get("/operator/products/{product_id}")
def review_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_REVIEW),
) -> Response:
    return render(request, "op_product.html", _review_context(request, db, principal, product_id))


def _review(
    request: Request, db: Session, principal: Principal, product_id: int, *, approve: bool
) -> Response:
    market.get_product(db, principal, product_id)

    def act() -> Response:
        market.review_product(db, principal, product_id, approve=approve, note=form_value(request, "note"))
        return redirect("/operator/products")

    return handle_form(
        request, db, "op_product.html", lambda: _review_context(request, db, principal, product_id), act
    )


@router.post("/operator/products/{product_id}/list")
def list_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_REVIEW),
) -> Response:
    return _review(request, db, principal, product_id, approve=True)


@router.post("/operator/products/{product_id}/send-back")
def send_back_product(
    request: Request,
    product_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.PRODUCTS_REVIEW),
) -> Response:
    return _review(request, db, principal, product_id, approve=False)
