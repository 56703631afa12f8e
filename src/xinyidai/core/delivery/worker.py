"""The delivery worker: claim what is due, send it outside any transaction, record the outcome.

Run by ``xinyidai notify deliver`` and by a thread in the web app. Claims are conditional UPDATEs —
one winner per row on SQLite and PostgreSQL alike, so two workers never send the same delivery. A
failure is retried after 30 s, 2 min, 10 min, 1 h, 3 h, 6 h and 12 h (each ±20 % jitter, so a
recovering receiver is not hit by every retry at once): 8 attempts over about 22 hours. Then the
delivery is *dead* and the operator's admins — and, for a webhook, the organisation's admin, for an
SMS the person — are told in the site; the delivery log offers "retry now". Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx2
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from xinyidai.core import notifications
from xinyidai.core.access import ORG_ADMIN_ROLE, OrgKind, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.delivery import webhooks
from xinyidai.core.delivery.fanout import organisations_table, phone_of
from xinyidai.core.delivery.models import Delivery, WebhookEndpoint
from xinyidai.core.delivery.sms import AliyunSmsGateway, OutboxSmsGateway, SendFailed, SmsGateway
from xinyidai.core.i18n import N_, translate
from xinyidai.core.settings import Settings

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS: tuple[int, ...] = (30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
JITTER = 0.2
# A claim lapses after this long, so a worker that died mid-send does not hold its deliveries forever
# (a webhook times out after 5 s; an SMS provider likewise).
CLAIM_SECONDS = 60
DEAD_TOPIC = "delivery.dead"
CHANNEL_LABELS = {"sms": N_("SMS"), "webhook": N_("Webhook")}
STATUS_LABELS = {
    "pending": N_("Waiting"),
    "sending": N_("Sending"),
    "delivered": N_("Delivered"),
    "dead": N_("Gave up"),
}


def sms_gateway_for(settings: Settings, engine: Engine) -> SmsGateway:
    """The configured SMS gateway: the local outbox unless Aliyun is configured."""
    if settings.sms_gateway == "aliyun":
        missing = [
            name
            for name in (
                "sms_aliyun_access_key_id",
                "sms_aliyun_access_key_secret",
                "sms_aliyun_template_code",
            )
            if not getattr(settings, name)
        ]
        if missing:
            raise ValueError("XYD_SMS_GATEWAY=aliyun needs " + ", ".join(f"XYD_{m.upper()}" for m in missing))
        return AliyunSmsGateway(
            endpoint=settings.sms_aliyun_endpoint,
            access_key_id=settings.sms_aliyun_access_key_id,
            access_key_secret=settings.sms_aliyun_access_key_secret,
            sign_name=settings.sms_sign_name,
            template_code=settings.sms_aliyun_template_code,
            region=settings.sms_aliyun_region,
        )
    return OutboxSmsGateway(engine)


def sms_text(sign_name: str, words: Mapping[str, str]) -> str:
    """The whole text of a notice SMS, as the outbox shows it (providers add the signature themselves)."""
    body = translate(N_("You have %(level)s: %(title)s. Log in to the platform to see it."), dict(words))
    return f"【{sign_name}】{body}"


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (±20 % jitter)."""
    base = RETRY_DELAYS_SECONDS[min(max(attempts, 1), len(RETRY_DELAYS_SECONDS)) - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)  # spreading retries, not a secret
    return timedelta(seconds=base * factor)


