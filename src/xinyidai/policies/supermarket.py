"""The policy supermarket (政策超市): publish policies, apply with materials, review, publicity, disburse.

A department publishes a policy; enterprises see which published policies they qualify for and why not;
an enterprise applies within the window with every required material; the platform checks its
eligibility at once and records the result; a person at the department approves (with the amount) or
rejects (with the reason); an approval is published for ``publicity_days`` working days (公示, Chinese
public holidays counted, ``core.workdays``) during which anyone logged in may lodge an objection (异议)
that the department must answer — upholding one revokes the approval; after the publicity, with every
objection answered, the department records the disbursement (amount, date).

Every move goes through ``states`` (an illegal move is refused and changes nothing) and is a
``PolicyEvent`` with who and when; the enterprise is notified of each decision. ``today`` may be passed
in (tests, back-dated demo data); it defaults to today in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, Role, require, sees_all_organisations
from xinyidai.core.audit import record_event
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import Notification, notify_role
from xinyidai.core.workdays import add_working_days
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.market import service as market
from xinyidai.policies import eligibility, materials, states
from xinyidai.policies.models import (
    Policy,
    PolicyApplication,
    PolicyEvent,
    PolicyMaterial,
    PolicyObjection,
)
from xinyidai.policies.repository import get_scoped, scoped
from xinyidai.policies.schemas import DisbursementInput, PolicyDecision, PolicyInput

SYSTEM = "system"
ACTIVE = ("submitted", "checked", "publicity", "disbursed")
MIN_OBJECTION = 5

# -------------------------------------------------------------------------------------------- policies


def _actor(principal: Principal) -> dict[str, object]:
    return {
        "actor_user_id": principal.user_id,
        "actor_username": principal.username,
        "actor_organisation_id": principal.organisation_id,
    }


def _check_policy(data: PolicyInput) -> str:
    if data.closes_on < data.opens_on:
        raise ValidationFailed("The window cannot close before it opens", field="closes_on")
    if len(set(data.materials)) != len(data.materials):
        raise ValidationFailed("Each material may be listed only once", field="materials")
    return eligibility.validate(data.eligibility)


def save_policy(
    session: Session, principal: Principal, data: PolicyInput, policy_id: int | None = None
) -> Policy:
    """Create a draft policy of the principal's department, or update one of its policies.

    The eligibility rule is compiled first: an invalid rule is refused with the character where it goes
    wrong, and nothing is saved.
    """
    require(principal, Permission.POLICIES_MANAGE)
    rule = _check_policy(data)
    if policy_id is None:
        policy = Policy(
            department_id=principal.organisation_id, created_by=principal.username, status="draft"
        )
        session.add(policy)
    else:
        policy = get_scoped(session, principal, Policy, policy_id, lock=True)
        policy.status = states.next_state("policy", policy.status, "edit")
    policy.issuer = data.issuer
    policy.title = data.title
    policy.summary = data.summary
    policy.benefit = data.benefit
    policy.benefit_max = data.benefit_max
    policy.materials = list(data.materials)
    policy.opens_on = data.opens_on
    policy.closes_on = data.closes_on
    policy.eligibility = rule
    policy.publicity_days = data.publicity_days
    policy.updated_at = utcnow()
    session.flush()
    record_event(
        session,
        "policy.save",
        object_type="policy",
        object_id=policy.id,
        detail={"title": policy.title, "created": policy_id is None},
        **_actor(principal),  # type: ignore[arg-type]
    )
    return policy


def move_policy(session: Session, principal: Principal, policy_id: int, action: str) -> Policy:
    """Publish or withdraw one of the department's policies."""
    require(principal, Permission.POLICIES_MANAGE)
    if action not in ("publish", "withdraw"):
        raise ValidationFailed("Unknown action")
    policy = get_scoped(session, principal, Policy, policy_id, lock=True)
    policy.status = states.next_state("policy", policy.status, action)
    policy.updated_at = utcnow()
    session.flush()
    record_event(
        session,
        f"policy.{action}",
        object_type="policy",
        object_id=policy.id,
        **_actor(principal),  # type: ignore[arg-type]
    )
    return policy


