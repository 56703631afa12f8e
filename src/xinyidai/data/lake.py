"""The lake: department data as Parquet under one root, read with DuckDB.

Layout (all paths relative to the root, ``XYD_HOME/lake`` by default)::

    <source>/period=YYYY-MM/<batch_id>.parquet    accepted rows of one batch for one period
                                                  (over a million rows: also <batch_id>-1.parquet, -2…)
    <source>/period=none/<batch_id>.parquet       sources without a period field
    _quarantine/<source>/<batch_id>.parquet       rejected rows of a batch, with reasons and raw values
    _manifest/<source>.json                       which files readers may see (rewritten atomically)
    _staging/<source>/<batch_id>/...              files of a batch being written (never read)
    _locks/<source>.lock                          one ingestion per source at a time

Visibility. The database is the record of truth (``ingest_batches``/``ingest_parts``); the manifest is its
reader-side copy, rebuilt from the database after every publish and written with ``os.replace`` so a
reader sees the old list or the new one, never half of it. Readers open only the files the manifest
lists, so a file renamed into place by a batch that then died is invisible, and the next run of that
source removes it. A manifest entry carries the interval in which the part is visible —
``received_at <= as_of < superseded_at`` — so a reader can ask what the lake looked like on any date
(no look-ahead) and, by default, sees the current state.

Sources delivered as increments (events, registers) may hold the same key in several batches; a reader
then sees the row of the most recently received batch (see :meth:`Lake.query`).

Every path goes through this class, so the local folder can later become an fsspec URL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.core.clock import utcnow
from xinyidai.core.settings import Settings, get_settings
from xinyidai.data.catalogue import FieldType, Source, catalogue

__all__ = [
    "LINEAGE_COLUMNS",
    "Lake",
    "Manifest",
    "ManifestBatch",
    "ManifestPart",
    "SourceStats",
    "arrow_schema",
    "arrow_type",
]

NO_PERIOD = "none"
"""The partition of sources that have no period field."""

LINEAGE_COLUMNS = ("_batch_id", "_file", "_row")
"""Columns ingestion adds to every row: the batch, the file's position in it, the row in that file."""

_ARROW_TYPES: Mapping[FieldType, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.DECIMAL: pa.decimal128(18, 2),
    FieldType.FLOAT: pa.float64(),
    FieldType.DATE: pa.date32(),
    FieldType.MONTH: pa.date32(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.CODE: pa.string(),
    FieldType.USCC: pa.string(),
    FieldType.ENTITY_REF: pa.string(),
}
_SQL_TYPES: Mapping[str, str] = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "decimal128(18, 2)": "DECIMAL(18, 2)",
    "double": "DOUBLE",
    "date32[day]": "DATE",
    "bool": "BOOLEAN",
    "dictionary<values=string, indices=int32, ordered=0>": "VARCHAR",
}


def arrow_type(field_type: FieldType) -> pa.DataType:
    """The Arrow type a logical field type is stored as (see ``catalogue.model.ARROW_TYPES``)."""
    return _ARROW_TYPES[field_type]


