"""Backtesting rules on history before they are switched on: how many alerts, on whom, and how many of
those firms went on to default — with how much warning.

History is replayed month by month: for each month end of the last ``months`` months, the indicators as
received by that day (the registry as received last, since it is delivered as one snapshot; see
``compute_indicators(registry_as_of=…)``) are computed once and kept under ``_monitoring/history`` in the
lake. A rule "raises" on a firm at the first month end it holds after not holding (as the live
de-duplication would); a firm already in default then is left out. The ground truth is the lake's known
outcomes (``rating.outcomes``; the synthetic city's ``_truth``): a firm's default month is the first month
it is in default.

Per rule: alerts raised, firms alerted, of which later defaulted (hits), hit rate, the city's base rate
and the lift (hit rate / base rate), and the median lead time in days from the first alert to the default
month. Live loan fields are NULL in history (the platform's loan book is not replayed) and the rating fields
exist only where a rating was run on or before the month end.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from xinyidai.core.clock import utcnow
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.expressions import CompiledExpression
from xinyidai.data import service as data_service
from xinyidai.data.lake import Lake
from xinyidai.indicators.compute import compute_indicators
from xinyidai.monitoring.engine import evaluate_rules
from xinyidai.monitoring.frame import build_frame
from xinyidai.rating.outcomes import OUTCOMES_DIR, has_outcomes

__all__ = ["HISTORY_DIR", "BacktestRule", "backtest_rules", "ensure_history", "history_dates"]

HISTORY_DIR = "_monitoring/history"
MAX_FIRMS_LISTED = 50


@dataclass(frozen=True)
class BacktestRule:
    code: str
    name: str
    severity: str
    compiled: CompiledExpression


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def history_dates(lake: Lake, months: int = 12) -> list[date]:
    """The month ends to replay: the last ``months`` complete months before the newest delivery."""
    last = data_service.last_receipt_date(lake)
    if last is None:
        return []
    end = last.replace(day=1) - timedelta(days=1)
    out = []
    for _ in range(months):
        out.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return sorted(out)


def _history_path(lake: Lake, day: date) -> Path:
    return lake.root / HISTORY_DIR / f"as_of={day.isoformat()}.parquet"


def ensure_history(lake: Lake, dates: Sequence[date]) -> dict[date, Path]:
    """The history snapshot of each date, computed (and kept) where missing."""
    registry_as_of = data_service.last_receipt_date(lake, "registration")
    out = {}
    for day in dates:
        path = _history_path(lake, day)
        if not path.is_file():
            table = compute_indicators(lake, day, registry_as_of=max(registry_as_of or day, day))
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".parquet.part")
            pq.write_table(table, temporary, compression="zstd")
            os.replace(temporary, path)
        out[day] = path
    return out


def _default_months(lake: Lake) -> dict[str, date]:
    table = pq.read_table(
        lake.root / OUTCOMES_DIR / "monthly.parquet", columns=["uscc", "month", "in_default"]
    )
    table = table.filter(table["in_default"])
    grouped = table.group_by("uscc").aggregate([("month", "min")])
    return dict(zip(grouped["uscc"].to_pylist(), grouped["month_min"].to_pylist(), strict=True))


def backtest_rules(
    session: Session, lake: Lake, rules: Sequence[BacktestRule], *, months: int = 12
) -> dict[str, Any]:
    """Replay ``rules`` over the last ``months`` month ends (see the module docstring); a JSON-safe summary.

    Raises ValidationFailed when the lake has no history or no known outcomes to measure against.
    """
    if not has_outcomes(lake):
        raise ValidationFailed("There are no known outcomes to backtest against: import outcomes first")
    dates = history_dates(lake, months)
    if len(dates) < 2:
        raise ValidationFailed("There is not enough history in the lake to backtest on")
    paths = ensure_history(lake, dates)
    defaults = _default_months(lake)
    fields = set().union(*(r.compiled.fields for r in rules)) if rules else set()
    holding_before: list[set[str]] = [set() for _ in rules]
    first_alert: list[dict[str, date]] = [{} for _ in rules]
    raised = [0] * len(rules)
    firms_seen: set[str] = set()
    for day in dates:
        frame = build_frame(
            session, lake, day, fields, snapshot_path=paths.__getitem__, dates=dates, live=False
        )
        if frame is None:
            continue
        table = frame.table
        uscc = table["uscc"].to_pylist()
        firms_seen.update(u for u in uscc if not (u in defaults and defaults[u] <= day))
        hits = evaluate_rules([r.compiled for r in rules], table)
        for i in range(len(rules)):
            holding = {uscc[row] for row in hits[i].tolist()}
            for firm in holding - holding_before[i]:
                if firm in defaults and defaults[firm] <= day:
                    continue  # already in default: no warning to give
                raised[i] += 1
                first_alert[i].setdefault(firm, day)
            holding_before[i] = holding
    base_bad = sum(1 for f in firms_seen if f in defaults)
    base_rate = base_bad / len(firms_seen) if firms_seen else 0.0
    results = []
    for i, rule in enumerate(rules):
        firms = first_alert[i]
        leads = [(defaults[f] - d).days for f, d in firms.items() if f in defaults and defaults[f] > d]
        hit_rate = len(leads) / len(firms) if firms else None
        listed = sorted(firms.items(), key=lambda item: (item[1], item[0]))[:MAX_FIRMS_LISTED]
        results.append(
            {
                "code": rule.code,
                "name": rule.name,
                "severity": rule.severity,
                "alerts": raised[i],
                "firms": len(firms),
                "hits": len(leads),
                "hit_rate": round(hit_rate, 4) if hit_rate is not None else None,
                "lift": round(hit_rate / base_rate, 2) if hit_rate is not None and base_rate else None,
                "median_lead_days": int(statistics.median(leads)) if leads else None,
                "examples": [
                    {
                        "uscc": f,
                        "first_alert": d.isoformat(),
                        "defaulted": defaults[f].isoformat() if f in defaults and defaults[f] > d else None,
                    }
                    for f, d in listed
                ],
            }
        )
    union: dict[str, date] = {}
    for firms in first_alert:
        for f, d in firms.items():
            union[f] = min(d, union.get(f, d))
    union_leads = [(defaults[f] - d).days for f, d in union.items() if f in defaults and defaults[f] > d]
    return {
        "backtested_at": utcnow().isoformat(),
        "from": dates[0].isoformat(),
        "to": dates[-1].isoformat(),
        "months": len(dates),
        "firms": len(firms_seen),
        "base_rate": round(base_rate, 4),
        "alerts": sum(raised),
        "firms_alerted": len(union),
        "hits": len(union_leads),
        "hit_rate": round(len(union_leads) / len(union), 4) if union else None,
        "lift": round(len(union_leads) / len(union) / base_rate, 2) if union and base_rate else None,
        "median_lead_days": int(statistics.median(union_leads)) if union_leads else None,
        "defaulters_warned": round(len(union_leads) / base_bad, 4) if base_bad else None,
        "rules": results,
    }
