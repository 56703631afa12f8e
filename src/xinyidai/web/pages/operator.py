"""The operator's back office: onboard organisations, the enterprise registry, the audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.accounts.schemas import OrganisationCreate
from xinyidai.core import audit as audit_trail
from xinyidai.core.access import Permission, Principal
from xinyidai.core.codes import regions
from xinyidai.data import service as data_service
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, handle_form
from xinyidai.web.pages.compliance import trail_filter
from xinyidai.web.templating import render

router = APIRouter(prefix="/operator")

PAGE_SIZE = 50


def _orgs_context(
    request: Request, db: DbSession, principal: Principal, kind: str, **extra: object
) -> dict[str, object]:
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "organisations": accounts.list_organisations(db, principal, kind or None),
        "kind": kind,
        "regions": sorted(regions().values(), key=lambda r: r.code),
        "parents": accounts.list_organisations(db, principal, "institution"),
        "values": {},
    }
    context.update(extra)
    return context


@router.get("/organisations")
def organisations(
    request: Request,
    db: DbSession,
    kind: str = "",
    principal: Principal = page_guard(Permission.ORGANISATIONS_READ),
) -> Response:
    return render(request, "organisations.html", _orgs_context(request, db, principal, kind))


@router.post("/organisations")
def onboard(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.ORGANISATIONS_MANAGE)
) -> Response:
    def act() -> Response:
        parent = form_value(request, "parent_id")
        data = OrganisationCreate(
            kind=form_value(request, "kind"),
            name=form_value(request, "name"),
            region_code=form_value(request, "region_code"),
            institution_type=form_value(request, "institution_type") or None,
            parent_id=int(parent) if parent.isdigit() else None,
            admin_username=form_value(request, "admin_username"),
            admin_display_name=form_value(request, "admin_display_name"),
            admin_phone=form_value(request, "admin_phone") or None,
        )
        org, invited = accounts.onboard_organisation(db, principal, data)
        return render(
            request,
            "organisations.html",
            _orgs_context(
                request,
                db,
                principal,
                "",
                onboarded=org,
                invited=invited.user,
                temporary_password=invited.temporary_password,
            ),
        )

    return handle_form(
        request, db, "organisations.html", lambda: _orgs_context(request, db, principal, ""), act
    )


@router.get("/registry")
def registry(
    request: Request,
    db: DbSession,
    q: str = "",
    page: int = 1,
    principal: Principal = page_guard(Permission.REGISTRY_READ),
) -> Response:
    request.state.nav = navigation_for(principal)
    page = max(page, 1)
    rows, total = data_service.search_registry(
        db, principal, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "registry.html",
        {
            "rows": rows,
            "total": total,
            "q": q,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        },
    )


@router.get("/audit")
def audit(
    request: Request,
    db: DbSession,
    page: int = 1,
    principal: Principal = page_guard(Permission.AUDIT_READ),
) -> Response:
    """The auditor searches the trail (type, user, organisation, result, dates) and exports it to Excel."""
    request.state.nav = navigation_for(principal)
    page = max(page, 1)
    where = trail_filter(request)
    rows, total = audit_trail.search_trail(
        db, principal, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    intact, broken_at = audit_trail.verify_chain(db)
    query = urlencode({k: v for k, v in request.query_params.items() if v and k != "page"})
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "where": where,
            "event_type": where.event_type,
            "q": query,
            "intact": intact,
            "broken_at": broken_at,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        },
    )
