"""Removing expired rows from the lake for good (retention: 征信业管理条例 Art. 16, PIPL Art. 19).

A retention rule is a condition over a source's fields (code, never a person's text) with bound values.
Every Parquet part of the source — visible or superseded, since a superseded part is still on disk and
still readable "as of" an earlier date — is scanned; a part holding expired rows is rewritten without
them (a temporary file, then ``os.replace``: readers see the old or the new file, never half of one),
its row count and size are updated in ``ingest_parts`` and the source's manifest is rewritten. The
source's ingestion lock is held throughout, so no delivery publishes meanwhile.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.clock import utcnow
from xinyidai.data.ingest import repository
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestPart

__all__ = ["ExpiredRows", "remove_expired_rows", "used_params"]


def used_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` refers to (DuckDB refuses named parameters a statement does not use)."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


@dataclass(frozen=True)
class ExpiredRows:
    """How many rows of a source matched the expiry condition, and how many were removed."""

    source_id: str
    expired: int
    removed: int
    parts_rewritten: int


def remove_expired_rows(
    session: Session,
    lake: Lake,
    source_id: str,
    expired_sql: str,
    params: Mapping[str, Any],
    *,
    dry_run: bool = False,
) -> ExpiredRows:
    """Remove (or, with ``dry_run``, count) the rows of ``source_id`` for which ``expired_sql`` is true.

    Args:
        expired_sql: a SQL boolean over the source's fields with ``$name`` parameters (from code only).
        params: the bound values.
    """
    connection = lake.connection().cursor()  # a cursor of its own: no unfinished result in the way
    expired = removed = rewritten = 0
    with lake.lock(source_id):
        parts = session.scalars(select(IngestPart).where(IngestPart.source_id == source_id)).all()
        for part in parts:
            path = lake.abspath(part.path)
            if not path.exists():
                continue
            table = pq.read_table(path)
            connection.register("_xyd_part", table)
            try:
                # row positions are those of the registered table: a single-threaded scan keeps its order
                flags = connection.execute(
                    f"SELECT coalesce(({expired_sql}), false) FROM _xyd_part",  # noqa: S608
                    used_params(expired_sql, params),
                ).fetchall()
            finally:
                connection.unregister("_xyd_part")
            mask = pa.array([bool(flag) for (flag,) in flags], pa.bool_())
            count = int(pc.sum(mask).as_py() or 0)
            expired += count
            if dry_run or count == 0:
                continue
            kept = table.filter(pc.invert(mask))
            temporary = path.with_name(f".{path.name}.retention.tmp")
            pq.write_table(kept, temporary, compression="zstd", store_decimal_as_integer=True)
            os.replace(temporary, path)
            part.rows = kept.num_rows
            part.size_bytes = path.stat().st_size
            removed += count
            rewritten += 1
        if rewritten:
            session.flush()
            lake.write_manifest(repository.build_manifest(session, source_id, utcnow()))
    return ExpiredRows(source_id, expired, removed, rewritten)
