"""Helpers shared by the page modules: form access, cookies, the form-with-error pattern."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from xinyidai.accounts.models import LoginSession, User
from xinyidai.core.access import OrgKind, Principal
from xinyidai.core.errors import AuthenticationRequired, ValidationFailed, XydError
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings
from xinyidai.web.deps import SESSION_COOKIE, ActorDep, Redirect
from xinyidai.web.navigation import HOME_PATH
from xinyidai.web.problems import describe_error
from xinyidai.web.templating import render


def page_number(request: Request) -> int:
    """The ``?page=`` asked for, 1 when missing or not a positive whole number."""
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def page_count(total: int, size: int) -> int:
    """How many pages of ``size`` rows ``total`` rows fill (at least one, for the pager)."""
    return max(1, -(-total // size))


def form_value(request: Request, name: str, default: str = "") -> str:
    form = getattr(request.state, "form", None)
    if form is None:
        return default
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def form_decimal(request: Request, name: str, message: str = N_("Enter a number")) -> Decimal:
    """A posted number (1,000 and 1，000 accepted); ``message`` is the error's message id."""
    raw = form_value(request, name).replace(",", "").replace("，", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed(message, field=name) from None
    if not value.is_finite():
        raise ValidationFailed(message, field=name)
    return value


def form_date(request: Request, name: str, message: str = N_("Enter a date (YYYY-MM-DD)")) -> date | None:
    """A posted ISO date, None when the field is empty."""
    raw = form_value(request, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(message, field=name) from None


def form_values(request: Request, name: str) -> list[str]:
    form = getattr(request.state, "form", None)
    return [v for v in form.getlist(name) if isinstance(v, str)] if form is not None else []


SECRET_FIELDS = ("password", "confirm_password", "current_password", "new_password", "csrf_token", "code")


def handle_form(
    request: Request,
    db: Session,
    template: str,
    context: Callable[[], dict[str, Any]],
    action: Callable[[], Response],
    *,
    keep_changes_on_error: bool = False,
) -> Response:
    """Run a form's use case; if it fails, roll back and re-show the form with the message.

    The message is shown by the field it concerns, the values typed are kept (never the secrets),
    and nothing is saved — except with ``keep_changes_on_error``, used by login, where the failure
    itself (failed-login count, lock, audit record) must be recorded.
    """
    try:
        return action()
    except (XydError, ValidationError) as exc:
        if keep_changes_on_error:
            db.commit()
        else:
            db.rollback()
        status, field, message = describe_error(exc, request.state.locale)
        # A re-shown form is a page the user may act on, never an access decision: no 401/403 here.
        status = 422 if status in (401, 403) else status
        values = {
            k: v for k, v in (getattr(request.state, "form", None) or {}).items() if k not in SECRET_FIELDS
        }
        ctx = context()
        ctx.update({"error": message, "error_field": field, "values": values})
        return render(request, template, ctx, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def home_of(principal: Principal) -> str:
    return HOME_PATH[principal.org_kind]


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


class SessionUser:
    """A logged-in browser session at any stage (second factor or password change may be pending)."""

    def __init__(self, user: User, login_session: LoginSession) -> None:
        self.user = user
        self.login_session = login_session


def session_user(request: Request, actor: ActorDep) -> SessionUser:
    if actor.user is None or actor.login_session is None:
        if request.url.path.startswith("/api/"):
            raise AuthenticationRequired()
        raise Redirect("/login")
    return SessionUser(actor.user, actor.login_session)


SessionUserDep = Annotated[SessionUser, Depends(session_user)]

KIND_LABELS: dict[str, str] = {
    OrgKind.ENTERPRISE.value: "Enterprise",
    OrgKind.INSTITUTION.value: "Financial institution",
    OrgKind.DEPARTMENT.value: "Government department",
    OrgKind.OPERATOR.value: "Platform operator",
}
