"""Things firms hold: licences, patents, trademarks and real-estate mortgages.

The first delivered month's file is the initial load: it carries the holdings that existed before the
window (history), later files the new ones.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.data.synth import arrays, names, profiles
from xinyidai.data.synth.economy import Chunk
from xinyidai.data.synth.tables import Delivery, by_month

YEAR = 365.25

# (licence, authority, number style, {section: share of firms holding it})
LICENCES: tuple[tuple[str, str, str, dict[str, float]], ...] = (
    ("食品经营许可证", "威海市行政审批服务局", "JY", {"H": 0.85, "F": 0.3}),
    ("食品生产许可证", "威海市市场监督管理局", "SC", {"C": 0.08}),
    ("排污许可证", "威海市生态环境局", "pollution", {"C": 0.3}),
    ("建筑业企业资质证书", "威海市行政审批服务局", "D", {"E": 0.7}),
    ("安全生产许可证", "山东省住房和城乡建设厅", "safety", {"E": 0.5}),
    ("道路运输经营许可证", "威海市行政审批服务局", "transport", {"G": 0.6}),
    ("公共场所卫生许可证", "威海市行政审批服务局", "health", {"O": 0.3, "H": 0.1}),
    ("药品经营许可证", "威海市市场监督管理局", "drug", {"F": 0.02}),
)


def _licence_numbers(
    c: Chunk, firm: np.ndarray, kind: np.ndarray, issued: np.ndarray, renewal: np.ndarray
) -> pa.Array:
    n = firm.shape[0]
    year = arrays.date_parts(issued)[0]
    county = c.firms.county[firm]
    county_code = arrays.choose(names.COUNTIES, county)
    serial = arrays.to_text(c.serials.assign("licence", kind) + 100_000)
    year_text = arrays.to_text(year)
    styles = {
        "JY": arrays.join("JY1", county_code, serial),
        "SC": arrays.join("SC1", county_code, serial),
        "pollution": arrays.join(
            c.firms.uscc.take(pa.array(firm)), arrays.fixed_width([arrays.digits(renewal + 1, 3)]), "V"
        ),
        "D": arrays.join("D", county_code, serial),
        "safety": arrays.join("（鲁）JZ安许证字〔", year_text, "〕", serial),
        "transport": arrays.join("鲁交运管许可威字", county_code, serial, "号"),
        "health": arrays.join("鲁卫公证字〔", year_text, "〕第", county_code, serial, "号"),
        "drug": arrays.join("鲁CB", serial),
    }
    out = pa.nulls(n, pa.string())
    for k, (_, _, style, _) in enumerate(LICENCES):
        out = pc.if_else(pa.array(kind == k), styles[style], out)
    return out


def admin_licences(c: Chunk) -> Delivery:
    """Licences granted for five years and renewed; one row per grant (双公示)."""
    f, plan = c.firms, c.plan
    rng = c.rng("licences")
    horizon_start = int(plan.month_days[0])
    end = plan.end_days
    firm_parts, kind_parts = [], []
    for k, (_, _, _, shares) in enumerate(LICENCES):
        share = np.zeros(f.n)
        for code, p in shares.items():
            share[f.section == profiles.SECTION_INDEX[code]] = p
        holders = np.flatnonzero(rng.random(f.n) < share)
        firm_parts.append(holders)
        kind_parts.append(np.full(holders.shape[0], k))
    pair_firm = np.concatenate(firm_parts)
    pair_kind = np.concatenate(kind_parts)
    first_issue = f.founded_days[pair_firm] + rng.integers(20, 200, pair_firm.shape[0])
    rows_firm, rows_kind, rows_issued, rows_renewal = [], [], [], []
    for term in range(8):
        issued = arrays.add_years(first_issue, 5 * term)
        following = arrays.add_years(first_issue, 5 * (term + 1))
        keep = (issued <= end) & (following > horizon_start) & c.active_at(issued, pair_firm)
        rows_firm.append(pair_firm[keep])
        rows_kind.append(pair_kind[keep])
        rows_issued.append(issued[keep])
        rows_renewal.append(np.full(int(keep.sum()), term))
    firm = np.concatenate(rows_firm)
    kind = np.concatenate(rows_kind)
    issued = np.concatenate(rows_issued)
    renewal = np.concatenate(rows_renewal)
    order = np.lexsort((kind, issued))
    firm, kind, issued, renewal = firm[order], kind[order], issued[order], renewal[order]
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "licence_number": _licence_numbers(c, firm, kind, issued, renewal),
        "licence_name": arrays.choose(tuple(x[0] for x in LICENCES), kind),
        "authority": arrays.choose(tuple(x[1] for x in LICENCES), kind),
        "issued_on": arrays.dates(issued),
        "valid_until": arrays.dates(arrays.add_years(issued, 5) - 1),
    }
    yield from by_month(plan, "admin_licences", plan.month_index(issued), columns)


def _history_and_flow(
    c: Chunk, name: str, holders: np.ndarray, stock_per_year: np.ndarray, flow_rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Firm and date of each item: a stock dated over up to ten years before the horizon, and a monthly
    flow during it."""
    f, plan = c.firms, c.plan
    rng = c.rng(name)
    horizon_start = int(plan.month_days[0])
    since = np.maximum(f.founded_days, horizon_start - int(10 * YEAR))
    years = np.maximum(0, horizon_start - since) / YEAR
    stock = np.where(holders & ~f.pre_closed, rng.poisson(stock_per_year * years), 0)
    s_firm = np.repeat(np.arange(f.n), stock)
    s_days = since[s_firm] + (rng.random(s_firm.shape[0]) * (horizon_start - since[s_firm])).astype(np.int64)
    flow_firm, flow_month = c.events(f"{name}-flow", np.where(holders[:, None], flow_rate, 0.0))
    flow_days = plan.random_days(flow_month, rng)
    return np.concatenate([s_firm, flow_firm]), np.concatenate([s_days, flow_days])


