"""Consents (授权) and the record of every look at a credit report.

征信业管理条例 Art. 18 and PIPL Art. 13/23: an institution may see an enterprise's full credit report only
with the enterprise's consent — for stated report types and purpose, until a date, revocable at any time.
The enterprise signs the exact text shown to it; the record keeps who, when, the text and its SHA-256, so
what was agreed can be proven later. Every look, and every refused attempt, is recorded, and the
enterprise sees who looked at its report and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation, User
from xinyidai.core import evidence
from xinyidai.core.access import OrgKind, Permission, Principal, require
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.market.models import Consent, Loan, Need, Order, ReportQuery
from xinyidai.market.repository import get_scoped, scoped
from xinyidai.market.schemas import ConsentInput

PURPOSE_TEXT = {
    "loan_review": "贷前审查",
    "post_loan": "贷后管理",
    "guarantee_review": "担保审查",
}
REPORT_TEXT = {"concise": "简版信用报告", "full": "完整版信用报告"}
MAX_DAYS = 366  # a consent lasts at most a year; the enterprise renews it if it wants


def consent_text(
    enterprise: str, uscc: str, grantee: str, report_types: Sequence[str], purpose: str, expires_on: date
) -> str:
    """The exact words the enterprise signs (zh-CN, the language of the agreement)."""
    reports = "、".join(REPORT_TEXT[t] for t in report_types)
    return (
        f"本企业{enterprise}（统一社会信用代码 {uscc}）授权{grantee}，为{PURPOSE_TEXT[purpose]}之目的，"
        f"通过本平台查询并使用本企业的{reports}，授权有效期至{expires_on.isoformat()}（含当日）。"
        "本企业可随时撤销本授权，撤销前已发生的查询不受影响。被授权方不得将报告用于上述目的以外的用途，"
        "不得向第三方提供。"
    )


def _sign(
    session: Session, principal: Principal, consent: Consent, text: str, signed_text: str | None
) -> Consent:
    if signed_text is not None and signed_text.strip() != text:
        raise Conflict("The authorisation text has changed since you read it; please read it again and sign")
    consent.text = text
    consent.text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    consent.signed_by = principal.username
    consent.signed_by_user_id = principal.user_id
    consent.signed_at = utcnow()
    session.add(consent)
    session.flush()
    evidence.append(
        session,
        "consent.given",
        {
            "consent_id": consent.id,
            "institution_id": consent.institution_id,
            "need_id": consent.need_id,
            "report_types": list(consent.report_types or []),
            "purpose": consent.purpose,
            "expires_on": consent.expires_on,
            "text_sha256": consent.text_sha256,
            "by": evidence.actor(principal),
        },
        subject=f"consent:{consent.id}",
        enterprise_uscc=consent.uscc,
        organisation_id=consent.institution_id,
    )
    return consent


def _enterprise(session: Session, principal: Principal) -> tuple[Organisation, str]:
    if principal.org_kind is not OrgKind.ENTERPRISE:
        raise PermissionDenied()
    org = session.get(Organisation, principal.organisation_id)
    if org is None or org.enterprise is None:
        raise NotFound()
    return org, org.enterprise.uscc


def preview_text(session: Session, principal: Principal, data: ConsentInput) -> str:
    """The text the enterprise will sign for ``data`` (shown before it confirms)."""
    org, uscc = _enterprise(session, principal)
    return consent_text(
        org.name,
        uscc,
        _grantee_name(session, principal, data),
        data.report_types,
        data.purpose,
        data.expires_on,
    )


def _grantee_name(session: Session, principal: Principal, data: ConsentInput) -> str:
    if data.institution_id is not None:
        institution = session.get(Organisation, data.institution_id)
        if institution is None or institution.kind != OrgKind.INSTITUTION.value:
            raise ValidationFailed("No such financial institution", field="institution_id")
        return institution.name
    need = get_scoped(session, principal, Need, data.need_id or 0)
    return f"承接本企业第 {need.id} 号融资需求的金融机构"


def give_consent(
    session: Session, principal: Principal, data: ConsentInput, *, signed_text: str | None = None
) -> Consent:
    """The enterprise authorises an institution (or a need's takers) — signed with the exact text.

    Raises:
        ValidationFailed: the expiry is in the past or more than a year ahead; the institution is unknown.
        Conflict: ``signed_text`` differs from the text the platform would record.
    """
    require(principal, Permission.CONSENT_SIGN)
    today = today_local()
    if data.expires_on < today:
        raise ValidationFailed("The expiry date is in the past", field="expires_on")
    if data.expires_on > today + timedelta(days=MAX_DAYS):
        raise ValidationFailed("An authorisation lasts at most one year", field="expires_on")
    org, uscc = _enterprise(session, principal)
    text = consent_text(
        org.name,
        uscc,
        _grantee_name(session, principal, data),
        data.report_types,
        data.purpose,
        data.expires_on,
    )
    consent = Consent(
        enterprise_id=org.id,
        uscc=uscc,
        institution_id=data.institution_id,
        need_id=data.need_id,
        report_types=list(data.report_types),
        purpose=data.purpose,
        expires_on=data.expires_on,
        status="given",
    )
    return _sign(session, principal, consent, text, signed_text)


def sign_for_need(
    session: Session, principal: Principal, need: Need, *, signed_text: str | None = None
) -> Consent:
    """The consent that comes with publishing a need: its takers may see the full report until it expires."""
    data = ConsentInput(
        need_id=need.id, report_types=["full"], purpose="loan_review", expires_on=need.expires_on
    )
    org, uscc = _enterprise(session, principal)
    text = consent_text(
        org.name,
        uscc,
        f"承接本企业第 {need.id} 号融资需求的金融机构",
        data.report_types,
        data.purpose,
        data.expires_on,
    )
    consent = Consent(
        enterprise_id=org.id,
        uscc=uscc,
        need_id=need.id,
        report_types=["full"],
        purpose="loan_review",
        expires_on=need.expires_on,
        status="given",
    )
    return _sign(session, principal, consent, text, signed_text)


def sign_for_application(
    session: Session, principal: Principal, institution_id: int, days: int = 90
) -> Consent:
    """The consent that comes with applying to a product: that institution, for loan review, ``days`` days."""
    data = ConsentInput(
        institution_id=institution_id,
        report_types=["full"],
        purpose="loan_review",
        expires_on=today_local() + timedelta(days=days),
    )
    return give_consent(session, principal, data)


def revoke_consent(session: Session, principal: Principal, consent_id: int) -> Consent:
    """The enterprise withdraws a consent; looks already made stay recorded, new ones are refused."""
    require(principal, Permission.CONSENT_SIGN)
    consent = get_scoped(session, principal, Consent, consent_id, lock=True)
    if consent.status != "given":
        raise IllegalTransition("This authorisation has already been revoked")
    consent.status = "revoked"
    consent.revoked_at = utcnow()
    evidence.append(
        session,
        "consent.revoked",
        {"consent_id": consent.id, "text_sha256": consent.text_sha256, "by": evidence.actor(principal)},
        subject=f"consent:{consent.id}",
        enterprise_uscc=consent.uscc,
        organisation_id=consent.institution_id,
    )
    return consent


def live_consent(
    session: Session,
    institution_id: int,
    uscc: str,
    version: str,
    *,
    purpose: str | None = None,
    on: date | None = None,
) -> Consent | None:
    """A consent that lets ``institution_id`` see ``version`` of ``uscc``'s report today, or None.

    Given (not revoked), not expired, covering the version, and either to this institution or to the
    takers of a need this institution holds or has an offer on.
    """
    day = on or today_local()
    held_need = exists().where(
        Order.need_id == Consent.need_id,
        Order.institution_id == institution_id,
        Order.status.in_(("held", "offered", "accepted")),
    )
    candidates = session.scalars(
        select(Consent)
        .where(
            Consent.uscc == uscc,
            Consent.status == "given",
            Consent.expires_on >= day,
            or_(Consent.institution_id == institution_id, and_(Consent.need_id.is_not(None), held_need)),
        )
        .order_by(Consent.expires_on.desc())
    ).all()
    return next(
        (c for c in candidates if version in (c.report_types or []) and purpose in (None, c.purpose)), None
    )


def lends_to(session: Session, institution_id: int, uscc: str) -> bool:
    """Has the institution a loan to the enterprise that is not repaid (its post-loan basis to look)?"""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Loan.institution_id == institution_id,
                    Loan.uscc == uscc,
                    Loan.status.in_(("current", "overdue", "defaulted")),
                )
            )
        )
    )


def report_consent_check(
    session: Session, principal: Principal, channel: str
) -> Callable[[str, str, str], int | None]:
    """The consent check the credit report runs for an institution (``rating.report.ConsentCheck``)."""

    def check(uscc: str, version: str, purpose: str) -> int | None:
        consent = check_report_access(session, principal, uscc, version, purpose=purpose, channel=channel)
        return consent.id if consent is not None else None

    return check


def check_report_access(
    session: Session, principal: Principal, uscc: str, version: str, *, purpose: str, channel: str
) -> Consent | None:
    """Decide an institution's look at a report and record it (allowed or refused).

    Institutions need a live consent for the purpose (403 otherwise, and the attempt is recorded); a
    lender looking for post-loan management relies on its loan contract. Operator staff look without one
    (supervision; their looks are audited by the report itself). Returns the consent used, if any.
    """
    if principal.org_kind is not OrgKind.INSTITUTION:
        return None
    consent = live_consent(session, principal.organisation_id, uscc, version, purpose=purpose)
    # A lender manages its loan under the loan contract's own authorisation (post-loan looks).
    contractual = (
        consent is None and purpose == "post_loan" and lends_to(session, principal.organisation_id, uscc)
    )
    query = ReportQuery(
        uscc=uscc,
        institution_id=principal.organisation_id,
        user_id=principal.user_id,
        username=principal.username,
        person_name=_person_name(session, principal),
        consent_id=consent.id if consent else None,
        purpose=purpose,
        version=version,
        channel=channel,
        result="allowed" if consent or contractual else "refused",
    )
    session.add(query)
    session.flush()
    evidence.append(
        session,
        "report.query",
        {
            "query_id": query.id,
            "consent_id": query.consent_id,
            "purpose": purpose,
            "version": version,
            "channel": channel,
            "result": query.result,
            "by": evidence.actor(principal),
        },
        subject=f"report_query:{query.id}",
        enterprise_uscc=uscc,
        organisation_id=principal.organisation_id,
    )
    if consent is None and not contractual:
        raise ConsentRequired()  # keep_changes: the unit of work commits the record of the attempt
    return consent


def _person_name(session: Session, principal: Principal) -> str:
    """The querying person's name (a machine client: its organisation's system, by its client name)."""
    if principal.user_id is None:
        return principal.username
    user = session.get(User, principal.user_id)
    return user.display_name if user is not None else principal.username


class ConsentRequired(PermissionDenied):
    """An institution asked for a report the enterprise has not (or no longer) authorised."""

    code = "consent_required"
    title = "The enterprise has not authorised you to see this report, or its authorisation has expired"
    keep_changes = True


def consents_given(session: Session, principal: Principal, *, limit: int = 100) -> Sequence[Consent]:
    """The enterprise's consents, newest first."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    return session.scalars(
        scoped(select(Consent), principal, Consent).order_by(Consent.id.desc()).limit(limit)
    ).all()


