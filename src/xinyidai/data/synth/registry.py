"""Registry-side sources: registration snapshot and changes, annual reports, tax and public credit grades,
customs credit grades and the red and black lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.data.catalogue.sources.market import REGISTRY_STATUS
from xinyidai.data.synth import arrays, names, profiles
from xinyidai.data.synth.economy import Chunk, sigmoid
from xinyidai.data.synth.events import TAX_AUTHORITY, court_records, on_dishonest_list, penalty_records
from xinyidai.data.synth.firms import person_names
from xinyidai.data.synth.plan import to_days
from xinyidai.data.synth.tables import Delivery, by_month, pick, table

CHANGE_ITEMS = ("名称", "注册资本", "法定代表人", "住所", "经营范围", "股东", "高级管理人员", "其他")
COMPANY_WEIGHTS = (0.03, 0.08, 0.10, 0.20, 0.30, 0.12, 0.15, 0.02)
INDIVIDUAL_WEIGHTS = (0.10, 0.0, 0.0, 0.40, 0.45, 0.0, 0.0, 0.05)
DISTRESS_WEIGHTS = (0.02, 0.05, 0.45, 0.10, 0.08, 0.25, 0.05, 0.0)


@dataclass
class Changes:
    """Registration changes of one chunk and each firm's registered values after them."""

    columns: dict[str, pa.Array]
    month: np.ndarray
    name: pa.Array
    legal_rep: pa.Array
    legal_rep_id: pa.Array
    legal_rep_phone: pa.Array
    address: pa.Array
    capital_cents: np.ndarray


