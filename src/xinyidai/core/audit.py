"""The security audit trail (MLPS level 3): who did what to what, when, from where, with what result.

Append-only: there is no update or delete path in the code, and each record carries the SHA-256 of
its predecessor's hash and its own content, so any later change or removal breaks the chain that
``verify_chain`` walks. Retention is at least six months (Cybersecurity Law Art. 21).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import JSON, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import utcnow
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
    """Walk the whole trail; return (intact, id of the first broken record)."""
    prev = GENESIS
    for record in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        if record.prev_hash != prev or _content_hash(prev, record) != record.record_hash:
            return False, record.id
        prev = record.record_hash
    return True, None


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
