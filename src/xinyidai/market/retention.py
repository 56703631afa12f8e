"""Retention: how long each kind of record is kept, what is kept now, and the job that removes the rest.

Three kinds, each with its period from the settings:

- negative records (court cases, dishonest-debtor entries, penalties, list entries): removed from the lake
  ``retention_negative_years`` (5) years after the conduct ended — 征信业管理条例 Art. 16
  (``rating.retention``);
- report queries (``ReportQuery``, Art. 22): removed ``retention_query_years`` (5) years after the query;
- the security audit trail: ``retention_audit_months`` (at least 6, Cybersecurity Law Art. 21) months,
  removed as a prefix with a chained checkpoint so the trail still verifies (``core.audit``).

It sits in the marketplace capability because the query records live here, and it is the lowest layer
that sees all three kinds. ``xinyidai retention enforce`` runs it (``--dry-run`` only counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from xinyidai.core import audit
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import SHANGHAI, add_months, today_local
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings
from xinyidai.data.lake import Lake
from xinyidai.market.models import ReportQuery
from xinyidai.rating import retention as negative

__all__ = ["KindStatus", "RetentionPolicy", "RetentionRun", "enforce", "overview"]

SOON_DAYS = negative.SOON_DAYS


@dataclass(frozen=True)
class RetentionPolicy:
    """The periods in force (from settings): negative records and report queries in years, audit in months."""

    negative_years: int = 5
    query_years: int = 5
    audit_months: int = 6

    def __post_init__(self) -> None:
        if self.audit_months < audit.MIN_RETENTION_MONTHS:
            raise ValueError("the audit trail is kept at least six months")

    @classmethod
    def of(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            settings.retention_negative_years, settings.retention_query_years, settings.retention_audit_months
        )


@dataclass(frozen=True)
class KindStatus:
    """One kind of record on the retention page: its period and legal basis (message ids), how many are
    kept, the oldest kept, how many have expired (removed by the next run), how many expire within
    ``SOON_DAYS`` days, and when the oldest kept expires."""

    kind: str
    label: str
    period: str
    period_value: int
    basis: str
    records: int
    oldest: date | None
    expired: int
    expiring_soon: int
    next_expiry: date | None
    sources: list[negative.NegativeStatus] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _local_day(moment: datetime | None) -> date | None:
    return moment.astimezone(SHANGHAI).date() if moment is not None else None


def overview(
    session: Session, lake: Lake, principal: Principal, policy: RetentionPolicy, *, today: date | None = None
) -> list[KindStatus]:
    """What each kind keeps now and what expires when (operator admin and auditor)."""
    require(principal, Permission.RETENTION_READ)
    today = today or today_local()
    sources = negative.negative_status(lake, policy.negative_years, today)
    kept_from = [s.next_expiry for s in sources if s.next_expiry]
    oldest = [s.oldest_ended for s in sources if s.oldest_ended]
    kinds = [
        KindStatus(
            kind="negative_records",
            label=N_("Negative records"),
            period=N_("%(n)s years after the conduct ended"),
            period_value=policy.negative_years,
            basis=N_("Regulations on the Administration of the Credit Reporting Industry, Art. 16"),
            records=sum(s.rows for s in sources),
            oldest=min(oldest) if oldest else None,
            expired=sum(s.expired for s in sources),
            expiring_soon=sum(s.expiring_soon for s in sources),
            next_expiry=min(kept_from) if kept_from else None,
            sources=sources,
        )
    ]
    cutoff = _midnight(negative.years_before(today, policy.query_years))
    soon = _midnight(negative.years_before(today + timedelta(days=SOON_DAYS), policy.query_years))
    count, first, expired, expiring, first_kept = _ages(session, ReportQuery.queried_at, cutoff, soon)
    kept_day = _local_day(first_kept)
    kinds.append(
        KindStatus(
            kind="report_queries",
            label=N_("Report query records"),
            period=N_("%(n)s years after the query"),
            period_value=policy.query_years,
            basis=N_("Regulations on the Administration of the Credit Reporting Industry, Art. 22"),
            records=int(count or 0),
            oldest=_local_day(first),
            expired=int(expired or 0),
            expiring_soon=int(expiring or 0),
            next_expiry=negative.add_years(kept_day, policy.query_years) if kept_day else None,
        )
    )
    cutoff = audit.retention_cutoff(policy.audit_months, today)
    soon = audit.retention_cutoff(policy.audit_months, today + timedelta(days=SOON_DAYS))
    count, first, expired, expiring, first_kept = _ages(session, audit.AuditRecord.occurred_at, cutoff, soon)
    kept_day = _local_day(first_kept)
    kinds.append(
        KindStatus(
            kind="audit_records",
            label=N_("Security audit records"),
            period=N_("%(n)s months"),
            period_value=policy.audit_months,
            basis=N_("Cybersecurity Law, Art. 21: at least six months"),
            records=int(count or 0),
            oldest=_local_day(first),
            expired=int(expired or 0),
            expiring_soon=int(expiring or 0),
            next_expiry=add_months(kept_day, policy.audit_months) if kept_day else None,
        )
    )
    return kinds


@dataclass(frozen=True)
class RetentionRun:
    """What one run found expired and removed, per kind."""

    expired: dict[str, int]
    removed: dict[str, int]


def enforce(
    session: Session, lake: Lake, policy: RetentionPolicy, *, today: date | None = None, dry_run: bool = False
) -> RetentionRun:
    """Remove every expired record of every kind (or, with ``dry_run``, only count them).

    The audit trail goes last, so the record of this run (``retention.enforce``) is itself kept.
    """
    today = today or today_local()
    expired: dict[str, int] = {}
    removed: dict[str, int] = {}
    outcomes = negative.purge_negative(session, lake, policy.negative_years, today, dry_run=dry_run)
    expired["negative_records"] = sum(o.expired for o in outcomes)
    removed["negative_records"] = sum(o.removed for o in outcomes)
    cutoff = _midnight(negative.years_before(today, policy.query_years))
    expired["report_queries"] = int(
        session.scalar(select(func.count()).where(ReportQuery.queried_at < cutoff)) or 0
    )
    removed["report_queries"] = 0
    if not dry_run and expired["report_queries"]:
        session.execute(delete(ReportQuery).where(ReportQuery.queried_at < cutoff))
        removed["report_queries"] = expired["report_queries"]
    if not dry_run:
        audit.record_event(
            session,
            "retention.enforce",
            detail={
                "negative_records": removed["negative_records"],
                "report_queries": removed["report_queries"],
                "negative_years": policy.negative_years,
                "query_years": policy.query_years,
            },
        )
    trail = audit.enforce_retention(session, months=policy.audit_months, today=today, dry_run=dry_run)
    expired["audit_records"] = trail.expired
    removed["audit_records"] = trail.removed
    session.flush()
    return RetentionRun(expired, removed)


def _ages(session: Session, moment: Any, cutoff: datetime, soon: datetime) -> tuple[Any, ...]:
    """For records timed by ``moment``: how many, the oldest, how many expired (before ``cutoff``), how many
    expire before ``soon``, and the oldest kept — one aggregate query."""
    return tuple(
        session.execute(
            select(
                func.count(),
                func.min(moment),
                func.count().filter(moment < cutoff),
                func.count().filter(moment >= cutoff, moment < soon),
                func.min(moment).filter(moment >= cutoff),
            )
        ).one()
    )
