"""Risk monitoring benchmark: 1,000 active rules over 1,000,000 enterprises, and a pushed event to an alert.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/monitoring_bench.py                  # 1,000,000 firms
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/monitoring_bench.py --firms 100000 --repeat 1

A lake of three indicator snapshots (now, the previous one, three months before) for ``--firms`` firms with
every indicator drawn from a plausible distribution is written first (not timed). The rules: the library's
batch rules that read indicators (not the live loan book or the rating, which need a database and a
rating run), each repeated with its numeric thresholds scaled (×0.8 … ×1.25) until there are 1,000
distinct texts. Timed, median of ``--repeat``: reading the evaluation table (only the columns the rules
read, from the three snapshots, aligned by USCC) and evaluating the 1,000 rules in DuckDB, then turning the
hits into alert candidates for one institution watching every firm. Then, on a SQLite database, one
pushed court case against a watched firm with the library's event rules active: the time from the push to
the alert row (``monitoring.on_push``), median and p99 of 50. Targets (issue 7): ≤ 60 s and ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.core.access import OrgKind
from xinyidai.data.lake import Lake
from xinyidai.indicators.compute import snapshot_path
from xinyidai.indicators.service import INDICATORS
from xinyidai.monitoring.engine import evaluate_rules
from xinyidai.monitoring.fields import check_rule
from xinyidai.monitoring.frame import build_frame
from xinyidai.monitoring.library import LIBRARY

DATES = (date(2026, 8, 31), date(2026, 10, 31), date(2026, 11, 30))
FLOWS = (
    "sales",
    "tax_paid",
    "electricity",
    "water_12m",
    "gas_12m",
    "insured",
    "contributions",
    "hf_amount",
    "exports",
    "imports",
    "invoice_sales",
    "invoice_purchases",
    "separations",
    "new_hires",
)
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")


def snapshots(n: int, rng: np.random.Generator, uscc: pa.Array) -> list[pa.Table]:
    """Three snapshots, oldest first: a firm's figures drift a little from one to the next (±3 % a month,
    a case or an arrears month now and then), so rules comparing periods fire on a few firms, not half."""
    base: dict[str, np.ndarray] = {}
    rare = (
        "arrears",
        "fines",
        "defendant",
        "enforcement",
        "lost_",
        "penalt",
        "dishonest",
        "cases",
        "changes",
        "overdue",
        "default",
        "mortgage",
        "secured",
        "fund_",
        "platform_",
        "void",
        "negative",
    )
    for item in INDICATORS:
        name = item.id
        if item.type == "boolean":
            base[name] = rng.random(n) < (0.99 if name in ("is_active",) else 0.01)
        elif any(k in name for k in rare):  # most firms have none
            some = rng.random(n) < 0.03
            scale = rng.poisson(1, n) + 1 if item.type == "integer" else rng.lognormal(10, 1.5, n)
            base[name] = (scale * some).astype(np.int64 if item.type == "integer" else np.float64)
        elif item.type == "integer":
            typical = 12 if "months_with" in name else 80 if "score" in name else 20
            base[name] = rng.poisson(typical, n).astype(np.int64)
        elif any(k in name for k in ("rate", "growth", "ratio", "trend", "burden", "coverage", "volatility")):
            base[name] = (
                np.abs(rng.normal(0.1, 0.08, n))
                if "volatility" in name or "rate" in name
                else rng.normal(0.05, 0.1, n)
            )
        elif "margin" in name:
            base[name] = rng.normal(0.12, 0.06, n)
        elif "age_years" in name:
            base[name] = rng.uniform(1, 25, n)
        else:
            base[name] = rng.lognormal(12, 1.2, n)
    base["dishonest_entries"] = base["on_dishonest_list"].astype(np.int64)
    for now, before in (
        ("sales_3m", "sales_prev_3m"),
        ("electricity_3m", "electricity_prev_3m"),
        ("sales_12m", "sales_prev_12m"),
        ("electricity_12m", "electricity_prev_12m"),
        ("tax_paid_12m", "tax_paid_prev_12m"),
        ("insured_latest", "insured_12m_ago"),
    ):
        base[before] = base[now] * np.abs(rng.normal(1, 0.1, n))
    base["invoice_sales_12m"] = base["sales_12m"] * rng.normal(1, 0.05, n)
    out = []
    for months in (3, 1, 0):  # three months before, the month before, now
        columns: dict[str, pa.Array] = {"uscc": uscc}
        for item in INDICATORS:
            values = base[item.id]
            if months:
                if item.type == "boolean":
                    values = values & (rng.random(n) > 0.1 * months)
                elif item.type == "integer":
                    values = np.maximum(values - (rng.random(n) < 0.01 * months), 0)
                elif any(k in item.id for k in FLOWS):
                    values = values * (1 + rng.normal(0, 0.03 * months, n))
            columns[item.id] = pa.array(values)
        out.append(pa.table(columns))
    return out


def rules(count: int) -> list:
    base = [
        r.expression
        for s in LIBRARY
        for r in s.rules
        if r.trigger == "batch" and not re.search(r"\b(loans?_|own_|grade|score|fund_)", r.expression)
    ]
    texts: list[str] = []
    seen: set[str] = set()
    factor = 0
    scales = (1.0, 0.8, 1.25, 0.9, 1.1, 0.7, 1.5, 0.95, 1.05, 0.85, 1.2)
    while len(texts) < count and factor < 100:
        scale = scales[factor % len(scales)] * (1 + factor // len(scales) / 100)
        for text in base:
            varied = NUMBER.sub(lambda m, k=scale: repr(round(float(m.group(1)) * k, 6)), text)
            if varied not in seen:
                seen.add(varied)
                texts.append(varied)
                if len(texts) == count:
                    break
        factor += 1
    return [check_rule(t, OrgKind.DEPARTMENT) for t in texts]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    compiled = rules(args.rules)
    fields = set().union(*(c.fields for c in compiled))
    print(
        f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; {args.firms:,} firms; {len(compiled):,} "
        f"distinct rules reading {len(fields)} fields",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake", fsync=False)
        uscc = pa.array([f"91{i:016d}" for i in range(args.firms)])
        for day, table in zip(DATES, snapshots(args.firms, rng, uscc), strict=True):
            path = snapshot_path(lake, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, row_group_size=50_000)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            frame = build_frame(None, lake, DATES[-1], fields, live=False)  # type: ignore[arg-type]
            assert frame is not None
            read = time.perf_counter() - started
            hits = evaluate_rules(compiled, frame.table)
            evaluated = time.perf_counter() - started
            firms = frame.table["uscc"].to_pylist()
            candidates = sum(len(h) for h in hits.values())
            for rows in hits.values():  # alert candidates for one watcher of every firm
                for row in rows.tolist():
                    firms[row]
            total = time.perf_counter() - started
            timings.append(total)
            share = candidates / args.firms / len(compiled)
            print(
                f"  read {read:.1f} s, evaluate {evaluated - read:.1f} s, "
                f"candidates {total - evaluated:.1f} s: {total:.1f} s; {candidates:,} hits ({share:.3%} of "
                f"firm-rules); load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        print(f"1,000 rules × {args.firms:,} firms: median {statistics.median(timings):.1f} s (target 60 s)")


if __name__ == "__main__":
    main()
