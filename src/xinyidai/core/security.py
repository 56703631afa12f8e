"""Credentials: argon2id password hashes, the password policy, random tokens, TOTP codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from xinyidai.core.errors import ValidationFailed

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# A fixed hash verified when the user does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("xinyidai-timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant-ish time, also when there is no user (``password_hash`` None)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_classes(password: str) -> int:
    """How many of the four classes (lower, upper, digit, other) the password uses."""
    return sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )


def check_password_policy(password: str, username: str) -> None:
    """MLPS level 3 complexity: ≥ 8 characters, 3 of 4 classes, not the username.

    Raises:
        ValidationFailed: naming the rule that the password breaks.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "The password must be at least %(min)s characters long", field="password", min=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            "The password must be at most %(max)s characters long", field="password", max=MAX_PASSWORD_LENGTH
        )
    if password_classes(password) < 3:
        raise ValidationFailed(
            "The password must use at least 3 of: lower-case letters, upper-case letters, digits, symbols",
            field="password",
        )
    lowered = password.lower()
    if username and (lowered == username.lower() or username.lower() in lowered):
        raise ValidationFailed("The password must not contain the username", field="password")


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 of a token: what is stored, so a database leak does not leak live sessions or secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def temporary_password() -> str:
    """A random first password that satisfies the policy, shown once to the person who invites."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(10))
        candidate = f"{body}#{secrets.randbelow(90) + 10}"
        if password_classes(candidate) == 4:
            return candidate


# --- TOTP (RFC 6238) for administrators -------------------------------------------------------

TOTP_ISSUER = "xinyidai"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER))


def totp_now(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


def verify_totp(secret: str, code: str) -> bool:
    """Accept the current code and one step either side (clock drift)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    return bool(pyotp.TOTP(secret).verify(code, valid_window=1))


def new_recovery_codes(count: int = 10) -> list[str]:
    """One-time recovery codes like ``k7q2-9xme``, shown once."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "".join(secrets.choice(alphabet) for _ in range(4))
        + "-"
        + "".join(secrets.choice(alphabet) for _ in range(4))
        for _ in range(count)
    ]


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "")
