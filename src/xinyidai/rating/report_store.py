"""The report store: per rating date, what the lake holds about each rated enterprise for its credit report,
assembled once so that showing a report is one point lookup.

Why a store. A report draws on a dozen department sources whose rows are spread over hundreds of small
monthly Parquet files; reading them for every view costs about half a second on the demo city, and more
as the city grows. Since a report as of D shows the lake as it stood at the end of D (no look-ahead), its
content cannot change once D is rated, so it is assembled once per rating date in one DuckDB statement and
stored as ``lake/_reports/as_of=YYYY-MM-DD.parquet``: one row per rated enterprise, sorted by USCC in
small row groups, with everything the report shows as one JSON document — the rating row, the indicator
values, the registration record, 24 monthly points of sales, tax paid, insured headcount and electricity
use, and for each listed source its rows newest first (at most ``RECORDS_KEPT``) with their total.

Rules applied here, once: rows dated after D are left out; negative information (court cases, dishonest
debtor entries, penalties, list entries) whose conduct ended more than five years before D is left out
(征信业管理条例 Art. 16). Personal data stays as delivered in the store, like in the lake it comes from; it is
masked when a report is built (``report.build_report``), the one place every output passes through.

The store of D is rebuilt when the rating snapshot of D is rewritten (a re-rating: the rating snapshot's
modification time is recorded in the file). Built lazily by the first report of a date; the rating run can
call ``prepare_store`` so no reader waits.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xinyidai.core.clock import end_of_day
from xinyidai.data.catalogue import FieldType, Source, catalogue
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.rating.service import _snapshot_path as rating_snapshot_path

__all__ = [
    "MONTHS",
    "RECORDS_KEPT",
    "RECORD_SOURCES",
    "RecordSource",
    "StoredReport",
    "lookup",
    "prepare_store",
    "store_path",
]

STORE_DIR = "_reports"
RECORDS_KEPT = 50  # rows kept per source and firm, newest first; the report also shows the total
MONTHS = 24  # the monthly charts: the 24 full months before the as-of month, as the indicators count them
RETENTION_YEARS = 5  # negative information is shown for five years after the conduct ended (Art. 16)
ROW_GROUP_FIRMS = 64  # a lookup decodes one row group: the documents of a few dozen firms
_BATCH_FIRMS = 16_384  # documents fetched from DuckDB at a time while the store is written
_RATING_MTIME = b"xyd_rating_mtime_ns"
_SNAPSHOT_AS_OF = b"xyd_snapshot_as_of"


@dataclass(frozen=True)
class RecordSource:
    """A department source whose rows a report lists.

    Attributes:
        source: the catalogue source.
        day: its event date: rows after the as-of date are left out; the newest come first.
        ended: for negative information, SQL over the source's fields giving the day the conduct ended
            (rows that ended before the retention window are left out); None for other information.
        other_parties: fields naming other parties (a mortgagee may be a natural person), left out of the
            concise version the enterprise sees.
    """

    source: str
    day: str
    ended: str | None = None
    other_parties: tuple[str, ...] = ()


_LISTED_UNTIL = "coalesce(removed_on, $as_of)"
RECORD_SOURCES: tuple[RecordSource, ...] = (
    # A case still being heard or enforced has not ended; otherwise it ended with the judgment.
    RecordSource(
        "court_cases",
        "filed_on",
        "CASE WHEN outcome = '审理中' OR enforcement = '执行中' THEN $as_of "
        "ELSE coalesce(judged_on, filed_on) END",
    ),
    RecordSource("dishonest_debtors", "listed_on", _LISTED_UNTIL),
    RecordSource("admin_penalties", "decided_on", "decided_on"),
    RecordSource("red_black_lists", "listed_on", _LISTED_UNTIL),
    RecordSource("financial_risk_lists", "listed_on", _LISTED_UNTIL),
    RecordSource("admin_licences", "issued_on"),
    RecordSource("patents", "filed_on"),
    RecordSource("trademarks", "registered_on"),
    RecordSource("real_estate_mortgages", "registered_on", other_parties=("mortgagee",)),
)

# The monthly series: (source, its field, the name in the report)
_MONTHLY: tuple[tuple[str, str, str], ...] = (
    ("tax_monthly", "sales", "sales"),
    ("tax_monthly", "tax_paid", "tax_paid"),
    ("social_security", "insured", "insured"),
    ("electricity", "usage", "electricity"),
)


@dataclass(frozen=True)
class StoredReport:
    """One enterprise's stored document (see the module docstring) and the snapshot date of its indicators."""

    uscc: str
    snapshot_as_of: date
    document: dict[str, Any]


