"""Claims and postings of public money: latency in-process on a realistic ledger.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/funds_bench.py [--entries 100000] [--claims 300]
        [--postings 1000] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_funds]

(``bench/run.py --only funds``.) Set-up (not timed): a temporary SQLite database (or ``--database-url``,
whose tables are emptied) with the demo organisations, a listed product, the Weihai guarantee fund
(capital 2 亿元) and ``--entries`` prior journal entries (fees spread over the fund and 49 other funds'
accounts, each line with the account's running balance, as the ledger writes them); then ``--claims``
loans approved (so covered by the fund), disbursed and reported in default.

Timed, each in its own unit of work with its commit, like a request:
1. a claim: the bank files it (``funds.file_claim``: scoped loan, coverage lock, one-live-claim check, split)
   and the fund manager approves it (``funds.approve_claim``: conditional review update, payout posting with
   the account locks and balance checks, notifications);
2. a plain posting: ``ledger.post`` of a fee entry on the fund's cash (two lines).
The issue's target: each ≤ 50 ms p99.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PRODUCT = {
    "external_id": "BENCH-DANBAO",
    "name": "信保基金担保贷",
    "product_type": "credit",
    "amount_min": "100000",
    "amount_max": "5000000",
    "term_min": 6,
    "term_max": 36,
    "rate_min": "3.90",
    "rate_max": "5.60",
    "repayment_methods": ["equal_installment"],
    "pure_credit": True,
}


WARM_UP = 5


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def prior_entries(engine: object, fund_id: int, entries: int) -> None:
    """Write ``entries`` balanced entries the way the ledger does, in bulk (fees and contributions)."""
    from sqlalchemy import insert, select, text

    from xinyidai.core.clock import utcnow
    from xinyidai.core.database import session_scope
    from xinyidai.funds import ledger
    from xinyidai.funds import service as funds
    from xinyidai.funds.models import JournalEntry, JournalLine, LedgerAccount

    with session_scope(engine) as db:  # type: ignore[arg-type]
        codes = [(funds.account_code(fund_id, "cash"), funds.account_code(fund_id, "fees"))]
        for other in range(1, 50):
            cash = ledger.open_account(db, f"bench_fund:{other}:cash", f"基金{other} 银行存款", "asset")
            fees = ledger.open_account(db, f"bench_fund:{other}:fees", f"基金{other} 担保费收入", "income")
            codes.append((cash.code, fees.code))
        ids = {a.code: a.id for a in db.scalars(select(LedgerAccount))}
        balances = {a.id: ledger.balance_of(db, a.id) for a in db.scalars(select(LedgerAccount))}
        first = (db.scalar(select(JournalEntry.id).order_by(JournalEntry.id.desc()).limit(1)) or 0) + 1
        now = utcnow()
        batch_entries, batch_lines = [], []
        for n in range(entries):
            cash_code, fee_code = codes[n % len(codes)]
            amount = Decimal(1000 + (n * 37) % 9000) / 100
            entry_id = first + n
            batch_entries.append(
                {
                    "id": entry_id,
                    "idempotency_key": f"bench-prior-{n}",
                    "kind": "fee",
                    "memo": "担保费",
                    "reference_type": "",
                    "reference_id": None,
                    "posted_by": "bench",
                    "posted_at": now,
                }
            )
            for code, debit, credit in ((cash_code, amount, Decimal(0)), (fee_code, Decimal(0), amount)):
                account_id = ids[code]
                balances[account_id] += debit + credit  # asset by debits, income by credits: both grow
                batch_lines.append(
                    {
                        "entry_id": entry_id,
                        "account_id": account_id,
                        "debit": debit,
                        "credit": credit,
                        "balance_after": balances[account_id],
                    }
                )
            if len(batch_entries) == 10_000 or n == entries - 1:
                db.execute(insert(JournalEntry), batch_entries)
                db.execute(insert(JournalLine), batch_lines)
                batch_entries, batch_lines = [], []
        if db.get_bind().dialect.name == "postgresql":  # the ids were given: move the sequence past them
            db.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), max(id)) "
                    "FROM journal_entries"
                )
            )


def set_up(url: str, entries: int, claims: int) -> tuple[int, list[int]]:
    """The installation: returns the fund id and the defaulted covered loans' ids."""
    from sqlalchemy import select

    from xinyidai import demo
    from xinyidai.accounts import service as accounts
    from xinyidai.accounts.models import User
    from xinyidai.core.clock import today_local
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.funds import service as funds
    from xinyidai.funds import subscriptions
    from xinyidai.market import service as market
    from xinyidai.market.schemas import ApprovalInput, DisbursementInput, LoanReportInput, ProductInput

    upgrade(url)
    engine = get_engine(url)
    if url.startswith("postgresql"):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.conftest import truncate_all

        truncate_all(engine)
    subscriptions.register()
    with session_scope(engine) as db:
        demo.build(db)
        people = {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}
        product = market.upsert_product(
            db, people["bank_admin"], ProductInput.model_validate(PRODUCT)
        ).product
        market.submit_product(db, people["bank_admin"], product.id)
        market.review_product(db, people["op_admin"], product.id, approve=True)
        fund = funds.create_fund(db, people["fund_manager"], name="威海市信保基金", leverage=Decimal(10))
        funds.contribute(
            db,
            people["fund_manager"],
            fund.id,
            amount=Decimal("200000000.00"),
            contributor="威海市财政局",
            key="capital",
        )
        fund_id, product_id = fund.id, product.id
    prior_entries(engine, fund_id, entries)
    loans = []
    started = today_local() - timedelta(days=200)
    for n in range(claims):
        with session_scope(engine) as db:
            app = market.open_application(
                db,
                people["ent_admin"],
                product_id=product_id,
                amount=Decimal(200000 + 1000 * n),
                term_months=12,
                grade="ABC"[n % 3],
            )
            market.accept(db, people["bank_manager"], app.id)
            market.approve(
                db,
                people["bank_risk"],
                app.id,
                ApprovalInput(amount=app.amount, rate=Decimal("4.50"), term_months=12),
            )
            loan = market.disburse(
                db, people["bank_manager"], app.id, DisbursementInput(disbursed_on=started)
            )
            market.report_loan(
                db,
                people["bank_manager"],
                loan.id,
                LoanReportInput(kind="default", occurred_on=today_local()),
            )
            loans.append(loan.id)
    return fund_id, loans


