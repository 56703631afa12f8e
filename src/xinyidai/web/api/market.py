"""API v1 for institutions' own systems: products, the applications queue and decisions, loans and reports.

Machine clients (an institution's API clients) act with the institution's non-admin roles within their
scopes; each route names the one permission (scope) it needs. Amounts are decimal strings in 元, rates
annual percentages. Errors are problem+json like everywhere else in the API.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from xinyidai.core.access import OrgKind, Permission, Principal
from xinyidai.core.errors import PermissionDenied, ValidationFailed
from xinyidai.market import service as market
from xinyidai.market.models import Application, Loan, LoanRecord, Product
from xinyidai.market.schemas import ApprovalInput, LoanReportInput, ProductInput, RejectionInput
from xinyidai.web.deps import DbSession, api_guard

router = APIRouter(prefix="/api/v1/market", tags=["market"])

ExternalId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", description="your own product id")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


class ProductBody(ProductInput):
    """A product as your system holds it; the id is the one in the path (``external_id`` may be left out)."""

    external_id: str | None = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"
    )


class ProductRead(BaseModel):
    id: int
    external_id: str
    name: str
    product_type: str
    description: str
    amount_min: Decimal
    amount_max: Decimal
    term_min: int
    term_max: int
    rate_min: Decimal
    rate_max: Decimal
    repayment_methods: list[str]
    regions: list[str]
    industries: list[str]
    sizes: list[str]
    grades: list[str]
    collateral: str
    pure_credit: bool
    online: bool
    instant: bool
    auto_disburse: bool
    admission_rule: str
    limit_formula: str
    pricing: dict[str, Decimal]
    status: str = Field(description="draft | pending_review | listed | delisted")
    review_note: str
    updated_at: datetime
    listed_at: datetime | None


class ApplicationRead(BaseModel):
    id: int
    uscc: str
    enterprise_name: str
    product_id: int
    product_external_id: str | None = None
    channel: str
    amount: Decimal
    term_months: int
    purpose: str
    grade: str
    status: str = Field(description="submitted | accepted | approved | rejected | disbursed | withdrawn")
    approved_amount: Decimal | None
    approved_rate: Decimal | None
    approved_term: int | None
    reject_reason: str
    due_at: datetime | None = Field(description="deadline of your next move")
    created_at: datetime
    updated_at: datetime


class ApproveBody(ApprovalInput):
    decision: Literal["approve"]


class RejectBody(RejectionInput):
    decision: Literal["reject"]


DecisionBody = Annotated[ApproveBody | RejectBody, Field(discriminator="decision")]


class LoanRead(BaseModel):
    id: int
    application_id: int
    uscc: str
    product_id: int
    contract_no: str
    amount: Decimal
    rate: Decimal
    term_months: int
    disbursed_on: date
    maturity_on: date
    outstanding: Decimal
    status: str = Field(description="current | overdue | defaulted | repaid")
    days_overdue: int


class LoanRecordRead(BaseModel):
    id: int
    loan_id: int
    kind: str
    amount: Decimal
    occurred_on: date
    days_overdue: int
    note: str
    reported_by: str
    idempotency_key: str | None
    reported_at: datetime
    loan_status: str
    outstanding: Decimal


def _product_read(product: Product) -> ProductRead:
    values = market.product_values(product)
    return ProductRead(
        id=product.id,
        external_id=product.external_id,
        status=product.status,
        review_note=product.review_note,
        updated_at=product.updated_at,
        listed_at=product.listed_at,
        **values,
    )


def _application_read(app: Application, external_ids: dict[int, str]) -> ApplicationRead:
    return ApplicationRead(
        id=app.id,
        uscc=app.uscc,
        enterprise_name=app.enterprise_name,
        product_id=app.product_id,
        product_external_id=external_ids.get(app.product_id),
        channel=app.channel,
        amount=app.amount,
        term_months=app.term_months,
        purpose=app.purpose,
        grade=app.grade,
        status=app.status,
        approved_amount=app.approved_amount,
        approved_rate=app.approved_rate,
        approved_term=app.approved_term,
        reject_reason=app.reject_reason,
        due_at=app.due_at,
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


def _loan_read(loan: Loan) -> LoanRead:
    return LoanRead(
        id=loan.id,
        application_id=loan.application_id,
        uscc=loan.uscc,
        product_id=loan.product_id,
        contract_no=loan.contract_no,
        amount=loan.amount,
        rate=loan.rate,
        term_months=loan.term_months,
        disbursed_on=loan.disbursed_on,
        maturity_on=loan.maturity_on,
        outstanding=loan.outstanding,
        status=loan.status,
        days_overdue=loan.days_overdue,
    )


def _record_read(record: LoanRecord, loan: Loan) -> LoanRecordRead:
    return LoanRecordRead(
        id=record.id,
        loan_id=record.loan_id,
        kind=record.kind,
        amount=record.amount,
        occurred_on=record.occurred_on,
        days_overdue=record.days_overdue,
        note=record.note,
        reported_by=record.reported_by,
        idempotency_key=record.idempotency_key,
        reported_at=record.reported_at,
        loan_status=loan.status,
        outstanding=loan.outstanding,
    )


def _institution(principal: Principal) -> None:
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()


@router.put(
    "/products/{external_id}",
    response_model=ProductRead,
    status_code=200,
    responses={201: {"model": ProductRead, "description": "created"}},
)
def put_product(
    external_id: ExternalId,
    body: Annotated[ProductBody, Body()],
    response: Response,
    db: DbSession,
    principal: Principal = api_guard(Permission.PRODUCTS_MANAGE),
) -> ProductRead:
    """Create or update your product with this id (idempotent): 201 when created, 200 when updated.

    Sending the same product again changes nothing. A listed product that changes goes back to the
    platform's review (``status`` pending_review); a new product is a draft until you submit it.
    """
    if body.external_id is not None and body.external_id != external_id:
        raise ValidationFailed(
            "The product id in the body differs from the one in the path", field="external_id"
        )
    written = market.upsert_product(db, principal, body.model_copy(update={"external_id": external_id}))
    response.status_code = 201 if written.created else 200
    return _product_read(written.product)


@router.get("/products", response_model=list[ProductRead])
def list_products(
    db: DbSession,
    status: Annotated[Literal["draft", "pending_review", "listed", "delisted"] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.PRODUCTS_BROWSE),
) -> list[ProductRead]:
    """Your institution's products in every status (or one), newest first."""
    _institution(principal)
    products, _total = market.list_products(
        db, principal, own=True, status=status, limit=limit, offset=offset
    )
    return [_product_read(p) for p in products]


