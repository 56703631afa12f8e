"""Rule sets and rules: adopt from the library, write your own, edit (versioned), backtest, switch on.

Every set belongs to its owner's organisation (an institution, a department) or, written by the operator,
to the whole platform. Only the owner changes it; institutions and departments read platform sets.
A rule is checked for its owner's kind when saved (position of the error; a field the owner may not use
is refused). Editing a rule writes a new version and bumps the set's version; a set is switched on only
when its current version has been backtested on history (``backtest_set``), so its owner has seen how
many alerts it would raise and how many of those firms went on to default. Every change is appended to
the evidence log.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xinyidai.core import evidence
from xinyidai.core.access import OrgKind, Principal
from xinyidai.core.audit import record_event
from xinyidai.core.clock import utcnow
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.data.lake import Lake
from xinyidai.monitoring.alerts import SEVERITIES
from xinyidai.monitoring.backtest import BacktestRule, backtest_rules
from xinyidai.monitoring.fields import check_rule
from xinyidai.monitoring.library import LIBRARY, library_set
from xinyidai.monitoring.models import Rule, RuleSet

__all__ = [
    "activate_set",
    "adopt_library_set",
    "backtest_set",
    "create_set",
    "current_rules",
    "deactivate_set",
    "get_set",
    "library_for",
    "retire_rule",
    "save_rule",
    "visible_sets",
]

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
TRIGGERS = ("batch", "event")


def _owner_of(principal: Principal) -> int | None:
    """The organisation a principal's sets belong to: None (platform) for the operator."""
    return None if principal.org_kind is OrgKind.OPERATOR else principal.organisation_id


def _kind_of(rule_set: RuleSet, principal: Principal) -> OrgKind | None:
    return None if rule_set.organisation_id is None else principal.org_kind


def visible_sets(session: Session, principal: Principal) -> list[RuleSet]:
    """The principal's organisation's sets and the platform's."""
    query = select(RuleSet).order_by(RuleSet.organisation_id.is_(None).desc(), RuleSet.code)
    if principal.org_kind is not OrgKind.OPERATOR:
        query = query.where(
            or_(RuleSet.organisation_id == principal.organisation_id, RuleSet.organisation_id.is_(None))
        )
    else:
        query = query.where(RuleSet.organisation_id.is_(None))
    return list(session.scalars(query))


def get_set(session: Session, principal: Principal, set_id: int, *, for_update: bool = False) -> RuleSet:
    rule_set = session.get(RuleSet, set_id, with_for_update=for_update or None)
    if rule_set is None or rule_set.organisation_id not in (None, _owner_of(principal)):
        raise NotFound("No such rule set")
    if rule_set.organisation_id is None and principal.org_kind is not OrgKind.OPERATOR and for_update:
        raise PermissionDenied("Platform-wide rule sets are maintained by the operator")
    return rule_set


def _editable(session: Session, principal: Principal, set_id: int) -> RuleSet:
    rule_set = get_set(session, principal, set_id, for_update=True)
    if rule_set.organisation_id != _owner_of(principal):
        raise PermissionDenied("Platform-wide rule sets are maintained by the operator")
    return rule_set


def current_rules(session: Session, set_id: int) -> list[Rule]:
    return list(
        session.scalars(
            select(Rule).where(Rule.rule_set_id == set_id, Rule.retired_at.is_(None)).order_by(Rule.code)
        )
    )


def library_for(principal: Principal) -> list[Any]:
    """The library sets this principal's organisation may adopt."""
    from xinyidai.monitoring.library import AUDIENCE_KINDS

    kind = None if principal.org_kind is OrgKind.OPERATOR else principal.org_kind
    return [s for s in LIBRARY if kind in AUDIENCE_KINDS[s.audience]]


def _check_code(code: str, field: str = "code") -> str:
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise ValidationFailed(
            "A code is 1–64 letters, digits, '-' or '_', starting with a letter or digit", field=field
        )
    return code


def create_set(
    session: Session, principal: Principal, *, code: str, name: str, description: str = ""
) -> RuleSet:
    code = _check_code(code)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Give the rule set a name (at most 200 characters)", field="name")
    owner = _owner_of(principal)
    exists = session.scalar(
        select(RuleSet.id).where(
            RuleSet.code == code,
            (RuleSet.organisation_id == owner) if owner is not None else RuleSet.organisation_id.is_(None),
        )
    )
    if exists is not None:
        raise Conflict("You already have a rule set with the code %(code)s", code=code)
    rule_set = RuleSet(
        organisation_id=owner,
        code=code,
        name=name,
        description=description.strip()[:1000],
        created_by=principal.username,
        version=1,
    )
    session.add(rule_set)
    session.flush()
    record_event(
        session,
        "monitoring.rule_set.create",
        object_type="monitoring_rule_set",
        object_id=str(rule_set.id),
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
    )
    return rule_set


def adopt_library_set(session: Session, principal: Principal, library_code: str) -> RuleSet:
    """Copy a library set (inactive) into the principal's organisation; its rules checked for the owner."""
    template = library_set(library_code)
    if template not in library_for(principal):
        raise PermissionDenied("This library rule set is not meant for your kind of organisation")
    rule_set = create_set(
        session, principal, code=template.code, name=template.name, description=template.description
    )
    rule_set.library_code = template.code
    for item in template.rules:
        save_rule(
            session,
            principal,
            rule_set.id,
            code=item.code,
            name=item.name,
            expression=item.expression,
            severity=item.severity,
            trigger=item.trigger,
            description=item.description,
            _bump=False,
        )
    session.flush()
    return rule_set


