"""The demo city: organisations of every kind and one login per role, built idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import (
    DepartmentProfile,
    EnterpriseProfile,
    InstitutionProfile,
    Organisation,
    User,
)
from xinyidai.core import security
from xinyidai.core.access import MFA_ROLES, OrgKind, Role
from xinyidai.data import service as data_service
from xinyidai.data.catalogue import catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.models import RegistryEnterprise
from xinyidai.data.synth import generate_city
from xinyidai.data.synthetic import DEMO_CITY, registry_enterprises
from xinyidai.market import service as market
from xinyidai.rating import objections, report_store
from xinyidai.rating import service as rating_service

# One shared demo password that satisfies the policy; demo logins are for trying the platform only.
DEMO_PASSWORD = "Xyd#Demo2026"  # noqa: S105 — printed for the demo on purpose
REGISTRY_SIZE = 300
REGISTERED_ENTERPRISES = 12
# The demo city: a few thousand firms with two years of department data.
CITY_ENTERPRISES = 3000
CITY_MONTHS = 24
CITY_SEED = 2026


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    display_name: str
    organisation: str
    password: str
    totp_secret: str | None


# (username, display name, role, organisation key)
DEMO_USERS: tuple[tuple[str, str, Role, str], ...] = (
    ("ent_admin", "王海燕", Role.ENTERPRISE_ADMIN, "enterprise"),
    ("ent_staff", "李明", Role.ENTERPRISE_STAFF, "enterprise"),
    ("bank_admin", "张建国", Role.INSTITUTION_ADMIN, "bank"),
    ("bank_manager", "刘洋", Role.ACCOUNT_MANAGER, "bank"),
    ("bank_risk", "陈静", Role.RISK_OFFICER, "bank"),
    ("gov_admin", "赵志强", Role.DEPARTMENT_ADMIN, "ndrc"),
    ("gov_staff", "孙丽", Role.DEPARTMENT_STAFF, "ndrc"),
    ("fund_manager", "周鹏", Role.FUND_MANAGER, "finance"),
    ("op_admin", "吴磊", Role.OPERATOR_ADMIN, "operator"),
    ("op_data", "郑华", Role.DATA_ADMIN, "operator"),
    ("op_audit", "冯敏", Role.AUDITOR, "operator"),
)

INSTITUTIONS = (
    ("bank", "威海市商业银行", "bank", None),
    ("bank_branch", "威海市商业银行环翠支行", "bank", "bank"),
    ("ccb", "中国建设银行威海分行", "bank", None),
    ("guarantee", "威海市融资担保集团有限公司", "guarantee", None),
    ("insurer", "中国人民财产保险威海市分公司", "insurer", None),
)
DEPARTMENTS = (
    ("ndrc", "威海市发展和改革委员会", False),
    ("finance", "威海市财政局", False),
    ("tax", "国家税务总局威海市税务局", True),
    ("market", "威海市市场监督管理局", True),
    ("hrss", "威海市人力资源和社会保障局", True),
)


def is_built(session: Session) -> bool:
    return session.scalars(select(User).where(User.username == "op_admin")).first() is not None


def build(session: Session) -> list[DemoLogin]:
    """Fill the registry and create the demo organisations and users (no-op if already built)."""
    if not is_built(session):
        _build(session)
    return logins(session)


def build_city(
    session: Session,
    lake: Lake,
    folder: Path,
    *,
    enterprises: int = CITY_ENTERPRISES,
    months: int = CITY_MONTHS,
    seed: int = CITY_SEED,
    progress: Callable[[str, int, int], None] | None = None,
    report_dir: Path | None = None,
    home: Path | None = None,
) -> None:
    """Generate the demo city's department deliveries, ingest them into the lake, fill the registry,
    and run the quality checks over its last months so the data pages show scores and their trend.

    Idempotent: an existing delivery folder is reused and re-ingesting identical files changes nothing;
    the quality runs are made once.
    """
    if not (folder / "manifest.json").exists():
        generate_city(folder, enterprises=enterprises, months=months, seed=seed, progress=progress)
    data_service.ingest_directory(folder, lake=lake, session=session, provider="demo")
    data_service.refresh_registry_from_lake(session, lake)
    session.commit()
    if not data_service.has_quality_runs(session):
        # The synthetic city lives at its own date: the day its last delivery arrived.
        as_of = data_service.last_receipt_date(lake)
        newest = data_service.default_quality_period(lake, as_of) if as_of else None
        if as_of is not None and newest is not None:
            for period in reversed(_months_back(newest, QUALITY_MONTHS)):
                data_service.run_quality(
                    session,
                    lake,
                    as_of=as_of,
                    period=period,
                    triggered_by="demo",
                    report_dir=report_dir,
                    home=home,
                )
        session.commit()


QUALITY_MONTHS = 6


def rate_city(session: Session, lake: Lake) -> None:
    """Rate the demo city a quarter before its last delivery and on it (once), so some grades moved;
    the demo enterprises that were downgraded get the notice."""
    if rating_service.rating_dates(lake):
        return
    as_of = data_service.last_receipt_date(lake)
    registered = data_service.last_receipt_date(lake, "registration")
    if as_of is None or registered is None:
        return
    # The synthetic registry arrives late in the city's life: the earlier rating is the first day it is in.
    for day in sorted({max(as_of - timedelta(days=91), registered), as_of}):
        rated = rating_service.rate_all(session, lake, day)
        accounts.notify_downgrades(session, rated.changes)
        market.notify_lenders_of_downgrades(session, rated.changes)  # none before the demo market exists
        report_store.prepare_store(lake, day)
    session.commit()


def _months_back(period: str, count: int) -> list[str]:
    """``period`` and the ``count - 1`` months before it, newest first."""
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def _build(session: Session) -> None:
    records = list(session.scalars(select(RegistryEnterprise).order_by(RegistryEnterprise.uscc)))
    if not records:  # no city ingested (tests): a small registry of its own
        records = list(registry_enterprises(REGISTRY_SIZE))
        data_service.upsert_registry(session, records)
    orgs: dict[str, Organisation] = {}
    operator = Organisation(
        kind=OrgKind.OPERATOR.value, name="威海市信易贷平台运营中心", region_code=DEMO_CITY
    )
    session.add(operator)
    orgs["operator"] = operator
    for key, name, itype, parent in INSTITUTIONS:
        org = Organisation(
            kind=OrgKind.INSTITUTION.value,
            name=name,
            region_code="371002" if parent else DEMO_CITY,
            parent=orgs.get(parent) if parent else None,
        )
        org.institution = InstitutionProfile(institution_type=itype)
        session.add(org)
        orgs[key] = org
    for key, name, provides in DEPARTMENTS:
        org = Organisation(kind=OrgKind.DEPARTMENT.value, name=name, region_code=DEMO_CITY)
        org.department = DepartmentProfile(provides_data=provides)
        session.add(org)
        orgs[key] = org
    session.flush()
    _assign_sources(session, orgs)
    active = [r for r in records if r.status == data_service.ACTIVE_STATUS]
    for i, record in enumerate(active[:REGISTERED_ENTERPRISES]):
        org = accounts.enterprise_from_registry(record)
        session.add(org)
        if i == 0:
            orgs["enterprise"] = org
    session.flush()
    shared_hash = security.hash_password(DEMO_PASSWORD)
    for i, (username, display_name, role, org_key) in enumerate(DEMO_USERS):
        invited = accounts.create_user(
            session,
            orgs[org_key],
            username=username,
            display_name=display_name,
            roles=[role],
            password=DEMO_PASSWORD,
            phone=f"1356310{i:04d}",
            password_hash=shared_hash,
        )
        if role in MFA_ROLES:
            invited.user.totp_secret = security.new_totp_secret()
            invited.user.totp_enabled = True
    session.flush()


# Which demo department answers objections to which sources, by the owner the catalogue names; the other
# sources (courts, customs, the credit office…) have no department on the demo platform: the operator answers.
# (The credit office, 社会信用体系建设办公室, sits in the development and reform commission.)
SOURCE_OWNERS = (
    ("税务", "tax"),
    ("市场监督管理", "market"),
    ("人力资源和社会保障", "hrss"),
    ("社会信用体系建设", "ndrc"),
)


def _assign_sources(session: Session, orgs: dict[str, Organisation]) -> None:
    for source in catalogue().sources.values():
        key = next((org for word, org in SOURCE_OWNERS if word in source.owner), None)
        if key is not None:
            objections.assign_source(session, source.id, orgs[key].id)


def logins(session: Session) -> list[DemoLogin]:
    result = []
    for username, _name, role, _org in DEMO_USERS:
        user = session.scalars(select(User).where(User.username == username)).one()
        result.append(
            DemoLogin(
                role=role,
                username=username,
                display_name=user.display_name,
                organisation=user.organisation.name,
                password=DEMO_PASSWORD,
                totp_secret=user.totp_secret if user.totp_enabled else None,
            )
        )
    return result


def unregistered_example(session: Session) -> RegistryEnterprise | None:
    """A registry enterprise in business that has not registered yet, to try self-registration with."""
    registered = select(EnterpriseProfile.uscc)
    return session.scalars(
        select(RegistryEnterprise)
        .where(
            RegistryEnterprise.status == data_service.ACTIVE_STATUS,
            RegistryEnterprise.uscc.not_in(registered),
        )
        .order_by(RegistryEnterprise.uscc)
        .limit(1)
    ).first()
