"""Computing every indicator for every enterprise as of a date, in one DuckDB statement over the lake.

The enterprises are those the registration source holds as of D. Each source's indicators are one
``GROUP BY`` over that source's rows (one scan per source), left-joined to the enterprises; ``zero``
indicators are filled with 0 where a firm has no rows; derived indicators are computed last. The result
is written as a Parquet snapshot per as-of date (``lake/_indicators/as_of=YYYY-MM-DD.parquet``), replaced
atomically, so a reader sees the old snapshot or the new one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.core.clock import end_of_day
from xinyidai.core.expressions import FieldCatalogue, FieldSpec, ValueType
from xinyidai.data import point_lookup
from xinyidai.data.catalogue import FieldType, catalogue
from xinyidai.data.lake import Lake
from xinyidai.indicators.definitions import INDICATORS, Indicator, Missing

__all__ = [
    "SNAPSHOT_DIR",
    "compute_indicators",
    "indicator_catalogue",
    "library_version",
    "read_snapshot",
    "snapshot_dates",
    "snapshot_path",
    "window_params",
    "write_snapshot",
]

SNAPSHOT_DIR = "_indicators"
ROW_GROUP = 50_000
_SQL_TYPES = {"float": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN"}
_VALUE_TYPES = {"float": ValueType.FLOAT, "integer": ValueType.INTEGER, "boolean": ValueType.BOOLEAN}
_IDENT = re.compile(r"[a-z][a-z0-9_]*")


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def window_params(as_of: date) -> dict[str, date]:
    """The bound window parameters of the indicator SQL for as-of date D (see ``definitions``)."""
    m0 = date(as_of.year, as_of.month, 1)
    return {
        "as_of": as_of,
        "m0": m0,
        "m1": _months_before(m0, 1),
        "m3": _months_before(m0, 3),
        "m6": _months_before(m0, 6),
        "m12": _months_before(m0, 12),
        "m24": _months_before(m0, 24),
        "d12": date.fromordinal(as_of.toordinal() - 365),
        "d24": date.fromordinal(as_of.toordinal() - 730),
    }


def library_version(indicators: Sequence[Indicator] = INDICATORS) -> str:
    """A short hash of the definitions: snapshots record which library computed them."""
    text = "\n".join(f"{i.id}|{i.source}|{i.sql}|{i.type}|{i.missing}" for i in indicators)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@cache
def indicator_catalogue() -> FieldCatalogue:
    """The indicators as expression-language fields, so rules, limits and filters can use them."""
    return FieldCatalogue([FieldSpec(i.id, _VALUE_TYPES[i.type]) for i in INDICATORS])


def _source_filter(source_id: str) -> str:
    """Rows of a source that exist as of D: monthly data before D's month, events up to D."""
    source = catalogue().get(source_id)
    if source.period_field is None:
        return "true"
    column = '"' + source.period_field + '"'
    if source.field(source.period_field).type is FieldType.MONTH:
        return f"{column} < $m0"
    return f"{column} <= $as_of"


