"""The platform itself as a data provider: its own loan book, delivered to the lake like a department's.

Loans made through the marketplace live in the database; the indicators (financing history on the platform)
and, later, the risk rules read the lake. So each month the marketplace delivers every loan's state at the
month's end through ordinary ingestion (``xinyidai market export-loans``): validated, batched, visible from
its arrival, and so never seen by an indicator computed as of an earlier date.
"""

from __future__ import annotations

from xinyidai.data.catalogue.common import code, count, day, money, period, text, uscc
from xinyidai.data.catalogue.model import Field, FieldType, Frequency, Source

PLATFORM_LOANS = Source(
    id="platform_loans",
    name_zh="平台贷款记录",
    name_en="Loans made through the platform",
    owner="信易贷平台运营中心",
    frequency=Frequency.MONTHLY,
    description="Every loan disbursed through the marketplace and its state at the end of each month.",
    fields=(
        uscc(),
        period(),
        text("loan_ref", "贷款编号", "Loan", "The platform's loan number.", required=True),
        text("institution", "放款机构", "Institution", "The lending institution.", required=True),
        money("amount", "贷款金额", "Amount", "Amount disbursed."),
        money("outstanding", "贷款余额", "Outstanding", "Principal outstanding at the month's end."),
        count("days_overdue", "逾期天数", "Days overdue", "Days overdue at the month's end.", unit="天"),
        code(
            "status",
            "贷款状态",
            "Status",
            "正常 current, 逾期 overdue, 违约 defaulted, 结清 repaid.",
            ("正常", "逾期", "违约", "结清"),
            required=True,
        ),
        day("disbursed_on", "放款日期", "Disbursed on", "Date the loan was paid out.", required=True),
    ),
    key=("loan_ref", "period"),
    period_field="period",
)

FUND_INVESTMENTS = Source(
    id="fund_investments",
    name_zh="政府基金投资记录",
    name_en="Government funds' investments",
    owner="信易贷平台运营中心",
    frequency=Frequency.MONTHLY,
    description="What each government fund on the platform has invested in each enterprise, month by month.",
    fields=(
        uscc(),
        period(),
        text("fund", "基金", "Fund", "The government fund that invested.", required=True),
        money("invested", "累计投资额", "Invested", "Total invested by the fund in the enterprise so far."),
        Field(
            "stake",
            "持股比例",
            "Stake",
            FieldType.FLOAT,
            "Equity held, per cent.",
            unit="%",
            minimum=0,
            maximum=100,
        ),
        day(
            "first_invested_on",
            "首次投资日期",
            "First invested on",
            "Date of the fund's first investment.",
            required=True,
        ),
    ),
    key=("uscc", "fund", "period"),
    period_field="period",
)

SOURCES = (PLATFORM_LOANS, FUND_INVESTMENTS)
