"""Tables of the risk-sharing funds: funds (信保基金, 风险补偿金), their schemes by grade and amount, the
loans they cover, the claims institutions file on covered defaults and the recoveries shared back.

Money never lives here: a fund's capital, cash, payouts, recoveries and fees are ledger accounts
(``ledger_accounts`` with codes ``fund:<id>:cash`` …) and every movement is a posting. What is kept here is
what is not money — which loans a fund covers and on what terms (its covered exposure), and the claims'
review. Amounts are ``Numeric(18, 2)`` 元, shares and limits ``Numeric(5, 2)`` percent (80.00 = 80 %).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime

Money = Numeric(18, 2)
Percent = Numeric(5, 2)


class GuaranteeFund(Base):
    """A risk-sharing fund: a credit guarantee fund (信保基金) or a risk-compensation pool (风险补偿金).

    ``manager_id`` is the department organisation whose fund managers run it. ``leverage`` is the
    multiple of its capital (the balance of its ledger capital account, 元) that the outstanding principal
    of the loans it covers may reach. ``product_ids`` lists the loan products it covers (empty: every
    product). ``version`` is bumped before the covered balance is checked, so two approvals at once
    cannot both take the last headroom.
    """

    __tablename__ = "guarantee_funds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="guarantee")  # guarantee | compensation
    manager_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    leverage: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_schemes.id"))  # the version in use
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SharingScheme(Base):
    """One version of a department's risk-sharing scheme: its bands (``RiskScheme`` rows) and the guarantee
    fee (担保费) a fund using it charges on each loan it covers.

    A version never changes once written: editing a scheme writes a new version (``previous_id`` → the one
    it replaces, ``version`` + 1, ``is_current`` moves to it) and the funds that used the old version move
    to the new one. Loans already covered keep the terms they joined with (copied onto ``CoveredLoan``).
    ``fee_rate`` is an annual percentage of the covered amount (0.75 = 0.75 % a year).
    """

    __tablename__ = "sharing_schemes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_schemes.id"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    fee_rate: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RiskScheme(Base):
    """One band of a scheme version: which loans it takes and how a loss is split.

    A loan of ``grade`` with an amount above ``amount_min`` and up to ``amount_max`` 元 (None: any amount)
    whose collateral is worth at most ``collateral_max_pct`` % of the loan joins this band if ``covered``; a
    loss is borne ``fund_pct`` % by the fund, ``third_party_pct`` % by the third party (an insurer or
    guarantee company named ``third_party_name``, if any) and the rest by the lending institution. A loan
    in no band, or in a band that is not covered, is not covered.
    """

    __tablename__ = "risk_schemes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("sharing_schemes.id", ondelete="CASCADE"), index=True)
    grade: Mapped[str] = mapped_column(String(8))
    covered: Mapped[bool] = mapped_column(Boolean, default=True)
    amount_min: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    amount_max: Mapped[Decimal | None] = mapped_column(Money)
    collateral_max_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    fund_pct: Mapped[Decimal] = mapped_column(Percent)
    third_party_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    third_party_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    third_party_name: Mapped[str] = mapped_column(String(200), default="")


class CoveredLoan(Base):
    """A fund's decision on an approved application: covered under a tier, or refused with the reason.

    The shares, the third party and the fee rate are copied from the band and scheme version when the loan
    joins, so a later change of the scheme does not change the terms of loans already covered. The guarantee
    fee (``fee_amount`` 元 = amount × annual fee rate × term in years) is charged once when the loan joins
    and posted cash ← fee income (``fee_entry_id``). ``amount`` is the approved amount (元); the covered
    balance is the loan's outstanding principal once disbursed. Status: covered → claimed (a claim under
    review) → paid (the fund paid its share; back to covered if the claim is rejected); refused
    (``reason`` is an English message id with ``reason_params``).
    """

    __tablename__ = "covered_loans"
    __table_args__ = (
        UniqueConstraint("fund_id", "application_id"),
        Index("ix_covered_loans_fund_status", "fund_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("guarantee_funds.id"))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("risk_schemes.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(8), default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    collateral_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    fund_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    third_party_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    third_party_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    third_party_name: Mapped[str] = mapped_column(String(200), default="")
    fee_rate: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))  # annual %, from the scheme
    fee_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))  # 元, charged when it joined
    fee_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    reason_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped before a claim is filed on it
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Claim(Base):
    """An institution's claim on a covered loan that defaulted (代偿申请).

    ``loss`` (元) is at most the loan's outstanding principal when filed; the split follows the covered
    loan's shares (fund, third party, institution). Status: submitted → paid (approved: the fund's share
    posted fund cash → payouts) | rejected (with ``review_note``). ``default_record_id`` is the loan's
    default report: one live claim per default.
    """

    __tablename__ = "fund_claims"
    __table_args__ = (
        UniqueConstraint("institution_id", "idempotency_key"),
        Index("ix_fund_claims_fund_status", "fund_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("guarantee_funds.id"))
    covered_loan_id: Mapped[int] = mapped_column(ForeignKey("covered_loans.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    default_record_id: Mapped[int] = mapped_column(ForeignKey("loan_records.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    loss: Mapped[Decimal] = mapped_column(Money)
    outstanding: Mapped[Decimal] = mapped_column(Money)  # the loan's outstanding principal when filed
    fund_amount: Mapped[Decimal] = mapped_column(Money)
    third_party_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    institution_amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    review_note: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payout_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class Recovery(Base):
    """Money the institution recovered on a paid claim's loan, and the fund's share of it shared back.

    ``amount`` is what the institution reported (元); ``fund_amount`` the fund's share (its percentage of
    the loss, never more in total than the fund paid), posted fund recoveries → cash. One per loan report.
    """

    __tablename__ = "fund_recoveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("fund_claims.id"), index=True)
    loan_record_id: Mapped[int] = mapped_column(ForeignKey("loan_records.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    fund_amount: Mapped[Decimal] = mapped_column(Money)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
