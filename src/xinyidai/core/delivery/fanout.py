"""Fan-out: when a notification is written, write the deliveries it needs, in the same transaction.

``core/notifications.py`` calls :func:`after_notification_insert` from SQLAlchemy's ``after_insert``
mapper event, so every way a notification is created (``notify_role``, a user-addressed row) is
covered. It only reads preferences and endpoints and INSERTs delivery rows on the flush's own
connection — no network, two small indexed queries — so raising an alert stays fast; the delivery
worker (``core/delivery/service.py``) does the sending later.

Core cannot import the accounts capability, so the three columns of ``users``, ``user_roles`` and
``organisations`` needed to find addressees are named here as lightweight table clauses (read only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, column, insert, select, table, true
from sqlalchemy.orm import Session, object_session

from xinyidai.core.clock import utcnow
from xinyidai.core.delivery.models import ChannelPreference, Delivery, WebhookEndpoint
from xinyidai.core.i18n import N_, translate

users_table = table("users", column("id"), column("organisation_id"), column("is_active"), column("phone"))
user_roles_table = table("user_roles", column("user_id"), column("role"))
organisations_table = table("organisations", column("id"), column("kind"))

# Topic groups a person or endpoint chooses from; a notification's topic belongs to the group named by
# its first dotted part ("monitoring.alert" → monitoring). "all" covers every topic.
TOPIC_GROUPS: dict[str, tuple[str, ...]] = {
    "monitoring": ("monitoring",),
    "market": ("market",),
    "rating": ("rating",),
    "data_quality": ("data_quality",),
    "funds_policies": ("funds", "policies"),
}
ALL = "all"
TOPIC_GROUP_LABELS: dict[str, str] = {
    ALL: N_("All topics"),
    "monitoring": N_("Risk monitoring alerts"),
    "market": N_("Financing marketplace"),
    "rating": N_("Credit rating"),
    "data_quality": N_("Data quality"),
    "funds_policies": N_("Funds and policies"),
}
SEVERITIES = ("info", "warning", "alert")
# Monitoring rules speak of low / medium / high; anything unknown counts as a warning.
SEVERITY_RANK: dict[str, int] = {
    "info": 0,
    "low": 0,
    "warning": 1,
    "medium": 1,
    "error": 1,
    "alert": 2,
    "high": 2,
    "critical": 2,
}
SMS_LEVEL: dict[int, str] = {0: N_("a notice"), 1: N_("a warning"), 2: N_("an alert")}
# Notices about deliveries themselves stay in the site: a dead webhook must not feed itself.
DELIVERY_TOPIC = "delivery"
SMS_TITLE_CHARS = 35


def phone_of(session: Session, user_id: int) -> str | None:
    """The mobile phone on a user's account (SMS goes only there)."""
    phone = session.execute(select(users_table.c.phone).where(users_table.c.id == user_id)).scalar()
    return str(phone) if phone else None


def topic_group_of(topic: str) -> str:
    """The group of a topic (``""`` when it belongs to no group: only ``all`` choices cover it)."""
    head = topic.split(".", 1)[0]
    for group, heads in TOPIC_GROUPS.items():
        if head in heads:
            return group
    return ""


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 1)


def wants(prefs: dict[str, tuple[bool, str]], group: str, severity: str) -> bool:
    """Whether a person's choices (group → (sms, min severity)) ask for an SMS of this notification."""
    choice = prefs.get(group) if group else None
    if choice is None:
        choice = prefs.get(ALL)
    if choice is None:
        return False
    sms, minimum = choice
    return sms and severity_rank(severity) >= SEVERITY_RANK.get(minimum, 1)


def endpoint_takes(topic_groups: list[str], group: str) -> bool:
    return ALL in topic_groups or (bool(group) and group in topic_groups)


def _recipients(notification: Any) -> Any:
    users = users_table
    stmt = select(users.c.id).where(users.c.is_active == true())
    if notification.user_id is not None:
        return stmt.where(users.c.id == notification.user_id)
    stmt = stmt.join(user_roles_table, user_roles_table.c.user_id == users.c.id).where(
        user_roles_table.c.role == notification.role
    )
    if notification.organisation_id is not None:
        return stmt.where(users.c.organisation_id == notification.organisation_id)
    return stmt.join(organisations_table, organisations_table.c.id == users.c.organisation_id).where(
        organisations_table.c.kind == notification.org_kind
    )


