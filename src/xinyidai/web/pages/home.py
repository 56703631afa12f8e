"""Each role's home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.consoles import enterprise_home as enterprise_console
from xinyidai.core.access import Permission, Principal
from xinyidai.core.codes import industry_division, region_name
from xinyidai.core.errors import NotFound
from xinyidai.data import service as data_service
from xinyidai.indicators import service as indicator_service
from xinyidai.rating import service as rating
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.subplatforms import entered_through
from xinyidai.web.templating import render

router = APIRouter()


def _home(request: Request, db: DbSession, principal: Principal, template: str, **extra: object) -> Response:
    organisation = accounts.organisation_of(db, principal)
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "organisation": organisation,
        "region": region_name(organisation.region_code) if organisation.region_code else "",
        "user": request.state.user,
    }
    context.update(extra)
    return render(request, template, context)


@router.get("/enterprise")
def enterprise_home(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.ENTERPRISE_HOME),
) -> Response:
    organisation = accounts.organisation_of(db, principal)
    profile = organisation.enterprise
    industry = industry_division(profile.industry_division) if profile else None
    rated = _own_rating(db, settings, profile.uscc) if profile else None
    # grade over time, recommendations and what needs attention (consoles.enterprise_home)
    panels = (
        enterprise_console.build_home(db, data_service.open_lake(settings), principal, profile.uscc)
        if profile
        else None
    )
    return _home(
        request,
        db,
        principal,
        "home_enterprise.html",
        profile=profile,
        industry=industry,
        rated=rated,
        home=panels,
        **entered_through(request, db),  # "entered through the XX sub-platform" and its featured items
    )


def _own_rating(db: DbSession, settings: SettingsDep, uscc: str) -> rating.EnterpriseRating | None:
    try:
        return rating.enterprise_rating(db, data_service.open_lake(settings), uscc)
    except NotFound:
        return None


@router.get("/enterprise/rating")
def enterprise_rating_page(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.ENTERPRISE_HOME),
) -> Response:
    """The enterprise's own rating: grade, score, the reasons, its indicators by dimension, the history."""
    organisation = accounts.organisation_of(db, principal)
    profile = organisation.enterprise
    if profile is None:
        raise NotFound()
    rated = _own_rating(db, settings, profile.uscc)
    by_dimension: dict[str, list[tuple[object, object]]] = {}
    if rated is not None:
        for item in indicator_service.INDICATORS:
            by_dimension.setdefault(item.dimension.value, []).append((item, rated.indicators.get(item.id)))
    request.state.nav = navigation_for(principal)
    return render(
        request,
        "enterprise_rating.html",
        {
            "rated": rated,
            "by_dimension": by_dimension,
            "dimensions": indicator_service.DIMENSIONS,
            "history": rating.grade_history(db, profile.uscc),
        },
    )


@router.get("/institution")
def institution_home(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_HOME)
) -> Response:
    return _home(request, db, principal, "home_institution.html", branches=accounts.branches(db, principal))


@router.get("/government")
def government_home(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.GOVERNMENT_HOME)
) -> Response:
    return _home(request, db, principal, "home_government.html")


@router.get("/operator")
def operator_home(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.OPERATOR_HOME)
) -> Response:
    counts = accounts.organisation_counts(db, principal)
    quality_runs = data_service.list_quality_runs(db, principal, limit=1)
    rating_runs = rating.list_runs(db, principal, limit=1)
    return _home(
        request,
        db,
        principal,
        "home_operator.html",
        counts=counts,
        registry_count=data_service.count_registry(db),
        quality_run=quality_runs[0] if quality_runs else None,
        rating_run=rating_runs[0] if rating_runs else None,
    )
