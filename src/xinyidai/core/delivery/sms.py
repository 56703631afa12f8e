"""Text messages (短信): one gateway interface, a local outbox (the default) and Aliyun's SMS API.

The platform only ever sends short notices ("you have a warning: …, see the platform"), never personal
data beyond the phone number the message goes to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

import httpx2
from sqlalchemy import Engine

from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.delivery.models import SmsOutboxMessage

__all__ = [
    "AliyunSmsGateway",
    "OutboxSmsGateway",
    "SendFailed",
    "SmsGateway",
    "aliyun_signature",
    "percent_encode",
]


class SendFailed(Exception):
    """A channel refused or could not take a message; the text is kept as the delivery's last error."""


class SmsGateway(Protocol):
    """Something that sends one text message; raises :class:`SendFailed` when it could not."""

    name: str

    def send(self, phone: str, text: str, params: Mapping[str, str], *, delivery_id: int | None) -> None:
        """Send ``text`` to ``phone``; ``params`` are the same words for providers that use templates."""
        ...


class OutboxSmsGateway:
    """Writes each message to the ``sms_outbox`` table instead of the network (demo, tests, no provider)."""

    name = "outbox"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def send(self, phone: str, text: str, params: Mapping[str, str], *, delivery_id: int | None) -> None:
        with session_scope(self.engine) as session:
            session.add(SmsOutboxMessage(delivery_id=delivery_id, phone=phone, text=text[:500]))


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature v1 wants it: space → %20, ``~`` kept, ``*`` → %2A."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature v1 (HMAC-SHA1) of a request's parameters, ``Signature`` itself excluded.

    StringToSign = METHOD & percent("/") & percent(sorted "k=v" pairs joined by "&"), each key and
    value percent-encoded; the key is the AccessKey secret followed by "&"; the result is base64.
    """
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsGateway:
    """Aliyun Short Message Service (dysmsapi ``SendSms``, API version 2017-05-25) over plain HTTPS.

    The message goes out through an approved template (``template_code``) whose variables are
    ``params`` (the platform's template is ``您有一条${level}：${title}，请登录平台查看。``) under an
    approved signature (``sign_name``). A reply other than ``"Code": "OK"`` is a failure.
    """

    name = "aliyun"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        region: str = "cn-hangzhou",
        client: httpx2.Client | None = None,
        now: Callable[[], datetime] = utcnow,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.endpoint = endpoint
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.region = region
        self.client = client or httpx2.Client(timeout=5.0)
        self.now = now
        self.nonce = nonce

    def request_params(self, phone: str, params: Mapping[str, str], out_id: str = "") -> dict[str, str]:
        """The signed form parameters of one ``SendSms`` call."""
        values = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        if out_id:
            values["OutId"] = out_id
        values["Signature"] = aliyun_signature(values, self.access_key_secret, "POST")
        return values

    def send(self, phone: str, text: str, params: Mapping[str, str], *, delivery_id: int | None) -> None:
        form = self.request_params(phone, params, str(delivery_id or ""))
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in form.items())
        try:
            response = self.client.post(
                self.endpoint,
                content=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
        except httpx2.HTTPError as exc:
            raise SendFailed(f"aliyun: {type(exc).__name__}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = str(answer.get("Code", "")) if isinstance(answer, dict) else ""
        if response.status_code != 200 or code != "OK":
            message = answer.get("Message", "") if isinstance(answer, dict) else ""
            raise SendFailed(f"aliyun: HTTP {response.status_code} {code} {message}".strip())