def list_policies(session: Session, principal: Principal) -> Sequence[Policy]:
    """The department's policies (operators: all), newest first."""
    return session.scalars(scoped(select(Policy), principal, Policy).order_by(Policy.id.desc())).all()


def browse_policies(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Sequence[Policy]:
    """What the policy supermarket shows the principal, newest first: a department its own policies in
    every state, the operator's staff all, everyone else (enterprises, institutions) the published ones."""
    require(principal, Permission.AUTHENTICATED)
    stmt = select(Policy)
    if principal.org_kind is OrgKind.DEPARTMENT or sees_all_organisations(principal):
        stmt = scoped(stmt, principal, Policy)
    else:
        stmt = stmt.where(Policy.status == "published")
    return session.scalars(stmt.order_by(Policy.id.desc()).limit(limit).offset(offset)).all()


def get_policy(session: Session, principal: Principal, policy_id: int) -> Policy:
    """One policy the principal may see (an enterprise: published ones only)."""
    return get_scoped(session, principal, Policy, policy_id)


def application_counts(session: Session, policy_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each policy, how many applications are in each state."""
    if not policy_ids:
        return {}
    rows = session.execute(
        select(PolicyApplication.policy_id, PolicyApplication.status, func.count())
        .where(PolicyApplication.policy_id.in_(policy_ids))
        .group_by(PolicyApplication.policy_id, PolicyApplication.status)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for policy_id, status, count in rows:
        out.setdefault(policy_id, {})[status] = int(count)
    return out


# ------------------------------------------------------------------------------ enterprises' view


@dataclass(frozen=True)
class PolicyMatch:
    """A published policy judged for one enterprise: whether it qualifies and what it lacks."""

    policy: Policy
    judged: eligibility.Eligibility
    open_now: bool

    @property
    def eligible(self) -> bool:
        return self.judged.eligible

    @property
    def reasons(self) -> list[dict[str, object]]:
        return self.judged.to_reasons()


def _enterprise_inputs(
    session: Session, lake: Lake | None, principal: Principal
) -> tuple[market.EnterpriseProfileView, dict[str, object] | None]:
    me = market.own_enterprise(session, lake, principal)
    values = indicators.enterprise_indicators(lake, me.uscc) if lake is not None else None
    return me, values


def judge_policies(
    session: Session, lake: Lake | None, principal: Principal, *, today: date | None = None
) -> list[PolicyMatch]:
    """Every published policy whose window has not closed, judged for the principal's enterprise.

    Ranked: the ones it qualifies for first (open ones before those opening later), then the others
    with the fewest unmet clauses first — the policies that come closest.
    """
    require(principal, Permission.POLICY_APPLY)
    day = today or today_local()
    me, values = _enterprise_inputs(session, lake, principal)
    profile = me.as_profile()
    policies = session.scalars(
        select(Policy).where(Policy.status == "published", Policy.closes_on >= day).order_by(Policy.id)
    ).all()
    matches = [
        PolicyMatch(p, eligibility.evaluate(p.eligibility, profile, values), p.opens_on <= day)
        for p in policies
    ]
    matches.sort(key=lambda m: (not m.eligible, len(m.judged.unmet), not m.open_now, m.policy.closes_on))
    return matches


def policies_for(
    session: Session, lake: Lake | None, principal: Principal, *, limit: int = 5, today: date | None = None
) -> list[PolicyMatch]:
    """The policies that come closest for the principal's enterprise, each with what it lacks.

    For the product supermarket when the enterprise is eligible for no product: the policies it qualifies
    for first, then those with the fewest unmet clauses.
    """
    return judge_policies(session, lake, principal, today=today)[:limit]


# ------------------------------------------------------------------------------------ applications


def _event(
    session: Session,
    app: PolicyApplication,
    action: str,
    before: str,
    principal: Principal | None,
    note: str = "",
) -> None:
    session.add(
        PolicyEvent(
            application_id=app.id,
            action=action,
            from_status=before,
            to_status=app.status,
            actor_user_id=principal.user_id if principal else None,
            actor_username=principal.username if principal else SYSTEM,
            actor_organisation_id=principal.organisation_id if principal else None,
            note=note[:1000],
            occurred_at=utcnow(),
        )
    )
    session.flush()


def _move(
    session: Session, app: PolicyApplication, action: str, principal: Principal | None, note: str = ""
) -> None:
    before = app.status
    app.status = states.next_state("application", before, action)
    app.updated_at = utcnow()
    session.flush()
    _event(session, app, action, before, principal, note)


def _notify_enterprise(
    session: Session, app: PolicyApplication, title: str, body: str, params: dict[str, object]
) -> None:
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
        notify_role(
            session,
            role,
            topic="policies.application",
            title=title,
            body=body,
            params=params,
            link=f"/enterprise/policy-applications/{app.id}",
            organisation_id=app.enterprise_id,
            key=f"policy_application:{app.id}:{app.status}",
        )


def _notify_department(
    session: Session,
    department_id: int,
    title: str,
    body: str,
    params: dict[str, object],
    link: str,
    key: str,
) -> None:
    for role in (Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF):
        notify_role(
            session,
            role,
            topic="policies.review",
            title=title,
            body=body,
            params=params,
            link=link,
            organisation_id=department_id,
            key=key,
        )


def check_window(policy: Policy, day: date) -> None:
    """Refuse an application outside the policy's window, saying when it opens or closed."""
    if day < policy.opens_on:
        raise Conflict("Applications for this policy open on %(date)s", date=policy.opens_on.isoformat())
    if day > policy.closes_on:
        raise Conflict("Applications for this policy closed on %(date)s", date=policy.closes_on.isoformat())


def apply(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    policy_id: int,
    uploads: Sequence[materials.MaterialUpload],
    home: Path,
    *,
    amount_requested: Decimal | None = None,
    statement: str = "",
    idempotency_key: str | None = None,
    today: date | None = None,
) -> PolicyApplication:
    """The enterprise applies for a published policy with every required material.

    Refused — nothing saved — outside the window, without a required material, with a file of the wrong
    type or too large, or while it has an application for the policy under way. The eligibility check
    runs at once and is recorded with the application (the department sees it; it does not refuse).
    The same idempotency key twice returns the first application.
    """
    require(principal, Permission.POLICY_APPLY)
    if idempotency_key:
        earlier = session.scalars(
            select(PolicyApplication).where(
                PolicyApplication.enterprise_id == principal.organisation_id,
                PolicyApplication.idempotency_key == idempotency_key,
            )
        ).first()
        if earlier is not None:
            return earlier
    day = today or today_local()
    policy = get_scoped(session, principal, Policy, policy_id)
    check_window(policy, day)
    if amount_requested is not None:
        if amount_requested <= 0:
            raise ValidationFailed("Enter an amount above zero", field="amount_requested")
        if policy.benefit_max is not None and amount_requested > policy.benefit_max:
            raise ValidationFailed(
                "The policy pays at most %(max)s yuan",
                field="amount_requested",
                max=f"{policy.benefit_max:,.2f}",
            )
    under_way = session.scalars(
        select(PolicyApplication.id).where(
            PolicyApplication.policy_id == policy.id,
            PolicyApplication.enterprise_id == principal.organisation_id,
            PolicyApplication.status.in_(ACTIVE),
        )
    ).first()
    if under_way is not None:
        raise Conflict("You already applied for this policy (application No. %(id)s)", id=under_way)
    checked = materials.check_materials(policy.materials, uploads)
    me, values = _enterprise_inputs(session, lake, principal)
    app = PolicyApplication(
        policy_id=policy.id,
        department_id=policy.department_id,
        enterprise_id=me.organisation_id,
        uscc=me.uscc,
        enterprise_name=me.name,
        amount_requested=amount_requested,
        statement=statement[:10000],
        status="submitted",
        idempotency_key=idempotency_key,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(app)
    session.flush()
    _event(session, app, "submit", "", principal)
    for index, item in enumerate(checked):
        session.add(
            PolicyMaterial(
                application_id=app.id,
                material=item.upload.material,
                filename=item.upload.filename,
                content_type=item.content_type,
                size=len(item.upload.content),
                sha256=item.sha256,
                stored_path=materials.store(home, app.id, index, item),
                uploaded_at=utcnow(),
            )
        )
    judged = eligibility.evaluate(policy.eligibility, me.as_profile(), values)
    _record_check(session, app, judged)
    _notify_department(
        session,
        policy.department_id,
        N_("A new policy application"),
        N_("%(enterprise)s applied for %(policy)s."),
        {"enterprise": me.name, "policy": policy.title},
        f"/government/policy-applications/{app.id}",
        f"policy_application:{app.id}",
    )
    return app


def _record_check(session: Session, app: PolicyApplication, judged: eligibility.Eligibility) -> None:
    app.check_eligible = judged.eligible
    app.check_reasons = judged.to_reasons()
    app.checked_at = utcnow()
    note = "eligible" if judged.eligible else "; ".join(judged.unmet) or "no data"
    _move(session, app, "check", None, note)


def recheck(
    session: Session, lake: Lake | None, principal: Principal, application_id: int
) -> PolicyApplication:
    """Run the automatic eligibility check again on the enterprise's newest data (recorded as a move)."""
    require(principal, Permission.POLICIES_MANAGE)
    app = get_scoped(session, principal, PolicyApplication, application_id, lock=True)
    states.next_state("application", app.status, "check")
    policy = session.get(Policy, app.policy_id)
    assert policy is not None
    profile = market.enterprise_profile(session, lake, app.enterprise_id)
    values = indicators.enterprise_indicators(lake, app.uscc) if lake is not None else None
    _record_check(session, app, eligibility.evaluate(policy.eligibility, profile.as_profile(), values))
    return app


def decide(
    session: Session,
    principal: Principal,
    application_id: int,
    data: PolicyDecision,
    *,
    today: date | None = None,
) -> PolicyApplication:
    """A person at the department approves (publicity starts) or rejects (with the reason).

    Approving an application the automatic check found not eligible needs a reason. The amount granted
    may not exceed the policy's maximum. Publicity runs from today for the policy's working days.
    """
    require(principal, Permission.POLICIES_MANAGE)
    app = get_scoped(session, principal, PolicyApplication, application_id, lock=True)
    policy = session.get(Policy, app.policy_id)
    assert policy is not None
    day = today or today_local()
    if data.approve:
        states.next_state("application", app.status, "approve")
        if app.check_eligible is False and not data.reason:
            raise ValidationFailed(
                "The automatic check found the enterprise not eligible: give the reason for approving it",
                field="reason",
            )
        if data.amount is not None and policy.benefit_max is not None and data.amount > policy.benefit_max:
            raise ValidationFailed(
                "The policy pays at most %(max)s yuan", field="amount", max=f"{policy.benefit_max:,.2f}"
            )
        app.approved_amount = data.amount
        app.publicity_starts_on = day
        app.publicity_ends_on = add_working_days(day, policy.publicity_days)
        action = "approve"
    else:
        states.next_state("application", app.status, "reject")
        if len(data.reason) < 2:
            raise ValidationFailed("Give the reason the enterprise will read", field="reason")
        action = "reject"
    app.decision_reason = data.reason
    app.decided_by = principal.username
    app.decided_at = utcnow()
    _move(session, app, action, principal, data.reason)
    if data.approve:
        _notify_enterprise(
            session,
            app,
            N_("Your policy application was approved"),
            N_("%(policy)s: approved; the result is in publicity until %(date)s."),
            {"policy": policy.title, "date": str(app.publicity_ends_on)},
        )
    else:
        _notify_enterprise(
            session,
            app,
            N_("Your policy application was rejected"),
            N_("%(policy)s: %(reason)s"),
            {"policy": policy.title, "reason": data.reason},
        )
    return app


def withdraw(session: Session, principal: Principal, application_id: int) -> PolicyApplication:
    """The enterprise withdraws its application before a decision."""
    require(principal, Permission.POLICY_APPLY)
    app = get_scoped(session, principal, PolicyApplication, application_id, lock=True)
    _move(session, app, "withdraw", principal)
    return app


def disburse(
    session: Session,
    principal: Principal,
    application_id: int,
    data: DisbursementInput,
    *,
    today: date | None = None,
) -> PolicyApplication:
    """Record the money paid after a publicity without upheld objections.

    Refused while the publicity runs, while an objection is unanswered, for more than the amount approved
    (or the policy's maximum), or for a date before the publicity ended or in the future.
    """
    require(principal, Permission.POLICIES_MANAGE)
    app = get_scoped(session, principal, PolicyApplication, application_id, lock=True)
    states.next_state("application", app.status, "disburse")
    day = today or today_local()
    assert app.publicity_ends_on is not None
    if day <= app.publicity_ends_on:
        raise Conflict(
            "The publicity runs until %(date)s: record the disbursement after it",
            date=app.publicity_ends_on.isoformat(),
        )
    unanswered = _open_objections(session, app.id)
    if unanswered:
        raise Conflict("Answer the %(count)s open objections first", count=unanswered)
    policy = session.get(Policy, app.policy_id)
    assert policy is not None
    ceiling = app.approved_amount if app.approved_amount is not None else policy.benefit_max
    if ceiling is not None and data.amount > ceiling:
        raise ValidationFailed(
            "At most %(max)s yuan was approved", field="amount", max=f"{Decimal(ceiling):,.2f}"
        )
    if data.disbursed_on > day:
        raise ValidationFailed("The date cannot be in the future", field="disbursed_on")
    if data.disbursed_on <= app.publicity_ends_on:
        raise ValidationFailed(
            "The money can only be paid after the publicity ended on %(date)s",
            field="disbursed_on",
            date=app.publicity_ends_on.isoformat(),
        )
    app.disbursed_amount = data.amount
    app.disbursed_on = data.disbursed_on
    _move(session, app, "disburse", principal, f"{data.amount:,.2f}")
    record_event(
        session,
        "policy.disburse",
        object_type="policy_application",
        object_id=app.id,
        detail={"amount": str(data.amount), "date": data.disbursed_on.isoformat()},
        **_actor(principal),  # type: ignore[arg-type]
    )
    _notify_enterprise(
        session,
        app,
        N_("Your policy funds were paid"),
        N_("%(policy)s: %(amount)s yuan paid on %(date)s."),
        {"policy": policy.title, "amount": f"{data.amount:,.2f}", "date": data.disbursed_on.isoformat()},
    )
    return app


def list_applications(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    policy_id: int | None = None,
    limit: int = 500,
) -> Sequence[PolicyApplication]:
    """The department's (or the enterprise's own) applications, newest first."""
    stmt = scoped(select(PolicyApplication), principal, PolicyApplication)
    if status:
        stmt = stmt.where(PolicyApplication.status == status)
    if policy_id is not None:
        stmt = stmt.where(PolicyApplication.policy_id == policy_id)
    return session.scalars(stmt.order_by(PolicyApplication.id.desc()).limit(limit)).all()


def get_application(session: Session, principal: Principal, application_id: int) -> PolicyApplication:
    """One application of the department (or of the enterprise itself); another's answers NotFound."""
    return get_scoped(session, principal, PolicyApplication, application_id)


def application_materials(session: Session, application_id: int) -> Sequence[PolicyMaterial]:
    return session.scalars(
        select(PolicyMaterial)
        .where(PolicyMaterial.application_id == application_id)
        .order_by(PolicyMaterial.id)
    ).all()


def material_file(
    session: Session, principal: Principal, application_id: int, material_id: int, home: Path
) -> tuple[PolicyMaterial, bytes]:
    """One uploaded file of an application the principal may see, with its bytes."""
    app = get_scoped(session, principal, PolicyApplication, application_id)
    material = session.get(PolicyMaterial, material_id)
    if material is None or material.application_id != app.id:
        raise NotFound()
    return material, materials.read(home, material.stored_path)


def application_events(session: Session, application_id: int) -> Sequence[PolicyEvent]:
    return session.scalars(
        select(PolicyEvent).where(PolicyEvent.application_id == application_id).order_by(PolicyEvent.id)
    ).all()


def policy_titles(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Policy.id, Policy.title).where(Policy.id.in_(set(ids))))
    return {row.id: row.title for row in rows}


# --------------------------------------------------------------------------- publicity and objections


def _open_objections(session: Session, application_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(PolicyObjection)
            .where(PolicyObjection.application_id == application_id, PolicyObjection.status == "open")
        )
        or 0
    )


def in_publicity(session: Session, *, today: date | None = None) -> Sequence[PolicyApplication]:
    """Every approved result now in publicity, on any policy (the public list), newest first."""
    day = today or today_local()
    return session.scalars(
        select(PolicyApplication)
        .where(PolicyApplication.status == "publicity", PolicyApplication.publicity_ends_on >= day)
        .order_by(PolicyApplication.publicity_ends_on, PolicyApplication.id)
    ).all()


def lodge_objection(
    session: Session, principal: Principal, application_id: int, text: str, *, today: date | None = None
) -> PolicyObjection:
    """Anyone logged in lodges an objection to a result in publicity; the department is told."""
    require(principal, Permission.AUTHENTICATED)
    day = today or today_local()
    app = session.get(PolicyApplication, application_id)
    if app is None or app.status != "publicity" or app.publicity_ends_on is None:
        raise NotFound()
    if day > app.publicity_ends_on:
        raise Conflict("The publicity ended on %(date)s", date=app.publicity_ends_on.isoformat())
    text = text.strip()
    if len(text) < MIN_OBJECTION:
        raise ValidationFailed(
            "Say what is wrong in at least %(count)s characters", field="text", count=MIN_OBJECTION
        )
    objection = PolicyObjection(
        application_id=app.id,
        department_id=app.department_id,
        text=text[:2000],
        lodged_by_user_id=principal.user_id,
        lodged_by=principal.username,
        lodged_by_organisation_id=principal.organisation_id,
        lodged_at=utcnow(),
        status="open",
    )
    session.add(objection)
    session.flush()
    _event(session, app, "objection", app.status, principal, text[:200])
    _notify_department(
        session,
        app.department_id,
        N_("An objection was lodged"),
        N_("An objection to the result for %(enterprise)s must be answered."),
        {"enterprise": app.enterprise_name},
        f"/government/policy-applications/{app.id}",
        f"policy_objection:{objection.id}",
    )
    return objection


def answer_objection(
    session: Session, principal: Principal, objection_id: int, *, uphold: bool, answer: str
) -> PolicyObjection:
    """The department answers an objection; upholding it revokes the approval (the enterprise is told)."""
    require(principal, Permission.POLICIES_MANAGE)
    objection = get_scoped(session, principal, PolicyObjection, objection_id, lock=True)
    if objection.status != "open":
        raise Conflict(
            "You cannot %(action_label)s now: it is %(state_label)s",
            action_label=N_("answer"),
            state_label=states.STATE_LABELS.get(objection.status, objection.status),
        )
    answer = answer.strip()
    if len(answer) < 2:
        raise ValidationFailed("Write the answer the objector will read", field="answer")
    app = get_scoped(session, principal, PolicyApplication, objection.application_id, lock=True)
    if uphold:
        states.next_state("application", app.status, "revoke")
    objection.status = "upheld" if uphold else "dismissed"
    objection.answer = answer[:2000]
    objection.answered_by = principal.username
    objection.answered_at = utcnow()
    session.flush()
    if uphold:
        _move(session, app, "revoke", principal, answer)
        policy = session.get(Policy, app.policy_id)
        _notify_enterprise(
            session,
            app,
            N_("Your policy approval was revoked"),
            N_("%(policy)s: an objection was upheld: %(reason)s"),
            {"policy": policy.title if policy else "", "reason": answer},
        )
    else:
        _event(session, app, "dismiss_objection", app.status, principal, answer)
    if objection.lodged_by_user_id is not None:
        session.add(
            Notification(
                topic="policies.objection",
                key=f"policy_objection:{objection.id}:answer",
                title=N_("Your objection was answered"),
                body=N_("The department answered your objection: %(answer)s"),
                params={"answer": answer[:500]},
                link="/policies/publicity",
                user_id=objection.lodged_by_user_id,
            )
        )
        session.flush()
    return objection


def objections_of(session: Session, application_id: int) -> Sequence[PolicyObjection]:
    return session.scalars(
        select(PolicyObjection)
        .where(PolicyObjection.application_id == application_id)
        .order_by(PolicyObjection.id)
    ).all()


def is_enterprise(principal: Principal) -> bool:
    return principal.org_kind is OrgKind.ENTERPRISE
