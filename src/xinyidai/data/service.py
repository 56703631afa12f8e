"""Use cases of the data capability that other capabilities call."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import SHANGHAI
from xinyidai.core.codes import UnknownCode, industry_division
from xinyidai.core.errors import NotFound
from xinyidai.core.settings import Settings
from xinyidai.data.catalogue import Source, catalogue
from xinyidai.data.ingest import (
    BatchResult,
    IngestMode,
    ingest_bytes,
    ingest_directory,
    ingest_files,
    ingest_rows,
)
from xinyidai.data.ingest import repository as ingest_repository
from xinyidai.data.ingest.errors import UnknownSource
from xinyidai.data.lake import Lake, SourceStats
from xinyidai.data.models import IngestBatch, QualityRun, RegistryEnterprise
from xinyidai.data.quality.engine import default_period
from xinyidai.data.quality.report import report_name
from xinyidai.data.quality.rules import rule_library
from xinyidai.data.quality.runs import (
    SourceQuality,
    get_quality_run,
    latest_quality_by_source,
    list_quality_runs,
    quality_trend,
    run_quality,
)
from xinyidai.data.retention import ExpiredRows, remove_expired_rows, used_params

__all__ = [
    "ACTIVE_STATUS",
    "BatchResult",
    "ExpiredRows",
    "IngestMode",
    "SourceQuality",
    "SourceStats",
    "catalogue_source",
    "count_registry",
    "default_quality_period",
    "find_registered_enterprise",
    "get_ingest_batch",
    "get_quality_run",
    "has_quality_runs",
    "ingest_bytes",
    "ingest_directory",
    "ingest_files",
    "ingest_rows",
    "lake_stats",
    "last_receipt_date",
    "latest_quality_by_source",
    "list_ingest_batches",
    "list_quality_runs",
    "open_lake",
    "quality_trend",
    "quarantined_rows",
    "refresh_registry_from_lake",
    "remove_expired_rows",
    "report_name",
    "rule_library",
    "run_quality",
    "search_registry",
    "upsert_registry",
    "used_params",
]

ACTIVE_STATUS = "存续"


def find_registered_enterprise(session: Session, uscc: str) -> RegistryEnterprise | None:
    """The registry record for a (validated, normalised) USCC, or None."""
    return session.get(RegistryEnterprise, uscc)


def upsert_registry(session: Session, records: Iterable[RegistryEnterprise]) -> int:
    """Insert or replace registry master records by USCC; returns how many were written."""
    count = 0
    for record in records:
        session.merge(record)
        count += 1
    session.flush()
    return count


def count_registry(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RegistryEnterprise)) or 0)


def search_registry(
    session: Session, principal: Principal, query: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[Sequence[RegistryEnterprise], int]:
    """Registry records whose USCC or name contains ``query`` (operator staff only), and the total."""
    require(principal, Permission.REGISTRY_READ)
    stmt = select(RegistryEnterprise)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(RegistryEnterprise.uscc.like(like), RegistryEnterprise.name.like(like)))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(RegistryEnterprise.uscc).limit(limit).offset(offset)).all()
    return rows, total


# ---------------------------------------------------------------------------------------------------------
# Department data ingestion and the lake. The ingestion steps live in ``xinyidai.data.ingest``; these are
# the entry points the CLI (``xinyidai ingest``), the HTTP push and the data pages call (ingest_files,
# ingest_directory, ingest_bytes and ingest_rows are re-exported from there).


def is_known_industry(code: str) -> bool:
    """Whether a GB/T 4754 code (``C13``, ``1311``, ``13``…) names a known division."""
    try:
        industry_division(code)
    except UnknownCode:
        return False
    return True


def _size_class(employees: int | None) -> str:
    """A size class from headcount (simplified from the 2011 SME classification's employee bands)."""
    if employees is None or employees < 10:
        return "micro"
    if employees < 100:
        return "small"
    if employees < 300:
        return "medium"
    return "large"


def refresh_registry_from_lake(session: Session, lake: Lake) -> int:
    """Rebuild the enterprise registry table from the registration source in the lake.

    Self-registration is verified against this table. The size class comes from the newest annual
    report's headcount, else the newest social-security insured headcount. Returns rows written.
    """
    registration = lake.scan(
        "registration",
        columns=[
            "uscc",
            "name",
            "legal_rep_name",
            "region_code",
            "industry_code",
            "founded_on",
            "registered_capital",
            "status",
        ],
    )
    if registration.num_rows == 0:
        return 0
    employees: dict[str, int] = {}
    for source_id, column, order in (
        ("social_security", "insured", "period"),
        ("annual_reports", "employees", "year"),
    ):
        latest = lake.query(source_id).query(
            "t",
            f"SELECT uscc, arg_max({column}, {order}) FROM t GROUP BY uscc",  # noqa: S608 — fixed names
        )
        rows = latest.fetchall() if latest is not None else []
        employees.update({uscc: int(value) for uscc, value in rows if value is not None})
    records = [
        RegistryEnterprise(
            uscc=row["uscc"],
            name=row["name"],
            legal_representative=row["legal_rep_name"],
            region_code=row["region_code"],
            industry_division=industry_division(str(row["industry_code"])).code,
            size_class=_size_class(employees.get(row["uscc"])),
            founded_on=row["founded_on"],
            registered_capital_wan=row["registered_capital"],
            status=row["status"],
        )
        for row in registration.to_pylist()
        if is_known_industry(str(row["industry_code"]))
    ]
    return upsert_registry(session, records)


def catalogue_source(source_id: str) -> Source:
    """A catalogue source by id; an unknown id answers NotFound (``UnknownSource``)."""
    try:
        return catalogue().get(source_id)
    except KeyError:
        raise UnknownSource(source_id) from None


def open_lake(settings: Settings | None = None) -> Lake:
    """The installation's lake (``XYD_HOME/lake``)."""
    return Lake.at_home(settings)


def lake_stats(lake: Lake) -> list[SourceStats]:
    """Per catalogue source: visible rows, periods, batches, rejected rows and the last batch times."""
    return lake.stats()


def list_ingest_batches(
    session: Session, source_id: str | None = None, *, limit: int = 50, offset: int = 0
) -> Sequence[IngestBatch]:
    """Ingestion batches, newest first (optionally of one source), with their files."""
    return ingest_repository.list_batches(session, source_id, limit=limit, offset=offset)


def get_ingest_batch(session: Session, batch_id: str) -> IngestBatch:
    """One batch with its files (hashes, counts, column mapping) and lake parts; NotFound if unknown."""
    batch = ingest_repository.get_batch(session, batch_id)
    if batch is None:
        raise NotFound()
    return batch


def quarantined_rows(
    lake: Lake, source_id: str, batch_id: str | None = None, *, limit: int = 1000
) -> list[dict[str, Any]]:
    """Rejected rows of a source (or one batch): file, row, reason code, field, params and raw values.

    ``params``, ``problems`` and ``raw`` are decoded from JSON; translate ``reason`` with
    ``xinyidai.data.ingest.REJECT_REASONS[reason] % params``.
    """
    table = lake.quarantine(source_id, batch_id=batch_id)
    rows = table.slice(0, limit).to_pylist() if table.num_rows else []
    for row in rows:
        for key in ("params", "problems", "raw"):
            row[key] = json.loads(row[key]) if row.get(key) else None
    return rows


# ---------------------------------------------------------------------------------------------------------
# Data quality (``xinyidai.data.quality``): run_quality, the runs and the trend are re-exported above.


def has_quality_runs(session: Session) -> bool:
    """Whether any data-quality run has been made."""
    return session.scalar(select(QualityRun.id).limit(1)) is not None


def last_receipt_date(lake: Lake, source_id: str | None = None) -> date | None:
    """The day (Asia/Shanghai) the newest delivery of any source (or of ``source_id``) arrived, or None."""
    sources = [source_id] if source_id is not None else list(catalogue().sources)
    received = [b.received_at for s in sources for b in lake.manifest(s).batches]
    return max(received).astimezone(SHANGHAI).date() if received else None


def default_quality_period(lake: Lake, as_of: date) -> str | None:
    """The month a quality run as of ``as_of`` checks by default (the newest monthly delivery)."""
    return default_period(lake, as_of)
