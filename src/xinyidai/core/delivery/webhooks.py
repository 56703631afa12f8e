"""Webhooks: notifications POSTed to an organisation's own system, signed so it can trust them.

Every request carries ``X-Xyd-Event`` (the topic), ``X-Xyd-Delivery`` (the delivery id — the same on
every retry, for the receiver's idempotency), ``X-Xyd-Timestamp`` (Unix seconds) and
``X-Xyd-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the endpoint's
secret. A 2xx answer within 5 seconds is delivered; anything else is retried. docs/api.md shows a
receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2
from cryptography.fernet import Fernet, InvalidToken

from xinyidai.core.delivery.sms import SendFailed
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_

TIMEOUT_SECONDS = 5.0
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

__all__ = ["body_of", "new_secret", "post", "seal", "sign", "unseal", "validate_url", "verify"]
SEALED = "f1:"


def new_secret() -> str:
    """A fresh endpoint secret (256 bits, URL-safe), shown to the organisation's admin once."""
    return "whsec_" + secrets.token_urlsafe(32)


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"xinyidai webhook secrets\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, secret_key: str) -> str:
    """An endpoint secret as stored: encrypted (Fernet, AES-128-CBC + HMAC) with a key derived from
    ``XYD_SECRET_KEY``, because signing needs the secret itself and a database copy must not reveal it."""
    return SEALED + _fernet(secret_key).encrypt(secret.encode()).decode()


def unseal(stored: str, secret_key: str) -> str:
    """The secret back from its stored form; ValueError when this installation's key cannot open it."""
    if not stored.startswith(SEALED):
        raise ValueError("not a sealed secret")
    try:
        return _fernet(secret_key).decrypt(stored[len(SEALED) :].encode()).decode()
    except InvalidToken:
        raise ValueError("sealed with another XYD_SECRET_KEY") from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Xyd-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def body_of(delivery_id: int, event: str, payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed for a delivery: the same on every retry."""
    document = {"delivery_id": delivery_id, "event": event, **payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def validate_url(url: str, *, allow_http_localhost: bool) -> str:
    """An endpoint URL the platform will POST to: https, or http to this machine where allowed."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise ValidationFailed(N_("Enter a valid https:// address"), field="url") from None
    if len(url) > 500 or not host or parts.username or parts.password:
        raise ValidationFailed(N_("Enter a valid https:// address"), field="url")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_http_localhost and _is_local(host):
        return url
    if parts.scheme == "http" and _is_local(host):
        raise ValidationFailed(N_("Plain http is allowed only in development installations"), field="url")
    raise ValidationFailed(N_("Enter a valid https:// address"), field="url")


def _is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(
    client: httpx2.Client,
    *,
    url: str,
    secret: str,
    delivery_id: int,
    event: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """POST one delivery; raises :class:`SendFailed` unless the receiver answers 2xx."""
    body = body_of(delivery_id, event, payload)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "xinyidai-webhooks/1",
        "X-Xyd-Event": event,
        "X-Xyd-Delivery": str(delivery_id),
        "X-Xyd-Timestamp": timestamp,
        "X-Xyd-Signature": sign(secret, timestamp, body),
    }
    try:
        response = client.post(url, content=body, headers=headers)  # the client carries the 5 s timeout
    except httpx2.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
    if not 200 <= response.status_code < 300:
        raise SendFailed(f"HTTP {response.status_code}: {response.text[:200]}")
