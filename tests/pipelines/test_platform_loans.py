"""The platform's own loan book reaches the lake as financing-history indicators, without look-ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select

from tests.pipelines.test_quality import registration
from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.data.ingest import ingest_files
from xinyidai.data.lake import Lake
from xinyidai.indicators.compute import compute_indicators
from xinyidai.market import service as market
from xinyidai.market.loan_book import export_loan_book, month_end
from xinyidai.market.models import Loan
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    DisbursementInput,
    LoanReportInput,
    ProductInput,
)


def test_month_end() -> None:
    assert month_end("2026-02") == date(2026, 2, 28) and month_end("2026-12") == date(2026, 12, 31)


def test_the_loan_book_becomes_indicators_only_once_it_has_arrived(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as db:
        demo.build(db)
        people = {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}
        product = market.upsert_product(
            db,
            people["bank_admin"],
            ProductInput.model_validate(
                {
                    "external_id": "P",
                    "name": "税e贷",
                    "product_type": "credit",
                    "amount_min": "100000",
                    "amount_max": "2000000",
                    "term_min": 3,
                    "term_max": 24,
                    "rate_min": "3.85",
                    "rate_max": "6.00",
                    "repayment_methods": ["interest_first"],
                }
            ),
        ).product
        market.submit_product(db, people["bank_admin"], product.id)
        market.review_product(db, people["op_admin"], product.id, approve=True)
        loans = []
        for amount in ("300000", "200000"):
            app = market.apply(
                db,
                None,
                people["ent_admin"],
                ApplicationInput(product_id=product.id, amount=Decimal(amount), term_months=12),
                Settings(),
            ).application
            market.accept(db, people["bank_manager"], app.id)
            market.approve(
                db,
                people["bank_risk"],
                app.id,
                ApprovalInput(amount=Decimal(amount), rate=Decimal("4.2"), term_months=12),
            )
            loans.append(
                market.disburse(
                    db,
                    people["bank_manager"],
                    app.id,
                    DisbursementInput(disbursed_on=today_local() - timedelta(days=40)),
                )
            )
        market.report_loan(
            db,
            people["bank_manager"],
            loans[1].id,
            LoanReportInput(kind="overdue", days_overdue=35, occurred_on=today_local()),
        )
        uscc = loans[0].uscc
    lake = Lake(tmp_path / "lake", fsync=False)
    period = f"{today_local():%Y-%m}"
    received = datetime.now(UTC)
    session = session_factory(engine)()
    try:
        ingest_files(
            "registration",
            [_registration(tmp_path, uscc)],
            lake=lake,
            session=session,
            received_at=received - timedelta(days=400),
        )
        batch = export_loan_book(session, lake, period, tmp_path / "out", received_at=received)
        assert batch.outcome == "published" and batch.rows_accepted == 2, batch.error
    finally:
        session.close()
    next_month = month_end(period) + timedelta(days=1)
    row = next(r for r in compute_indicators(lake, next_month).to_pylist() if r["uscc"] == uscc)
    assert row["platform_loans_24m"] == 2 and row["platform_outstanding"] == 500000
    assert row["platform_lenders"] == 1 and row["platform_max_overdue_days_12m"] == 35
    assert row["platform_overdue_months_12m"] == 1 and row["platform_defaults_24m"] == 0
    before = received.date() - timedelta(days=1)  # as of a day before the delivery arrived: nothing
    earlier = next(r for r in compute_indicators(lake, before).to_pylist() if r["uscc"] == uscc)
    assert earlier["platform_loans_24m"] == 0 and earlier["platform_max_overdue_days_12m"] == 0
    with session_scope(engine) as db:
        assert len(db.scalars(select(Loan)).all()) == 2


def _registration(tmp_path: Path, uscc: str) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text(
        "".join(",".join(str(c) for c in row) + "\n" for row in registration([uscc])), encoding="utf-8"
    )
    return path


def test_government_funds_investments_become_indicators(engine: Engine, tmp_path: Path) -> None:
    from xinyidai.accounts.models import Organisation
    from xinyidai.policies.investment_export import export_investments
    from xinyidai.policies.models import Investment, InvestmentFund

    with session_scope(engine) as db:
        demo.build(db)
        admin = db.scalars(select(User).where(User.username == "ent_admin")).one()
        uscc, enterprise_id = admin.organisation.enterprise.uscc, admin.organisation_id
        manager = db.scalars(select(Organisation).where(Organisation.name == "威海市财政局")).one()
        fund = InvestmentFund(
            manager_id=manager.id,
            name="威海市科创引导基金",
            manager_name="威海产业投资有限公司",
            focus="科技型中小企业",
            size=Decimal("500000000"),
            created_by="t",
        )
        db.add(fund)
        db.flush()
        for amount, stake, day in (("3000000", "5", date(2026, 3, 1)), ("2000000", "3", date(2026, 6, 1))):
            db.add(
                Investment(
                    fund_id=fund.id,
                    enterprise_id=enterprise_id,
                    uscc=uscc,
                    amount=Decimal(amount),
                    invested_on=day,
                    stake=Decimal(stake),
                    recorded_by="t",
                )
            )
    lake = Lake(tmp_path / "lake", fsync=False)
    session = session_factory(engine)()
    try:
        ingest_files(
            "registration",
            [_registration(tmp_path, uscc)],
            lake=lake,
            session=session,
            received_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        batch = export_investments(
            session, lake, "2026-04", tmp_path / "out", received_at=datetime(2026, 5, 2, tzinfo=UTC)
        )
        assert batch is not None and batch.rows_accepted == 1, batch
    finally:
        session.close()
    row = next(r for r in compute_indicators(lake, date(2026, 5, 10)).to_pylist() if r["uscc"] == uscc)
    assert row["fund_invested"] == 3000000 and row["fund_investors"] == 1  # June's investment is not in April
    before = next(r for r in compute_indicators(lake, date(2026, 5, 1)).to_pylist() if r["uscc"] == uscc)
    assert before["fund_invested"] == 0  # delivered on 2 May: unseen the day before
