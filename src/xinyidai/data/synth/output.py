"""The delivery folder: department files with their dirt, the dirt log and the file records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.data.catalogue import FieldType, Source, catalogue
from xinyidai.data.synth import arrays
from xinyidai.data.synth.delivery import SPECS, DeliverySpec
from xinyidai.data.synth.dirt import OUTCOMES, DirtBatch, Injector
from xinyidai.data.synth.plan import CityPlan
from xinyidai.data.synth.writers import XLSX_MAX_ROWS, Sink, open_sink

SHANGHAI: Final = timezone(timedelta(hours=8))
TRUTH: Final = "_truth"
CORRECTED_SOURCE: Final = ("tax_monthly", "sales")
LATE_SOURCE: Final = "social_security"
DIRT_SCHEMA: Final = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("row", pa.int64()),
        ("kind", pa.string()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("original", pa.string()),
        ("outcome", pa.string()),
    ]
)


@dataclass
class FileRecord:
    """One delivered file, as listed in the manifest."""

    path: str
    source: str
    format: str
    encoding: str
    period: str
    delivered_at: datetime
    rows: int = 0
    bytes: int = 0
    late: bool = False
    corrects: str | None = None
    initial_load: bool = False
    part: int = 1

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "source": self.source,
            "format": self.format,
            "encoding": self.encoding,
            "period": self.period,
            "rows": self.rows,
            "bytes": self.bytes,
            "delivered_at": self.delivered_at.isoformat(),
            "late": self.late,
            "corrects": self.corrects,
            "initial_load": self.initial_load,
        }


def delivered_at(spec: DeliverySpec, source_id: str, stem: str) -> datetime:
    """When the department delivered a file: the 12th of the following month for monthly and event files,
    a few days after the evaluation or filing season for grades and reports."""
    at_nine = datetime.min.time().replace(hour=9)
    if spec.layout == "yearly":
        year = int(stem)
        day = date(year + 1, 4, 25) if source_id == "tax_credit_grade" else date(year + 1, 7, 15)
    elif spec.layout == "quarterly":
        year, quarter = int(stem[:4]), int(stem[-1])
        day = date(year + (quarter == 4), quarter * 3 % 12 + 1, 18)
    else:
        year, month = int(stem[:4]), int(stem[5:7])
        day = date(year + (month == 12), month % 12 + 1, 5 if spec.layout == "snapshot" else 12)
    return datetime.combine(day, at_nine, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class DirtLogEntry:
    source: str
    path: str
    batch: DirtBatch
    offset: int  # rows already in the file before this table


class DeliveryWriter:
    """Writes every source's files under ``out`` and logs each dirt item to ``_truth/dirt.parquet``."""

    def __init__(self, out: Path, plan: CityPlan) -> None:
        self.out = out
        self.plan = plan
        self.records: dict[str, FileRecord] = {}
        self._sinks: dict[tuple[str, str], Sink] = {}
        self._parts: dict[tuple[str, str], int] = {}
        self._corrected: Sink | None = None
        self._injectors = {sid: Injector(catalogue().get(sid), SPECS[sid]) for sid in SPECS}
        window = plan.months
        self.corrected_stem = plan.stem(plan.burn_in + window // 2) if plan.dirt > 0 else None
        self.late_stem = plan.stem(plan.burn_in + window // 3) if plan.dirt > 0 else None
        (out / TRUTH).mkdir(parents=True, exist_ok=True)
        self._dirt = pq.ParquetWriter(out / TRUTH / "dirt.parquet", DIRT_SCHEMA)
        self.dirt_counts: dict[str, int] = {}
        self.dirt_total = 0

    # --- files ---------------------------------------------------------------------------------------

    def _file_name(self, spec: DeliverySpec, stem: str, part: int) -> str:
        return f"{stem}{'' if part == 1 else f'-part{part}'}{spec.suffix}"

    def _sink(self, source: Source, spec: DeliverySpec, stem: str, incoming: int) -> tuple[Sink, FileRecord]:
        key = (source.id, stem)
        sink = self._sinks.get(key)
        if sink is not None and spec.format == "xlsx" and sink.rows + incoming > XLSX_MAX_ROWS:
            self._finish(sink)
            del self._sinks[key]
            sink = None
        if sink is None:
            part = self._parts.get(key, 0) + 1
            self._parts[key] = part
            relative = f"{source.id}/{self._file_name(spec, stem, part)}"
            path = self.out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            sink = open_sink(path, spec.headers_of(source), spec, source.name_zh)
            self._sinks[key] = sink
            first_month = self.plan.stem(self.plan.burn_in)
            record = FileRecord(
                path=relative,
                source=source.id,
                format=spec.format,
                encoding="utf-8" if spec.format == "xlsx" else spec.encoding,
                period=stem,
                delivered_at=delivered_at(spec, source.id, stem),
                initial_load=spec.layout == "events" and stem == first_month,
                part=part,
            )
            if source.id == LATE_SOURCE and stem == self.late_stem:
                record.late = True
                record.delivered_at += timedelta(days=45)
            self.records[relative] = record
        return sink, self.records[str(sink.path.relative_to(self.out))]

    def _corrected_sink(self, source: Source, spec: DeliverySpec, stem: str, original: FileRecord) -> Sink:
        if self._corrected is None:
            relative = f"{source.id}/{stem}.corrected{spec.suffix}"
            self._corrected = open_sink(self.out / relative, spec.headers_of(source), spec, source.name_zh)
            self.records[relative] = FileRecord(
                path=relative,
                source=source.id,
                format=spec.format,
                encoding=spec.encoding,
                period=stem,
                delivered_at=original.delivered_at + timedelta(days=20),
                corrects=original.path,
            )
        return self._corrected

    def write(self, source_id: str, stem: str, table: pa.Table, rng: np.random.Generator) -> DirtLogEntry:
        """Append one chunk's rows of one file, with dirt; returns the dirt to :meth:`log`.

        Sources may be written from several threads at once (each source's files belong to one thread);
        the dirt log is written by the caller in a fixed order, so the output does not depend on timing.
        """
        source = catalogue().get(source_id)
        spec = SPECS[source_id]
        columns, days, numeric = format_columns(source, spec, table)
        correcting = (source_id, stem) == (CORRECTED_SOURCE[0], self.corrected_stem)
        clean = columns
        injector = self._injectors[source_id]
        columns, batch = injector.inject(
            columns,
            days,
            rng,
            self.plan.dirt,
            corrections=0.01 if correcting else 0.0,
            correct_field=CORRECTED_SOURCE[1] if correcting else None,
        )
        sink, record = self._sink(source, spec, stem, len(columns[0]) if columns else 0)
        offset = sink.rows
        sink.append(columns, numeric)
        record.rows = sink.rows
        if correcting:
            corrected = self._corrected_sink(source, spec, stem, record)
            corrected.append(clean, numeric)
            self.records[str(corrected.path.relative_to(self.out))].rows = corrected.rows
        return DirtLogEntry(source_id, record.path, batch, offset)

    def log(self, entry: DirtLogEntry) -> None:
        """Append one table's dirt items to ``_truth/dirt.parquet``."""
        source_id, path, batch, offset = entry.source, entry.path, entry.batch, entry.offset
        if not len(batch):
            return
        n = len(batch)
        rows = np.asarray(batch.rows, dtype=np.int64) + offset
        data = pa.table(
            {
                "source": pa.array([source_id] * n, pa.string()),
                "file": pa.array([path] * n, pa.string()),
                "row": pa.array(rows),
                "kind": pa.array(batch.kinds, pa.string()),
                "field": pa.array(batch.fields, pa.string()),
                "value": pa.array(batch.values, pa.string()),
                "original": pa.array(batch.originals, pa.string()),
                "outcome": pa.array([OUTCOMES[k] for k in batch.kinds], pa.string()),
            },
            schema=DIRT_SCHEMA,
        )
        self._dirt.write_table(data)
        for kind in batch.kinds:
            self.dirt_counts[kind] = self.dirt_counts.get(kind, 0) + 1
        self.dirt_total += n

    def _finish(self, sink: Sink) -> None:
        sink.close()
        record = self.records[str(sink.path.relative_to(self.out))]
        record.rows = sink.rows
        record.bytes = sink.path.stat().st_size

    def close(self) -> list[FileRecord]:
        """Close every file, log the file-level dirt, and return the records sorted by path."""
        for sink in self._sinks.values():
            self._finish(sink)
        if self._corrected is not None:
            self._finish(self._corrected)
        file_items: list[tuple[str, str, str]] = []
        for record in self.records.values():
            if record.late:
                file_items.append((record.source, record.path, "late_delivery"))
            if record.corrects:
                file_items.append((record.source, record.corrects, "corrected_delivery"))
        if file_items:
            n = len(file_items)
            outcomes = {"late_delivery": "late", "corrected_delivery": "superseded"}
            self._dirt.write_table(
                pa.table(
                    {
                        "source": [s for s, _, _ in file_items],
                        "file": [p for _, p, _ in file_items],
                        "row": pa.nulls(n, pa.int64()),
                        "kind": [k for _, _, k in file_items],
                        "field": pa.nulls(n, pa.string()),
                        "value": pa.nulls(n, pa.string()),
                        "original": pa.nulls(n, pa.string()),
                        "outcome": [outcomes[k] for _, _, k in file_items],
                    },
                    schema=DIRT_SCHEMA,
                )
            )
            for _, _, kind in file_items:
                self.dirt_counts[kind] = self.dirt_counts.get(kind, 0) + 1
            self.dirt_total += n
        self._dirt.close()
        return [self.records[path] for path in sorted(self.records)]


def format_columns(
    source: Source, spec: DeliverySpec, table: pa.Table
) -> tuple[list[pa.Array], dict[str, np.ndarray], list[bool]]:
    """The table's columns as delivered: dates and months as text in the department's convention.

    Returns the columns, the epoch days of each date field (for dirt) and which columns are numeric.
    """
    columns: list[pa.Array] = []
    days: dict[str, np.ndarray] = {}
    numeric: list[bool] = []
    for f in source.fields:
        column = table.column(f.name).combine_chunks()
        if f.type in (FieldType.DATE, FieldType.MONTH):
            valid = column.is_valid().to_numpy(zero_copy_only=False)
            values = column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            days[f.name] = values
            style = spec.period_style if f.type is FieldType.MONTH else spec.date_style
            column = arrays.format_dates(values, valid, style)
        columns.append(column)
        numeric.append(f.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.FLOAT))
    return columns, days, numeric


def utc_timestamp(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()
