"""Personal-data masking in every output (PIPL; common practice in RULES.md)."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``13512342210`` → ``135****2210`` (first 3 + last 4)."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str | None) -> str:
    """Resident ID: first 6 + last 4 kept."""
    if not id_number:
        return ""
    value = id_number.strip()
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_person_name(name: str | None) -> str:
    """A natural person's name: keep the family name (first character), e.g. ``张三丰`` → ``张**``."""
    if not name:
        return ""
    value = name.strip()
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"
