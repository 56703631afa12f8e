"""Sparse event sources: court cases, the dishonest judgment-debtor list, administrative penalties and the
regulators' financial risk lists.

Unhealthy firms are sued more (as defendant), lose more, fail to pay judgments, get enforcement cases and
may be put on the dishonest list; penalties rise as health falls. Each event file holds the events whose
date falls in that month, with each record's state (judgment, removal) as known at the end of the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from xinyidai.data.synth import arrays, names
from xinyidai.data.synth.economy import Chunk, sigmoid
from xinyidai.data.synth.plan import NO_EVENT
from xinyidai.data.synth.profiles import SECTION_CODES, column
from xinyidai.data.synth.tables import Delivery, by_month, pick

CASE_TYPES = ("民事", "行政", "刑事", "执行")
CASE_WORDS = ("民初", "行初", "刑初", "执")
ROLES = ("原告", "被告", "第三人", "被执行人", "申请执行人")
OUTCOMES = ("审理中", "胜诉", "败诉", "部分胜诉", "调解", "撤诉", "驳回")
ENFORCEMENT = ("无", "执行中", "已执行完毕", "终结本次执行")
CIVIL_CAUSES = (
    "买卖合同纠纷",
    "借款合同纠纷",
    "金融借款合同纠纷",
    "劳动争议",
    "租赁合同纠纷",
    "建设工程施工合同纠纷",
    "服务合同纠纷",
    "承揽合同纠纷",
)
CAUSE_WEIGHTS = (0.35, 0.08, 0.05, 0.15, 0.12, 0.08, 0.1, 0.07)
DISTRESS_CAUSE_WEIGHTS = (0.22, 0.2, 0.22, 0.22, 0.05, 0.04, 0.03, 0.02)
OTHER_CAUSES = ("行政处罚纠纷", "虚开增值税专用发票罪", "污染环境罪", "重大责任事故罪")
BEHAVIOURS = (
    "有履行能力而拒不履行生效法律文书确定义务",
    "违反财产报告制度",
    "违反限制消费令",
    "以隐匿、转移财产等方法规避执行",
)


@dataclass
class CourtRecords:
    """Court case rows (one per case and party) and dishonest-list entries of one chunk."""

    case: dict[str, pa.Array]
    month: np.ndarray
    dishonest: dict[str, pa.Array]
    dishonest_month: np.ndarray
    dishonest_firm: np.ndarray
    dishonest_listed: np.ndarray
    dishonest_removed: np.ndarray  # -1 when still listed


def _case_numbers(c: Chunk, firm: np.ndarray, days: np.ndarray, kind: np.ndarray) -> pa.Array:
    year = arrays.date_parts(days)[0]
    county = c.firms.county[firm]
    serial = c.serials.assign("court", year * 100 + county * 10 + kind)
    return arrays.join(
        "（",
        arrays.to_text(year),
        "）",
        arrays.choose(names.COURT_CODES, county),
        arrays.choose(CASE_WORDS, kind),
        arrays.to_text(serial),
        "号",
    )


def _index_at(c: Chunk, days: np.ndarray) -> np.ndarray:
    """Horizon month of each day, clipped to the simulated horizon."""
    months: np.ndarray = np.clip(c.plan.month_index(days), 0, c.plan.horizon - 1)
    return months


def court_records(c: Chunk) -> CourtRecords:
    cached = c.memo.get("court")
    if isinstance(cached, CourtRecords):
        return cached
    f, plan = c.firms, c.plan
    rng = c.rng("court")
    end = plan.end_days
    size_base = np.where(f.individual, 0.001, np.array([0.002, 0.006, 0.02, 0.05])[f.size])[:, None]
    k = c.to_default
    defendant_rate = size_base * np.exp(-0.8 * c.h) * (1 + 3 * c.in_default + 1.5 * ((k >= 1) & (k <= 6)))
    d_firm, d_month = c.events("court-defendant", defendant_rate)
    p_firm, p_month = c.events("court-plaintiff", size_base * 0.8 * np.exp(0.2 * c.h))
    firm = np.concatenate([d_firm, p_firm])
    month = np.concatenate([d_month, p_month])
    defendant = np.arange(firm.shape[0]) < d_firm.shape[0]
    m = int(firm.shape[0])
    filed = plan.random_days(month, rng)
    health = c.h[firm, month]
    distressed = c.in_default[firm, month] | (health < -1.0)

    kind = np.where(defendant, pick((0.95, 0.03, 0.02), rng, m), pick((0.97, 0.03), rng, m))
    cause_index = np.where(distressed, pick(DISTRESS_CAUSE_WEIGHTS, rng, m), pick(CAUSE_WEIGHTS, rng, m))
    cause_index = np.where(kind == 1, len(CIVIL_CAUSES), cause_index)
    cause_index = np.where(kind == 2, len(CIVIL_CAUSES) + 1 + rng.integers(0, 3, m), cause_index)
    causes = (*CIVIL_CAUSES, *OTHER_CAUSES)
    median = np.where(f.individual[firm], 20_000.0, np.array([50_000.0, 200_000.0, 1e6, 5e6])[f.size[firm]])
    amount = arrays.to_fen(np.round(median * np.exp(rng.normal(0.0, 1.0, m)), -2))
    has_amount = kind != 2

    judged = filed + (2 + rng.geometric(1 / 3, m) - 1) * 30 + rng.integers(0, 30, m)
    is_judged = judged <= end
    lose = rng.random(m) < sigmoid(0.3 - 0.8 * health + 1.5 * c.in_default[firm, month])
    defendant_outcome = np.where(lose, 2, np.array([4, 3, 5, 1])[pick((0.45, 0.2, 0.15, 0.2), rng, m)])
    plaintiff_outcome = np.array([1, 4, 5, 3, 6])[pick((0.5, 0.25, 0.12, 0.08, 0.05), rng, m)]
    outcome = np.where(is_judged, np.where(defendant, defendant_outcome, plaintiff_outcome), 0)

    owes = defendant & is_judged & (kind == 0) & np.isin(outcome, (2, 3))
    judged_t = _index_at(c, judged)
    pays = rng.random(m) < sigmoid(
        1.0 + 1.5 * c.health[firm, judged_t] - 2.0 * (judged_t >= c.default_t[firm])
    )
    enforcement_filed = judged + rng.integers(30, 90, m)
    enforced = owes & ~pays & (enforcement_filed <= end) & c.active_at(enforcement_filed, firm)
    closed = (c.death_days[firm] >= 0) & (c.death_days[firm] <= end)
    recovered = (c.health[firm, _index_at(c, np.full(m, end))] > -0.3) & (rng.random(m) < 0.5)
    state = np.where(closed, 3, np.where(recovered, 2, 1))
    enforcement = np.where(enforced, state, 0)

    case_number = _case_numbers(c, firm, filed, kind)
    e = np.flatnonzero(enforced)
    e_firm = firm[e]
    e_filed = enforcement_filed[e]
    e_number = _case_numbers(c, e_firm, e_filed, np.full(e.shape[0], 3))

    rows = np.concatenate([np.arange(m), e])
    n_enf = e.shape[0]
    columns = {
        "uscc": f.uscc.take(pa.array(firm[rows])),
        "case_number": pa.concat_arrays([case_number, e_number]),
        "role": arrays.choose(ROLES, np.concatenate([np.where(defendant, 1, 0), np.full(n_enf, 3)])),
        "case_type": arrays.choose(CASE_TYPES, np.concatenate([kind, np.full(n_enf, 3)])),
        "cause": arrays.choose(causes, cause_index[rows]),
        "amount": arrays.money(amount[rows], has_amount[rows]),
        "filed_on": arrays.dates(np.concatenate([filed, e_filed])),
        "outcome": pa.concat_arrays([arrays.choose(OUTCOMES, outcome), pa.nulls(n_enf, pa.string())]),
        "judged_on": arrays.dates(
            np.concatenate([judged, np.zeros(n_enf, dtype=np.int64)]),
            np.concatenate([is_judged, np.zeros(n_enf, dtype=bool)]),
        ),
        "enforcement": arrays.choose(ENFORCEMENT, np.concatenate([enforcement, state[e]])),
    }
    case_month = plan.month_index(np.concatenate([filed, e_filed]))

    # the dishonest list: unpaid enforcement against a distressed firm
    e_health = c.health[e_firm, _index_at(c, e_filed)]
    e_default = _index_at(c, e_filed) >= c.default_t[e_firm]
    listed_pick = (state[e] != 2) & ((e_health < -0.4) | e_default) & (rng.random(n_enf) < 0.6)
    listed_days = e_filed + rng.integers(30, 120, n_enf)
    listed_pick &= listed_days <= end
    d = np.flatnonzero(listed_pick)
    listed = listed_days[d]
    removed = listed + rng.integers(90, 365, d.shape[0])
    removed_ok = (rng.random(d.shape[0]) < 0.25) & (removed <= end)
    dishonest = {
        "uscc": f.uscc.take(pa.array(e_firm[d])),
        "case_number": e_number.take(pa.array(d)),
        "listed_on": arrays.dates(listed),
        "removed_on": arrays.dates(removed, removed_ok),
        "amount": arrays.money(amount[e[d]]),
        "behaviour": arrays.choose(BEHAVIOURS, rng.integers(0, len(BEHAVIOURS), d.shape[0])),
    }
    records = CourtRecords(
        case=columns,
        month=case_month,
        dishonest=dishonest,
        dishonest_month=plan.month_index(listed),
        dishonest_firm=e_firm[d],
        dishonest_listed=listed,
        dishonest_removed=np.where(removed_ok, removed, -1),
    )
    c.memo["court"] = records
    return records


def court_cases(c: Chunk) -> Delivery:
    records = court_records(c)
    yield from by_month(c.plan, "court_cases", records.month, records.case)


def dishonest_debtors(c: Chunk) -> Delivery:
    records = court_records(c)
    yield from by_month(c.plan, "dishonest_debtors", records.dishonest_month, records.dishonest)


def on_dishonest_list(c: Chunk) -> np.ndarray:
    """``(n, T)``: whether the firm is on the dishonest list at the end of each month."""
    records = court_records(c)
    start = np.zeros((c.n, c.T + 1), dtype=np.int64)
    listed_t = np.clip(records.dishonest_month, 0, c.T)
    np.add.at(start, (records.dishonest_firm, listed_t), 1)
    removed_t = np.where(
        records.dishonest_removed >= 0, c.plan.month_index(np.maximum(records.dishonest_removed, 0)), c.T
    )
    np.add.at(start, (records.dishonest_firm, np.clip(removed_t, 0, c.T)), -1)
    listed: np.ndarray = np.cumsum(start, axis=1)[:, : c.T] > 0
    return listed


# --- administrative penalties ---------------------------------------------------------------------------

AUTHORITIES = (
    (
        "威海市市场监督管理局",
        "威市监处罚",
        ("未按规定公示年度报告", "销售不符合食品安全标准的食品", "虚假宣传"),
    ),
    ("威海市生态环境局", "威环罚字", ("超标排放大气污染物", "未批先建", "危险废物贮存不规范")),
    ("威海市应急管理局", "威应急罚", ("未按规定开展安全生产教育培训", "未建立事故隐患排查治理制度")),
    ("国家税务总局威海市税务局", "威税稽罚", ("未按期办理纳税申报", "未按规定开具发票")),
    ("威海市消防救援支队", "威消行罚决字", ("消防设施未保持完好有效", "占用疏散通道")),
    ("威海市交通运输局", "威交执罚", ("超限运输", "未取得道路运输经营许可擅自从事经营")),
    ("威海市住房和城乡建设局", "威住建罚字", ("未取得施工许可证擅自施工", "未按规定办理竣工验收备案")),
    ("威海市人力资源和社会保障局", "威人社监罚字", ("未按时足额支付劳动报酬", "未按规定缴纳社会保险费")),
)
AUTHORITY_WEIGHTS = {
    "C": (0.3, 0.35, 0.25, 0.05, 0.05, 0, 0, 0),
    "E": (0.05, 0.1, 0.3, 0.05, 0.05, 0, 0.4, 0.05),
    "F": (0.6, 0, 0.05, 0.15, 0.15, 0, 0, 0.05),
    "G": (0.1, 0.05, 0.1, 0.05, 0.05, 0.65, 0, 0),
    "H": (0.7, 0.05, 0, 0.05, 0.2, 0, 0, 0),
}
DEFAULT_AUTHORITY_WEIGHTS = (0.5, 0, 0.1, 0.2, 0.1, 0, 0, 0.1)
PENALTY_TYPES = ("警告", "罚款", "没收违法所得", "责令停产停业", "暂扣或吊销许可证", "其他")
TAX_AUTHORITY = 3


@dataclass
class PenaltyRecords:
    columns: dict[str, pa.Array]
    firm: np.ndarray
    month: np.ndarray
    authority: np.ndarray


def penalty_records(c: Chunk) -> PenaltyRecords:
    cached = c.memo.get("penalties")
    if isinstance(cached, PenaltyRecords):
        return cached
    f, plan = c.firms, c.plan
    rng = c.rng("penalties")
    rate = column("penalty_rate")[f.section][:, None] * np.exp(-0.6 * c.h) * (1 + c.in_default)
    firm, month = c.events("penalties", rate)
    m = int(firm.shape[0])
    section = f.section[firm]
    authority = np.zeros(m, dtype=np.int64)
    for s, code in enumerate(SECTION_CODES):
        rows = section == s
        weights = AUTHORITY_WEIGHTS.get(code, DEFAULT_AUTHORITY_WEIGHTS)
        authority[rows] = pick(weights, rng, int(rows.sum()))
    kind = pick((0.25, 0.6, 0.07, 0.04, 0.02, 0.02), rng, m)
    has_fine = np.isin(kind, (1, 2, 3))
    fine = np.maximum(100, np.round(5000 * np.exp(rng.normal(0, 1.2, m)), -2))
    severity = np.where((fine > 100_000) | np.isin(kind, (3, 4)), 2, np.where(fine > 20_000, 1, 0))
    severity = np.where(has_fine | np.isin(kind, (3, 4)), severity, 0)
    decided = plan.random_days(month, rng)
    year = arrays.date_parts(decided)[0]
    serial = c.serials.assign("penalty", year * 10 + authority)
    reasons: list[str] = []
    reason_index = np.zeros(m, dtype=np.int64)
    for a, (_, _, texts) in enumerate(AUTHORITIES):
        rows = authority == a
        reason_index[rows] = len(reasons) + rng.integers(0, len(texts), int(rows.sum()))
        reasons.extend(texts)
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "decision_number": arrays.join(
            arrays.choose(tuple(a[1] for a in AUTHORITIES), authority),
            "〔",
            arrays.to_text(year),
            "〕",
            arrays.to_text(serial),
            "号",
        ),
        "authority": arrays.choose(tuple(a[0] for a in AUTHORITIES), authority),
        "decided_on": arrays.dates(decided),
        "penalty_type": arrays.choose(PENALTY_TYPES, kind),
        "fine": arrays.money(arrays.to_fen(fine), has_fine),
        "reason": arrays.choose(reasons, reason_index),
        "severity": arrays.choose(("一般", "较重", "严重"), severity),
    }
    records = PenaltyRecords(columns=columns, firm=firm, month=month, authority=authority)
    c.memo["penalties"] = records
    return records


def admin_penalties(c: Chunk) -> Delivery:
    records = penalty_records(c)
    yield from by_month(c.plan, "admin_penalties", records.month, records.columns)


# --- financial risk lists ---------------------------------------------------------------------------------

RISK_LISTS = ("逃废债", "逾期", "涉案账户", "其他")


def financial_risk_lists(c: Chunk) -> Delivery:
    """Overdue borrowers (three months after default), debt evaders (revoked after default) and suspicious
    accounts, as the local financial regulator collects them from banks."""
    f, plan = c.firms, c.plan
    rng = c.rng("financial-risk")
    end = plan.end_days
    defaulted = np.flatnonzero((c.default_t < c.T) & (rng.random(c.n) < 0.8))
    overdue_t = c.default_t[defaulted] + 3
    keep = overdue_t < plan.horizon
    defaulted, overdue_t = defaulted[keep], overdue_t[keep]
    overdue_days = plan.random_days(overdue_t, rng)
    keep = overdue_days <= end
    overdue_firm, overdue_days = defaulted[keep], overdue_days[keep]

    evaders = np.flatnonzero(
        (c.default_t < c.T) & (c.death_status == 1) & (c.death_days >= 0) & (rng.random(c.n) < 0.3)
    )
    evade_days = c.death_days[evaders] + rng.integers(30, 90, evaders.shape[0])
    keep = (evade_days <= end) & (c.death_t[evaders] >= 0)
    evaders, evade_days = evaders[keep], evade_days[keep]

    rate = np.where(f.individual, 0.0001, 0.00005)[:, None] * np.ones((1, c.T))
    acc_firm, acc_month = c.events("suspicious-accounts", rate)
    acc_days = plan.random_days(acc_month, rng)

    firm = np.concatenate([overdue_firm, evaders, acc_firm])
    listed = np.concatenate([overdue_days, evade_days, acc_days])
    kind = np.concatenate(
        [np.full(overdue_firm.shape[0], 1), np.full(evaders.shape[0], 0), np.full(acc_firm.shape[0], 2)]
    )
    m = int(firm.shape[0])
    removed = listed + rng.integers(90, 270, m)
    removed_ok = (kind == 1) & (c.death_t[firm] == NO_EVENT) & (rng.random(m) < 0.2) & (removed <= end)
    median = np.where(f.individual[firm], 100_000.0, np.array([300_000.0, 2e6, 1e7, 5e7])[f.size[firm]])
    amount = arrays.to_fen(np.round(median * np.exp(rng.normal(0, 0.8, m)), -2))
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "list_type": arrays.choose(RISK_LISTS, kind),
        "listed_on": arrays.dates(listed),
        "removed_on": arrays.dates(removed, removed_ok),
        "amount": arrays.money(amount, kind != 2),
        "reporter": arrays.choose(names.BANKS, rng.integers(0, len(names.BANKS), size=m)),
    }
    yield from by_month(plan, "financial_risk_lists", plan.month_index(listed), columns)
