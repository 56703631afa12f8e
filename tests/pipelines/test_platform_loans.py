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
