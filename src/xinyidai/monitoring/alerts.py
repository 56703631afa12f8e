"""Alerts: raising them without duplicates, their lifecycle, and the traffic light they roll up into.

A rule holding for a watched firm becomes an alert unless the same watcher already has one open for the
same rule and firm (then it is "seen again"), or resolved one whose condition has not cleared since (a
person's resolution stands until the facts change). An alert whose condition stops holding is marked
``cleared_at`` and stays in the queue until a person resolves it.

Lifecycle: new → acknowledged → resolved (a note is required); any other move is refused in Chinese.
The traffic light of a firm for a watcher is the colour of its worst open alert, green when none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from xinyidai.core.clock import utcnow
from xinyidai.core.errors import IllegalTransition, NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.monitoring.models import Alert

__all__ = [
    "COLOURS",
    "LIGHT_ORDER",
    "SEVERITIES",
    "Candidate",
    "RaiseOutcome",
    "acknowledge",
    "dedup_key",
    "lights",
    "raise_alerts",
    "resolve",
]

SEVERITIES = ("high", "medium", "low")
COLOURS = {"high": "red", "medium": "orange", "low": "yellow"}
LIGHT_ORDER = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
SEVERITY_LABELS = {"high": N_("High risk"), "medium": N_("Medium risk"), "low": N_("Low risk")}
STATUS_LABELS = {
    "new": N_("Awaiting attention"),
    "acknowledged": N_("Acknowledged"),
    "resolved": N_("Resolved"),
}
OPEN_STATES = ("new", "acknowledged")


@dataclass(frozen=True)
class Candidate:
    """A rule that held for a watched firm in a run."""

    organisation_id: int
    rule_set_id: int
    rule_id: int
    rule_code: str
    rule_name: str
    severity: str
    uscc: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class RaiseOutcome:
    raised: int
    seen_again: int
    cleared: int
    by_watcher: dict[int, dict[str, int]]  # new alerts per watcher and colour
    keys: list[str]  # dedup keys of the new alerts


def dedup_key(organisation_id: int, rule_set_id: int, rule_code: str, uscc: str) -> str:
    return f"{organisation_id}:{rule_set_id}:{rule_code}:{uscc}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def raise_alerts(
    session: Session,
    candidates: Iterable[Candidate],
    *,
    as_of: date,
    source: str = "batch",
    watchers: Sequence[int] | None = None,
    names: Mapping[str, str] | None = None,
    clear_others: bool = True,
) -> RaiseOutcome:
    """Turn a run's candidates into alerts (see the module docstring); with ``clear_others``, the live
    alerts of ``watchers`` from this ``source`` that were not found again are marked cleared.

    Event alerts are cleared at once: each pushed record is a fact of its own, so after a person resolves
    the alert the next such record raises a new one.
    """
    now = utcnow()
    by_key: dict[str, Candidate] = {}
    for c in candidates:
        by_key.setdefault(dedup_key(c.organisation_id, c.rule_set_id, c.rule_code, c.uscc), c)
    live_query = select(Alert.id, Alert.dedup_key, Alert.status, Alert.cleared_at).where(
        Alert.source == source, (Alert.status != "resolved") | Alert.cleared_at.is_(None)
    )
    if watchers is not None:
        live_query = live_query.where(Alert.organisation_id.in_(list(watchers)))
    elif by_key:
        live_query = live_query.where(Alert.dedup_key.in_(list(by_key)))
    live: dict[str, tuple[int, str, datetime | None]] = {}
    for alert_id, key, status, cleared_at in session.execute(live_query):
        previous = live.get(key)
        if previous is None or alert_id > previous[0]:
            live[key] = (alert_id, status, cleared_at)
    seen: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for key, c in by_key.items():
        found = live.get(key)
        if found is not None:
            alert_id, status, _cleared = found
            if status in OPEN_STATES:
                seen.append({"id": alert_id, "last_seen_at": now})
            continue  # resolved and not cleared: the person's resolution stands
        new_rows.append(
            {
                "organisation_id": c.organisation_id,
                "uscc": c.uscc,
                "enterprise_name": (names or {}).get(c.uscc, ""),
                "rule_set_id": c.rule_set_id,
                "rule_id": c.rule_id,
                "rule_code": c.rule_code,
                "rule_name": c.rule_name,
                "severity": c.severity,
                "status": "new",
                "dedup_key": key,
                "open_key": key,
                "as_of": as_of,
                "source": source,
                "values": {k: _json_safe(v) for k, v in c.values.items()},
                "raised_at": now,
                "last_seen_at": now,
                "times_seen": 1,
                "cleared_at": now if source == "event" else None,
                "resolution_note": "",
            }
        )
    if seen:
        ids = [row["id"] for row in seen]
        for start in range(0, len(ids), 500):
            session.execute(
                update(Alert)
                .where(Alert.id.in_(ids[start : start + 500]))
                .values(last_seen_at=now, times_seen=Alert.times_seen + 1, cleared_at=None)
            )
    cleared = 0
    if clear_others and source == "batch":
        gone = [
            alert_id
            for key, (alert_id, _s, cleared_at) in live.items()
            if key not in by_key and cleared_at is None
        ]
        for start in range(0, len(gone), 500):
            session.execute(
                update(Alert).where(Alert.id.in_(gone[start : start + 500])).values(cleared_at=now)
            )
        cleared = len(gone)
    by_watcher: dict[int, dict[str, int]] = {}
    for start in range(0, len(new_rows), 5000):
        session.execute(insert(Alert), new_rows[start : start + 5000])
    for row in new_rows:
        counts = by_watcher.setdefault(row["organisation_id"], {"red": 0, "orange": 0, "yellow": 0})
        counts[COLOURS[row["severity"]]] += 1
    session.flush()
    return RaiseOutcome(len(new_rows), len(seen), cleared, by_watcher, [r["dedup_key"] for r in new_rows])


def _alert(session: Session, alert_id: int, organisation_id: int | None) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None or (organisation_id is not None and alert.organisation_id != organisation_id):
        raise NotFound("No such alert")
    return alert


def acknowledge(session: Session, alert_id: int, *, organisation_id: int | None, username: str) -> Alert:
    """new → acknowledged (someone is looking at it)."""
    alert = _alert(session, alert_id, organisation_id)
    if alert.status != "new":
        raise IllegalTransition(
            "A %(state_label)s alert cannot be %(action_label)s",
            state_label=STATUS_LABELS[alert.status],
            action_label=N_("acknowledged"),
        )
    alert.status = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = username
    session.flush()
    return alert


def resolve(
    session: Session, alert_id: int, *, organisation_id: int | None, username: str, note: str
) -> Alert:
    """new or acknowledged → resolved, with the note saying what was done."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say what was done about the alert before resolving it", field="note")
    if len(note) > 1000:
        raise ValidationFailed("The note is too long (at most 1,000 characters)", field="note")
    alert = _alert(session, alert_id, organisation_id)
    if alert.status not in OPEN_STATES:
        raise IllegalTransition(
            "A %(state_label)s alert cannot be %(action_label)s",
            state_label=STATUS_LABELS[alert.status],
            action_label=N_("resolved"),
        )
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, username
    alert.status = "resolved"
    alert.resolved_at = now
    alert.resolved_by = username
    alert.resolution_note = note
    alert.open_key = None
    session.flush()
    return alert


def lights(session: Session, organisation_id: int, uscc: Iterable[str] | None = None) -> dict[str, str]:
    """USCC → colour of its worst open alert for this watcher (firms without open alerts are absent)."""
    rank = case({"high": 0, "medium": 1, "low": 2}, value=Alert.severity, else_=3)
    query = (
        select(Alert.uscc, func.min(rank))
        .where(Alert.organisation_id == organisation_id, Alert.status.in_(OPEN_STATES))
        .group_by(Alert.uscc)
    )
    if uscc is not None:
        query = query.where(Alert.uscc.in_(list(uscc)))
    colour = {0: "red", 1: "orange", 2: "yellow"}
    return {u: colour.get(int(r), "green") for u, r in session.execute(query)}
