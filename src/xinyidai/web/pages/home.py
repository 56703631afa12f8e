"""Each role's home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.core.access import Permission, Principal
from xinyidai.core.codes import industry_division, region_name
from xinyidai.data import service as data_service
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
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
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.ENTERPRISE_HOME)
) -> Response:
    organisation = accounts.organisation_of(db, principal)
    profile = organisation.enterprise
    industry = industry_division(profile.industry_division) if profile else None
    return _home(request, db, principal, "home_enterprise.html", profile=profile, industry=industry)


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
    return _home(
        request,
        db,
        principal,
        "home_operator.html",
        counts=counts,
        registry_count=data_service.count_registry(db),
    )
