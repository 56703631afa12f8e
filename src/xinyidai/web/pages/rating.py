"""Operator rating pages: the model versions, a model's configuration (its card), the rating runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal
from xinyidai.indicators import service as indicator_service
from xinyidai.rating import service as rating
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator/models")


@router.get("")
def models(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MODELS_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    return render(
        request,
        "rating_models.html",
        {"models": rating.list_models(db, principal), "runs": rating.list_runs(db, principal)},
    )


@router.get("/{model_id}")
def model_card(
    request: Request, model_id: int, db: DbSession, principal: Principal = page_guard(Permission.MODELS_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    model = rating.get_model(db, principal, model_id)
    names = {i.id: i for i in indicator_service.INDICATORS}
    return render(
        request,
        "rating_model.html",
        {
            "model": model,
            "config": model.config,
            "indicators": names,
            "dimensions": indicator_service.DIMENSIONS,
        },
    )
