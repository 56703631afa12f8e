"""Utilities: electricity, water and gas companies."""

from __future__ import annotations

from xinyidai.data.catalogue.common import money, period, uscc
from xinyidai.data.catalogue.model import Field, FieldType, Frequency, Source


def _utility(source_id: str, name_zh: str, name_en: str, owner: str, unit: str, use_zh: str) -> Source:
    return Source(
        id=source_id,
        name_zh=name_zh,
        name_en=name_en,
        owner=owner,
        frequency=Frequency.MONTHLY,
        description=f"Monthly {name_en.lower()} use ({unit}), bill and arrears per enterprise.",
        fields=(
            uscc(),
            period(),
            Field(
                "usage",
                use_zh,
                "Usage",
                FieldType.FLOAT,
                f"Metered use in the month ({unit}).",
                unit=unit,
                minimum=0,
                aliases=("用量", "使用量"),
            ),
            money(
                "bill", "应缴费用", "Bill", "Amount billed for the month.", aliases=("电费", "水费", "燃气费")
            ),
            money("arrears", "欠费金额", "Arrears", "Amount overdue at month end.", aliases=("欠费",)),
        ),
        key=("uscc", "period"),
        period_field="period",
        formats=("csv", "jsonl"),
    )


ELECTRICITY = _utility("electricity", "企业用电月度数据", "Electricity", "国网市供电公司", "kWh", "用电量")
WATER = _utility("water", "企业用水月度数据", "Water", "市自来水公司", "m³", "用水量")
GAS = _utility("gas", "企业用气月度数据", "Gas", "市燃气公司", "m³", "用气量")

SOURCES = (ELECTRICITY, WATER, GAS)
