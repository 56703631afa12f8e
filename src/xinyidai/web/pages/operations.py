"""The operator's one-screen monitoring (一屏统管): the page and the JSON it polls every 10 seconds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from xinyidai.consoles import operations
from xinyidai.core.access import Permission, Principal
from xinyidai.data import service as data_service
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.templating import render

router = APIRouter()

SCREEN = Permission.OPERATIONS_SCREEN


def _screen(request: Request, db: DbSession, settings: SettingsDep, principal: Principal) -> dict[str, Any]:
    state = request.app.state
    cache = getattr(state, "operations_screen", None)
    if cache is None:
        cache = state.operations_screen = operations.ScreenCache()
    metrics = getattr(state, "metrics", None)
    window = getattr(metrics, "window", None)
    screen = cache.get(
        lambda reuse: operations.build_screen(
            db, data_service.open_lake(settings), window, principal, reuse=reuse
        )
    )
    return operations.present(screen, request.state.locale)


@router.get("/operator/screen")
def operations_screen(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal = page_guard(SCREEN)
) -> Response:
    """Data sources, pipeline runs, traffic, users, alerts and errors on one screen, refreshed live."""
    request.state.nav = navigation_for(principal)
    return render(request, "op_screen.html", {"screen": _screen(request, db, settings, principal)})


@router.get("/operator/screen.json")
def operations_screen_json(
    request: Request, db: DbSession, settings: SettingsDep, principal: Principal = page_guard(SCREEN)
) -> Response:
    """The same tiles as JSON, in the viewer's language (the page's script polls it)."""
    return JSONResponse(_screen(request, db, settings, principal), headers={"Cache-Control": "no-store"})