@dataclass
class DeliveryRun:
    """What one pass of the worker did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def _due(now: datetime) -> Any:
    return or_(
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.claimed_until < now),
    )


def claim_due(engine: Engine, *, now: datetime, limit: int = 50) -> list[tuple[int, str]]:
    """Claim up to ``limit`` due deliveries for this worker; returns (id, claim token) pairs.

    Each claim is a conditional UPDATE committed on its own: of two workers racing for a row, the
    database lets exactly one change it (PostgreSQL re-checks the condition after the other's commit;
    SQLite has one writer at a time), and the loser's UPDATE matches no row.
    """
    claimed: list[tuple[int, str]] = []
    with session_scope(engine) as session:
        ids = session.scalars(
            select(Delivery.id).where(_due(now)).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
        ).all()
    for delivery_id in ids:
        token = secrets.token_hex(8)
        with session_scope(engine) as session:
            result = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, _due(now))
                .values(
                    status="sending",
                    claim_token=token,
                    claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=Delivery.attempts + 1,
                    last_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append((delivery_id, token))
    return claimed


@dataclass(frozen=True)
class _Job:
    id: int
    channel: str
    event: str
    payload: dict[str, Any]
    url: str = ""
    secret: str = ""
    endpoint_active: bool = True
    problem: str = ""
    phone: str | None = None


def _load(engine: Engine, delivery_id: int, settings: Settings) -> _Job | None:
    with session_scope(engine) as session:
        d = session.get(Delivery, delivery_id)
        if d is None:
            return None
        if d.channel == "webhook":
            endpoint = session.get(WebhookEndpoint, d.endpoint_id) if d.endpoint_id else None
            if endpoint is None:
                return _Job(d.id, d.channel, d.event, dict(d.payload), endpoint_active=False)
            try:
                secret, problem = webhooks.unseal(endpoint.secret, settings.secret_key), ""
            except ValueError:
                secret, problem = (
                    "",
                    "the endpoint's secret cannot be read with this XYD_SECRET_KEY: rotate it",
                )
            return _Job(
                d.id,
                d.channel,
                d.event,
                dict(d.payload),
                endpoint.url,
                secret,
                endpoint.is_active,
                problem=problem,
            )
        return _Job(d.id, d.channel, d.event, dict(d.payload), phone=phone_of(session, d.user_id or 0))


class _Permanent(SendFailed):
    """A failure that retrying cannot cure (no phone on the account, endpoint removed, paused or its
    secret unreadable)."""


def _send(job: _Job, *, settings: Settings, sms: SmsGateway, client: httpx2.Client, now: datetime) -> None:
    if job.channel == "webhook":
        if job.problem:
            raise _Permanent(job.problem)
        if not job.endpoint_active:
            raise _Permanent("endpoint paused or removed")
        webhooks.post(
            client,
            url=job.url,
            secret=job.secret,
            delivery_id=job.id,
            event=job.event,
            payload=job.payload,
            now=now,
        )
    elif job.channel == "sms":
        if not job.phone:
            raise _Permanent("no mobile phone on the account")
        words = {k: str(v) for k, v in job.payload.items()}
        sms.send(job.phone, sms_text(settings.sms_sign_name, words), words, delivery_id=job.id)
    else:
        raise _Permanent(f"unknown channel {job.channel}")


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    sms: SmsGateway | None = None,
    client: httpx2.Client | None = None,
    limit: int = 50,
    rng: random.Random | None = None,
) -> DeliveryRun:
    """One pass of the worker: claim what is due, send it, record delivered / retry later / dead."""
    now = now or utcnow()
    run = DeliveryRun()
    claimed = claim_due(engine, now=now, limit=limit)
    run.claimed = len(claimed)
    if not claimed:
        return run
    gateway = sms or sms_gateway_for(settings, engine)
    own_client = client is None
    http = client or httpx2.Client(timeout=webhooks.TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for delivery_id, token in claimed:
            job = _load(engine, delivery_id, settings)
            if job is None:
                continue
            error: str | None = None
            permanent = False
            try:
                _send(job, settings=settings, sms=gateway, client=http, now=now)
            except SendFailed as exc:
                error, permanent = str(exc) or type(exc).__name__, isinstance(exc, _Permanent)
            except Exception as exc:  # a bug or an unexpected library error: retried, never lost
                log.exception("delivery %s failed unexpectedly", delivery_id)
                error = f"{type(exc).__name__}: {exc}"
            outcome = _record(engine, delivery_id, token, error, permanent=permanent, now=now, rng=rng)
            if outcome == "delivered":
                run.delivered += 1
            elif outcome == "dead":
                run.dead += 1
            elif outcome == "retrying":
                run.retrying += 1
            if error:
                run.errors.append(f"#{delivery_id}: {error}")
    finally:
        if own_client:
            http.close()
    return run


def _record(
    engine: Engine,
    delivery_id: int,
    token: str,
    error: str | None,
    *,
    permanent: bool,
    now: datetime,
    rng: random.Random | None,
) -> str:
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.claim_token != token:
            return "lost"  # the claim lapsed and another worker took it over
        if error is None:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": utcnow(), "last_error": ""}
            outcome = "delivered"
        elif permanent or delivery.attempts >= MAX_ATTEMPTS:
            values = {"status": "dead", "last_error": error[:500]}
            outcome = "dead"
        else:
            values = {
                "status": "pending",
                "last_error": error[:500],
                "next_attempt_at": now + retry_delay(delivery.attempts, rng),
            }
            outcome = "retrying"
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claim_token == token)
            .values(claim_token=None, claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return "lost"
        if outcome == "dead":
            session.expire(delivery)
            _tell_dead(session, delivery)
    return outcome


def _tell_dead(session: Session, delivery: Delivery) -> None:
    """A delivery gave up: the operator's admins, and whoever owns the channel, hear it in the site."""
    params = {
        "id": delivery.id,
        "channel_label": CHANNEL_LABELS.get(delivery.channel, delivery.channel),
        "attempts": delivery.attempts,
        "error": delivery.last_error[:200],
    }
    title = N_("A notification could not be delivered")
    body = N_(
        "%(channel_label)s delivery #%(id)s failed %(attempts)s times and was given up (last error: "
        "%(error)s). It can be retried from the delivery log."
    )
    key = f"delivery:{delivery.id}:dead:{delivery.attempts}"
    notifications.notify_role(
        session,
        Role.OPERATOR_ADMIN,
        topic=DEAD_TOPIC,
        key=key,
        severity="alert",
        title=title,
        body=body,
        params=params,
        link="/operator/deliveries?status=dead",
    )
    if delivery.channel == "webhook" and delivery.endpoint_id is not None:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is not None:
            kind = session.execute(
                select(organisations_table.c.kind).where(organisations_table.c.id == endpoint.organisation_id)
            ).scalar()
            org_kind = next((k for k in OrgKind if k.value == kind), None)
            if org_kind is not None and org_kind is not OrgKind.OPERATOR:
                notifications.notify_role(
                    session,
                    ORG_ADMIN_ROLE[org_kind],
                    organisation_id=endpoint.organisation_id,
                    topic=DEAD_TOPIC,
                    key=key,
                    severity="alert",
                    title=title,
                    body=body,
                    params=params,
                    link="/org/webhooks",
                )
    elif delivery.channel == "sms" and delivery.user_id is not None:
        session.add(
            notifications.Notification(
                topic=DEAD_TOPIC,
                key=key,
                severity="warning",
                title=N_("A text message to you could not be sent"),
                body=body,
                params=params,
                link="/account/notifications",
                user_id=delivery.user_id,
            )
        )
        session.flush()


def run_worker(
    engine: Engine, settings: Settings, stop: threading.Event, *, sms: SmsGateway | None = None
) -> None:
    """Deliver until ``stop`` is set, looking for due deliveries every ``delivery_poll_seconds``."""
    gateway = sms or sms_gateway_for(settings, engine)
    with httpx2.Client(timeout=webhooks.TIMEOUT_SECONDS, follow_redirects=False) as client:
        while not stop.is_set():
            try:
                run = deliver_due(engine, settings, sms=gateway, client=client)
            except Exception:  # the database may be briefly unreachable: keep the worker alive
                log.exception("delivery worker pass failed")
                run = DeliveryRun()
            if run.claimed == 0:
                stop.wait(settings.delivery_poll_seconds)
