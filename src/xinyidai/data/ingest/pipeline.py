"""The ingestion step: deliveries in, a published batch (or a clear refusal) out.

One call ingests one delivery of one source as one batch:

1. under the source's lock, finish off what a killed run left (pending batches are marked failed and
   their files removed; the manifest is rebuilt from the database if it lags);
2. hash every file (SHA-256 of the raw bytes); content already received for the source is skipped —
   re-sending a delivery is a no-op that says so;
3. record the batch as ``pending`` and commit (so a crash leaves a trace the next run cleans up);
4. read, map headers, type and validate every row (vectorised), quarantine rejects;
5. write the Parquet files to the staging area, rename them into place, and in ONE transaction record
   the parts, supersede replaced periods and mark the batch published; then rewrite the manifest.

Readers only open files the manifest lists, so until step 5 commits nothing of the batch is visible, and
a process killed at any point leaves the lake as it was. This step owns its transactions: it commits the
session it is given (after step 3 and at publish), so pass a session with no unrelated pending work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from xinyidai.core.clock import SHANGHAI, utcnow
from xinyidai.core.errors import XydError
from xinyidai.data.catalogue import Source, catalogue
from xinyidai.data.ingest import repository
from xinyidai.data.ingest.errors import REFUSALS, FileRefused, IngestError, Notice, UnknownSource
from xinyidai.data.ingest.headers import plan_columns
from xinyidai.data.ingest.publish import stage_batch, supersede
from xinyidai.data.ingest.reading import RawTable, read_delivery, read_records
from xinyidai.data.ingest.results import (
    BatchResult,
    BatchStatus,
    FileResult,
    IngestMode,
    IngestProgress,
    Outcome,
    ProgressCallback,
    default_mode,
)
from xinyidai.data.ingest.validate import DeliveredFile, check_batch
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch, IngestFile, IngestPart

__all__ = [
    "DELIVERY_SUFFIXES",
    "ingest_bytes",
    "ingest_directory",
    "ingest_files",
    "ingest_rows",
    "recover",
]

DELIVERY_SUFFIXES = (".csv", ".gz", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".jsonl", ".ndjson", ".json")
"""Files in a delivery folder that are taken as deliveries (others are reported, not read)."""

_IGNORED_NAMES = ("manifest.json",)
_PAUSE_AT = "XYD_INGEST_PAUSE_AT"


def _checkpoint(phase: str) -> None:
    """Fault injection for crash tests: pause at ``phase`` when ``XYD_INGEST_PAUSE_AT`` names it.

    ``XYD_INGEST_PAUSE_MARKER`` (a path) is written when the pause starts; ``XYD_INGEST_PAUSE_SECONDS``
    sets its length (default 60). Phases: ``staged`` (files written to staging, nothing renamed) and
    ``renamed`` (files in place, not yet recorded as published).
    """
    if os.environ.get(_PAUSE_AT) != phase:
        return
    marker = os.environ.get("XYD_INGEST_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(phase, encoding="utf-8")
    time.sleep(float(os.environ.get("XYD_INGEST_PAUSE_SECONDS", "60")))


@dataclass
class _Delivery:
    """One file (or push) of a call: name, content hash and how to read it."""

    name: str
    sha256: str
    size: int
    path: Path | None = None
    data: bytes | None = None
    records: Sequence[Mapping[str, Any]] | None = None
    declared_encoding: str | None = None

    def read(self, source: Source) -> RawTable:
        if self.records is not None:
            return read_records(self.name, self.records, source)
        data = self.data
        if data is None:
            assert self.path is not None
            try:
                data = self.path.read_bytes()
            except OSError as error:
                raise FileRefused(
                    reason="unreadable_file", file=self.name, detail=error.strerror or str(error)
                ) from None
        return read_delivery(self.name, data, source, declared=self.declared_encoding)


def _file_delivery(path: Path) -> _Delivery:
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        size = path.stat().st_size
    except OSError as error:
        raise FileRefused(
            reason="unreadable_file", file=path.name, detail=error.strerror or str(error)
        ) from None
    return _Delivery(name=path.name, sha256=digest, size=size, path=path)


def _source(source_id: str) -> Source:
    try:
        return catalogue().get(source_id)
    except KeyError:
        raise UnknownSource(source_id) from None


def _emit(
    progress: ProgressCallback | None,
    source: Source,
    phase: str,
    done: int,
    total: int,
    file: str | None = None,
) -> None:
    if progress is not None:
        progress(IngestProgress(source.id, phase, done, total, file))


def _new_batch_id(received_at: datetime) -> str:
    return f"{received_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _aware(received_at: datetime | None) -> datetime:
    if received_at is None:
        return utcnow()
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC)


# ------------------------------------------------------------------------------------------------ public


def ingest_files(
    source_id: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    lake: Lake,
    session: Session,
    provider: str | None = None,
    received_at: datetime | None = None,
    progress: ProgressCallback | None = None,
    mode: IngestMode | None = None,
    declared_encoding: str | None = None,
) -> BatchResult:
    """Ingest delivered files of one source as one batch.

    Args:
        source_id: a catalogue source (``xinyidai ingest tax_monthly FILE...``).
        paths: the files: CSV (or ``.csv.gz``), XLSX, JSON lines. Together they are one delivery.
        lake: where accepted rows go.
        session: database session; this step commits it (see the module docstring).
        provider: who delivered (department system, API client), for the record.
        received_at: when the platform received the data (default: now); "as of" queries use it.
        progress: called with :class:`IngestProgress` while the work proceeds.
        mode: replace periods or append (default: :func:`default_mode` of the source).
        declared_encoding: an encoding the sender declared; checked against the content, never trusted.

    Returns:
        The batch: published (rejected rows quarantined), unchanged (everything received before) or
        failed (refused as a whole, with ``error``; nothing written).

    Raises:
        UnknownSource: the source id is not in the catalogue.
    """
    source = _source(source_id)
    deliveries = []
    for path in paths:
        try:
            delivery = _file_delivery(Path(path))
        except FileRefused as error:
            at = _aware(received_at)
            return BatchResult(source.id, Outcome.FAILED, None, mode or default_mode(source), at, error=error)
        delivery.declared_encoding = declared_encoding
        deliveries.append(delivery)
    return _ingest(source, deliveries, lake, session, provider, _aware(received_at), progress, mode)


def ingest_bytes(
    source_id: str,
    name: str,
    data: bytes,
    *,
    lake: Lake,
    session: Session,
    provider: str | None = None,
    received_at: datetime | None = None,
    progress: ProgressCallback | None = None,
    mode: IngestMode | None = None,
    declared_encoding: str | None = None,
) -> BatchResult:
    """Ingest one uploaded file given as bytes (an HTTP upload); otherwise as :func:`ingest_files`."""
    source = _source(source_id)
    delivery = _Delivery(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        declared_encoding=declared_encoding,
    )
    return _ingest(source, [delivery], lake, session, provider, _aware(received_at), progress, mode)


def ingest_rows(
    source_id: str,
    records: Sequence[Mapping[str, Any]],
    *,
    lake: Lake,
    session: Session,
    provider: str | None = None,
    received_at: datetime | None = None,
    progress: ProgressCallback | None = None,
    mode: IngestMode | None = None,
    name: str = "push",
) -> BatchResult:
    """Ingest rows a department system pushed (JSON objects keyed by field name or header) as one batch.

    Values may be strings, numbers, booleans or null; they are checked exactly like a file's cells. The
    content hash is over the canonical JSON of the rows, so pushing the same rows again is a no-op.
    """
    source = _source(source_id)
    canonical = json.dumps(
        list(records), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")
    delivery = _Delivery(
        name=name, sha256=hashlib.sha256(canonical).hexdigest(), size=len(canonical), records=records
    )
    return _ingest(source, [delivery], lake, session, provider, _aware(received_at), progress, mode)


def ingest_directory(
    directory: str | os.PathLike[str],
    *,
    lake: Lake,
    session: Session,
    provider: str | None = None,
    received_at: datetime | None = None,
    progress: ProgressCallback | None = None,
    sources: Iterable[str] | None = None,
) -> list[BatchResult]:
    """Ingest a delivery folder: one sub-folder per source (``DIR/<source_id>/…``).

    A source's files are grouped into deliveries by the day (Asia/Shanghai) of their modification time —
    what a department dropped on one day is one batch — and the deliveries are ingested oldest first, so a
    later corrected file supersedes the original and a late file counts from when it came. Each batch's
    receipt time is the newest modification time of its files unless ``received_at`` is given (then it
    applies to all). Files already received are skipped, so running it again is a no-op.

    Folders and files whose names start with ``_`` or ``.`` (such as ``_truth``) and ``manifest.json`` are
    not deliveries and are skipped; a sub-folder that names no source gives a failed result
    (``unknown_source``) without stopping the others.
    """
    root = Path(directory)
    wanted = set(sources) if sources is not None else None
    results: list[BatchResult] = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith(("_", ".")):
            continue
        if wanted is not None and child.name not in wanted:
            continue
        if child.name not in catalogue().sources:
            at = _aware(received_at)
            results.append(
                BatchResult(
                    child.name, Outcome.FAILED, None, IngestMode.APPEND, at, error=UnknownSource(child.name)
                )
            )
            continue
        files: list[Path] = []
        others: list[Path] = []
        for path in sorted(child.rglob("*")):
            if not path.is_file() or any(
                part.startswith(("_", ".")) for part in path.relative_to(child).parts
            ):
                continue
            if path.name in _IGNORED_NAMES:
                continue
            (files if path.name.lower().endswith(DELIVERY_SUFFIXES) else others).append(path)
        source_results = [
            ingest_files(
                child.name,
                group,
                lake=lake,
                session=session,
                provider=provider,
                received_at=received_at or modified,
                progress=progress,
            )
            for modified, group in _deliveries(files)
        ]
        if others and source_results:
            notice = Notice("unrecognised_files", {"files": ", ".join(p.name for p in others)})
            source_results[0] = _with_notice(source_results[0], notice)
        results.extend(source_results)
    return results


def _deliveries(files: Sequence[Path]) -> list[tuple[datetime, list[Path]]]:
    """Files grouped by the day they arrived (modification time, Asia/Shanghai), oldest day first."""
    stamped = sorted(((path.stat().st_mtime, path.name, path) for path in files), key=lambda t: t[:2])
    days: dict[object, list[tuple[float, Path]]] = {}
    for mtime, _, path in stamped:
        day = datetime.fromtimestamp(mtime, SHANGHAI).date()
        days.setdefault(day, []).append((mtime, path))
    return [
        (datetime.fromtimestamp(max(m for m, _ in group), UTC), [p for _, p in group])
        for group in days.values()
    ]


def _with_notice(result: BatchResult, notice: Notice) -> BatchResult:
    return replace(result, notices=(*result.notices, notice))


def recover(session: Session, lake: Lake, source_id: str) -> list[str]:
    """Clean up after an ingestion of ``source_id`` that died; returns the ids of the batches marked failed.

    Must run under the source's lock (ingestion does so itself on every run).
    """
    failed = []
    for batch in repository.pending_batches(session, source_id):
        lake.discard(source_id, batch.id)
        batch.status = BatchStatus.FAILED.value
        batch.error_code = "interrupted"
        batch.error_message = REFUSALS["interrupted"]
        batch.error_params = {"worker": batch.worker}
        failed.append(batch.id)
    lake.clear_staging(source_id)
    session.commit()
    count, last = repository.received_summary(session, source_id)
    manifest = lake.manifest(source_id)
    last_in_manifest = max((b.published_at for b in manifest.batches), default=None)
    if failed or count != len(manifest.batches) or last != last_in_manifest:
        lake.write_manifest(repository.build_manifest(session, source_id, utcnow()))
    return failed


# ------------------------------------------------------------------------------------------------ the step


def _ingest(
    source: Source,
    deliveries: Sequence[_Delivery],
    lake: Lake,
    session: Session,
    provider: str | None,
    received_at: datetime,
    progress: ProgressCallback | None,
    mode: IngestMode | None,
) -> BatchResult:
    mode = mode or default_mode(source)
    with lake.lock(source.id):
        recover(session, lake, source.id)
        _emit(progress, source, "hash", len(deliveries), len(deliveries))
        known = repository.received_files(session, source.id, [d.sha256 for d in deliveries])
        fresh: list[_Delivery] = []
        skipped: list[FileResult] = []
        seen: set[str] = set()
        for d in deliveries:
            if d.sha256 in known or d.sha256 in seen:
                skipped.append(FileResult(d.name, d.sha256, d.size, already_in=known.get(d.sha256, "")))
            else:
                fresh.append(d)
                seen.add(d.sha256)
        notices = tuple(
            Notice("already_received", {"file": f.name, "batch": f.already_in or "-"}) for f in skipped
        )
        if not fresh:
            return BatchResult(
                source.id, Outcome.UNCHANGED, None, mode, received_at, files=tuple(skipped), notices=notices
            )
        if mode is IngestMode.REPLACE and skipped:
            # A delivery of whole periods is taken whole: its unchanged files are part of the correction.
            fresh = list({d.sha256: d for d in deliveries}.values())
            skipped, notices = [], ()
        batch = IngestBatch(
            id=_new_batch_id(received_at),
            source_id=source.id,
            status=BatchStatus.PENDING.value,
            mode=mode.value,
            provider=provider,
            received_at=received_at,
            started_at=utcnow(),
            worker=_worker(),
            periods=[],
            rejects_by_reason={},
            notices=[],
        )
        batch.files = [
            IngestFile(position=k, name=d.name[-500:], sha256=d.sha256, size_bytes=d.size, columns={})
            for k, d in enumerate(fresh)
        ]
        session.add(batch)
        session.commit()
        try:
            return _process(source, batch, fresh, skipped, list(notices), lake, session, progress, mode)
        except XydError as error:
            _fail(session, lake, source, batch, error)
            return BatchResult(
                source.id,
                Outcome.FAILED,
                batch.id,
                mode,
                received_at,
                files=tuple(_file_result(f) for f in batch.files),
                error=error
                if isinstance(error, IngestError)
                else IngestError(reason="internal_error", detail=str(error)),
            )
        except BaseException as error:
            # the original error matters more; if recording the failure fails, the next run cleans up
            with contextlib.suppress(Exception):
                _fail(
                    session,
                    lake,
                    source,
                    batch,
                    IngestError(reason="internal_error", detail=repr(error)[:500]),
                )
            raise


def _fail(session: Session, lake: Lake, source: Source, batch: IngestBatch, error: XydError) -> None:
    session.rollback()
    lake.discard(source.id, batch.id)
    batch.status = BatchStatus.FAILED.value
    batch.error_code = getattr(error, "reason", error.code)
    batch.error_message = error.message
    batch.error_params = {k: str(v) for k, v in error.params.items()}
    session.commit()


def _file_result(f: IngestFile) -> FileResult:
    return FileResult(
        name=f.name,
        sha256=f.sha256,
        size_bytes=f.size_bytes,
        rows_read=f.rows_read,
        rows_accepted=f.rows_accepted,
        rows_rejected=f.rows_rejected,
        encoding=f.encoding,
        format=f.format,
    )


def _process(
    source: Source,
    batch: IngestBatch,
    deliveries: Sequence[_Delivery],
    skipped: Sequence[FileResult],
    notices: list[Notice],
    lake: Lake,
    session: Session,
    progress: ProgressCallback | None,
    mode: IngestMode,
) -> BatchResult:
    files: list[DeliveredFile] = []
    for k, delivery in enumerate(deliveries):
        _emit(progress, source, "read", k, len(deliveries), delivery.name)
        raw = delivery.read(source)
        plan = plan_columns(source, raw.headers, delivery.name)
        files.append(DeliveredFile(k, raw, plan))
        record = batch.files[k]
        record.format, record.encoding = raw.format, raw.encoding
        record.columns = {
            "headers": {h: f for h, f in zip(raw.headers, plan.fields, strict=True)},
            "derived": plan.derived,
            "header_row": raw.header_row,
        }
        notices.extend(raw.notices)
        if plan.ignored:
            notices.append(
                Notice("ignored_columns", {"file": delivery.name, "columns": ", ".join(plan.ignored)})
            )
        for field_name, unit in plan.units.items():
            f = source.field(field_name)
            if field_name in plan.scales:
                notices.append(
                    Notice(
                        "header_unit",
                        {
                            "file": delivery.name,
                            "header": raw.headers[plan.column_of(field_name) or 0],
                            "unit": unit,
                            "field_unit": f.unit,
                        },
                    )
                )
    _emit(progress, source, "read", len(deliveries), len(deliveries))

    received_on = batch.received_at.astimezone(SHANGHAI).date()
    _emit(progress, source, "check", 0, 1)
    checked = check_batch(source, files, received_on=received_on)
    _emit(progress, source, "check", 1, 1)

    staged = stage_batch(source, batch, checked, lake, progress)
    _checkpoint("staged")
    lake.publish_staged(source.id, batch.id, [rel for rel, _, _, _ in staged])
    _checkpoint("renamed")

    # ---- one transaction: parts, supersession, published
    published_at = utcnow()
    superseded: set[str] = set()
    new_parts = []
    for rel, period, rows, size in staged:
        if period == "_quarantine":
            continue
        part = IngestPart(source_id=source.id, period=period, path=rel, rows=rows, size_bytes=size)
        batch.parts.append(part)
        new_parts.append(part)
    session.flush()
    if mode is IngestMode.REPLACE:
        superseded = supersede(session, source, batch, new_parts)
    for k, (read, accepted, rejected) in checked.per_file.items():
        batch.files[k].rows_read, batch.files[k].rows_accepted, batch.files[k].rows_rejected = (
            read,
            accepted,
            rejected,
        )
    batch.rows_read = checked.rows_read
    batch.rows_rejected = checked.rejects.num_rows
    batch.rows_accepted = checked.accepted.num_rows
    batch.periods = sorted({p.period for p in new_parts})
    batch.rejects_by_reason = dict(sorted(checked.reject_counts.items()))
    batch.notices = [{"code": n.code, "params": n.params} for n in notices]
    batch.quarantine_path = next((rel for rel, period, _, _ in staged if period == "_quarantine"), None)
    batch.status = BatchStatus.PUBLISHED.value
    batch.published_at = published_at
    if new_parts and all(p.superseded_at is not None for p in new_parts):
        batch.status = BatchStatus.SUPERSEDED.value
    session.commit()
    _emit(progress, source, "publish", 1, 1)

    lake.write_manifest(repository.build_manifest(session, source.id, utcnow()))
    lake.clear_staging(source.id, batch.id)
    return BatchResult(
        source_id=source.id,
        outcome=Outcome.PUBLISHED,
        batch_id=batch.id,
        mode=mode,
        received_at=batch.received_at,
        files=(*(_file_result(f) for f in batch.files), *skipped),
        rows_read=batch.rows_read,
        rows_accepted=batch.rows_accepted,
        rows_rejected=batch.rows_rejected,
        rejects_by_reason=dict(batch.rejects_by_reason),
        periods=tuple(batch.periods),
        superseded=tuple(sorted(superseded)),
        notices=tuple(notices),
    )
