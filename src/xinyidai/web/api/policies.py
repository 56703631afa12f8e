"""API v1 for the policy supermarket: everyone logged in reads the policies (departments their own in
every state, enterprises and institutions the published ones); an enterprise reads the policies judged
for it — which it qualifies for and what it lacks — and its own policy applications."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from xinyidai.core.access import Permission, Principal
from xinyidai.core.i18n import translate
from xinyidai.data import service as data_service
from xinyidai.policies import service as policies
from xinyidai.policies.models import Policy, PolicyApplication
from xinyidai.web.deps import DbSession, SettingsDep, api_guard

router = APIRouter(prefix="/api/v1", tags=["policies"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
ApplicationStatus = Literal[
    "submitted", "checked", "publicity", "rejected", "revoked", "disbursed", "withdrawn"
]


class PolicyRead(BaseModel):
    id: int
    issuer: str
    title: str
    summary: str
    benefit: str
    benefit_max: Decimal | None = Field(description="the most one enterprise may receive (元)")
    materials: list[str] = Field(description="the documents an application uploads")
    opens_on: date
    closes_on: date
    eligibility: str = Field(description="who qualifies, in the platform's expression language")
    publicity_days: int = Field(description="working days of publicity (公示) before disbursement")
    status: str = Field(description="draft | published | withdrawn")


class ReasonRead(BaseModel):
    message: str = Field(description="in the caller's language")


class EligiblePolicyRead(PolicyRead):
    eligible: bool
    open_now: bool = Field(description="the application window is open today")
    reasons: list[ReasonRead] = Field(description="the clauses your enterprise does not meet yet")


class PolicyApplicationRead(BaseModel):
    id: int
    policy_id: int
    policy_title: str
    amount_requested: Decimal | None
    status: str
    check_eligible: bool | None = Field(description="the automatic eligibility check")
    decision_reason: str
    approved_amount: Decimal | None
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    disbursed_amount: Decimal | None
    disbursed_on: date | None
    created_at: datetime
    updated_at: datetime


def _policy_values(p: Policy) -> dict[str, object]:
    return {
        "id": p.id,
        "issuer": p.issuer,
        "title": p.title,
        "summary": p.summary,
        "benefit": p.benefit,
        "benefit_max": p.benefit_max,
        "materials": list(p.materials or []),
        "opens_on": p.opens_on,
        "closes_on": p.closes_on,
        "eligibility": p.eligibility,
        "publicity_days": p.publicity_days,
        "status": p.status,
    }


def _application_read(a: PolicyApplication, titles: dict[int, str]) -> PolicyApplicationRead:
    return PolicyApplicationRead(
        id=a.id,
        policy_id=a.policy_id,
        policy_title=titles.get(a.policy_id, ""),
        amount_requested=a.amount_requested,
        status=a.status,
        check_eligible=a.check_eligible,
        decision_reason=a.decision_reason,
        approved_amount=a.approved_amount,
        publicity_starts_on=a.publicity_starts_on,
        publicity_ends_on=a.publicity_ends_on,
        disbursed_amount=a.disbursed_amount,
        disbursed_on=a.disbursed_on,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _params(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


@router.get("/policies", response_model=list[PolicyRead])
def list_policies(
    db: DbSession,
    limit: Limit = 100,
    offset: Offset = 0,
    principal: Principal = api_guard(Permission.AUTHENTICATED),
) -> list[PolicyRead]:
    """The policy supermarket, newest first: a department's own policies in every state; the published
    ones for everybody else."""
    return [
        PolicyRead.model_validate(_policy_values(p))
        for p in policies.browse_policies(db, principal, limit=limit, offset=offset)
    ]


@router.get("/policies/eligible", response_model=list[EligiblePolicyRead])
def eligible_policies(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    eligible_only: Annotated[bool, Query(description="only those your enterprise qualifies for")] = False,
    principal: Principal = api_guard(Permission.POLICY_APPLY),
) -> list[EligiblePolicyRead]:
    """The published policies whose window has not closed, judged for your enterprise: those it qualifies
    for first, then those it comes closest to, each with the clauses it does not meet yet."""
    locale = getattr(request.state, "locale", "zh_CN")
    matches = policies.judge_policies(db, data_service.open_lake(settings), principal)
    return [
        EligiblePolicyRead.model_validate(
            {
                **_policy_values(m.policy),
                "eligible": m.eligible,
                "open_now": m.open_now,
                "reasons": [
                    ReasonRead(message=translate(str(r["message"]), _params(r.get("params")), locale))
                    for r in m.reasons
                ],
            }
        )
        for m in matches
        if m.eligible or not eligible_only
    ]


@router.get("/policy-applications", response_model=list[PolicyApplicationRead])
def my_policy_applications(
    db: DbSession,
    status: Annotated[ApplicationStatus | None, Query()] = None,
    limit: Limit = 100,
    principal: Principal = api_guard(Permission.POLICY_APPLY),
) -> list[PolicyApplicationRead]:
    """Your enterprise's policy applications, newest first: the automatic check, the decision, the
    publicity period and the disbursement."""
    rows = policies.list_applications(db, principal, status=status, limit=limit)
    titles = policies.policy_titles(db, sorted({a.policy_id for a in rows}))
    return [_application_read(a, titles) for a in rows]
