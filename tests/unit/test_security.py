from __future__ import annotations

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyidai.core import security
from xinyidai.core.errors import ValidationFailed


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Ab1!", "at least 8"),
        ("abcdefgh", "3 of"),
        ("abcdefg1", "3 of"),
        ("ABCDEFG1", "3 of"),
        ("Alice2026x", "username"),
        ("x" * 129, "at most"),
    ],
)
def test_password_policy_names_the_broken_rule(password: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        security.check_password_policy(password, "alice")
    assert fragment in str(exc.value)
    assert exc.value.field == "password"


@pytest.mark.parametrize("password", ["Abcdefg1", "abcdef1!", "ABCDEF1!", "Xyd#Demo2026", "密码Abc12345"])
def test_password_policy_accepts_three_classes(password: str) -> None:
    security.check_password_policy(password, "alice")


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = security.hash_password("Abcdefg1")
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "Abcdefg1")
    assert not security.verify_password(hashed, "Abcdefg2")
    assert not security.verify_password(None, "Abcdefg1")
    assert not security.verify_password("not-a-hash", "Abcdefg1")


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=1000))
def test_temporary_passwords_always_satisfy_the_policy(_: int) -> None:
    security.check_password_policy(security.temporary_password(), "someone")


def test_totp_accepts_current_code_and_rejects_others() -> None:
    secret = security.new_totp_secret()
    code = pyotp.TOTP(secret).now()
    assert security.verify_totp(secret, code)
    assert security.verify_totp(secret, f" {code[:3]} {code[3:]} ")
    wrong = f"{(int(code) + 500000) % 1000000:06d}"
    assert not security.verify_totp(secret, wrong)
    assert not security.verify_totp(secret, "abcdef")
    assert security.totp_uri(secret, "op_admin").startswith("otpauth://totp/xinyidai:op_admin?")


def test_recovery_codes_are_unique_and_normalised() -> None:
    codes = security.new_recovery_codes()
    assert len(set(codes)) == 10
    assert security.normalise_recovery_code(" " + codes[0].upper() + " ") == codes[0]


def test_token_digest_is_stable_and_not_the_token() -> None:
    token = security.new_token()
    assert security.token_digest(token) == security.token_digest(token)
    assert token not in security.token_digest(token)
