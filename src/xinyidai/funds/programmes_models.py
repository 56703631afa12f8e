"""Tables of the public-money programmes: emergency bridge loans (应急转贷) and interest subsidies (贴息).

Money itself lives in the ledger (``funds.models``): a bridge fund's cash, each contributor's capital, what
each district has drawn, fee income; a subsidy policy's budget and what each enterprise was paid. These
tables hold the programme's terms, the applications and their state, and the computed subsidy lists with
the working that produced each amount. Amounts are 元 (``Numeric(18, 2)``), rates annual %
(``Numeric(7, 4)``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime

Money = Numeric(18, 2)
Rate = Numeric(7, 4)


class BridgeFund(Base):
    """An emergency bridge fund (应急转贷资金), run by a department's fund manager.

    The city and districts contribute (ledger postings to the fund's cash). A bridge loan repays an
    enterprise's maturing bank loan for a few days until the bank renews it; the enterprise pays a daily
    fee (``daily_fee_per_mille`` ‰ of the amount per calendar day used). A district's enterprises may have
    at most half of what the district contributed in use at any time (districts contribute ≥ 2× what they
    draw); enterprises outside a contributing district draw on the city's share. Per enterprise: at most
    ``max_amount_per_enterprise`` 元 in use and ``max_times_per_year`` bridge loans disbursed a calendar year.
    """

    __tablename__ = "bridge_funds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6), default="")  # the city
    daily_fee_per_mille: Mapped[Decimal] = mapped_column(Rate)  # ‰ of the amount per day, e.g. 0.1
    max_days: Mapped[int] = mapped_column(Integer, default=15)
    max_amount_per_enterprise: Mapped[Decimal] = mapped_column(Money)
    max_times_per_year: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each draw: disbursements queue
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BridgeContribution(Base):
    """One contribution to a bridge fund by the city or a district (its ledger entry holds the money)."""

    __tablename__ = "bridge_contributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("bridge_funds.id"), index=True)
    contributor: Mapped[str] = mapped_column(String(16))  # "city" or a district's GB/T 2260 code
    contributor_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    contributed_on: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BridgeLoan(Base):
    """An enterprise's emergency bridge loan (应急转贷), from application to repayment.

    Status (``bridge.BRIDGE``): applied → confirmed (the bank confirms it will renew the loan) | declined →
    approved (fund manager) | rejected → in_use (disbursed to the bank loan) → repaid (the bank renewed;
    principal and fee back). The enterprise may withdraw before disbursement. ``days_used`` and ``fee``
    are set at repayment: fee = amount × daily_fee_per_mille ‰ × days used (at least one day).
    """

    __tablename__ = "bridge_loans"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        Index("ix_bridge_loans_fund_status", "fund_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("bridge_funds.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(16))  # contributor drawn on: "city" or a district code
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))  # the maturing loan to be renewed
    loan_maturity_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    days_requested: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    renewal_amount: Mapped[Decimal | None] = mapped_column(Money)  # what the bank confirms it will renew
    bank_note: Mapped[str] = mapped_column(String(500), default="")
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    daily_fee_per_mille: Mapped[Decimal] = mapped_column(Rate)  # the fund's, fixed when applied
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    repaid_on: Mapped[date | None] = mapped_column(Date)
    days_used: Mapped[int | None] = mapped_column(Integer)
    fee: Mapped[Decimal | None] = mapped_column(Money)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BridgeLoanEvent(Base):
    """One move of a bridge loan: from, to, who, when, why."""

    __tablename__ = "bridge_loan_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bridge_loan_id: Mapped[int] = mapped_column(ForeignKey("bridge_loans.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubsidyPolicy(Base):
    """An interest-subsidy policy (贴息政策) of a department.

    Loans on the platform at an annual rate ≤ ``max_loan_rate`` % get ``points`` percentage points of the
    interest accrued on their outstanding balance paid back (never more than the rate itself), between
    ``starts_on`` and ``ends_on``; an enterprise receives at most ``cap_per_enterprise_year`` 元 a calendar
    year. Shanghai: rate ≤ 4 %, 1–1.5 points. The budget is a ledger account funded by ``fund_budget``.
    """

    __tablename__ = "subsidy_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    points: Mapped[Decimal] = mapped_column(Rate)
    max_loan_rate: Mapped[Decimal] = mapped_column(Rate)
    cap_per_enterprise_year: Mapped[Decimal] = mapped_column(Money)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubsidyRun(Base):
    """The subsidies of one policy for one period, computed from the loans and their repayment records.

    Status: computed → paid (every line posted) ; a computed run may be discarded and computed again.
    """

    __tablename__ = "subsidy_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("subsidy_policies.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="computed")  # computed | paid | discarded
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    computed_by: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_by: Mapped[str] = mapped_column(String(64), default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SubsidyLine(Base):
    """One enterprise's subsidy in a run: the interest accrued, the subsidy before and after the cap,
    the working per loan and balance segment (``working``), and its payment (one ledger entry)."""

    __tablename__ = "subsidy_lines"
    __table_args__ = (UniqueConstraint("run_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("subsidy_runs.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    loans: Mapped[int] = mapped_column(Integer)
    interest: Mapped[Decimal] = mapped_column(Money)
    computed: Mapped[Decimal] = mapped_column(Money)  # before the yearly cap
    amount: Mapped[Decimal] = mapped_column(Money)  # what is paid
    working: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | paid
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
