"""Tables of the financing marketplace.

Products institutions publish; financing needs enterprises publish; consents (授权) enterprises sign;
orders (抢单: an institution holding a need, then its offer); applications and every move they make;
loans and what institutions report about them (repayments, overdue, default); the record of every look
at a credit report under a consent; whitelists (白名单) and dispatch runs (派单) with their assignments.

Amounts are ``Numeric(18, 2)`` yuan; rates are annual percentages ``Numeric(7, 4)`` (3.85 = 3.85 %);
terms are months. Statuses are plain strings checked by the state machines in ``states.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime

Money = Numeric(18, 2)
Rate = Numeric(7, 4)


class Product(Base):
    """A loan product an institution publishes (金融产品).

    ``external_id`` is the institution's own product id: its systems upsert by it (idempotent).
    Targets (``regions``, ``industries``, ``sizes``) are lists; an empty list means "all".
    The decision strategy is written in the expression language: ``admission_rule`` (boolean),
    ``limit_formula`` (the credit limit in 元) and ``pricing`` (annual rate % by grade).
    Status: draft → pending_review → listed → delisted (and rejected back to draft by the operator).
    """

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("institution_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    product_type: Mapped[str] = mapped_column(String(16))  # credit | mortgage | guarantee | policy
    description: Mapped[str] = mapped_column(Text, default="")
    amount_min: Mapped[Decimal] = mapped_column(Money)
    amount_max: Mapped[Decimal] = mapped_column(Money)
    term_min: Mapped[int] = mapped_column(Integer)
    term_max: Mapped[int] = mapped_column(Integer)
    rate_min: Mapped[Decimal] = mapped_column(Rate)
    rate_max: Mapped[Decimal] = mapped_column(Rate)
    repayment_methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    sizes: Mapped[list[str]] = mapped_column(JSON, default=list)
    grades: Mapped[list[str]] = mapped_column(JSON, default=list)  # grade appetite; empty = any grade
    collateral: Mapped[str] = mapped_column(
        String(16), default="none"
    )  # none | mortgage | pledge | guarantor
    pure_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    instant: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_disburse: Mapped[bool] = mapped_column(Boolean, default=False)
    admission_rule: Mapped[str] = mapped_column(Text, default="")
    limit_formula: Mapped[str] = mapped_column(Text, default="")
    pricing: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Need(Base):
    """A financing need an enterprise publishes (融资需求); it expires on ``expires_on``.

    ``holders`` counts the institutions holding it; at most ``max_holders`` may (抢单). The enterprise's
    region, industry, size and grade are copied when it is published, so the need pool filters
    without joins.
    Status: open → full (max holders reached) → matched (an offer accepted) | withdrawn | expired.
    """

    __tablename__ = "needs"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        # The need pool walks open needs newest first and stops after a page; an index that also held the
        # expiry date would tempt SQLite into sorting every open need instead.
        Index("ix_needs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500))
    collateral: Mapped[str] = mapped_column(String(16), default="none")
    region_code: Mapped[str] = mapped_column(String(6), default="")
    industry_section: Mapped[str] = mapped_column(String(1), default="")
    size_class: Mapped[str] = mapped_column(String(16), default="")
    grade: Mapped[str] = mapped_column(String(8), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    holders: Mapped[int] = mapped_column(Integer, default=0)
    max_holders: Mapped[int] = mapped_column(Integer, default=3)
    expires_on: Mapped[date] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """An enterprise's authorisation (授权) for an institution to see its full credit report.

    ``institution_id`` None with a ``need_id``: every institution that takes up that need.
    The signature record is who signed (user), when, the exact text shown, and its SHA-256.
    A consent is live while not revoked and ``expires_on`` is today or later.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), index=True)
    report_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # concise | full
    purpose: Mapped[str] = mapped_column(String(32))
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="given")  # given | revoked
    signed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_by: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReportQuery(Base):
    """One look (or refused attempt) at an enterprise's credit report, which the enterprise can see."""

    __tablename__ = "report_queries"
    __table_args__ = (Index("ix_report_queries_uscc_at", "uscc", "queried_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    # 征信业管理条例 Art. 22: the querying person's name is recorded with every query
    person_name: Mapped[str] = mapped_column(String(100), default="")
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16))  # allowed | refused
    queried_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Order(Base):
    """An institution holding a need (抢单) and the offer it makes on it.

    Status: held → offered → accepted | closed (``closed_reason``: another offer accepted, need
    withdrawn or expired, released by the institution).
    """

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("need_id", "institution_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    grabbed_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    rate: Mapped[Decimal | None] = mapped_column(Rate)
    term_months: Mapped[int | None] = mapped_column(Integer)
    collateral: Mapped[str | None] = mapped_column(String(16))
    fees: Mapped[Decimal | None] = mapped_column(Money)
    repayment_method: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    closed_reason: Mapped[str] = mapped_column(String(32), default="")
    grabbed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Application(Base):
    """A financing application (融资申请) to one institution's product.

    Status (``states.APPLICATION``): submitted → accepted → approved | rejected; approved → disbursed;
    submitted/accepted → withdrawn by the enterprise. ``due_at`` is the service-level deadline of the
    institution's next move (working days, Chinese public holidays).
    """

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        Index("ix_applications_institution_status", "institution_id", "status", "id"),
        Index("ix_applications_institution_id", "institution_id", "id"),  # the queue, newest first
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    channel: Mapped[str] = mapped_column(
        String(16), default="product"
    )  # product | offer | instant | dispatch
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    grade: Mapped[str] = mapped_column(String(8), default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    approved_rate: Mapped[Decimal | None] = mapped_column(Rate)
    approved_term: Mapped[int | None] = mapped_column(Integer)
    # what the institution values the collateral at (元) when it approves; None: not stated
    collateral_value: Mapped[Decimal | None] = mapped_column(Money)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # instant pre-credit outcome
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApplicationEvent(Base):
    """One move of an application or its loan: from, to, who, when, why."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Loan(Base):
    """A loan disbursed on an approved application (贷款).

    Status (``states.LOAN``): current → overdue → current (cured) | defaulted; current/overdue → repaid
    when the outstanding principal reaches zero. ``outstanding`` is derived from the loan's records
    at each report and kept here for the workbench.
    """

    __tablename__ = "loans"
    __table_args__ = (
        Index("ix_loans_institution_status", "institution_id", "status", "id"),
        Index("ix_loans_institution_id", "institution_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    contract_no: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    rate: Mapped[Decimal] = mapped_column(Rate)
    term_months: Mapped[int] = mapped_column(Integer)
    pure_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    grade: Mapped[str] = mapped_column(String(8), default="")
    disbursed_on: Mapped[date] = mapped_column(Date)
    maturity_on: Mapped[date] = mapped_column(Date)
    outstanding: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="current")
    days_overdue: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoanRecord(Base):
    """What an institution reports about a loan: a repayment, an overdue, a default, a cure.

    ``idempotency_key`` makes a retried report post once.
    """

    __tablename__ = "loan_records"
    __table_args__ = (UniqueConstraint("loan_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # repayment | overdue | cured | default
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    occurred_on: Mapped[date] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
    reported_by: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Whitelist(Base):
    """A department's whitelist (白名单) of enterprises for a programme, uploaded as Excel or CSV."""

    __tablename__ = "whitelists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    programme: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200), default="")
    entries: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WhitelistEntry(Base):
    """One enterprise on a whitelist and how far it got: assigned → contacted → applied → approved."""

    __tablename__ = "whitelist_entries"
    __table_args__ = (UniqueConstraint("whitelist_id", "uscc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    whitelist_id: Mapped[int] = mapped_column(ForeignKey("whitelists.id", ondelete="CASCADE"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DispatchRun(Base):
    """One dispatch (派单): open needs and whitelisted enterprises assigned to institutions by OR-Tools."""

    __tablename__ = "dispatch_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatched_by: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    needs: Mapped[int] = mapped_column(Integer, default=0)
    institutions: Mapped[int] = mapped_column(Integer, default=0)
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    objective: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(0))
    bound: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(0))
    gap: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=Decimal(0))
    solver: Mapped[str] = mapped_column(String(32), default="")
    elapsed_seconds: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Assignment(Base):
    """One need or whitelisted enterprise assigned to an institution (and product), with why."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("dispatch_runs.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), index=True)
    whitelist_entry_id: Mapped[int | None] = mapped_column(ForeignKey("whitelist_entries.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    probability: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal(0))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="assigned")  # assigned | contacted | declined
