"""The UI is Chinese: every message has a zh-CN translation and no template text bypasses the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tools.i18n import PACKAGE, all_messages, read_catalogue, untranslated

from xinyidai.core import i18n

PLACEHOLDER = re.compile(r"%\(\w+\)\w")


def test_every_message_has_a_chinese_translation() -> None:
    missing = untranslated("zh_CN")
    assert not missing, "untranslated (run `make messages` and fill in zh_CN):\n" + "\n".join(
        f"{msgid!r} at {where[0]}" for msgid, where in missing
    )


def test_catalogue_has_no_stale_or_broken_entries() -> None:
    catalogue = read_catalogue("zh_CN")
    current = set(all_messages())
    for message in catalogue:
        if not message.id:
            continue
        assert message.id in current, f"stale catalogue entry {message.id!r}: run `make messages`"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), (
            message.id
        )


def _visible_text(template: str) -> str:
    text = re.sub(r"\{#.*?#\}", "", template, flags=re.S)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", "", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
    text = re.sub(r"<!doctype[^>]*>", "", text, flags=re.I)
    return re.sub(r"<[^>]+>", " ", text)


@pytest.mark.parametrize("path", sorted((PACKAGE / "web" / "templates").glob("*.html")), ids=lambda p: p.name)
def test_templates_show_no_text_outside_the_catalogue(path: Path) -> None:
    leftover = _visible_text(path.read_text(encoding="utf-8"))
    words = re.findall(r"[A-Za-z\u4e00-\u9fff]{2,}", leftover)
    assert not words, f"{path.name} shows untranslatable text: {words}"


def test_placeholder_attributes_are_translated_too() -> None:
    for path in (PACKAGE / "web" / "templates").glob("*.html"):
        for attr in re.findall(
            r'(?:placeholder|title|aria-label)="([^"{]+)"', path.read_text(encoding="utf-8")
        ):
            assert not re.search(r"[A-Za-z\u4e00-\u9fff]", attr), f"{path.name}: {attr}"


def test_translate_fills_placeholders_in_both_languages() -> None:
    message = "Too many failed logins: the account is locked; try again in %(minutes)s minutes"
    assert "15" in i18n.translate(message, {"minutes": 15}, "zh_CN")
    assert "锁定" in i18n.translate(message, {"minutes": 15}, "zh_CN")
    assert i18n.translate(message, {"minutes": 15}, "en").endswith("15 minutes")


def test_language_negotiation_prefers_the_explicit_choice() -> None:
    assert i18n.negotiate("en-US,en;q=0.9", None) == "en"
    assert i18n.negotiate("en-US", "zh_CN") == "zh_CN"
    assert i18n.negotiate(None, None) == "zh_CN"
    assert i18n.negotiate("fr", "xx") == "zh_CN"
