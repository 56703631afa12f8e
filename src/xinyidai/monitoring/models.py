"""Tables of risk monitoring: rule sets and their rules (versioned), alerts and their history, runs.

A **rule set** belongs to one organisation (an institution watching its borrowers and applicants, a
department watching its whitelists) or to nobody (``organisation_id`` NULL): a platform-wide set the
operator publishes, applied to every watcher's population. Editing never changes a rule in place: a new
row with ``version`` + 1 replaces it (``retired_at`` is set on the old one) and the set's ``version`` is
bumped, so an alert always names the exact rule text that raised it.

An **alert** is one rule holding for one enterprise watched by one organisation. There is at most one
open alert (new or acknowledged) per watcher, rule and enterprise: ``open_key`` carries that key
(``dedup_key``) while the alert is open and is NULL once resolved, under a unique constraint (NULLs never
collide on SQLite or PostgreSQL). A resolved alert is raised again only after the condition has cleared
in a run (``cleared_at``): a person's resolution is not undone by the same facts the next night.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class RuleSet(Base):
    """A named group of rules, switched on (``active``) or off as a whole by its owner."""

    __tablename__ = "monitoring_rule_sets"
    __table_args__ = (UniqueConstraint("organisation_id", "code", name="uq_monitoring_rule_sets_owner_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    library_code: Mapped[str | None] = mapped_column(String(64))  # the library set it was copied from
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    backtest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the latest backtest's summary
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rule(Base):
    """One version of one rule: a boolean expression over the monitoring fields, with a severity.

    ``severity`` is ``high`` (red), ``medium`` (orange) or ``low`` (yellow). ``trigger`` is ``batch``
    (evaluated over the indicator snapshot after each pipeline run) or ``event`` (evaluated when a
    department pushes a record, over the record's ``event_*`` fields and the firm's latest figures).
    """

    __tablename__ = "monitoring_rules"
    __table_args__ = (
        UniqueConstraint("rule_set_id", "code", "version", name="uq_monitoring_rules_set_code_version"),
        Index("ix_monitoring_rules_set_current", "rule_set_id", "retired_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rule_sets.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    expression: Mapped[str] = mapped_column(String(2000))
    severity: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(8), default="batch")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Alert(Base):
    """A rule that held for an enterprise a watcher watches: new → acknowledged → resolved (with a note)."""

    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        UniqueConstraint("open_key", name="uq_monitoring_alerts_open_key"),
        Index("ix_monitoring_alerts_watcher_status", "organisation_id", "status"),
        Index("ix_monitoring_alerts_uscc", "uscc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the watcher
    uscc: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rule_sets.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rules.id", ondelete="CASCADE"))
    rule_code: Mapped[str] = mapped_column(String(64))
    rule_name: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | acknowledged | resolved
    dedup_key: Mapped[str] = mapped_column(String(120), index=True)  # watcher:set:rule:uscc
    open_key: Mapped[str | None] = mapped_column(String(120))  # dedup_key while open, NULL once resolved
    as_of: Mapped[date] = mapped_column(Date)  # the data the rule held on
    source: Mapped[str] = mapped_column(String(16), default="batch")  # batch | event
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the fields the rule read
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution_note: Mapped[str] = mapped_column(String(1000), default="")
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the condition stopped holding


class MonitoringRun(Base):
    """One pass of the active rules: after a pipeline run, on a push, or by hand."""

    __tablename__ = "monitoring_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # pipeline | push | manual
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rules: Mapped[int] = mapped_column(Integer, default=0)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    alerts_cleared: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
