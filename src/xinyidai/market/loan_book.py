"""The platform's loan book delivered to the lake (the ``platform_loans`` source), once a month.

The indicators of financing history on the platform (loans, overdue, defaults, lenders) and the risk rules
read the lake, not the database. At each month's end the marketplace writes every loan disbursed by then with
its state — outstanding principal, days overdue, status — and delivers the file through ordinary ingestion,
so it is validated, batched and visible only from its arrival (indicators as of an earlier date never see it).
A second delivery of the same month replaces the first.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.core.clock import today_local
from xinyidai.data import service as data_service
from xinyidai.data.lake import Lake
from xinyidai.market.models import Loan

SOURCE = "platform_loans"
STATUS_CODES = {"current": "正常", "overdue": "逾期", "defaulted": "违约", "repaid": "结清"}
COLUMNS = (
    "uscc",
    "period",
    "loan_ref",
    "institution",
    "amount",
    "outstanding",
    "days_overdue",
    "status",
    "disbursed_on",
)


def month_end(period: str) -> date:
    """The last day of ``YYYY-MM``."""
    year, month = int(period[:4]), int(period[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def previous_month(today: date | None = None) -> str:
    """``YYYY-MM`` of the month before ``today`` (the month a nightly job delivers on the 1st)."""
    first = (today or today_local()).replace(day=1)
    return f"{date.fromordinal(first.toordinal() - 1):%Y-%m}"


def this_month(today: date | None = None) -> str:
    """``YYYY-MM`` of ``today``'s month."""
    return f"{today or today_local():%Y-%m}"


def export_loan_book(
    session: Session, lake: Lake, period: str, folder: Path, *, received_at: datetime | None = None
) -> data_service.BatchResult:
    """Deliver the loan book of month ``period`` (``YYYY-MM``): every loan disbursed by its end, with its
    state as the platform knows it now. Commits the session (ingestion does)."""
    end = month_end(period)
    names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    loans = session.scalars(select(Loan).where(Loan.disbursed_on <= end).order_by(Loan.id)).all()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SOURCE}-{period}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for loan in loans:
            writer.writerow(
                [
                    loan.uscc,
                    period,
                    loan.contract_no or f"XYD-{loan.id:08d}",
                    names.get(loan.institution_id, ""),
                    f"{loan.amount:.2f}",
                    f"{loan.outstanding:.2f}",
                    loan.days_overdue,
                    STATUS_CODES[loan.status],
                    loan.disbursed_on.isoformat(),
                ]
            )
    return data_service.ingest_files(
        SOURCE, [path], lake=lake, session=session, provider="platform", received_at=received_at
    )
