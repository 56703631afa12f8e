"""In-site notifications (站内消息): alerts and notices that reach the people who must act on them.

A notification is addressed to a role (every data admin of the operator, every risk officer of one
bank…) or to one user, so a capability can alert "whoever holds this duty" without knowing the people:
users who join later see the notifications still open for their role. Texts are message ids with
parameters, translated when shown. Each user marks what they have read; nothing is ever deleted here.

Every notification is shown in the site. Writing one also writes, in the same transaction, the SMS and
webhook deliveries its addressees chose (``core/delivery/``: the transactional outbox); a worker sends
them later, so raising a notification never waits for the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, and_, event, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyidai.core.access import ROLE_ORG_KIND, Principal, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime
from xinyidai.core.delivery.fanout import after_notification_insert
from xinyidai.core.errors import NotFound

__all__ = [
    "Notification",
    "NotificationRead",
    "count_unread",
    "inbox",
    "mark_all_read",
    "mark_read",
    "notify_role",
]


class Notification(Base):
    """One notification to a role (optionally within one organisation) or to one user.

    ``severity`` is ``info`` / ``warning`` / ``alert``; ``link`` is a path in the platform where the
    matter can be seen; ``topic`` groups notifications of one kind (``data_quality``…) and ``key``
    names the matter, so a capability can tell whether it already raised the same alert.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(200), default="", index=True)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(300))
    # the addressees: a role of an organisation kind (within one organisation when set), or one user
    org_kind: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


# However a notification is created (notify_role, a user-addressed row), its deliveries join its INSERT.
event.listen(Notification, "after_insert", after_notification_insert)


class NotificationRead(Base):
    """That a user has read a notification, and when."""

    __tablename__ = "notification_reads"
    __table_args__ = (UniqueConstraint("notification_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def notify_role(
    session: Session,
    role: Role,
    *,
    topic: str,
    title: str,
    body: str = "",
    params: Mapping[str, Any] | None = None,
    link: str | None = None,
    severity: str = "info",
    key: str = "",
    organisation_id: int | None = None,
) -> Notification:
    """Notify everyone who holds ``role`` (in ``organisation_id`` when given).

    Args:
        title, body: English message ids, translated for each reader; ``params`` fill their placeholders.
    """
    notification = Notification(
        topic=topic,
        key=key,
        severity=severity,
        title=title,
        body=body,
        params=dict(params or {}),
        link=link,
        org_kind=ROLE_ORG_KIND[role].value,
        role=role.value,
        organisation_id=organisation_id,
    )
    session.add(notification)
    session.flush()
    return notification


def _addressed_to(principal: Principal) -> Any:
    roles = [r.value for r in principal.roles]
    return or_(
        Notification.user_id == principal.user_id,
        and_(
            Notification.user_id.is_(None),
            Notification.role.in_(roles),
            or_(
                Notification.organisation_id == principal.organisation_id,
                and_(
                    Notification.organisation_id.is_(None), Notification.org_kind == principal.org_kind.value
                ),
            ),
        ),
    )


def inbox(
    session: Session, principal: Principal, *, unread_only: bool = False, limit: int = 100
) -> Sequence[tuple[Notification, datetime | None]]:
    """The principal's notifications, newest first, each with when this user read it (or None)."""
    read = (
        select(NotificationRead.notification_id, NotificationRead.read_at)
        .where(NotificationRead.user_id == principal.user_id)
        .subquery()
    )
    stmt = (
        select(Notification, read.c.read_at)
        .outerjoin(read, read.c.notification_id == Notification.id)
        .where(_addressed_to(principal))
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        stmt = stmt.where(read.c.read_at.is_(None))
    return [(n, at) for n, at in session.execute(stmt).all()]


def count_unread(session: Session, principal: Principal) -> int:
    """How many of the principal's notifications this user has not read."""
    if principal.user_id is None:
        return 0
    read_ids = select(NotificationRead.notification_id).where(NotificationRead.user_id == principal.user_id)
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(_addressed_to(principal), Notification.id.not_in(read_ids))
    )
    return int(session.scalar(stmt) or 0)


def mark_read(session: Session, principal: Principal, notification_id: int) -> Notification:
    """Mark one of the principal's notifications read (idempotent); another's answers NotFound."""
    notification = session.scalars(
        select(Notification).where(Notification.id == notification_id, _addressed_to(principal))
    ).first()
    if notification is None or principal.user_id is None:
        raise NotFound()
    exists = session.scalars(
        select(NotificationRead).where(
            NotificationRead.notification_id == notification_id, NotificationRead.user_id == principal.user_id
        )
    ).first()
    if exists is None:
        session.add(NotificationRead(notification_id=notification_id, user_id=principal.user_id))
        session.flush()
    return notification


def mark_all_read(session: Session, principal: Principal) -> int:
    """Mark every unread notification of the principal read; returns how many."""
    count = 0
    for notification, read_at in inbox(session, principal, unread_only=True, limit=10_000):
        if read_at is None and principal.user_id is not None:
            session.add(NotificationRead(notification_id=notification.id, user_id=principal.user_id))
            count += 1
    session.flush()
    return count
