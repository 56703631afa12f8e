"""One row of a large snapshot by its key in well under a millisecond: the online decisions' read path.

Snapshots (indicators, ratings) are Parquet, sorted by ``uscc``: good for scans, slow for one firm —
decoding the row group that holds it costs tens of milliseconds at a million firms. Beside the newest
snapshots we therefore keep an uncompressed Arrow IPC copy (``<snapshot>.arrow``). It is memory-mapped, so
opening it reads nothing and the operating system's page cache is shared by every worker process; a
binary search over the sorted key column finds the row and one slice of it is converted to Python.

Instant pre-credit (issue: p99 ≤ 50 ms with 100 concurrent clients) reads indicators and the grade this
way. Without a sidecar (an older snapshot) the lookup falls back to the Parquet file itself.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SUFFIX = ".arrow"
KEY = "uscc"
_CACHE_SIZE = 4

_lock = threading.Lock()
_building = threading.Lock()
_open: OrderedDict[tuple[str, int], tuple[pa.Table, np.ndarray]] = OrderedDict()


def sidecar(path: Path) -> Path:
    """Where the point-lookup copy of the snapshot at ``path`` lives."""
    return path.with_suffix(SUFFIX)


def write_sidecar(path: Path, table: pa.Table) -> Path:
    """Write the memory-mappable copy of ``table`` (sorted by ``uscc``) next to ``path``, atomically."""
    target = sidecar(path)
    keys = table.column(KEY)
    if len(keys) > 1 and not pc.all(pc.greater_equal(keys[1:], keys[:-1])).as_py():
        table = table.sort_by(KEY)  # the binary search needs the keys in order (snapshots already are)
    temporary = target.with_suffix(SUFFIX + ".part")
    with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=65_536)
    os.replace(temporary, target)
    return target


def prune_sidecars(folder: Path, keep: int = 2) -> None:
    """Keep the copies of the ``keep`` newest snapshots in ``folder`` only (they are large)."""
    copies = sorted(folder.glob(f"as_of=*{SUFFIX}"))
    for old in copies[:-keep] if keep else copies:
        old.unlink(missing_ok=True)


def _mapped(path: Path) -> tuple[pa.Table, np.ndarray] | None:
    copy = sidecar(path)
    try:
        stamp = copy.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    key = (str(copy), stamp)
    with _lock:
        found = _open.get(key)
        if found is not None:
            _open.move_to_end(key)
            return found
    # One thread builds the key index (about a second at a million firms); the others wait for it
    # instead of all building their own at once.
    with _building:
        with _lock:
            found = _open.get(key)
        if found is not None:
            return found
        table = pa.ipc.open_file(pa.memory_map(str(copy))).read_all()
        keys = np.asarray(table.column(KEY).to_numpy(zero_copy_only=False)).astype("S18")
        with _lock:
            _open[key] = (table, keys)
            while len(_open) > _CACHE_SIZE:
                _open.popitem(last=False)
        return table, keys


def lookup(path: Path, uscc: str, columns: list[str] | None = None) -> dict[str, Any] | None:
    """The row of ``uscc`` in the snapshot at ``path`` as a dict, or None if the firm is not in it."""
    mapped = _mapped(path)
    if mapped is None:
        rows = pq.read_table(path, columns=columns, filters=[(KEY, "=", uscc)]).to_pylist()
        return dict(rows[0]) if rows else None
    table, keys = mapped
    wanted = uscc.encode()
    index = int(np.searchsorted(keys, wanted))
    if index >= len(keys) or keys[index] != wanted:
        return None
    row = table.slice(index, 1)
    if columns:
        row = row.select(columns)
    return dict(row.to_pylist()[0])
