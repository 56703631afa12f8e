"""API v1 for department data: the catalogue, lake statistics, batches, and pushes from department systems."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from xinyidai.core.access import Permission, Principal
from xinyidai.core.database import get_engine, session_factory, session_scope
from xinyidai.data import service as data
from xinyidai.data.catalogue import catalogue
from xinyidai.monitoring import service as monitoring
from xinyidai.web.deps import DbSession, SettingsDep, api_guard

router = APIRouter(prefix="/api/v1", tags=["data"])

MAX_PUSH_ROWS = 10_000


class FieldRead(BaseModel):
    name: str
    name_zh: str
    name_en: str
    type: str
    unit: str | None
    sensitivity: str
    required: bool
    description: str
    codes: list[str]


class SourceRead(BaseModel):
    id: str
    name_zh: str
    name_en: str
    owner: str
    frequency: str
    description: str
    rows: int = 0
    periods: list[str] = []
    batches: int = 0
    rows_rejected: int = 0
    last_received_at: datetime | None = None
    quality_score: float | None = Field(
        default=None, description="Share of the source's quality rules passed in the latest run, 0–100"
    )
    fields: list[FieldRead] | None = None


class BatchRead(BaseModel):
    id: str
    source_id: str
    status: str
    received_at: datetime
    rows_accepted: int
    rows_rejected: int
    periods: list[str]


class PushBody(BaseModel):
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_PUSH_ROWS)


class PushResult(BaseModel):
    source_id: str
    outcome: str
    batch_id: str | None
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]


def _source_read(
    source_id: str,
    stats: dict[str, data.SourceStats],
    quality: dict[str, data.SourceQuality],
    *,
    with_fields: bool,
) -> SourceRead:
    source = data.catalogue_source(source_id)
    s = stats.get(source_id)
    q = quality.get(source_id)
    fields = None
    if with_fields:
        fields = [
            FieldRead(
                name=f.name,
                name_zh=f.name_zh,
                name_en=f.name_en,
                type=f.type.value,
                unit=f.unit,
                sensitivity=f.sensitivity.value,
                required=f.required,
                description=f.description,
                codes=list(f.codes),
            )
            for f in source.fields
        ]
    return SourceRead(
        id=source.id,
        name_zh=source.name_zh,
        name_en=source.name_en,
        owner=source.owner,
        frequency=source.frequency.value,
        description=source.description,
        rows=s.rows if s else 0,
        periods=list(s.periods) if s else [],
        batches=s.batches if s else 0,
        rows_rejected=s.rows_rejected if s else 0,
        last_received_at=s.last_received_at if s else None,
        quality_score=round(q.score, 2) if q else None,
        fields=fields,
    )


def _stats(settings: SettingsDep) -> dict[str, data.SourceStats]:
    return {s.source_id: s for s in data.lake_stats(data.open_lake(settings))}


@router.get("/data/sources", response_model=list[SourceRead])
def list_sources(
    db: DbSession, settings: SettingsDep, principal: Principal = api_guard(Permission.DATA_READ)
) -> list[SourceRead]:
    """Every department source with its owner, frequency, what the lake holds of it and its quality score."""
    stats, quality = _stats(settings), data.latest_quality_by_source(db)
    return [_source_read(source_id, stats, quality, with_fields=False) for source_id in catalogue().sources]


@router.get("/data/sources/{source_id}", response_model=SourceRead)
def get_source(
    source_id: str,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = api_guard(Permission.DATA_READ),
) -> SourceRead:
    """One source with its typed fields (names, units, sensitivity)."""
    return _source_read(source_id, _stats(settings), data.latest_quality_by_source(db), with_fields=True)


@router.get("/data/batches", response_model=list[BatchRead])
def list_batches(
    db: DbSession,
    source_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    principal: Principal = api_guard(Permission.DATA_READ),
) -> list[BatchRead]:
    """Ingestion batches, newest first (lineage: who delivered what, when, with what result)."""
    if source_id is not None:
        data.catalogue_source(source_id)
    return [
        BatchRead(
            id=b.id,
            source_id=b.source_id,
            status=b.status,
            received_at=b.received_at,
            rows_accepted=b.rows_accepted,
            rows_rejected=b.rows_rejected,
            periods=list(b.periods or []),
        )
        for b in data.list_ingest_batches(db, source_id, limit=limit, offset=offset)
    ]


@router.post("/ingest/{source_id}", response_model=PushResult, status_code=201)
def push_rows(
    source_id: str,
    settings: SettingsDep,
    db: DbSession,
    body: Annotated[PushBody, Body()],
    principal: Principal = api_guard(Permission.DATA_PUSH),
) -> PushResult:
    """A department system pushes rows of a source (JSON, headers as in its files or the field names).

    The rows become visible as one batch; invalid rows go to quarantine with a reason each.
    """
    data.catalogue_source(source_id)
    # What resolving the caller wrote (the day's API-use audit record) is committed first: on SQLite an open
    # write would hold the lock the ingestion's own session needs.
    db.commit()
    # Ingestion commits its own steps (pending, then published), so it gets a session of its own.
    session = session_factory(get_engine(settings.database_url))()
    try:
        result = data.ingest_rows(
            source_id, body.rows, lake=data.open_lake(settings), session=session, provider=principal.username
        )
    finally:
        session.close()
    result.raise_for_error()
    # A court case or a list entry becomes an alert for the firm's watchers now, not after tonight's run.
    with session_scope(get_engine(settings.database_url)) as watch_session:
        monitoring.on_pushed_batch(watch_session, data.open_lake(settings), source_id, result.batch_id)
    return PushResult(
        source_id=source_id,
        outcome=str(result.outcome),
        batch_id=result.batch_id,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        rejects_by_reason=dict(result.rejects_by_reason),
    )


class QualityRunRead(BaseModel):
    id: int
    as_of: date
    period: str | None
    rules_total: int
    rules_failed: int
    rules_blocking: int
    score: float = Field(description="Share of rules passed, 0–100")
    triggered_by: str
    finished_at: datetime | None


class QualityResultRead(BaseModel):
    rule_id: str
    source_id: str
    kind: str
    severity: str
    rows_checked: int
    rows_failed: int
    pass_rate: float
    passed: bool
    blocking: bool
    detail: dict[str, Any]


class QualityRunDetail(QualityRunRead):
    results: list[QualityResultRead]


def _run_read(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "as_of": run.as_of,
        "period": run.period,
        "rules_total": run.rules_total,
        "rules_failed": run.rules_failed,
        "rules_blocking": run.rules_blocking,
        "score": float(run.score),
        "triggered_by": run.triggered_by,
        "finished_at": run.finished_at,
    }


@router.get("/data/quality/runs", response_model=list[QualityRunRead])
def list_quality_runs(
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 60,
    principal: Principal = api_guard(Permission.DATA_READ),
) -> list[QualityRunRead]:
    """Data-quality runs, newest first."""
    return [QualityRunRead(**_run_read(run)) for run in data.list_quality_runs(db, principal, limit=limit)]


@router.get("/data/quality/runs/{run_id}", response_model=QualityRunDetail)
def get_quality_run(
    run_id: int, db: DbSession, principal: Principal = api_guard(Permission.DATA_READ)
) -> QualityRunDetail:
    """One run with every rule's result (rows checked and failed, pass rate, blocking or not, details)."""
    run = data.get_quality_run(db, principal, run_id)
    results = [
        QualityResultRead(
            rule_id=r.rule_id,
            source_id=r.source_id,
            kind=r.kind,
            severity=r.severity,
            rows_checked=r.rows_checked,
            rows_failed=r.rows_failed,
            pass_rate=float(r.pass_rate),
            passed=r.passed,
            blocking=r.blocking,
            detail=r.detail,
        )
        for r in run.results
    ]
    return QualityRunDetail(**_run_read(run), results=results)
