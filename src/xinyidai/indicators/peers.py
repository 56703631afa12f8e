"""Peer percentiles: where an enterprise's indicator value stands among firms like it.

Peers are the firms of the same GB/T 4754 industry division and the same size class in one indicator
snapshot (as-of date D). For every group and numeric indicator, the quantile breakpoints at 0 %, 5 %, …,
100 % of the group's values (missing values left out) are computed in one DuckDB statement and stored
next to the snapshot, ``lake/_indicators/peers/as_of=YYYY-MM-DD.parquet``: one row per level, industry
division, size class and indicator, with the number of firms that have a value and the 21 breakpoints.
The same statement gives, through GROUPING SETS, the whole industry over every size and the whole city:
a report falls back to them when the firm's own group has fewer than ``MIN_PEERS`` firms with a value,
and says which group it used. Booleans have no percentile and are left out.

Where the groups come from. The industry is the registration source's ``industry_code`` as the lake stood
at the end of D, reduced to its division; the size class comes from the snapshot's own headcount — the
annual report's employees, else the newest insured headcount — in the registry's bands
(``xinyidai.data.service``: under 10 micro, under 100 small, under 300 medium, else large). Both are read
as of D like every indicator, so the peer table of D never looks ahead and can be rebuilt exactly from
the lake. The registry table in the database was not used: it holds the current state, refreshed on
demand, so it would silently regroup past snapshots, and reading a million rows from the database would
be the slowest part of the step.

A percentile is the share of the group's firms (in %) with a lower value, ties counted half (mid-rank),
read off the breakpoints by linear interpolation (``percentile``): exact at the breakpoints, within
5 percentage points between them.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.core.clock import end_of_day
from xinyidai.core.codes import UnknownCode, industry_division
from xinyidai.data.lake import Lake
from xinyidai.indicators.compute import SNAPSHOT_DIR, snapshot_path
from xinyidai.indicators.definitions import INDICATORS, Indicator

__all__ = [
    "MIN_PEERS",
    "QUANTILES",
    "PeerLevel",
    "PeerStanding",
    "compute_peers",
    "division_of",
    "peer_standings",
    "peers_path",
    "percentile",
    "read_peers",
    "size_class",
    "write_peers",
]

# 0 %, 5 %, …, 100 %: 21 breakpoints, 20 intervals of 5 percentage points
QUANTILES: tuple[float, ...] = tuple(k / 20 for k in range(21))
# Below this many firms with a value, a group's percentiles say little: fall back to a wider group.
MIN_PEERS = 20
PEERS_DIR = "peers"

PeerLevel = str  # "industry_size" | "industry" | "city", from the narrowest group to the widest

# Size bands by headcount, as the registry's size class (xinyidai.data.service): (upper bound, class).
_SIZE_BANDS: tuple[tuple[int, str], ...] = ((10, "micro"), (100, "small"), (300, "medium"))
_LARGEST = "large"


def size_class(employees: float | None) -> str:
    """The size class of a headcount: micro < 10 ≤ small < 100 ≤ medium < 300 ≤ large (none: micro)."""
    if employees is None or (isinstance(employees, float) and math.isnan(employees)):
        return _SIZE_BANDS[0][1]
    for upper, name in _SIZE_BANDS:
        if employees < upper:
            return name
    return _LARGEST


def division_of(industry_code: str | None) -> str | None:
    """The GB/T 4754 division (two digits) of an industry code (``C13``, ``1311``…), None if unknown."""
    if not industry_code:
        return None
    try:
        return industry_division(industry_code).code
    except UnknownCode:
        return None


def percentile(value: float | None, breakpoints: Sequence[float]) -> float | None:
    """The percentile (0–100) of ``value`` among peers whose quantiles are ``breakpoints``.

    ``breakpoints`` are the values at equally spaced shares from 0 % (the minimum) to 100 % (the
    maximum), ascending. A value between two breakpoints is interpolated linearly; a value equal to
    several breakpoints (ties, e.g. most firms at 0) takes the middle of their shares (mid-rank); below
    the minimum is 0, above the maximum 100. None when there is no value or no breakpoint.
    """
    if value is None or len(breakpoints) == 0:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    if len(breakpoints) == 1:
        return 50.0 if number == breakpoints[0] else (0.0 if number < breakpoints[0] else 100.0)
    step = 100.0 / (len(breakpoints) - 1)
    below = bisect.bisect_left(breakpoints, number)  # breakpoints strictly below the value
    through = bisect.bisect_right(breakpoints, number)  # breakpoints at or below it
    if through > below:
        return (below + through - 1) / 2 * step
    if below == 0:
        return 0.0
    if below == len(breakpoints):
        return 100.0
    low, high = breakpoints[below - 1], breakpoints[below]
    return (below - 1 + (number - low) / (high - low)) * step


def _numeric(indicators: Sequence[Indicator]) -> list[Indicator]:
    return [i for i in indicators if i.type in ("float", "integer")]


def peers_path(lake: Lake, as_of: date) -> Path:
    """Where the peer table of the snapshot of ``as_of`` lives."""
    return lake.root / SNAPSHOT_DIR / PEERS_DIR / f"as_of={as_of.isoformat()}.parquet"


def compute_peers(lake: Lake, as_of: date, *, indicators: Sequence[Indicator] = INDICATORS) -> pa.Table:
    """The peer table of the indicator snapshot of ``as_of`` (which must exist), in one DuckDB statement.

    Returns:
        An Arrow table: ``level`` (industry_size, industry, city), ``industry_division`` and
        ``size_class`` (null where the level spans them), ``indicator``, ``firms`` (with a value) and
        ``breakpoints`` (the ``QUANTILES`` of the values, ascending).
    """
    snapshot = snapshot_path(lake, as_of)
    if not snapshot.exists():
        raise LookupError(f"no indicator snapshot of {as_of.isoformat()}")
    columns = [i.id for i in _numeric(indicators)]
    connection = lake.connection()
    registration, params = lake.relation_sql("registration", as_of=end_of_day(as_of), prefix="reg")
    codes = [
        row[0]
        for row in connection.sql(
            f"SELECT DISTINCT CAST(industry_code AS VARCHAR) FROM ({registration})",  # noqa: S608 — catalogue SQL
            params=params,
        ).fetchall()
        if row[0] is not None
    ]
    divisions = [division_of(code) for code in codes]
    params.update(snapshot=str(snapshot), codes=codes, divisions=divisions, quantiles=list(QUANTILES))
    headcount = "coalesce(s.employees_reported, s.insured_latest)"
    size = " ".join(f"WHEN {headcount} < {upper} THEN '{name}'" for upper, name in _SIZE_BANDS)
    casts = ", ".join(f"CAST(s.{c} AS DOUBLE) AS {c}" for c in columns)
    # Identifiers come from the indicator library and the size bands above; every value is bound.
    sql = f"""
        WITH registry AS (
            SELECT uscc, any_value(CAST(industry_code AS VARCHAR)) AS industry_code
            FROM ({registration}) GROUP BY uscc
        ),
        divisions AS (SELECT unnest($codes) AS industry_code, unnest($divisions) AS industry_division),
        firms AS (
            SELECT d.industry_division,
                   CASE WHEN {headcount} IS NULL THEN '{_SIZE_BANDS[0][1]}' {size} ELSE '{_LARGEST}' END
                       AS size_class,
                   {casts}
            FROM read_parquet($snapshot) AS s
            LEFT JOIN registry AS r USING (uscc)
            LEFT JOIN divisions AS d USING (industry_code)
        ),
        long AS (UNPIVOT firms ON {", ".join(columns)} INTO NAME indicator VALUE value)
        SELECT CASE grouping(industry_division, size_class)
                    WHEN 0 THEN 'industry_size' WHEN 1 THEN 'industry' ELSE 'city' END AS level,
               industry_division, size_class, indicator,
               count(value) AS firms,
               quantile_cont(value, $quantiles) AS breakpoints
        FROM long
        GROUP BY GROUPING SETS ((industry_division, size_class, indicator), (industry_division, indicator),
                                (indicator))
        ORDER BY level, industry_division, size_class, indicator
    """  # noqa: S608
    table = connection.sql(sql, params=params).to_arrow_table()
    return table.cast(
        pa.schema(
            [
                ("level", pa.string()),
                ("industry_division", pa.string()),
                ("size_class", pa.string()),
                ("indicator", pa.string()),
                ("firms", pa.int64()),
                ("breakpoints", pa.list_(pa.float64())),
            ]
        )
    )


def write_peers(lake: Lake, as_of: date, table: pa.Table | None = None) -> Path:
    """Compute (unless given) and store the peer table of ``as_of`` atomically; returns its path."""
    if table is None:
        table = compute_peers(lake, as_of)
    path = peers_path(lake, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer: two web workers building the same missing table do not collide.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, path)
    return path


def read_peers(lake: Lake, as_of: date) -> pa.Table:
    """The peer table of ``as_of``, computed and stored first if it is missing."""
    path = peers_path(lake, as_of)
    if not path.exists():
        write_peers(lake, as_of)
    return pq.read_table(path)


_Groups = dict[tuple[str, str | None, str | None], dict[str, tuple[int, list[float]]]]


@lru_cache(maxsize=8)
def _groups(path: str, modified_ns: int) -> _Groups:
    """The peer table as (level, division, size) → indicator → (firms, breakpoints), read once per
    version of the file: a report looks up a few groups of a table of tens of thousands of rows."""
    groups: _Groups = {}
    for row in pq.read_table(path).to_pylist():
        key = (row["level"], row["industry_division"], row["size_class"])
        groups.setdefault(key, {})[row["indicator"]] = (row["firms"], row["breakpoints"])
    return groups


@dataclass(frozen=True)
class PeerStanding:
    """Where one indicator value stands: its percentile (0–100) in the peer group used, which group, how
    many firms of it have a value."""

    percentile: float
    level: PeerLevel
    firms: int


def peer_standings(
    lake: Lake,
    as_of: date,
    industry_division: str | None,
    size_class: str | None,
    values: Mapping[str, Any],
    *,
    min_firms: int = MIN_PEERS,
) -> dict[str, PeerStanding]:
    """Each numeric indicator value's percentile among its peers in the snapshot of ``as_of``.

    The narrowest group with at least ``min_firms`` firms having a value is used: same industry and size,
    else same industry, else the city. Indicators without a value, booleans, and indicators no group has
    enough firms for, are left out. Computes and stores the peer table first if it is missing.
    """
    path = peers_path(lake, as_of)
    if not path.exists():
        write_peers(lake, as_of)
    groups = _groups(str(path), path.stat().st_mtime_ns)
    candidates = [
        ("industry_size", groups.get(("industry_size", industry_division, size_class), {})),
        ("industry", groups.get(("industry", industry_division, None), {})),
        ("city", groups.get(("city", None, None), {})),
    ]
    if industry_division is None:
        candidates = candidates[2:]
    standings: dict[str, PeerStanding] = {}
    for indicator, value in values.items():
        if value is None or isinstance(value, bool):
            continue
        for level, group in candidates:
            found = group.get(indicator)
            if found is None or found[0] < min_firms:
                continue
            share = percentile(float(value), found[1])
            if share is not None:
                standings[indicator] = PeerStanding(round(share, 1), level, found[0])
            break
    return standings
