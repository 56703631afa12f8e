"""What departments, enterprises and fund managers submit: policies, decisions, disbursements, funds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class PolicyInput(BaseModel):
    """A policy as a department writes it (create and update).

    ``materials``: the names of the documents an application must upload (one per line on the form).
    ``eligibility``: a boolean expression over the enterprise's profile and indicators; empty for everyone.
    """

    model_config = ConfigDict(extra="forbid")

    issuer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10000)] = ""
    benefit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    benefit_max: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=2)
    materials: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    ] = Field(default_factory=list, max_length=20)
    opens_on: date
    closes_on: date
    eligibility: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    publicity_days: int = Field(default=5, ge=1, le=30)


class PolicyDecision(BaseModel):
    """A department's approval (with the amount granted, 元) or rejection (with the reason)."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    amount: Decimal | None = Field(default=None, gt=0, le=Decimal("1e12"), decimal_places=2)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class DisbursementInput(BaseModel):
    """The money paid to an approved enterprise after publicity: amount (元) and the payment date."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0, le=Decimal("1e12"), decimal_places=2)
    disbursed_on: date


class FundInput(BaseModel):
    """A government investment fund in the fund supermarket; ``size`` in 元."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    manager_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    focus: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    size: Decimal = Field(gt=0, le=Decimal("1e14"), decimal_places=2)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10000)] = ""


class FundApplicationInput(BaseModel):
    """An enterprise's application to a fund: the investment it seeks (元) and its business plan."""

    model_config = ConfigDict(extra="forbid")

    amount_sought: Decimal = Field(gt=0, le=Decimal("1e12"), decimal_places=2)
    plan: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=10000)]


class InvestmentInput(BaseModel):
    """An investment made: amount (元), date, and the stake bought (% of the enterprise's equity)."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0, le=Decimal("1e12"), decimal_places=2)
    invested_on: date
    stake: Decimal = Field(gt=0, le=100, decimal_places=4)
