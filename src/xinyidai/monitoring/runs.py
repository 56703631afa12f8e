"""Monitoring runs: every active rule over every watched firm, after each pipeline run or on a push.

A batch run (``run_monitoring``) reads the evaluation table once for the union of the watched firms and
the fields the active rules read, evaluates the distinct rule texts in DuckDB (``engine``), and hands each
watcher the hits on its own firms: an institution's sets run on its borrowers and applicants, a
department's on its whitelists, a platform-wide set on everybody's (its rules that read a field a kind
of watcher may not use are skipped for that kind). Rules reading the watcher's own loans are evaluated per
institution on its firms.

A push (``on_push``) evaluates the ``event`` rules on each pushed record of a real-time source together
with the firm's latest figures (the memory-mapped newest snapshot), for the firm's watchers only — a
court case becomes an alert within the request that delivered it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.expressions import CompiledExpression
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.data.lake import Lake
from xinyidai.data.models import RegistryEnterprise
from xinyidai.indicators.service import enterprise_indicators
from xinyidai.monitoring.alerts import Candidate, raise_alerts
from xinyidai.monitoring.engine import evaluate_rules
from xinyidai.monitoring.fields import allowed_fields, check_rule, monitoring_catalogue
from xinyidai.monitoring.frame import build_frame, live_loans, with_own_loans
from xinyidai.monitoring.models import MonitoringRun, Rule, RuleSet
from xinyidai.monitoring.watch import watch_kinds, watched, watchers_of

__all__ = ["ActiveRule", "active_rules", "on_push", "run_monitoring"]

_OWN = frozenset({"own_loan_outstanding", "own_loan_overdue_days"})
_WATCHER_ROLE = {OrgKind.INSTITUTION: Role.RISK_OFFICER, OrgKind.DEPARTMENT: Role.DEPARTMENT_STAFF}


@dataclass(frozen=True)
class ActiveRule:
    rule_set: RuleSet
    rule: Rule
    compiled: CompiledExpression


def _kind(value: str | None) -> OrgKind | None:
    return OrgKind(value) if value else None


def active_rules(session: Session, trigger: str = "batch") -> list[ActiveRule]:
    """The current rules of every active set (compiled for their owner's kind), with the given trigger."""
    rows = session.execute(
        select(RuleSet, Rule)
        .join(Rule, Rule.rule_set_id == RuleSet.id)
        .where(RuleSet.active.is_(True), Rule.retired_at.is_(None), Rule.trigger == trigger)
        .order_by(RuleSet.id, Rule.code)
    ).all()
    owners = watch_kinds(session, {s.organisation_id for s, _ in rows if s.organisation_id is not None})
    compiled: dict[tuple[str, str | None], CompiledExpression] = {}
    out = []
    for rule_set, rule in rows:
        kind = owners.get(rule_set.organisation_id) if rule_set.organisation_id is not None else None
        key = (rule.expression, kind)
        if key not in compiled:
            compiled[key] = check_rule(rule.expression, _kind(kind))
        out.append(ActiveRule(rule_set, rule, compiled[key]))
    return out


def _applies(item: ActiveRule, watcher: int, kind: str) -> bool:
    owner = item.rule_set.organisation_id
    if owner is not None:
        return owner == watcher
    return item.compiled.fields <= allowed_fields(_kind(kind))


def _names(session: Session, uscc: Iterable[str]) -> dict[str, str]:
    chosen = sorted(set(uscc))
    out: dict[str, str] = {}
    for start in range(0, len(chosen), 900):
        part = chosen[start : start + 900]
        out.update(
            session.execute(
                select(RegistryEnterprise.uscc, RegistryEnterprise.name).where(
                    RegistryEnterprise.uscc.in_(part)
                )
            ).all()
        )
    return out


def _notify(session: Session, by_watcher: Mapping[int, Mapping[str, int]], kinds: Mapping[int, str]) -> None:
    """One summary per watcher with new alerts, to those who act on them (risk officers, department staff)."""
    for watcher, counts in by_watcher.items():
        role = _WATCHER_ROLE.get(OrgKind(kinds.get(watcher, "institution")))
        if role is None:
            continue
        notify_role(
            session,
            role,
            topic="monitoring.alert",
            severity="alert" if counts["red"] else "warning",
            title=N_("New risk alerts: %(red)s red, %(orange)s orange, %(yellow)s yellow"),
            params=dict(counts),
            link="/monitoring",
            organisation_id=watcher,
            key=f"monitoring:{watcher}:{utcnow().isoformat()}",
        )


def run_monitoring(session: Session, lake: Lake, as_of: date, *, trigger: str = "pipeline") -> MonitoringRun:
    """Evaluate every active batch rule as of ``as_of``; raise, refresh or clear alerts (module doc)."""
    started = time.perf_counter()
    run = MonitoringRun(as_of=as_of, trigger=trigger)
    session.add(run)
    rules = active_rules(session, "batch")
    population = watched(session)
    kinds = watch_kinds(session, set(population))
    run.rules = len(rules)
    firms = set().union(*population.values()) if population else set()
    candidates: list[Candidate] = []
    frame_date = as_of
    if rules and firms:
        shared = [r for r in rules if not (r.compiled.fields & _OWN)]
        per_owner = [r for r in rules if r.compiled.fields & _OWN]
        fields = set().union(*(r.compiled.fields for r in rules)) - _OWN
        frame = build_frame(session, lake, as_of, fields, uscc=firms)
        if frame is not None:
            frame_date = frame.as_of
            table = frame.table
            run.enterprises = table.num_rows
            uscc = table["uscc"].to_pylist()
            hits = evaluate_rules(
                [r.compiled for r in shared],
                table.append_column(
                    "own_loan_outstanding", pa.nulls(table.num_rows, pa.float64())
                ).append_column("own_loan_overdue_days", pa.nulls(table.num_rows, pa.int64())),
            )
            watchers_of_firm: dict[str, list[int]] = defaultdict(list)
            for watcher, members in population.items():
                for firm in members:
                    watchers_of_firm[firm].append(watcher)
            candidates.extend(_candidates(shared, hits, uscc, table, watchers_of_firm, kinds))
            by_owner: dict[int, list[ActiveRule]] = defaultdict(list)
            for r in per_owner:
                if r.rule_set.organisation_id is not None:
                    by_owner[r.rule_set.organisation_id].append(r)
            for owner, owner_rules in by_owner.items():
                mine = population.get(owner, set())
                if not mine:
                    continue
                rows = [i for i, u in enumerate(uscc) if u in mine]
                sub = with_own_loans(session, table.take(pa.array(rows, pa.int64())), owner)
                owner_hits = evaluate_rules([r.compiled for r in owner_rules], sub)
                candidates.extend(
                    _candidates(
                        owner_rules, owner_hits, sub["uscc"].to_pylist(), sub, watchers_of_firm, kinds
                    )
                )
    run.hits = len(candidates)
    names = _names(session, {c.uscc for c in candidates}) if candidates else {}
    outcome = raise_alerts(
        session, candidates, as_of=frame_date, watchers=list(population) or [-1], names=names
    )
    run.alerts_raised = outcome.raised
    run.alerts_cleared = outcome.cleared
    _notify(session, outcome.by_watcher, kinds)
    run.finished_at = utcnow()
    run.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    return run


def _candidates(
    rules: Sequence[ActiveRule],
    hits: Mapping[int, Any],
    uscc: Sequence[str],
    table: pa.Table,
    watchers_of_firm: Mapping[str, Sequence[int]],
    kinds: Mapping[int, str],
) -> list[Candidate]:
    """One candidate per hit and watcher of the hit firm the rule applies to (``watchers_of_firm`` is
    built once per run, so a hit costs its own watchers, not a scan of every watcher)."""
    out: list[Candidate] = []
    columns: dict[str, list[Any]] = {}
    for i, item in enumerate(rules):
        rows = hits[i]
        if not len(rows):
            continue
        applicable = {w for w, kind in kinds.items() if _applies(item, w, kind)}
        if not applicable:
            continue
        used = sorted(item.compiled.fields)
        for name in used:
            if name not in columns:
                columns[name] = table[name].to_pylist()
        rule = item.rule
        for row in rows.tolist():
            firm = uscc[row]
            values = {name: columns[name][row] for name in used}
            for w in watchers_of_firm.get(firm, ()):
                if w in applicable:
                    out.append(
                        Candidate(
                            w, item.rule_set.id, rule.id, rule.code, rule.name, rule.severity, firm, values
                        )
                    )
    return out


def on_push(session: Session, lake: Lake, source_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Evaluate the event rules on pushed rows of ``source_id`` for the firms' watchers; alerts raised."""
    rules = active_rules(session, "event")
    if not rules or not rows:
        return 0
    catalogue = monitoring_catalogue()
    candidates: list[Candidate] = []
    for row in rows:
        firm = str(row.get("uscc") or "")
        if not firm:
            continue
        watchers = watchers_of(session, firm)
        if not watchers:
            continue
        kinds = watch_kinds(session, watchers)
        figures = enterprise_indicators(lake, firm) or {}
        record: dict[str, Any] = {name: None for name in catalogue}
        record.update({k: v for k, v in figures.items() if k in catalogue})
        found = live_loans(session, firm).to_pylist()
        loans = (
            found[0]
            if found
            else {
                "loans_on_platform": 0,
                "loan_outstanding": 0.0,
                "loan_overdue_days": 0,
                "loan_in_default": False,
            }
        )
        record.update({k: v for k, v in loans.items() if k != "uscc"})
        record["event_source"] = source_id
        for key, value in row.items():
            name = f"event_{key}"
            if name in catalogue:
                record[name] = _coerce(value, catalogue[name].type.value)
        for item in rules:
            for w in watchers:
                if not _applies(item, w, kinds.get(w, "")):
                    continue
                if item.compiled.fields & _OWN:
                    continue  # own-loan figures are batch-only
                if item.compiled.matches(record):
                    values = {name: record.get(name) for name in sorted(item.compiled.fields)}
                    candidates.append(
                        Candidate(
                            w,
                            item.rule_set.id,
                            item.rule.id,
                            item.rule.code,
                            item.rule.name,
                            item.rule.severity,
                            firm,
                            values,
                        )
                    )
    if not candidates:
        return 0
    names = _names(session, {c.uscc for c in candidates})
    outcome = raise_alerts(
        session, candidates, as_of=utcnow().date(), source="event", names=names, clear_others=False
    )
    _notify(session, outcome.by_watcher, watch_kinds(session, {c.organisation_id for c in candidates}))
    return outcome.raised


def _coerce(value: Any, kind: str) -> Any:
    """A pushed value (JSON: strings and numbers) as the field's type; unparseable → NULL."""
    if value is None or value == "":
        return None
    try:
        if kind == "float":
            return float(value)
        if kind == "integer":
            return int(value)
        if kind == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10].replace("/", "-"))
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "是", "y")
    except (TypeError, ValueError):
        return None
    return str(value)


def pushed_rows(lake: Lake, source_id: str, batch_id: str) -> list[dict[str, Any]]:
    """The accepted rows of one pushed batch, as stored (field names, typed values)."""
    import pyarrow.parquet as pq

    parts = [p for p in lake.manifest(source_id).parts if p.batch_id == batch_id]
    rows: list[dict[str, Any]] = []
    for part in parts:
        rows.extend(pq.read_table(lake.abspath(part.path)).to_pylist())
    return rows


def on_pushed_batch(session: Session, lake: Lake, source_id: str, batch_id: str | None) -> int:
    """Event rules over a real-time source's pushed batch (other sources wait for the pipeline run)."""
    from xinyidai.monitoring.fields import EVENT_SOURCES

    if batch_id is None or source_id not in EVENT_SOURCES:
        return 0
    return on_push(session, lake, source_id, pushed_rows(lake, source_id, batch_id))
