"""Risk-sharing schemes a department's funds use: write one, revise it, read its versions.

A scheme version is a set of bands — grade, amount range, whether loans in it are covered, the most
collateral (% of the loan), and how a loss is split between the fund, the lending bank and an optional
third party (an insurer or guarantee company) — plus the guarantee fee (担保费) a fund using it charges
on each loan it covers (an annual percentage of the covered amount).

Versions are never changed once written: a revision writes a new version, and the funds that used the
old one move to it. Loans already covered keep the terms they joined with (the covered loan holds its own
copy of the shares, third party and fee rate), so nothing written here reaches back into covered loans.

Validation (every message in the reader's language): fund, bank and third-party shares add up to 100 %,
percentages lie between 0 and 100, amount bands of a grade do not overlap, a third party with a share is
named, the fee rate lies between 0 and 5 % a year.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, false, select, update
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, require, sees_all_organisations
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.funds.schemes_models import GuaranteeFund, RiskScheme, SharingScheme

HUNDRED = Decimal(100)
MAX_FEE_RATE = Decimal(5)  # % a year; guarantee funds charge 0.5–1 % in practice
GRADES = ("A", "B", "C", "D")
S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class Tier:
    """One band of a scheme to write: grade, the largest amount (元, None: any), the most collateral (% of
    the loan), the fund's and a third party's share of a loss (%); the bank bears the rest, or exactly
    ``bank_pct`` when given (then the three must add up to 100). ``amount_min``: the band takes loans above
    this amount (元). ``covered`` False: loans in the band are explicitly not covered."""

    grade: str
    amount_max: Decimal | None
    collateral_max_pct: Decimal
    fund_pct: Decimal
    third_party_pct: Decimal = Decimal(0)
    third_party_id: int | None = None
    third_party_name: str = ""
    amount_min: Decimal = Decimal(0)
    covered: bool = True
    bank_pct: Decimal | None = None


# Weihai 信保基金: A ≤ 5 M unsecured 80:20; B collateral ≤ 70 % 60:40; C ≤ 100 % 40:60; D not covered.
WEIHAI_SCHEME: tuple[Tier, ...] = (
    Tier("A", Decimal(5_000_000), Decimal(0), Decimal(80)),
    Tier("B", Decimal(5_000_000), Decimal(70), Decimal(60)),
    Tier("C", Decimal(5_000_000), Decimal(100), Decimal(40)),
    Tier("D", None, Decimal(0), Decimal(0), covered=False),
)


def _amount(value: Decimal | None) -> str:
    return "∞" if value is None else f"{value:,.2f}"


def check_tiers(tiers: Sequence[Tier]) -> list[Tier]:
    """The bands as they will be stored (shares of uncovered bands zeroed), or ValidationFailed."""
    if not tiers:
        raise ValidationFailed("Give the scheme at least one band", field="schemes")
    checked: list[Tier] = []
    for tier in tiers:
        grade = tier.grade.strip().upper()
        if not grade or len(grade) > 8:
            raise ValidationFailed("Choose the grade of every band", field="schemes")
        if tier.amount_min < 0:
            raise ValidationFailed("Amounts are at least 0 yuan", field="schemes")
        if tier.amount_max is not None and tier.amount_max <= tier.amount_min:
            raise ValidationFailed(
                "For grade %(grade)s the largest amount must be above %(min)s yuan",
                field="schemes",
                grade=grade,
                min=f"{tier.amount_min:,.2f}",
            )
        if not tier.covered:
            checked.append(
                Tier(
                    grade, tier.amount_max, Decimal(0), Decimal(0), amount_min=tier.amount_min, covered=False
                )
            )
            continue
        shares = [tier.collateral_max_pct, tier.fund_pct, tier.third_party_pct]
        if tier.bank_pct is not None:
            shares.append(tier.bank_pct)
        for value in shares:
            if not Decimal(0) <= value <= HUNDRED:
                raise ValidationFailed("Percentages lie between 0 and 100", field="schemes")
        bank = tier.bank_pct if tier.bank_pct is not None else HUNDRED - tier.fund_pct - tier.third_party_pct
        total = tier.fund_pct + tier.third_party_pct + bank
        if total != HUNDRED or bank < 0:
            raise ValidationFailed(
                "For grade %(grade)s the shares of the fund, the bank and the third party add up to "
                "%(total)s%%, not 100%%",
                field="schemes",
                grade=grade,
                total=f"{total.normalize():f}",
            )
        name = tier.third_party_name.strip()[:200]
        if tier.third_party_pct > 0 and not name and tier.third_party_id is None:
            raise ValidationFailed("Name the third party that takes a share", field="schemes")
        if tier.third_party_pct == 0:
            name, third_id = "", None
        else:
            third_id = tier.third_party_id
        checked.append(
            Tier(
                grade,
                tier.amount_max,
                tier.collateral_max_pct,
                tier.fund_pct,
                tier.third_party_pct,
                third_id,
                name,
                tier.amount_min,
                True,
                bank,
            )
        )
    by_grade: dict[str, list[Tier]] = {}
    for tier in checked:
        by_grade.setdefault(tier.grade, []).append(tier)
    for grade, bands in by_grade.items():
        bands.sort(key=lambda t: t.amount_min)
        for lower, upper in itertools.pairwise(bands):
            if lower.amount_max is None or upper.amount_min < lower.amount_max:
                raise ValidationFailed(
                    "The amount bands of grade %(grade)s overlap: %(first)s and %(second)s",
                    field="schemes",
                    grade=grade,
                    first=f"{_amount(lower.amount_min)}–{_amount(lower.amount_max)}",
                    second=f"{_amount(upper.amount_min)}–{_amount(upper.amount_max)}",
                )
    return checked


def _check_fee_rate(fee_rate: Decimal) -> Decimal:
    if (
        not fee_rate.is_finite()
        or not Decimal(0) <= fee_rate <= MAX_FEE_RATE
        or fee_rate != fee_rate.quantize(Decimal("0.01"))
    ):
        raise ValidationFailed(
            "The guarantee fee is an annual rate between 0 and %(max)s%%, at most two decimals",
            field="fee_rate",
            max=MAX_FEE_RATE,
        )
    return fee_rate


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Give the scheme a name of at most 200 characters", field="name")
    return name


# ----------------------------------------------------------------------------------------- reading


def scoped_schemes(stmt: S, principal: Principal) -> S:
    """Scheme versions the principal may see: its department's; the operator's staff read across."""
    if sees_all_organisations(principal):
        return stmt
    if principal.org_kind is OrgKind.DEPARTMENT:
        return stmt.where(SharingScheme.manager_id == principal.organisation_id)
    return stmt.where(false())


def get_scheme(
    session: Session, principal: Principal, scheme_id: int, *, manage: bool = False
) -> SharingScheme:
    """One scheme version the principal may read (``manage``: may revise), else NotFound."""
    require(principal, Permission.FUNDS_MANAGE if manage else Permission.FUNDS_READ)
    found = session.scalars(
        scoped_schemes(select(SharingScheme).where(SharingScheme.id == scheme_id), principal)
    ).first()
    if found is None or (manage and found.manager_id != principal.organisation_id):
        raise NotFound()
    return found


def list_schemes(
    session: Session, principal: Principal, *, current_only: bool = True
) -> Sequence[SharingScheme]:
    """The schemes the principal may read (their newest versions unless ``current_only`` is False)."""
    require(principal, Permission.FUNDS_READ)
    stmt = scoped_schemes(select(SharingScheme), principal)
    if current_only:
        stmt = stmt.where(SharingScheme.is_current.is_(True))
    return session.scalars(stmt.order_by(SharingScheme.name, SharingScheme.version.desc())).all()


def bands_of(session: Session, scheme_id: int | None) -> Sequence[RiskScheme]:
    """A scheme version's bands, by grade and amount."""
    if scheme_id is None:
        return []
    return session.scalars(
        select(RiskScheme)
        .where(RiskScheme.scheme_id == scheme_id)
        .order_by(RiskScheme.grade, RiskScheme.amount_min, RiskScheme.id)
    ).all()


