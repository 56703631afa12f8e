"""Reference codes: industries (GB/T 4754-2017), enterprise size classes and administrative divisions.

The tables live as CSV files in ``codes_data/`` and are read once through :mod:`importlib.resources`.

* ``industries.csv`` — the 20 sections (门类, ``A``-``T``; ``code`` equals ``section``) and the 97 divisions
  (大类, ``01``-``97``) of GB/T 4754-2017 《国民经济行业分类》 with Chinese and English names.
* ``regions.csv`` — GB/T 2260 division codes: the 31 provincial-level units, and for the demo city
  威海市 (Weihai, 371000) its province and its four county-level units.

Unknown codes raise :class:`UnknownCode`, which carries an English msgid and its parameters apart, like
:class:`xinyidai.core.uscc.InvalidUSCC`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Final, Literal

from xinyidai.core.i18n import N_

__all__ = [
    "DIVISIONS",
    "SECTIONS",
    "Division",
    "Region",
    "RegionLevel",
    "Section",
    "SizeClass",
    "UnknownCode",
    "children",
    "divisions_of",
    "industry_division",
    "industry_section",
    "is_known_region",
    "is_valid_division",
    "region",
    "region_name",
    "regions",
]

CodeKind = Literal["industry_section", "industry_division", "region"]

_MESSAGES: Final[Mapping[CodeKind, str]] = MappingProxyType(
    {
        "industry_section": N_("%(code)s is not an industry section of GB/T 4754-2017 (A to T)."),
        "industry_division": N_("%(code)s is not an industry division code of GB/T 4754-2017 (01 to 97)."),
        "region": N_("%(code)s is not a known administrative division code."),
    }
)


class UnknownCode(ValueError):
    """A code that is not in the reference table asked about.

    Attributes:
        kind: which table (``industry_section``, ``industry_division`` or ``region``).
        code: the code as given.
        message: an English msgid with a ``%(code)s`` placeholder, translated before formatting.
        params: the values for the placeholders.
    """

    def __init__(self, kind: CodeKind, code: str) -> None:
        self.kind: CodeKind = kind
        self.code: str = code
        self.message: str = _MESSAGES[kind]
        self.params: dict[str, str] = {"code": code}
        super().__init__(self.message % self.params)

    def __reduce__(self) -> tuple[object, ...]:
        return (UnknownCode, (self.kind, self.code))


# --- industries (GB/T 4754-2017) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """An industry section (门类), ``A`` (agriculture) to ``T`` (international organisations)."""

    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Division:
    """An industry division (大类), two digits ``01``-``97``, inside one section."""

    code: str
    section: str
    name_zh: str
    name_en: str


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("xinyidai.core").joinpath("codes_data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def _industries() -> tuple[Mapping[str, Section], Mapping[str, Division]]:
    sections: dict[str, Section] = {}
    divisions: dict[str, Division] = {}
    for row in _read_csv("industries.csv"):
        if row["code"] == row["section"]:
            sections[row["code"]] = Section(row["code"], row["name_zh"], row["name_en"])
        else:
            divisions[row["code"]] = Division(row["code"], row["section"], row["name_zh"], row["name_en"])
    return MappingProxyType(sections), MappingProxyType(divisions)


SECTIONS: Final[Mapping[str, Section]] = _industries()[0]
"""The 20 sections by letter, in order."""

DIVISIONS: Final[Mapping[str, Division]] = _industries()[1]
"""The 97 divisions by two-digit code, in order."""


def _division_part(code: str) -> str | None:
    """The two-digit division of ``13``, ``131``, ``1311``, ``C13`` or ``C1311``; None if malformed."""
    text = code.strip().upper()
    letter = ""
    if text[:1].isalpha():
        letter, text = text[0], text[1:]
    if not (2 <= len(text) <= 4 and text.isascii() and text.isdigit()):
        return None
    division = DIVISIONS.get(text[:2])
    if division is None or (letter and letter != division.section):
        return None
    return division.code


def is_valid_division(code: str) -> bool:
    """Whether ``code`` is exactly one of the 97 two-digit division codes (``01``-``97``)."""
    return code in DIVISIONS


def industry_division(code: str) -> Division:
    """The division (大类) of an industry code.

    Accepts the two-digit division code and also the longer group (3 digits) and class (4 digits) codes
    enterprises register with, optionally prefixed by their section letter (``C1311``); only the division
    part is checked against the standard.

    Args:
        code: e.g. ``"13"``, ``"1311"`` or ``"C13"``.

    Returns:
        The division.

    Raises:
        UnknownCode: if the code is malformed, names no division, or its letter is not the division's section.
    """
    division = _division_part(code)
    if division is None:
        raise UnknownCode("industry_division", code)
    return DIVISIONS[division]


def industry_section(code: str) -> Section:
    """The section (门类) of a section letter or of an industry code.

    Args:
        code: a section letter (``"C"``) or any code :func:`industry_division` accepts (``"13"``).

    Returns:
        The section.

    Raises:
        UnknownCode: if ``code`` is neither a section letter nor a known industry code.
    """
    letter = code.strip().upper()
    if letter in SECTIONS:
        return SECTIONS[letter]
    division = _division_part(code)
    if division is None:
        kind: CodeKind = "industry_section" if len(letter) == 1 and letter.isalpha() else "industry_division"
        raise UnknownCode(kind, code)
    return SECTIONS[DIVISIONS[division].section]


def divisions_of(section: str) -> tuple[Division, ...]:
    """The divisions of a section, in code order.

    Raises:
        UnknownCode: if ``section`` is not a letter ``A``-``T``.
    """
    letter = section.strip().upper()
    if letter not in SECTIONS:
        raise UnknownCode("industry_section", section)
    return tuple(d for d in DIVISIONS.values() if d.section == letter)


# --- enterprise size ----------------------------------------------------------------------------------


class SizeClass(StrEnum):
    """Enterprise size class (企业规模) as in 《统计上大中小微型企业划分办法》."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def label_zh(self) -> str:
        """The Chinese label: 微型, 小型, 中型 or 大型."""
        return _SIZE_LABELS_ZH[self]

    @property
    def is_sme(self) -> bool:
        """Whether the class counts as a small or micro enterprise (小微企业), the platform's focus."""
        return self in (SizeClass.MICRO, SizeClass.SMALL)


