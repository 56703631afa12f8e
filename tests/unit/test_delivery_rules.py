"""Pure rules of notification delivery: topic groups, who wants an SMS, back-off, webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from random import Random

import pytest

from xinyidai.core.delivery import webhooks
from xinyidai.core.delivery.fanout import endpoint_takes, topic_group_of, wants
from xinyidai.core.delivery.worker import MAX_ATTEMPTS, RETRY_DELAYS_SECONDS, retry_delay
from xinyidai.core.errors import ValidationFailed


def test_topics_fall_into_their_groups() -> None:
    assert topic_group_of("monitoring.alert") == "monitoring"
    assert topic_group_of("policies.objection") == "funds_policies"
    assert topic_group_of("funds.claim") == "funds_policies"
    assert topic_group_of("data_quality") == "data_quality"
    assert topic_group_of("something.new") == ""


def test_a_group_choice_overrides_the_all_choice_and_severity_is_a_floor() -> None:
    choices = {"all": (True, "info"), "market": (False, "info"), "monitoring": (True, "alert")}
    assert wants(choices, "rating", "info")
    assert not wants(choices, "market", "alert")
    assert not wants(choices, "monitoring", "warning") and wants(choices, "monitoring", "alert")
    assert wants(choices, "monitoring", "high")  # monitoring's own severity words
    assert wants(choices, "", "info")  # a topic outside every group: only "all" decides
    assert not wants({}, "monitoring", "alert")
    assert endpoint_takes(["all"], "") and endpoint_takes(["market"], "market")
    assert not endpoint_takes(["market"], "monitoring") and not endpoint_takes(["market"], "")


def test_back_off_grows_with_jitter_over_about_a_day() -> None:
    rng = Random(7)
    delays = [retry_delay(n, rng) for n in range(1, MAX_ATTEMPTS)]
    for delay, base in zip(delays, RETRY_DELAYS_SECONDS, strict=True):
        assert timedelta(seconds=base * 0.8) <= delay <= timedelta(seconds=base * 1.2)
    assert timedelta(hours=17) < sum(delays, timedelta()) < timedelta(hours=27)
    assert retry_delay(99, rng) <= timedelta(seconds=RETRY_DELAYS_SECONDS[-1] * 1.2)


def test_signatures_are_hmac_sha256_of_timestamp_and_body() -> None:
    body = webhooks.body_of(5, "monitoring.alert", {"notification": {"title": "预警"}})
    expected = hmac.new(b"whsec_x", b"1764600000." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("whsec_x", "1764600000", body) == "sha256=" + expected
    assert webhooks.verify("whsec_x", "1764600000", body, "sha256=" + expected)
    assert not webhooks.verify("whsec_x", "1764600001", body, "sha256=" + expected)
    assert body == webhooks.body_of(5, "monitoring.alert", {"notification": {"title": "预警"}})


@pytest.mark.parametrize(
    ("url", "dev_ok"),
    [
        ("https://bank.example.cn/hook", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://localhost/hook", True),
        ("http://[::1]:9000/h", True),
        ("http://bank.example.cn/hook", False),
        ("http://10.0.0.5/hook", False),
        ("https://u:p@bank.example.cn/", False),
        ("javascript:alert(1)", False),
        ("https://", False),
    ],
)
def test_webhook_addresses(url: str, dev_ok: bool) -> None:
    if dev_ok:
        assert webhooks.validate_url(url, allow_http_localhost=True) == url
    else:
        with pytest.raises(ValidationFailed):
            webhooks.validate_url(url, allow_http_localhost=True)
    if url.startswith("http://"):
        with pytest.raises(ValidationFailed):
            webhooks.validate_url(url, allow_http_localhost=False)