def _chain(initial: pa.Array, firm: np.ndarray, new: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Before-values of a sequence of changes (sorted by firm and date) and each firm's final value."""
    k = firm.shape[0]
    if k == 0:
        return pa.nulls(0, pa.string()), initial
    first = np.r_[True, firm[1:] != firm[:-1]]
    last = np.r_[firm[1:] != firm[:-1], True]
    before = pc.if_else(
        pa.array(first), initial.take(pa.array(firm)), new.take(pa.array(np.maximum(np.arange(k) - 1, 0)))
    )
    final_index = np.full(len(initial), -1, dtype=np.int64)
    final_index[firm[last]] = np.flatnonzero(last)
    final = pc.if_else(pa.array(final_index >= 0), new.take(pa.array(np.maximum(final_index, 0))), initial)
    return before, final


def _capital_text(cents: np.ndarray) -> pa.Array:
    return arrays.join(arrays.to_text(cents // 100), "万元人民币")


def changes(c: Chunk) -> Changes:
    cached = c.memo.get("changes")
    if isinstance(cached, Changes):
        return cached
    f = c.firms
    rng = c.rng("registration-changes")
    to_death = c.death_t[:, None] - np.arange(c.T)[None, :]
    shell = (to_death >= 1) & (to_death <= 6) & (c.default_t[:, None] < c.death_t[:, None])
    rate = np.where(f.individual, 0.002, 0.004)[:, None] + 0.03 * shell
    firm, month = c.events("registration-changes", rate)
    days = c.plan.random_days(month, rng)
    order = np.lexsort((days, firm))
    firm, month, days = firm[order], month[order], days[order]
    k = firm.shape[0]
    individual = f.individual[firm]
    distress = shell[firm, month]
    item = np.where(
        individual,
        pick(INDIVIDUAL_WEIGHTS, rng, k),
        np.where(distress, pick(DISTRESS_WEIGHTS, rng, k), pick(COMPANY_WEIGHTS, rng, k)),
    )
    before_parts: list[pa.Array] = []
    after_parts: list[pa.Array] = []
    positions: list[np.ndarray] = []

    def record(rows: np.ndarray, before: pa.Array, after: pa.Array) -> None:
        positions.append(rows)
        before_parts.append(before)
        after_parts.append(after)

    # name: a new brand in place of the old one
    rows = np.flatnonzero(item == 0)
    brand = arrays.join(
        arrays.choose(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), rows.shape[0])),
        arrays.choose(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), rows.shape[0])),
    )
    old = f.name.take(pa.array(firm[rows]))
    renamed_company = pc.utf8_slice_codeunits(old, 4)
    renamed_shop = pc.utf8_slice_codeunits(old, 5)
    county = arrays.choose(names.COUNTY_NAMES, f.county[firm[rows]])
    new_name = pc.if_else(
        pa.array(individual[rows]),
        arrays.join(county, brand, renamed_shop),
        arrays.join("威海", brand, renamed_company),
    )
    before, final_name = _chain(f.name, firm[rows], new_name)
    record(rows, before, new_name)

    # registered capital
    rows = np.flatnonzero(item == 1)
    factor = np.array([0.5, 2.0, 3.0, 5.0])[rng.integers(0, 4, rows.shape[0])]
    new_capital = (f.capital_wan_cents[firm[rows]] * factor).astype(np.int64) // 100 * 100
    capital_index = np.full(f.n, -1, dtype=np.int64)
    if rows.shape[0]:
        capital_before, _ = _chain(_capital_text(f.capital_wan_cents), firm[rows], _capital_text(new_capital))
        last = np.r_[firm[rows][1:] != firm[rows][:-1], True]
        capital_index[firm[rows][last]] = np.flatnonzero(last)
        record(rows, capital_before, _capital_text(new_capital))
    final_capital = np.where(
        capital_index >= 0,
        new_capital[np.maximum(capital_index, 0)] if rows.shape[0] else 0,
        f.capital_wan_cents,
    )

    # legal representative, with a new ID number and phone
    rows = np.flatnonzero(item == 2)
    m = rows.shape[0]
    new_rep = person_names(rng, m)
    region = np.frombuffer("".join(names.BIRTH_REGIONS).encode(), dtype=np.uint8).reshape(-1, 6)
    birth = c.plan.end_days - (rng.uniform(25, 66, m) * 365.25).astype(np.int64)
    new_id = arrays.fixed_width(
        [arrays.id_numbers(region[rng.integers(0, len(region), m)], birth, rng.integers(0, 1000, m))]
    )
    prefixes = np.frombuffer("".join(names.PHONE_PREFIXES).encode(), dtype=np.uint8).reshape(-1, 3)
    new_phone = arrays.fixed_width(
        [prefixes[rng.integers(0, len(prefixes), m)], arrays.digits(rng.integers(0, 10**8, m), 8)]
    )
    before, final_rep = _chain(f.legal_rep, firm[rows], new_rep)
    _, final_id = _chain(f.legal_rep_id, firm[rows], new_id)
    _, final_phone = _chain(f.legal_rep_phone, firm[rows], new_phone)
    record(rows, before, new_rep)

    # address
    rows = np.flatnonzero(item == 3)
    m = rows.shape[0]
    new_address = arrays.join(
        "山东省威海市",
        arrays.choose(names.COUNTY_NAMES, f.county[firm[rows]]),
        arrays.choose(names.ROADS, rng.integers(0, len(names.ROADS), m)),
        arrays.to_text(rng.integers(1, 400, m)),
        "号",
    )
    before, final_address = _chain(f.address, firm[rows], new_address)
    record(rows, before, new_address)

    # scope, shareholders, managers, other: free text
    rows = np.flatnonzero(item == 4)
    m = rows.shape[0]
    record(
        rows,
        arrays.choose(names.SCOPES, rng.integers(0, len(names.SCOPES), m)),
        arrays.choose(names.SCOPES, rng.integers(0, len(names.SCOPES), m)),
    )
    rows = np.flatnonzero(item == 5)
    m = rows.shape[0]
    keeper = person_names(rng, m)
    record(
        rows,
        arrays.join(keeper, "、", person_names(rng, m)),
        arrays.join(keeper, "、", person_names(rng, m)),
    )
    rows = np.flatnonzero(item == 6)
    m = rows.shape[0]
    record(rows, arrays.join("经理：", person_names(rng, m)), arrays.join("经理：", person_names(rng, m)))
    rows = np.flatnonzero(item == 7)
    m = rows.shape[0]
    record(
        rows, pa.nulls(m, pa.string()), arrays.choose(("登记机关变更", "联络员变更"), rng.integers(0, 2, m))
    )

    where = np.concatenate(positions)
    inverse = np.empty(k, dtype=np.int64)
    inverse[where] = np.arange(k)
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "changed_on": arrays.dates(days),
        "item": arrays.choose(CHANGE_ITEMS, item),
        "before": pa.concat_arrays([p.cast(pa.string()) for p in before_parts]).take(pa.array(inverse)),
        "after": pa.concat_arrays([p.cast(pa.string()) for p in after_parts]).take(pa.array(inverse)),
    }
    result = Changes(
        columns=columns,
        month=month,
        name=final_name,
        legal_rep=final_rep,
        legal_rep_id=final_id,
        legal_rep_phone=final_phone,
        address=final_address,
        capital_cents=np.asarray(final_capital, dtype=np.int64),
    )
    c.memo["changes"] = result
    return result


