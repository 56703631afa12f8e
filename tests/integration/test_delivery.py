"""Notification delivery on a real database (SQLite and PostgreSQL) with real local HTTP receivers:
webhooks retried with back-off until a failing receiver recovers (delivered once, signed), a receiver
that stays down ends dead with in-site notices, channel choices respected, two workers never send the
same delivery twice, the Aliyun SMS adapter signs its requests as documented."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.cli import app
from xinyidai.core import notifications
from xinyidai.core.access import Principal, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.delivery import service as delivery
from xinyidai.core.delivery import webhooks
from xinyidai.core.delivery.models import ChannelPreference, Delivery, SmsOutboxMessage, WebhookEndpoint
from xinyidai.core.delivery.sms import AliyunSmsGateway, OutboxSmsGateway, SendFailed, aliyun_signature
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.settings import Settings, get_settings


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that fails its first ``failures`` requests with 500."""

    failures: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[int], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(failures: int) -> Receiver:
        state = Receiver(failures=failures)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with state.lock:
                    state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = 500 if len(state.requests) <= state.failures else 200
                    state.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/xyd"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def city(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        demo.build(session)
    return engine


def who(session: Session, username: str) -> Principal:
    return accounts.principal_for(session.scalars(select(User).where(User.username == username)).one())


def user_id(session: Session, username: str) -> int:
    return session.scalars(select(User.id).where(User.username == username)).one()


def alert_bank(engine: Engine, *, severity: str = "alert", topic: str = "monitoring.alert") -> int:
    """What the monitoring capability does: a risk alert to the demo bank's risk officers."""
    with session_scope(engine) as session:
        bank = who(session, "bank_risk").organisation_id
        n = notifications.notify_role(
            session,
            Role.RISK_OFFICER,
            organisation_id=bank,
            topic=topic,
            key="rule:7:91110000600037341L",
            severity=severity,
            title="Risk alert: %(name)s",
            params={"name": "威海市测试有限公司"},
            link="/institution/loans",
        )
        return n.id


def add_endpoint(engine: Engine, settings: Settings, url: str, groups: list[str] | None = None) -> str:
    with session_scope(engine) as session:
        _, secret = delivery.create_endpoint(
            session, who(session, "bank_admin"), url=url, topic_groups=groups or ["all"], settings=settings
        )
    return secret


def deliveries(engine: Engine) -> list[Delivery]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_webhook_retried_until_the_receiver_recovers_then_delivered_once(
    city: Engine, settings: Settings, receiver_factory: Callable[[int], Receiver]
) -> None:
    receiver = receiver_factory(2)
    secret = add_endpoint(city, settings, receiver.url)
    alert_bank(city)
    [queued] = deliveries(city)
    assert (queued.channel, queued.status, queued.event) == ("webhook", "pending", "monitoring.alert")

    t0 = utcnow()
    rng = Random(1)
    first = delivery.deliver_due(city, settings, now=t0, rng=rng)
    assert (first.claimed, first.retrying, first.delivered) == (1, 1, 0)
    [after_one] = deliveries(city)
    wait = after_one.next_attempt_at - t0
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=36)  # 30 s ± 20 %
    assert after_one.attempts == 1 and "HTTP 500" in after_one.last_error

    # Not due yet: nothing is sent.
    assert delivery.deliver_due(city, settings, now=t0 + timedelta(seconds=20), rng=rng).claimed == 0
    t1 = after_one.next_attempt_at + timedelta(seconds=1)
    assert delivery.deliver_due(city, settings, now=t1, rng=rng).retrying == 1
    [after_two] = deliveries(city)
    assert timedelta(seconds=96) <= after_two.next_attempt_at - t1 <= timedelta(seconds=144)  # 2 min ± 20 %
    t2 = after_two.next_attempt_at + timedelta(seconds=1)
    assert delivery.deliver_due(city, settings, now=t2, rng=rng).delivered == 1
    # Later passes send nothing more: delivered exactly once.
    assert delivery.deliver_due(city, settings, now=t2 + timedelta(days=2), rng=rng).claimed == 0

    [done] = deliveries(city)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 3, "")
    assert receiver.answers == [500, 500, 200]
    ids = {headers["x-xyd-delivery"] for headers, _ in receiver.requests}
    assert ids == {str(done.id)}
    assert len({body for _, body in receiver.requests}) == 1  # the same body on every retry
    headers, body = receiver.requests[-1]
    assert headers["x-xyd-signature"] == sign(secret, headers["x-xyd-timestamp"], body)
    assert headers["x-xyd-signature"] != sign("whsec_wrong", headers["x-xyd-timestamp"], body)
    assert headers["x-xyd-event"] == "monitoring.alert"
    document = json.loads(body)
    assert document["delivery_id"] == done.id and document["event"] == "monitoring.alert"
    assert document["notification"]["severity"] == "alert"
    assert "威海市测试有限公司" in document["notification"]["title"]