PATENT_TYPES = ("发明", "实用新型", "外观设计")
PATENT_STATUS = ("审中", "有效", "失效", "驳回")


def patents(c: Chunk) -> Delivery:
    """Patent applications: more in manufacturing (C), IT (I) and research (M); healthy firms file more."""
    f, plan = c.firms, c.plan
    rng = c.rng("patents")
    per_year = np.exp(rng.normal(np.log(0.5), 0.6, f.n)) * np.array([1.0, 2.0, 4.0, 8.0])[f.size]
    firm, filed = _history_and_flow(
        c, "patent-items", f.patent_holder, per_year, per_year[:, None] / 12 * np.exp(0.3 * c.h)
    )
    m = int(firm.shape[0])
    research = np.isin(f.section[firm], [profiles.SECTION_INDEX[s] for s in ("I", "M")])
    manufacturing = f.section[firm] == profiles.SECTION_INDEX["C"]
    u = rng.random(m)
    kind = np.where(
        research,
        np.where(u < 0.5, 0, np.where(u < 0.9, 1, 2)),
        np.where(
            manufacturing,
            np.where(u < 0.25, 0, np.where(u < 0.85, 1, 2)),
            np.where(u < 0.1, 0, np.where(u < 0.5, 1, 2)),
        ),
    )
    lag_months = np.select(
        [kind == 0, kind == 1], [rng.integers(18, 37, m), rng.integers(6, 13, m)], rng.integers(4, 9, m)
    )
    decided = filed + lag_months * 30
    granted_p = np.array([0.55, 0.9, 0.95])[kind]
    granted = rng.random(m) < granted_p
    decided_ok = decided <= plan.end_days
    end_t = np.clip(plan.month_index(np.full(m, plan.end_days)), 0, plan.horizon - 1)
    lapsed = (c.death_days[firm] >= 0) | (c.health[firm, end_t] < -1.5) | (rng.random(m) < 0.05)
    status = np.where(~decided_ok, 0, np.where(granted, np.where(lapsed, 2, 1), 3))
    year = arrays.date_parts(filed)[0]
    serial = c.serials.assign("patent", year * 10 + kind, start=1_000_001)
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "patent_number": arrays.patent_numbers(year, kind + 1, serial),
        "patent_type": arrays.choose(PATENT_TYPES, kind),
        "filed_on": arrays.dates(filed),
        "granted_on": arrays.dates(decided, decided_ok & granted),
        "legal_status": arrays.choose(PATENT_STATUS, status),
    }
    yield from by_month(plan, "patents", plan.month_index(filed), columns)


