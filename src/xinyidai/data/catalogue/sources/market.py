"""Market regulation and administrative approval: registration, changes, annual reports, licences,
penalties, patents and trademarks."""

from __future__ import annotations

from xinyidai.data.catalogue.common import (
    code,
    count,
    day,
    id_number,
    money,
    person_name,
    phone,
    text,
    uscc,
    year,
)
from xinyidai.data.catalogue.model import Field, FieldType, Frequency, Sensitivity, Source

REGISTRY_STATUS = ("存续", "吊销", "注销")
ENTITY_TYPES = (
    "有限责任公司",
    "股份有限公司",
    "个人独资企业",
    "合伙企业",
    "个体工商户",
    "农民专业合作社",
    "其他",
)

REGISTRATION = Source(
    id="registration",
    name_zh="市场主体登记信息",
    name_en="Enterprise registration",
    owner="市场监督管理局",
    frequency=Frequency.DAILY,
    description="The master record of each market entity; one row per enterprise per delivery.",
    fields=(
        uscc(),
        text(
            "name",
            "企业名称",
            "Name",
            "Registered name.",
            required=True,
            sensitivity=Sensitivity.PUBLIC,
            aliases=("名称", "市场主体名称", "企业(机构)名称"),
        ),
        code(
            "entity_type",
            "企业类型",
            "Entity type",
            "Legal form.",
            ENTITY_TYPES,
            aliases=("市场主体类型", "类型"),
        ),
        day(
            "founded_on",
            "成立日期",
            "Founded on",
            "Date of establishment.",
            required=True,
            aliases=("成立时间", "注册日期"),
        ),
        money(
            "registered_capital",
            "注册资本",
            "Registered capital",
            "Subscribed capital.",
            unit="万元",
            aliases=("注册资本(万元)", "注册资金"),
        ),
        Field(
            "region_code",
            "行政区划代码",
            "Region code",
            FieldType.STRING,
            "GB/T 2260 six-digit code of the registering district.",
            sensitivity=Sensitivity.PUBLIC,
            required=True,
            aliases=("区划代码", "所属区县代码"),
        ),
        Field(
            "industry_code",
            "行业代码",
            "Industry code",
            FieldType.STRING,
            "GB/T 4754-2017 code (division or finer).",
            sensitivity=Sensitivity.PUBLIC,
            required=True,
            aliases=("国民经济行业代码", "行业门类代码"),
        ),
        person_name(
            "legal_rep_name",
            "法定代表人",
            "Legal representative",
            "Name of the legal representative.",
            required=True,
            aliases=("法定代表人姓名", "法人代表", "负责人"),
        ),
        id_number(
            "legal_rep_id_number",
            "法定代表人证件号码",
            "Legal representative ID number",
            "Resident identity card number of the legal representative.",
        ),
        phone("legal_rep_phone", "法定代表人联系电话", "Legal representative phone", "Mobile number."),
        code(
            "status",
            "登记状态",
            "Status",
            "In business, revoked or deregistered.",
            REGISTRY_STATUS,
            required=True,
            aliases=("经营状态", "企业状态"),
        ),
        day(
            "status_changed_on", "状态变更日期", "Status changed on", "Date of revocation or deregistration."
        ),
        text(
            "address",
            "住所",
            "Address",
            "Registered address.",
            sensitivity=Sensitivity.PUBLIC,
            aliases=("注册地址", "地址"),
        ),
    ),
    key=("uscc",),
    entity_field="uscc",
    formats=("csv", "xlsx"),
)

REGISTRATION_CHANGES = Source(
    id="registration_changes",
    name_zh="登记变更记录",
    name_en="Registration changes",
    owner="市场监督管理局",
    frequency=Frequency.DAILY,
    description="One row per change of a registered item (name, capital, legal representative, address...).",
    fields=(
        uscc(),
        day("changed_on", "变更日期", "Changed on", "Date the change was registered.", required=True),
        code(
            "item",
            "变更事项",
            "Item",
            "What changed.",
            ("名称", "注册资本", "法定代表人", "住所", "经营范围", "股东", "高级管理人员", "其他"),
            required=True,
        ),
        text("before", "变更前内容", "Before", "Value before the change."),
        text("after", "变更后内容", "After", "Value after the change."),
    ),
    key=("uscc", "changed_on", "item"),
    period_field="changed_on",
)

