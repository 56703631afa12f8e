"""The library of risk-warning rules: rule sets ready to be copied and switched on.

Zhejiang's risk component runs 1,097 warning rules in 105 rule sets; Zhengzhou lets every institution
configure its own risk-control rules; Shenzhen found that rising staff turnover in social-security data was
the earliest sign of a default. This library gives every watcher a start: about ten rule sets, each a
group of rules over :func:`~xinyidai.monitoring.fields.monitoring_catalogue`, with a severity (``high`` red,
``medium`` orange, ``low`` yellow) and a trigger (``batch`` after each pipeline run, ``event`` when a
department pushes a court case or a list entry).

Conventions of the expressions:

- amounts in 元 unless the indicator says 万元 (``registered_capital``, ``total_assets``); growth rates,
  turnover, tax burden and invoice rates are fractions (``sales_growth_12m <= -0.5`` is "down 50 %");
- a comparison with a previous value never fires when there was none: ``x_3m_ago > 0 and x < 0.7 *
  x_3m_ago``; ``x > x_prev`` is NULL (not fired) on a firm's first snapshot;
- "entered a list" is ``on_x and not coalesce(on_x_prev, false)``: on the first run a firm already listed
  is reported once, which is what a new watcher wants;
- banded rules (30–50 %, 50 % and more) do not overlap, so one fact raises one alert;
- grades are the shipped scorecards' ``A`` (best) … ``D`` (worst), cut-offs 750 / 600 / 450 points.

Who may switch a set on (``audience``): ``all`` sets read only indicators and ratings, usable by
institutions, departments and as platform-wide sets; ``institution`` sets read the live loan book (and
the institution's own loans); ``department`` sets read no loan fields and may read ``fund_*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xinyidai.core.access import OrgKind
from xinyidai.core.errors import NotFound

__all__ = [
    "AUDIENCE_KINDS",
    "LIBRARY",
    "LibraryRule",
    "LibrarySet",
    "library_rule",
    "library_rules",
    "library_set",
]

Severity = Literal["high", "medium", "low"]
Trigger = Literal["batch", "event"]
Audience = Literal["all", "institution", "department"]

# The owners a set of each audience is checked for: None is a platform-wide set published by the operator.
AUDIENCE_KINDS: dict[str, tuple[OrgKind | None, ...]] = {
    "all": (OrgKind.INSTITUTION, OrgKind.DEPARTMENT, None),
    "institution": (OrgKind.INSTITUTION,),
    "department": (OrgKind.DEPARTMENT,),
}


@dataclass(frozen=True)
class LibraryRule:
    """One rule of the library.

    Attributes:
        code: unique in the library, e.g. ``JUD-001``.
        name: short Chinese name shown on the risk board.
        expression: a boolean expression over the monitoring fields.
        severity: ``high`` (red), ``medium`` (orange) or ``low`` (yellow).
        trigger: ``batch`` (after each pipeline run) or ``event`` (on a real-time push; reads ``event_*``).
        description: one Chinese sentence: what it means and why it matters.
    """

    code: str
    name: str
    expression: str
    severity: Severity
    trigger: Trigger = "batch"
    description: str = ""


@dataclass(frozen=True)
class LibrarySet:
    """A group of library rules switched on together; ``audience`` says who may switch it on."""

    code: str
    name: str
    description: str
    rules: tuple[LibraryRule, ...]
    audience: Audience = "all"


def _r(
    code: str,
    severity: Severity,
    name: str,
    expression: str,
    description: str,
    trigger: Trigger = "batch",
) -> LibraryRule:
    return LibraryRule(code, name, expression, severity, trigger, description)


def _e(code: str, severity: Severity, name: str, expression: str, description: str) -> LibraryRule:
    return _r(code, severity, name, expression, description, trigger="event")


_DEFENDANT = "event_role in ('被告', '被执行人')"

# fmt: off

JUDICIAL = LibrarySet(
    "judicial",
    "司法风险",
    "诉讼、被执行、败诉与失信被执行人：批量规则比较前后两期指标，实时规则在法院推送案件或失信名单时立即触发。",
    (
        _r("JUD-001", "medium", "新增被告诉讼",
           "defendant_cases_24m > defendant_cases_24m_prev",
           "近24个月被告（含被执行）案件数较上一期增加，企业新卷入债务纠纷。"),
        _r("JUD-002", "high", "新增被诉金额≥100万元",
           "defendant_amount_24m - defendant_amount_24m_prev >= 1000000",
           "本期新增的被诉标的合计达100万元以上，可能直接影响偿债能力。"),
        _r("JUD-003", "medium", "新增被诉金额10万–100万元",
           "defendant_amount_24m - defendant_amount_24m_prev >= 100000"
           " and defendant_amount_24m - defendant_amount_24m_prev < 1000000",
           "本期新增被诉标的在10万元至100万元之间，需关注资金链。"),
        _r("JUD-004", "high", "新增被执行案件",
           "enforcement_cases_24m > enforcement_cases_24m_prev",
           "企业新成为被执行人，说明已有生效判决未主动履行。"),
        _r("JUD-005", "medium", "新增败诉案件",
           "lost_cases_24m > lost_cases_24m_prev",
           "近24个月败诉案件数增加，败诉后往往随之而来的是强制执行。"),
        _r("JUD-006", "high", "列入失信被执行人",
           "on_dishonest_list and not coalesce(on_dishonest_list_prev, false)",
           "企业新列入失信被执行人名单，受联合惩戒，融资渠道基本关闭（衢州：失信信息纳入企业信用风险模型）。"),
        _r("JUD-007", "high", "失信被执行人（在列）",
           "on_dishonest_list",
           "企业目前仍在失信被执行人名单上，未履行生效判决。"),
        _r("JUD-008", "high", "新增失信记录",
           "dishonest_entries > dishonest_entries_prev",
           "失信记录数增加（含已移出名单的历史记录），说明又有一笔执行案件未履行。"),
        _r("JUD-009", "medium", "近24个月被告案件≥5件",
           "defendant_cases_24m >= 5",
           "被诉频繁，经营纠纷集中，常见于拖欠供应商或员工款项的企业。"),
        _r("JUD-010", "high", "被诉金额超过年销售收入30%",
           "sales_12m > 0 and defendant_amount_24m > 0.3 * sales_12m",
           "近24个月被诉金额超过近12个月销售收入的30%，败诉即可能耗尽经营现金。"),
        _r("JUD-011", "low", "未结案件≥3件",
           "open_cases >= 3",
           "审理中或执行中的案件较多，结果尚未确定，需跟踪判决。"),
        _r("JUD-012", "medium", "3个月内新增被告案件≥2件",
           "defendant_cases_24m - defendant_cases_24m_3m_ago >= 2",
           "近3个月被告案件集中增加，纠纷在短期内爆发。"),
        _r("JUD-013", "low", "曾有失信记录",
           "dishonest_entries > 0 and not on_dishonest_list",
           "企业已移出失信名单，但有失信历史，续贷与增信时应复核。"),
        _e("JUD-E01", "medium", "实时：新增被告诉讼",
           f"event_source = 'court_cases' and {_DEFENDANT}",
           "法院实时推送企业作为被告或被执行人的新案件（郑州：实时监测、第一时间贷后预警）。"),
        _e("JUD-E02", "high", "实时：被诉标的≥100万元",
           f"event_source = 'court_cases' and {_DEFENDANT} and event_amount >= 1000000",
           "新推送的被诉案件标的达100万元以上。"),
        _e("JUD-E03", "high", "实时：借款合同纠纷被诉",
           "event_source = 'court_cases' and event_role = '被告' and event_cause like '%借款%'",
           "企业因借款合同纠纷被起诉，通常意味着已在其他债权人处违约。"),
        _e("JUD-E04", "high", "实时：列为被执行人",
           "event_source = 'court_cases' and event_role = '被执行人'",
           "企业被申请强制执行，说明有生效判决未履行。"),
        _e("JUD-E05", "high", "实时：终结本次执行",
           f"event_source = 'court_cases' and {_DEFENDANT} and event_enforcement = '终结本次执行'",
           "法院以无可供执行财产终结本次执行，企业已无力偿付。"),
        _e("JUD-E06", "medium", "实时：败诉判决",
           "event_source = 'court_cases' and event_outcome = '败诉'",
           "法院推送企业败诉的判决，随后可能进入强制执行。"),
        _e("JUD-E07", "high", "实时：刑事案件",
           "event_source = 'court_cases' and event_case_type = '刑事'",
           "企业涉及刑事案件，可能影响实际控制人与持续经营。"),
        _e("JUD-E08", "low", "实时：劳动争议被诉",
           "event_source = 'court_cases' and event_role = '被告' and event_cause like '%劳动%'",
           "员工起诉企业，常伴随欠薪与员工流失（深圳：员工流失是最早的违约信号）。"),
        _e("JUD-E09", "medium", "实时：买卖合同纠纷被诉≥50万元",
           "event_source = 'court_cases' and event_role = '被告' and event_cause like '%买卖合同%'"
           " and event_amount >= 500000",
           "供应商起诉追讨50万元以上货款，说明企业已拖欠上游。"),
        _e("JUD-E10", "high", "实时：列入失信被执行人",
           "event_source = 'dishonest_debtors' and event_removed_on is null",
           "法院推送企业新列入失信被执行人名单，应立即复核授信。"),
    ),
)

OPERATIONS = LibrarySet(
    "operations",
    "经营异常",
    "销售收入、发票与年报财务的异常变化：同比、环比大幅下滑，停止开票，作废与红字发票异常，亏损与高负债。",
    (
        _r("OPS-001", "high", "销售收入同比下降50%以上",
           "sales_growth_12m <= -0.5",
           "近12个月申报销售收入比上年同期下降一半以上，经营明显萎缩。"),
        _r("OPS-002", "medium", "销售收入同比下降30%–50%",
           "sales_growth_12m <= -0.3 and sales_growth_12m > -0.5",
           "近12个月申报销售收入比上年同期下降30%至50%。"),
        _r("OPS-003", "medium", "近3个月销售环比下降50%以上",
           "sales_trend_3m <= -0.5",
           "近3个月销售收入不到前3个月的一半，下滑刚刚发生。"),
        _r("OPS-004", "medium", "滚动年销售收入3个月内下降20%",
           "sales_12m_3m_ago > 0 and sales_12m < 0.8 * sales_12m_3m_ago",
           "近12个月销售收入比3个月前的同口径数值少20%以上，说明最近一个季度急剧下滑。"),
        _r("OPS-005", "high", "近3个月无销售收入",
           "sales_prev_3m > 0 and coalesce(sales_3m, 0) <= 0",
           "前3个月有销售而近3个月为零，企业可能已停产停业。"),
        _r("OPS-006", "medium", "近12个月有销售月数不足6个月",
           "sales_prev_12m > 0 and months_with_sales_12m < 6",
           "上年有销售，但近12个月有销售的月份不足一半，经营断断续续。"),
        _r("OPS-007", "low", "销售收入波动剧烈",
           "sales_volatility_12m > 1.0",
           "近12个月月度销售的变异系数大于1，收入很不稳定，还款来源难以预测。"),
        _r("OPS-008", "medium", "作废发票率超过20%",
           "void_invoice_rate_12m > 0.2",
           "近12个月销项发票作废比例超过20%，交易真实性存疑。"),
        _r("OPS-009", "medium", "红字发票率超过15%",
           "negative_invoice_rate_12m > 0.15",
           "近12个月红字（冲销）发票比例超过15%，退货或冲销频繁。"),
        _r("OPS-010", "low", "作废发票率3个月内上升10个百分点",
           "void_invoice_rate_12m_3m_ago is not null"
           " and void_invoice_rate_12m >= void_invoice_rate_12m_3m_ago + 0.1",
           "作废发票比例较3个月前明显上升。"),
        _r("OPS-011", "medium", "下游客户数减半",
           "customers_12m_3m_ago >= 5 and customers_12m < 0.5 * customers_12m_3m_ago",
           "开票客户数比3个月前减少一半以上，可能失去主要客户。"),
        _r("OPS-012", "low", "仅1–2家下游客户",
           "invoice_sales_12m > 0 and customers_12m between 1 and 2",
           "销售高度依赖一两家客户，客户流失即断收入。"),
        _r("OPS-013", "medium", "发票毛利率为负",
           "invoice_margin_12m < 0",
           "近12个月进项发票金额超过销项，购销倒挂。"),
        _r("OPS-014", "low", "开票与申报销售背离超50%",
           "sales_12m > 0 and invoice_sales_12m > 0 and abs(invoice_sales_12m / sales_12m - 1) > 0.5",
           "增值税发票金额与纳税申报销售收入相差一半以上，收入口径可疑。"),
        _r("OPS-015", "medium", "资产负债率超过85%",
           "debt_ratio > 0.85",
           "最新年报资产负债率超过85%，杠杆过高，再融资空间小。"),
        _r("OPS-016", "high", "资不抵债",
           "debt_ratio >= 1",
           "最新年报负债不少于资产。"),
        _r("OPS-017", "low", "年报净利润率低于-10%",
           "net_margin < -0.1",
           "最新年报亏损超过收入的10%。"),
        _r("OPS-018", "medium", "年报资产总额下降30%",
           "total_assets_prev > 0 and total_assets < 0.7 * total_assets_prev",
           "新一期年报资产总额（万元）比上一期快照少30%以上。"),
        _r("OPS-019", "low", "年报从业人数与参保人数严重不符",
           "employees_reported >= 10 and insured_latest < 0.3 * employees_reported",
           "参保人数不到年报从业人数的三成，年报或用工情况不实。"),
    ),
)

EMPLOYMENT = LibrarySet(
    "employment",
    "用工与社保",
    "参保人数、员工流失与社保、公积金缴存：深圳地方征信平台发现，近24个月社保人数反映的员工流失先于营收与舆情预示违约。",
    (
        _r("EMP-001", "high", "参保人数3个月内下降超30%",
           "insured_latest_3m_ago > 0 and insured_latest < 0.7 * insured_latest_3m_ago",
           "最新参保人数比3个月前少30%以上，大规模裁员或停产。"),
        _r("EMP-002", "medium", "参保人数3个月内下降15%–30%",
           "insured_latest_3m_ago > 0 and insured_latest < 0.85 * insured_latest_3m_ago"
           " and insured_latest >= 0.7 * insured_latest_3m_ago",
           "最新参保人数比3个月前少15%至30%。"),
        _r("EMP-003", "medium", "参保人数同比下降超30%",
           "headcount_growth_12m <= -0.3",
           "参保人数比12个月前少30%以上。"),
        _r("EMP-004", "high", "参保人数降为零",
           "insured_latest_prev > 0 and insured_latest = 0",
           "上一期仍有参保员工，本期为零，企业可能已停止经营。"),
        _r("EMP-005", "medium", "近12个月员工流失率超50%",
           "insured_avg_12m >= 5 and turnover_rate_12m > 0.5",
           "近12个月减员人数超过平均参保人数的一半（深圳：员工流失率上升是最早的违约信号）。"),
        _r("EMP-006", "medium", "近24个月年化流失率超40%",
           "insured_avg_24m >= 5 and turnover_rate_24m > 0.4",
           "近24个月年化员工流失率超过40%（深圳：以近24个月社保人数衡量流失，领先营收与舆情）。"),
        _r("EMP-007", "medium", "员工流失翻倍",
           "separations_6m >= 5 and turnover_trend_6m >= 1",
           "近6个月减员人数是前6个月的两倍以上，流失在加速（深圳：最早的违约信号）。"),
        _r("EMP-008", "low", "员工流失上升",
           "separations_6m >= 3 and turnover_trend_6m >= 0.5 and turnover_trend_6m < 1",
           "近6个月减员人数比前6个月多50%至100%，流失趋势向上。"),
        _r("EMP-009", "low", "流失率3个月内上升10个百分点",
           "turnover_rate_12m_3m_ago is not null and turnover_rate_12m >= turnover_rate_12m_3m_ago + 0.1",
           "近12个月员工流失率比3个月前高出10个百分点以上。"),
        _r("EMP-010", "medium", "半年内减员超三成",
           "insured_avg_12m >= 5 and separations_6m > 0.3 * insured_avg_12m",
           "近6个月减少参保人数超过近12个月平均参保人数的30%。"),
        _r("EMP-011", "low", "净减员≥10人",
           "separations_12m - new_hires_12m >= 10 and separations_12m > 2 * new_hires_12m",
           "近12个月离开的人数是新参保人数的两倍以上且净减10人以上，企业在收缩。"),
        _r("EMP-012", "medium", "新增社保欠费",
           "ss_arrears_latest > 0 and coalesce(ss_arrears_latest_prev, 0) = 0",
           "企业开始拖欠社保费，现金流紧张的早期信号。"),
        _r("EMP-013", "high", "社保欠费≥3个月",
           "ss_arrears_months_12m >= 3",
           "近12个月有3个月以上欠缴社保，资金链持续紧张。"),
        _r("EMP-014", "medium", "社保缴费额3个月内下降30%",
           "contributions_12m_3m_ago > 0 and contributions_12m < 0.7 * contributions_12m_3m_ago",
           "近12个月社保缴费比3个月前同口径少30%以上，减员或降基数缴费。"),
        _r("EMP-015", "low", "公积金欠缴1–2个月",
           "hf_arrears_months_latest between 1 and 2",
           "最新公积金欠缴1至2个月。"),
        _r("EMP-016", "medium", "公积金欠缴≥3个月",
           "hf_arrears_months_latest >= 3",
           "最新公积金欠缴3个月以上，企业优先保经营、拖欠员工福利。"),
        _r("EMP-017", "medium", "公积金缴存人数3个月内下降超30%",
           "hf_contributors_latest_3m_ago > 0"
           " and hf_contributors_latest < 0.7 * hf_contributors_latest_3m_ago",
           "公积金缴存人数比3个月前少30%以上。"),
        _r("EMP-018", "medium", "停缴公积金",
           "hf_contributors_latest_prev > 0 and hf_contributors_latest = 0",
           "上一期仍在缴存公积金，本期缴存人数为零。"),
    ),
)

TAX = LibrarySet(
    "tax",
    "税务风险",
    "欠税、纳税信用等级与纳税额变化（银税互动：纳税信用等级向银行共享）。",
    (
        _r("TAX-001", "medium", "新增欠税",
           "tax_arrears_latest > 0 and coalesce(tax_arrears_latest_prev, 0) = 0",
           "企业开始欠缴税款，现金流紧张的信号。"),
        _r("TAX-002", "high", "欠税余额≥10万元",
           "tax_arrears_latest >= 100000",
           "最新欠税余额10万元以上，可能被税务机关强制执行或列为欠税人公告。"),
        _r("TAX-003", "high", "近12个月欠税≥3个月",
           "tax_arrears_months_12m >= 3",
           "近12个月有3个月以上存在欠税，持续性资金困难。"),
        _r("TAX-004", "high", "纳税信用D级",
           "tax_credit_score = 1",
           "纳税信用评为D级，属严重失信纳税人，受联合惩戒。"),
        _r("TAX-005", "medium", "纳税信用C级",
           "tax_credit_score = 2",
           "纳税信用评为C级，存在较严重的失信行为。"),
        _r("TAX-006", "medium", "纳税信用等级下降",
           "tax_credit_score < tax_credit_score_prev",
           "纳税信用等级较上一期下调（银税互动：银行据纳税信用授信）。"),
        _r("TAX-007", "low", "失去纳税信用A级",
           "tax_grade_a_prev and not tax_grade_a",
           "企业不再是纳税信用A级纳税人，银税产品准入可能受影响。"),
        _r("TAX-008", "medium", "实缴税额同比下降50%以上",
           "tax_growth_12m <= -0.5",
           "近12个月实缴税额不到上年同期的一半。"),
        _r("TAX-009", "low", "实缴税额3个月内下降30%",
           "tax_paid_12m_3m_ago > 0 and tax_paid_12m < 0.7 * tax_paid_12m_3m_ago",
           "近12个月实缴税额比3个月前同口径少30%以上。"),
        _r("TAX-010", "medium", "近12个月未缴税（上年有纳税）",
           "tax_paid_prev_12m > 0 and coalesce(tax_paid_12m, 0) = 0",
           "上年同期有纳税而近12个月为零，可能停业或零申报。"),
        _r("TAX-011", "low", "税负率异常偏低",
           "sales_12m >= 1000000 and tax_burden_12m < 0.005",
           "年销售收入百万元以上而税负率不足0.5%，收入或纳税申报可能不实。"),
        _r("TAX-012", "low", "税负率3个月内减半",
           "tax_burden_12m_3m_ago > 0 and tax_burden_12m < 0.5 * tax_burden_12m_3m_ago",
           "税负率比3个月前下降一半以上，经营或申报发生变化。"),
    ),
)

UTILITIES = LibrarySet(
    "utilities",
    "水电气",
    "水电气欠费与用量：用电量是生产经营最真实的信号，欠费说明现金已经紧张。",
    (
        _r("UTL-001", "medium", "新增水电气欠费",
           "utility_arrears > 0 and coalesce(utility_arrears_prev, 0) = 0",
           "企业开始拖欠水费、电费或燃气费。"),
        _r("UTL-002", "high", "水电气欠费≥1万元",
           "utility_arrears >= 10000",
           "水电气欠费合计1万元以上，可能面临停水停电。"),
        _r("UTL-003", "medium", "电费欠费",
           "electricity_arrears_latest > 0",
           "最新一期电费欠费，生产型企业尤需关注。"),
        _r("UTL-004", "low", "水费欠费",
           "water_arrears_latest > 0",
           "最新一期水费欠费。"),
        _r("UTL-005", "low", "燃气费欠费",
           "gas_arrears_latest > 0",
           "最新一期燃气费欠费。"),
        _r("UTL-006", "medium", "水电气欠费持续增加",
           "utility_arrears_prev > 0 and utility_arrears > utility_arrears_prev",
           "欠费较上一期继续增加，未见偿还。"),
        _r("UTL-007", "high", "用电量同比下降50%以上",
           "electricity_growth_12m <= -0.5",
           "近12个月用电量不到上年同期的一半，产能大幅收缩。"),
        _r("UTL-008", "medium", "用电量同比下降30%–50%",
           "electricity_growth_12m <= -0.3 and electricity_growth_12m > -0.5",
           "近12个月用电量比上年同期下降30%至50%。"),
        _r("UTL-009", "medium", "近3个月用电环比下降50%以上",
           "electricity_trend_3m <= -0.5",
           "近3个月用电量不到前3个月的一半。"),
        _r("UTL-010", "high", "近3个月基本停止用电",
           "electricity_prev_3m >= 3000 and electricity_3m < 0.1 * electricity_prev_3m",
           "前3个月正常用电而近3个月用电不足一成，企业可能已停产。"),
        _r("UTL-011", "low", "用水量3个月内减半",
           "water_12m_3m_ago > 0 and water_12m < 0.5 * water_12m_3m_ago",
           "近12个月用水量比3个月前同口径少一半以上。"),
        _r("UTL-012", "low", "用气量3个月内减半",
           "gas_12m_3m_ago > 0 and gas_12m < 0.5 * gas_12m_3m_ago",
           "近12个月用气量比3个月前同口径少一半以上。"),
        _r("UTL-013", "low", "用电下降而申报销售上升",
           "electricity_growth_12m <= -0.3 and sales_growth_12m >= 0.2",
           "用电量同比下降30%以上而申报销售增长20%以上，申报收入可能虚增。"),
    ),
)

PENALTIES = LibrarySet(
    "penalties_credit",
    "行政处罚与信用",
    "行政处罚、红黑名单、金融风险名单与公共信用综合评价：批量规则比较前后两期，实时规则在名单推送时触发。",
    (
        _r("PEN-001", "low", "新增行政处罚",
           "penalties_24m > penalties_24m_prev",
           "企业新受到行政处罚。"),
        _r("PEN-002", "high", "新增严重行政处罚",
           "serious_penalties_24m > serious_penalties_24m_prev",
           "企业新受到严重行政处罚（如吊销许可、责令停产停业、大额罚款）。"),
        _r("PEN-003", "medium", "新增罚款≥10万元",
           "fines_24m - fines_24m_prev >= 100000",
           "本期新增罚款合计10万元以上。"),
        _r("PEN-004", "medium", "近24个月行政处罚≥3次",
           "penalties_24m >= 3",
           "处罚频繁，合规管理薄弱。"),
        _r("PEN-005", "high", "列入黑名单",
           "on_black_list and not coalesce(on_black_list_prev, false)",
           "企业新列入联合惩戒黑名单。"),
        _r("PEN-006", "high", "列入金融风险名单",
           "on_financial_risk_list and not coalesce(on_financial_risk_list_prev, false)",
           "企业新列入监管部门的逾期、逃废债或涉案账户名单（衢州：金融风险名单纳入信用风险模型）。"),
        _r("PEN-007", "low", "移出红名单",
           "on_red_list_prev and not on_red_list",
           "企业不再在守信红名单上，原有激励措施可能取消。"),
        _r("PEN-008", "medium", "公共信用评价下降",
           "public_credit_score < public_credit_score_prev",
           "公共信用综合评价等级较上一期下调。"),
        _r("PEN-009", "medium", "公共信用评价C级（失信观察）",
           "public_credit_score = 2",
           "公共信用综合评价为C级，列入失信观察。"),
        _r("PEN-010", "high", "公共信用评价D级（严重失信）",
           "public_credit_score = 1",
           "公共信用综合评价为D级，属严重失信主体。"),
        _r("PEN-011", "low", "有效行政许可减少",
           "licences_valid_prev > 0 and licences_valid < licences_valid_prev",
           "有效行政许可数减少，可能到期未续或被撤销。"),
        _r("PEN-012", "medium", "全部行政许可失效",
           "licences_valid_prev > 0 and licences_valid = 0",
           "上一期仍有有效许可，本期全部失效，可能无法合法经营。"),
        _e("PEN-E01", "high", "实时：列入黑名单",
           "event_source = 'red_black_lists' and event_list_colour = '黑名单' and event_removed_on is null",
           "部门实时推送企业列入联合惩戒黑名单。"),
        _e("PEN-E02", "high", "实时：重大税收违法失信主体",
           "event_source = 'red_black_lists' and event_list_colour = '黑名单' and event_removed_on is null"
           " and event_list_name like '%税收违法%'",
           "企业被税务机关认定为重大税收违法失信主体。"),
        _e("PEN-E03", "medium", "实时：安全生产黑名单",
           "event_source = 'red_black_lists' and event_list_colour = '黑名单' and event_removed_on is null"
           " and event_list_name like '%安全生产%'",
           "企业列入安全生产黑名单，可能被责令停产整顿。"),
        _e("PEN-E04", "medium", "实时：环保领域黑名单",
           "event_source = 'red_black_lists' and event_list_colour = '黑名单' and event_removed_on is null"
           " and (event_list_name like '%环境%' or event_list_name like '%环保%')",
           "企业列入环境保护领域黑名单，可能被限产停产。"),
        _e("PEN-E05", "low", "实时：移出红名单",
           "event_source = 'red_black_lists' and event_list_colour = '红名单'"
           " and event_removed_on is not null",
           "部门推送企业移出红名单。"),
    ),
)

FINANCING = LibrarySet(
    "financing",
    "融资行为",
    "平台上的借贷行为：任一机构逾期、违约、多头借贷与负债快速增加，以及本机构贷款的状况（仅金融机构可用）。",
    (
        _r("FIN-001", "medium", "平台任一机构逾期1–29天",
           "loan_overdue_days between 1 and 29",
           "企业在平台上任一机构的贷款当前逾期1至29天。"),
        _r("FIN-002", "high", "平台逾期30–89天",
           "loan_overdue_days between 30 and 89",
           "企业在平台上的贷款当前逾期30天以上。"),
        _r("FIN-003", "high", "平台逾期90天以上",
           "loan_overdue_days >= 90",
           "逾期90天以上，已达不良标准。"),
        _r("FIN-004", "high", "平台贷款违约",
           "loan_in_default",
           "企业在平台上有贷款处于违约状态。"),
        _r("FIN-005", "high", "本机构贷款逾期",
           "own_loan_overdue_days > 0",
           "企业在本机构的贷款当前逾期。"),
        _r("FIN-006", "high", "他行逾期而本行正常",
           "own_loan_outstanding > 0 and coalesce(own_loan_overdue_days, 0) = 0 and loan_overdue_days > 0",
           "本机构贷款尚正常，但企业已在平台上其他机构逾期，交叉违约风险。"),
        _r("FIN-007", "medium", "多头借贷（≥4家机构）",
           "platform_lenders >= 4",
           "企业同时在平台上4家以上机构有贷款。"),
        _r("FIN-008", "medium", "3个月内新增2家以上贷款机构",
           "platform_lenders - platform_lenders_3m_ago >= 2",
           "在贷机构数比3个月前多2家以上，短期内密集融资。"),
        _r("FIN-009", "low", "平台在贷笔数≥5笔",
           "loans_on_platform >= 5",
           "企业在平台上有5笔以上在贷贷款。"),
        _r("FIN-010", "medium", "平台贷款余额3个月内翻倍",
           "platform_outstanding_3m_ago > 0 and platform_outstanding > 2 * platform_outstanding_3m_ago",
           "平台贷款余额比3个月前增加一倍以上，负债快速扩张。"),
        _r("FIN-011", "medium", "平台贷款余额超过年销售收入50%",
           "sales_12m > 0 and loan_outstanding > 0.5 * sales_12m",
           "平台上的贷款余额超过近12个月销售收入的一半，偿债压力大。"),
        _r("FIN-012", "medium", "近12个月逾期≥3个月",
           "platform_overdue_months_12m >= 3",
           "近12个月平台月报中有3个月以上出现逾期，还款习惯差。"),
        _r("FIN-013", "medium", "近12个月最长逾期≥60天",
           "platform_max_overdue_days_12m >= 60",
           "近12个月在平台上曾逾期60天以上。"),
        _r("FIN-014", "high", "新增平台违约记录",
           "platform_defaults_24m > platform_defaults_24m_prev",
           "平台月报中新出现违约贷款。"),
        _r("FIN-015", "high", "逾期且列入金融风险名单",
           "loan_overdue_days > 0 and on_financial_risk_list",
           "企业当前逾期并已列入监管部门的金融风险名单。"),
        _r("FIN-016", "medium", "本机构大额贷款企业评级C级以下",
           "own_loan_outstanding >= 1000000 and grade in ('C', 'D')",
           "本机构贷款余额100万元以上的企业评级处于C级或D级。"),
        _r("FIN-017", "medium", "本机构借款企业员工大量流失",
           "own_loan_outstanding > 0 and insured_avg_12m >= 5 and turnover_rate_12m > 0.5",
           "本机构在贷企业近12个月流失率超50%（深圳：员工流失率上升是最早的违约信号）。"),
        _r("FIN-018", "high", "本机构借款企业新增被执行",
           "own_loan_outstanding > 0 and enforcement_cases_24m > enforcement_cases_24m_prev",
           "本机构在贷企业新成为被执行人，应立即贷后检查。"),
    ),
    audience="institution",
)

RATING = LibrarySet(
    "rating",
    "评级变化",
    "平台信用评级的下调与低等级（A最好、D最差），以及评级下调叠加其他风险信号。",
    (
        _r("RAT-001", "medium", "评级下调",
           "grade_drop >= 1",
           "最新评级比上一次评级低。"),
        _r("RAT-002", "high", "评级下调两级及以上",
           "(grade_prev = 'A' and grade in ('C', 'D')) or (grade_prev = 'B' and grade = 'D')",
           "一次下调两个等级以上，信用状况急剧恶化。"),
        _r("RAT-003", "medium", "评级降入C级",
           "grade = 'C' and grade_prev in ('A', 'B')",
           "评级由A或B级降为C级，不再符合多数纯信用产品准入。"),
        _r("RAT-004", "high", "评级为D级",
           "grade = 'D' and coalesce(grade_prev, '') <> 'D'",
           "评级进入最低的D级（含首次评级即为D级）。"),
        _r("RAT-005", "low", "A级企业评级下调",
           "grade_prev = 'A' and grade = 'B'",
           "原A级企业降为B级，纯信用额度可能需调整（威海：等级决定差异化服务）。"),
        _r("RAT-006", "low", "评分接近C级线",
           "grade = 'B' and score < 620",
           "B级企业评分距C级线（600分）不足20分。"),
        _r("RAT-007", "high", "评分低于300分",
           "score < 300",
           "评分不足300分，位于D级的最差区间。"),
        _r("RAT-008", "medium", "评级下调且平台有逾期",
           "grade_drop >= 1 and platform_max_overdue_days_12m > 0",
           "评级下调的同时近12个月在平台上有过逾期。"),
        _r("RAT-009", "medium", "评级下调且员工流失上升",
           "grade_drop >= 1 and separations_6m >= 3 and turnover_trend_6m >= 0.5",
           "评级下调叠加员工流失上升（深圳：员工流失是最早的违约信号）。"),
        _r("RAT-010", "high", "C/D级企业新增被告诉讼",
           "grade in ('C', 'D') and defendant_cases_24m > defendant_cases_24m_prev",
           "低等级企业又新增被告案件，违约可能性高。"),
        _r("RAT-011", "high", "C/D级企业欠税欠费",
           "grade in ('C', 'D') and (tax_arrears_latest > 0 or ss_arrears_latest > 0 or utility_arrears > 0)",
           "低等级企业同时拖欠税款、社保或水电气费用。"),
    ),
)

REGISTRATION = LibrarySet(
    "registration",
    "工商变更",
    "登记状态与变更：法定代表人、住所、注册资本的变更，以及不动产抵押的变化。",
    (
        _r("REG-001", "medium", "法定代表人变更",
           "legal_rep_changes_24m > legal_rep_changes_24m_prev",
           "企业变更了法定代表人，实际控制人可能变化。"),
        _r("REG-002", "medium", "24个月内法定代表人变更≥2次",
           "legal_rep_changes_24m >= 2",
           "法定代表人频繁更换，经营主体不稳定。"),
        _r("REG-003", "low", "住所变更",
           "address_changes_24m > address_changes_24m_prev",
           "企业变更了注册地址。"),
        _r("REG-004", "medium", "24个月内住所变更≥3次",
           "address_changes_24m >= 3",
           "企业频繁迁址，可能在逃避债务或监管。"),
        _r("REG-005", "high", "法定代表人与住所同时变更",
           "legal_rep_changes_24m > legal_rep_changes_24m_prev"
           " and address_changes_24m > address_changes_24m_prev",
           "同一期内既换法定代表人又迁址，是典型的逃废债前兆。"),
        _r("REG-006", "medium", "注册资本减少",
           "registered_capital_prev > 0 and registered_capital < registered_capital_prev"
           " and registered_capital >= 0.5 * registered_capital_prev",
           "企业减少注册资本（万元），股东承担责任的上限降低。"),
        _r("REG-007", "high", "注册资本减少一半以上",
           "registered_capital_prev > 0 and registered_capital < 0.5 * registered_capital_prev",
           "注册资本减少一半以上，可能在转移资产。"),
        _r("REG-008", "low", "24个月内登记变更≥6次",
           "changes_24m >= 6",
           "登记事项变更频繁。"),
        _r("REG-009", "medium", "3个月内登记变更≥3次",
           "changes_24m - changes_24m_3m_ago >= 3",
           "近3个月集中办理多项变更。"),
        _r("REG-010", "high", "企业非存续（注销、吊销）",
           "not is_active",
           "企业登记状态已不是存续，不能再正常经营。"),
        _r("REG-011", "low", "成立不足1年",
           "age_years < 1",
           "初创企业经营记录短，数据不足以充分评价。"),
        _r("REG-012", "low", "新增不动产抵押",
           "mortgages_current > mortgages_current_prev",
           "企业新办理不动产抵押登记，可能在他处新增融资。"),
        _r("REG-013", "medium", "新增抵押担保≥500万元",
           "secured_amount_current - secured_amount_current_prev >= 5000000",
           "本期新增抵押担保的主债权500万元以上，负债显著增加。"),
    ),
)

TRADE = LibrarySet(
    "trade",
    "外贸",
    "进出口额与海关信用：外贸企业的订单与资质变化。",
    (
        _r("TRD-001", "medium", "出口额3个月内下降30%",
           "exports_12m_3m_ago > 0 and exports_12m < 0.7 * exports_12m_3m_ago",
           "近12个月出口额比3个月前同口径少30%以上，外贸订单明显减少。"),
        _r("TRD-002", "medium", "进出口同比下降50%以上",
           "trade_growth_12m <= -0.5",
           "近12个月进出口额不到上年同期的一半。"),
        _r("TRD-003", "low", "进出口同比下降30%–50%",
           "trade_growth_12m <= -0.3 and trade_growth_12m > -0.5",
           "近12个月进出口额比上年同期下降30%至50%。"),
        _r("TRD-004", "medium", "近12个月进出口中断",
           "trade_prev_12m > 0 and exports_12m + imports_12m = 0",
           "上年同期有进出口而近12个月没有。"),
        _r("TRD-005", "high", "海关认定为失信企业",
           "customs_grade_score = 1 and coalesce(customs_grade_score_prev, 2) > 1",
           "海关信用等级降为失信企业，通关受限。"),
        _r("TRD-006", "low", "失去海关高级认证",
           "customs_grade_score_prev = 3 and customs_grade_score = 2",
           "企业不再是海关高级认证企业。"),
        _r("TRD-007", "medium", "出口依赖型企业销售下降",
           "sales_12m > 0 and exports_12m > 0.5 * sales_12m and sales_growth_12m <= -0.3",
           "出口占销售一半以上的企业销售同比下降30%以上（上海：外贸子平台帮助外贸企业渡过难关）。"),
    ),
)

WHITELIST = LibrarySet(
    "whitelist",
    "白名单监测",
    "部门对白名单企业和政府基金已投企业的持续跟踪（上海：政府中台对白名单企业全景追踪、持续风险监控）；不读取银行贷款明细，只用平台月度统计。",
    (
        _r("WHL-001", "high", "白名单企业列入失信被执行人",
           "on_dishonest_list",
           "白名单企业在失信被执行人名单上，应移出白名单。"),
        _r("WHL-002", "high", "白名单企业列入黑名单或金融风险名单",
           "on_black_list or on_financial_risk_list",
           "白名单企业在联合惩戒黑名单或金融风险名单上。"),
        _r("WHL-003", "medium", "白名单企业平台贷款新增逾期",
           "platform_overdue_months_12m > platform_overdue_months_12m_prev",
           "平台月报显示白名单企业新出现逾期月份。"),
        _r("WHL-004", "high", "白名单企业平台贷款违约",
           "platform_defaults_24m > platform_defaults_24m_prev",
           "平台月报中白名单企业新出现违约贷款，风险补偿资金可能被动用。"),
        _r("WHL-005", "high", "白名单企业参保人数3个月内下降超30%",
           "insured_latest_3m_ago > 0 and insured_latest < 0.7 * insured_latest_3m_ago",
           "白名单企业大规模减员。"),
        _r("WHL-006", "medium", "白名单企业员工流失率超50%",
           "insured_avg_12m >= 5 and turnover_rate_12m > 0.5",
           "白名单企业近12个月流失率超50%（深圳：员工流失率上升是最早的违约信号）。"),
        _r("WHL-007", "high", "白名单企业销售同比下降50%以上",
           "sales_growth_12m <= -0.5",
           "白名单企业近12个月销售收入腰斩。"),
        _r("WHL-008", "medium", "白名单企业新增欠税或社保欠费",
           "(tax_arrears_latest > 0 and coalesce(tax_arrears_latest_prev, 0) = 0)"
           " or (ss_arrears_latest > 0 and coalesce(ss_arrears_latest_prev, 0) = 0)",
           "白名单企业开始欠税或欠缴社保。"),
        _r("WHL-009", "medium", "白名单企业新增严重行政处罚",
           "serious_penalties_24m > serious_penalties_24m_prev",
           "白名单企业新受到严重行政处罚。"),
        _r("WHL-010", "high", "白名单企业非存续",
           "not is_active",
           "白名单企业已注销或被吊销。"),
        _r("WHL-011", "medium", "白名单企业评级降入C/D级",
           "grade in ('C', 'D') and grade_prev in ('A', 'B')",
           "白名单企业评级由A、B级降入C、D级。"),
        _r("WHL-012", "high", "基金已投企业新增被诉≥50万元",
           "fund_invested > 0 and defendant_amount_24m - defendant_amount_24m_prev >= 500000",
           "政府基金已投资的企业新增被诉50万元以上（威海：基金投资是评级指标，投贷联动）。"),
        _r("WHL-013", "medium", "基金已投企业经营下滑",
           "fund_invested > 0 and (sales_growth_12m <= -0.3 or headcount_growth_12m <= -0.3)",
           "政府基金已投资的企业销售或参保人数同比下降30%以上。"),
        _r("WHL-014", "medium", "基金已投企业评级下调",
           "fund_investors > 0 and grade_drop >= 1",
           "政府基金已投资的企业评级下调，基金管理人需复核投资。"),
        _r("WHL-015", "medium", "红名单企业出现失信",
           "on_red_list and (on_black_list or on_dishonest_list)",
           "企业同时在红名单与黑名单或失信名单上，守信激励应暂停。"),
    ),
    audience="department",
)

LIBRARY: tuple[LibrarySet, ...] = (
    JUDICIAL,
    OPERATIONS,
    EMPLOYMENT,
    TAX,
    UTILITIES,
    PENALTIES,
    FINANCING,
    RATING,
    REGISTRATION,
    TRADE,
    WHITELIST,
)
# fmt: on


def library_set(code: str) -> LibrarySet:
    """The library set with ``code``.

    Raises:
        NotFound: no set has that code.
    """
    for item in LIBRARY:
        if item.code == code:
            return item
    raise NotFound()


def library_rules() -> tuple[tuple[LibrarySet, LibraryRule], ...]:
    """Every rule of the library with its set, in library order."""
    return tuple((s, r) for s in LIBRARY for r in s.rules)


def library_rule(code: str) -> LibraryRule:
    """The library rule with ``code`` (``JUD-001``).

    Raises:
        NotFound: no rule has that code.
    """
    for _, rule in library_rules():
        if rule.code == code:
            return rule
    raise NotFound()