def trademarks(c: Chunk) -> Delivery:
    f, plan = c.firms, c.plan
    rng = c.rng("trademarks")
    per_year = np.full(f.n, 0.25)
    firm, registered = _history_and_flow(
        c, "trademark-items", f.trademark_holder, per_year, 0.02 * np.exp(0.2 * c.h)
    )
    m = int(firm.shape[0])
    classes: list[int] = []
    class_index = np.zeros(m, dtype=np.int64)
    for s, profile in enumerate(profiles.SECTIONS):
        rows = f.section[firm] == s
        class_index[rows] = len(classes) + rng.integers(0, len(profile.nice_classes), int(rows.sum()))
        classes.extend(profile.nice_classes)
    number = c.serials.assign("trademark", np.zeros(m, dtype=np.int64), start=60_000_001)
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "registration_number": arrays.to_text(number),
        "nice_class": pa.array(np.array(classes, dtype=np.int64)[class_index]),
        "registered_on": arrays.dates(registered),
        "expires_on": arrays.dates(arrays.add_years(registered, 10) - 1),
    }
    yield from by_month(plan, "trademarks", plan.month_index(registered), columns)


def real_estate_mortgages(c: Chunk) -> Delivery:
    """Mortgages on firms' real estate: bigger and manufacturing firms hold property; firms under pressure
    borrow against it more; mortgages are cancelled when repaid, not after a default."""
    f, plan = c.firms, c.plan
    rng = c.rng("mortgages")
    share = np.array([0.03, 0.12, 0.3, 0.5])[f.size] * np.where(
        f.section == profiles.SECTION_INDEX["C"], 1.5, 1.0
    )
    owners = ~f.individual & (rng.random(f.n) < share)
    firm, registered = _history_and_flow(
        c, "mortgage-items", owners, np.full(f.n, 0.15), 0.008 * np.exp(-0.3 * c.h)
    )
    keep = registered >= int(plan.month_days[0]) - int(3 * YEAR)
    firm, registered = firm[keep], registered[keep]
    m = int(firm.shape[0])
    median = np.array([500_000.0, 3e6, 2e7, 1e8])[f.size[firm]]
    amount = arrays.to_fen(np.round(median * np.exp(rng.normal(0, 0.6, m)), -4))
    cancelled = registered + (rng.integers(1, 4, m) * YEAR).astype(np.int64)
    defaulted_before = c.default_t[firm] < plan.month_index(cancelled)
    cancelled_ok = (cancelled <= plan.end_days) & ~defaulted_before
    year = arrays.date_parts(registered)[0]
    county = f.county[firm]
    serial = c.serials.assign("mortgage", year * 10 + county)
    office = arrays.choose(("威海市", "威海市文登区", "荣成市", "乳山市"), county)
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "certificate_number": arrays.join(
            "鲁（",
            arrays.to_text(year),
            "）",
            office,
            "不动产证明第",
            arrays.fixed_width([arrays.digits(serial, 7)]),
            "号",
        ),
        "registered_on": arrays.dates(registered),
        "secured_amount": arrays.money(amount),
        "mortgagee": arrays.choose(names.BANKS, rng.integers(0, len(names.BANKS), size=m)),
        "status": arrays.choose(("现势", "注销"), cancelled_ok.astype(np.int64)),
        "cancelled_on": arrays.dates(cancelled, cancelled_ok),
    }
    yield from by_month(plan, "real_estate_mortgages", plan.month_index(registered), columns)
