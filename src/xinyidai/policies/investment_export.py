"""Government funds' investments delivered to the lake (the ``fund_investments`` source), once a month.

投贷联动: an enterprise a government fund has invested in is a better credit. The rating reads the lake, so
at each month's end the platform delivers, per enterprise and fund, what the fund has invested by then,
through ordinary ingestion (visible from its arrival; indicators as of an earlier date never see it).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.data import service as data_service
from xinyidai.data.lake import Lake
from xinyidai.market.loan_book import month_end
from xinyidai.policies.models import Investment, InvestmentFund

SOURCE = "fund_investments"
COLUMNS = ("uscc", "period", "fund", "invested", "stake", "first_invested_on")


def export_investments(
    session: Session, lake: Lake, period: str, folder: Path, *, received_at: datetime | None = None
) -> data_service.BatchResult | None:
    """Deliver month ``period``'s investments (None when no fund has invested yet: nothing to deliver).
    Commits the session (ingestion does)."""
    end = month_end(period)
    rows = session.execute(
        select(Investment, InvestmentFund.name)
        .join(InvestmentFund, InvestmentFund.id == Investment.fund_id)
        .where(Investment.invested_on <= end)
        .order_by(Investment.invested_on, Investment.id)
    ).all()
    if not rows:
        return None
    invested: dict[tuple[str, str], Decimal] = {}
    stake: dict[tuple[str, str], Decimal] = {}
    first: dict[tuple[str, str], date] = {}
    for investment, fund in rows:
        key = (investment.uscc, fund)
        invested[key] = invested.get(key, Decimal(0)) + Decimal(investment.amount)
        stake[key] = stake.get(key, Decimal(0)) + Decimal(investment.stake)
        first.setdefault(key, investment.invested_on)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SOURCE}-{period}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for (uscc, fund), total in invested.items():
            share = min(stake[(uscc, fund)], Decimal(100))
            writer.writerow(
                [uscc, period, fund, f"{total:.2f}", f"{share:.4f}", first[(uscc, fund)].isoformat()]
            )
    return data_service.ingest_files(
        SOURCE, [path], lake=lake, session=session, provider="platform", received_at=received_at
    )
