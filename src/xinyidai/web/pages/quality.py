"""Operator data-quality pages: the runs, one run's results by rule, the report, "run now"."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from xinyidai.core.access import Permission, Principal
from xinyidai.core.errors import NotFound
from xinyidai.data import service as data
from xinyidai.data.catalogue import catalogue
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import redirect
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator/quality")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sparkline(values: Sequence[float], width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a small trend line of 0–100 values (no chart library, no script)."""
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v / 100) * (height - 4):.1f}" for i, v in enumerate(values)
    )


@router.get("")
def runs(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.DATA_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    quality_runs = data.list_quality_runs(db, principal)
    trend = list(reversed([float(r.score) for r in quality_runs[:30]]))
    return render(
        request,
        "quality_runs.html",
        {
            "runs": quality_runs,
            "rules": len(data.rule_library()),
            "trend_points": sparkline(trend, width=360, height=60),
            "may_run": "data_admin" in principal.roles,
        },
    )


@router.post("/run")
def run_now(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.QUALITY_RUN),
) -> Response:
    run = data.run_quality(
        db,
        data.open_lake(settings),
        triggered_by=principal.username,
        report_dir=settings.quality_reports_dir,
        home=settings.home,
    )
    db.commit()
    return redirect(f"/operator/quality/{run.id}")


@router.get("/{run_id}")
def run_detail(
    request: Request,
    run_id: int,
    db: DbSession,
    source: str = "",
    kind: str = "",
    failed: str = "",
    principal: Principal = page_guard(Permission.DATA_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    run = data.get_quality_run(db, principal, run_id)
    results = [
        r
        for r in run.results
        if (not source or r.source_id == source)
        and (not kind or r.kind == kind)
        and (not failed or not r.passed)
    ]
    results.sort(key=lambda r: (r.passed, r.source_id, r.rule_id))
    by_source: dict[str, list[int]] = {}
    for r in run.results:
        counts = by_source.setdefault(r.source_id, [0, 0])
        counts[0] += 1
        counts[1] += int(r.passed)
    rules = {rule.id: rule for rule in data.rule_library()}
    return render(
        request,
        "quality_run.html",
        {
            "run": run,
            "results": results,
            "rules": rules,
            "sources": catalogue().sources,
            "by_source": by_source,
            "kinds": sorted({r.kind for r in run.results}),
            "source": source,
            "kind": kind,
            "failed": failed,
        },
    )


@router.get("/{run_id}/report")
def run_report(
    run_id: int, db: DbSession, settings: SettingsDep, principal: Principal = page_guard(Permission.DATA_READ)
) -> Response:
    run = data.get_quality_run(db, principal, run_id)
    path = settings.home / run.report_path if run.report_path else None
    if path is None or not path.is_file():
        raise NotFound("The report of this run is not available")
    return FileResponse(path, media_type=XLSX, filename=data.report_name(run))
