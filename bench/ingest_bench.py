"""Ingestion throughput: the vectorised path against a naive row-by-row validation.

    .venv/bin/python bench/ingest_bench.py                      # 2,000,000 rows of social_security, 5 runs
    .venv/bin/python bench/ingest_bench.py --rows 5000000 --dirt 0.02
    .venv/bin/python bench/ingest_bench.py --file some.csv --source social_security

Generates one monthly social_security CSV (distinct valid USCCs, a little dirt: wrong check characters,
thousands separators, 万元 amounts, full-width codes, blanks, repeated rows, Chinese month formats),
ingests it into a temporary lake and SQLite database with validation on, and prints rows per second.
In the same run, a naive alternative — parse and validate each row in Python (pandas ``apply`` when pandas
is installed, else the ``csv`` module), the way a first version usually does — runs over a subset and
is scaled linearly to the full size. A small warm-up ingestion runs first so one-off start-up costs
(imports, compiled patterns) are not counted; the first big run still pays for growing the process's
memory pools (page faults), so the median of ``--repeat`` runs is quoted and every run is printed. The
machine's load average and the process's CPU time are printed with each run: on a shared machine, quote
numbers with them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import csv
import re
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

HEADER = ["统一社会信用代码", "所属期", "参保人数", "新增参保人数", "减少参保人数", "缴费金额", "欠费金额"]


def make_usccs(count: int, seed: int) -> np.ndarray:
    """``count`` distinct valid codes (9 1 371002 + 8-character body + both check characters)."""
    from xinyidai.core.uscc import ALPHABET, WEIGHTS

    alphabet = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    org_alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n = np.arange(count, dtype=np.int64) + np.random.default_rng(seed).integers(0, 10**6)
    body = np.stack([(n // 31**k) % 31 for k in range(8)], axis=1)[:, ::-1]  # values 0..30
    org_values = np.array([org_alphabet.index(c) for c in ALPHABET])[body]
    org = 11 - (org_values @ np.array([3, 7, 9, 10, 5, 8, 4, 2])) % 11
    org_char = np.where(org == 10, ALPHABET.index("X"), np.where(org == 11, 0, org))
    values = np.concatenate(
        [np.tile([9, 1, 3, 7, 1, 0, 0, 2], (count, 1)), body, org_char[:, None]], axis=1
    ).astype(np.int64)
    check = (31 - (values @ np.array(WEIGHTS)) % 31) % 31
    codes = alphabet[np.concatenate([values, check[:, None]], axis=1)]
    return codes.view("S18").ravel().astype(str)


def generate(path: Path, rows: int, dirt: float, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    codes = make_usccs(rows, seed)
    insured = rng.integers(1, 500, rows)
    columns = {
        HEADER[0]: codes.astype(object),
        HEADER[1]: np.full(rows, "2024-01", dtype=object),
        HEADER[2]: insured.astype(str).astype(object),
        HEADER[3]: rng.integers(0, 20, rows).astype(str).astype(object),
        HEADER[4]: rng.integers(0, 20, rows).astype(str).astype(object),
        HEADER[5]: np.char.mod("%.2f", insured * rng.uniform(800, 1200, rows)).astype(object),
        HEADER[6]: np.where(
            rng.random(rows) < 0.05, np.char.mod("%.2f", rng.uniform(0, 5000, rows)), "0"
        ).astype(object),
    }
    bad = np.flatnonzero(rng.random(rows) < dirt)
    kinds = rng.integers(0, 7, len(bad))
    for i, kind in zip(bad.tolist(), kinds.tolist(), strict=True):
        if kind == 0:  # wrong check character
            code = columns[HEADER[0]][i]
            columns[HEADER[0]][i] = code[:-1] + ("0" if code[-1] != "0" else "1")
        elif kind == 1:
            columns[HEADER[5]][i] = f"{Decimal(columns[HEADER[5]][i]):,.2f}"
        elif kind == 2:
            columns[HEADER[5]][i] = f"{Decimal(columns[HEADER[5]][i]) / 10000:.6f}万元"
        elif kind == 3:  # full-width, lower case
            columns[HEADER[0]][i] = (
                columns[HEADER[0]][i].lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
            )
        elif kind == 4:
            columns[HEADER[2]][i] = ""
        elif kind == 5:
            columns[HEADER[1]][i] = "2024年1月"
        else:  # repeat the previous row's key
            columns[HEADER[0]][i] = columns[HEADER[0]][i - 1] if i else columns[HEADER[0]][i]
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))


# ------------------------------------------------------------------------------------------------ naive

_MONTH = re.compile(r"^(\d{4})\D?(\d{1,2})\D?$")


def naive_row(row: dict[str, str]) -> dict[str, object] | None:
    """Validate one row the obvious way, in Python (what the vectorised path replaces)."""
    from xinyidai.core.uscc import InvalidUSCC, validate_uscc

    try:
        code = validate_uscc(row[HEADER[0]]).value
    except InvalidUSCC:
        return None
    match = _MONTH.match(row[HEADER[1]].strip().replace("年", "-").replace("月", ""))
    if not match:
        return None
    period = date(int(match[1]), int(match[2]), 1)
    out: dict[str, object] = {"uscc": code, "period": period}
    for name, header in zip(("insured", "new_hires", "separations"), HEADER[2:5], strict=True):
        text = row[header].strip()
        if not text.isdigit():
            return None
        out[name] = int(text)
    for name, header in zip(("contributions", "arrears"), HEADER[5:], strict=True):
        text = row[header].strip().replace(",", "")
        scale = Decimal(1)
        if text.endswith("万元"):
            text, scale = text[:-2], Decimal(10000)
        try:
            out[name] = (Decimal(text) * scale).quantize(Decimal("0.01"))
        except InvalidOperation:
            return None
    return out


def naive(path: Path, limit: int) -> tuple[float, int, str]:
    """Seconds to read and validate the first ``limit`` rows one by one; rows done; the method used."""
    started = time.perf_counter()
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        pd = None
    if pd is not None:
        frame = pd.read_csv(path, dtype=str, nrows=limit, keep_default_na=False)
        checked = frame.apply(lambda r: naive_row(r.to_dict()), axis=1)
        keys: set[tuple[object, object]] = set()
        accepted = [
            r
            for r in checked
            if r is not None and not ((r["uscc"], r["period"]) in keys or keys.add((r["uscc"], r["period"])))
        ]
        method = "pandas read_csv + DataFrame.apply(axis=1)"
    else:
        accepted = []
        keys = set()
        with path.open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                if i >= limit:
                    break
                checked_row = naive_row(row)
                if checked_row is None or (checked_row["uscc"], checked_row["period"]) in keys:
                    continue
                keys.add((checked_row["uscc"], checked_row["period"]))
                accepted.append(checked_row)
        method = "csv.DictReader + per-row Python validation (pandas is not installed)"
    pa.Table.from_pylist(accepted)
    return time.perf_counter() - started, min(limit, sum(1 for _ in path.open(encoding="utf-8")) - 1), method


# ------------------------------------------------------------------------------------------------ main


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu() -> float:
    """CPU seconds of this process so far, all threads."""
    used = os.times()
    return used.user + used.system


def ingest_once(path: Path, source: str, home: Path, tag: str) -> tuple[float, Any, list[tuple[float, str]]]:
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.data.ingest import IngestProgress, ingest_files
    from xinyidai.data.lake import Lake

    folder = home / tag
    folder.mkdir()
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    phases: list[tuple[float, str]] = []
    started = time.perf_counter()

    def progress(event: IngestProgress) -> None:
        if event.done == event.total:
            phases.append((time.perf_counter() - started, event.phase))

    with session_scope(get_engine(url)) as session:
        result = ingest_files(
            source,
            [path],
            lake=Lake(folder / "lake"),
            session=session,
            received_at=datetime.now(UTC),
            progress=progress,
        )
    return time.perf_counter() - started, result, phases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--dirt", type=float, default=0.001, help="share of dirty rows (default 0.1 %%)")
    parser.add_argument("--file", type=Path, help="ingest this CSV instead of generating one")
    parser.add_argument("--source", default="social_security")
    parser.add_argument("--naive-rows", type=int, default=100_000, help="rows the naive path validates")
    parser.add_argument("--repeat", type=int, default=5, help="timed ingestions (the median is reported)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="xyd-ingest-bench-"))
    try:
        path = args.file
        if path is None:
            path = home / "social_security_2024-01.csv"
            started = time.perf_counter()
            generate(path, args.rows, args.dirt)
            size = path.stat().st_size / 2**20
            print(f"generated {args.rows:,} rows ({size:,.0f} MiB) in {time.perf_counter() - started:.1f} s")
        small = home / "warmup.csv"
        generate(small, 20_000, args.dirt, seed=1)
        ingest_once(small, "social_security", home, "warmup")

        print(f"cpus: {os.cpu_count()}, load average before: {_load()}")
        times = []
        for k in range(args.repeat):
            cpu = _cpu()
            elapsed, result, phases = ingest_once(path, args.source, home, f"run{k}")
            cpu = _cpu() - cpu
            times.append(elapsed)
            marks = ", ".join(f"{phase} {at:.2f}s" for at, phase in phases)
            rate = result.rows_read / elapsed
            first = " (the first big ingestion of the process: memory pools grow)" if k == 0 else ""
            print(
                f"vectorised run {k + 1}: {result.rows_read:,} rows in {elapsed:.2f} s = {rate:,.0f} rows/s,"
                f" CPU {cpu:.2f} s, load {_load()}{first}\n"
                f"    accepted {result.rows_accepted:,}, rejected {result.rejects_by_reason}; {marks}"
            )
        elapsed = statistics.median(times)
        rows = result.rows_read

        if args.source != "social_security":
            print(
                f"median: {rows / elapsed:,.0f} rows/s (of {len(times)} runs); the naive baseline knows only"
                " social_security's headers, so it is not run for this file"
            )
            return
        print(f"load average before naive: {_load()}")
        naive_seconds, naive_rows, method = naive(path, args.naive_rows)
        scaled = naive_seconds * rows / naive_rows
        print(
            f"naive ({method}): {naive_rows:,} rows in {naive_seconds:.2f} s"
            f" = {naive_rows / naive_seconds:,.0f} rows/s; scaled to {rows:,} rows: {scaled:.1f} s"
        )
        median = f"median of {len(times)}"
        print(
            f"speed-up: {scaled / elapsed:.0f}x (vectorised {rows / elapsed:,.0f} rows/s, {median};"
            f" naive {naive_rows / naive_seconds:,.0f} rows/s); load average after: {_load()}"
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
