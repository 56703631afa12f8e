"""Operator data pages: sources with freshness and volumes, a source's fields and batches, quarantine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal
from xinyidai.core.i18n import translate
from xinyidai.data import service as data
from xinyidai.data.catalogue import catalogue
from xinyidai.data.ingest import REJECT_REASONS
from xinyidai.data.masking import Viewer, mask_raw
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator/data")


@router.get("")
def sources(
    request: Request, settings: SettingsDep, principal: Principal = page_guard(Permission.DATA_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    stats = {s.source_id: s for s in data.lake_stats(data.open_lake(settings))}
    rows = [(source, stats.get(source.id)) for source in catalogue().sources.values()]
    return render(
        request, "data_sources.html", {"rows": rows, "total_rows": sum(s.rows for s in stats.values())}
    )


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
    return render(request, "data_source.html", {"source": source, "stats": stats, "batches": batches})


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
