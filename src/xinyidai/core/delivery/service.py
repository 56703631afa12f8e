"""Delivery use cases: each person's channel choices, organisations' webhook endpoints, the delivery logs.

The facade of ``core/delivery``: pages and the CLI call this module; the worker lives in ``worker.py``
and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core import audit
from xinyidai.core.access import Principal, sees_all_organisations
from xinyidai.core.clock import utcnow
from xinyidai.core.delivery import webhooks
from xinyidai.core.delivery.fanout import ALL, SEVERITIES, TOPIC_GROUP_LABELS, TOPIC_GROUPS, phone_of
from xinyidai.core.delivery.models import ChannelPreference, Delivery, SmsOutboxMessage, WebhookEndpoint
from xinyidai.core.delivery.worker import (
    CHANNEL_LABELS,
    MAX_ATTEMPTS,
    RETRY_DELAYS_SECONDS,
    STATUS_LABELS,
    DeliveryRun,
    claim_due,
    deliver_due,
    retry_delay,
    run_worker,
    sms_gateway_for,
    sms_text,
)
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings

MAX_ENDPOINTS = 5
PING_EVENT = "ping"

__all__ = [
    "CHANNEL_LABELS",
    "MAX_ATTEMPTS",
    "RETRY_DELAYS_SECONDS",
    "STATUS_LABELS",
    "TOPIC_GROUPS",
    "TOPIC_GROUP_LABELS",
    "DeliveryRun",
    "allow_http_localhost",
    "channel_choices",
    "claim_due",
    "create_endpoint",
    "deliver_due",
    "deliveries_for_operator",
    "endpoints_of",
    "phone_of",
    "retry_delay",
    "retry_now",
    "rotate_secret",
    "run_worker",
    "save_channel_choices",
    "send_test",
    "set_endpoint_active",
    "sms_gateway_for",
    "sms_outbox",
    "sms_text",
    "verify_received",
    "webhook_deliveries",
]


# ---- channel choices -------------------------------------------------------------------------------


def channel_choices(session: Session, user_id: int) -> dict[str, ChannelPreference]:
    """A user's choices by topic group (``all`` included when made)."""
    rows = session.scalars(select(ChannelPreference).where(ChannelPreference.user_id == user_id))
    return {row.topic_group: row for row in rows}


def save_channel_choices(
    session: Session, principal: Principal, choices: Mapping[str, tuple[bool, str]]
) -> dict[str, ChannelPreference]:
    """Record which topic groups reach the principal by SMS and from which severity.

    Args:
        choices: topic group (``all`` or one of ``TOPIC_GROUPS``) → (SMS wanted, minimum severity).
    Raises:
        ValidationFailed: an unknown group or severity, or SMS chosen without a phone on the account.
    """
    if principal.user_id is None:
        raise NotFound()
    for group, (_sms, minimum) in choices.items():
        if group not in TOPIC_GROUP_LABELS:
            raise ValidationFailed(N_("Unknown topic"), field="topic_group")
        if minimum not in SEVERITIES:
            raise ValidationFailed(N_("Choose a severity from the list"), field=f"severity_{group}")
    if any(sms for sms, _ in choices.values()) and not phone_of(session, principal.user_id):
        raise ValidationFailed(
            N_("Your account has no mobile phone number: ask your organisation's administrator to add one"),
            field="sms",
        )
    existing = channel_choices(session, principal.user_id)
    for group, (sms, minimum) in choices.items():
        row = existing.get(group)
        if row is None:
            row = ChannelPreference(user_id=principal.user_id, topic_group=group)
            session.add(row)
            existing[group] = row
        row.sms = sms
        row.min_severity = minimum
        row.updated_at = utcnow()
    session.flush()
    return existing


# ---- webhook endpoints ------------------------------------------------------------------------------


def allow_http_localhost(settings: Settings) -> bool:
    """Plain http to this machine is for development, demos and tests (or where explicitly allowed)."""
    return settings.webhooks_allow_http_localhost or settings.environment != "production"


def endpoints_of(session: Session, principal: Principal) -> Sequence[WebhookEndpoint]:
    """The principal's organisation's endpoints, newest first."""
    return session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == principal.organisation_id)
        .order_by(WebhookEndpoint.id.desc())
    ).all()


