"""Organisations, their people, sessions and machine clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class Organisation(Base):
    """An organisation on the platform: enterprise, financial institution, department or the operator.

    Institutions have branches (``parent_id``). ``region_code`` is a GB/T 2260 administrative division.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # OrgKind
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side="Organisation.id")
    enterprise: Mapped[EnterpriseProfile | None] = relationship(back_populates="organisation", uselist=False)
    institution: Mapped[InstitutionProfile | None] = relationship(
        back_populates="organisation", uselist=False
    )
    department: Mapped[DepartmentProfile | None] = relationship(back_populates="organisation", uselist=False)


class EnterpriseProfile(Base):
    """An enterprise (企业) bound to one USCC, verified against the enterprise registry.

    Industry is GB/T 4754-2017 (section letter + two-digit division); size class per the 2011
    SME classification (micro/small/medium/large).
    """

    __tablename__ = "enterprises"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    industry_section: Mapped[str] = mapped_column(String(1))
    industry_division: Mapped[str] = mapped_column(String(2))
    size_class: Mapped[str] = mapped_column(String(16))
    legal_representative: Mapped[str] = mapped_column(String(100))
    registry_status: Mapped[str] = mapped_column(String(16))  # 存续 / 吊销 / 注销
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="enterprise")


class InstitutionProfile(Base):
    """A financial institution (金融机构): bank, guarantee company or insurer."""

    __tablename__ = "institutions"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    institution_type: Mapped[str] = mapped_column(String(16))  # bank | guarantee | insurer
    # 金融许可证号 / business licence number as issued by the regulator, when known.
    licence_number: Mapped[str | None] = mapped_column(String(64))

    organisation: Mapped[Organisation] = relationship(back_populates="institution")


class DepartmentProfile(Base):
    """A government department (政府部门) — also a data provider when it delivers data."""

    __tablename__ = "departments"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    provides_data: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="department")


class User(Base):
    """A person's account; belongs to exactly one organisation.

    Passwords are argon2id hashes; 5 failures lock the account for 15 minutes (``locked_until``).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    # Shown to the user on their home page, so they can spot a login that was not theirs.
    previous_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_login_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    role_links: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return sorted(link.role for link in self.role_links)


class UserRole(Base):
    """One role held by a user (a user may hold several of its organisation kind's roles)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="role_links")


class RecoveryCode(Base):
    """A one-time TOTP recovery code (stored hashed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginSession(Base):
    """A browser session. The cookie holds a random token; only its SHA-256 is stored.

    Expires after ``session_idle_minutes`` without a request; ``mfa_passed`` is set once an
    administrator has confirmed the TOTP code.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class ApiClient(Base):
    """Machine access for an institution's or department's own systems (client credentials)."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The roles the client acts with (a subset of its organisation kind's roles).
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """A bearer token issued to an API client; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    client: Mapped[ApiClient] = relationship()
