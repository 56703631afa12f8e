"""Operator rating pages: the model versions, a model's card (configuration, evidence, thresholds, actions),
the activation thresholds and the rating runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.data import service as data
from xinyidai.indicators import service as indicator_service
from xinyidai.rating import service as rating
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, handle_form, redirect
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator/models")

SEGMENT_LABELS: dict[str, str] = {
    "all": N_("All firms"),
    "enterprise": N_("Enterprises"),
    "individual_business": N_("Individual businesses"),
}
CHECK_LABELS: dict[str, str] = {
    "auc": N_("Minimum AUC"),
    "ks": N_("Minimum KS"),
    "psi": N_("Maximum PSI"),
    "monotone": N_("Default rate monotone by grade"),
}


def _list_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    return {
        "models": rating.list_models(db, principal),
        "runs": rating.list_runs(db, principal),
        "segments": SEGMENT_LABELS,
        "may_manage": can(principal, Permission.MODELS_MANAGE),
        "values": {},
    }


@router.get("")
def models(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MODELS_READ)
) -> Response:
    return render(request, "rating_models.html", _list_context(request, db, principal))


@router.post("/train")
def train(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.MODELS_MANAGE),
) -> Response:
    def act() -> Response:
        model = rating.train_statistical_model(
            db, data.open_lake(settings), principal=principal, segment=form_value(request, "segment", "all")
        )
        return redirect(f"/operator/models/{model.id}")

    return handle_form(request, db, "rating_models.html", lambda: _list_context(request, db, principal), act)


def _thresholds_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    return {
        "thresholds": rating.current_thresholds(db),
        "may_manage": can(principal, Permission.MODELS_MANAGE),
        "values": {},
    }


@router.get("/thresholds")
def thresholds(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MODELS_READ)
) -> Response:
    return render(request, "rating_thresholds.html", _thresholds_context(request, db, principal))


@router.post("/thresholds")
def save_thresholds(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.MODELS_MANAGE)
) -> Response:
    def act() -> Response:
        rating.set_thresholds(
            db,
            principal,
            min_auc=form_value(request, "min_auc"),
            min_ks=form_value(request, "min_ks"),
            max_psi=form_value(request, "max_psi"),
            monotone_default_rate=form_value(request, "monotone_default_rate") == "on",
        )
        return redirect("/operator/models/thresholds")

    return handle_form(
        request, db, "rating_thresholds.html", lambda: _thresholds_context(request, db, principal), act
    )


def _card_context(request: Request, db: DbSession, principal: Principal, model_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    model = rating.get_model(db, principal, model_id)
    return {
        "model": model,
        "config": model.config,
        "evidence": model.evidence,
        "checks": rating.threshold_checks(db, model),
        "thresholds": rating.current_thresholds(db),
        "check_labels": CHECK_LABELS,
        "segments": SEGMENT_LABELS,
        "indicators": {i.id: i for i in indicator_service.INDICATORS},
        "dimensions": indicator_service.DIMENSIONS,
        "may_manage": can(principal, Permission.MODELS_MANAGE),
        "values": {},
    }


@router.get("/{model_id}")
def model_card(
    request: Request, model_id: int, db: DbSession, principal: Principal = page_guard(Permission.MODELS_READ)
) -> Response:
    return render(request, "rating_model.html", _card_context(request, db, principal, model_id))


@router.post("/{model_id}/backtest")
def backtest(
    request: Request,
    model_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.MODELS_MANAGE),
) -> Response:
    def act() -> Response:
        rating.backtest_model(db, data.open_lake(settings), model_id, principal=principal)
        return redirect(f"/operator/models/{model_id}")

    rating.get_model(db, principal, model_id)  # 404 before any form
    return handle_form(
        request, db, "rating_model.html", lambda: _card_context(request, db, principal, model_id), act
    )


@router.post("/{model_id}/activate")
def activate(
    request: Request,
    model_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MODELS_MANAGE),
) -> Response:
    def act() -> Response:
        text = form_value(request, "effective_from")
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            raise ValidationFailed("Enter the date as YYYY-MM-DD", field="effective_from") from None
        rating.activate_model(db, model_id, principal=principal, effective_from=day)
        return redirect(f"/operator/models/{model_id}")

    rating.get_model(db, principal, model_id)
    return handle_form(
        request, db, "rating_model.html", lambda: _card_context(request, db, principal, model_id), act
    )


@router.post("/{model_id}/versions")
def new_version(
    request: Request,
    model_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.MODELS_MANAGE),
) -> Response:
    def act() -> Response:
        form = getattr(request.state, "form", None) or {}
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        config = rating.edited_config(base.config, fields)
        model = rating.new_expert_version(
            db, model_id, config, principal=principal, note=form_value(request, "note")
        )
        return redirect(f"/operator/models/{model.id}")

    base = rating.get_model(db, principal, model_id)
    return handle_form(
        request, db, "rating_model.html", lambda: _card_context(request, db, principal, model_id), act
    )