def webhook_payload(notification: Any) -> dict[str, Any]:
    """What an endpoint receives about a notification (texts in Chinese, with their message ids)."""
    params = dict(notification.params or {})
    created = notification.created_at or utcnow()
    return {
        "notification": {
            "id": notification.id,
            "topic": notification.topic,
            "key": notification.key or "",
            "severity": notification.severity,
            "title": translate(notification.title, params),
            "body": translate(notification.body, params) if notification.body else "",
            "title_id": notification.title,
            "params": params,
            "link": notification.link,
            "role": notification.role,
            "organisation_id": notification.organisation_id,
            "created_at": created.isoformat(),
        }
    }


def sms_payload(notification: Any) -> dict[str, str]:
    """The words of a text message: the level and the (shortened) title, nothing personal beyond it."""
    title = translate(notification.title, dict(notification.params or {}))
    if len(title) > SMS_TITLE_CHARS:
        title = title[: SMS_TITLE_CHARS - 1] + "…"
    return {"level": translate(SMS_LEVEL[severity_rank(notification.severity)]), "title": title}


def after_notification_insert(_mapper: Any, connection: Connection, notification: Any) -> None:
    """SQLAlchemy ``after_insert`` hook on ``Notification``: write its deliveries (see module doc)."""
    fan_out(connection, notification)


def fan_out(connection: Connection, notification: Any) -> int:
    """Insert the SMS and webhook deliveries a new notification needs; returns how many."""
    topic = notification.topic or ""
    if topic.split(".", 1)[0] == DELIVERY_TOPIC:
        return 0
    if notification.user_id is None and notification.role is None:
        return 0
    group = topic_group_of(topic)
    # The same matter is often told to several roles of one organisation (admin and staff): within one
    # unit of work, one SMS per person and one POST per endpoint for one (topic, key).
    session = object_session(notification)
    seen: set[tuple[str, int, str, str]] = (
        session.info.setdefault("xyd_delivery_seen", set()) if session is not None else set()
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []

    groups = [ALL, group] if group else [ALL]
    prefs: dict[int, dict[str, tuple[bool, str]]] = {}
    for user_id, topic_group, sms, minimum in connection.execute(
        select(
            ChannelPreference.user_id,
            ChannelPreference.topic_group,
            ChannelPreference.sms,
            ChannelPreference.min_severity,
        ).where(
            ChannelPreference.user_id.in_(_recipients(notification)),
            ChannelPreference.topic_group.in_(groups),
        )
    ):
        prefs.setdefault(user_id, {})[topic_group] = (bool(sms), minimum)
    sms_words: dict[str, str] | None = None
    for user_id, choices in sorted(prefs.items()):
        if not wants(choices, group, notification.severity):
            continue
        mark = ("sms", user_id, topic, notification.key or f"#{notification.id}")
        if mark in seen:
            continue
        seen.add(mark)
        sms_words = sms_words or sms_payload(notification)
        rows.append(_row(notification, "sms", now, user_id=user_id, payload=sms_words))

    if notification.user_id is None:
        stmt = select(WebhookEndpoint.id, WebhookEndpoint.topic_groups).where(
            WebhookEndpoint.is_active == true()
        )
        if notification.organisation_id is not None:
            stmt = stmt.where(WebhookEndpoint.organisation_id == notification.organisation_id)
        else:
            stmt = stmt.join(
                organisations_table, organisations_table.c.id == WebhookEndpoint.organisation_id
            ).where(organisations_table.c.kind == notification.org_kind)
        body: dict[str, Any] | None = None
        for endpoint_id, topic_groups in connection.execute(stmt):
            if not endpoint_takes(list(topic_groups or []), group):
                continue
            mark = ("webhook", endpoint_id, topic, notification.key or f"#{notification.id}")
            if mark in seen:
                continue
            seen.add(mark)
            body = body or webhook_payload(notification)
            rows.append(_row(notification, "webhook", now, endpoint_id=endpoint_id, payload=body))
    if rows:
        connection.execute(insert(Delivery), rows)
    return len(rows)


def _row(
    notification: Any,
    channel: str,
    now: Any,
    *,
    payload: dict[str, Any],
    user_id: int | None = None,
    endpoint_id: int | None = None,
) -> dict[str, Any]:
    return {
        "created_at": now,
        "notification_id": notification.id,
        "channel": channel,
        "event": notification.topic[:60],
        "user_id": user_id,
        "endpoint_id": endpoint_id,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
    }
