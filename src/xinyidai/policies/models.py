"""Tables of the policy supermarket (政策超市) and the government fund supermarket (基金超市).

A department publishes policies (惠企政策) with an application window, the materials to upload and an
eligibility rule in the expression language; enterprises apply with their materials; every move of an
application is an event with who and when; approved results are published for a publicity period (公示)
during which objections (异议) may be lodged and must be answered; then the disbursement is recorded.

Government investment funds (政府引导基金, managed by a fund manager's organisation) receive
applications from enterprises and record their investments (投贷联动).

Amounts are ``Numeric(18, 2)`` yuan; stakes ``Numeric(7, 4)`` percent of the enterprise's equity
(12.5 = 12.5 %). Dates of windows, publicity and disbursement are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime

Money = Numeric(18, 2)
Percent = Numeric(7, 4)


class Policy(Base):
    """A policy a department publishes in the policy supermarket.

    ``issuer`` is the issuing authority as printed on the policy document (it may be several departments);
    ``department_id`` is the department on the platform that runs it and reviews its applications.
    ``benefit`` says what an enterprise gets in words (a subsidy of up to 500,000 yuan, a 1.5-point
    interest subsidy); ``benefit_max`` is the most one enterprise may be paid (元), if the policy pays
    money. ``materials`` are the names of the documents every application must upload. Applications are
    accepted from ``opens_on`` to ``closes_on`` inclusive. ``eligibility`` is a boolean expression over
    the enterprise's profile and indicators (empty: every enterprise). Status: draft → published →
    withdrawn.
    """

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    benefit: Mapped[str] = mapped_column(String(500))
    benefit_max: Mapped[Decimal | None] = mapped_column(Money)
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    publicity_days: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PolicyApplication(Base):
    """An enterprise's application for a policy, and where it stands.

    ``department_id`` is copied from the policy so the department's queue is one indexed query.
    The automatic eligibility check is recorded when the application is submitted (``check_eligible``,
    ``check_reasons``: the clauses of the rule the enterprise did not meet, ``checked_at``).
    Status: submitted → checked → publicity → disbursed; checked → rejected; publicity → revoked (an
    objection was upheld); submitted / checked → withdrawn (by the enterprise).
    """

    __tablename__ = "policy_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    amount_requested: Mapped[Decimal | None] = mapped_column(Money)
    statement: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    check_eligible: Mapped[bool | None] = mapped_column(Boolean)
    check_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publicity_starts_on: Mapped[date | None] = mapped_column(Date)
    publicity_ends_on: Mapped[date | None] = mapped_column(Date, index=True)
    disbursed_amount: Mapped[Decimal | None] = mapped_column(Money)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PolicyMaterial(Base):
    """One uploaded document of an application: which required material it is, and where it is kept.

    The file is stored under ``XYD_HOME/policies/<application id>/``; ``sha256`` proves it unchanged.
    """

    __tablename__ = "policy_materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_applications.id"), index=True)
    material: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PolicyEvent(Base):
    """One move of a policy application: from which state to which, by whom, when, with what note."""

    __tablename__ = "policy_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_applications.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PolicyObjection(Base):
    """An objection (异议) to an approved result during its publicity, and the department's answer.

    Status: open → upheld (the approval is revoked) | dismissed.
    """

    __tablename__ = "policy_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_applications.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    text: Mapped[str] = mapped_column(String(2000))
    lodged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lodged_by: Mapped[str] = mapped_column(String(64))
    lodged_by_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answer: Mapped[str] = mapped_column(String(2000), default="")
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvestmentFund(Base):
    """A government investment fund in the fund supermarket (基金超市).

    ``manager_id`` is the organisation on the platform whose fund managers review its applications;
    ``manager_name`` the fund management company as registered; ``focus`` the industries or stages it
    invests in; ``size`` its committed capital (元). Status: open (accepting applications) | closed.
    """

    __tablename__ = "investment_funds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_name: Mapped[str] = mapped_column(String(200))
    focus: Mapped[str] = mapped_column(String(500))
    size: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InvestmentApplication(Base):
    """An enterprise's application to a government investment fund.

    Status: submitted → approved → invested; submitted → rejected | withdrawn.
    """

    __tablename__ = "investment_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("investment_funds.id"), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    amount_sought: Mapped[Decimal] = mapped_column(Money)
    plan: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Investment(Base):
    """An investment a government fund made in an enterprise: amount (元), date, stake (% of equity)."""

    __tablename__ = "investments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("investment_funds.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("investment_applications.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    invested_on: Mapped[date] = mapped_column(Date)
    stake: Mapped[Decimal] = mapped_column(Percent)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
