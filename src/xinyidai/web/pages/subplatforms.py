"""Sub-platform pages: the operator's list and forms, the public landing ``/s/<slug>`` with its theme,
and the scoped statistics for the owning department's staff and the operator.

The theme is a same-origin stylesheet (``/s/<slug>/theme.css``) because the content policy allows no
inline styles. Visiting a landing page remembers the sub-platform in a cookie; its login button comes
back to it (``/login?next=/s/<slug>``) and the enterprise home says which sub-platform one came in by.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from xinyidai.consoles import statistics as stats
from xinyidai.consoles import subplatforms as service
from xinyidai.consoles.subplatform_models import Subplatform
from xinyidai.core.access import OrgKind, Permission, Principal
from xinyidai.core.errors import Conflict
from xinyidai.web.deps import ActorDep, DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages import statistics as statistics_pages
from xinyidai.web.pages.common import form_value, form_values, handle_form, redirect
from xinyidai.web.pages.institution_market import PRODUCT_TYPE_LABELS
from xinyidai.web.templating import render

router = APIRouter()

COOKIE_DAYS = 30


def _input(request: Request) -> service.SubplatformInput:
    owner = form_value(request, "owner_id")
    divisions = form_value(request, "industry_divisions").replace("，", ",").replace("、", ",")
    return service.SubplatformInput(
        slug=form_value(request, "slug"),
        name=form_value(request, "name"),
        kind=form_value(request, "kind"),
        owner_id=int(owner) if owner.isdigit() else None,
        colour=form_value(request, "colour"),
        tagline=form_value(request, "tagline"),
        banner=form_value(request, "banner"),
        region_code=form_value(request, "region_code"),
        industry_divisions=[d for d in (p.strip() for p in divisions.split(",")) if d],
        product_types=form_values(request, "product_types"),
        scope_expression=form_value(request, "scope_expression"),
    )


def _values(sp: Subplatform) -> dict[str, Any]:
    return {
        "slug": sp.slug,
        "name": sp.name,
        "kind": sp.kind,
        "owner_id": str(sp.owner_id),
        "colour": sp.colour,
        "tagline": sp.tagline,
        "banner": sp.banner,
        "region_code": sp.region_code,
        "industry_divisions": ", ".join(sp.industry_divisions),
        "product_types": list(sp.product_types),
        "scope_expression": sp.scope_expression,
    }


def _form_context(
    db: DbSession, sp: Subplatform | None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    featured_products = {f.product_id for f in sp.features if f.product_id} if sp else set()
    featured_policies = {f.policy_id for f in sp.features if f.policy_id} if sp else set()
    return {
        "sp": sp,
        "values": values if values is not None else (_values(sp) if sp else {"colour": "#1f5fbf"}),
        "kinds": service.KINDS,
        "departments": service.departments(db),
        "product_types": PRODUCT_TYPE_LABELS,
        "products": service.candidate_products(db) if sp else [],
        "policies": service.candidate_policies(db) if sp else [],
        "featured_products": featured_products,
        "featured_policies": featured_policies,
    }


# --- the operator --------------------------------------------------------------------------------------


@router.get("/operator/subplatforms")
def operator_list(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE)
) -> Response:
    request.state.nav = navigation_for(principal)
    items = service.list_subplatforms(db, principal)
    return render(request, "sub_list.html", {"items": items, "kinds": service.KINDS, "manage": True})


@router.get("/operator/subplatforms/new")
def operator_new(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE)
) -> Response:
    request.state.nav = navigation_for(principal)
    return render(request, "sub_form.html", _form_context(db, None))


@router.post("/operator/subplatforms")
def operator_create(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE)
) -> Response:
    request.state.nav = navigation_for(principal)

    def act() -> Response:
        sp = service.create_subplatform(db, principal, _input(request))
        return redirect(f"/operator/subplatforms/{sp.id}?saved=1")

    return handle_form(request, db, "sub_form.html", lambda: _form_context(db, None, {}), act)


@router.get("/operator/subplatforms/{subplatform_id}")
def operator_edit(
    request: Request,
    subplatform_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE),
) -> Response:
    request.state.nav = navigation_for(principal)
    sp = service.get_subplatform(db, principal, subplatform_id)
    return render(request, "sub_form.html", _form_context(db, sp))


@router.post("/operator/subplatforms/{subplatform_id}")
def operator_update(
    request: Request,
    subplatform_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE),
) -> Response:
    request.state.nav = navigation_for(principal)
    sp = service.get_subplatform(db, principal, subplatform_id)

    def act() -> Response:
        service.update_subplatform(db, principal, subplatform_id, _input(request))
        return redirect(f"/operator/subplatforms/{subplatform_id}?saved=1")

    def context() -> dict[str, Any]:
        return _form_context(db, service.get_subplatform(db, principal, sp.id), {})

    return handle_form(request, db, "sub_form.html", context, act)


@router.post("/operator/subplatforms/{subplatform_id}/features")
def operator_features(
    request: Request,
    subplatform_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE),
) -> Response:
    request.state.nav = navigation_for(principal)
    service.get_subplatform(db, principal, subplatform_id)

    def act() -> Response:
        service.set_features(
            db,
            principal,
            subplatform_id,
            [int(v) for v in form_values(request, "products") if v.isdigit()],
            [int(v) for v in form_values(request, "policies") if v.isdigit()],
        )
        return redirect(f"/operator/subplatforms/{subplatform_id}?saved=1")

    def context() -> dict[str, Any]:
        return _form_context(db, service.get_subplatform(db, principal, subplatform_id))

    return handle_form(request, db, "sub_form.html", context, act)


@router.post("/operator/subplatforms/{subplatform_id}/enable")
def operator_enable(
    subplatform_id: int, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE)
) -> Response:
    service.set_enabled(db, principal, subplatform_id, True)
    return redirect(f"/operator/subplatforms/{subplatform_id}")


@router.post("/operator/subplatforms/{subplatform_id}/disable")
def operator_disable(
    subplatform_id: int, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORMS_MANAGE)
) -> Response:
    service.set_enabled(db, principal, subplatform_id, False)
    return redirect(f"/operator/subplatforms/{subplatform_id}")


# --- the owning department ---------------------------------------------------------------------------


@router.get("/government/subplatforms")
def department_list(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORM_STATISTICS)
) -> Response:
    request.state.nav = navigation_for(principal)
    items = service.list_subplatforms(db, principal)
    return render(request, "sub_list.html", {"items": items, "kinds": service.KINDS, "manage": False})


def _staff(
    slug: str, db: DbSession, principal: Principal = page_guard(Permission.SUBPLATFORM_STATISTICS)
) -> tuple[Subplatform, Principal]:
    """The sub-platform at ``slug`` for its staff and the operator (404 to any other department)."""
    return service.for_staff(db, principal, slug), principal


Staff = Annotated[tuple[Subplatform, Principal], Depends(_staff)]


def _narrow(db: DbSession, staff: tuple[Subplatform, Principal]) -> statistics_pages.Narrow:
    """The government console's filters narrowed to the sub-platform's scope, and what its page says of it."""
    sp, principal = staff

    def narrow(store: stats.FactStore, filters: stats.Filters) -> tuple[stats.Filters | None, dict[str, Any]]:
        seen = service.scoped_view(db, principal, sp, store, filters)
        return seen.filters, {
            "enterprises": seen.enterprises,
            "indicators_as_of": seen.indicators_as_of,
            "pending": seen.pending,
        }

    return narrow


def _context(request: Request, db: DbSession, settings: SettingsDep, staff: Staff) -> dict[str, Any]:
    """The page (and its PDF): the government console's view within the scope."""
    sp, principal = staff
    request.state.nav = navigation_for(principal)
    context = statistics_pages.console_context(
        request,
        db,
        settings,
        base=f"/s/{sp.slug}/statistics",
        narrow=_narrow(db, staff),
        within=sp.region_code,
    )
    context.update(
        {
            "sp": sp,
            "scope": service.scope_description(sp),
            "kinds": service.KINDS,
            "product_types": PRODUCT_TYPE_LABELS,
        }
    )
    context.setdefault("enterprises", None)
    return context


