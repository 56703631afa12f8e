"""Reference codes: GB/T 4754-2017 industries, size classes and administrative divisions."""

from __future__ import annotations

import pickle

import pytest

from xinyidai.core.codes import (
    DIVISIONS,
    SECTIONS,
    SizeClass,
    UnknownCode,
    children,
    divisions_of,
    industry_division,
    industry_section,
    is_known_region,
    is_valid_division,
    region,
    region_name,
    regions,
)

# GB/T 4754-2017: the first and last division of each section.
SECTION_RANGES = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


# --- industries -------------------------------------------------------------------------------------


def test_counts() -> None:
    assert len(SECTIONS) == 20
    assert list(SECTIONS) == list("ABCDEFGHIJKLMNOPQRST")
    assert len(DIVISIONS) == 97
    assert list(DIVISIONS) == [f"{n:02d}" for n in range(1, 98)]


def test_every_division_sits_in_the_section_its_code_range_says() -> None:
    for code, division in DIVISIONS.items():
        number = int(code)
        (section,) = [s for s, (lo, hi) in SECTION_RANGES.items() if lo <= number <= hi]
        assert division.section == section, code


def test_every_section_has_divisions_and_names() -> None:
    for letter, section in SECTIONS.items():
        assert section.code == letter
        assert section.name_zh
        assert section.name_en
        lo, hi = SECTION_RANGES[letter]
        assert [d.code for d in divisions_of(letter)] == [f"{n:02d}" for n in range(lo, hi + 1)]
    for division in DIVISIONS.values():
        assert division.name_zh
        assert division.name_en
        assert division.name_zh.strip() == division.name_zh


@pytest.mark.parametrize(
    ("code", "section", "name_zh"),
    [
        ("01", "A", "农业"),
        ("02", "A", "林业"),
        ("05", "A", "农、林、牧、渔专业及辅助性活动"),
        ("13", "C", "农副食品加工业"),
        ("39", "C", "计算机、通信和其他电子设备制造业"),
        ("43", "C", "金属制品、机械和设备修理业"),
        ("51", "F", "批发业"),
        ("65", "I", "软件和信息技术服务业"),
        ("66", "J", "货币金融服务"),
        ("70", "K", "房地产业"),
        ("79", "N", "土地管理业"),
        ("87", "R", "广播、电视、电影和录音制作业"),
        ("96", "S", "基层群众自治组织及其他组织"),
        ("97", "T", "国际组织"),
    ],
)
def test_division_spot_checks(code: str, section: str, name_zh: str) -> None:
    division = industry_division(code)
    assert division.code == code
    assert division.section == section
    assert division.name_zh == name_zh
    assert industry_section(code).code == section


@pytest.mark.parametrize(
    ("letter", "name_zh"),
    [
        ("A", "农、林、牧、渔业"),
        ("C", "制造业"),
        ("D", "电力、热力、燃气及水生产和供应业"),
        ("I", "信息传输、软件和信息技术服务业"),
        ("J", "金融业"),
        ("S", "公共管理、社会保障和社会组织"),
        ("T", "国际组织"),
    ],
)
def test_section_spot_checks(letter: str, name_zh: str) -> None:
    assert industry_section(letter).name_zh == name_zh
    assert industry_section(letter.lower()).code == letter


def test_english_names() -> None:
    assert industry_division("65").name_en == "Software and information technology services"
    assert industry_section("C").name_en == "Manufacturing"


@pytest.mark.parametrize("code", ["1311", "131", "C13", "C1311", "c1311", " 13 "])
def test_longer_codes_resolve_to_their_division(code: str) -> None:
    assert industry_division(code).code == "13"
    assert industry_section(code).code == "C"


@pytest.mark.parametrize("code", ["", "0", "00", "98", "99", "D13", "13111", "1A", "x", "１３"])
def test_unknown_division(code: str) -> None:
    with pytest.raises(UnknownCode) as info:
        industry_division(code)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.kind == "industry_division"
    assert error.params == {"code": code}
    assert str(error) == error.message % error.params
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.params) == (error.kind, error.params)


@pytest.mark.parametrize("code", ["U", "Z", "AB", "98"])
def test_unknown_section(code: str) -> None:
    with pytest.raises(UnknownCode):
        industry_section(code)
    with pytest.raises(UnknownCode):
        divisions_of(code)


def test_is_valid_division_is_strict() -> None:
    assert is_valid_division("01")
    assert is_valid_division("97")
    assert not is_valid_division("1")
    assert not is_valid_division("98")
    assert not is_valid_division("00")
    assert not is_valid_division("1311")
    assert not is_valid_division("C13")


# --- size classes -----------------------------------------------------------------------------------


def test_size_classes() -> None:
    assert [s.value for s in SizeClass] == ["micro", "small", "medium", "large"]
    assert [s.label_zh for s in SizeClass] == ["微型", "小型", "中型", "大型"]
    assert SizeClass("small") is SizeClass.SMALL
    assert SizeClass.MICRO == "micro"
    assert SizeClass.MICRO.is_sme
    assert SizeClass.SMALL.is_sme
    assert not SizeClass.MEDIUM.is_sme
    assert not SizeClass.LARGE.is_sme


# --- administrative divisions -----------------------------------------------------------------------


def test_provinces() -> None:
    provinces = [r for r in regions().values() if r.level == "province"]
    assert len(provinces) == 31
    assert all(r.parent_code is None and r.code.endswith("0000") for r in provinces)
    assert region_name("110000") == "北京市"
    assert region_name("370000") == "山东省"
    assert region_name("440000") == "广东省"
    assert region_name("540000") == "西藏自治区"
    assert region_name("650000") == "新疆维吾尔自治区"


def test_weihai() -> None:
    weihai = region("371000")
    assert weihai.name_zh == "威海市"
    assert weihai.level == "city"
    assert weihai.parent_code == "370000"
    assert [r.code for r in children("370000")] == ["371000"]
    counties = children("371000")
    assert {r.code: r.name_zh for r in counties} == {
        "371002": "环翠区",
        "371003": "文登区",
        "371082": "荣成市",
        "371083": "乳山市",
    }
    assert all(r.level == "county" and r.parent_code == "371000" for r in counties)
    assert children("371002") == ()
    assert children("110000") == ()


def test_every_parent_is_known_and_one_level_up() -> None:
    above = {"city": "province", "county": "city"}
    for r in regions().values():
        assert len(r.code) == 6
        assert r.code.isdigit()
        if r.parent_code is not None:
            assert region(r.parent_code).level == above[r.level]
            assert r.code[:2] == r.parent_code[:2]


def test_unknown_region() -> None:
    assert is_known_region("371002")
    assert not is_known_region("371099")
    assert not is_known_region("")
    with pytest.raises(UnknownCode) as info:
        region("999999")
    assert info.value.kind == "region"
    assert info.value.params == {"code": "999999"}
    with pytest.raises(UnknownCode):
        region_name("371099")
    with pytest.raises(UnknownCode):
        children("371099")


def test_a_region_covers_exactly_its_own_divisions() -> None:
    from types import SimpleNamespace

    from xinyidai.core.codes import region_prefix
    from xinyidai.market.precredit import targets_refusals

    assert [region_prefix(c) for c in ("370000", "371000", "371002")] == ["37", "3710", "371002"]
    product = SimpleNamespace(regions=["371000"], industries=[], sizes=[], grades=[])  # 威海市
    assert targets_refusals(product, {"region_code": "371002"}) == []  # 环翠区, in Weihai
    assert targets_refusals(product, {"region_code": "371102"})  # 日照: starts 371 too
