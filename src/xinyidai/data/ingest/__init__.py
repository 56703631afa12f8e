"""Ingestion: department deliveries (files or pushed rows) → checked, typed rows in the lake.

Public surface (the CLI and the HTTP push call these through ``xinyidai.data.service``):
``ingest_files``, ``ingest_directory``, ``ingest_bytes``, ``ingest_rows``, ``recover`` and the result
types. See ``pipeline.py`` for the steps and their atomicity, ``errors.py`` for every refusal and
reject reason, ``reading.py`` / ``headers.py`` / ``parse.py`` / ``validate.py`` for the rules.
"""

from __future__ import annotations

from xinyidai.data.ingest.errors import (
    NOTICES,
    REFUSALS,
    REJECT_REASONS,
    FileRefused,
    IngestError,
    Notice,
    UnknownSource,
)
from xinyidai.data.ingest.pipeline import (
    ingest_bytes,
    ingest_directory,
    ingest_files,
    ingest_rows,
    recover,
)
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

__all__ = [
    "NOTICES",
    "REFUSALS",
    "REJECT_REASONS",
    "BatchResult",
    "BatchStatus",
    "FileRefused",
    "FileResult",
    "IngestError",
    "IngestMode",
    "IngestProgress",
    "Notice",
    "Outcome",
    "ProgressCallback",
    "UnknownSource",
    "default_mode",
    "ingest_bytes",
    "ingest_directory",
    "ingest_files",
    "ingest_rows",
    "recover",
]
