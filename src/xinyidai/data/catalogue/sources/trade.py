"""Customs: monthly trade and the customs credit grade."""

from __future__ import annotations

from xinyidai.data.catalogue.common import code, day, money, period, uscc
from xinyidai.data.catalogue.model import Frequency, Source

CUSTOMS_MONTHLY = Source(
    id="customs_monthly",
    name_zh="进出口月度数据",
    name_en="Customs trade (monthly)",
    owner="海关",
    frequency=Frequency.MONTHLY,
    description="Import and export value per enterprise per month, in yuan.",
    fields=(
        uscc(),
        period(),
        money("imports", "进口额", "Imports", "Declared import value.", aliases=("进口金额",)),
        money("exports", "出口额", "Exports", "Declared export value.", aliases=("出口金额",)),
    ),
    key=("uscc", "period"),
    period_field="period",
)

CUSTOMS_CREDIT = Source(
    id="customs_credit",
    name_zh="海关企业信用等级",
    name_en="Customs credit grade",
    owner="海关",
    frequency=Frequency.MONTHLY,
    description="The enterprise's customs credit management grade and when it was assessed.",
    fields=(
        uscc(),
        code(
            "grade",
            "海关信用等级",
            "Grade",
            "Customs credit grade.",
            ("高级认证企业", "其他注册登记和备案企业", "失信企业"),
            required=True,
        ),
        day("assessed_on", "认定日期", "Assessed on", "Date of the assessment.", required=True),
    ),
    key=("uscc", "assessed_on"),
    period_field="assessed_on",
)

SOURCES = (CUSTOMS_MONTHLY, CUSTOMS_CREDIT)
