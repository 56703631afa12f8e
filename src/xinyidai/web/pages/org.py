"""An organisation's own administration: staff and API clients."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.accounts.schemas import StaffInvite
from xinyidai.core.access import ROLE_ORG_KIND, ROLE_PERMISSIONS, Permission, Principal
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, form_values, handle_form, redirect
from xinyidai.web.templating import render

router = APIRouter(prefix="/org")

API_SCOPES = (
    Permission.AUTHENTICATED,
    Permission.DATA_PUSH,
    Permission.ORG_STAFF_READ,
    # an institution's own systems: products (upsert, list), its queue, decisions, loan reports
    Permission.PRODUCTS_BROWSE,
    Permission.PRODUCTS_MANAGE,
    Permission.INSTITUTION_WORKBENCH,
    Permission.ORDERS_WORK,
    Permission.CREDIT_DECIDE,
)


def scopes_for(principal: Principal) -> list[str]:
    """The scopes an organisation of this kind can use at all (another kind's would never pass a guard)."""
    own_roles = {role for role, kind in ROLE_ORG_KIND.items() if kind is principal.org_kind}
    return [s.value for s in API_SCOPES if ROLE_PERMISSIONS[s] & own_roles]


def _staff_context(
    request: Request, db: DbSession, principal: Principal, **extra: object
) -> dict[str, object]:
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "staff": accounts.list_staff(db, principal),
        "assignable_roles": [r.value for r, k in ROLE_ORG_KIND.items() if k is principal.org_kind],
        "values": {},
    }
    context.update(extra)
    return context


@router.get("/staff")
def staff_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE)
) -> Response:
    return render(request, "staff.html", _staff_context(request, db, principal))


@router.post("/staff")
def invite(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE)
) -> Response:
    def act() -> Response:
        data = StaffInvite(
            username=form_value(request, "username"),
            display_name=form_value(request, "display_name"),
            phone=form_value(request, "phone") or None,
            roles=form_values(request, "roles"),
        )
        invited = accounts.invite_staff(db, principal, data)
        return render(
            request,
            "staff.html",
            _staff_context(
                request, db, principal, invited=invited.user, temporary_password=invited.temporary_password
            ),
        )

    return handle_form(request, db, "staff.html", lambda: _staff_context(request, db, principal), act)


@router.post("/staff/{user_id}/disable")
def disable(
    user_id: int, db: DbSession, principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE)
) -> Response:
    accounts.set_user_active(db, principal, user_id, False)
    return redirect("/org/staff")


@router.post("/staff/{user_id}/enable")
def enable(
    user_id: int, db: DbSession, principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE)
) -> Response:
    accounts.set_user_active(db, principal, user_id, True)
    return redirect("/org/staff")


@router.post("/staff/{user_id}/roles")
def change_roles(
    request: Request,
    user_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE),
) -> Response:
    """The admin changes a member of staff's roles (recorded in the audit trail with before and after)."""

    def act() -> Response:
        accounts.change_roles(db, principal, user_id, form_values(request, "roles"))
        return redirect("/org/staff")

    return handle_form(request, db, "staff.html", lambda: _staff_context(request, db, principal), act)


@router.post("/staff/{user_id}/reset-password")
def reset(
    request: Request,
    user_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.ORG_STAFF_MANAGE),
) -> Response:
    temporary = accounts.reset_password(db, principal, user_id)
    return render(
        request,
        "staff.html",
        _staff_context(request, db, principal, reset_user_id=user_id, temporary_password=temporary),
    )


def _clients_context(
    request: Request, db: DbSession, principal: Principal, **extra: object
) -> dict[str, object]:
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "clients": accounts.list_api_clients(db, principal),
        "scopes": scopes_for(principal),
        "values": {},
    }
    context.update(extra)
    return context


@router.get("/api-clients")
def clients_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.API_CLIENTS_MANAGE)
) -> Response:
    return render(request, "api_clients.html", _clients_context(request, db, principal))


@router.post("/api-clients")
def create_client(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.API_CLIENTS_MANAGE)
) -> Response:
    def act() -> Response:
        client, secret = accounts.create_api_client(
            db, principal, form_value(request, "name"), form_values(request, "scopes")
        )
        return render(
            request,
            "api_clients.html",
            _clients_context(request, db, principal, created=client, secret=secret),
        )

    return handle_form(request, db, "api_clients.html", lambda: _clients_context(request, db, principal), act)


@router.post("/api-clients/{client_pk}/revoke")
def revoke_client(
    client_pk: int, db: DbSession, principal: Principal = page_guard(Permission.API_CLIENTS_MANAGE)
) -> Response:
    accounts.revoke_api_client(db, principal, client_pk)
    return redirect("/org/api-clients")