def measure(url: str, fund_id: int, loans: list[int], postings: int) -> dict[str, list[float]]:
    from sqlalchemy import func, select

    from xinyidai.accounts import service as accounts
    from xinyidai.accounts.models import User
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.funds import ledger
    from xinyidai.funds import service as funds
    from xinyidai.funds.models import JournalEntry

    engine = get_engine(url)
    with session_scope(engine) as db:
        people = {
            u.username: accounts.principal_for(u)
            for u in db.scalars(select(User).where(User.username.in_(("bank_risk", "fund_manager"))))
        }
        print(
            f"    ledger: {db.scalar(select(func.count()).select_from(JournalEntry)):,} entries before timing"
        )
    times: dict[str, list[float]] = {"claim (file + approve + payout)": [], "posting": []}
    for loan_id in loans[:WARM_UP]:  # the first calls compile statements and fill caches: not timed
        with session_scope(engine) as db:
            claim = funds.file_claim(db, people["bank_risk"], loan_id=loan_id, loss=Decimal("100000.00"))
            funds.approve_claim(db, people["fund_manager"], claim.id)
    for loan_id in loans[WARM_UP:]:
        started = time.perf_counter()
        with session_scope(engine) as db:
            claim = funds.file_claim(db, people["bank_risk"], loan_id=loan_id, loss=Decimal("100000.00"))
            funds.approve_claim(db, people["fund_manager"], claim.id)
        times["claim (file + approve + payout)"].append((time.perf_counter() - started) * 1000)
    cash, fees = funds.account_code(fund_id, "cash"), funds.account_code(fund_id, "fees")
    for n in range(postings):
        amount = Decimal(5000 + n) / 100
        started = time.perf_counter()
        with session_scope(engine) as db:
            ledger.post(
                db,
                key=f"bench-fee-{n}",
                kind="fee",
                lines=[ledger.Line(cash, debit=amount), ledger.Line(fees, credit=amount)],
                posted_by="bench",
            )
        times["posting"].append((time.perf_counter() - started) * 1000)
    with session_scope(engine) as db:
        check_started = time.perf_counter()
        check = ledger.check_books(db)
        print(
            f"    check_books: {check.entries:,} entries, {check.accounts} accounts, "
            f"{'balanced' if check.ok else check.problems[:3]} in {time.perf_counter() - check_started:.1f} s"
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000, help="prior journal entries")
    parser.add_argument("--claims", type=int, default=300, help="timed claims")
    parser.add_argument("--postings", type=int, default=1000, help="timed plain postings")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its tables are emptied)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xyd-funds-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'xinyidai.db'}"
        os.environ.setdefault("XYD_HOME", tmp)
        started = time.perf_counter()
        fund_id, loans = set_up(url, args.entries, args.claims + WARM_UP)
        print(f"    set-up: {time.perf_counter() - started:.1f} s ({url.split(':', 1)[0]})")
        times = measure(url, fund_id, loans, args.postings)
    print("\n| operation | n | median ms | p99 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for name, values in times.items():
        p99 = pct(values, 0.99)
        worst = max(worst, p99)
        median = statistics.median(values)
        print(f"| {name} | {len(values)} | {median:.1f} | {p99:.1f} | {max(values):.1f} | ≤ 50 |")
    if worst > 50:
        print(f"p99 {worst:.1f} ms is above the 50 ms target")


if __name__ == "__main__":
    main()
