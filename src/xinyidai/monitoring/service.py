"""Use cases of risk monitoring — the only entry point for pages, the API and the CLI.

Access: ``MONITORING_READ`` to see one's own organisation's board, alerts and sets (and the platform's
sets); ``MONITORING_MANAGE`` to change sets and act on alerts. Every alert query is scoped to the
principal's organisation: an institution sees alerts on its own borrowers and applicants only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, require
from xinyidai.data.lake import Lake
from xinyidai.data.models import RegistryEnterprise
from xinyidai.monitoring import alerts as alert_ops
from xinyidai.monitoring import rulesets
from xinyidai.monitoring.alerts import OPEN_STATES
from xinyidai.monitoring.models import Alert, MonitoringRun, Rule, RuleSet
from xinyidai.monitoring.runs import on_push, on_pushed_batch, run_monitoring
from xinyidai.monitoring.watch import watched

__all__ = [
    "BoardRow",
    "acknowledge_alert",
    "activate_set",
    "adopt_library_set",
    "alert_queue",
    "alert_rule",
    "backtest_set",
    "board",
    "check_expression",
    "create_set",
    "deactivate_set",
    "field_guide",
    "get_alert",
    "get_set",
    "library_for",
    "lights_for",
    "on_push",
    "on_pushed_batch",
    "recent_runs",
    "resolve_alert",
    "retire_rule",
    "rule_counts",
    "rule_history",
    "run_monitoring",
    "save_rule",
    "set_rules",
    "timeline",
    "visible_sets",
]


def _read(principal: Principal) -> None:
    require(principal, Permission.MONITORING_READ)


def _manage(principal: Principal) -> None:
    require(principal, Permission.MONITORING_MANAGE)


# -- rule sets ------------------------------------------------------------------------------------------
def visible_sets(session: Session, principal: Principal) -> list[RuleSet]:
    _read(principal)
    return rulesets.visible_sets(session, principal)


def get_set(session: Session, principal: Principal, set_id: int) -> RuleSet:
    _read(principal)
    return rulesets.get_set(session, principal, set_id)


def set_rules(session: Session, principal: Principal, set_id: int) -> list[Rule]:
    _read(principal)
    rulesets.get_set(session, principal, set_id)
    return rulesets.current_rules(session, set_id)


def rule_history(session: Session, principal: Principal, set_id: int) -> list[Rule]:
    """Every version of every rule of a set, newest first."""
    _read(principal)
    rulesets.get_set(session, principal, set_id)
    return list(
        session.scalars(
            select(Rule).where(Rule.rule_set_id == set_id).order_by(Rule.created_at.desc(), Rule.id.desc())
        )
    )


def library_for(principal: Principal) -> list[Any]:
    _read(principal)
    return rulesets.library_for(principal)


def adopt_library_set(session: Session, principal: Principal, library_code: str) -> RuleSet:
    _manage(principal)
    return rulesets.adopt_library_set(session, principal, library_code)


def create_set(session: Session, principal: Principal, **fields: Any) -> RuleSet:
    _manage(principal)
    return rulesets.create_set(session, principal, **fields)


def save_rule(session: Session, principal: Principal, set_id: int, **fields: Any) -> Rule:
    _manage(principal)
    return rulesets.save_rule(session, principal, set_id, **fields)


def retire_rule(session: Session, principal: Principal, set_id: int, code: str) -> Rule:
    _manage(principal)
    return rulesets.retire_rule(session, principal, set_id, code)


def backtest_set(session: Session, lake: Lake, principal: Principal, set_id: int) -> dict[str, Any]:
    _manage(principal)
    return rulesets.backtest_set(session, lake, principal, set_id)


def activate_set(session: Session, principal: Principal, set_id: int) -> RuleSet:
    _manage(principal)
    return rulesets.activate_set(session, principal, set_id)


def deactivate_set(session: Session, principal: Principal, set_id: int) -> RuleSet:
    _manage(principal)
    return rulesets.deactivate_set(session, principal, set_id)


# -- alerts ---------------------------------------------------------------------------------------------
def _scope(principal: Principal) -> int | None:
    """The watcher whose alerts a principal sees: its organisation (the operator: all, read-only)."""
    return None if principal.org_kind is OrgKind.OPERATOR else principal.organisation_id


def alert_queue(
    session: Session,
    principal: Principal,
    *,
    status: str | None = "open",
    severity: str | None = None,
    uscc: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Alerts of the principal's organisation, worst and newest first; with their total."""
    _read(principal)
    query = select(Alert)
    scope = _scope(principal)
    if scope is not None:
        query = query.where(Alert.organisation_id == scope)
    if status == "open":
        query = query.where(Alert.status.in_(OPEN_STATES))
    elif status:
        query = query.where(Alert.status == status)
    if severity:
        query = query.where(Alert.severity == severity)
    if uscc:
        query = query.where(Alert.uscc == uscc)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rank = func.coalesce(func.nullif(Alert.severity, ""), "low")
    rows = session.scalars(
        query.order_by((rank != "high"), (rank != "medium"), Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def get_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    _read(principal)
    alert = session.get(Alert, alert_id)
    scope = _scope(principal)
    if alert is None or (scope is not None and alert.organisation_id != scope):
        from xinyidai.core.errors import NotFound

        raise NotFound("No such alert")
    return alert


def acknowledge_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    _manage(principal)
    return alert_ops.acknowledge(
        session, alert_id, organisation_id=principal.organisation_id, username=principal.username
    )


def resolve_alert(session: Session, principal: Principal, alert_id: int, note: str) -> Alert:
    _manage(principal)
    return alert_ops.resolve(
        session, alert_id, organisation_id=principal.organisation_id, username=principal.username, note=note
    )


@dataclass(frozen=True)
class BoardRow:
    uscc: str
    name: str
    light: str  # red | orange | yellow | green
    open_alerts: int


def board(
    session: Session, principal: Principal, *, light: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[BoardRow], dict[str, int]]:
    """The portfolio as traffic lights: every firm the organisation watches, worst first; and the counts."""
    _read(principal)
    if principal.org_kind is OrgKind.OPERATOR:
        firms: set[str] = set()
        for members in watched(session).values():
            firms |= members
        scope = None
    else:
        firms = watched(session, principal.organisation_id).get(principal.organisation_id, set())
        scope = principal.organisation_id
    query = select(Alert.uscc, Alert.severity, func.count()).where(Alert.status.in_(OPEN_STATES))
    if scope is not None:
        query = query.where(Alert.organisation_id == scope)
    worst: dict[str, tuple[int, int]] = {}
    order = {"high": 0, "medium": 1, "low": 2}
    for uscc, severity, count in session.execute(query.group_by(Alert.uscc, Alert.severity)):
        if uscc not in firms:
            continue
        rank, total = worst.get(uscc, (3, 0))
        worst[uscc] = (min(rank, order.get(severity, 2)), total + int(count))
    colour = {0: "red", 1: "orange", 2: "yellow", 3: "green"}
    counts = {"red": 0, "orange": 0, "yellow": 0, "green": 0}
    rows = []
    for uscc in firms:
        rank, total = worst.get(uscc, (3, 0))
        counts[colour[rank]] += 1
        if light and colour[rank] != light:
            continue
        rows.append((rank, -total, uscc, total))
    rows.sort()
    page = rows[offset : offset + limit]
    names = (
        dict(
            session.execute(
                select(RegistryEnterprise.uscc, RegistryEnterprise.name).where(
                    RegistryEnterprise.uscc.in_([r[2] for r in page])
                )
            ).all()
        )
        if page
        else {}
    )
    return [BoardRow(u, names.get(u, ""), colour[rank], total) for rank, _t, u, total in page], counts


def timeline(session: Session, principal: Principal, uscc: str) -> list[Alert]:
    """One firm's alerts for the principal's organisation, newest first (its risk timeline)."""
    rows, _total = alert_queue(session, principal, status=None, uscc=uscc, limit=500)
    return sorted(rows, key=lambda a: (a.raised_at, a.id), reverse=True)


def recent_runs(session: Session, principal: Principal, limit: int = 10) -> list[MonitoringRun]:
    _read(principal)
    return list(session.scalars(select(MonitoringRun).order_by(MonitoringRun.id.desc()).limit(limit)))


def lights_for(session: Session, principal: Principal, uscc: list[str]) -> dict[str, str]:
    _read(principal)
    if principal.org_kind is OrgKind.OPERATOR:
        return {}
    return alert_ops.lights(session, principal.organisation_id, uscc)


def alert_rule(session: Session, principal: Principal, alert: Alert) -> Rule | None:
    """The exact rule version that raised an alert the principal may see."""
    _read(principal)
    return session.get(Rule, alert.rule_id)


def rule_counts(session: Session, set_ids: list[int]) -> dict[int, int]:
    """Current rules per set."""
    if not set_ids:
        return {}
    rows = session.execute(
        select(Rule.rule_set_id, func.count())
        .where(Rule.rule_set_id.in_(set_ids), Rule.retired_at.is_(None))
        .group_by(Rule.rule_set_id)
    )
    return {int(s): int(n) for s, n in rows}


def check_expression(principal: Principal, expression: str, trigger: str = "batch") -> list[str]:
    """Check a rule as typed, for its author's kind; the fields it reads. Raises the error with position."""
    _read(principal)
    from xinyidai.monitoring.fields import check_rule

    kind = None if principal.org_kind is OrgKind.OPERATOR else principal.org_kind
    compiled = check_rule(expression, kind)
    return sorted(compiled.fields)


@dataclass(frozen=True)
class FieldGuide:
    name: str
    type: Any
    label: str


def field_guide(principal: Principal) -> list[FieldGuide]:
    """The fields the principal's rules may read (indicators by their Chinese names; no suffixed copies)."""
    from xinyidai.indicators.service import INDICATORS
    from xinyidai.monitoring.fields import SUFFIXES, allowed_fields, monitoring_catalogue

    names = {i.id: f"{i.name_zh}（{i.unit}）" if i.unit else i.name_zh for i in INDICATORS}
    kind = None if principal.org_kind is OrgKind.OPERATOR else principal.org_kind
    allowed = allowed_fields(kind)
    catalogue = monitoring_catalogue()
    return [
        FieldGuide(name, catalogue[name].type, names.get(name, catalogue[name].description))
        for name in sorted(allowed)
        if not name.endswith(SUFFIXES)
    ]
