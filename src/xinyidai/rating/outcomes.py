"""Known outcomes: which firms went on to default, the labels that back-tests and training are measured on.

The lake keeps them beside the indicator snapshots, in ``lake/_outcomes/monthly.parquet``: per firm and
month, whether the firm was already in default and whether a loan taken that month defaulted within the
next 12 months. Today they come from the synthetic city's ground truth (``_truth/monthly.parquet``,
written by ``data.synth``; ``import_synthetic_truth``); the platform's own loan book will later write the
same table.

The label of a firm for an indicator snapshot as of D is that of the newest outcome month on or before D
(the month the loan would have been taken); firms already in default then are left out, as a lender
would not be deciding on them.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xinyidai.core.errors import ValidationFailed
from xinyidai.data.lake import Lake

__all__ = ["OUTCOMES_DIR", "has_outcomes", "import_synthetic_truth", "labels_as_of"]

OUTCOMES_DIR = "_outcomes"
_COLUMNS = ("uscc", "month", "in_default", "default_within_12m")


def _path(lake: Lake) -> Path:
    return lake.root / OUTCOMES_DIR / "monthly.parquet"


def has_outcomes(lake: Lake) -> bool:
    return _path(lake).is_file()


def import_synthetic_truth(lake: Lake, truth_dir: Path) -> int:
    """Copy the synthetic city's default labels into the lake's outcomes (replacing them); the rows copied.

    ``truth_dir`` is the ``_truth`` folder that ``xinyidai synth`` writes (or the city folder holding it).
    """
    source = truth_dir / "monthly.parquet"
    if not source.is_file():
        source = truth_dir / "_truth" / "monthly.parquet"
    if not source.is_file():
        raise ValidationFailed("There is no ground truth at %(path)s", path=str(truth_dir))
    table = pq.read_table(source, columns=list(_COLUMNS))
    path = _path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.part")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, path)
    return int(table.num_rows)


def labels_as_of(lake: Lake, as_of: date) -> pa.Table | None:
    """``uscc`` and ``defaulted`` (int8, 1 = defaulted within 12 months) for a snapshot as of ``as_of``;
    None when no outcome month falls on or before it (or there are no outcomes at all)."""
    if not has_outcomes(lake):
        return None
    months = pq.read_table(_path(lake), columns=["month"])["month"]
    earlier = pc.filter(months, pc.less_equal(months, pa.scalar(as_of, pa.date32())))
    if len(earlier) == 0:
        return None
    month = pc.max(earlier)
    rows = pq.read_table(_path(lake), filters=[("month", "=", month.as_py()), ("in_default", "=", False)])
    return pa.table({"uscc": rows["uscc"], "defaulted": pc.cast(rows["default_within_12m"], pa.int8())})
