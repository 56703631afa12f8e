from __future__ import annotations

from xinyidai.core.masking import mask_id_number, mask_person_name, mask_phone


def test_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13512342210") == "135****2210"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""


def test_id_number_keeps_first_six_and_last_four() -> None:
    assert mask_id_number("370102199001011234") == "370102********1234"


def test_person_name_keeps_family_name() -> None:
    assert mask_person_name("张三丰") == "张**"
    assert mask_person_name("李") == "*"
