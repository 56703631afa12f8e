"""Human resources and social security bureau; housing provident fund centre."""

from __future__ import annotations

from xinyidai.data.catalogue.common import count, money, period, uscc
from xinyidai.data.catalogue.model import Frequency, Source

SOCIAL_SECURITY = Source(
    id="social_security",
    name_zh="社会保险参保缴费月度数据",
    name_en="Social security (monthly)",
    owner="人力资源和社会保障局",
    frequency=Frequency.MONTHLY,
    description="Insured headcount, hires, separations, contributions and arrears per enterprise per month.",
    fields=(
        uscc(),
        period(),
        count(
            "insured",
            "参保人数",
            "Insured headcount",
            "Employees insured at month end.",
            aliases=("在保人数", "缴费人数"),
        ),
        count(
            "new_hires",
            "新增参保人数",
            "New hires",
            "Employees newly insured in the month.",
            aliases=("增员人数",),
        ),
        count(
            "separations",
            "减少参保人数",
            "Separations",
            "Employees who left insurance in the month.",
            aliases=("减员人数", "停保人数"),
        ),
        money(
            "contributions",
            "缴费金额",
            "Contributions",
            "Contributions paid for the month.",
            aliases=("实缴金额",),
        ),
        money("arrears", "欠费金额", "Arrears", "Contributions owed and overdue.", aliases=("欠缴金额",)),
    ),
    key=("uscc", "period"),
    period_field="period",
    formats=("csv", "xlsx"),
)

HOUSING_FUND = Source(
    id="housing_fund",
    name_zh="住房公积金缴存月度数据",
    name_en="Housing fund (monthly)",
    owner="住房公积金管理中心",
    frequency=Frequency.MONTHLY,
    description="Contributors and amount deposited per enterprise per month.",
    fields=(
        uscc(),
        period(),
        count("contributors", "缴存人数", "Contributors", "Employees with deposits in the month."),
        money("amount", "缴存金额", "Amount", "Amount deposited (employer and employee)."),
        count(
            "months_in_arrears",
            "欠缴月数",
            "Months in arrears",
            "Consecutive months not deposited.",
            unit="月",
        ),
    ),
    key=("uscc", "period"),
    period_field="period",
)

SOURCES = (SOCIAL_SECURITY, HOUSING_FUND)