def registration_changes(c: Chunk) -> Delivery:
    result = changes(c)
    yield from by_month(c.plan, "registration_changes", result.month, result.columns)


def registration(c: Chunk) -> Delivery:
    """The registry snapshot as of the window's end: every firm, with status and status date."""
    f, plan = c.firms, c.plan
    final = changes(c)
    closed = (c.death_days >= 0) & (c.death_days <= plan.end_days)
    status = np.where(closed, c.death_status, 0)
    columns = {
        "uscc": f.uscc,
        "name": final.name,
        "entity_type": arrays.choose(profiles.ENTITY_TYPES, f.entity_type),
        "founded_on": arrays.dates(f.founded_days),
        "registered_capital": arrays.money(final.capital_cents),
        "region_code": arrays.choose(names.COUNTIES, f.county),
        "industry_code": f.division,
        "legal_rep_name": final.legal_rep,
        "legal_rep_id_number": final.legal_rep_id,
        "legal_rep_phone": final.legal_rep_phone,
        "status": arrays.choose(REGISTRY_STATUS, status),
        "status_changed_on": arrays.dates(c.death_days, closed),
        "address": final.address,
    }
    yield plan.stem(plan.observed - 1), table("registration", columns)


# --- yearly figures -------------------------------------------------------------------------------------


def report_years(c: Chunk, deadline_month: int, deadline_day: int) -> list[int]:
    """Years whose filing deadline (in the following year) has passed by the window's end and at least six
    of whose months were simulated."""
    plan = c.plan
    years = plan.month_year[: c.T]
    out = []
    for year in range(int(years.min()), int(years.max()) + 1):
        deadline = to_days(date(year + 1, deadline_month, deadline_day))
        if deadline <= plan.end_days and int((years == year).sum()) >= 6:
            out.append(year)
    return out


def annual_reports(c: Chunk) -> Delivery:
    """企业年报: filed January-June of the next year, figures in 万元; healthier firms file more reliably.
    Individual businesses report only employees, revenue and tax."""
    f, plan = c.firms, c.plan
    rng = c.rng("annual-reports")
    insured = c.staff[0]
    paid, _ = c.tax
    for year in report_years(c, 6, 30):
        months = np.flatnonzero(plan.month_year[: c.T] == year)
        deadline = to_days(date(year + 1, 6, 30))
        opens = to_days(date(year + 1, 1, 1))
        filed = np.maximum(opens, deadline - rng.exponential(40.0, f.n).astype(np.int64))
        filed_t = np.clip(plan.month_index(filed), 0, c.T - 1)
        eligible = (f.founded_days <= to_days(date(year, 12, 31))) & c.active_at(filed, np.arange(f.n))
        files = eligible & (rng.random(f.n) < sigmoid(2.5 + 1.2 * c.h[np.arange(f.n), filed_t]))
        rows = np.flatnonzero(files)
        scale = 12.0 / months.shape[0]
        cells = np.ix_(rows, months)
        revenue = c.sales[cells].sum(axis=1) * scale * rng.uniform(0.9, 1.02, rows.shape[0])
        h_mean = c.h[cells].mean(axis=1)
        employees = np.where(
            f.has_social_security[rows], np.rint(insured[cells].mean(axis=1)), f.base_staff[rows]
        ).astype(np.int64)
        capital_yuan = f.capital_wan_cents[rows] * 100.0
        assets = revenue * rng.uniform(0.5, 1.6, rows.shape[0]) + 0.5 * capital_yuan
        leverage = sigmoid(-0.2 - 0.9 * h_mean + rng.normal(0, 0.3, rows.shape[0]))
        profit = revenue * (0.04 + 0.05 * h_mean + rng.normal(0, 0.03, rows.shape[0]))
        tax_yuan = paid[cells].sum(axis=1) * scale / 100.0
        company = ~f.individual[rows]

        def wan(yuan: np.ndarray) -> np.ndarray:
            return np.rint(yuan / 100.0).astype(np.int64)  # hundredths of 万元

        columns = {
            "uscc": f.uscc.take(pa.array(rows)),
            "year": pa.array(np.full(rows.shape[0], year, dtype=np.int64)),
            "employees": pa.array(employees),
            "total_assets": arrays.money(wan(assets), company),
            "total_liabilities": arrays.money(wan(assets * leverage), company),
            "revenue": arrays.money(wan(revenue)),
            "net_profit": arrays.money(wan(profit), company),
            "tax_total": arrays.money(wan(tax_yuan)),
            "filed_on": arrays.dates(filed[rows]),
        }
        yield str(year), table("annual_reports", columns)


