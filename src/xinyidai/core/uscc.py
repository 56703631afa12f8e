"""Unified social credit codes (统一社会信用代码, GB 32100-2015): the one validator.

An 18-character code laid out as::

    9 1 110000 60003734 1 L
    | | |      |        | `-- 18: check character (GB 32100, ISO 7064 MOD 31-3 style)
    | | |      |        `---- 17: check character of the organisation code (GB 11714)
    | | |      `------------ 9-16: organisation code body
    | | `------------------- 3-8: administrative division code of the registering office (GB/T 2260)
    | `--------------------- 2: entity category within that authority
    `----------------------- 1: registration authority

Error messages are English msgids with ``%(name)s`` placeholders, kept apart from their parameters so that
the i18n layer (:mod:`xinyidai.core.i18n`) can translate them; they are marked with ``N_`` for extraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from xinyidai.core.i18n import N_

__all__ = [
    "ALPHABET",
    "AUTHORITIES",
    "ENTITY_KINDS",
    "FORBIDDEN_LETTERS",
    "USCC",
    "WEIGHTS",
    "EntityKind",
    "InvalidUSCC",
    "Reason",
    "check_character",
    "is_valid_uscc",
    "make_uscc",
    "normalise",
    "org_code_check",
    "validate_uscc",
]


ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a code may use; a character's value is its index (A=10 … Y=30)."""

FORBIDDEN_LETTERS: Final = frozenset("IOSVZ")
"""Letters GB 32100 never uses (easily confused with 1, 0, 5, U and 2)."""

WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1-17: 3^(i-1) mod 31."""

LENGTH: Final = 18

_VALUES: Final = MappingProxyType({c: i for i, c in enumerate(ALPHABET)})

# GB 11714-1997: the organisation code uses its own table (0-9, then A=10 … Z=35, all 26 letters).
_ORG_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

Reason = Literal[
    "empty",
    "length",
    "forbidden_character",
    "authority",
    "entity_type",
    "division",
    "check_character",
]
"""Why a code was rejected, in the order the checks run."""


class EntityKind(StrEnum):
    """What kind of registrant a code belongs to (positions 1-2), as a stable description key."""

    # 1 机构编制 (staffing office)
    GOVERNMENT_ORGAN = "government_organ"  # 机关
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位
    MASS_ORGANISATION = "mass_organisation"  # 中央编办直接管理机构编制的群众团体
    STAFFING_OTHER = "staffing_other"
    # 2 外交 (foreign affairs)
    FOREIGN_NEWS_AGENCY = "foreign_news_agency"  # 外国常驻新闻机构
    FOREIGN_AFFAIRS_OTHER = "foreign_affairs_other"
    # 3 司法行政 (justice)
    LAW_FIRM = "law_firm"  # 律师执业机构
    NOTARY_OFFICE = "notary_office"  # 公证处
    GRASSROOTS_LEGAL_SERVICE = "grassroots_legal_service"  # 基层法律服务所
    FORENSIC_APPRAISAL = "forensic_appraisal"  # 司法鉴定机构
    ARBITRATION_COMMISSION = "arbitration_commission"  # 仲裁委员会
    JUSTICE_OTHER = "justice_other"
    # 4 文化 (culture)
    FOREIGN_CULTURAL_CENTRE = "foreign_cultural_centre"  # 外国在华文化中心
    CULTURE_OTHER = "culture_other"
    # 5 民政 (civil affairs)
    SOCIAL_GROUP = "social_group"  # 社会团体
    PRIVATE_NON_ENTERPRISE = "private_non_enterprise"  # 民办非企业单位
    FOUNDATION = "foundation"  # 基金会
    CIVIL_AFFAIRS_OTHER = "civil_affairs_other"
    # 6 旅游 (tourism)
    FOREIGN_TOURISM_OFFICE = "foreign_tourism_office"  # 外国旅游部门常驻代表机构
    HK_MACAO_TAIWAN_TOURISM_OFFICE = "hk_macao_taiwan_tourism_office"  # 港澳台地区旅游部门常驻内地代表机构
    TOURISM_OTHER = "tourism_other"
    # 7 宗教 (religion)
    RELIGIOUS_VENUE = "religious_venue"  # 宗教活动场所
    RELIGIOUS_COLLEGE = "religious_college"  # 宗教院校
    RELIGION_OTHER = "religion_other"
    # 8 工会 (trade unions)
    GRASSROOTS_TRADE_UNION = "grassroots_trade_union"  # 基层工会
    TRADE_UNION_OTHER = "trade_union_other"
    # 9 市场监管/工商 (market regulation)
    ENTERPRISE = "enterprise"  # 企业
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    FARMERS_COOPERATIVE = "farmers_cooperative"  # 农民专业合作社
    # A 中央军委改革和编制办公室 (military)
    MILITARY_PUBLIC_INSTITUTION = "military_public_institution"  # 军队事业单位
    MILITARY_OTHER = "military_other"
    # N 农业 (agriculture)
    GROUP_COLLECTIVE_ECONOMIC_ORGANISATION = "group_collective_economic_organisation"  # 组级集体经济组织
    VILLAGE_COLLECTIVE_ECONOMIC_ORGANISATION = "village_collective_economic_organisation"  # 村级
    TOWNSHIP_COLLECTIVE_ECONOMIC_ORGANISATION = "township_collective_economic_organisation"  # 乡镇级
    AGRICULTURE_OTHER = "agriculture_other"
    # Y 其他 (other authorities; no sub-categories, always 1)
    OTHER = "other"


AUTHORITIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "1": "staffing_office",  # 机构编制
        "2": "foreign_affairs",  # 外交
        "3": "justice",  # 司法行政
        "4": "culture",  # 文化
        "5": "civil_affairs",  # 民政
        "6": "tourism",  # 旅游
        "7": "religion",  # 宗教
        "8": "trade_union",  # 工会
        "9": "market_regulation",  # 工商 / 市场监管
        "A": "military",  # 中央军委改革和编制办公室
        "N": "agriculture",  # 农业
        "Y": "other",  # 其他
    }
)
"""Registration authority codes (position 1) of GB 32100-2015 表 2, with a stable key for each."""

_K = EntityKind
ENTITY_KINDS: Final[Mapping[str, Mapping[str, EntityKind]]] = MappingProxyType(
    {
        "1": MappingProxyType(
            {
                "1": _K.GOVERNMENT_ORGAN,
                "2": _K.PUBLIC_INSTITUTION,
                "3": _K.MASS_ORGANISATION,
                "9": _K.STAFFING_OTHER,
            }
        ),
        "2": MappingProxyType({"1": _K.FOREIGN_NEWS_AGENCY, "9": _K.FOREIGN_AFFAIRS_OTHER}),
        "3": MappingProxyType(
            {
                "1": _K.LAW_FIRM,
                "2": _K.NOTARY_OFFICE,
                "3": _K.GRASSROOTS_LEGAL_SERVICE,
                "4": _K.FORENSIC_APPRAISAL,
                "5": _K.ARBITRATION_COMMISSION,
                "9": _K.JUSTICE_OTHER,
            }
        ),
        "4": MappingProxyType({"1": _K.FOREIGN_CULTURAL_CENTRE, "9": _K.CULTURE_OTHER}),
        "5": MappingProxyType(
            {
                "1": _K.SOCIAL_GROUP,
                "2": _K.PRIVATE_NON_ENTERPRISE,
                "3": _K.FOUNDATION,
                "9": _K.CIVIL_AFFAIRS_OTHER,
            }
        ),
        "6": MappingProxyType(
            {"1": _K.FOREIGN_TOURISM_OFFICE, "2": _K.HK_MACAO_TAIWAN_TOURISM_OFFICE, "9": _K.TOURISM_OTHER}
        ),
        "7": MappingProxyType({"1": _K.RELIGIOUS_VENUE, "2": _K.RELIGIOUS_COLLEGE, "9": _K.RELIGION_OTHER}),
        "8": MappingProxyType({"1": _K.GRASSROOTS_TRADE_UNION, "9": _K.TRADE_UNION_OTHER}),
        "9": MappingProxyType({"1": _K.ENTERPRISE, "2": _K.INDIVIDUAL_BUSINESS, "3": _K.FARMERS_COOPERATIVE}),
        "A": MappingProxyType({"1": _K.MILITARY_PUBLIC_INSTITUTION, "9": _K.MILITARY_OTHER}),
        "N": MappingProxyType(
            {
                "1": _K.GROUP_COLLECTIVE_ECONOMIC_ORGANISATION,
                "2": _K.VILLAGE_COLLECTIVE_ECONOMIC_ORGANISATION,
                "3": _K.TOWNSHIP_COLLECTIVE_ECONOMIC_ORGANISATION,
                "9": _K.AGRICULTURE_OTHER,
            }
        ),
        "Y": MappingProxyType({"1": _K.OTHER}),
    }
)
"""Entity category codes (position 2) allowed under each authority, per GB 32100-2015 表 2."""
del _K

_MSG_EMPTY = N_("Please enter the 18-character unified social credit code.")
_MSG_LENGTH = N_("A unified social credit code has %(expected)d characters; this one has %(actual)d.")
_MSG_FORBIDDEN_LETTER = N_(
    "Position %(position)d holds the letter %(character)s, which credit codes never use "
    "(I, O, S, V and Z are excluded)."
)
_MSG_FORBIDDEN_CHARACTER = N_(
    "Position %(position)d holds the character %(character)s; only digits and the capital letters "
    "A-Y except I, O, S and V are allowed."
)
_MSG_AUTHORITY = N_(
    "The first character %(character)s is not a known registration authority code "
    "(expected one of %(allowed)s)."
)
_MSG_ENTITY_TYPE = N_(
    "The second character %(character)s is not a known entity type for registration authority "
    "%(authority)s (expected one of %(allowed)s)."
)
_MSG_DIVISION = N_(
    "Positions 3-8 must be the 6-digit administrative division code, but position %(position)d "
    "holds %(character)s."
)
_MSG_CHECK = N_(
    "The check character (position 18) should be %(expected)s, not %(actual)s; "
    "please look for a typing error in the code."
)


class InvalidUSCC(ValueError):
    """A string that is not a valid unified social credit code.

    Attributes:
        reason: which check failed (see :data:`Reason`).
        message: an English msgid with ``%(name)s`` placeholders, to be translated before formatting.
        params: the values for the placeholders (e.g. ``position`` 1-based, ``character``, ``expected``).
    """

    def __init__(self, reason: Reason, message: str, **params: str | int) -> None:
        self.reason: Reason = reason
        self.message: str = message
        self.params: dict[str, str | int] = params
        super().__init__(message % params)

    def __reduce__(self) -> tuple[object, ...]:
        # Keep reason/message/params when pickled (e.g. across worker processes).
        return (_rebuild_invalid_uscc, (self.reason, self.message, self.params))


def _rebuild_invalid_uscc(reason: Reason, message: str, params: dict[str, str | int]) -> InvalidUSCC:
    return InvalidUSCC(reason, message, **params)


_FULLWIDTH_TO_ASCII: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def normalise(raw: str) -> str:
    """The form a code is checked and stored in.

    Full-width characters (as typed with a Chinese input method) become half-width, surrounding whitespace
    is removed and ASCII letters are upper-cased. Nothing else is changed, so a wrong character is reported
    where the user typed it.

    Args:
        raw: the code as entered.

    Returns:
        The normalised string (not necessarily a valid code).
    """
    return raw.translate(_FULLWIDTH_TO_ASCII).strip().translate(_ASCII_UPPER)


def _require(chars: str, alphabet: str, length: int, what: str) -> None:
    if len(chars) != length:
        raise ValueError(f"{what} needs {length} characters, got {len(chars)}")
    bad = [c for c in chars if c not in alphabet]
    if bad:
        raise ValueError(f"{what} contains characters outside its alphabet: {''.join(bad)!r}")


def check_character(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters of a code.

    Each character's value is its index in :data:`ALPHABET`; with weights ``3^(i-1) mod 31``,
    ``S = Σ value·weight`` and the check value is ``(31 - S mod 31) mod 31``.

    Args:
        first17: positions 1-17, already upper-case, from :data:`ALPHABET`.

    Returns:
        The check character, itself from :data:`ALPHABET`.

    Raises:
        ValueError: if ``first17`` is not 17 characters of :data:`ALPHABET`.
    """
    _require(first17, ALPHABET, 17, "The first part of a credit code")
    total = sum(_VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check(first8: str) -> str:
    """The GB 11714 check character of an organisation code body (positions 9-16 of a USCC).

    GB 11714 values are 0-9 then A=10 … Z=35 (all 26 letters), the weights are 3, 7, 9, 10, 5, 8, 4, 2 and
    ``c = 11 - (S mod 11)``, written ``X`` for 10 and ``0`` for 11.

    Args:
        first8: the 8-character body, digits and upper-case letters.

    Returns:
        A digit or ``X``.

    Raises:
        ValueError: if ``first8`` is not 8 digits or upper-case letters.
    """
    _require(first8, _ORG_ALPHABET, 8, "An organisation code body")
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def _allowed(keys: Mapping[str, object]) -> str:
    return ", ".join(keys)


def _check(code: str) -> None:
    """Raise :class:`InvalidUSCC` for the first rule ``code`` (already normalised) breaks."""
    if not code:
        raise InvalidUSCC("empty", _MSG_EMPTY)
    if len(code) != LENGTH:
        raise InvalidUSCC("length", _MSG_LENGTH, expected=LENGTH, actual=len(code))
    for position, char in enumerate(code, start=1):
        if char in FORBIDDEN_LETTERS:
            raise InvalidUSCC("forbidden_character", _MSG_FORBIDDEN_LETTER, position=position, character=char)
        if char not in _VALUES:
            raise InvalidUSCC(
                "forbidden_character", _MSG_FORBIDDEN_CHARACTER, position=position, character=char
            )
    authority, entity = code[0], code[1]
    kinds = ENTITY_KINDS.get(authority)
    if kinds is None:
        raise InvalidUSCC("authority", _MSG_AUTHORITY, character=authority, allowed=_allowed(AUTHORITIES))
    if entity not in kinds:
        raise InvalidUSCC(
            "entity_type", _MSG_ENTITY_TYPE, character=entity, authority=authority, allowed=_allowed(kinds)
        )
    for position in range(3, 9):
        char = code[position - 1]
        if char not in "0123456789":
            raise InvalidUSCC("division", _MSG_DIVISION, position=position, character=char)
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidUSCC("check_character", _MSG_CHECK, expected=expected, actual=code[17])


@dataclass(frozen=True, slots=True)
class USCC:
    """A valid unified social credit code; constructing one with an invalid value raises.

    Use :func:`validate_uscc` for user input (it normalises first); ``USCC(value)`` expects the exact
    normalised 18 characters.

    Attributes:
        value: the 18-character code.
    """

    value: str

    def __post_init__(self) -> None:
        _check(self.value)

    def __str__(self) -> str:
        return self.value

    @property
    def authority(self) -> str:
        """Position 1, the registration authority code (``9`` market regulation, ``1`` staffing, …)."""
        return self.value[0]

    @property
    def authority_key(self) -> str:
        """A stable key naming the registration authority (e.g. ``market_regulation``)."""
        return AUTHORITIES[self.authority]

    @property
    def entity_type(self) -> str:
        """Position 2, the entity category code within the authority."""
        return self.value[1]

    @property
    def kind(self) -> EntityKind:
        """The kind of registrant (e.g. ``enterprise``, ``individual_business``), a description key."""
        return ENTITY_KINDS[self.authority][self.entity_type]

    @property
    def division_code(self) -> str:
        """Positions 3-8, the GB/T 2260 division code of the registering office (not necessarily current)."""
        return self.value[2:8]

    @property
    def org_code(self) -> str:
        """Positions 9-17, the embedded GB 11714 organisation code (body and its own check character)."""
        return self.value[8:17]

    @property
    def check(self) -> str:
        """Position 18, the GB 32100 check character."""
        return self.value[17]

    @property
    def org_code_valid(self) -> bool:
        """Whether the embedded organisation code passes its own GB 11714 check.

        Informational only: a code is never rejected for this, since codes issued by registration systems
        are authoritative even where the embedded organisation code does not follow GB 11714.
        """
        return org_code_check(self.value[8:16]) == self.value[16]


def validate_uscc(raw: str) -> USCC:
    """Normalise and validate a unified social credit code.

    Checks run in this order and the first failure is reported: empty, length (18), characters (no I, O,
    S, V, Z or anything outside :data:`ALPHABET`), registration authority, entity type for that authority,
    division code (6 digits), check character.

    Args:
        raw: the code as entered; full-width characters, lower case and surrounding whitespace are accepted.

    Returns:
        The validated code.

    Raises:
        InvalidUSCC: naming what is wrong, with ``reason``, ``message`` and ``params``.
    """
    return USCC(normalise(raw))


def is_valid_uscc(raw: str) -> bool:
    """Whether ``raw`` (after normalisation) is a valid unified social credit code."""
    try:
        validate_uscc(raw)
    except InvalidUSCC:
        return False
    return True


def make_uscc(division: str, org_body: str, authority: str = "9", entity: str = "1") -> str:
    """Build a valid code from its parts, adding both check characters (used by the demo generator).

    Args:
        division: the 6-digit division code, e.g. ``"371002"`` (环翠区, Weihai).
        org_body: the 8-character organisation code body from :data:`ALPHABET`; its GB 11714 check
            character is appended.
        authority: the registration authority code (default ``9``, market regulation).
        entity: the entity category code (default ``1``, enterprise).

    Returns:
        The 18-character code.

    Raises:
        ValueError: if ``division`` is not 6 digits, ``org_body`` not 8 characters of :data:`ALPHABET`, or
            ``authority`` and ``entity`` not a combination listed in :data:`ENTITY_KINDS`.
    """
    _require(division, "0123456789", 6, "A division code")
    _require(org_body, ALPHABET, 8, "An organisation code body")
    if entity not in ENTITY_KINDS.get(authority, {}):
        raise ValueError(f"unknown registration authority / entity type combination {authority!r}{entity!r}")
    first17 = f"{authority}{entity}{division}{org_body}{org_code_check(org_body)}"
    return validate_uscc(first17 + check_character(first17)).value