ANNUAL_REPORTS = Source(
    id="annual_reports",
    name_zh="企业年度报告",
    name_en="Annual reports",
    owner="市场监督管理局",
    frequency=Frequency.YEARLY,
    description="The yearly report each enterprise files publicly (企业年报), figures in 万元.",
    fields=(
        uscc(),
        year(),
        count("employees", "从业人数", "Employees", "Average number of employees."),
        money("total_assets", "资产总额", "Total assets", "Year-end total assets.", unit="万元"),
        money(
            "total_liabilities", "负债总额", "Total liabilities", "Year-end total liabilities.", unit="万元"
        ),
        money("revenue", "营业总收入", "Revenue", "Operating revenue of the year.", unit="万元"),
        money(
            "net_profit", "净利润", "Net profit", "Net profit (may be negative).", unit="万元", minimum=None
        ),
        money("tax_total", "纳税总额", "Tax paid", "Total tax paid in the year.", unit="万元"),
        day("filed_on", "报送日期", "Filed on", "Date the report was filed."),
    ),
    key=("uscc", "year"),
)

LICENCES = Source(
    id="admin_licences",
    name_zh="行政许可信息",
    name_en="Administrative licences",
    owner="行政审批服务局",
    frequency=Frequency.DAILY,
    description="Licences granted to enterprises (双公示 public disclosure).",
    fields=(
        uscc(),
        text(
            "licence_number", "许可文书号", "Licence number", "Number of the licence document.", required=True
        ),
        text("licence_name", "许可证书名称", "Licence name", "What is licensed.", required=True),
        text("authority", "许可机关", "Authority", "Granting authority."),
        day("issued_on", "许可决定日期", "Issued on", "Date of the decision.", required=True),
        day("valid_until", "有效期至", "Valid until", "Expiry date.", future=True),
    ),
    key=("licence_number",),
    period_field="issued_on",
)

PENALTIES = Source(
    id="admin_penalties",
    name_zh="行政处罚信息",
    name_en="Administrative penalties",
    owner="社会信用体系建设办公室",
    frequency=Frequency.DAILY,
    description="Administrative penalties decided against enterprises (双公示), from every enforcement body.",
    fields=(
        uscc(),
        text(
            "decision_number",
            "处罚决定书文号",
            "Decision number",
            "Number of the penalty decision.",
            required=True,
        ),
        text("authority", "处罚机关", "Authority", "Deciding authority.", required=True),
        day("decided_on", "处罚决定日期", "Decided on", "Date of the decision.", required=True),
        code(
            "penalty_type",
            "处罚类别",
            "Penalty type",
            "Kind of penalty.",
            ("警告", "罚款", "没收违法所得", "责令停产停业", "暂扣或吊销许可证", "其他"),
            required=True,
        ),
        money("fine", "罚款金额", "Fine", "Fine imposed.", unit="元", aliases=("罚款金额(元)",)),
        text("reason", "违法事实", "Reason", "What the enterprise did."),
        code("severity", "严重程度", "Severity", "Severity class.", ("一般", "较重", "严重")),
    ),
    key=("decision_number",),
    period_field="decided_on",
)

PATENTS = Source(
    id="patents",
    name_zh="专利信息",
    name_en="Patents",
    owner="知识产权局",
    frequency=Frequency.MONTHLY,
    description="Patents applied for or held by enterprises.",
    fields=(
        uscc(),
        text(
            "patent_number",
            "专利号",
            "Patent number",
            "Application or grant number.",
            required=True,
            sensitivity=Sensitivity.PUBLIC,
        ),
        code(
            "patent_type",
            "专利类型",
            "Patent type",
            "Invention, utility model or design.",
            ("发明", "实用新型", "外观设计"),
            required=True,
        ),
        day("filed_on", "申请日", "Filed on", "Application date.", required=True),
        day("granted_on", "授权公告日", "Granted on", "Grant date, if granted."),
        code("legal_status", "法律状态", "Legal status", "Current status.", ("审中", "有效", "失效", "驳回")),
    ),
    key=("patent_number",),
    period_field="filed_on",
)

TRADEMARKS = Source(
    id="trademarks",
    name_zh="商标信息",
    name_en="Trademarks",
    owner="知识产权局",
    frequency=Frequency.MONTHLY,
    description="Registered trademarks held by enterprises.",
    fields=(
        uscc(),
        text(
            "registration_number",
            "注册号",
            "Registration number",
            "Trademark registration number.",
            required=True,
            sensitivity=Sensitivity.PUBLIC,
        ),
        Field(
            "nice_class",
            "国际分类",
            "Nice class",
            FieldType.INTEGER,
            "Nice classification class 1-45.",
            minimum=1,
            maximum=45,
        ),
        day("registered_on", "注册公告日", "Registered on", "Registration date.", required=True),
        day("expires_on", "专用权期限至", "Expires on", "End of the exclusive right.", future=True),
    ),
    key=("registration_number",),
    period_field="registered_on",
)

SOURCES = (REGISTRATION, REGISTRATION_CHANGES, ANNUAL_REPORTS, LICENCES, PENALTIES, PATENTS, TRADEMARKS)
