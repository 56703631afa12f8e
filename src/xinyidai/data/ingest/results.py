"""What an ingestion run reports: per batch, per file, and progress while it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from xinyidai.core.errors import XydError
from xinyidai.data.catalogue import FieldType, Source
from xinyidai.data.ingest.errors import Notice

__all__ = [
    "BatchResult",
    "BatchStatus",
    "FileResult",
    "IngestMode",
    "IngestProgress",
    "Outcome",
    "ProgressCallback",
    "default_mode",
]


class BatchStatus(StrEnum):
    """The life of an ``IngestBatch`` record."""

    PENDING = "pending"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    FAILED = "failed"


class Outcome(StrEnum):
    """What one call did."""

    PUBLISHED = "published"  # a new batch is visible (possibly with rejected rows in the quarantine)
    UNCHANGED = "unchanged"  # every file had been received before: nothing to do
    FAILED = "failed"  # the delivery was refused; nothing was written


class IngestMode(StrEnum):
    """How a batch combines with earlier ones.

    ``replace``: a delivery of whole reporting periods — the rows of each period it covers replace the
    rows earlier batches delivered for that period (monthly sources: tax, social security, utilities).
    ``append``: increments — rows add to what is there, and a key delivered again replaces the older row
    (events and registers: invoices, cases, lists, registration).
    """

    REPLACE = "replace"
    APPEND = "append"


def default_mode(source: Source) -> IngestMode:
    """``replace`` for sources partitioned by a reporting month, ``append`` for everything else."""
    if source.period_field is not None and source.field(source.period_field).type is FieldType.MONTH:
        return IngestMode.REPLACE
    return IngestMode.APPEND


@dataclass(frozen=True)
class FileResult:
    """One file of a call: its hash and counts, or why it was skipped."""

    name: str
    sha256: str
    size_bytes: int
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    encoding: str | None = None
    format: str | None = None
    already_in: str | None = None  # batch id that received the same content before (file skipped)


@dataclass(frozen=True)
class BatchResult:
    """The result of ingesting one delivery of one source.

    Attributes:
        source_id: the source.
        outcome: published, unchanged (a re-sent delivery) or failed.
        batch_id: the batch recorded (None when unchanged, or refused before a batch existed).
        mode: replace or append.
        received_at: when the platform received the data.
        files: per file, hash and counts.
        rows_read, rows_accepted, rows_rejected: totals (rejected rows are in the quarantine).
        rejects_by_reason: rejected rows by reason code.
        periods: periods (YYYY-MM or ``none``) of the accepted rows.
        superseded: batches whose rows for some period this batch replaced.
        notices: things to tell the sender (ignored columns, encoding, files already received).
        error: why the delivery was refused (outcome failed).
    """

    source_id: str
    outcome: Outcome
    batch_id: str | None
    mode: IngestMode
    received_at: datetime
    files: tuple[FileResult, ...] = ()
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    periods: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()
    error: XydError | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.FAILED

    def raise_for_error(self) -> BatchResult:
        """Raise the refusal (an ``XydError`` the web layer renders as problem+json), or return self."""
        if self.error is not None:
            raise self.error
        return self


@dataclass(frozen=True)
class IngestProgress:
    """A progress report: ``phase`` (hash, read, check, write, publish), work done of total, current file."""

    source_id: str
    phase: str
    done: int
    total: int
    file: str | None = None


ProgressCallback = Callable[[IngestProgress], None]
