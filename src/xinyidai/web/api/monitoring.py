"""API v1 for risk monitoring: check a rule as it is typed (the rule editor calls it), and the alerts of the
caller's organisation for its own systems (institutions pull them; webhooks push them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from xinyidai.core.access import Permission, Principal
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import translate
from xinyidai.monitoring import service as monitoring
from xinyidai.web.deps import DbSession, api_guard

router = APIRouter(prefix="/api/v1/monitoring", tags=["monitoring"])


class RuleCheck(BaseModel):
    expression: str = Field(max_length=2000)
    trigger: Literal["batch", "event"] = "batch"


class RuleCheckResult(BaseModel):
    valid: bool
    message: str = ""
    position: int | None = None
    fields: list[str] = []


@router.post("/rules/check", response_model=RuleCheckResult)
def check_rule(
    body: Annotated[RuleCheck, Body()],
    principal: Principal = api_guard(Permission.MONITORING_MANAGE),
) -> RuleCheckResult:
    """Whether a rule is valid for your organisation; if not, the message (in Chinese) and the position."""
    try:
        fields = monitoring.check_expression(principal, body.expression, body.trigger)
    except ValidationFailed as error:
        position = error.params.get("position")
        return RuleCheckResult(
            valid=False,
            message=translate(error.message, error.params),
            position=int(position) if position is not None else None,
        )
    return RuleCheckResult(valid=True, fields=fields)


class AlertRead(BaseModel):
    id: int
    uscc: str
    enterprise_name: str
    rule_code: str
    rule_name: str
    severity: str
    status: str
    source: str
    as_of: date
    raised_at: datetime
    last_seen_at: datetime
    times_seen: int
    values: dict[str, Any]
    resolution_note: str


@router.get("/alerts", response_model=list[AlertRead])
def alerts(
    db: DbSession,
    status: Annotated[Literal["open", "new", "acknowledged", "resolved"], Query()] = "open",
    severity: Annotated[Literal["high", "medium", "low"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    principal: Principal = api_guard(Permission.MONITORING_READ),
) -> list[AlertRead]:
    """Alerts on your organisation's borrowers and applicants (or whitelists), worst and newest first."""
    rows, _total = monitoring.alert_queue(
        db, principal, status=status, severity=severity, limit=limit, offset=offset
    )
    return [AlertRead.model_validate(a, from_attributes=True) for a in rows]
