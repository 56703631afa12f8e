"""Unified social credit codes (GB 32100-2015): RULES.md examples and check-character properties."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyidai.core.uscc import (
    ALPHABET,
    AUTHORITIES,
    ENTITY_KINDS,
    USCC,
    WEIGHTS,
    EntityKind,
    InvalidUSCC,
    check_character,
    is_valid_uscc,
    make_uscc,
    normalise,
    org_code_check,
    validate_uscc,
)

VALID = [
    "91110000600037341L",
    "91310115MA1K3BTP2B",
    "91440300568520498A",
    "121200004013590816",
    "92340603MA2PBMYMX1",
    "9144030071526726XG",
    "91320100748204660Q",
    "11320100MB1886843H",
]


def to_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def reason_of(raw: str) -> str:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(raw)
    return info.value.reason


# --- the published examples -------------------------------------------------------------------------


@pytest.mark.parametrize("code", VALID)
def test_valid_examples(code: str) -> None:
    uscc = validate_uscc(code)
    assert uscc.value == code
    assert str(uscc) == code
    assert is_valid_uscc(code)


@pytest.mark.parametrize("code", VALID)
def test_valid_examples_embedded_org_code_passes_gb11714(code: str) -> None:
    # Informational: all RULES.md examples pass, but the validator never rejects on this.
    assert validate_uscc(code).org_code_valid


def test_invalid_example_with_z_is_a_forbidden_character_before_the_check() -> None:
    code = "91350100M000100Y4Z"
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(code)
    assert info.value.reason == "forbidden_character"
    assert info.value.params == {"position": 18, "character": "Z"}
    # RULES.md: the check character should be 3.
    assert check_character(code[:17]) == "3"
    assert is_valid_uscc(code[:17] + "3")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("91110000600037341N", "L"), ("91320100250571846X", "L")],
)
def test_invalid_examples_wrong_check_character(code: str, expected: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(code)
    error = info.value
    assert error.reason == "check_character"
    assert error.params == {"expected": expected, "actual": code[17]}
    assert f"should be {expected}" in str(error)
    assert not is_valid_uscc(code)


def test_org_code_mismatch_is_never_rejected() -> None:
    # Positions 9-17 "25057184" + "6": GB 11714 wants 2, yet with the right USCC check character it is valid.
    first17 = "91320100250571846"
    assert org_code_check(first17[8:16]) == "2"
    code = validate_uscc(first17 + check_character(first17))
    assert not code.org_code_valid


# --- the parts of a code ------------------------------------------------------------------------------


def test_properties() -> None:
    code = validate_uscc("92340603MA2PBMYMX1")
    assert code.authority == "9"
    assert code.authority_key == "market_regulation"
    assert code.entity_type == "2"
    assert code.kind is EntityKind.INDIVIDUAL_BUSINESS
    assert code.kind == "individual_business"
    assert code.division_code == "340603"
    assert code.org_code == "MA2PBMYMX"
    assert code.check == "1"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("91110000600037341L", "enterprise"),
        ("121200004013590816", "public_institution"),
        ("11320100MB1886843H", "government_organ"),
    ],
)
def test_kinds(code: str, kind: str) -> None:
    assert validate_uscc(code).kind == kind


def test_kind_of_a_farmers_cooperative() -> None:
    code = validate_uscc(make_uscc("371082", "MA3C5K7P", authority="9", entity="3"))
    assert code.kind is EntityKind.FARMERS_COOPERATIVE


def test_every_authority_has_kinds() -> None:
    assert set(AUTHORITIES) == set(ENTITY_KINDS)
    assert set(AUTHORITIES) <= set(ALPHABET)
    assert ENTITY_KINDS["9"].keys() == {"1", "2", "3"}
    assert ENTITY_KINDS["Y"].keys() == {"1"}


def test_weights() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)


def test_usccs_are_frozen_and_hashable() -> None:
    code = validate_uscc("91110000600037341L")
    assert code == USCC("91110000600037341L")
    assert len({code, validate_uscc(" 91110000600037341l ")}) == 1
    with pytest.raises(AttributeError):
        code.value = "x"  # type: ignore[misc]


def test_direct_construction_does_not_normalise() -> None:
    with pytest.raises(InvalidUSCC):
        USCC("91110000600037341l")
    with pytest.raises(InvalidUSCC):
        USCC("garbage")


# --- normalisation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "91110000600037341l",
        "  91110000600037341L\n",
        "\t91110000600037341l ",
        to_fullwidth("91110000600037341L"),
        to_fullwidth("91110000600037341l"),
        "\u3000" + to_fullwidth("91110000600037341L") + "\u3000",
        "９１１１００００６０００３７３４１L",
    ],
)
def test_normalisation(raw: str) -> None:
    assert validate_uscc(raw).value == "91110000600037341L"


def test_normalise_keeps_inner_characters() -> None:
    assert normalise(" 9111 0000 ") == "9111 0000"
    assert normalise("ß") == "ß"  # no Unicode case folding that would change the length


def test_lowercase_forbidden_letter_is_reported_upper_case() -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc("9111000060003734il")
    assert info.value.params == {"position": 17, "character": "I"}


# --- each reason, with its parameters ---------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\u3000", "\n\t"])
def test_empty(raw: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(raw)
    assert info.value.reason == "empty"
    assert info.value.params == {}


@pytest.mark.parametrize("raw", ["9111000060003734", "91110000600037341", "91110000600037341LL", "9"])
def test_length(raw: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(raw)
    error = info.value
    assert error.reason == "length"
    assert error.params == {"expected": 18, "actual": len(raw)}
    assert str(len(raw)) in str(error)
    assert "18" in str(error)


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters(letter: str) -> None:
    for position in (1, 5, 12, 18):
        code = list("91110000600037341L")
        code[position - 1] = letter
        with pytest.raises(InvalidUSCC) as info:
            validate_uscc("".join(code))
        error = info.value
        assert error.reason == "forbidden_character"
        assert error.params == {"position": position, "character": letter}
        assert letter in str(error)
        assert str(position) in str(error)


@pytest.mark.parametrize(
    ("raw", "position", "char"), [("9111000060003734-L", 17, "-"), ("91中10000600037341L", 3, "中")]
)
def test_other_forbidden_characters(raw: str, position: int, char: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(raw)
    assert info.value.reason == "forbidden_character"
    assert info.value.params == {"position": position, "character": char}


@pytest.mark.parametrize("first", ["B", "C", "D", "0", "X"])
def test_authority(first: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(first + "1110000600037341L")
    error = info.value
    assert error.reason == "authority"
    assert error.params["character"] == first
    assert "9" in str(error.params["allowed"])


@pytest.mark.parametrize("prefix", ["94", "90", "99", "18", "Y2", "5A", "N4", "A2", "3X"])
def test_entity_type(prefix: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(prefix + "110000600037341L")
    error = info.value
    assert error.reason == "entity_type"
    assert error.params["authority"] == prefix[0]
    assert error.params["character"] == prefix[1]


@pytest.mark.parametrize("prefix", ["59", "19", "39", "Y1", "N3", "A9", "81"])
def test_entity_types_other_than_market_regulation(prefix: str) -> None:
    assert is_valid_uscc(make_uscc("110000", "50000000", prefix[0], prefix[1]))


@pytest.mark.parametrize(("division", "position"), [("A10000", 3), ("11000B", 8), ("1100X0", 7)])
def test_division(division: str, position: int) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc("91" + division + "600037341L")
    error = info.value
    assert error.reason == "division"
    assert error.params == {"position": position, "character": division[position - 3]}


def test_check_order() -> None:
    # length before characters
    assert reason_of("I111000060003734") == "length"
    # characters before authority
    assert reason_of("B1110000600037341O") == "forbidden_character"
    # authority before entity type
    assert reason_of("BB110000600037341L") == "authority"
    # entity type before division
    assert reason_of("94A10000600037341L") == "entity_type"
    # division before check character
    assert reason_of("91A10000600037341N") == "division"


def test_messages_are_fixed_msgids_with_placeholders() -> None:
    samples = ["", "9111", "9111000060003734IL", "B1110000600037341L", "94110000600037341L"]
    samples += ["91A10000600037341L", "91110000600037341N", "9111000060003734-L"]
    for raw in samples:
        with pytest.raises(InvalidUSCC) as info:
            validate_uscc(raw)
        error = info.value
        assert isinstance(error, ValueError)
        assert str(error) == error.message % error.params
        for name in error.params:
            assert f"%({name})" in error.message


def test_errors_survive_pickling() -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc("91110000600037341N")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.reason, copy.message, copy.params) == (
        info.value.reason,
        info.value.message,
        info.value.params,
    )
    assert str(copy) == str(info.value)


# --- helpers ------------------------------------------------------------------------------------------


def test_check_character_examples() -> None:
    for code in VALID:
        assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    "bad", ["", "9111000060003734", "911100006000373411", "9111000060003734I", "9111000060003734l"]
)
def test_check_character_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="credit code"):
        check_character(bad)


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("60003734", "1"),
        ("MA1K3BTP", "2"),
        ("40135908", "1"),
        ("MA2PBMYM", "X"),
        ("71526726", "X"),
        ("74820466", "0"),
    ],
)
def test_org_code_check(body: str, check: str) -> None:
    assert org_code_check(body) == check


def test_org_code_check_uses_its_own_table() -> None:
    # GB 11714 accepts every letter (Z=35); the USCC alphabet does not.
    assert org_code_check("ZZZZZZZZ") in "0123456789X"
    with pytest.raises(ValueError, match="organisation code"):
        org_code_check("1234567")
    with pytest.raises(ValueError, match="organisation code"):
        org_code_check("1234567-")


def test_make_uscc_example() -> None:
    code = make_uscc("371002", "MA3C5K7P")
    assert code[:8] == "91371002"
    assert code[8:16] == "MA3C5K7P"
    assert code[16] == org_code_check("MA3C5K7P")
    assert validate_uscc(code).kind is EntityKind.ENTERPRISE


@pytest.mark.parametrize(
    ("division", "body", "authority", "entity"),
    [
        ("37100", "MA3C5K7P", "9", "1"),
        ("37100A", "MA3C5K7P", "9", "1"),
        ("371002", "MA3C5K7", "9", "1"),
        ("371002", "MA3C5K7I", "9", "1"),
        ("371002", "MA3C5K7P", "9", "4"),
        ("371002", "MA3C5K7P", "B", "1"),
        ("371002", "MA3C5K7P", "", "91"),
    ],
)
def test_make_uscc_rejects_bad_parts(division: str, body: str, authority: str, entity: str) -> None:
    with pytest.raises(ValueError):
        make_uscc(division, body, authority, entity)


# --- properties ---------------------------------------------------------------------------------------

KIND_PAIRS = [(a, e) for a, kinds in ENTITY_KINDS.items() for e in kinds]
divisions = st.text(alphabet="0123456789", min_size=6, max_size=6)
bodies = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


@given(divisions, bodies, st.sampled_from(KIND_PAIRS))
def test_every_made_code_validates(division: str, body: str, pair: tuple[str, str]) -> None:
    authority, entity = pair
    code = make_uscc(division, body, authority, entity)
    parsed = validate_uscc(code)
    assert parsed.division_code == division
    assert parsed.org_code[:8] == body
    assert parsed.org_code_valid
    assert parsed.kind is ENTITY_KINDS[authority][entity]


@given(divisions, bodies, st.sampled_from(KIND_PAIRS), st.integers(0, 17), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_detected(
    division: str, body: str, pair: tuple[str, str], index: int, replacement: str
) -> None:
    code = make_uscc(division, body, *pair)
    if code[index] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:index] + replacement + code[index + 1 :]
    assert not is_valid_uscc(changed)


@given(st.text(max_size=40))
def test_random_text_only_raises_invalid_uscc(raw: str) -> None:
    try:
        code = validate_uscc(raw)
    except InvalidUSCC as error:
        assert error.reason in {
            "empty",
            "length",
            "forbidden_character",
            "authority",
            "entity_type",
            "division",
            "check_character",
        }
        assert str(error)
    else:
        assert is_valid_uscc(code.value)


@given(st.text(alphabet=ALPHABET + "IOSVZ-", min_size=18, max_size=18))
def test_random_18_characters_only_raise_invalid_uscc(raw: str) -> None:
    try:
        code = validate_uscc(raw)
    except InvalidUSCC:
        pass
    else:
        assert check_character(code.value[:17]) == code.check


@given(st.text(max_size=30))
def test_normalise_is_idempotent(raw: str) -> None:
    assert normalise(normalise(raw)) == normalise(raw)
