"""Courts: cases and the dishonest judgment-debtor list (失信被执行人)."""

from __future__ import annotations

from xinyidai.data.catalogue.common import code, day, money, text, uscc
from xinyidai.data.catalogue.model import Frequency, Sensitivity, Source

COURT_CASES = Source(
    id="court_cases",
    name_zh="司法案件信息",
    name_en="Court cases",
    owner="市中级人民法院",
    frequency=Frequency.REALTIME,
    description="One row per case and party: the enterprise's role, cause, amount, judgment, enforcement.",
    fields=(
        uscc(),
        text(
            "case_number",
            "案号",
            "Case number",
            "Court case number, e.g. (2024)鲁1002民初123号.",
            required=True,
            sensitivity=Sensitivity.PUBLIC,
        ),
        code(
            "role",
            "诉讼地位",
            "Role",
            "The enterprise's role in the case.",
            ("原告", "被告", "第三人", "被执行人", "申请执行人"),
            required=True,
        ),
        code(
            "case_type",
            "案件类型",
            "Case type",
            "Kind of case.",
            ("民事", "刑事", "行政", "执行"),
            required=True,
        ),
        text("cause", "案由", "Cause", "Cause of action, e.g. 买卖合同纠纷, 借款合同纠纷, 劳动争议."),
        money("amount", "标的金额", "Amount", "Amount in dispute.", aliases=("涉案金额", "标的额")),
        day("filed_on", "立案日期", "Filed on", "Date the case was filed.", required=True),
        code(
            "outcome",
            "裁判结果",
            "Outcome",
            "Judgment for the enterprise.",
            ("审理中", "胜诉", "败诉", "部分胜诉", "调解", "撤诉", "驳回"),
        ),
        day("judged_on", "裁判日期", "Judged on", "Date of the judgment."),
        code(
            "enforcement",
            "执行状态",
            "Enforcement",
            "Enforcement state.",
            ("无", "执行中", "已执行完毕", "终结本次执行"),
        ),
    ),
    key=("case_number", "uscc", "role"),
    period_field="filed_on",
    formats=("csv", "jsonl"),
)

DISHONEST = Source(
    id="dishonest_debtors",
    name_zh="失信被执行人名单",
    name_en="Dishonest judgment debtors",
    owner="市中级人民法院",
    frequency=Frequency.REALTIME,
    description="Entries on and removals from the dishonest judgment-debtor list (失信被执行人).",
    fields=(
        uscc(),
        text(
            "case_number",
            "执行案号",
            "Case number",
            "Enforcement case number.",
            required=True,
            sensitivity=Sensitivity.PUBLIC,
        ),
        day("listed_on", "发布日期", "Listed on", "Date put on the list.", required=True),
        day("removed_on", "移除日期", "Removed on", "Date removed from the list, if removed."),
        money("amount", "执行标的", "Amount", "Amount to be enforced."),
        text("behaviour", "失信行为情形", "Behaviour", "What the debtor did."),
    ),
    key=("uscc", "case_number"),
    period_field="listed_on",
    formats=("csv", "jsonl"),
)

SOURCES = (COURT_CASES, DISHONEST)
