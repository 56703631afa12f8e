"""API v1 for public money: institutions file claims on covered loans and read their claims and covered
loans; fund managers (and the auditor) read their funds, exposure and the claims queue.

Amounts are decimal strings in 元, shares percentages (``"80.00"`` = 80 %). Machine clients act within the
scopes their organisation granted (``funds.claims.file``, ``market.institution``, ``funds.read``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, Field

from xinyidai.core.access import Permission, Principal
from xinyidai.core.errors import ValidationFailed
from xinyidai.funds import service as funds
from xinyidai.funds.schemes_models import Claim, CoveredLoan, GuaranteeFund, RiskScheme
from xinyidai.web.deps import DbSession, api_guard

router = APIRouter(prefix="/api/v1", tags=["funds"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
ClaimStatus = Literal["submitted", "paid", "rejected"]
CoverageStatus = Literal["covered", "claimed", "paid", "refused"]


class BandRead(BaseModel):
    grade: str
    covered: bool
    amount_min: Decimal
    amount_max: Decimal | None
    collateral_max_pct: Decimal
    fund_pct: Decimal
    bank_pct: Decimal
    third_party_pct: Decimal
    third_party_name: str


class GradeExposureRead(BaseModel):
    grade: str
    loans: int
    balance: Decimal = Field(description="covered balance (元)")
    fund_share: Decimal = Field(description="the fund's share of it at each loan's terms (元)")


class FundRead(BaseModel):
    id: int
    name: str
    kind: str = Field(description="guarantee | compensation")
    status: str
    leverage: Decimal
    product_ids: list[int]
    scheme_id: int | None
    scheme_name: str | None
    scheme_version: int | None
    fee_rate: Decimal | None = Field(description="the scheme's guarantee fee, % a year")
    capital: Decimal
    cash: Decimal
    payouts: Decimal
    recoveries: Decimal
    fees: Decimal
    covered_balance: Decimal
    limit: Decimal
    headroom: Decimal


class FundDetailRead(FundRead):
    exposure: list[GradeExposureRead]
    bands: list[BandRead]


class CoveredLoanRead(BaseModel):
    id: int
    fund_id: int
    application_id: int
    loan_id: int | None
    uscc: str
    enterprise_name: str
    grade: str
    amount: Decimal
    collateral_value: Decimal
    fund_pct: Decimal
    third_party_pct: Decimal
    third_party_name: str
    fee_rate: Decimal
    fee_amount: Decimal
    status: str = Field(description="covered | claimed | paid | refused")
    reason: str = Field(description="why not covered (English message id), empty when covered")
    reason_params: dict[str, str | int | float]
    decided_at: datetime


class ClaimRead(BaseModel):
    id: int
    fund_id: int
    loan_id: int
    institution_id: int
    loss: Decimal
    outstanding: Decimal
    fund_amount: Decimal
    third_party_amount: Decimal
    institution_amount: Decimal
    note: str
    status: str = Field(description="submitted | paid | rejected")
    review_note: str
    idempotency_key: str | None
    filed_at: datetime
    reviewed_at: datetime | None


class ClaimBody(BaseModel):
    loan_id: int = Field(ge=1)
    loss: Decimal = Field(gt=0, le=Decimal("100000000000"), max_digits=18, decimal_places=2)
    note: str = Field(default="", max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=64)


def _band_read(band: RiskScheme) -> BandRead:
    return BandRead(
        grade=band.grade,
        covered=band.covered,
        amount_min=band.amount_min,
        amount_max=band.amount_max,
        collateral_max_pct=band.collateral_max_pct,
        fund_pct=band.fund_pct,
        bank_pct=Decimal(100) - band.fund_pct - band.third_party_pct if band.covered else Decimal(0),
        third_party_pct=band.third_party_pct,
        third_party_name=band.third_party_name,
    )


def _fund_values(db: DbSession, fund: GuaranteeFund) -> tuple[dict[str, object], funds.FundFigures]:
    figures = funds.figures(db, fund)
    scheme = funds.scheme_of(db, fund)
    values: dict[str, object] = {
        "id": fund.id,
        "name": fund.name,
        "kind": fund.kind,
        "status": fund.status,
        "leverage": fund.leverage,
        "product_ids": list(fund.product_ids),
        "scheme_id": fund.scheme_id,
        "scheme_name": scheme.name if scheme else None,
        "scheme_version": scheme.version if scheme else None,
        "fee_rate": scheme.fee_rate if scheme else None,
        "capital": figures.capital,
        "cash": figures.cash,
        "payouts": figures.payouts,
        "recoveries": figures.recoveries,
        "fees": figures.fees,
        "covered_balance": figures.covered_balance,
        "limit": figures.limit,
        "headroom": figures.headroom,
    }
    return values, figures


def _coverage_read(c: CoveredLoan) -> CoveredLoanRead:
    return CoveredLoanRead(
        id=c.id,
        fund_id=c.fund_id,
        application_id=c.application_id,
        loan_id=c.loan_id,
        uscc=c.uscc,
        enterprise_name=c.enterprise_name,
        grade=c.grade,
        amount=c.amount,
        collateral_value=c.collateral_value,
        fund_pct=c.fund_pct,
        third_party_pct=c.third_party_pct,
        third_party_name=c.third_party_name,
        fee_rate=c.fee_rate,
        fee_amount=c.fee_amount,
        status=c.status,
        reason=c.reason,
        reason_params=dict(c.reason_params or {}),
        decided_at=c.decided_at,
    )


def _claim_read(c: Claim) -> ClaimRead:
    return ClaimRead(
        id=c.id,
        fund_id=c.fund_id,
        loan_id=c.loan_id,
        institution_id=c.institution_id,
        loss=c.loss,
        outstanding=c.outstanding,
        fund_amount=c.fund_amount,
        third_party_amount=c.third_party_amount,
        institution_amount=c.institution_amount,
        note=c.note,
        status=c.status,
        review_note=c.review_note,
        idempotency_key=c.idempotency_key,
        filed_at=c.filed_at,
        reviewed_at=c.reviewed_at,
    )


# ----------------------------------------------------------------------------------------- fund managers


@router.get("/funds", response_model=list[FundRead])
def list_funds(db: DbSession, principal: Principal = api_guard(Permission.FUNDS_READ)) -> list[FundRead]:
    """Your department's risk-sharing funds with their figures now: capital, cash, covered balance against
    the leverage limit (元)."""
    return [FundRead.model_validate(_fund_values(db, f)[0]) for f in funds.list_funds(db, principal)]


@router.get("/funds/{fund_id}", response_model=FundDetailRead)
def get_fund(
    fund_id: int, db: DbSession, principal: Principal = api_guard(Permission.FUNDS_READ)
) -> FundDetailRead:
    """One fund: its figures, its exposure by grade (covered balance and the fund's share of it) and the
    bands of the scheme it uses now."""
    fund = funds.get_fund(db, principal, fund_id)
    values, figures = _fund_values(db, fund)
    return FundDetailRead.model_validate(
        {
            **values,
            "exposure": [
                GradeExposureRead(grade=g.grade, loans=g.loans, balance=g.balance, fund_share=g.fund_share)
                for g in figures.exposure
            ],
            "bands": [_band_read(b) for b in funds.schemes_of(db, fund.id)],
        }
    )


@router.get("/funds/{fund_id}/covered-loans", response_model=list[CoveredLoanRead])
def fund_coverage(
    fund_id: int,
    db: DbSession,
    status: Annotated[CoverageStatus | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.FUNDS_READ),
) -> list[CoveredLoanRead]:
    """The fund's decisions on loans (covered and refused, with the reason), newest first."""
    rows, _total = funds.list_coverage(db, principal, fund_id, status=status, limit=limit, offset=offset)
    return [_coverage_read(c) for c in rows]


@router.get("/fund-claims", response_model=list[ClaimRead])
def claims_queue(
    db: DbSession,
    status: Annotated[ClaimStatus | None, Query(description="default: submitted (the review queue)")] = None,
    fund_id: Annotated[int | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.FUNDS_READ),
) -> list[ClaimRead]:
    """The claims on your department's funds, newest first — by default those waiting for review."""
    rows, _total = funds.list_claims(
        db, principal, status=status or "submitted", fund_id=fund_id, limit=limit, offset=offset
    )
    return [_claim_read(c) for c in rows]


# ----------------------------------------------------------------------------------------- institutions


@router.get("/claims", response_model=list[ClaimRead])
def my_claims(
    db: DbSession,
    status: Annotated[ClaimStatus | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.INSTITUTION_WORKBENCH),
) -> list[ClaimRead]:
    """Your institution's claims, newest first, with how each loss is split and paid."""
    rows, _total = funds.list_claims(db, principal, status=status, limit=limit, offset=offset)
    return [_claim_read(c) for c in rows]


@router.post(
    "/claims",
    response_model=ClaimRead,
    status_code=201,
    responses={200: {"model": ClaimRead, "description": "already filed with this idempotency key"}},
)
def file_claim(
    body: Annotated[ClaimBody, Body()],
    response: Response,
    db: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    principal: Principal = api_guard(Permission.CLAIMS_FILE),
) -> ClaimRead:
    """File a claim with your loss (元) on a covered loan in default: at most its outstanding principal,
    one live claim per default. Send an idempotency key (``Idempotency-Key`` header or ``idempotency_key``
    in the body): a retry answers 200 with the first claim instead of filing twice."""
    key = idempotency_key.strip() if idempotency_key else None
    if key and body.idempotency_key and key != body.idempotency_key:
        raise ValidationFailed(
            "The Idempotency-Key header and the idempotency_key field differ", field="idempotency_key"
        )
    key = key or body.idempotency_key
    earlier = funds.claim_by_key(db, principal, key) if key else None
    claim = funds.file_claim(
        db, principal, loan_id=body.loan_id, loss=body.loss, note=body.note, idempotency_key=key
    )
    response.status_code = 200 if earlier is not None else 201
    return _claim_read(claim)


@router.get("/covered-loans", response_model=list[CoveredLoanRead])
def my_covered_loans(
    db: DbSession,
    status: Annotated[CoverageStatus | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.INSTITUTION_WORKBENCH),
) -> list[CoveredLoanRead]:
    """The funds' decisions on your loans: covered (with the shares, third party and guarantee fee they
    joined with) or refused with the reason, newest first."""
    rows = funds.institution_coverage(db, principal, status=status, limit=limit, offset=offset)
    return [_coverage_read(c) for c in rows]