def history(session: Session, scheme: SharingScheme) -> list[SharingScheme]:
    """The scheme's versions, newest first (following ``previous_id``)."""
    chain = [scheme]
    while chain[-1].previous_id is not None and len(chain) < 1000:
        previous = session.get(SharingScheme, chain[-1].previous_id)
        if previous is None:
            break
        chain.append(previous)
    newer = scheme
    while True:
        following = session.scalars(
            select(SharingScheme).where(SharingScheme.previous_id == newer.id)
        ).first()
        if following is None:
            break
        chain.insert(0, following)
        newer = following
    return chain


def funds_using(session: Session, scheme_id: int) -> Sequence[GuaranteeFund]:
    """The funds that use this scheme version now."""
    return session.scalars(
        select(GuaranteeFund).where(GuaranteeFund.scheme_id == scheme_id).order_by(GuaranteeFund.id)
    ).all()


# ----------------------------------------------------------------------------------------- writing


def write_version(
    session: Session,
    principal: Principal,
    *,
    name: str,
    tiers: Sequence[Tier],
    fee_rate: Decimal = Decimal(0),
    note: str = "",
    previous: SharingScheme | None = None,
) -> SharingScheme:
    """Write a scheme version with its bands (validated whole: nothing is written if any band is wrong)."""
    name = _check_name(name)
    bands = check_tiers(tiers)
    fee_rate = _check_fee_rate(fee_rate)
    scheme = SharingScheme(
        manager_id=principal.organisation_id,
        name=name,
        version=previous.version + 1 if previous is not None else 1,
        previous_id=previous.id if previous is not None else None,
        is_current=True,
        fee_rate=fee_rate,
        note=note.strip()[:500],
        created_by=principal.username,
    )
    session.add(scheme)
    session.flush()
    for tier in bands:
        session.add(
            RiskScheme(
                scheme_id=scheme.id,
                grade=tier.grade,
                covered=tier.covered,
                amount_min=tier.amount_min,
                amount_max=tier.amount_max,
                collateral_max_pct=tier.collateral_max_pct,
                fund_pct=tier.fund_pct,
                third_party_pct=tier.third_party_pct,
                third_party_id=tier.third_party_id,
                third_party_name=tier.third_party_name,
            )
        )
    session.flush()
    return scheme


