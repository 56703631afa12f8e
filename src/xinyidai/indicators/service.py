"""Use cases of the indicators capability: compute the snapshot of a date, read it, describe the library."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from xinyidai.core.expressions import FieldCatalogue
from xinyidai.data import point_lookup
from xinyidai.data.lake import Lake
from xinyidai.indicators.compute import (
    compute_indicators,
    indicator_catalogue,
    library_version,
    read_snapshot,
    snapshot_dates,
    snapshot_path,
    write_snapshot,
)
from xinyidai.indicators.definitions import DIMENSIONS, INDICATORS, Dimension, Indicator
from xinyidai.indicators.peers import (
    MIN_PEERS,
    PeerStanding,
    division_of,
    peer_standings,
    percentile,
    size_class,
    write_peers,
)

__all__ = [
    "DIMENSIONS",
    "INDICATORS",
    "MIN_PEERS",
    "Dimension",
    "Indicator",
    "IndicatorRun",
    "PeerStanding",
    "division_of",
    "enterprise_indicators",
    "field_catalogue",
    "library_version",
    "load_snapshot",
    "peer_standings",
    "percentile",
    "run_indicators",
    "size_class",
    "snapshot_dates",
]


@dataclass(frozen=True)
class IndicatorRun:
    """A computed snapshot: where it is, how many enterprises and indicators, how long it took."""

    as_of: date
    path: Path
    enterprises: int
    indicators: int
    seconds: float


def run_indicators(lake: Lake, as_of: date) -> IndicatorRun:
    """Compute every indicator for every enterprise as of ``as_of`` and store the snapshot (idempotent),
    with its peer table: the quantiles of each indicator per industry and size class (``peers``)."""
    started = time.perf_counter()
    table = compute_indicators(lake, as_of)
    path = write_snapshot(lake, as_of, table)
    write_peers(lake, as_of)
    return IndicatorRun(as_of, path, table.num_rows, table.num_columns - 1, time.perf_counter() - started)


def load_snapshot(lake: Lake, as_of: date | None = None, *, uscc: str | None = None) -> pa.Table:
    """The newest snapshot on or before ``as_of`` (LookupError if none); one firm's row with ``uscc``."""
    return read_snapshot(lake, as_of, uscc=uscc)


def enterprise_indicators(lake: Lake, uscc: str, as_of: date | None = None) -> dict[str, Any] | None:
    """One enterprise's indicator values from the newest snapshot on or before ``as_of``, or None."""
    dates = [d for d in snapshot_dates(lake) if as_of is None or d <= as_of]
    if not dates:
        return None
    return point_lookup.lookup(snapshot_path(lake, dates[-1]), uscc)


def field_catalogue() -> FieldCatalogue:
    """The indicators as typed fields of the expression language."""
    return indicator_catalogue()
