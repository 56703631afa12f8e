"""Fixtures for ingestion tests: a lake in a temporary folder, valid USCCs, file writers."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from xinyidai.core.uscc import ALPHABET, make_uscc
from xinyidai.data.ingest import BatchResult, ingest_files
from xinyidai.data.lake import Lake

RECEIVED = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def usccs(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct valid USCCs (Weihai, 环翠区)."""
    out = []
    for i in range(count):
        n = i + seed * 100_000
        body = "MA" + "".join(ALPHABET[(n // 31**k) % 31] for k in range(6))
        out.append(make_uscc("371002", body))
    return out


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", fsync=False)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, rows, encoding="utf-8", gz=False)``: a delivery file from rows of cells (or raw text)."""

    def make(
        name: str, rows: Sequence[Sequence[Any]] | str | bytes, *, encoding: str = "utf-8", gz: bool = False
    ) -> Path:
        folder = tmp_path / "in"
        folder.mkdir(exist_ok=True)
        if isinstance(rows, bytes):
            data = rows
        else:
            text = (
                rows
                if isinstance(rows, str)
                else "".join(",".join(str(c) for c in row) + "\n" for row in rows)
            )
            data = text.encode(encoding)
        if gz:
            data = gzip.compress(data)
        path = folder / name
        path.write_bytes(data)
        return path

    return make


@pytest.fixture
def ingest(lake: Lake, db: Session) -> Callable[..., BatchResult]:
    """``ingest(source_id, *paths, **options)`` into the test lake and database."""

    def run(source_id: str, *paths: Path, **options: Any) -> BatchResult:
        options.setdefault("received_at", RECEIVED)
        return ingest_files(source_id, paths, lake=lake, session=db, **options)

    return run
