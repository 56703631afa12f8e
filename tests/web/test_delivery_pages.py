"""The delivery pages over HTTP: a person's channels, an institution's webhooks (secret shown once, test
send, delivery log, retry), the operator's SMS outbox with masked phones."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from xinyidai import demo_delivery
from xinyidai.accounts.models import User
from xinyidai.core import notifications
from xinyidai.core.access import Role
from xinyidai.core.database import session_scope
from xinyidai.core.delivery import service as delivery
from xinyidai.core.delivery.models import ChannelPreference, Delivery, SmsOutboxMessage, WebhookEndpoint
from xinyidai.core.settings import Settings
from xinyidai.web.app import create_app, stop_background

SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{20,}")


def test_a_person_chooses_sms_for_a_topic_from_a_severity(
    engine: Engine, login: Callable[[str], LoggedIn]
) -> None:
    risk = login("bank_risk")
    page = risk.client.get("/account/notifications")
    assert page.status_code == 200
    with session_scope(engine) as session:
        phone = session.scalars(select(User.phone).where(User.username == "bank_risk")).one()
    assert phone and phone not in page.text and f"{phone[:3]}****{phone[-4:]}" in page.text
    saved = risk.post_form(
        "/account/notifications",
        {"sms": ["monitoring"], "severity_monitoring": "alert", "severity_all": "info"},
    )
    assert saved.status_code == 200 and 'data-testid="saved"' in saved.text
    with session_scope(engine) as session:
        rows = {p.topic_group: (p.sms, p.min_severity) for p in session.scalars(select(ChannelPreference))}
    assert rows["monitoring"] == (True, "alert") and rows["all"] == (False, "info")
    assert rows["market"] == (False, "warning")

    bad = risk.post_form("/account/notifications", {"sms": ["all"], "severity_all": "deafening"})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
    with session_scope(engine) as session:
        assert (
            session.scalars(select(ChannelPreference).where(ChannelPreference.topic_group == "all")).one().sms
            is False
        )


def test_an_institution_admin_sets_up_a_webhook_and_sees_its_log(
    engine: Engine, login: Callable[[str], LoggedIn]
) -> None:
    admin = login("bank_admin")
    assert admin.client.get("/org/webhooks").status_code == 200
    refused = admin.post_form(
        "/org/webhooks", {"url": "http://bank.example.cn/hook", "topic_groups": ["all"]}
    )
    assert refused.status_code == 422 and 'data-testid="form-error"' in refused.text
    created = admin.post_form(
        "/org/webhooks", {"url": "https://bank.example.cn/xyd", "topic_groups": ["monitoring", "market"]}
    )
    assert created.status_code == 200
    [secret] = SECRET.findall(created.text)  # shown once …
    with session_scope(engine) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert secret not in endpoint.secret  # (stored encrypted)
    again = admin.client.get("/org/webhooks")
    assert not SECRET.findall(again.text)  # … and never again
    rotated = admin.post_form(f"/org/webhooks/{endpoint.id}/rotate")
    [new_secret] = SECRET.findall(rotated.text)
    assert new_secret != secret

    sent = admin.post_form(f"/org/webhooks/{endpoint.id}/test", follow_redirects=False)
    assert sent.status_code == 303
    log = admin.client.get("/org/webhooks")
    assert log.text.count('data-testid="delivery"') == 1 and "ping" in log.text
    with session_scope(engine) as session:
        d = session.scalars(select(Delivery)).one()
        d.status, d.attempts, d.last_error = "dead", 8, "HTTP 503: down"
    assert 'data-testid="retry"' in admin.client.get("/org/webhooks").text
    admin.post_form(f"/org/webhooks/deliveries/{d.id}/retry")
    with session_scope(engine) as session:
        assert session.get(Delivery, d.id).status == "pending"  # type: ignore[union-attr]

    # Another organisation's admin sees none of it and cannot touch it.
    other = login("gov_admin")
    assert "bank.example.cn" not in other.client.get("/org/webhooks").text
    assert other.post_form(f"/org/webhooks/{endpoint.id}/rotate").status_code == 404


def test_the_operator_reads_the_sms_outbox_with_masked_phones(
    engine: Engine, login: Callable[[str], LoggedIn]
) -> None:
    with session_scope(engine) as session:
        session.add(
            SmsOutboxMessage(phone="13563100004", text="【信易贷】您有一条预警：测试，请登录平台查看。")
        )
    page = login("op_admin").client.get("/operator/sms-outbox")
    assert page.status_code == 200
    assert "135****0004" in page.text and "13563100004" not in page.text
    assert login("op_admin").client.get("/operator/deliveries?status=dead").status_code == 200


def test_the_demo_bank_webhook_reaches_the_demo_receiver_signed(
    tmp_path: Path, database_url: str, engine: Engine, world: object
) -> None:
    settings = Settings(
        home=tmp_path / "dev", database_url=database_url, environment="development", secret_key="d" * 48
    )
    app = create_app(settings)
    stop_background(app)  # this test drives the delivery worker itself; nothing else may run

    with session_scope(engine) as session:
        demo_delivery.fill_delivery(session, settings, port=8000)
        demo_delivery.fill_delivery(session, settings, port=8000)  # idempotent
        bank = session.scalars(select(User).where(User.username == "bank_admin")).one().organisation_id
        notifications.notify_role(
            session,
            Role.RISK_OFFICER,
            organisation_id=bank,
            topic="monitoring.alert",
            title="t",
            severity="alert",
        )
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        forged = client.post(
            "/demo/webhook-receiver",
            content=b"{}",
            headers={"X-Xyd-Delivery": "1", "X-Xyd-Timestamp": "1", "X-Xyd-Signature": "sha256=00"},
        )
        assert forged.status_code == 401
        run = delivery.deliver_due(engine, settings, client=client)
    # The risk officer chose SMS for monitoring warnings: one SMS and one webhook, both delivered.
    assert (run.claimed, run.delivered) == (2, 2), run.errors
    with session_scope(engine) as session:
        assert session.scalars(select(func.count()).select_from(WebhookEndpoint)).one() == 1
        assert session.scalars(select(func.count()).select_from(SmsOutboxMessage)).one() == 1
