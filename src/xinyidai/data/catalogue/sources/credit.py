"""Credit office and financial regulators: public credit grade, red and black lists, risk lists,
real-estate mortgages."""

from __future__ import annotations

from xinyidai.data.catalogue.common import code, day, money, text, uscc, year
from xinyidai.data.catalogue.model import Field, FieldType, Frequency, Source

PUBLIC_CREDIT = Source(
    id="public_credit_grade",
    name_zh="公共信用综合评价",
    name_en="Public credit evaluation",
    owner="社会信用体系建设办公室",
    frequency=Frequency.QUARTERLY,
    description="The public credit comprehensive evaluation: A 诚信优良, B 基本诚信, C 失信观察, D 严重失信.",
    fields=(
        uscc(),
        year(),
        code("grade", "评价等级", "Grade", "Public credit grade.", ("A", "B", "C", "D"), required=True),
        Field(
            "score", "评价得分", "Score", FieldType.FLOAT, "Evaluation score 0-1000.", minimum=0, maximum=1000
        ),
        day("evaluated_on", "评价日期", "Evaluated on", "Date of the evaluation.", required=True),
    ),
    key=("uscc", "evaluated_on"),
    period_field="evaluated_on",
)

RED_BLACK_LISTS = Source(
    id="red_black_lists",
    name_zh="红黑名单",
    name_en="Red and black lists",
    owner="社会信用体系建设办公室",
    frequency=Frequency.REALTIME,
    description="Entries on honour (red) and joint-punishment (black) lists from every department.",
    fields=(
        uscc(),
        code(
            "list_colour",
            "名单类别",
            "Colour",
            "Red (honour) or black (joint punishment).",
            ("红名单", "黑名单"),
            required=True,
        ),
        text(
            "list_name",
            "名单名称",
            "List",
            "E.g. A级纳税人, 重大税收违法失信主体, 安全生产黑名单.",
            required=True,
        ),
        text("authority", "认定部门", "Authority", "Listing department."),
        day("listed_on", "列入日期", "Listed on", "Date listed.", required=True),
        day("removed_on", "移出日期", "Removed on", "Date removed, if removed."),
    ),
    key=("uscc", "list_name", "listed_on"),
    period_field="listed_on",
    formats=("csv", "jsonl"),
)

FINANCIAL_RISK_LISTS = Source(
    id="financial_risk_lists",
    name_zh="金融风险名单",
    name_en="Financial risk lists",
    owner="地方金融监督管理局",
    frequency=Frequency.MONTHLY,
    description="Regulators' lists: debt evaders (逃废债), overdue borrowers, suspicious accounts.",
    fields=(
        uscc(),
        code(
            "list_type",
            "名单类型",
            "List type",
            "Which list.",
            ("逃废债", "逾期", "涉案账户", "其他"),
            required=True,
        ),
        day("listed_on", "列入日期", "Listed on", "Date listed.", required=True),
        day("removed_on", "移出日期", "Removed on", "Date removed, if removed."),
        money("amount", "涉及金额", "Amount", "Amount involved."),
        text("reporter", "报送机构", "Reported by", "Institution that reported the entry."),
    ),
    key=("uscc", "list_type", "listed_on"),
    period_field="listed_on",
)

MORTGAGES = Source(
    id="real_estate_mortgages",
    name_zh="不动产抵押登记",
    name_en="Real-estate mortgages",
    owner="不动产登记中心",
    frequency=Frequency.DAILY,
    description="Mortgage registrations on enterprises' real estate (抵押权登记), with the mortgagee.",
    fields=(
        uscc(),
        text(
            "certificate_number",
            "不动产登记证明号",
            "Certificate number",
            "Registration certificate.",
            required=True,
        ),
        day("registered_on", "登记日期", "Registered on", "Date registered.", required=True),
        money(
            "secured_amount",
            "被担保主债权数额",
            "Secured amount",
            "Amount of the secured claim.",
            aliases=("担保金额", "抵押金额"),
        ),
        text("mortgagee", "抵押权人", "Mortgagee", "Usually a bank."),
        code("status", "登记状态", "Status", "Current or cancelled.", ("现势", "注销"), required=True),
        day("cancelled_on", "注销日期", "Cancelled on", "Date cancelled, if cancelled."),
    ),
    key=("certificate_number",),
    period_field="registered_on",
)

SOURCES = (PUBLIC_CREDIT, RED_BLACK_LISTS, FINANCIAL_RISK_LISTS, MORTGAGES)