TAX_GRADES = ("A", "B", "M", "C", "D")


@dataclass
class TaxGrades:
    year: int
    published: int  # epoch day
    firm: np.ndarray
    grade: np.ndarray  # index into TAX_GRADES
    score: np.ndarray
    scored: np.ndarray


def tax_grades(c: Chunk) -> list[TaxGrades]:
    """The yearly tax credit evaluation (published in April): A ≥ 90, B 70-90, C 40-70, D < 40, M for firms
    new that year or without revenue. Arrears, tax penalties and a default pull the score down."""
    cached = c.memo.get("tax_grades")
    if isinstance(cached, list):
        return cached
    f, plan = c.firms, c.plan
    rng = c.rng("tax-grades")
    _, arrears = c.tax
    penalties = penalty_records(c)
    tax_penalty = c.per_month(
        penalties.firm[penalties.authority == TAX_AUTHORITY],
        penalties.month[penalties.authority == TAX_AUTHORITY],
    )
    result = []
    for year in report_years(c, 4, 30):
        months = np.flatnonzero(plan.month_year[: c.T] == year)
        published = to_days(date(year + 1, 4, 20))
        rows = np.flatnonzero(
            ~f.individual
            & (f.founded_days <= to_days(date(year, 12, 31)))
            & c.active_at(np.full(f.n, published), np.arange(f.n))
        )
        new = f.founded_days[rows] >= to_days(date(year, 1, 1))
        cells = np.ix_(rows, months)
        no_revenue = c.sales[cells].sum(axis=1) <= 0
        had_arrears = (arrears[cells] > 0).any(axis=1)
        penalised = tax_penalty[cells].sum(axis=1) > 0
        h_mean = c.h[cells].mean(axis=1)
        defaulted = c.default_t[rows] <= months[-1]
        noise = rng.normal(0, 4, rows.shape[0])
        score = 84 + 6 * h_mean - 14 * had_arrears - 12 * penalised - 25 * defaulted + noise
        score = np.round(np.clip(score, 0, 100), 1)
        grade = np.select([score >= 90, score >= 70, score >= 40], [0, 1, 3], 4)
        unrated = new | no_revenue
        grade = np.where(unrated, 2, grade)
        result.append(TaxGrades(year, published, rows, grade, score, ~unrated))
    c.memo["tax_grades"] = result
    return result


def tax_credit_grade(c: Chunk) -> Delivery:
    for grades in tax_grades(c):
        columns = {
            "uscc": c.firms.uscc.take(pa.array(grades.firm)),
            "year": pa.array(np.full(grades.firm.shape[0], grades.year, dtype=np.int64)),
            "grade": arrays.choose(TAX_GRADES, grades.grade),
            "score": pa.array(grades.score, mask=~grades.scored),
        }
        yield str(grades.year), table("tax_credit_grade", columns)