def _read(
    request: Request, db: DbSession, settings: SettingsDep, staff: Staff
) -> tuple[stats.FactStore, stats.Filters]:
    """What a scoped export reads; a scope the figures do not cover yet has nothing to export (409)."""
    store, filters = statistics_pages.export_filters(request, db, settings)
    read, _ = _narrow(db, staff)(store, filters)
    if read is None:
        raise Conflict(
            "The scope was set up or changed after the figures were computed: they follow the new scope "
            "after the next refresh."
        )
    return store, read


def _names(sp: Subplatform, ascii_stem: str, local_stem: str) -> tuple[str, str]:
    return f"{sp.slug}-{ascii_stem}", f"{sp.name}-{local_stem}"


@router.get("/s/{slug}/statistics")
def statistics(request: Request, context: Annotated[dict[str, Any], Depends(_context)]) -> Response:
    return render(request, "gov_statistics.html", context)


@router.get("/s/{slug}/statistics/export.xlsx")
def statistics_xlsx(
    request: Request, read: Annotated[tuple[stats.FactStore, stats.Filters], Depends(_read)], staff: Staff
) -> Response:
    store, filters = read
    return statistics_pages.xlsx_response(request, store, filters, _names(staff[0], "statistics", "金融统计"))


@router.get("/s/{slug}/statistics/export.pdf")
def statistics_pdf(
    request: Request,
    read: Annotated[tuple[stats.FactStore, stats.Filters], Depends(_read)],
    context: Annotated[dict[str, Any], Depends(_context)],
) -> Response:
    names = _names(context["sp"], "statistics", "金融统计")
    return statistics_pages.view_pdf_response(request, context, names)


