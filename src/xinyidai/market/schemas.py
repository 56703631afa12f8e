"""Typed inputs of the marketplace: what a form, an API call or an Excel row must hold.

Amounts are 元 with at most 2 decimal places, rates annual percentages (3.85 = 3.85 %), terms months.
Pydantic refuses the malformed; the services check what needs the database (a product's ranges, a
need's expiry, a live consent).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xinyidai.core.errors import ValidationFailed

Amount = Annotated[Decimal, Field(gt=0, le=Decimal("100000000000"), max_digits=18, decimal_places=2)]
AnnualRate = Annotated[Decimal, Field(ge=0, le=36, max_digits=7, decimal_places=4)]
Term = Annotated[int, Field(ge=1, le=360)]
Grade = Literal["A", "B", "C", "D"]

PRODUCT_TYPES = ("credit", "mortgage", "guarantee", "policy")
COLLATERAL_KINDS = ("none", "mortgage", "pledge", "guarantor")
REPAYMENT_METHODS = ("bullet", "interest_first", "equal_installment", "equal_principal", "flexible")
PURPOSES = ("working_capital", "equipment", "expansion", "trade", "refinance", "other")
CONSENT_PURPOSES = ("loan_review", "post_loan", "guarantee_review")
SIZES = ("micro", "small", "medium", "large")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductInput(_Input):
    """A loan product as an institution writes it (form, API upsert or one Excel row)."""

    external_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=2, max_length=100)
    product_type: Literal["credit", "mortgage", "guarantee", "policy"]
    description: str = Field(default="", max_length=4000)
    amount_min: Amount
    amount_max: Amount
    term_min: Term
    term_max: Term
    rate_min: AnnualRate
    rate_max: AnnualRate
    repayment_methods: list[
        Literal["bullet", "interest_first", "equal_installment", "equal_principal", "flexible"]
    ] = Field(min_length=1)
    regions: list[Annotated[str, Field(pattern=r"^\d{6}$")]] = Field(default_factory=list)
    industries: list[Annotated[str, Field(pattern=r"^[A-T]$")]] = Field(default_factory=list)
    sizes: list[Literal["micro", "small", "medium", "large"]] = Field(default_factory=list)
    grades: list[Grade] = Field(default_factory=list)
    collateral: Literal["none", "mortgage", "pledge", "guarantor"] = "none"
    pure_credit: bool = False
    online: bool = False
    instant: bool = False
    auto_disburse: bool = False
    admission_rule: str = Field(default="", max_length=4000)
    limit_formula: str = Field(default="", max_length=4000)
    pricing: dict[Grade, AnnualRate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ranges(self) -> ProductInput:
        if self.amount_min > self.amount_max:
            raise ValidationFailed("The minimum amount is larger than the maximum", field="amount_min")
        if self.term_min > self.term_max:
            raise ValidationFailed("The shortest term is longer than the longest", field="term_min")
        if self.rate_min > self.rate_max:
            raise ValidationFailed("The lowest rate is higher than the highest", field="rate_min")
        for grade, rate in self.pricing.items():
            if not self.rate_min <= rate <= self.rate_max:
                raise ValidationFailed(
                    "The rate for grade %(grade)s is outside the product's rate range",
                    field="pricing",
                    grade=grade,
                )
        if self.pure_credit and self.collateral != "none":
            raise ValidationFailed("A pure-credit product cannot require collateral", field="collateral")
        if self.auto_disburse and not self.instant:
            raise ValidationFailed(
                "Only an instant product can disburse automatically", field="auto_disburse"
            )
        if self.instant and not self.limit_formula:
            raise ValidationFailed("An instant product needs a credit-limit formula", field="limit_formula")
        return self


class NeedInput(_Input):
    """A financing need an enterprise publishes."""

    amount: Amount
    term_months: Term
    purpose: Literal["working_capital", "equipment", "expansion", "trade", "refinance", "other"]
    description: str = Field(default="", max_length=400)
    collateral: Literal["none", "mortgage", "pledge", "guarantor"] = "none"
    valid_days: int = Field(default=30, ge=1, le=180)
    authorise_takers: bool = True  # consent for every institution that takes it up to see the full report


class ConsentInput(_Input):
    """An authorisation to one institution (or to the takers of one need)."""

    institution_id: int | None = None
    need_id: int | None = None
    report_types: list[Literal["concise", "full"]] = Field(default=["full"], min_length=1)
    purpose: Literal["loan_review", "post_loan", "guarantee_review"] = "loan_review"
    expires_on: date

    @model_validator(mode="after")
    def _whom(self) -> ConsentInput:
        if (self.institution_id is None) == (self.need_id is None):
            raise ValidationFailed(
                "Authorise either one institution or the takers of one need", field="institution_id"
            )
        return self


class OfferInput(_Input):
    """What an institution holding a need offers."""

    product_id: int
    amount: Amount
    rate: AnnualRate
    term_months: Term
    collateral: Literal["none", "mortgage", "pledge", "guarantor"] = "none"
    fees: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("100000000"), max_digits=18, decimal_places=2)
    repayment_method: Literal["bullet", "interest_first", "equal_installment", "equal_principal", "flexible"]
    note: str = Field(default="", max_length=500)


class ApplicationInput(_Input):
    """An enterprise applying to a product."""

    product_id: int
    amount: Amount
    term_months: Term
    purpose: str = Field(default="", max_length=500)


class ApprovalInput(_Input):
    """An institution's approval: what it will lend."""

    amount: Amount
    rate: AnnualRate
    term_months: Term
    note: str = Field(default="", max_length=500)
    collateral_value: Decimal | None = Field(
        default=None,
        ge=0,
        le=Decimal("100000000000"),
        max_digits=18,
        decimal_places=2,
        description="what the collateral is worth (元); a fund's scheme checks it against the loan",
    )


class RejectionInput(_Input):
    """An institution's refusal, with the reason the enterprise will read."""

    reason: str = Field(min_length=2, max_length=500)


class DisbursementInput(_Input):
    """The loan actually paid out."""

    contract_no: str = Field(default="", max_length=64)
    disbursed_on: date | None = None


class LoanReportInput(_Input):
    """What an institution reports about a loan (page or API); ``idempotency_key`` posts once."""

    kind: Literal["repayment", "overdue", "cured", "default", "recovered"]
    amount: Decimal = Field(
        default=Decimal(0), ge=0, le=Decimal("100000000000"), max_digits=18, decimal_places=2
    )
    occurred_on: date
    days_overdue: int = Field(default=0, ge=0, le=3650)
    note: str = Field(default="", max_length=500)
    idempotency_key: str | None = Field(default=None, max_length=64)

    @field_validator("idempotency_key")
    @classmethod
    def _blank_key(cls, value: str | None) -> str | None:
        return value or None