def save_rule(
    session: Session,
    principal: Principal,
    set_id: int,
    *,
    code: str,
    name: str,
    expression: str,
    severity: str,
    trigger: str = "batch",
    description: str = "",
    _bump: bool = True,
) -> Rule:
    """Add a rule, or write a new version of the rule with this code (the old one retired)."""
    rule_set = _editable(session, principal, set_id)
    code = _check_code(code)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Give the rule a name (at most 200 characters)", field="name")
    if severity not in SEVERITIES:
        raise ValidationFailed("Choose a severity: high, medium or low", field="severity")
    if trigger not in TRIGGERS:
        raise ValidationFailed(
            "Choose when the rule runs: after each pipeline run, or on each push", field="trigger"
        )
    expression = (expression or "").strip()
    compiled = check_rule(expression, _kind_of(rule_set, principal))
    uses_event = any(f.startswith("event_") for f in compiled.fields)
    if trigger == "event" and not uses_event:
        raise ValidationFailed(
            "A rule run on each push must read the pushed record's event_ fields", field="trigger"
        )
    if trigger == "batch" and uses_event:
        raise ValidationFailed("event_ fields exist only for rules run on each push", field="trigger")
    now = utcnow()
    previous = session.scalar(
        select(Rule).where(Rule.rule_set_id == set_id, Rule.code == code, Rule.retired_at.is_(None))
    )
    version = 1
    if previous is not None:
        if (
            previous.expression,
            previous.severity,
            previous.name,
            previous.trigger,
            previous.description,
        ) == (expression, severity, name, trigger, description.strip()):
            return previous  # nothing changed: no new version
        previous.retired_at = now
        version = previous.version + 1
    else:
        older = session.scalar(
            select(Rule.version)
            .where(Rule.rule_set_id == set_id, Rule.code == code)
            .order_by(Rule.version.desc())
            .limit(1)
        )
        version = (older or 0) + 1
    rule = Rule(
        rule_set_id=set_id,
        code=code,
        version=version,
        name=name,
        description=description.strip()[:1000],
        expression=expression,
        severity=severity,
        trigger=trigger,
        created_by=principal.username,
        created_at=now,
    )
    session.add(rule)
    if _bump:
        rule_set.version += 1
    rule_set.updated_at = now
    session.flush()
    evidence.record_rule_change(
        session,
        principal,
        rule.id,
        "edited" if previous else "created",
        expression=expression,
        organisation_id=rule_set.organisation_id,
        detail={"rule_set_id": set_id, "code": code, "version": version, "severity": severity},
    )
    return rule


def retire_rule(session: Session, principal: Principal, set_id: int, code: str) -> Rule:
    rule_set = _editable(session, principal, set_id)
    rule = session.scalar(
        select(Rule).where(Rule.rule_set_id == set_id, Rule.code == code, Rule.retired_at.is_(None))
    )
    if rule is None:
        raise NotFound("No such rule")
    rule.retired_at = utcnow()
    rule_set.version += 1
    session.flush()
    evidence.record_rule_change(
        session,
        principal,
        rule.id,
        "deleted",
        expression=rule.expression,
        organisation_id=rule_set.organisation_id,
        detail={"rule_set_id": set_id, "code": code},
    )
    return rule


def backtest_set(
    session: Session, lake: Lake, principal: Principal, set_id: int, *, months: int = 12
) -> dict[str, Any]:
    """Replay the set's current batch rules over the last ``months`` months; the summary is kept."""
    rule_set = get_set(session, principal, set_id)
    rules = [r for r in current_rules(session, set_id) if r.trigger == "batch"]
    kind = _kind_of(rule_set, principal)
    summary = backtest_rules(
        session,
        lake,
        [BacktestRule(r.code, r.name, r.severity, check_rule(r.expression, kind)) for r in rules],
        months=months,
    )
    summary["version"] = rule_set.version
    summary["event_rules"] = sum(1 for r in current_rules(session, set_id) if r.trigger == "event")
    if rule_set.organisation_id == _owner_of(principal):
        rule_set.backtest = summary
        session.flush()
    return summary


def activate_set(session: Session, principal: Principal, set_id: int) -> RuleSet:
    rule_set = _editable(session, principal, set_id)
    if not current_rules(session, set_id):
        raise ValidationFailed("The rule set has no rules")
    if (rule_set.backtest or {}).get("version") != rule_set.version:
        raise ValidationFailed("Backtest this version of the rule set on history before switching it on")
    rule_set.active = True
    rule_set.activated_at = utcnow()
    session.flush()
    _record_switch(session, principal, rule_set, "enabled")
    return rule_set


def deactivate_set(session: Session, principal: Principal, set_id: int) -> RuleSet:
    rule_set = _editable(session, principal, set_id)
    rule_set.active = False
    session.flush()
    _record_switch(session, principal, rule_set, "disabled")
    return rule_set


def _record_switch(session: Session, principal: Principal, rule_set: RuleSet, action: str) -> None:
    for rule in current_rules(session, rule_set.id):
        evidence.record_rule_change(
            session,
            principal,
            rule.id,
            action,
            expression=rule.expression,
            organisation_id=rule_set.organisation_id,
            detail={"rule_set_id": rule_set.id, "version": rule_set.version},
        )