@router.get("/s/{slug}/statistics/monthly-report.pdf")
def monthly_report_pdf(
    request: Request, read: Annotated[tuple[stats.FactStore, stats.Filters], Depends(_read)], staff: Staff
) -> Response:
    store, filters = read
    # the whole scope, whatever the page's filters (the report picks its own months and breakdowns)
    scope = replace(filters, region="", industry="", size="", institution_id=None, product_id=None)
    sp = staff[0]
    names = _names(sp, "monthly-report", "金融运行月度分析")
    return statistics_pages.monthly_report_response(request, store, names, scope=scope, subject=sp.name)


# --- anyone ------------------------------------------------------------------------------------------


@router.get("/s/{slug}/theme.css")
def theme(slug: str, db: DbSession) -> Response:
    sp = service.by_slug(db, slug)
    return Response(
        service.colour_css(sp), media_type="text/css", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/s/{slug}")
def landing(request: Request, slug: str, db: DbSession, settings: SettingsDep, actor: ActorDep) -> Response:
    sp = service.by_slug(db, slug)
    principal = actor.principal if actor.fully_authenticated else None
    if principal is not None:
        request.state.nav = navigation_for(principal)
    is_enterprise = principal is not None and principal.org_kind is OrgKind.ENTERPRISE
    may_see_statistics = principal is not None and (
        principal.org_kind is OrgKind.OPERATOR or principal.organisation_id == sp.owner_id
    )
    response = render(
        request,
        "sub_landing.html",
        {
            "sp": sp,
            "kinds": service.KINDS,
            "scope": service.scope_description(sp),
            "product_types": PRODUCT_TYPE_LABELS,
            "products": service.featured_products(db, sp),
            "policies": service.featured_policies(db, sp),
            "theme_url": f"/s/{sp.slug}/theme.css",
            "signed_in": principal is not None,
            "is_enterprise": is_enterprise,
            "may_see_statistics": may_see_statistics,
        },
    )
    # Remembered for the enterprise that registers or logs in after arriving here (not a secret).
    response.set_cookie(
        service.COOKIE,
        sp.slug,
        max_age=COOKIE_DAYS * 24 * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


def entered_through(request: Request, db: DbSession) -> dict[str, Any]:
    """For the enterprise home: the sub-platform this browser came in through and its featured items."""
    sp = service.entered_through(db, request.cookies.get(service.COOKIE))
    if sp is None:
        return {}
    return {
        "subplatform": sp,
        "subplatform_products": service.featured_products(db, sp),
        "subplatform_policies": service.featured_policies(db, sp),
    }
