"""The synthetic city: deterministic, realistic-looking department data for demos and tests.

For now it produces the enterprise registry (the market regulator's master records); the other
departments' deliveries join it with the department-data issue.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from xinyidai.core.codes import DIVISIONS, children
from xinyidai.core.uscc import ALPHABET, make_uscc
from xinyidai.data.models import RegistryEnterprise

DEMO_CITY = "371000"  # 威海市

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国海波宁辉晨阳琳雪梅志文斌"
_BRANDS = "海鑫恒远华盛泰隆宏达金桥信诚瑞丰永安天成润通利民富源长青东方海洋蓝湾威远环翠荣成文登乳山"
_INDUSTRY_WORDS = {
    "A": "农业科技",
    "C": "制造",
    "E": "建设工程",
    "F": "商贸",
    "G": "物流",
    "H": "餐饮管理",
    "I": "信息技术",
    "L": "商务咨询",
    "M": "科技研发",
    "O": "家政服务",
    "R": "文化传媒",
}
# Sections with many small firms weigh more, as in a real city's registry.
_SECTION_WEIGHTS = {"C": 30, "F": 28, "I": 8, "G": 7, "E": 7, "L": 6, "M": 5, "H": 4, "A": 2, "O": 2, "R": 1}
_SIZES = (("micro", 70), ("small", 22), ("medium", 7), ("large", 1))


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def registry_enterprises(count: int, seed: int = 2026, city: str = DEMO_CITY) -> Iterator[RegistryEnterprise]:
    """``count`` registry records of one city, reproducible from ``seed``.

    Codes are valid GB 32100-2015 USCCs of the city's counties; about 3 % of firms are revoked or
    deregistered, as in a real registry.
    """
    rng = random.Random(seed)  # noqa: S311 — reproducible synthetic data, not security
    counties = [r.code for r in children(city)] or [city]
    sections = list(_SECTION_WEIGHTS)
    weights = list(_SECTION_WEIGHTS.values())
    divisions_by_section: dict[str, list[str]] = {}
    for known in DIVISIONS.values():
        divisions_by_section.setdefault(known.section, []).append(known.code)
    used: set[str] = set()
    org_alphabet = ALPHABET  # GB 11714 bodies drawn from the USCC alphabet stay valid in both
    produced = 0
    while produced < count:
        county = rng.choice(counties)
        body = "MA" + "".join(rng.choice(org_alphabet) for _ in range(6))
        uscc = make_uscc(county, body)
        if uscc in used:
            continue
        used.add(uscc)
        section = rng.choices(sections, weights)[0]
        division = rng.choice(divisions_by_section[section])
        name = (
            "威海"
            + "".join(rng.choice(_BRANDS) for _ in range(2))
            + _INDUSTRY_WORDS[section]
            + rng.choice(("有限公司", "有限责任公司", "股份有限公司"))
        )
        size = rng.choices([s for s, _ in _SIZES], [w for _, w in _SIZES])[0]
        status_roll = rng.random()
        status = "存续" if status_roll > 0.03 else ("吊销" if status_roll > 0.01 else "注销")
        yield RegistryEnterprise(
            uscc=uscc,
            name=name,
            legal_representative=_person(rng),
            region_code=county,
            industry_division=division,
            size_class=size,
            founded_on=date(2026, 1, 1) - timedelta(days=rng.randint(200, 9000)),
            registered_capital_wan=Decimal(rng.choice((10, 50, 100, 200, 500, 1000, 3000))),
            status=status,
        )
        produced += 1