def public_credit_grade(c: Chunk) -> Delivery:
    """Quarterly public credit evaluation of enterprises (individual businesses are not evaluated yet):
    health, default, the dishonest list, penalties of the last 12 months and tax arrears."""
    f, plan = c.firms, c.plan
    rng = c.rng("public-credit")
    penalties = penalty_records(c)
    per_month = c.per_month(penalties.firm, penalties.month)
    recent = np.cumsum(per_month, axis=1)
    recent[:, 12:] -= recent[:, :-12].copy()
    dishonest = on_dishonest_list(c)
    _, arrears = c.tax
    for te in range(plan.burn_in, plan.observed):
        if plan.month_of_year[te] not in (2, 5, 8, 11):
            continue
        evaluated = int(plan.month_days[te + 1]) + 14
        if evaluated > plan.end_days:
            continue
        rows = np.flatnonzero(~f.individual & c.alive[:, te])
        listed = dishonest[rows, te]
        score = (
            700
            + 110 * c.h[rows, te]
            - 80 * c.in_default[rows, te]
            - 120 * listed
            - 30 * np.minimum(recent[rows, te], 3)
            - 60 * (arrears[rows, te] > 0)
            + rng.normal(0, 25, rows.shape[0])
        )
        score = np.round(np.clip(score, 0, 1000), 1)
        grade = np.select([listed | (score < 400), score < 600, score < 780], [3, 2, 1], 0)
        year = int(plan.month_year[te])
        columns = {
            "uscc": f.uscc.take(pa.array(rows)),
            "year": pa.array(np.full(rows.shape[0], year, dtype=np.int64)),
            "grade": arrays.choose(("A", "B", "C", "D"), grade),
            "score": pa.array(score),
            "evaluated_on": arrays.dates(np.full(rows.shape[0], evaluated)),
        }
        quarter = int(plan.month_of_year[te]) // 3 + 1
        yield f"{year}Q{quarter}", table("public_credit_grade", columns)


CUSTOMS_GRADES = ("高级认证企业", "其他注册登记和备案企业", "失信企业")


def customs_credit(c: Chunk) -> Delivery:
    """Exporters' customs credit grades as of the window's end, with a downgrade row after a default."""
    f, plan = c.firms, c.plan
    rng = c.rng("customs-credit")
    exporters = np.flatnonzero(f.exporter & ~f.pre_closed)
    assessed = f.founded_days[exporters] + rng.integers(60, 400, exporters.shape[0])
    keep = assessed <= plan.end_days
    exporters, assessed = exporters[keep], assessed[keep]
    certified = (
        (f.size[exporters] >= 2) & (f.quality[exporters] > 0.5) & (rng.random(exporters.shape[0]) < 0.3)
    )
    first_grade = np.where(certified, 0, 1)
    down = exporters[(c.default_t[exporters] < c.T) & (rng.random(exporters.shape[0]) < 0.6)]
    down_t = np.minimum(c.default_t[down] + 2, plan.horizon - 1)
    down_days = plan.random_days(down_t, rng)
    ok = down_days <= plan.end_days
    down, down_days = down[ok], down_days[ok]
    firm = np.concatenate([exporters, down])
    columns = {
        "uscc": f.uscc.take(pa.array(firm)),
        "grade": arrays.choose(CUSTOMS_GRADES, np.concatenate([first_grade, np.full(down.shape[0], 2)])),
        "assessed_on": arrays.dates(np.concatenate([assessed, down_days])),
    }
    yield plan.stem(plan.observed - 1), table("customs_credit", columns)


