"""Tables of the funds capability: the double-entry ledger of public money (this module) and the funds,
schemes, covered loans, claims, bridge loans and subsidies built on it (``*_models`` modules beside it).

Every movement of public money is a ``JournalEntry`` of two or more ``JournalLine`` rows whose debits and
credits balance. An account's balance is derived from its lines only: each line carries the account's
balance after it (``balance_after``, in the account's normal sign), written under a lock on the account, so
reading a balance is one indexed row and ``ledger.check_books`` can recompute every one from the lines.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime

Money = Numeric(18, 2)


class LedgerAccount(Base):
    """One account of the ledger, e.g. a fund's cash, its commitments, a bank's receivable.

    ``kind``: asset | liability | equity | income | expense. Assets and expenses grow with debits, the
    others with credits (``normal_side``). ``allow_negative`` is False for money that must exist (a fund's
    cash): a posting that would take it below zero is refused.
    """

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    owner_type: Mapped[str] = mapped_column(String(32), default="")
    owner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each posting: the lock taken first
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JournalEntry(Base):
    """One movement of money: why, when, by whom; its lines balance. ``idempotency_key`` posts it once."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # contribution | commitment | payout | …
    memo: Mapped[str] = mapped_column(String(500), default="")
    reference_type: Mapped[str] = mapped_column(String(32), default="")
    reference_id: Mapped[int | None] = mapped_column(Integer)
    posted_by: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class JournalLine(Base):
    """One side of an entry on one account, and the account's balance after it."""

    __tablename__ = "journal_lines"
    __table_args__ = (Index("ix_journal_lines_account_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    balance_after: Mapped[Decimal] = mapped_column(Money)