def test_a_receiver_that_stays_down_ends_dead_and_people_are_told(
    city: Engine, settings: Settings, receiver_factory: Callable[[int], Receiver]
) -> None:
    receiver = receiver_factory(10_000)
    add_endpoint(city, settings, receiver.url)
    alert_bank(city)
    now = utcnow()
    for _ in range(delivery.MAX_ATTEMPTS):
        delivery.deliver_due(city, settings, now=now)
        [d] = deliveries(city)
        now = d.next_attempt_at + timedelta(seconds=1)
    [dead] = deliveries(city)
    assert (dead.status, dead.attempts) == ("dead", delivery.MAX_ATTEMPTS)
    assert len(receiver.requests) == delivery.MAX_ATTEMPTS
    # Roughly a day of trying (30 s … 12 h with jitter).
    assert timedelta(hours=17) < dead.last_attempt_at - dead.created_at < timedelta(hours=27)  # type: ignore[operator]
    assert delivery.deliver_due(city, settings, now=now + timedelta(days=3)).claimed == 0

    with session_scope(city) as session:
        for username in ("op_admin", "bank_admin"):
            inbox = notifications.inbox(session, who(session, username))
            assert [n.topic for n, _ in inbox].count("delivery.dead") == 1, username
        # Nobody else at the bank hears it; no webhook was raised about the dead webhook itself.
        assert not any(
            n.topic == "delivery.dead" for n, _ in notifications.inbox(session, who(session, "bank_risk"))
        )
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1

        # Another bank's admin cannot retry it; the bank's own admin can, and a fresh series starts.
        with pytest.raises(NotFound):
            delivery.retry_now(session, who(session, "gov_admin"), dead.id)
        retried = delivery.retry_now(session, who(session, "bank_admin"), dead.id)
        assert (retried.status, retried.attempts) == ("pending", 0)


def test_sms_goes_only_to_people_who_chose_it_from_their_severity(city: Engine, settings: Settings) -> None:
    with session_scope(city) as session:
        risk = who(session, "bank_risk")
        delivery.save_channel_choices(session, risk, {"all": (False, "info"), "monitoring": (True, "alert")})
        admin = who(session, "bank_admin")
        # "all" on from info, but the marketplace group switched off: its group choice wins.
        delivery.save_channel_choices(session, admin, {"all": (True, "info"), "market": (False, "info")})

    alert_bank(city, severity="warning")  # below the risk officer's threshold
    assert deliveries(city) == []
    alert_bank(city, severity="alert")
    [sms] = deliveries(city)
    with session_scope(city) as session:
        assert (sms.channel, sms.user_id) == ("sms", user_id(session, "bank_risk"))
        bank = risk.organisation_id
        notifications.notify_role(
            session, Role.INSTITUTION_ADMIN, organisation_id=bank, topic="market.application", title="x"
        )
        notifications.notify_role(
            session, Role.INSTITUTION_ADMIN, organisation_id=bank, topic="rating", title="y", severity="info"
        )
        # A user-addressed notification reaches the person too; someone who chose nothing gets no SMS.
        session.add(
            notifications.Notification(
                topic="funds.claim", title="z", severity="alert", user_id=user_id(session, "bank_manager")
            )
        )
    channels = [(d.channel, d.event) for d in deliveries(city)]
    assert channels == [("sms", "monitoring.alert"), ("sms", "rating")]

    gateway = OutboxSmsGateway(city)
    run = delivery.deliver_due(city, settings, sms=gateway)
    assert run.delivered == 2
    with session_scope(city) as session:
        outbox = list(session.scalars(select(SmsOutboxMessage).order_by(SmsOutboxMessage.id)))
        phone = session.scalars(select(User.phone).where(User.username == "bank_risk")).one()
        assert outbox[0].phone == phone
        assert outbox[0].text.startswith("【信易贷】") and "威海市测试有限公司" in outbox[0].text


