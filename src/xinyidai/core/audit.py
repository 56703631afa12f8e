"""The security audit trail (MLPS level 3): who did what to what, when, from where, with what result.

Append-only: there is no update or delete path in the code, and each record carries the SHA-256 of
its predecessor's hash and its own content, so any later change or removal breaks the chain that
``verify_chain`` walks. Retention is at least six months (Cybersecurity Law Art. 21).

Retention without breaking the chain. ``enforce_retention`` removes the records older than the period as
one prefix of the chain: it first appends an ``audit.retention`` record naming the first record kept
(``before_id``) and the hash of the last record removed (the *anchor*, which is the first kept record's
``prev_hash``), stores the same as an ``AuditCheckpoint``, then deletes the prefix. ``verify_chain``
starts from the newest checkpoint at or below the first remaining record: the walk begins with its
anchor instead of the genesis hash, and the checkpoint must be attested by its ``audit.retention`` record
inside the verified chain. Removing any further record, or changing one, still breaks the walk. On
PostgreSQL the append-only trigger (migrations 0003, 0014) refuses every UPDATE and every DELETE of a
record not covered by a checkpoint, and checkpoints themselves are append-only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict

from sqlalchemy import JSON, ForeignKey, Integer, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import SHANGHAI, add_months, today_local, utcnow
from xinyidai.core.context import client_ip_var, request_id_var
from xinyidai.core.database import Base, UTCDateTime

GENESIS = "0" * 64


class ActorFields(TypedDict):
    """Who acted, as ``record_event`` keyword arguments."""

    actor_user_id: int | None
    actor_username: str | None
    actor_organisation_id: int | None


class AuditRecord(Base):
    """One audited event: date and time, type, subject (actor), object, result."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[str] = mapped_column(String(16))  # success | failure | denied
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """The start of the kept trail after a retention run removed the records before ``before_id``.

    ``anchor_hash`` is the hash of the last removed record (the first kept record's ``prev_hash``);
    ``event_id`` the ``audit.retention`` record that attests the removal; ``cutoff`` the time before
    which records were removed (UTC).
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    before_id: Mapped[int] = mapped_column(Integer)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    removed: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[int] = mapped_column(Integer)


def _content_hash(prev_hash: str, record: AuditRecord) -> str:
    payload = json.dumps(
        {
            "occurred_at": record.occurred_at.isoformat(),
            "event_type": record.event_type,
            "result": record.result,
            "actor_user_id": record.actor_user_id,
            "actor_username": record.actor_username,
            "actor_organisation_id": record.actor_organisation_id,
            "object_type": record.object_type,
            "object_id": record.object_id,
            "ip_address": record.ip_address,
            "request_id": record.request_id,
            "detail": record.detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def record_event(
    session: Session,
    event_type: str,
    *,
    result: str = "success",
    actor_user_id: int | None = None,
    actor_username: str | None = None,
    actor_organisation_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    ip_address: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one audit record to the chain (flushed, committed by the caller's unit of work)."""
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    prev = last.record_hash if last else GENESIS
    now = utcnow()
    occurred = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    record = AuditRecord(
        occurred_at=occurred,
        event_type=event_type,
        result=result,
        actor_user_id=actor_user_id,
        actor_username=actor_username,
        actor_organisation_id=actor_organisation_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip_address=ip_address or client_ip_var.get(),
        request_id=request_id or request_id_var.get(),
        detail=detail or {},
        prev_hash=prev,
    )
    record.record_hash = _content_hash(prev, record)
    session.add(record)
    session.flush()
    return record


