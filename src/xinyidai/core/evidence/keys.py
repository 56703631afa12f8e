"""The log's Ed25519 key and the exact bytes a tree head signature covers.

The private key comes from ``XYD_EVIDENCE_SIGNING_KEY`` (base64 of the raw 32 bytes, or a PKCS#8 PEM).
Outside production an unset key is generated once and kept, readable only by its owner, in
``XYD_HOME/evidence_signing_key.pem``; production refuses to run without a configured key, because a
key that appears by itself proves nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from xinyidai.core.errors import XydError
from xinyidai.core.settings import Settings

HEAD_PREFIX = "xinyidai evidence log v1"
KEY_FILE = "evidence_signing_key.pem"


class SigningKeyMissing(XydError):
    """Production without ``XYD_EVIDENCE_SIGNING_KEY``, or a value that is not a key."""

    status = 503
    code = "evidence_key_missing"
    title = "The evidence log's signing key is not configured"


def _parse_private(text: str) -> Ed25519PrivateKey:
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise SigningKeyMissing("XYD_EVIDENCE_SIGNING_KEY is not an Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyMissing("XYD_EVIDENCE_SIGNING_KEY is not an Ed25519 private key")
    return key


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The private key from settings, or (development, test, demo) the one kept under ``home``."""
    configured = settings.evidence_signing_key.strip()
    if configured:
        return _parse_private(configured)
    if settings.environment == "production":
        raise SigningKeyMissing()
    path = settings.home / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return _parse_private(path.read_text())


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM, what ``openssl pkeyutl -verify -pubin`` reads."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: how a receipt names the key that signed it."""
    return hashlib.sha256(public_raw(key)).hexdigest()


def load_public(text: str) -> Ed25519PublicKey:
    """A public key from a PEM or base64 of the raw 32 bytes (ValueError if it is neither)."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (TypeError, binascii.Error) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def head_text(tree_size: int, root_hash: bytes, timestamp_ms: int) -> bytes:
    """The signed bytes of a tree head: four lines, UTF-8, each ending in a newline."""
    return f"{HEAD_PREFIX}\n{tree_size}\n{root_hash.hex()}\n{timestamp_ms}\n".encode()


def signature_valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