def test_choosing_sms_without_a_phone_is_refused_and_nothing_is_written(city: Engine) -> None:
    with session_scope(city) as session:
        user = session.scalars(select(User).where(User.username == "bank_risk")).one()
        user.phone = None
    with session_scope(city) as session, pytest.raises(ValidationFailed) as refused:
        delivery.save_channel_choices(session, who(session, "bank_risk"), {"monitoring": (True, "alert")})
    assert refused.value.field == "sms"
    with session_scope(city) as session:
        assert session.scalar(select(func.count()).select_from(ChannelPreference)) == 0
        with pytest.raises(ValidationFailed):
            delivery.save_channel_choices(session, who(session, "bank_admin"), {"all": (False, "loud")})


def test_deliveries_are_written_with_their_notification_or_not_at_all(
    city: Engine, settings: Settings
) -> None:
    add_endpoint(city, settings, "https://bank.example.cn/hooks", ["monitoring"])
    with pytest.raises(RuntimeError), session_scope(city) as session:
        notifications.notify_role(
            session, Role.RISK_OFFICER, organisation_id=who(session, "bank_risk").organisation_id,
            topic="monitoring.alert", title="t", severity="alert",
        )  # fmt: skip
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
        raise RuntimeError("the request failed after raising the alert")
    assert deliveries(city) == []
    # A topic the endpoint did not subscribe to is not sent to it.
    alert_bank(city, topic="data_quality")
    assert deliveries(city) == []


def test_two_workers_never_send_the_same_delivery_twice(
    city: Engine, settings: Settings, receiver_factory: Callable[[int], Receiver]
) -> None:
    receiver = receiver_factory(0)
    add_endpoint(city, settings, receiver.url)
    with session_scope(city) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        for _ in range(30):
            delivery.send_test(session, who(session, "bank_admin"), endpoint.id)
    now = utcnow()
    barrier = threading.Barrier(2)
    runs: list[delivery.DeliveryRun] = []

    def work() -> None:
        barrier.wait()
        runs.append(delivery.deliver_due(city, settings, now=now, limit=100))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [headers["x-xyd-delivery"] for headers, _ in receiver.requests]
    assert len(sent) == 30 and len(set(sent)) == 30
    assert sum(r.delivered for r in runs) == 30
    assert all(d.status == "delivered" and d.attempts == 1 for d in deliveries(city))


def test_webhook_addresses_must_be_https_except_to_this_machine_in_development(
    city: Engine, settings: Settings
) -> None:
    production = Settings(
        home=settings.home, database_url=settings.database_url, environment="production", secret_key="p" * 48
    )
    with session_scope(city) as session:
        admin = who(session, "bank_admin")
        for url in (
            "http://bank.example.cn/hook",
            "ftp://x",
            "https://user:pw@bank.example.cn/",
            "not a url",
        ):
            with pytest.raises(ValidationFailed):
                delivery.create_endpoint(session, admin, url=url, topic_groups=["all"], settings=settings)
        with pytest.raises(ValidationFailed):
            delivery.create_endpoint(
                session, admin, url="http://127.0.0.1:9/h", topic_groups=["all"], settings=production
            )
        with pytest.raises(ValidationFailed):
            delivery.create_endpoint(
                session, admin, url="https://bank.example.cn/h", topic_groups=[], settings=settings
            )
        endpoint, secret = delivery.create_endpoint(
            session,
            admin,
            url="https://bank.example.cn/h",
            topic_groups=["market", "monitoring"],
            settings=production,
        )
        assert secret.startswith("whsec_") and len(secret) > 40
        assert endpoint.topic_groups == ["market", "monitoring"]
        # Stored encrypted with a key derived from XYD_SECRET_KEY, never in clear.
        assert (
            secret not in endpoint.secret
            and webhooks.unseal(endpoint.secret, production.secret_key) == secret
        )
        with pytest.raises(ValueError):
            webhooks.unseal(endpoint.secret, settings.secret_key)
        rotated = delivery.rotate_secret(session, admin, endpoint.id, production)
        assert rotated != secret and webhooks.unseal(endpoint.secret, production.secret_key) == rotated
        with pytest.raises(NotFound):  # another organisation's endpoint does not exist for it
            delivery.rotate_secret(session, who(session, "gov_admin"), endpoint.id, production)


