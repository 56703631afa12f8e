"""Login, second factor, password change, enterprise self-registration, logout, language."""

from __future__ import annotations

import io
from urllib.parse import quote, urlparse

import segno
from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.accounts import service as accounts
from xinyidai.accounts.schemas import EnterpriseRegistration
from xinyidai.core import security
from xinyidai.core.access import Permission, Principal
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import LOCALES
from xinyidai.core.settings import Settings
from xinyidai.web.deps import (
    LOCALE_COOKIE,
    SESSION_COOKIE,
    ActorDep,
    DbSession,
    SettingsDep,
    page_guard,
    policy_of,
)
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import (
    SessionUser,
    SessionUserDep,
    clear_session_cookie,
    form_value,
    handle_form,
    home_of,
    redirect,
    set_session_cookie,
)
from xinyidai.web.templating import render

router = APIRouter()

TOTP_SETUP_SECRET = "totp_setup_secret"  # noqa: S105 — a cookie name


def _safe_next(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    parsed = urlparse(target)
    if target.startswith("/") and not target.startswith("//") and not parsed.netloc and not parsed.scheme:
        return target
    return ""


@router.get("/")
def landing(request: Request, actor: ActorDep) -> Response:
    if actor.principal is not None and actor.fully_authenticated:
        return redirect(home_of(actor.principal))
    return render(request, "landing.html")


@router.get("/home")
def home(actor: ActorDep) -> Response:
    if actor.principal is None or not actor.fully_authenticated:
        return redirect("/login")
    return redirect(home_of(actor.principal))


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "values": {}})