def _own_endpoint(session: Session, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organisation_id != principal.organisation_id:
        raise NotFound()
    return endpoint


def _clean_groups(topic_groups: Sequence[str]) -> list[str]:
    groups = sorted({g for g in topic_groups if g})
    if not groups:
        raise ValidationFailed(N_("Choose at least one topic"), field="topic_groups")
    if any(g not in TOPIC_GROUP_LABELS for g in groups):
        raise ValidationFailed(N_("Unknown topic"), field="topic_groups")
    return [ALL] if ALL in groups else groups


def create_endpoint(
    session: Session, principal: Principal, *, url: str, topic_groups: Sequence[str], settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of the principal's organisation; returns it and its secret (shown once)."""
    clean_url = webhooks.validate_url(url, allow_http_localhost=allow_http_localhost(settings))
    groups = _clean_groups(topic_groups)
    if len(endpoints_of(session, principal)) >= MAX_ENDPOINTS:
        raise ValidationFailed(
            N_("An organisation can have at most %(count)s endpoints"), count=MAX_ENDPOINTS
        )
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        organisation_id=principal.organisation_id,
        url=clean_url,
        secret=webhooks.seal(secret, settings.secret_key),
        topic_groups=groups,
        created_by=principal.user_id,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, principal, "webhook.created", endpoint, {"url": clean_url, "topics": groups})
    return endpoint, secret


def rotate_secret(session: Session, principal: Principal, endpoint_id: int, settings: Settings) -> str:
    """Replace an endpoint's secret (the old one stops working at once); returns the new one."""
    endpoint = _own_endpoint(session, principal, endpoint_id)
    secret = webhooks.new_secret()
    endpoint.secret = webhooks.seal(secret, settings.secret_key)
    endpoint.secret_rotated_at = utcnow()
    session.flush()
    _audit(session, principal, "webhook.secret_rotated", endpoint, {})
    return secret


def set_endpoint_active(session: Session, principal: Principal, endpoint_id: int, active: bool) -> None:
    """Pause or resume an endpoint; a paused one gets no new deliveries."""
    endpoint = _own_endpoint(session, principal, endpoint_id)
    endpoint.is_active = active
    session.flush()
    _audit(session, principal, "webhook.enabled" if active else "webhook.disabled", endpoint, {})


def send_test(session: Session, principal: Principal, endpoint_id: int) -> Delivery:
    """Queue a ``ping`` delivery to an endpoint, so its owner can see the whole path work."""
    endpoint = _own_endpoint(session, principal, endpoint_id)
    delivery = Delivery(
        channel="webhook",
        event=PING_EVENT,
        endpoint_id=endpoint.id,
        payload={"message": "xinyidai webhook test", "sent_by": principal.username},
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    return delivery


def webhook_deliveries(
    session: Session, principal: Principal, *, limit: int = 100
) -> Sequence[tuple[Delivery, str]]:
    """The delivery log of the principal's organisation's endpoints, newest first, with each URL."""
    return [
        (d, url)
        for d, url in session.execute(
            select(Delivery, WebhookEndpoint.url)
            .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
            .where(WebhookEndpoint.organisation_id == principal.organisation_id)
            .order_by(Delivery.id.desc())
            .limit(limit)
        ).all()
    ]


def deliveries_for_operator(
    session: Session, *, status: str = "", limit: int = 200
) -> Sequence[tuple[Delivery, str | None]]:
    """Every delivery (a status's when given), newest first, with the webhook URL where there is one."""
    stmt = (
        select(Delivery, WebhookEndpoint.url)
        .outerjoin(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(Delivery.status == status)
    return [(d, url) for d, url in session.execute(stmt).all()]


def retry_now(session: Session, principal: Principal, delivery_id: int) -> Delivery:
    """Send a dead (or waiting) delivery again now, with a fresh series of attempts.

    An organisation's admin retries its own webhook deliveries; the operator any delivery.
    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound()
    if not sees_all_organisations(principal):
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id) if delivery.endpoint_id else None
        if endpoint is None or endpoint.organisation_id != principal.organisation_id:
            raise NotFound()
    if delivery.status not in ("dead", "pending"):
        raise Conflict(N_("Only a delivery that gave up or is waiting can be retried"))
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.claim_token = None
    delivery.claimed_until = None
    session.flush()
    audit.record_event(
        session,
        "delivery.retry",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="delivery",
        object_id=delivery.id,
    )
    return delivery


def sms_outbox(session: Session, *, limit: int = 200) -> Sequence[SmsOutboxMessage]:
    """The local SMS outbox, newest first (phones are masked where shown)."""
    return session.scalars(select(SmsOutboxMessage).order_by(SmsOutboxMessage.id.desc()).limit(limit)).all()


def _audit(
    session: Session, principal: Principal, event: str, endpoint: WebhookEndpoint, detail: dict[str, Any]
) -> None:
    audit.record_event(
        session,
        event,
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        detail=detail,
    )


def verify_received(
    session: Session, settings: Settings, delivery_id: str, timestamp: str, body: bytes, signature: str
) -> bool:
    """The demo receiver's check: was this body signed with the secret of the delivery's endpoint?"""
    if not delivery_id.isdigit():
        return False
    found = session.get(Delivery, int(delivery_id))
    endpoint = session.get(WebhookEndpoint, found.endpoint_id) if found and found.endpoint_id else None
    if endpoint is None:
        return False
    try:
        secret = webhooks.unseal(endpoint.secret, settings.secret_key)
    except ValueError:
        return False
    return webhooks.verify(secret, timestamp, body, signature)
