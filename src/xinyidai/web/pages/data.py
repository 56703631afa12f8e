"""Operator data pages: sources with freshness and volumes, a source's fields and batches, quarantine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal
from xinyidai.core.i18n import translate
from xinyidai.data import service as data
from xinyidai.data.catalogue import catalogue
from xinyidai.data.ingest import REJECT_REASONS
from xinyidai.data.ingest.errors import Notice
from xinyidai.data.masking import Viewer, mask_raw
from xinyidai.data.models import IngestBatch
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.quality import sparkline
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator/data")


@router.get("")
def sources(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.DATA_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    stats = {s.source_id: s for s in data.lake_stats(data.open_lake(settings))}
    trend = data.quality_trend(db)
    rows = [
        (source, stats.get(source.id), _latest(trend.get(source.id)), _points(trend.get(source.id)))
        for source in catalogue().sources.values()
    ]
    return render(
        request, "data_sources.html", {"rows": rows, "total_rows": sum(s.rows for s in stats.values())}
    )


def _latest(trend: list[data.SourceQuality] | None) -> data.SourceQuality | None:
    return trend[-1] if trend else None


def _points(trend: list[data.SourceQuality] | None) -> str:
    return sparkline([q.score for q in trend or []])


@router.get("/{source_id}")
def source_detail(
    request: Request,
    source_id: str,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.DATA_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    source = data.catalogue_source(source_id)
    stats = {s.source_id: s for s in data.lake_stats(data.open_lake(settings))}.get(source_id)
    batches = data.list_ingest_batches(db, source_id, limit=30)
    runs = data.list_quality_runs(db, principal, limit=1)
    results = [r for r in runs[0].results if r.source_id == source_id] if runs else []
    results.sort(key=lambda r: (r.passed, r.rule_id))
    trend = data.quality_trend(db).get(source_id, [])
    return render(
        request,
        "data_source.html",
        {
            "source": source,
            "stats": stats,
            "batches": batches,
            "quality_run": runs[0] if runs else None,
            "quality_results": results,
            "quality": trend[-1] if trend else None,
            "trend_points": sparkline([q.score for q in trend], width=240, height=40),
        },
    )


@router.get("/batches/{batch_id}")
def batch_detail(
    request: Request, batch_id: str, db: DbSession, principal: Principal = page_guard(Permission.DATA_READ)
) -> Response:
    """Lineage of one delivery: who sent it, its files (hash, encoding, column mapping), the lake parts."""
    request.state.nav = navigation_for(principal)
    batch = data.get_ingest_batch(db, batch_id)
    return render(
        request,
        "data_batch.html",
        {
            "batch": batch,
            "source": data.catalogue_source(batch.source_id),
            "notices": _notices(batch, request),
        },
    )


def _notices(batch: IngestBatch, request: Request) -> list[str]:
    locale: str = request.state.locale
    notices = [Notice(n["code"], n.get("params") or {}) for n in batch.notices or []]
    texts = [translate(n.message, n.params, locale) for n in notices]
    if batch.error_message:
        texts.append(translate(batch.error_message, batch.error_params or {}, locale))
    return texts


@router.get("/{source_id}/quarantine")
def quarantine(
    request: Request,
    source_id: str,
    settings: SettingsDep,
    q: str = "",
    reason: str = "",
    principal: Principal = page_guard(Permission.QUARANTINE_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    source = data.catalogue_source(source_id)
    locale: str = request.state.locale
    viewer = Viewer(sees_personal=False, sees_internal=True)
    rows = []
    for row in data.quarantined_rows(data.open_lake(settings), source_id, limit=5000):
        raw = mask_raw(source, row.get("raw") or {}, viewer)
        message = translate(REJECT_REASONS.get(row["reason"], row["reason"]), row.get("params") or {}, locale)
        text = " ".join([row["file"], message, *(str(v) for v in raw.values())])
        if (reason and row["reason"] != reason) or (q and q.lower() not in text.lower()):
            continue
        rows.append(
            {
                "file": row["file"],
                "row": row["row"],
                "reason": row["reason"],
                "message": message,
                "raw": raw,
                "batch": row["_batch_id"],
            }
        )
    reasons = sorted(REJECT_REASONS)
    return render(
        request,
        "data_quarantine.html",
        {
            "source": source,
            "rows": rows[:500],
            "total": len(rows),
            "q": q,
            "reason": reason,
            "reasons": reasons,
        },
    )