_SIZE_LABELS_ZH: Final[Mapping[SizeClass, str]] = MappingProxyType(
    {SizeClass.MICRO: "微型", SizeClass.SMALL: "小型", SizeClass.MEDIUM: "中型", SizeClass.LARGE: "大型"}
)


# --- administrative divisions (GB/T 2260) -------------------------------------------------------------

RegionLevel = Literal["province", "city", "county"]
_LEVELS: Final[Mapping[str, RegionLevel]] = MappingProxyType(
    {"province": "province", "city": "city", "county": "county"}
)


@dataclass(frozen=True, slots=True)
class Region:
    """An administrative division: a province-level, city-level (地级) or county-level (县级) unit.

    Attributes:
        code: the six-digit GB/T 2260 code.
        name_zh: the official Chinese name.
        parent_code: the code of the unit above, None for a provincial-level unit.
        level: ``province``, ``city`` or ``county``.
    """

    code: str
    name_zh: str
    parent_code: str | None
    level: RegionLevel


def _level(value: str) -> RegionLevel:
    try:
        return _LEVELS[value]
    except KeyError:
        raise ValueError(f"regions.csv: unknown level {value!r}, expected one of {list(_LEVELS)}") from None


@lru_cache(maxsize=1)
def regions() -> Mapping[str, Region]:
    """All known regions by code, in file order (provinces first)."""
    table = {
        row["code"]: Region(row["code"], row["name_zh"], row["parent_code"] or None, _level(row["level"]))
        for row in _read_csv("regions.csv")
    }
    return MappingProxyType(table)


def is_known_region(code: str) -> bool:
    """Whether ``code`` is a region in the table."""
    return code in regions()


def region(code: str) -> Region:
    """The region with this six-digit code.

    Raises:
        UnknownCode: if the code is not in the table.
    """
    found = regions().get(code)
    if found is None:
        raise UnknownCode("region", code)
    return found


def region_prefix(code: str) -> str:
    """The prefix every division inside region ``code`` starts with: ``370000`` → ``37`` (a province covers
    its cities), ``371000`` → ``3710`` (a city its districts), ``371002`` → ``371002``."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def region_name(code: str) -> str:
    """The Chinese name of a region, e.g. ``region_name("371000") == "威海市"``.

    Raises:
        UnknownCode: if the code is not in the table.
    """
    return region(code).name_zh


def children(code: str) -> tuple[Region, ...]:
    """The regions directly below ``code`` in the table (empty if none are listed).

    Only Weihai's province, Weihai and its counties are detailed; other provinces list no children.

    Raises:
        UnknownCode: if the code is not in the table.
    """
    parent = region(code).code
    return tuple(r for r in regions().values() if r.parent_code == parent)