def _department_manager(principal: Principal) -> None:
    require(principal, Permission.FUNDS_MANAGE)
    if principal.org_kind is not OrgKind.DEPARTMENT:
        raise PermissionDenied()


def create_scheme(
    session: Session,
    principal: Principal,
    *,
    name: str,
    tiers: Sequence[Tier],
    fee_rate: Decimal = Decimal(0),
    note: str = "",
) -> SharingScheme:
    """The fund manager writes a new scheme (version 1) for its department's funds to use."""
    _department_manager(principal)
    return write_version(session, principal, name=name, tiers=tiers, fee_rate=fee_rate, note=note)


def revise_scheme(
    session: Session,
    principal: Principal,
    scheme_id: int,
    *,
    name: str,
    tiers: Sequence[Tier],
    fee_rate: Decimal = Decimal(0),
    note: str = "",
) -> SharingScheme:
    """Edit a scheme: its newest version is replaced by a new one, which the funds that used it now use.

    Loans those funds covered before keep the terms they joined with. Only the newest version may be
    revised (Conflict otherwise, also when two revisions race: the first wins).
    """
    _department_manager(principal)
    old = get_scheme(session, principal, scheme_id, manage=True)
    taken = session.execute(
        update(SharingScheme)
        .where(SharingScheme.id == old.id, SharingScheme.is_current.is_(True))
        .values(is_current=False)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise Conflict("Only the newest version of a scheme can be edited")
    session.refresh(old)
    new = write_version(
        session, principal, name=name, tiers=tiers, fee_rate=fee_rate, note=note, previous=old
    )
    for fund in funds_using(session, old.id):
        fund.scheme_id = new.id
    session.flush()
    return new


def tiers_of(bands: Sequence[RiskScheme]) -> list[Tier]:
    """Stored bands as ``Tier`` values (to start an edit from)."""
    return [
        Tier(
            b.grade,
            b.amount_max,
            b.collateral_max_pct,
            b.fund_pct,
            b.third_party_pct,
            b.third_party_id,
            b.third_party_name,
            b.amount_min,
            b.covered,
            HUNDRED - b.fund_pct - b.third_party_pct if b.covered else None,
        )
        for b in bands
    ]