def arrow_schema(source: Source) -> pa.Schema:
    """The lake schema of a source: its fields in catalogue order, then the lineage columns."""
    return pa.schema(
        [pa.field(f.name, arrow_type(f.type)) for f in source.fields]
        + [
            # one value per file: dictionary-encoded in memory and in Parquet (DuckDB reads it as VARCHAR)
            pa.field("_batch_id", pa.dictionary(pa.int32(), pa.string())),
            pa.field("_file", pa.int32()),
            pa.field("_row", pa.int32()),
        ]
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class ManifestPart:
    """One Parquet file of accepted rows: a batch's rows for one period.

    Visible as of ``D`` when ``received_at <= D`` and (``superseded_at`` is None or ``D < superseded_at``).
    """

    path: str
    batch_id: str
    period: str
    rows: int
    received_at: datetime
    superseded_at: datetime | None = None

    def visible(self, as_of: datetime | None) -> bool:
        if as_of is None:
            return self.superseded_at is None
        return self.received_at <= as_of and (self.superseded_at is None or as_of < self.superseded_at)


@dataclass(frozen=True)
class ManifestBatch:
    """A published batch as readers need it: its order, counts and quarantine file."""

    batch_id: str
    received_at: datetime
    published_at: datetime
    status: str
    provider: str | None
    rows_accepted: int
    rows_rejected: int
    quarantine: str | None


@dataclass(frozen=True)
class Manifest:
    """What readers of one source may see: the published batches and their part files."""

    source_id: str
    generated_at: datetime
    batches: tuple[ManifestBatch, ...] = ()
    parts: tuple[ManifestPart, ...] = ()

    def to_json(self) -> str:
        def encode(obj: Any) -> dict[str, Any]:
            out = asdict(obj)
            for key, value in out.items():
                if isinstance(value, datetime):
                    out[key] = _iso(value)
            return out

        return json.dumps(
            {
                "source_id": self.source_id,
                "generated_at": _iso(self.generated_at),
                "batches": [encode(b) for b in self.batches],
                "parts": [encode(p) for p in self.parts],
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        batches = tuple(
            ManifestBatch(
                **{
                    **b,
                    "received_at": _from_iso(b["received_at"]),
                    "published_at": _from_iso(b["published_at"]),
                }
            )
            for b in raw["batches"]
        )
        parts = tuple(
            ManifestPart(
                **{
                    **p,
                    "received_at": _from_iso(p["received_at"]),
                    "superseded_at": _from_iso(p["superseded_at"]),
                }
            )
            for p in raw["parts"]
        )
        generated = _from_iso(raw["generated_at"])
        assert generated is not None
        return cls(raw["source_id"], generated, batches, parts)

    def visible_parts(self, as_of: datetime | None = None) -> list[ManifestPart]:
        """The parts a reader sees as of ``as_of`` (now when None)."""
        known = {b.batch_id for b in self.batches if as_of is None or b.received_at <= as_of}
        return [p for p in self.parts if p.batch_id in known and p.visible(as_of)]

    def batch_order(self) -> dict[str, int]:
        """Rank of each batch by (received, published): a higher rank is newer information."""
        ordered = sorted(self.batches, key=lambda b: (b.received_at, b.published_at, b.batch_id))
        return {b.batch_id: rank for rank, b in enumerate(ordered)}


@dataclass(frozen=True)
class SourceStats:
    """What the data pages show for one source."""

    source_id: str
    name_zh: str
    name_en: str
    rows: int
    periods: tuple[str, ...]
    batches: int
    rows_rejected: int
    last_received_at: datetime | None
    last_published_at: datetime | None
    files: int = 0


class Lake:
    """The Parquet lake under one root; see the module docstring for layout and visibility.

    A Lake holds one DuckDB connection for its queries; use one Lake per thread (or pass a connection).
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._connection: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def at_home(cls, settings: Settings | None = None) -> Lake:
        """The installation's lake: ``XYD_HOME/lake``."""
        return cls((settings or get_settings()).home / "lake")

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    # ---------------------------------------------------------------- layout

    def part_path(self, source_id: str, period: str, batch_id: str, piece: int = 0) -> str:
        """Where a batch's rows for a period go; a very large period is split into pieces ``-1``, ``-2``…"""
        suffix = f"-{piece}" if piece else ""
        return f"{source_id}/period={period}/{batch_id}{suffix}.parquet"

    def quarantine_path(self, source_id: str, batch_id: str) -> str:
        return f"_quarantine/{source_id}/{batch_id}.parquet"

    def manifest_path(self, source_id: str) -> Path:
        return self.root / "_manifest" / f"{source_id}.json"

    def staging_dir(self, source_id: str, batch_id: str) -> Path:
        return self.root / "_staging" / source_id / batch_id

    def abspath(self, relative: str) -> Path:
        return self.root / relative

    # ---------------------------------------------------------------- writing (ingestion only)

    @contextmanager
    def lock(self, source_id: str) -> Iterator[None]:
        """Hold the source's ingestion lock (one writer per source; readers never wait)."""
        path = self.root / "_locks" / f"{source_id}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def stage(self, source_id: str, batch_id: str, relative: str, table: pa.Table) -> int:
        """Write ``table`` to the batch's staging area under its final relative path; returns its size."""
        path = self.staging_dir(source_id, batch_id) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # Dictionary pages only where values repeat (codes, dates, ids); amounts are mostly distinct.
        dictionary = [
            f.name
            for f in table.schema
            if not (pa.types.is_decimal(f.type) or pa.types.is_floating(f.type) or f.name == "_row")
        ]
        # Amounts (decimal(18, 2)) are stored as Parquet INT64 decimals: readers see the same DECIMAL(18, 2),
        # and writing costs less than the fixed-length byte arrays used by default.
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=1,
            use_dictionary=dictionary,
            store_decimal_as_integer=True,
        )
        if self.fsync:
            _fsync(path)
        return path.stat().st_size

    def publish_staged(self, source_id: str, batch_id: str, relatives: Sequence[str]) -> None:
        """Rename the staged files into place (each rename is atomic; the manifest decides visibility)."""
        staging = self.staging_dir(source_id, batch_id)
        parents: set[Path] = set()
        for relative in relatives:
            target = self.abspath(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
            parents.add(target.parent)
        if self.fsync:
            for parent in parents:
                _fsync_dir(parent)

    def clear_staging(self, source_id: str, batch_id: str | None = None) -> None:
        """Remove a batch's staging area (or every staging area of the source)."""
        path = self.root / "_staging" / source_id
        if batch_id is not None:
            path = path / batch_id
        shutil.rmtree(path, ignore_errors=True)

    def discard(self, source_id: str, batch_id: str) -> None:
        """Remove every file of an unpublished batch: staged, renamed into place, or quarantined."""
        self.clear_staging(source_id, batch_id)
        source_dir = self.root / source_id
        if source_dir.is_dir():
            for path in [
                *source_dir.glob(f"period=*/{batch_id}.parquet"),
                *source_dir.glob(f"period=*/{batch_id}-*.parquet"),
            ]:
                path.unlink(missing_ok=True)
        self.abspath(self.quarantine_path(source_id, batch_id)).unlink(missing_ok=True)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the source's manifest atomically (write a temporary file, fsync, ``os.replace``)."""
        path = self.manifest_path(manifest.source_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(manifest.to_json(), encoding="utf-8")
        if self.fsync:
            _fsync(temporary)
        os.replace(temporary, path)
        if self.fsync:
            _fsync_dir(path.parent)

    # ---------------------------------------------------------------- reading

    def manifest(self, source_id: str) -> Manifest:
        """The source's manifest (empty if nothing was ever published)."""
        path = self.manifest_path(source_id)
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Manifest(source_id, utcnow())

    def files(self, source_id: str, *, as_of: datetime | None = None) -> list[Path]:
        """Absolute paths of the Parquet files visible as of ``as_of`` (now when None)."""
        return [self.abspath(p.path) for p in self.manifest(source_id).visible_parts(as_of)]

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            self._connection = duckdb.connect()
        return self._connection

    def query(
        self,
        source_id: str,
        sql_where: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        as_of: datetime | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over the rows of ``source_id`` visible as of ``as_of`` (now when None).

        Where the visible files come from several batches and the source key may repeat across them
        (increment sources), each key keeps the row of the most recently received batch.

        Args:
            source_id: a catalogue source.
            sql_where: an optional filter, a SQL boolean expression over the source's fields. It must come
                from code or the checked expression language, never from a person; pass values as
                ``$name`` parameters in ``params``.
            params: named parameters for ``sql_where``.
            as_of: see the lake as it was at this time (data received by then).
            connection: a DuckDB connection to build the relation on (default: the lake's own).
        """
        con = connection or self.connection()
        body, bound = self.relation_sql(source_id, as_of=as_of)
        bound.update(params or {})
        # sql_where is code or checked expression-language output, never a person's text (see Args)
        sql = body if sql_where is None else f"SELECT * FROM ({body}) WHERE {sql_where}"  # noqa: S608
        return con.sql(sql, params=bound or None)

    def relation_sql(
        self, source_id: str, *, as_of: datetime | None = None, prefix: str = "_xyd"
    ) -> tuple[str, dict[str, Any]]:
        """The SELECT over a source's visible rows (see :meth:`query`) and its bound parameters.

        For composing larger statements (joins of several sources, aggregates) run with
        ``connection().execute(sql, params)``; ``prefix`` keeps the parameter names of several
        sources in one statement apart (it must be a plain identifier).
        """
        if not prefix.isidentifier():
            raise ValueError(f"parameter prefix must be an identifier, not {prefix!r}")
        source = catalogue().get(source_id)
        manifest = self.manifest(source_id)
        parts = manifest.visible_parts(as_of)
        bound: dict[str, Any] = {}
        files, batches, ranks = f"{prefix}_files", f"{prefix}_batches", f"{prefix}_ranks"
        if not parts:
            return _empty_select(source), bound
        bound[files] = [str(self.abspath(p.path)) for p in parts]
        if _needs_key_resolution(source, parts):
            order = manifest.batch_order()
            batch_ids = sorted({p.batch_id for p in parts})
            bound[batches] = batch_ids
            bound[ranks] = [order[b] for b in batch_ids]
            key = ", ".join(_quote(k) for k in source.key)
            return _NEWEST_PER_KEY.format(key=key, files=files, batches=batches, ranks=ranks), bound
        return f"SELECT * FROM read_parquet(${files}, union_by_name = true, hive_partitioning = false)", bound  # noqa: S608

    def scan(
        self, source_id: str, *, columns: Sequence[str] | None = None, as_of: datetime | None = None
    ) -> pa.Table:
        """Every visible row of a source as an Arrow table (optionally only some columns)."""
        relation = self.query(source_id, as_of=as_of)
        if columns is not None:
            relation = relation.select(*columns)
        return relation.to_arrow_table()

    def quarantine(self, source_id: str, *, batch_id: str | None = None) -> pa.Table:
        """Rejected rows of the source's published batches (or of one batch), with reasons and raw values."""
        manifest = self.manifest(source_id)
        paths = [
            str(self.abspath(b.quarantine))
            for b in manifest.batches
            if b.quarantine and (batch_id is None or b.batch_id == batch_id)
        ]
        if not paths:
            return pa.table({})
        return pq.ParquetDataset(paths).read()

    def stats(self) -> list[SourceStats]:
        """Rows, periods and the last batch per catalogue source, from the manifests."""
        result = []
        for source in catalogue().sources.values():
            manifest = self.manifest(source.id)
            parts = manifest.visible_parts()
            if parts and _needs_key_resolution(source, parts):
                rows = int(self.query(source.id).aggregate("count(*)").fetchall()[0][0])
            else:
                rows = sum(p.rows for p in parts)
            batches = manifest.batches
            result.append(
                SourceStats(
                    source_id=source.id,
                    name_zh=source.name_zh,
                    name_en=source.name_en,
                    rows=rows,
                    periods=tuple(sorted({p.period for p in parts})),
                    batches=len(batches),
                    rows_rejected=sum(b.rows_rejected for b in batches),
                    last_received_at=max((b.received_at for b in batches), default=None),
                    last_published_at=max((b.published_at for b in batches), default=None),
                    files=len(parts),
                )
            )
        return result


# Keep, per key, the row of the newest batch (by receipt); batch ranks come in as bound lists.
_NEWEST_PER_KEY = (
    "SELECT * EXCLUDE (_xyd_rank, _xyd_b, _xyd_r) FROM ("
    " SELECT t.*, o.*, row_number() OVER ("
    "  PARTITION BY {key} ORDER BY o._xyd_r DESC, t._row DESC) AS _xyd_rank"
    " FROM read_parquet(${files}, union_by_name = true, hive_partitioning = false) AS t"
    " JOIN (SELECT unnest(${batches}) AS _xyd_b, unnest(${ranks}) AS _xyd_r) AS o"
    "  ON t._batch_id = o._xyd_b"
    ") WHERE _xyd_rank = 1"
)


def _needs_key_resolution(source: Source, parts: Sequence[ManifestPart]) -> bool:
    """Whether a key may repeat across the visible parts, so readers must keep the newest row per key.

    Not needed when one batch is visible, nor when the key contains the period field and each period's
    visible parts come from a single batch (period-replacement sources after supersession).
    """
    if len({p.batch_id for p in parts}) <= 1:
        return False
    if source.period_field is not None and source.period_field in source.key:
        batches_per_period: dict[str, set[str]] = {}
        for part in parts:
            batches_per_period.setdefault(part.period, set()).add(part.batch_id)
        return any(len(batches) > 1 for batches in batches_per_period.values())
    return True


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _empty_select(source: Source) -> str:
    columns = [f"CAST(NULL AS {_SQL_TYPES[str(f.type)]}) AS {_quote(f.name)}" for f in arrow_schema(source)]
    return f"SELECT {', '.join(columns)} WHERE false"


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_dir(path: Path) -> None:
    # some file systems refuse fsync on directories; the rename is atomic all the same
    with contextlib.suppress(OSError):
        _fsync(path)