def compute_indicators(
    lake: Lake,
    as_of: date,
    *,
    indicators: Sequence[Indicator] = INDICATORS,
    registry_as_of: date | None = None,
) -> pa.Table:
    """Every indicator for every enterprise registered as of ``as_of``, from data received by then.

    ``registry_as_of`` reads the registry as received by a later date instead — for back-tests over
    history when the registry (a snapshot) was delivered after the months being replayed; every other
    source is still read as received by ``as_of``.

    Returns:
        An Arrow table: ``uscc`` then one column per indicator, in library order.
    """
    for item in indicators:
        if not _IDENT.fullmatch(item.id):
            raise ValueError(f"indicator id {item.id!r} is not a snake_case identifier")
    seen = end_of_day(as_of)
    params: dict[str, object] = dict(window_params(as_of))
    registry_seen = end_of_day(registry_as_of) if registry_as_of is not None else seen
    registry, bound = lake.relation_sql("registration", as_of=registry_seen, prefix="reg")
    params.update(bound)
    ctes = [f"firms AS (SELECT DISTINCT uscc FROM ({registry}))"]  # noqa: S608 — generated from the catalogue
    joins = []
    by_source: dict[str, list[Indicator]] = {}
    for item in indicators:
        if item.source != "derived":
            by_source.setdefault(item.source, []).append(item)
    for n, (source_id, items) in enumerate(by_source.items()):
        source = catalogue().get(source_id)
        visible = registry_seen if source_id == "registration" else seen
        body, bound = lake.relation_sql(source_id, as_of=visible, prefix=f"s{n}")
        params.update(bound)
        entity = '"' + str(source.entity_field) + '"'
        aggregates = ", ".join(f"{i.sql} AS {i.id}" for i in items)
        ctes.append(
            f"s{n} AS (WITH rows AS (SELECT * FROM ({body}) WHERE {_source_filter(source_id)}) "  # noqa: S608
            f"SELECT {entity} AS uscc, {aggregates} FROM rows GROUP BY {entity})"
        )
        joins.append(f"LEFT JOIN s{n} USING (uscc)")
    first = []
    for item in indicators:
        if item.source == "derived":
            continue
        value = f"CAST({item.id} AS {_SQL_TYPES[item.type]})"
        if item.missing is Missing.ZERO:
            value = f"coalesce({value}, CAST(0 AS {_SQL_TYPES[item.type]}))"
        first.append(f"{value} AS {item.id}")
    second = []
    for item in indicators:
        if item.source == "derived":
            value = f"CAST(({item.sql}) AS {_SQL_TYPES[item.type]})"
            if item.missing is Missing.ZERO:
                value = f"coalesce({value}, 0)"
            second.append(f"{value} AS {item.id}")
        else:
            second.append(item.id)
    sql = (
        f"WITH {', '.join(ctes)} "  # noqa: S608 — identifiers and SQL from the library, values bound
        f"SELECT uscc, {', '.join(second)} FROM ("
        f"SELECT uscc, {', '.join(first)} FROM firms {' '.join(joins)}) ORDER BY uscc"
    )
    return lake.connection().sql(sql, params=params).to_arrow_table()


def snapshot_path(lake: Lake, as_of: date) -> Path:
    return lake.root / SNAPSHOT_DIR / f"as_of={as_of.isoformat()}.parquet"


def write_snapshot(lake: Lake, as_of: date, table: pa.Table) -> Path:
    """Write the snapshot for ``as_of`` atomically (replacing an older one of the same date)."""
    path = snapshot_path(lake, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {b"xyd_as_of": as_of.isoformat().encode(), b"xyd_library": library_version().encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    temporary = path.with_suffix(".parquet.part")
    # sorted by uscc in row groups of 50,000 firms: one firm's row is read without the rest
    pq.write_table(table, temporary, compression="zstd", row_group_size=ROW_GROUP)
    os.replace(temporary, path)
    point_lookup.write_sidecar(path, table)  # one firm's row in under a millisecond (online decisions)
    point_lookup.prune_sidecars(path.parent)
    return path


def snapshot_dates(lake: Lake) -> list[date]:
    """The as-of dates that have a snapshot, oldest first."""
    folder = lake.root / SNAPSHOT_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("as_of=*.parquet"):
        try:
            found.append(date.fromisoformat(path.stem.removeprefix("as_of=")))
        except ValueError:
            continue
    return sorted(found)


def read_snapshot(
    lake: Lake, as_of: date | None = None, *, columns: Sequence[str] | None = None, uscc: str | None = None
) -> pa.Table:
    """The snapshot of ``as_of``, or the newest one on or before it (the newest of all when None);
    only one firm's row when ``uscc`` is given (read from its row group alone).

    Raises:
        LookupError: there is no snapshot on or before that date.
    """
    dates = [d for d in snapshot_dates(lake) if as_of is None or d <= as_of]
    if not dates:
        raise LookupError("no indicator snapshot")
    return pq.read_table(
        snapshot_path(lake, dates[-1]),
        columns=list(columns) if columns else None,
        filters=[("uscc", "=", uscc)] if uscc is not None else None,
    )