@router.get("/applications", response_model=list[ApplicationRead])
def list_applications(
    db: DbSession,
    status: Annotated[
        Literal["submitted", "accepted", "approved", "rejected", "disbursed", "withdrawn"] | None, Query()
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.INSTITUTION_WORKBENCH),
) -> list[ApplicationRead]:
    """Your applications queue, newest first, with the deadline (``due_at``) of your next move."""
    rows, _total = market.list_applications(db, principal, status=status, limit=limit, offset=offset)
    return [_application_read(a, _external_ids(db, {a.product_id for a in rows})) for a in rows]


def _external_ids(db: DbSession, product_ids: set[int]) -> dict[int, str]:
    """The institution's own ids of the products its applications are for (no extra scope needed)."""
    if not product_ids:
        return {}
    return dict(db.execute(select(Product.id, Product.external_id).where(Product.id.in_(product_ids))).all())


@router.post("/applications/{application_id}/decision", response_model=ApplicationRead)
def decide(
    application_id: int,
    body: Annotated[DecisionBody, Body()],
    db: DbSession,
    principal: Principal = api_guard(Permission.CREDIT_DECIDE),
) -> ApplicationRead:
    """Approve (amount, rate, term within the product's ranges) or reject (with the reason the enterprise
    will read). A decision the application's state does not allow is refused (409) and changes nothing."""
    if isinstance(body, ApproveBody):
        app = market.approve(db, principal, application_id, body)
    else:
        app = market.reject(db, principal, application_id, body)
    return _application_read(app, _external_ids(db, {app.product_id}))


@router.get("/loans", response_model=list[LoanRead])
def list_loans(
    db: DbSession,
    status: Annotated[Literal["current", "overdue", "defaulted", "repaid"] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.INSTITUTION_WORKBENCH),
) -> list[LoanRead]:
    """Your loans, newest first."""
    rows, _total = market.list_loans(db, principal, status=status, limit=limit, offset=offset)
    return [_loan_read(loan) for loan in rows]


@router.post(
    "/loans/{loan_id}/reports",
    response_model=LoanRecordRead,
    status_code=201,
    responses={200: {"model": LoanRecordRead, "description": "already reported with this idempotency key"}},
)
def report_loan(
    loan_id: int,
    body: Annotated[LoanReportInput, Body()],
    response: Response,
    db: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    principal: Principal = api_guard(Permission.INSTITUTION_WORKBENCH),
) -> LoanRecordRead:
    """Report a repayment, an overdue, a cure, a default or a recovery on one of your loans.

    Send an idempotency key (the ``Idempotency-Key`` header or ``idempotency_key`` in the body): the same
    key posts once — a retry answers 200 with the first record instead of 201.
    """
    key = idempotency_key.strip() if idempotency_key else None
    if key and body.idempotency_key and key != body.idempotency_key:
        raise ValidationFailed(
            "The Idempotency-Key header and the idempotency_key field differ", field="idempotency_key"
        )
    data = body.model_copy(update={"idempotency_key": key or body.idempotency_key})
    before = {r.id for r in market.loan_records(db, principal, loan_id)} if data.idempotency_key else set()
    record = market.report_loan(db, principal, loan_id, data)
    response.status_code = 200 if record.id in before else 201
    loan = market.get_loan(db, principal, loan_id)
    return _record_read(record, loan)