def store_path(lake: Lake, as_of: date) -> Path:
    return lake.root / STORE_DIR / f"as_of={as_of.isoformat()}.parquet"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _struct(source: Source, *, skip: tuple[str, ...] = ()) -> str:
    """``struct_pack`` of a source's fields; amounts as text, so no float ever touches money."""
    parts = []
    for field in source.fields:
        if field.name in skip:
            continue
        value = _quote(field.name)
        if field.type is FieldType.DECIMAL:
            value = f"CAST({value} AS VARCHAR)"
        parts.append(f"{_quote(field.name)} := {value}")
    return f"struct_pack({', '.join(parts)})"


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _build_sql(lake: Lake, as_of: date) -> tuple[str, dict[str, Any]]:
    seen = end_of_day(as_of)
    month0 = date(as_of.year, as_of.month, 1)
    params: dict[str, Any] = {
        "as_of": as_of,
        "retain_from": _years_before(as_of, RETENTION_YEARS),
        "m0": month0,
        "m_first": _months_before(month0, MONTHS),
        "kept": RECORDS_KEPT,
        "rating": str(rating_snapshot_path(lake, as_of)),
    }

    def relation(source_id: str, prefix: str) -> str:
        body, bound = lake.relation_sql(source_id, as_of=seen, prefix=prefix)
        params.update(bound)
        return body

    # Identifiers below come from the catalogue and the declarations of this module; values are bound.
    registration = catalogue().get("registration")
    rated = "SELECT uscc, score, grade, completeness, knocked_out, model_id FROM read_parquet($rating)"
    ctes = [
        f"rated AS ({rated})",
        f"registration AS (SELECT uscc, any_value(to_json({_struct(registration, skip=('uscc',))})) AS doc "  # noqa: S608
        f"FROM ({relation('registration', 'reg')}) GROUP BY uscc)",
    ]
    monthly_sources = sorted({source for source, _, _ in _MONTHLY})
    for n, source_id in enumerate(monthly_sources):
        sums = ", ".join(f"sum({_quote(f)}) AS {name}" for s, f, name in _MONTHLY if s == source_id)
        ctes.append(
            f"m{n} AS (SELECT uscc, period, {sums} FROM ({relation(source_id, f'm{n}')}) "  # noqa: S608
            "WHERE period >= $m_first AND period < $m0 GROUP BY uscc, period)"
        )
    joined = " FULL OUTER JOIN ".join(
        f"m{n}" if n == 0 else f"m{n} USING (uscc, period)" for n in range(len(monthly_sources))
    )
    points = ", ".join(
        f"{name} := CAST({name} AS VARCHAR)" if name in ("sales", "tax_paid") else f"{name} := {name}"
        for _, _, name in _MONTHLY
    )
    series = f"list(struct_pack(month := period, {points}) ORDER BY period)"
    ctes.append(f"monthly AS (SELECT uscc, to_json({series}) AS doc FROM {joined} GROUP BY uscc)")  # noqa: S608
    sections = []
    for n, spec in enumerate(RECORD_SOURCES):
        source = catalogue().get(spec.source)
        day = _quote(spec.day)
        order = ", ".join([f"{day} DESC", *(_quote(k) for k in source.key)])
        kept = f"{day} <= $as_of" + (f" AND ({spec.ended}) >= $retain_from" if spec.ended else "")
        rows = f"list({_struct(source, skip=('uscc',))} ORDER BY {order})[1:$kept]"
        ctes.append(
            f"r{n} AS (SELECT uscc, to_json(struct_pack(total := count(*), rows := {rows})) AS doc "  # noqa: S608
            f"FROM ({relation(spec.source, f'r{n}')}) WHERE {kept} GROUP BY uscc)"
        )
        sections.append((spec.source, f"r{n}"))
    fields = [
        "rating := to_json(struct_pack(score := rated.score, grade := rated.grade, "
        "completeness := rated.completeness, knocked_out := rated.knocked_out, model_id := rated.model_id))",
        "indicators := to_json(indicator_values)",
        "registration := registration.doc",
        "monthly := monthly.doc",
        *(f"{source} := {alias}.doc" for source, alias in sections),
    ]
    joins = " ".join(
        f"LEFT JOIN {alias} USING (uscc)"
        for alias in ("indicator_values", "registration", "monthly", *(a for _, a in sections))
    )
    sql = (
        f"WITH {', '.join(ctes)} "  # noqa: S608
        f"SELECT rated.uscc AS uscc, CAST(to_json(struct_pack({', '.join(fields)})) AS VARCHAR) AS document "
        f"FROM rated {joins} ORDER BY uscc"
    )
    return sql, params


