"""Interest subsidies on both databases: the accrual between repayment records (pure), a computed list with
its working and the yearly cap, the Excel export, and the pay-out posted once however often it is asked."""

from __future__ import annotations

import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from tests.integration.test_bridge_loans import enterprises, make_loan, people
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, ValidationFailed
from xinyidai.funds import ledger, subsidies
from xinyidai.funds.ledger import InsufficientFunds
from xinyidai.funds.models import JournalEntry
from xinyidai.funds.programmes_models import SubsidyLine
from xinyidai.market.models import LoanRecord

D = Decimal


def test_accrual_follows_the_balance_between_records() -> None:
    segments = subsidies.accrue(
        amount=D("1000000"),
        rate=D("3.6"),
        points=D("1.5"),
        disbursed_on=date(2026, 1, 1),
        maturity_on=date(2027, 1, 1),
        records=[(date(2026, 3, 1), "repayment", D("400000")), (date(2026, 5, 1), "repayment", D("100000"))],
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
    )
    assert [(s.start, s.end, s.balance) for s in segments] == [
        (date(2026, 1, 1), date(2026, 3, 1), D("1000000")),
        (date(2026, 3, 1), date(2026, 5, 1), D("600000")),
        (date(2026, 5, 1), date(2026, 7, 1), D("500000")),
    ]
    # 1,000,000 × 1.5 % × 59 / 360 = 2,458.33; 600,000 × … × 61 = 1,525.00; 500,000 × … × 61 = 1,270.83
    assert [s.subsidy for s in segments] == [D("2458.33"), D("1525.00"), D("1270.83")]
    assert segments[0].interest == D("5900.00")
    # a default stops the accrual; nothing past maturity; the points never exceed the rate
    stopped = subsidies.accrue(
        amount=D("100000"),
        rate=D("1.0"),
        points=D("1.5"),
        disbursed_on=date(2026, 1, 1),
        maturity_on=date(2026, 2, 1),
        records=[(date(2026, 1, 11), "default", D(0))],
        period_start=date(2025, 12, 1),
        period_end=date(2026, 12, 31),
    )
    assert [(s.days, s.subsidy) for s in stopped] == [(10, D("27.78"))]  # 100,000 × 1 % × 10 / 360


def _setup(engine: Engine) -> tuple[dict, int]:  # type: ignore[type-arg]
    with session_scope(engine) as db:
        p = people(db)
        bank = p["bank_admin"].organisation_id
        firms = enterprises(db, 3)
        start = today_local() - timedelta(days=120)
        a = make_loan(
            db,
            firms[0],
            bank,
            amount="1000000",
            rate="3.6",
            disbursed_on=start,
            maturity_on=start + timedelta(days=365),
        )
        db.add(
            LoanRecord(
                loan_id=a.id,
                kind="repayment",
                amount=D("400000"),
                occurred_on=start + timedelta(days=30),
                reported_by="t",
            )
        )
        make_loan(
            db,
            firms[1],
            bank,
            amount="8000000",
            rate="3.9",
            disbursed_on=start,
            maturity_on=start + timedelta(days=365),
        )
        make_loan(
            db,
            firms[2],
            bank,
            amount="500000",
            rate="4.35",
            disbursed_on=start,
            maturity_on=start + timedelta(days=365),
        )  # above 4 %: not subsidised
        policy = subsidies.create_policy(
            db,
            p["fund_manager"],
            name="上海贴息",
            points=D("1.5"),
            max_loan_rate=D("4"),
            cap_per_enterprise_year=D("30000"),
            starts_on=start - timedelta(days=10),
            ends_on=start + timedelta(days=720),
        )
        return p, policy.id


def test_a_list_is_computed_capped_exported_and_paid_once(engine: Engine) -> None:
    p, policy_id = _setup(engine)
    fm = p["fund_manager"]
    start = today_local() - timedelta(days=120)
    end = today_local() - timedelta(days=1)
    with session_scope(engine) as db:
        run = subsidies.compute(db, fm, policy_id, period_start=start, period_end=end)
        lines = subsidies.run_lines(db, run)
        assert len(lines) == 2  # the 4.35 % loan does not qualify
        small, capped = sorted(lines, key=lambda x: x.computed)
        days = (end - start).days + 1
        expected = D(1000000) * D("0.015") * 30 / 360 + D(600000) * D("0.015") * (days - 30) / 360
        assert abs(small.computed - expected) <= D("0.02")
        assert small.amount == small.computed
        assert capped.computed > D(30000) and capped.amount == D("30000.00")  # the yearly cap
        assert sum(D(s["subsidy"]) for w in small.working[1:] for s in w["segments"]) == small.computed
        with pytest.raises(Conflict):  # the same period twice
            subsidies.compute(db, fm, policy_id, period_start=start, period_end=end)
        with pytest.raises(ValidationFailed):  # not over yet
            subsidies.compute(db, fm, policy_id, period_start=end, period_end=today_local())
        book = load_workbook(io.BytesIO(subsidies.export_xlsx(lines, lambda s: s)))
        assert book.sheetnames == ["Subsidy list", "Working"]
        assert book["Subsidy list"].max_row == 3 and book["Working"].max_row == 1 + 2 + 1
        run_id, total = run.id, run.total
    with session_scope(engine) as db, pytest.raises(InsufficientFunds):  # no budget yet: nothing paid
        subsidies.pay_out(db, fm, run_id)
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(JournalEntry)) == 0
        subsidies.fund_budget(db, fm, policy_id, amount=D("1000000"), key="b1")
        subsidies.fund_budget(db, fm, policy_id, amount=D("1000000"), key="b1")  # posted once
        assert subsidies.budget_balance(db, subsidies.get_policy(db, fm, policy_id)) == D("1000000.00")
    # Two clerks press "pay" at once, and one presses it again: each line is posted once.
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def pay() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                subsidies.pay_out(db, fm, run_id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(engine) as db:
        subsidies.pay_out(db, fm, run_id)
        assert all(isinstance(e, Conflict) for e in errors), errors
        assert (
            db.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "subsidy"))
            == 2
        )
        assert all(line.status == "paid" and line.entry_id for line in db.scalars(select(SubsidyLine)))
        policy = subsidies.get_policy(db, fm, policy_id)
        assert subsidies.budget_balance(db, policy) == D("1000000.00") - total
        assert ledger.check_books(db).ok


def test_the_cap_counts_earlier_lists_of_the_year(engine: Engine) -> None:
    p, policy_id = _setup(engine)
    fm = p["fund_manager"]
    start = today_local() - timedelta(days=120)
    with session_scope(engine) as db:
        first = subsidies.compute(
            db, fm, policy_id, period_start=start, period_end=start + timedelta(days=59)
        )
        second = subsidies.compute(
            db,
            fm,
            policy_id,
            period_start=start + timedelta(days=60),
            period_end=today_local() - timedelta(days=1),
        )
        by_firm: dict[int, Decimal] = {}
        for line in [*subsidies.run_lines(db, first), *subsidies.run_lines(db, second)]:
            if first.period_end.year == second.period_end.year:
                by_firm[line.enterprise_id] = by_firm.get(line.enterprise_id, D(0)) + line.amount
        assert all(v <= D("30000") for v in by_firm.values())
        with pytest.raises(ValidationFailed):
            subsidies.create_policy(
                db,
                fm,
                name="x",
                points=D("5"),
                max_loan_rate=D("4"),
                cap_per_enterprise_year=D("1"),
                starts_on=start,
                ends_on=start,
            )
        assert subsidies.discard(db, fm, second.id).status == "discarded"