def consents_received(
    session: Session, principal: Principal, *, expiring_within: int | None = None, limit: int = 200
) -> Sequence[Consent]:
    """Live consents an institution holds (directly or through needs it holds), soonest expiry first.

    ``expiring_within``: only those that expire within that many days (the "about to expire" list).
    """
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    today = today_local()
    held_need = exists().where(
        Order.need_id == Consent.need_id,
        Order.institution_id == principal.organisation_id,
        Order.status.in_(("held", "offered", "accepted")),
    )
    stmt = select(Consent).where(
        Consent.status == "given",
        Consent.expires_on >= today,
        or_(
            Consent.institution_id == principal.organisation_id, and_(Consent.need_id.is_not(None), held_need)
        ),
    )
    if expiring_within is not None:
        stmt = stmt.where(Consent.expires_on <= today + timedelta(days=expiring_within))
    return session.scalars(stmt.order_by(Consent.expires_on, Consent.id).limit(limit)).all()


def who_looked(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Sequence[tuple[ReportQuery, str]]:
    """Every look (and refused attempt) at the enterprise's report: the query and the institution's name."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    _org, uscc = _enterprise(session, principal)
    rows = session.execute(
        select(ReportQuery, Organisation.name)
        .join(Organisation, Organisation.id == ReportQuery.institution_id)
        .where(ReportQuery.uscc == uscc)
        .order_by(ReportQuery.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(q, name) for q, name in rows]
