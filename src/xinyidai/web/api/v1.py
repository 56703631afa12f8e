"""API v1: tokens for machine clients, the caller's identity, organisations, staff, USCC checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, Field

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.accounts.schemas import (
    EnterpriseRegistration,
    MeRead,
    OrganisationCreate,
    OrganisationRead,
    UserRead,
)
from xinyidai.core import notifications
from xinyidai.core.access import Permission, Principal
from xinyidai.core.i18n import translate
from xinyidai.core.masking import mask_phone
from xinyidai.core.uscc import InvalidUSCC, validate_uscc
from xinyidai.web.deps import DbSession, SettingsDep, api_guard, policy_of

router = APIRouter(prefix="/api/v1")


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 — the OAuth token type, not a secret
    expires_in: int


class UsccCheck(BaseModel):
    code: str
    valid: bool
    reason: str | None = None
    message: str | None = None
    authority: str | None = None
    entity_kind: str | None = None
    division_code: str | None = None


class OnboardRead(BaseModel):
    organisation: OrganisationRead
    admin_username: str
    temporary_password: str = Field(description="Shown once; the admin must change it at first login")


class RegisteredRead(BaseModel):
    organisation: OrganisationRead
    username: str


def _org_read(org: Organisation) -> OrganisationRead:
    return OrganisationRead(
        id=org.id,
        kind=org.kind,
        name=org.name,
        region_code=org.region_code,
        parent_id=org.parent_id,
        status=org.status,
        uscc=org.enterprise.uscc if org.enterprise else None,
        institution_type=org.institution.institution_type if org.institution else None,
    )


def _user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        phone_masked=mask_phone(user.phone),
        roles=user.roles,
        is_active=user.is_active,
        locked=accounts.is_locked(user),
        totp_enabled=user.totp_enabled,
        last_login_at=user.last_login_at,
    )


@router.post("/auth/token", response_model=TokenRead, tags=["auth"])
def issue_token(
    db: DbSession,
    settings: SettingsDep,
    client_id: Annotated[str, Form(max_length=64)],
    client_secret: Annotated[str, Form(max_length=200)],
    grant_type: Annotated[str, Form(pattern="^client_credentials$")] = "client_credentials",
) -> TokenRead:
    """OAuth 2.0 client-credentials grant for institutions' and departments' own systems."""
    try:
        token, lifetime = accounts.issue_api_token(db, client_id, client_secret, policy_of(settings))
    except Exception:
        db.commit()  # keep the audit record of the failed attempt
        raise
    return TokenRead(access_token=token, expires_in=lifetime)


@router.get("/me", response_model=MeRead, tags=["auth"])
def me(principal: Principal = api_guard(Permission.AUTHENTICATED)) -> MeRead:
    """Who the caller is: user or API client, organisation and roles."""
    return MeRead(
        user_id=principal.user_id,
        username=principal.username,
        organisation_id=principal.organisation_id,
        organisation_kind=principal.org_kind.value,
        roles=sorted(r.value for r in principal.roles),
    )


@router.get("/uscc/{code}", response_model=UsccCheck, tags=["codes"])
def check_uscc(code: str) -> UsccCheck:
    """Validate a unified social credit code (GB 32100-2015) and say what is wrong with it."""
    try:
        parsed = validate_uscc(code)
    except InvalidUSCC as exc:
        return UsccCheck(code=code, valid=False, reason=exc.reason, message=str(exc))
    return UsccCheck(
        code=parsed.value,
        valid=True,
        authority=parsed.authority,
        entity_kind=parsed.kind.value,
        division_code=parsed.division_code,
    )


@router.post("/enterprises/register", response_model=RegisteredRead, status_code=201, tags=["enterprises"])
def register_enterprise(db: DbSession, data: EnterpriseRegistration) -> RegisteredRead:
    """An enterprise registers itself; verified against the enterprise registry."""
    user = accounts.register_enterprise(db, data)
    return RegisteredRead(organisation=_org_read(user.organisation), username=user.username)


@router.get("/organisations", response_model=list[OrganisationRead], tags=["organisations"])
def list_organisations(
    db: DbSession,
    kind: Annotated[str | None, Query(pattern="^(enterprise|institution|department|operator)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    principal: Principal = api_guard(Permission.ORGANISATIONS_READ),
) -> list[OrganisationRead]:
    """Organisations on the platform (operator staff)."""
    return [_org_read(o) for o in accounts.list_organisations(db, principal, kind, limit, offset)]


@router.post("/organisations", response_model=OnboardRead, status_code=201, tags=["organisations"])
def onboard_organisation(
    db: DbSession, data: OrganisationCreate, principal: Principal = api_guard(Permission.ORGANISATIONS_MANAGE)
) -> OnboardRead:
    """Onboard a financial institution or government department with its first administrator."""
    org, invited = accounts.onboard_organisation(db, principal, data)
    return OnboardRead(
        organisation=_org_read(org),
        admin_username=invited.user.username,
        temporary_password=invited.temporary_password,
    )


@router.get("/organisation", response_model=OrganisationRead, tags=["organisations"])
def my_organisation(
    db: DbSession, principal: Principal = api_guard(Permission.AUTHENTICATED)
) -> OrganisationRead:
    """The caller's own organisation."""
    return _org_read(accounts.organisation_of(db, principal))


@router.get("/staff", response_model=list[UserRead], tags=["staff"])
def list_staff(db: DbSession, principal: Principal = api_guard(Permission.ORG_STAFF_READ)) -> list[UserRead]:
    """Users of the caller's organisation (phone numbers masked)."""
    return [_user_read(u) for u in accounts.list_staff(db, principal)]


class NotificationOut(BaseModel):
    id: int
    created_at: datetime
    topic: str
    severity: str
    title: str = Field(description="In the caller's language")
    body: str
    link: str | None
    read_at: datetime | None


@router.get("/notifications", response_model=list[NotificationOut], tags=["notifications"])
def list_notifications(
    request: Request,
    db: DbSession,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Principal = api_guard(Permission.AUTHENTICATED),
) -> list[NotificationOut]:
    """In-site messages to the caller or the caller's role (data-quality alerts…), newest first."""
    locale = getattr(request.state, "locale", "zh_CN")
    return [
        NotificationOut(
            id=n.id,
            created_at=n.created_at,
            topic=n.topic,
            severity=n.severity,
            title=translate(n.title, n.params, locale),
            body=translate(n.body, n.params, locale),
            link=n.link,
            read_at=read_at,
        )
        for n, read_at in notifications.inbox(db, principal, unread_only=unread, limit=limit)
    ]
