"""Industry profiles of the synthetic city: how common each GB/T 4754 section is and how it behaves.

The proportions follow what city registries publish: wholesale and retail (F) and manufacturing (C) hold
most companies, individual businesses (个体工商户) are mostly shops, restaurants and services (F, H, O).
Intensities turn a month's sales into electricity, water and gas use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class SectionProfile:
    """How firms of one industry section look and behave.

    Attributes:
        code: GB/T 4754-2017 section letter.
        company_weight, individual_weight: relative frequency among companies and individual businesses.
        macro_beta: sensitivity of health to the city's business cycle (the downturn hits H, E, C hardest).
        sales_factor: multiplies the size class's typical monthly sales.
        kwh_per_yuan, water_per_yuan, gas_per_yuan: utility use per yuan of sales.
        gas_share: share of firms with a gas account.
        exporter_share: share of companies that export (customs rows).
        patent_share, trademark_share: share of companies that hold patents / trademarks.
        penalty_rate: monthly administrative-penalty rate of a firm of average health.
        word: industry word in company names.
        shop_words: what individual businesses of the section call themselves.
        nice_classes: Nice classes its trademarks are registered in.
    """

    code: str
    company_weight: float
    individual_weight: float
    macro_beta: float
    sales_factor: float
    kwh_per_yuan: float
    water_per_yuan: float
    gas_per_yuan: float
    gas_share: float
    exporter_share: float
    patent_share: float
    trademark_share: float
    penalty_rate: float
    word: tuple[str, ...]
    shop_words: tuple[str, ...]
    nice_classes: tuple[int, ...]


SECTIONS: Final[tuple[SectionProfile, ...]] = (
    SectionProfile(
        "A", 3, 0, 0.5, 0.8, 0.02, 0.004, 0.0, 0.02, 0.03, 0.02, 0.04, 0.0006,
        ("农业科技", "海洋牧场", "果蔬种植"), ("种植园",), (29, 31),
    ),
    SectionProfile(
        "C", 22, 2, 1.2, 1.2, 0.09, 0.002, 0.004, 0.25, 0.12, 0.10, 0.10, 0.0015,
        ("机械制造", "精密机械", "电子科技", "食品", "橡胶制品", "纺织服饰", "渔具", "医疗器械"),
        ("加工部", "五金加工厂"), (7, 9, 11, 16, 20, 21, 25, 28, 29, 30),
    ),
    SectionProfile(
        "E", 7, 0, 1.3, 1.3, 0.01, 0.002, 0.0, 0.02, 0.0, 0.01, 0.01, 0.0015,
        ("建设工程", "建筑安装", "装饰工程"), (), (37,),
    ),
    SectionProfile(
        "F", 26, 50, 1.0, 1.4, 0.006, 0.0005, 0.0, 0.03, 0.07, 0.01, 0.08, 0.0010,
        ("商贸", "贸易", "水产品", "医药", "进出口"),
        ("便利店", "五金店", "副食品店", "服装店", "水果店", "烟酒店", "建材经营部"), (35,),
    ),
    SectionProfile(
        "G", 6, 6, 1.0, 0.9, 0.01, 0.0008, 0.0, 0.05, 0.02, 0.005, 0.03, 0.0015,
        ("物流", "运输", "国际货运代理"), ("货运部", "物流站"), (39,),
    ),
    SectionProfile(
        "H", 4, 25, 1.5, 0.6, 0.03, 0.006, 0.01, 0.70, 0.0, 0.002, 0.05, 0.0020,
        ("餐饮管理", "酒店管理"), ("小吃店", "饭店", "海鲜酒家", "面馆", "烧烤店"), (43,),
    ),
    SectionProfile(
        "I", 6, 0, 0.5, 0.8, 0.01, 0.0005, 0.0, 0.02, 0.02, 0.12, 0.10, 0.0004,
        ("信息技术", "网络科技", "软件科技"), (), (9, 42),
    ),
    SectionProfile(
        "L", 9, 0, 0.8, 0.6, 0.004, 0.0005, 0.0, 0.02, 0.01, 0.005, 0.03, 0.0005,
        ("商务咨询", "企业管理", "人力资源"), (), (35,),
    ),
    SectionProfile(
        "M", 7, 0, 0.6, 0.7, 0.01, 0.0008, 0.0, 0.03, 0.02, 0.20, 0.08, 0.0004,
        ("科技研发", "检测技术", "工程设计"), (), (42,),
    ),
    SectionProfile(
        "O", 4, 15, 0.7, 0.5, 0.015, 0.004, 0.002, 0.10, 0.0, 0.002, 0.03, 0.0008,
        ("家政服务", "物业服务"), ("理发店", "洗衣店", "汽车修理部", "美容店"), (44, 45),
    ),
    SectionProfile(
        "R", 3, 2, 1.0, 0.6, 0.01, 0.001, 0.0, 0.03, 0.0, 0.02, 0.10, 0.0006,
        ("文化传媒", "体育发展"), ("文印部",), (41,),
    ),
)  # fmt: skip

SECTION_CODES: Final = tuple(p.code for p in SECTIONS)
SECTION_INDEX: Final = {p.code: i for i, p in enumerate(SECTIONS)}


def column(attribute: str) -> np.ndarray:
    """One profile attribute for every section, as an array indexed by section number."""
    return np.array([getattr(p, attribute) for p in SECTIONS], dtype=np.float64)


SIZE_LABELS: Final = ("micro", "small", "medium", "large")
# Companies: most are micro or small, as in every city registry; individual businesses are all micro.
SIZE_WEIGHTS: Final = (0.70, 0.23, 0.06, 0.01)
# Typical monthly sales (yuan) and the spread of log sales around it, per size class.
SIZE_SALES: Final = np.array([80_000.0, 1_200_000.0, 10_000_000.0, 80_000_000.0])
SIZE_SALES_SIGMA: Final = np.array([0.9, 0.7, 0.6, 0.6])
INDIVIDUAL_SALES: Final = 30_000.0

ENTITY_TYPES: Final = (
    "有限责任公司",
    "股份有限公司",
    "个人独资企业",
    "合伙企业",
    "个体工商户",
    "农民专业合作社",
    "其他",
)
INDIVIDUAL_TYPE: Final = ENTITY_TYPES.index("个体工商户")
COOPERATIVE_TYPE: Final = ENTITY_TYPES.index("农民专业合作社")
# Legal forms of companies (not individual businesses, not cooperatives).
COMPANY_FORMS: Final = (0, 1, 2, 3, 6)
COMPANY_FORM_WEIGHTS: Final = (0.86, 0.02, 0.07, 0.03, 0.02)

# Sales by calendar month (index 0 = January): the Spring Festival dip and the year-end push.
SEASON: Final = np.array([0.95, 0.80, 1.0, 1.0, 1.0, 1.0, 1.0, 0.98, 1.02, 1.0, 1.03, 1.12])
# Electricity use by calendar month: heating in winter, cooling in summer.
ELECTRICITY_SEASON: Final = np.array([1.12, 0.95, 1.0, 0.95, 0.97, 1.05, 1.18, 1.2, 1.02, 0.95, 1.0, 1.1])
