"""Tables of notification delivery: who wants which channel, webhook endpoints, the delivery outbox.

A notification (``core/notifications.py``) is always shown in the site. When it is written, the rows
here that say it must also leave the platform — an SMS to a person who chose SMS for its topic, a POST
to an organisation's webhook — are written in the same transaction (the transactional outbox): the
request that raised the notification never waits for the network, and a crash cannot lose a delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class ChannelPreference(Base):
    """A user's choice for one topic group (or ``all``): whether SMS reaches them, from which severity.

    In-site messages always reach everyone; this row only adds channels. A row for a topic group
    overrides the user's ``all`` row for that group. ``min_severity`` is ``info`` / ``warning`` /
    ``alert``: notifications below it stay in the site only.
    """

    __tablename__ = "channel_preferences"
    __table_args__ = (UniqueConstraint("user_id", "topic_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    topic_group: Mapped[str] = mapped_column(String(32))
    sms: Mapped[bool] = mapped_column(Boolean, default=False)
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEndpoint(Base):
    """An organisation's own system that receives its notifications as signed HTTP POSTs.

    ``secret`` signs every delivery (HMAC-SHA256); it is shown to the organisation's admin once, when
    created or rotated, and kept here encrypted with a key derived from ``XYD_SECRET_KEY``
    (``webhooks.seal``), because signing needs it. ``topic_groups`` lists the groups sent (``all`` for
    every topic).
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(300))
    topic_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(Base):
    """One notification on its way out through one channel to one person or endpoint.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a worker until
    ``claimed_until``; a crashed worker's claim lapses), ``delivered`` or ``dead`` (every attempt
    failed; the operator and the organisation's admin were told in the site). ``payload`` is fixed
    when the delivery is created, so every retry sends the same body.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | webhook
    event: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(500), default="")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SmsOutboxMessage(Base):
    """A text message the local outbox gateway "sent": what the demo and the operator can read.

    Production installations configure a provider instead; the outbox is the default so that nothing
    leaves a demo or a test. ``phone`` is shown masked everywhere.
    """

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
