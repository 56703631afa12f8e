"""Data-quality throughput: every rule over one month's delivery, against a naive row-by-row baseline.

    .venv/bin/python bench/quality_bench.py --home /tmp/xyd-home-1m          # a lake built beforehand
    .venv/bin/python bench/quality_bench.py --enterprises 20000               # builds a small city first

The issue's target: all quality rules over one month's delivery of a 1,000,000-firm city in ≤ 60 s.
``--home`` points at an installation (``XYD_HOME``) whose lake already holds the city (``xinyidai synth``
then ``xinyidai ingest --all``); without it, a city of ``--enterprises`` firms is generated and ingested
into a temporary folder first (not timed).

Measured: ``check_lake`` — every rule of the library, as the daily run does it (``--repeat`` times, the
median quoted). In the same run, the naive alternative: the month's rows of each monthly source loaded
into pandas (one dict per row) and every row rule applied per row with ``Series.apply`` and the expression
language's one-record evaluator — timed on ``--naive-rows`` rows per source and scaled linearly to the
month's rows (table rules — uniqueness, registry links, cross-source joins — are not even attempted
there, so the ratio flatters the baseline). The load average is printed with each figure.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from city import build_city, load_average


def naive_seconds(lake: object, as_of: date, period: str, sample: int) -> tuple[float, int, int]:
    """Seconds the row-by-row baseline would take over the month, the rows it covers, the rules it ran."""
    import pandas as pd

    from xinyidai.core.expressions import compile_expression
    from xinyidai.data.catalogue import Frequency, catalogue
    from xinyidai.data.lake import Lake
    from xinyidai.data.quality.engine import _month_bounds, field_catalogue, lake_time
    from xinyidai.data.quality.rules import ROW_KINDS, rule_library

    assert isinstance(lake, Lake)
    start, end = _month_bounds(period)
    total_seconds, total_rows, rules_run = 0.0, 0, 0
    for source in catalogue().sources.values():
        if source.frequency is not Frequency.MONTHLY or source.period_field != "period":
            continue
        rules = [r for r in rule_library() if r.source_id == source.id and r.kind in ROW_KINDS]
        compiled = [compile_expression(str(r.expression), field_catalogue(source.id)) for r in rules]
        relation = lake.query(
            source.id, "period >= $s AND period < $e", params={"s": start, "e": end}, as_of=lake_time(as_of)
        )
        rows = int(relation.aggregate("count(*)").fetchall()[0][0])
        if rows == 0:
            continue
        # one Python dict per row (dates and decimals as the expression language's one-record evaluator
        # takes them), each rule applied row by row with pandas
        frame = pd.Series(relation.limit(sample).to_arrow_table().to_pylist())
        frame = frame.apply(lambda row: {**row, "as_of": as_of})
        started = time.perf_counter()
        for rule in compiled:
            frame.apply(rule.matches)
        elapsed = time.perf_counter() - started
        total_seconds += elapsed * rows / len(frame)
        total_rows += rows
        rules_run += len(rules)
    return total_seconds, total_rows, rules_run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="an XYD_HOME whose lake holds the city")
    parser.add_argument(
        "--enterprises", type=int, default=20_000, help="size of the city built without --home"
    )
    parser.add_argument("--months", type=int, default=8)
    parser.add_argument("--as-of", type=date.fromisoformat, help="default: the day of the last delivery")
    parser.add_argument("--period", help="YYYY-MM; default: the newest month delivered by --as-of")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows per source the baseline runs on")
    args = parser.parse_args()

    from xinyidai.data import service as data
    from xinyidai.data.lake import Lake
    from xinyidai.data.quality.engine import check_lake, default_period
    from xinyidai.data.quality.rules import rule_library

    home = args.home or build_city(args.enterprises, args.months, prefix="xyd-quality-bench-")
    lake = Lake(home / "lake", fsync=False)
    as_of = args.as_of or data.last_receipt_date(lake)
    if as_of is None:
        raise SystemExit(f"the lake under {home} is empty")
    period = args.period or default_period(lake, as_of)
    assert period is not None
    stats = {s.source_id: s for s in lake.stats()}
    firms = stats["registration"].rows
    print(
        f"lake {home / 'lake'}: {firms:,} registered firms; as of {as_of}, period {period}; {load_average()}"
    )

    check_lake(lake, as_of=as_of, period=period, sources=["water"])  # warm-up: imports, DuckDB start
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        outcomes = check_lake(lake, as_of=as_of, period=period)
        timings.append(time.perf_counter() - started)
        print(f"  check_lake: {timings[-1]:.2f} s ({load_average()})")
    checked = sum(o.rows_checked for o in outcomes if o.rule.kind.value in ("completeness",))
    median = statistics.median(timings)
    print(
        f"all {len(rule_library())} rules, one month: median {median:.2f} s over {args.repeat} runs "
        f"({sum(not o.passed for o in outcomes)} rules failed; {checked:,} row-checks by completeness rules)"
    )
    naive, rows, rules = naive_seconds(lake, as_of, period, args.naive_rows)
    print(
        f"naive pandas Series.apply per row, only the {rules} row rules of the monthly sources "
        f"over {rows:,} rows: {naive:.1f} s (scaled from {args.naive_rows:,} rows a source; {load_average()})"
    )
    print(
        f"ratio: the engine is {naive / median:.0f}× faster while doing more (table and cross-source rules)"
    )


if __name__ == "__main__":
    main()
