"""A pushed court case to an alert: the time ``monitoring.on_push`` takes inside the push request.

    OMP_WAIT_POLICY=PASSIVE XYD_HOME=var .venv/bin/python bench/monitoring_push_bench.py   # after make demo

Needs a built demo (``make demo``: the bank's library rule sets are on, with their event rules). Each of
``--repeat`` pushes is one transaction — the firm's watchers, its newest figures (memory-mapped snapshot),
its live loans, every active event rule, the alert row and the notification — rolled back afterwards so the
next push raises the alert again rather than finding it open. Prints the median and p99 (target: ≤ 1 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date

from sqlalchemy import delete, select

import xinyidai.models  # noqa: F401 — every table
from xinyidai.core.database import get_engine, session_factory
from xinyidai.core.settings import Settings
from xinyidai.data import service as data_service
from xinyidai.market.models import Loan
from xinyidai.monitoring import service as monitoring
from xinyidai.monitoring.models import Alert


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    settings = Settings()
    lake = data_service.open_lake(settings)
    session = session_factory(get_engine(settings.database_url))()
    borrower = session.scalar(select(Loan.uscc).where(Loan.status == "current").limit(1))
    if borrower is None:
        raise SystemExit("no borrower: run make demo first")
    row = {
        "uscc": borrower,
        "case_number": "(2026)鲁1002民初9999号",
        "role": "被告",
        "case_type": "民事",
        "cause": "借款合同纠纷",
        "amount": 3_000_000,
        "filed_on": date.today(),
    }
    times = []
    raised = 0
    for n in range(args.repeat + 1):  # the first (warm-up: rules compiled, snapshot mapped) is not timed
        session.execute(delete(Alert).where(Alert.uscc == borrower, Alert.source == "event"))
        started = time.perf_counter()
        raised = monitoring.on_push(session, lake, "court_cases", [row])
        session.flush()
        if n:
            times.append(time.perf_counter() - started)
        session.rollback()
    session.close()
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    print(
        f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; {args.repeat} pushes, "
        f"{raised} alert(s) each; "
        f"median {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (target 1,000 ms)"
    )


if __name__ == "__main__":
    main()
