"""Translations: English message ids, a complete zh-CN catalogue (the default UI language), English.

Catalogues are the ``.po`` files under ``xinyidai/locale``; they are compiled in memory at start-up,
so no binary ``.mo`` file is committed or built.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_LABELS = {"zh_CN": "简体中文", "en": "English"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here."""
    return message


def catalogue_path(locale: str) -> Any:
    return resources.files("xinyidai") / "locale" / locale / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """The compiled translations for a locale (English is the message ids themselves)."""
    if locale not in LOCALES or locale == "en":
        return NullTranslations()
    path = catalogue_path(locale)
    with path.open("rb") as fh:
        catalogue = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str, locale: str = DEFAULT_LOCALE) -> str:
    return translations(locale).gettext(message)


def translate(message: str, params: dict[str, Any] | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """Translate a message id and fill its ``%(name)s`` placeholders.

    Parameters named ``*_label`` are message ids themselves (a state, an action) and are translated too.
    """
    text = gettext(message, locale)
    if params:
        params = {k: gettext(v, locale) if k.endswith("_label") and isinstance(v, str) else v
                  for k, v in params.items()}  # fmt: skip
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            return text
    return text


def negotiate(accept_language: str | None, cookie: str | None = None) -> str:
    """Pick the UI language: an explicit choice (cookie) first, then Accept-Language, else zh-CN."""
    if cookie in LOCALES:
        return cookie
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh_CN"
            if tag.startswith("en"):
                return "en"
    return DEFAULT_LOCALE