def verify_chain(session: Session) -> tuple[bool, int | None]:
    """Walk the whole kept trail; return (intact, id of the first broken record).

    The walk starts from the genesis hash, or, when a retention run removed the oldest records, from the
    anchor of the newest checkpoint at or below the first kept record — which must be attested by its
    ``audit.retention`` record in the chain.
    """
    first_id = session.scalar(select(func.min(AuditRecord.id)))
    if first_id is None:
        return True, None
    checkpoint = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.before_id <= first_id)
        .order_by(AuditCheckpoint.before_id.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    prev = checkpoint.anchor_hash if checkpoint is not None else GENESIS
    attested = checkpoint is None
    for record in session.scalars(select(AuditRecord).order_by(AuditRecord.id)).yield_per(1000):
        if record.prev_hash != prev or _content_hash(prev, record) != record.record_hash:
            return False, record.id
        prev = record.record_hash
        if (
            not attested
            and checkpoint is not None
            and record.id == checkpoint.event_id
            and record.event_type == "audit.retention"
            and record.detail.get("before_id") == checkpoint.before_id
            and record.detail.get("anchor_hash") == checkpoint.anchor_hash
        ):
            attested = True
    if not attested:
        return False, first_id
    return True, None


@dataclass(frozen=True)
class TrailRetention:
    """What a retention run over the audit trail found (and removed, unless a dry run)."""

    cutoff: datetime
    expired: int
    oldest_kept: datetime | None
    removed: int


def retention_cutoff(months: int, today: date | None = None) -> datetime:
    """The start (Asia/Shanghai midnight) of the day ``months`` months before today: older records expire."""
    day = add_months(today or today_local(), -months)
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def enforce_retention(
    session: Session, *, months: int, today: date | None = None, dry_run: bool = False
) -> TrailRetention:
    """Remove the audit records older than ``months`` months (at least six), keeping the chain verifiable.

    See the module docstring for how. Raises ValueError for a period under six months (Cybersecurity
    Law Art. 21), whatever the caller's settings say.
    """
    if months < MIN_RETENTION_MONTHS:
        raise ValueError("the audit trail is kept at least six months")
    cutoff = retention_cutoff(months, today)
    first_kept = session.scalar(select(func.min(AuditRecord.id)).where(AuditRecord.occurred_at >= cutoff))
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    if last is None:
        return TrailRetention(cutoff, 0, None, 0)
    before_id = first_kept if first_kept is not None else last.id + 1
    expired = int(session.scalar(select(func.count()).where(AuditRecord.id < before_id)) or 0)
    oldest = session.scalar(select(func.min(AuditRecord.occurred_at)))
    if dry_run or expired == 0:
        return TrailRetention(cutoff, expired, oldest, 0)
    anchor = session.scalars(
        select(AuditRecord.record_hash)
        .where(AuditRecord.id < before_id)
        .order_by(AuditRecord.id.desc())
        .limit(1)
    ).one()
    event = record_event(
        session,
        "audit.retention",
        object_type="audit_records",
        detail={
            "before_id": before_id,
            "anchor_hash": anchor,
            "removed": expired,
            "cutoff": cutoff.isoformat(),
            "months": months,
        },
    )
    session.add(
        AuditCheckpoint(
            before_id=before_id, anchor_hash=anchor, removed=expired, cutoff=cutoff, event_id=event.id
        )
    )
    session.flush()
    session.execute(delete(AuditRecord).where(AuditRecord.id < before_id))
    session.flush()
    kept = session.scalar(select(func.min(AuditRecord.occurred_at)))
    return TrailRetention(cutoff, expired, kept, expired)


MIN_RETENTION_MONTHS = 6


@dataclass(frozen=True)
class TrailFilter:
    """The auditor's search: event type (a prefix: ``login`` finds ``login.second_factor`` too), user
    name, organisation id, result, and a date range (Asia/Shanghai days, both included)."""

    event_type: str = ""
    username: str = ""
    organisation_id: int | None = None
    result: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _filtered(stmt: Any, where: TrailFilter) -> Any:
    if where.event_type:
        stmt = stmt.where(
            or_(
                AuditRecord.event_type == where.event_type,
                AuditRecord.event_type.startswith(where.event_type + "."),
            )
        )
    if where.username:
        stmt = stmt.where(AuditRecord.actor_username == where.username)
    if where.organisation_id is not None:
        stmt = stmt.where(AuditRecord.actor_organisation_id == where.organisation_id)
    if where.result:
        stmt = stmt.where(AuditRecord.result == where.result)
    if where.date_from is not None:
        stmt = stmt.where(
            AuditRecord.occurred_at >= datetime.combine(where.date_from, time(0), tzinfo=SHANGHAI)
        )
    if where.date_to is not None:
        end = datetime.combine(where.date_to + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        stmt = stmt.where(AuditRecord.occurred_at < end)
    return stmt


def search_trail(
    session: Session, principal: Principal, where: TrailFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[AuditRecord], int]:
    """The auditor's search of the trail, newest first, and how many match (the search is itself audited)."""
    require(principal, Permission.AUDIT_READ)
    stmt = _filtered(select(AuditRecord), where)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)))
    record_event(
        session,
        "audit.read",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        detail={**_filter_detail(where), "offset": offset},
    )
    return rows, total


EXPORT_LIMIT = 100_000


def export_trail(session: Session, principal: Principal, where: TrailFilter) -> Sequence[AuditRecord]:
    """Every record matching the search (at most ``EXPORT_LIMIT``, newest first), for the auditor's Excel
    export; the export is itself recorded."""
    require(principal, Permission.AUDIT_READ)
    rows = session.scalars(
        _filtered(select(AuditRecord), where).order_by(AuditRecord.id.desc()).limit(EXPORT_LIMIT)
    ).all()
    record_event(
        session,
        "audit.export",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        detail={**_filter_detail(where), "rows": len(rows)},
    )
    return rows


def _filter_detail(where: TrailFilter) -> dict[str, Any]:
    return {
        "event_type": where.event_type or None,
        "username": where.username or None,
        "organisation_id": where.organisation_id,
        "result": where.result or None,
        "date_from": where.date_from.isoformat() if where.date_from else None,
        "date_to": where.date_to.isoformat() if where.date_to else None,
    }


def read_trail(
    session: Session, principal: Principal, event_type: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[AuditRecord], int]:
    """The newest audit records first (auditors only; reading the trail is itself audited)."""
    require(principal, Permission.AUDIT_READ)
    stmt = select(AuditRecord)
    if event_type:
        stmt = stmt.where(AuditRecord.event_type == event_type)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)))
    record_event(
        session,
        "audit.read",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        detail={"event_type": event_type, "offset": offset},
    )
    return rows, total
