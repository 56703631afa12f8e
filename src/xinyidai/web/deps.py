"""Request-scoped dependencies: the database session, the actor, guards, CSRF.

One session per request: committed once when the endpoint returns, rolled back if it raises.
Each route declares its ``Permission`` once through ``page_guard`` or ``api_guard``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import LoginSession, User
from xinyidai.core import notifications, security
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.database import session_scope
from xinyidai.core.errors import AuthenticationRequired, CsrfFailed, PermissionDenied
from xinyidai.core.settings import Settings

SESSION_COOKIE = "xyd_session"
CSRF_COOKIE = "xyd_csrf"
LOCALE_COOKIE = "xyd_locale"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Redirect(Exception):
    """Raised by a page guard to send the browser elsewhere (login, password change, TOTP)."""

    def __init__(self, url: str) -> None:
        self.url = url


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class UserView:
    """What pages show of the current user, copied once so error pages never touch a closed session."""

    id: int
    username: str
    display_name: str
    phone: str | None
    totp_enabled: bool
    must_change_password: bool
    password_changed_at: datetime | None
    last_login_at: datetime | None
    previous_login_at: datetime | None
    previous_login_ip: str | None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            user.id,
            user.username,
            user.display_name,
            user.phone,
            user.totp_enabled,
            user.must_change_password,
            user.password_changed_at,
            user.last_login_at,
            user.previous_login_at,
            user.previous_login_ip,
        )


@dataclass
class Actor:
    """Who is behind this request: a browser session's user, an API client, or nobody."""

    principal: Principal | None = None
    user: User | None = None
    login_session: LoginSession | None = None

    @property
    def fully_authenticated(self) -> bool:
        if self.principal is None:
            return False
        if self.login_session is None:  # bearer token
            return True
        assert self.user is not None
        return self.login_session.mfa_passed and not self.user.must_change_password


def policy_of(settings: Settings) -> accounts.SecurityPolicy:
    return accounts.SecurityPolicy(
        max_failed_logins=settings.max_failed_logins,
        lockout_minutes=settings.lockout_minutes,
        session_idle_minutes=settings.session_idle_minutes,
        api_token_minutes=settings.api_token_minutes,
        password_max_age_days=settings.password_max_age_days,
    )


def resolve_actor(request: Request, db: DbSession, settings: SettingsDep) -> Actor:
    """Resolve the actor once per request from the bearer token or the session cookie."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    actor = Actor()
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        actor.principal = accounts.principal_for_token(db, auth[7:].strip())
        if actor.principal is None:
            raise AuthenticationRequired("The access token is invalid or has expired")
    else:
        login_session = accounts.resolve_session(db, request.cookies.get(SESSION_COOKIE), policy_of(settings))
        if login_session is not None:
            actor.login_session = login_session
            actor.user = login_session.user
            actor.principal = accounts.principal_for(login_session.user)
            request.state.csrf_token = login_session.csrf_token
    request.state.actor = actor
    request.state.user = UserView.of(actor.user) if actor.user is not None else None
    request.state.principal = actor.principal if actor.fully_authenticated else None
    return actor


ActorDep = Annotated[Actor, Depends(resolve_actor)]


async def verify_csrf(request: Request, actor: ActorDep) -> None:
    """Every unsafe browser request carries the CSRF token: a form field or the X-CSRF-Token header.

    Logged-in users' token is bound to their session; before login it is a double-submit cookie.
    Bearer-token (machine) requests and anonymous API calls carry no session cookie and need none.
    """
    if request.method in SAFE_METHODS or (actor.principal is not None and actor.login_session is None):
        return
    if request.url.path.startswith("/api/") and actor.login_session is None:
        return  # an API call without a session cookie carries no ambient authority to forge
    expected = actor.login_session.csrf_token if actor.login_session else request.cookies.get(CSRF_COOKIE, "")
    supplied = request.headers.get("x-csrf-token", "")
    if not supplied:
        form = getattr(request.state, "form", None)
        supplied = str(form.get("csrf_token", "")) if form is not None else ""
    if not expected or not supplied or not security.same(expected, supplied):
        raise CsrfFailed()


async def read_form(request: Request) -> None:
    """Parse a posted form once, so the CSRF check and the endpoint see the same fields."""
    if request.method not in SAFE_METHODS and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        request.state.form = await request.form()


def page_guard(permission: Permission) -> Any:
    """Guard for a page: log in first, finish the second factor, change a temporary password, then check."""

    def guard(request: Request, actor: ActorDep, db: DbSession) -> Principal:
        if actor.user is None or actor.login_session is None or actor.principal is None:
            raise Redirect("/login?next=" + quote(str(request.url.path)))
        if not actor.login_session.mfa_passed:
            raise Redirect("/login/totp" if actor.user.totp_enabled else "/account/totp/setup")
        if actor.user.must_change_password:
            raise Redirect("/account/password")
        if not can(actor.principal, permission):
            raise PermissionDenied()
        # the top bar's unread count, on every page a logged-in user sees
        request.state.unread_notifications = notifications.count_unread(db, actor.principal)
        return actor.principal

    guard.permission = permission  # type: ignore[attr-defined]
    return Depends(guard)


def api_guard(permission: Permission) -> Any:
    """Guard for an API route: 401 without credentials, 403 without the permission."""

    # async: in-memory checks only, no reason to hop to a worker thread (every hop costs under load)
    async def guard(actor: ActorDep) -> Principal:
        if actor.principal is None or not actor.fully_authenticated:
            raise AuthenticationRequired()
        if not can(actor.principal, permission):
            raise PermissionDenied()
        return actor.principal

    guard.permission = permission  # type: ignore[attr-defined]
    return Depends(guard)