def red_black_lists(c: Chunk) -> Delivery:
    """Honour (red) and joint-punishment (black) lists: A-grade taxpayers, contract-keeping firms, dishonest
    judgment debtors, major tax violators and wage-arrears offenders."""
    f, plan = c.firms, c.plan
    rng = c.rng("red-black")
    end = plan.end_days
    firms: list[np.ndarray] = []
    colour: list[np.ndarray] = []
    list_name: list[np.ndarray] = []
    authority: list[np.ndarray] = []
    listed: list[np.ndarray] = []
    removed: list[np.ndarray] = []
    list_names = (
        "A级纳税人",
        "守合同重信用企业",
        "失信被执行人",
        "重大税收违法失信主体",
        "拖欠农民工工资失信联合惩戒对象名单",
    )
    authorities = (
        "国家税务总局威海市税务局",
        "威海市市场监督管理局",
        *names.COURT_NAMES,
        "威海市人力资源和社会保障局",
    )

    def add(
        rows: np.ndarray, red: bool, which: int, who: np.ndarray, on: np.ndarray, off: np.ndarray
    ) -> None:
        firms.append(rows)
        colour.append(np.full(rows.shape[0], 0 if red else 1))
        list_name.append(np.full(rows.shape[0], which))
        authority.append(who)
        listed.append(on)
        removed.append(off)

    grades = tax_grades(c)
    for i, g in enumerate(grades):
        a_rows = g.firm[g.grade == 0]
        off = np.full(a_rows.shape[0], -1, dtype=np.int64)
        if i + 1 < len(grades):
            nxt = grades[i + 1]
            still_a = np.isin(a_rows, nxt.firm[nxt.grade == 0])
            off = np.where(still_a, -1, nxt.published)
        add(
            a_rows,
            True,
            0,
            np.zeros(a_rows.shape[0], dtype=np.int64),
            np.full(a_rows.shape[0], g.published),
            off,
        )
        d_rows = g.firm[(g.grade == 4) & (rng.random(g.firm.shape[0]) < 0.3)]
        add(
            d_rows,
            False,
            3,
            np.zeros(d_rows.shape[0], dtype=np.int64),
            np.full(d_rows.shape[0], g.published),
            np.full(d_rows.shape[0], -1),
        )

    trusted = np.flatnonzero((f.size >= 2) & (f.quality > 0.8) & ~f.pre_closed & (rng.random(f.n) < 0.3))
    t_month = plan.burn_in + rng.integers(0, plan.months, trusted.shape[0])
    t_days = plan.random_days(t_month, rng)
    trusted_ok = c.active_at(t_days, trusted)
    add(
        trusted[trusted_ok],
        True,
        1,
        np.ones(int(trusted_ok.sum()), dtype=np.int64),
        t_days[trusted_ok],
        np.full(int(trusted_ok.sum()), -1),
    )

    court = court_records(c)
    add(
        court.dishonest_firm,
        False,
        2,
        2 + f.county[court.dishonest_firm],
        court.dishonest_listed,
        court.dishonest_removed,
    )

    _, ss_arrears = c.social_security
    wage_sections = np.isin(f.section, [profiles.SECTION_INDEX["C"], profiles.SECTION_INDEX["E"]])
    offending = (ss_arrears > 0) & c.in_default & wage_sections[:, None]
    first = np.where(offending.any(axis=1), offending.argmax(axis=1), -1)
    wage = np.flatnonzero((first >= 0) & (rng.random(f.n) < 0.2))
    w_days = plan.random_days(first[wage] + 1, rng)
    ok = w_days <= end
    add(
        wage[ok],
        False,
        4,
        np.full(int(ok.sum()), 2 + len(names.COURT_NAMES)),
        w_days[ok],
        np.full(int(ok.sum()), -1),
    )

    firm = np.concatenate(firms)
    on = np.concatenate(listed)
    keep = on <= end
    off = np.concatenate(removed)
    off_ok = (off >= 0) & (off <= end)
    columns = {
        "uscc": f.uscc.take(pa.array(firm[keep])),
        "list_colour": arrays.choose(("红名单", "黑名单"), np.concatenate(colour)[keep]),
        "list_name": arrays.choose(list_names, np.concatenate(list_name)[keep]),
        "authority": arrays.choose(authorities, np.concatenate(authority)[keep]),
        "listed_on": arrays.dates(on[keep]),
        "removed_on": arrays.dates(off[keep], off_ok[keep]),
    }
    yield from by_month(plan, "red_black_lists", plan.month_index(on[keep]), columns)
