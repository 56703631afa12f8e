"""Evaluating many rules over one table at once, in DuckDB.

Rules with the same expression text are evaluated once (ten banks switching on the same library set cost
one evaluation, not ten). The distinct expressions are evaluated in chunks: each chunk is one statement,
``SELECT k, uscc FROM frame WHERE (rule k) UNION ALL …``, which DuckDB runs in parallel over the
in-memory Arrow table; the result is the list of (expression, row) hits. NULL is "does not hold", as in
the single-record evaluator, so batch and online decisions agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from xinyidai.core.expressions import CompiledExpression

__all__ = ["CHUNK", "evaluate_rules"]

CHUNK = 64


def evaluate_rules(
    expressions: Sequence[CompiledExpression], table: pa.Table, *, threads: int | None = None
) -> Mapping[int, np.ndarray]:
    """For each expression (by position) the sorted row numbers of ``table`` where it holds.

    ``table`` must hold every field the expressions read. Expressions whose text repeats are evaluated
    once and share the answer.
    """
    by_text: dict[str, int] = {}
    distinct: list[CompiledExpression] = []
    position_of: list[int] = []
    for compiled in expressions:
        index = by_text.get(compiled.text)
        if index is None:
            index = by_text[compiled.text] = len(distinct)
            distinct.append(compiled)
        position_of.append(index)
    hits: dict[int, np.ndarray] = {}
    empty = np.empty(0, dtype=np.int64)
    connection = duckdb.connect()
    try:
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        frame = table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        connection.register("frame", frame)
        for start in range(0, len(distinct), CHUNK):
            chunk = distinct[start : start + CHUNK]
            sql = " UNION ALL ".join(
                f"SELECT {start + k} AS k, _row FROM frame WHERE ({c.to_sql('duckdb')})"  # noqa: S608 — regenerated from the checked tree
                for k, c in enumerate(chunk)
            )
            result = connection.sql(sql).to_arrow_table()
            keys = result["k"].to_numpy()
            rows = result["_row"].to_numpy()
            order = np.lexsort((rows, keys))
            keys, rows = keys[order], rows[order]
            bounds = np.searchsorted(keys, np.arange(start, start + len(chunk) + 1))
            for k in range(len(chunk)):
                hits[start + k] = rows[bounds[k] : bounds[k + 1]]
    finally:
        connection.close()
    return {i: hits.get(index, empty) for i, index in enumerate(position_of)}