def prepare_store(lake: Lake, as_of: date) -> Path:
    """Assemble and store the report documents of every enterprise rated as of ``as_of`` (idempotent).

    Raises:
        LookupError: ``as_of`` has no rating snapshot.
    """
    rating = rating_snapshot_path(lake, as_of)
    if not rating.exists():
        raise LookupError(f"no rating snapshot of {as_of.isoformat()}")
    modified = rating.stat().st_mtime_ns
    snapshot_as_of = max(d for d in indicators.snapshot_dates(lake) if d <= as_of)
    sql, params = _build_sql(lake, as_of)
    metadata = {_RATING_MTIME: str(modified).encode(), _SNAPSHOT_AS_OF: snapshot_as_of.isoformat().encode()}
    schema = pa.schema([("uscc", pa.string()), ("document", pa.string())], metadata=metadata)
    path = store_path(lake, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer: two readers building the same missing store do not collide.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    connection = lake.connection()
    connection.execute("SET enable_progress_bar = false")  # a web request may build the store: no console
    connection.register("indicator_values", indicators.load_snapshot(lake, snapshot_as_of))
    try:
        # Streamed in batches: a city of a million firms holds gigabytes of documents.
        reader = connection.sql(sql, params=params).to_arrow_reader(_BATCH_FIRMS)
        with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_table(pa.Table.from_batches([batch]).cast(schema), ROW_GROUP_FIRMS)
        os.replace(temporary, path)
    finally:
        connection.unregister("indicator_values")
        temporary.unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class _Index:
    metadata: pq.FileMetaData
    first_uscc: list[str]  # the smallest USCC of each row group
    rating_mtime_ns: int
    snapshot_as_of: date


@lru_cache(maxsize=16)
def _index(path: str, modified_ns: int) -> _Index:
    """The store's footer and row-group boundaries, read once per version of the file."""
    metadata = pq.read_metadata(path)
    first = []
    for i in range(metadata.num_row_groups):
        statistics = metadata.row_group(i).column(0).statistics
        first.append(str(statistics.min) if statistics is not None and statistics.has_min_max else "")
    keys = metadata.metadata or {}
    return _Index(
        metadata,
        first,
        int(keys.get(_RATING_MTIME, b"0")),
        date.fromisoformat(keys[_SNAPSHOT_AS_OF].decode()),
    )


def _current_index(lake: Lake, as_of: date) -> tuple[Path, _Index]:
    path = store_path(lake, as_of)
    rating_mtime = rating_snapshot_path(lake, as_of).stat().st_mtime_ns
    if path.exists():
        index = _index(str(path), path.stat().st_mtime_ns)
        if index.rating_mtime_ns == rating_mtime:
            return path, index
    prepare_store(lake, as_of)
    return path, _index(str(path), path.stat().st_mtime_ns)


def lookup(lake: Lake, as_of: date, uscc: str) -> StoredReport | None:
    """The stored document of ``uscc`` for the rating date ``as_of``, None if it was not rated then.

    Builds (or rebuilds) the store of that date first if it is missing or older than the rating.
    """
    path, index = _current_index(lake, as_of)
    group = bisect.bisect_right(index.first_uscc, uscc) - 1
    if group < 0:
        return None
    rows = pq.ParquetFile(path, metadata=index.metadata).read_row_group(group, use_threads=False)
    position = pc.index(rows.column("uscc"), pa.scalar(uscc, pa.string())).as_py()
    if position < 0:
        return None
    document = json.loads(rows.column("document")[position].as_py())
    return StoredReport(uscc, index.snapshot_as_of, document)
