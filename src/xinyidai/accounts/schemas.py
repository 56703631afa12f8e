"""Typed inputs and outputs of the accounts capability."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinyidai.accounts.models import User

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")


def _clean(value: str) -> str:
    return value.strip()


class EnterpriseRegistration(BaseModel):
    """An enterprise registering itself: verified against the registry by USCC + legal representative."""

    uscc: str = Field(max_length=40)
    legal_representative: str = Field(min_length=1, max_length=100)
    username: str = Field(max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    password: str = Field(max_length=128)

    _strip = field_validator("uscc", "legal_representative", "username", "display_name", mode="before")(
        lambda v: _clean(v) if isinstance(v, str) else v
    )


class OrganisationCreate(BaseModel):
    """The operator onboarding an institution or department, with its first admin."""

    kind: str = Field(pattern="^(institution|department)$")
    name: str = Field(min_length=2, max_length=200)
    region_code: str = Field(pattern=r"^\d{6}$")
    institution_type: str | None = Field(default=None, pattern="^(bank|guarantee|insurer)$")
    parent_id: int | None = None
    admin_username: str = Field(max_length=64)
    admin_display_name: str = Field(min_length=1, max_length=100)
    admin_phone: str | None = Field(default=None, max_length=20)


class StaffInvite(BaseModel):
    """An organisation admin adding a member of staff."""

    username: str = Field(max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    roles: list[str] = Field(min_length=1)


class UserRead(BaseModel):
    """A user as shown to others: the phone number is masked."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    phone_masked: str
    roles: list[str]
    is_active: bool
    locked: bool
    totp_enabled: bool
    last_login_at: datetime | None


class OrganisationRead(BaseModel):
    id: int
    kind: str
    name: str
    region_code: str | None
    parent_id: int | None
    status: str
    uscc: str | None = None
    institution_type: str | None = None


class MeRead(BaseModel):
    user_id: int | None
    username: str
    organisation_id: int
    organisation_kind: str
    roles: list[str]


@dataclass(frozen=True)
class Invited:
    """A newly invited user and the temporary password to hand over once."""

    user: User
    temporary_password: str


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    session_token: str
    needs_second_factor: bool
    needs_totp_enrolment: bool
    must_change_password: bool
