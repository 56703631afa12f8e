"""Writing a checked batch: Parquet parts per period into staging, and period supersession.

Accepted rows are split by the month of the source's period field (``none`` without one); a period of
more than :data:`PIECE_ROWS` rows is written as several files so both cores encode Parquet at once. The
quarantine file goes with them. Nothing here is visible to readers: the pipeline renames the staged files
into place and publishes them in one database transaction (see ``pipeline.py``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pyarrow as pa
from sqlalchemy.orm import Session

from xinyidai.data.catalogue import Source
from xinyidai.data.ingest import repository
from xinyidai.data.ingest.results import BatchStatus, IngestProgress, ProgressCallback
from xinyidai.data.ingest.validate import Checked
from xinyidai.data.lake import NO_PERIOD, Lake, arrow_schema
from xinyidai.data.models import IngestBatch, IngestPart

__all__ = ["PIECE_ROWS", "stage_batch", "supersede"]

PIECE_ROWS = 1_000_000
"""Rows per Parquet file beyond which a period's rows are split over several files."""


def _emit(progress: ProgressCallback | None, source: Source, done: int, total: int) -> None:
    if progress is not None:
        progress(IngestProgress(source.id, "write", done, total))


def _partition(source: Source, table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split accepted rows by the month of the period field (``none`` without one)."""
    if source.period_field is None or table.num_rows == 0:
        return [(NO_PERIOD, table)] if table.num_rows else []
    days = np.asarray(table.column(source.period_field).to_numpy(), dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    distinct = np.unique(months)
    if len(distinct) == 1:
        return [(str(distinct[0]), table)]
    if (months[1:] >= months[:-1]).all():
        ordered, sorted_months = table, months  # already grouped by month (the usual file): slice, no copy
    else:
        order = np.argsort(months, kind="stable")
        ordered, sorted_months = table.take(pa.array(order)), months[order]
    bounds = [*np.searchsorted(sorted_months, distinct, side="left").tolist(), table.num_rows]
    return [(str(m), ordered.slice(bounds[i], bounds[i + 1] - bounds[i])) for i, m in enumerate(distinct)]


def stage_batch(
    source: Source, batch: IngestBatch, checked: Checked, lake: Lake, progress: ProgressCallback | None
) -> list[tuple[str, str, int, int]]:
    """Write the batch's parts and quarantine to staging; returns (relative path, period, rows, bytes)."""
    schema = arrow_schema(source)
    accepted = checked.accepted
    batch_ids = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(accepted.num_rows, dtype=np.int32)), pa.array([batch.id], pa.string())
    )
    accepted = accepted.append_column("_batch_id", batch_ids).select(schema.names)
    if accepted.schema != schema:
        accepted = accepted.cast(schema)
    jobs: list[tuple[str, str, pa.Table]] = []
    for period, table in _partition(source, accepted):
        # A very large period is written as several files, so both cores encode Parquet at once.
        pieces = max(1, -(-table.num_rows // PIECE_ROWS))
        size = -(-table.num_rows // pieces)
        for piece in range(pieces):
            rel = lake.part_path(source.id, period, batch.id, piece)
            jobs.append((rel, period, table.slice(piece * size, size)))
    if checked.rejects.num_rows:
        rejects = checked.rejects.append_column(
            "_batch_id", pa.array([batch.id] * checked.rejects.num_rows, pa.string())
        )
        jobs.append((lake.quarantine_path(source.id, batch.id), "_quarantine", rejects))
    done = 0

    def write(job: tuple[str, str, pa.Table]) -> tuple[str, str, int, int]:
        rel, period, table = job
        return rel, period, table.num_rows, lake.stage(source.id, batch.id, rel, table)

    results = []
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1), thread_name_prefix="xyd-write") as pool:
        for result in pool.map(write, jobs):
            done += 1
            _emit(progress, source, done, len(jobs))
            results.append(result)
    return results


def supersede(
    session: Session, source: Source, batch: IngestBatch, new_parts: Sequence[IngestPart]
) -> set[str]:
    """Replace, period by period, what older deliveries said (a corrected delivery supersedes).

    Each part's ``superseded_at`` is the receipt time of the next delivery of its period in receipt order,
    so "as of D" readers see the delivery that was current at D. A delivery received earlier than one
    already ingested for the period is itself superseded at once (it is older information).
    """
    superseded: set[str] = set()
    touched: set[str] = set()
    for part in new_parts:
        newer: list[tuple[datetime, str]] = []
        for other in repository.period_parts(session, source.id, part.period, exclude=batch.id):
            other_batch = other.batch
            if other_batch.received_at <= batch.received_at:
                if other.superseded_at is None or other.superseded_at > batch.received_at:
                    other.superseded_at = batch.received_at
                    other.superseded_by = batch.id
                    superseded.add(other_batch.id)
                    touched.add(other_batch.id)
            else:
                newer.append((other_batch.received_at, other_batch.id))
        if newer:
            part.superseded_at, part.superseded_by = min(newer)
    session.flush()
    for batch_id in touched:
        old = session.get(IngestBatch, batch_id)
        if old is not None and old.parts and all(p.superseded_at is not None for p in old.parts):
            old.status = BatchStatus.SUPERSEDED.value
    return superseded
