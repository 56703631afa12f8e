"""Monthly department sources: one row per active enterprise per month (tax, social security, housing
fund, electricity, water, gas, customs) and VAT invoices for the firms that share them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from xinyidai.data.synth import arrays
from xinyidai.data.synth.economy import Chunk
from xinyidai.data.synth.profiles import SECTION_CODES
from xinyidai.data.synth.tables import Delivery, by_month, table

MonthColumns = Callable[[np.ndarray, int], dict[str, pa.Array]]


def _monthly(c: Chunk, source_id: str, covered: np.ndarray, columns: MonthColumns) -> Delivery:
    """One file per delivered month with a row for every covered firm active that month."""
    plan = c.plan
    for t in range(plan.burn_in, plan.observed):
        rows = np.flatnonzero(c.alive[:, t] & covered)
        period = arrays.dates(np.full(rows.shape[0], plan.month_days[t]))
        data = {"uscc": c.firms.uscc.take(pa.array(rows)), "period": period, **columns(rows, t)}
        yield plan.stem(t), table(source_id, data)


def tax_monthly(c: Chunk) -> Delivery:
    sales = c.sales
    paid, arrears = c.tax
    covered = np.ones(c.n, dtype=bool)

    def columns(rows: np.ndarray, t: int) -> dict[str, pa.Array]:
        return {
            "sales": arrays.money(arrays.to_fen(sales[rows, t])),
            "tax_paid": arrays.money(paid[rows, t]),
            "tax_arrears": arrays.money(arrears[rows, t]),
        }

    yield from _monthly(c, "tax_monthly", covered, columns)


def social_security(c: Chunk) -> Delivery:
    insured, hires, separations = c.staff
    paid, arrears = c.social_security

    def columns(rows: np.ndarray, t: int) -> dict[str, pa.Array]:
        return {
            "insured": pa.array(insured[rows, t]),
            "new_hires": pa.array(hires[rows, t]),
            "separations": pa.array(separations[rows, t]),
            "contributions": arrays.money(paid[rows, t]),
            "arrears": arrays.money(arrears[rows, t]),
        }

    yield from _monthly(c, "social_security", c.firms.has_social_security, columns)


def housing_fund(c: Chunk) -> Delivery:
    contributors, amount, months = c.housing_fund

    def columns(rows: np.ndarray, t: int) -> dict[str, pa.Array]:
        return {
            "contributors": pa.array(contributors[rows, t]),
            "amount": arrays.money(amount[rows, t]),
            "months_in_arrears": pa.array(months[rows, t]),
        }

    yield from _monthly(c, "housing_fund", c.firms.has_housing_fund, columns)


def _utility(
    c: Chunk, source_id: str, values: tuple[np.ndarray, np.ndarray, np.ndarray], covered: np.ndarray
) -> Delivery:
    use, bill, arrears = values

    def columns(rows: np.ndarray, t: int) -> dict[str, pa.Array]:
        return {
            "usage": pa.array(use[rows, t]),
            "bill": arrays.money(bill[rows, t]),
            "arrears": arrays.money(arrears[rows, t]),
        }

    yield from _monthly(c, source_id, covered, columns)


def electricity(c: Chunk) -> Delivery:
    yield from _utility(c, "electricity", c.electricity, c.firms.has_electricity)


def water(c: Chunk) -> Delivery:
    yield from _utility(c, "water", c.water, c.firms.has_water)


def gas(c: Chunk) -> Delivery:
    yield from _utility(c, "gas", c.gas, c.firms.has_gas)


def customs_monthly(c: Chunk) -> Delivery:
    """Exporters' monthly trade; customs only has a row for a month with declarations."""
    imports, exports = c.customs
    plan = c.plan
    for t in range(plan.burn_in, plan.observed):
        rows = np.flatnonzero(c.alive[:, t] & c.firms.exporter & ((imports[:, t] > 0) | (exports[:, t] > 0)))
        data = {
            "uscc": c.firms.uscc.take(pa.array(rows)),
            "period": arrays.dates(np.full(rows.shape[0], plan.month_days[t])),
            "imports": arrays.money(imports[rows, t]),
            "exports": arrays.money(exports[rows, t]),
        }
        yield plan.stem(t), table("customs_monthly", data)


VAT_RATES = {"C": 0.13, "F": 0.13, "A": 0.09, "E": 0.09, "G": 0.09}


def vat_invoices(c: Chunk) -> Delivery:
    """Sales (销项) and purchase (进项) invoices of the ~2 % of companies that authorised invoice sharing.

    Invoice amounts of a month add up to its declared sales (and about 70 % of it in purchases); 1 % are
    credit notes (negative), 1.5 % void. Numbers are 20-digit fully digital invoice numbers.
    """
    f, plan = c.firms, c.plan
    rng = c.rng("vat-invoices")
    window = slice(plan.burn_in, plan.observed)
    sales = c.sales[:, window]
    active = c.alive[:, window] & f.vat_sample[:, None] & (sales > 0)
    firm, month = np.nonzero(active)
    if firm.shape[0] == 0:
        return
    month_sales = sales[firm, month]
    n_sales = 1 + rng.poisson(np.minimum(15.0, month_sales / 100_000))
    n_purchases = 1 + rng.poisson(np.minimum(10.0, month_sales / 150_000))
    totals = np.concatenate([month_sales, 0.7 * month_sales])
    counts = np.concatenate([n_sales, n_purchases])
    direction = np.repeat(np.array(["销项", "进项"]), [firm.shape[0], firm.shape[0]])
    group = np.repeat(np.arange(counts.shape[0]), counts)
    weights = rng.exponential(1.0, group.shape[0])
    share = weights / np.bincount(group, weights)[group]
    amount = totals[group] * share
    inv_firm = np.concatenate([firm, firm])[group]
    inv_month = np.concatenate([month, month])[group] + plan.burn_in
    rate = np.array([VAT_RATES.get(code, 0.06) for code in SECTION_CODES])[f.section[inv_firm]]
    rate = np.where(f.size[inv_firm] == 0, 0.03, rate)
    credit = rng.random(group.shape[0]) < 0.01
    amount_fen = np.where(credit, -1, 1) * arrays.to_fen(amount)
    tax_fen = np.rint(amount_fen * rate).astype(np.int64)
    void = rng.random(group.shape[0]) < 0.015
    issued = plan.random_days(inv_month, rng)
    year = arrays.date_parts(issued)[0]
    serial = c.serials.assign("vat", year)
    number = arrays.fixed_width(
        [arrays.digits(year % 100, 2), arrays.constant("371000", group.shape[0]), arrays.digits(serial, 12)]
    )
    counterparty = rng.integers(0, c.n, group.shape[0])
    columns = {
        "enterprise": f.uscc.take(pa.array(inv_firm)),
        "direction": pa.array(direction[group]),
        "invoice_number": number,
        "issued_on": arrays.dates(issued),
        "counterparty": f.uscc.take(pa.array(counterparty)),
        "amount": arrays.money(amount_fen),
        "tax": arrays.money(tax_fen),
        "total": arrays.money(amount_fen + tax_fen),
        "status": arrays.choose(("有效发票", "作废发票"), void.astype(np.int64)),
    }
    yield from by_month(plan, "vat_invoices", inv_month, columns)