@pytest.fixture
def fake_aliyun() -> Iterator[tuple[str, list[dict[str, str]], list[dict[str, str]]]]:
    """A local stand-in for dysmsapi.aliyuncs.com that checks signatures like the real one."""
    received: list[dict[str, str]] = []
    replies: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
            received.append(form)
            expected = aliyun_signature(form, "test-secret", "POST")
            if form.get("Signature") != expected:
                reply = {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
            else:
                reply = replies.pop(0) if replies else {"Code": "OK", "Message": "OK", "BizId": "1"}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received, replies
    server.shutdown()
    server.server_close()


def aliyun(url: str, secret: str = "test-secret") -> AliyunSmsGateway:
    return AliyunSmsGateway(
        endpoint=url,
        access_key_id="LTAI-test",
        access_key_secret=secret,
        sign_name="信易贷",
        template_code="SMS_123456",
    )


def test_aliyun_sms_requests_are_signed_as_documented(
    fake_aliyun: tuple[str, list[dict[str, str]], list[dict[str, str]]],
) -> None:
    url, received, replies = fake_aliyun
    aliyun(url).send("13563100004", "【信易贷】…", {"level": "预警", "title": "风险预警 A&B"}, delivery_id=7)
    [form] = received
    assert form["Action"] == "SendSms" and form["Version"] == "2017-05-25"
    assert form["PhoneNumbers"] == "13563100004" and form["SignName"] == "信易贷"
    assert form["TemplateCode"] == "SMS_123456" and form["OutId"] == "7"
    assert json.loads(form["TemplateParam"]) == {"level": "预警", "title": "风险预警 A&B"}
    assert form["SignatureMethod"] == "HMAC-SHA1" and form["SignatureVersion"] == "1.0"
    assert form["Timestamp"].endswith("Z")

    with pytest.raises(SendFailed, match="SignatureDoesNotMatch"):
        aliyun(url, secret="wrong").send("13563100004", "t", {"level": "a", "title": "b"}, delivery_id=8)
    replies.append({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})
    with pytest.raises(SendFailed, match="BUSINESS_LIMIT_CONTROL"):
        aliyun(url).send("13563100004", "t", {"level": "a", "title": "b"}, delivery_id=9)


def test_aliyun_signature_matches_the_documented_example() -> None:
    # The worked example of Aliyun's SMS signature documentation (GET, secret "testSecret").
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_notify_deliver_command_sends_what_is_due(
    city: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver_factory: Callable[[int], Receiver],
) -> None:
    monkeypatch.setenv("XYD_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XYD_DATABASE_URL", database_url)
    monkeypatch.setenv("XYD_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        receiver = receiver_factory(0)
        add_endpoint(city, get_settings(), receiver.url)
        alert_bank(city)
        result = CliRunner().invoke(app, ["notify", "deliver"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "送达 1" in result.output
    assert len(receiver.requests) == 1 and [d.status for d in deliveries(city)] == ["delivered"]


def test_a_claim_lapses_when_its_worker_died_and_the_late_worker_cannot_overwrite(
    city: Engine, settings: Settings, receiver_factory: Callable[[int], Receiver]
) -> None:
    receiver = receiver_factory(0)
    add_endpoint(city, settings, receiver.url)
    alert_bank(city)
    now = utcnow()
    [(delivery_id, stale_token)] = delivery.claim_due(city, now=now)  # this worker then "dies"
    assert delivery.claim_due(city, now=now + timedelta(seconds=30)) == []
    run = delivery.deliver_due(city, settings, now=now + timedelta(seconds=61))
    assert (run.claimed, run.delivered) == (1, 1)
    from xinyidai.core.delivery.worker import _record

    # The first worker wakes up and reports a failure: its claim is gone, nothing changes.
    assert _record(city, delivery_id, stale_token, "HTTP 500", permanent=False, now=now, rng=None) == "lost"
    [d] = deliveries(city)
    assert (d.status, d.attempts, len(receiver.requests)) == ("delivered", 2, 1)


def test_a_secret_this_installation_cannot_read_gives_up_at_once_and_says_why(
    city: Engine, settings: Settings, receiver_factory: Callable[[int], Receiver]
) -> None:
    receiver = receiver_factory(0)
    add_endpoint(city, settings, receiver.url)
    alert_bank(city)
    moved = Settings(
        home=settings.home, database_url=settings.database_url, environment="test", secret_key="n" * 48
    )
    assert delivery.deliver_due(city, moved).dead == 1
    [d] = deliveries(city)
    assert d.status == "dead" and "XYD_SECRET_KEY" in d.last_error and receiver.requests == []
