"""The ledger of public money on both databases: balanced entries, posted once, never below zero even under
concurrent postings, and a check that finds any line edited behind its back."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update

from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.funds import ledger
from xinyidai.funds.ledger import InsufficientFunds, Line
from xinyidai.funds.models import JournalEntry, JournalLine

D = Decimal


def accounts(engine: Engine) -> None:
    with session_scope(engine) as db:
        ledger.open_account(db, "fund:1:cash", "信保基金 银行存款", "asset")
        ledger.open_account(db, "fund:1:capital", "信保基金 资本金", "equity")
        ledger.open_account(db, "fund:1:payouts", "信保基金 代偿支出", "expense")
        ledger.open_account(db, "bank:9:receivable", "银行 应收代偿款", "asset", allow_negative=True)


def contribute(engine: Engine, amount: str, key: str = "c1") -> None:
    with session_scope(engine) as db:
        ledger.post(
            db,
            key=key,
            kind="contribution",
            posted_by="t",
            lines=[Line("fund:1:cash", debit=D(amount)), Line("fund:1:capital", credit=D(amount))],
        )


def payout(amount: str, key: str) -> list[Line]:
    return [Line("fund:1:payouts", debit=D(amount)), Line("fund:1:cash", credit=D(amount))]


def test_entries_balance_post_once_and_give_balances(engine: Engine) -> None:
    accounts(engine)
    contribute(engine, "1000000.00")
    contribute(engine, "1000000.00")  # the same request retried: posted once
    with session_scope(engine) as db:
        assert ledger.balance(db, "fund:1:cash") == D("1000000.00")
        assert ledger.balance(db, "fund:1:capital") == D("1000000.00")
        ledger.post(db, key="p1", kind="payout", posted_by="t", lines=payout("250000.00", "p1"))
        assert ledger.balance(db, "fund:1:cash") == D("750000.00")
        assert ledger.balance(db, "fund:1:payouts") == D("250000.00")
        with pytest.raises(Conflict):  # the same key with other amounts
            ledger.post(db, key="p1", kind="payout", posted_by="t", lines=payout("1.00", "p1"))
        with pytest.raises(ValidationFailed):
            ledger.post(
                db,
                key="bad",
                kind="payout",
                posted_by="t",
                lines=[Line("fund:1:payouts", debit=D("10.00")), Line("fund:1:cash", credit=D("9.99"))],
            )
        with pytest.raises(ValidationFailed):
            ledger.post(db, key="bad2", kind="payout", posted_by="t", lines=payout("0.001", "x"))
        with pytest.raises(NotFound):
            ledger.post(
                db,
                key="bad3",
                kind="payout",
                posted_by="t",
                lines=[Line("fund:2:cash", debit=D("1.00")), Line("fund:1:cash", credit=D("1.00"))],
            )
        assert [e.idempotency_key for e in db.scalars(select(JournalEntry).order_by(JournalEntry.id))] == [
            "c1",
            "p1",
        ]
        assert ledger.check_books(db).ok


def test_an_account_that_must_hold_money_never_goes_below_zero(engine: Engine) -> None:
    accounts(engine)
    contribute(engine, "100.00")
    with session_scope(engine) as db, pytest.raises(InsufficientFunds):
        ledger.post(db, key="too-much", kind="payout", posted_by="t", lines=payout("100.01", "x"))
    with session_scope(engine) as db:
        assert ledger.balance(db, "fund:1:cash") == D("100.00")
        assert db.scalar(select(func.count()).select_from(JournalEntry)) == 1


def test_concurrent_payouts_cannot_overdraw(engine: Engine) -> None:
    accounts(engine)
    contribute(engine, "100.00")
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                ledger.post(db, key=f"claim-{n}", kind="payout", posted_by="t", lines=payout("30.00", str(n)))
            result = "paid"
        except InsufficientFunds:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("paid") == 3 and outcomes.count("refused") == 7
    with session_scope(engine) as db:
        assert ledger.balance(db, "fund:1:cash") == D("10.00")
        assert ledger.check_books(db).ok


def test_the_check_finds_a_line_edited_behind_the_ledgers_back(engine: Engine) -> None:
    accounts(engine)
    contribute(engine, "500.00")
    with session_scope(engine) as db:
        ledger.post(db, key="p", kind="payout", posted_by="t", lines=payout("200.00", "p"))
    with session_scope(engine) as db:
        first = db.scalars(select(JournalLine).order_by(JournalLine.id)).first()
        assert first is not None
        db.execute(update(JournalLine).where(JournalLine.id == first.id).values(debit=D("400.00")))
    with session_scope(engine) as db:
        check = ledger.check_books(db)
        assert not check.ok
        assert any("debits 400.00" in p for p in check.problems)
        assert any("fund:1:cash" in p for p in check.problems)