@router.post("/login")
def login_submit(request: Request, db: DbSession, settings: SettingsDep) -> Response:
    next_path = _safe_next(form_value(request, "next"))

    def act() -> Response:
        outcome = accounts.login(
            db,
            form_value(request, "username"),
            form_value(request, "password"),
            policy_of(settings),
            ip_address=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
        if outcome.needs_totp_enrolment:
            target = "/account/totp/setup"
        elif outcome.needs_second_factor:
            target = "/login/totp" + (f"?next={quote(next_path)}" if next_path else "")
        elif outcome.must_change_password:
            target = "/account/password"
        else:
            target = next_path or home_of(accounts.principal_for(outcome.user))
        response = redirect(target)
        set_session_cookie(response, outcome.session_token, settings)
        return response

    # The failure itself (count, lock, audit record) is kept; see handle_form.
    return handle_form(
        request, db, "login.html", lambda: {"next": next_path}, act, keep_changes_on_error=True
    )


@router.get("/login/totp")
def totp_form(request: Request, current: SessionUserDep, next: str = "") -> Response:
    if current.login_session.mfa_passed:
        return redirect("/home")
    return render(request, "totp.html", {"next": _safe_next(next)})


@router.post("/login/totp")
def totp_submit(request: Request, db: DbSession, current: SessionUserDep) -> Response:
    next_path = _safe_next(form_value(request, "next"))

    def act() -> Response:
        accounts.pass_second_factor(db, current.login_session, form_value(request, "code"))
        if current.user.must_change_password:
            return redirect("/account/password")
        return redirect(next_path or home_of(accounts.principal_for(current.user)))

    return handle_form(request, db, "totp.html", lambda: {"next": next_path}, act, keep_changes_on_error=True)


def _setup_context(username: str, secret: str) -> dict[str, object]:
    uri = security.totp_uri(secret, username)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return {"secret": secret, "qr_svg": buffer.getvalue().decode(), "uri": uri}


@router.get("/account/totp/setup")
def totp_setup_form(request: Request, current: SessionUserDep, settings: SettingsDep) -> Response:
    if current.user.totp_enabled and not current.login_session.mfa_passed:
        return redirect("/login/totp")
    secret = accounts.begin_totp_enrolment(current.user)
    response = render(request, "totp_setup.html", _setup_context(current.user.username, secret))
    # The pending secret rides in an HttpOnly cookie until confirmed; it is useless without the session.
    response.set_cookie(
        TOTP_SETUP_SECRET,
        secret,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/account/totp/setup",
        max_age=600,
    )
    return response


@router.post("/account/totp/setup")
def totp_setup_submit(request: Request, db: DbSession, current: SessionUserDep) -> Response:
    if current.user.totp_enabled and not current.login_session.mfa_passed:
        return redirect("/login/totp")
    secret = request.cookies.get(TOTP_SETUP_SECRET, "")
    if not secret:
        return redirect("/account/totp/setup")
    username = current.user.username
    must_change = current.user.must_change_password

    def act() -> Response:
        codes = accounts.confirm_totp_enrolment(
            db, current.login_session, secret, form_value(request, "code")
        )
        response = render(
            request, "recovery_codes.html", {"codes": codes, "must_change_password": must_change}
        )
        response.delete_cookie(TOTP_SETUP_SECRET, path="/account/totp/setup")
        return response

    return handle_form(request, db, "totp_setup.html", lambda: _setup_context(username, secret), act)


def _password_context(current: SessionUser, settings: Settings) -> dict[str, object]:
    user = current.user
    return {
        "forced": user.must_change_password,
        "expired": accounts.password_expired(user, policy_of(settings)),
        "max_age_days": settings.password_max_age_days,
    }


@router.get("/account/password")
def password_form(request: Request, current: SessionUserDep, settings: SettingsDep) -> Response:
    return render(request, "password.html", _password_context(current, settings))


@router.post("/account/password")
def password_submit(
    request: Request, db: DbSession, current: SessionUserDep, settings: SettingsDep
) -> Response:
    context = _password_context(current, settings)
    user = current.user

    def act() -> Response:
        new = form_value(request, "new_password")
        if new != form_value(request, "confirm_password"):
            raise ValidationFailed("The two new passwords do not match", field="confirm_password")
        accounts.change_password(
            db, user, form_value(request, "current_password"), new, keep=current.login_session
        )
        return render(request, "password_changed.html", {"home": home_of(accounts.principal_for(user))})

    return handle_form(request, db, "password.html", lambda: context, act)


@router.get("/register")
def register_form(request: Request) -> Response:
    return render(request, "register.html", {"values": {}})


@router.post("/register")
def register_submit(request: Request, db: DbSession) -> Response:
    def act() -> Response:
        if form_value(request, "password") != form_value(request, "confirm_password"):
            raise ValidationFailed("The two new passwords do not match", field="confirm_password")
        data = EnterpriseRegistration(
            uscc=form_value(request, "uscc"),
            legal_representative=form_value(request, "legal_representative"),
            username=form_value(request, "username"),
            display_name=form_value(request, "display_name"),
            phone=form_value(request, "phone") or None,
            password=form_value(request, "password"),
        )
        user = accounts.register_enterprise(db, data)
        return render(
            request,
            "registered.html",
            {"username": user.username, "organisation_name": user.organisation.name},
        )

    return handle_form(request, db, "register.html", dict, act)


@router.post("/logout")
def logout(request: Request, db: DbSession, settings: SettingsDep) -> Response:
    accounts.logout(db, request.cookies.get(SESSION_COOKIE))
    response = redirect("/login?logged_out=1")
    clear_session_cookie(response, settings)
    return response


@router.post("/logout/all")
def logout_all(request: Request, db: DbSession, current: SessionUserDep, settings: SettingsDep) -> Response:
    accounts.logout_everywhere(db, current.user)
    response = redirect("/login?logged_out=all")
    clear_session_cookie(response, settings)
    return response


@router.post("/locale")
def choose_locale(request: Request) -> Response:
    locale = form_value(request, "locale")
    target = _safe_next(form_value(request, "next")) or "/"
    response = redirect(target)
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.get("/account")
def account(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)
) -> Response:
    request.state.nav = navigation_for(principal)
    user = request.state.user
    return render(request, "account.html", {"session_count": accounts.session_count(db, user.id)})
