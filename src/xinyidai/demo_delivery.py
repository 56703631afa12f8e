"""The demo's delivery channels: a few people receive SMS (kept in the local outbox), and the demo bank
has a webhook endpoint pointing at the platform's own demo receiver (``/demo/webhook-receiver``, served
only in development and demo installations), so its delivery log fills with signed, delivered POSTs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.delivery import service as delivery
from xinyidai.core.delivery.models import WebhookEndpoint
from xinyidai.core.settings import Settings

# (username, {topic group: (SMS wanted, from which severity)})
SMS_CHOICES: tuple[tuple[str, dict[str, tuple[bool, str]]], ...] = (
    ("bank_risk", {"all": (False, "alert"), "monitoring": (True, "warning")}),
    ("bank_admin", {"all": (True, "alert")}),
    ("ent_admin", {"all": (True, "warning")}),
    ("op_data", {"data_quality": (True, "warning")}),
)


def demo_receiver_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/demo/webhook-receiver"


def fill_delivery(session: Session, settings: Settings, *, port: int) -> None:
    """Set the demo's channel choices and the demo bank's webhook (once)."""
    bank_admin = session.scalars(select(User).where(User.username == "bank_admin")).one()
    admin = accounts.principal_for(bank_admin)
    if session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == admin.organisation_id)
    ).first():
        return
    for username, choices in SMS_CHOICES:
        user = session.scalars(select(User).where(User.username == username)).one()
        delivery.save_channel_choices(session, accounts.principal_for(user), choices)
    delivery.create_endpoint(
        session, admin, url=demo_receiver_url(port), topic_groups=["all"], settings=settings
    )
