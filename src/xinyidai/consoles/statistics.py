"""The government console's financing statistics: pre-aggregated, then sliced in DuckDB.

Why Parquet + DuckDB and not a fact table in the database: a city of a million enterprises gives about two
million (month, district, industry division, size, institution, product, grade) cells over 24 months; a
``GROUP BY`` over them takes seconds in SQLite and hundreds of milliseconds in PostgreSQL, per chart. The
same cells held in memory by DuckDB give a page's totals and all its breakdowns in one ``GROUPING SETS``
scan (a few hundred milliseconds at that size, see docs/benchmarks.md), which is what a page within 1 s
(p99) needs. The lake is already the home of everything analytical (DESIGN.md), so
``statistics_refresh.refresh`` (nightly and on the operator's button, run by ``refresh_jobs``; with
``xinyidai consoles refresh``; after the demo fill) reads
the marketplace, whitelists, policies and funds once, aggregates them into ``lake/_consoles/<stamp>/``
(``facts.parquet``, ``lead.parquet``: days from need to loan as a histogram so medians stay exact, and
``names.parquet``: institution and product names; for sub-platforms whose scope has an expression the
same cells of their members, ``scoped.parquet`` and ``scoped_lead.parquet``, and ``scopes.parquet`` saying
what was computed for each sub-platform) and then records the set in ``console_refreshes``; a
reader sees a whole set or the previous one. Every page shows the set's ``as_of``. This module reads a set;
``monthly_report.py`` writes the monthly analysis from it and ``statistics_export.py`` the Excel export.

No personal data enters a set: no USCC, no enterprise name, no legal representative, no phone — only
counts and amounts per cell (an enterprise is not a person, so small cells are allowed).

Measures and their months (Asia/Shanghai): needs published (created), grabs (grabbed) and offers (offered),
applications (submitted) and applied amount, approvals and rejections (decided; approval rate = approved ÷
decided), loans, disbursed amount, amount-weighted average rate and pure-credit share (disbursed),
non-performing loans (overdue ≥ 90 days or defaulted now, by grade at disbursement; rate = NPL loans ÷
loans), whitelist entries (uploaded) and those financed (approved, or a loan disbursed on or after the
upload), policy applications (submitted), approvals (decided, in publicity or disbursed) and amounts
disbursed (disbursed), loans joining a fund (decided), their covered balance now (outstanding principal of
covered loans not yet paid out) and claims paid (reviewed). Amounts are 元.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.consoles.statistics_models import ConsoleRefresh
from xinyidai.core import codes
from xinyidai.core.clock import today_local
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_

STORE_DIR: Final = "_consoles"
KEEP_SETS: Final = 3

Granularity = Literal["month", "quarter", "year"]
GRANULARITIES: Final[Mapping[str, str]] = {
    "month": N_("Month"),
    "quarter": N_("Quarter"),
    "year": N_("Year"),
}

DIMS: Final = (
    "month",
    "region_code",
    "industry_section",
    "industry_division",
    "size_class",
    "institution_id",
    "product_id",
    "grade",
)

# name -> kind (count | money | weighted: rate × amount)
MEASURES: Final[Mapping[str, str]] = {
    "needs": "count",
    "needs_amount": "money",
    "grabs": "count",
    "offers": "count",
    "applications": "count",
    "applied_amount": "money",
    "approvals": "count",
    "rejections": "count",
    "approved_amount": "money",
    "loans": "count",
    "disbursed_amount": "money",
    "rate_amount": "weighted",
    "pure_credit_loans": "count",
    "pure_credit_amount": "money",
    "npl_loans": "count",
    "npl_amount": "money",
    "whitelist_entries": "count",
    "whitelist_financed": "count",
    "policy_applications": "count",
    "policy_approved": "count",
    "policy_disbursed_amount": "money",
    "covered_loans": "count",
    "covered_amount": "money",
    "covered_outstanding": "money",
    "claims_paid": "count",
    "claims_paid_amount": "money",
}

MEASURE_LABELS: Final[Mapping[str, str]] = {
    "needs": N_("Needs published"),
    "needs_amount": N_("Amount needed (yuan)"),
    "grabs": N_("Needs grabbed"),
    "offers": N_("Offers"),
    "applications": N_("Applications submitted"),
    "applied_amount": N_("Amount applied (yuan)"),
    "approvals": N_("Approvals"),
    "rejections": N_("Rejections"),
    "approved_amount": N_("Amount approved (yuan)"),
    "loans": N_("Loans disbursed"),
    "disbursed_amount": N_("Amount disbursed (yuan)"),
    "pure_credit_loans": N_("Pure-credit loans"),
    "pure_credit_amount": N_("Pure-credit amount (yuan)"),
    "npl_loans": N_("Non-performing loans"),
    "npl_amount": N_("Non-performing amount (yuan)"),
    "whitelist_entries": N_("Whitelist entries"),
    "whitelist_financed": N_("Whitelisted firms financed"),
    "policy_applications": N_("Policy applications"),
    "policy_approved": N_("Policy approvals"),
    "policy_disbursed_amount": N_("Policy funds disbursed (yuan)"),
    "covered_loans": N_("Loans covered by funds"),
    "covered_amount": N_("Amount covered (yuan)"),
    "covered_outstanding": N_("Covered balance (yuan)"),
    "claims_paid": N_("Number of claims paid"),
    "claims_paid_amount": N_("Claims paid by funds (yuan)"),
}

DERIVED_LABELS: Final[Mapping[str, str]] = {
    "approval_rate": N_("Approval rate"),
    "average_rate": N_("Average rate (%)"),
    "pure_credit_share": N_("Pure-credit share"),
    "npl_rate": N_("Non-performing rate"),
    "median_days": N_("Median days from need to loan"),
}

Dimension = Literal["period", "region", "industry", "size", "institution", "product", "grade"]
DIMENSIONS: Final[Mapping[str, str]] = {
    "period": N_("Statistical period"),
    "region": N_("Region"),
    "industry": N_("Industry"),
    "size": N_("Size class"),
    "institution": N_("Institution"),
    "product": N_("Product"),
    "grade": N_("Grade"),
}

SIZE_LABELS: Final[Mapping[str, str]] = {
    "micro": N_("Micro"),
    "small": N_("Small"),
    "medium": N_("Medium"),
    "large": N_("Large"),
}

NPL_DAYS: Final = 90
DETAIL_LIMIT: Final = 200_000


# ----------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What a console view shows: months ``start``..``end`` (first days, inclusive), grouped by
    ``granularity``, optionally one region (a city ``xxxx00`` or a district), one industry (a GB/T 4754
    section letter or a two-digit division), one size class, institution and product.

    ``scope_regions`` / ``scope_industries`` / ``scope_products`` restrict everything further (a
    sub-platform's scope: region-code prefixes, section letters or divisions, product ids — events on no
    product, such as needs and policy applications, stay in; None is every product) and ``scope_id``
    reads the cells of that sub-platform's members instead of the city's (a scope with an expression).
    """

    start: date
    end: date
    granularity: Granularity = "month"
    region: str = ""
    industry: str = ""
    size: str = ""
    institution_id: int | None = None
    product_id: int | None = None
    scope_regions: tuple[str, ...] = ()
    scope_industries: tuple[str, ...] = ()
    scope_products: tuple[int, ...] | None = None
    scope_id: int | None = None

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (with ``changes`` applied), for links and forms."""
        values: dict[str, Any] = {
            "from": f"{self.start:%Y-%m}",
            "to": f"{self.end:%Y-%m}",
            "granularity": self.granularity,
            "region": self.region,
            "industry": self.industry,
            "size": self.size,
            "institution": self.institution_id or "",
            "product": self.product_id or "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


def _month(text: str, field_name: str) -> date:
    try:
        year, month = text.strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(
            "%(value)s is not a month; write it as YYYY-MM", field=field_name, value=text
        ) from None


def _int(text: str, field_name: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed("%(value)s is not a number", field=field_name, value=text) from None


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_filters(params: Mapping[str, str], *, today: date | None = None) -> Filters:
    """Filters from a page's query parameters; the default is the last 12 months by month.

    Raises:
        ValidationFailed: a malformed month or number, ``from`` after ``to``, more than 10 years, an
            unknown granularity, region, industry or size class.
    """
    current = (today or today_local()).replace(day=1)
    end = _month(params["to"], "to") if params.get("to") else current
    start = _month(params["from"], "from") if params.get("from") else add_months(end, -11)
    if start > end:
        raise ValidationFailed("The first month is after the last month", field="from")
    if (end.year - start.year) * 12 + end.month - start.month >= 120:
        raise ValidationFailed("Choose at most 10 years", field="from")
    granularity = params.get("granularity") or "month"
    if granularity not in GRANULARITIES:
        raise ValidationFailed("Unknown granularity %(value)s", field="granularity", value=granularity)
    region = (params.get("region") or "").strip()
    if region and not codes.is_known_region(region):
        raise ValidationFailed(
            "%(code)s is not a known administrative division code.", field="region", code=region
        )
    industry = (params.get("industry") or "").strip().upper()
    if industry and industry not in codes.SECTIONS and industry not in codes.DIVISIONS:
        raise ValidationFailed("Unknown industry %(value)s", field="industry", value=industry)
    size = (params.get("size") or "").strip()
    if size and size not in SIZE_LABELS:
        raise ValidationFailed("Unknown size class %(value)s", field="size", value=size)
    return Filters(
        start=start,
        end=end,
        granularity=granularity,  # type: ignore[arg-type]
        region=region,
        industry=industry,
        size=size,
        institution_id=_int(params.get("institution") or "", "institution"),
        product_id=_int(params.get("product") or "", "product"),
    )


def latest_refresh(session: Session) -> ConsoleRefresh | None:
    """The newest published set, or None before the first refresh."""
    return session.scalars(select(ConsoleRefresh).order_by(ConsoleRefresh.id.desc()).limit(1)).first()


# ------------------------------------------------------------------------------------------------ reading


class FactStore:
    """One published set held in memory by DuckDB; queries run on a cursor each (thread-safe).

    ``scopes`` says, per sub-platform, what the set computed for it (see ``statistics_refresh``): the
    fingerprint of its scope, the registry's firms in it, the snapshot its expression was evaluated on
    and the expression. A set written before sub-platforms had cells of their own has none.
    """

    def __init__(self, folder: Path, as_of: datetime) -> None:
        self.as_of = as_of
        self._con = duckdb.connect()
        self._con.execute("SET threads TO 2")
        derived = (
            "CASE WHEN region_code = '' THEN '' ELSE left(region_code, 4) || '00' END AS city, "
            "(year(month) * 10 + quarter(month))::INTEGER AS qkey, year(month)::INTEGER AS ykey"
        )
        for table in ("facts", "lead", "names", "scoped", "scoped_lead", "scopes"):
            path = folder / f"{table}.parquet"
            if not path.exists():  # an older set: no sub-platform cells, same columns
                if table == "scopes":
                    create = "CREATE TABLE scopes (subplatform_id BIGINT, fingerprint VARCHAR, "
                    create += "enterprises BIGINT, indicators_as_of DATE, expression VARCHAR)"
                else:
                    base = {"scoped": "facts", "scoped_lead": "lead"}[table]
                    create = (
                        f"CREATE TABLE {table} AS SELECT 0::BIGINT AS subplatform_id, * FROM {base} LIMIT 0"  # noqa: S608
                    )
                self._con.execute(create)
                continue
            columns = f"*, {derived}" if table in ("facts", "lead", "scoped", "scoped_lead") else "*"
            create = f"CREATE TABLE {table} AS SELECT {columns} FROM read_parquet($path)"  # noqa: S608 - code
            self._con.execute(create, {"path": str(path)})
        self.names: dict[tuple[str, int], str] = {
            (kind, int(i)): name
            for kind, i, name in self._con.execute("SELECT kind, id, name FROM names").fetchall()
        }
        self.scopes: dict[int, ScopeRecord] = {
            int(row[0]): ScopeRecord(*row[1:])
            for row in self._con.execute(
                "SELECT subplatform_id, fingerprint, enterprises, indicators_as_of, expression FROM scopes"
            ).fetchall()
        }

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()


@dataclass(frozen=True)
class ScopeRecord:
    """What a set computed for one sub-platform's scope."""

    fingerprint: str
    enterprises: int
    indicators_as_of: date | None
    expression: str


_STORES: OrderedDict[str, FactStore] = OrderedDict()
_STORES_LOCK = threading.Lock()


def open_store(session: Session, lake_root: Path) -> FactStore | None:
    """The newest set, loaded once per process (the two most recent sets stay in memory)."""
    record = latest_refresh(session)
    if record is None:
        return None
    key = str(lake_root / record.path)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = FactStore(lake_root / record.path, record.as_of)
            _STORES[key] = store
            while len(_STORES) > 2:
                _STORES.popitem(last=False)
        else:
            _STORES.move_to_end(key)
        return store


def _where(filters: Filters) -> tuple[str, dict[str, Any]]:
    clauses = ["month BETWEEN $start AND $end"]
    params: dict[str, Any] = {"start": filters.start, "end": filters.end}
    if filters.region:
        clauses.append("starts_with(region_code, $region)")
        params["region"] = codes.region_prefix(filters.region)
    if filters.industry:
        if filters.industry in codes.SECTIONS:
            clauses.append("industry_section = $industry")
        else:
            clauses.append("industry_division = $industry")
        params["industry"] = filters.industry
    if filters.size:
        clauses.append("size_class = $size")
        params["size"] = filters.size
    if filters.institution_id:
        clauses.append("institution_id = $institution")
        params["institution"] = filters.institution_id
    if filters.product_id:
        clauses.append("product_id = $product")
        params["product"] = filters.product_id
    if filters.scope_regions:
        parts = []
        for i, prefix in enumerate(filters.scope_regions):
            parts.append(f"starts_with(region_code, $scope_region_{i})")
            params[f"scope_region_{i}"] = codes.region_prefix(prefix)
        clauses.append("(" + " OR ".join(parts) + ")")
    if filters.scope_industries:
        clauses.append(
            "(list_contains($scope_ind, industry_section) OR list_contains($scope_ind, industry_division))"
        )
        params["scope_ind"] = list(filters.scope_industries)
    if filters.scope_products is not None:
        clauses.append("(product_id = 0 OR list_contains($scope_products, product_id))")
        params["scope_products"] = list(filters.scope_products)
    if filters.scope_id is not None:
        clauses.append("subplatform_id = $scope_id")
        params["scope_id"] = filters.scope_id
    return " AND ".join(clauses), params


def _tables(filters: Filters) -> tuple[str, str]:
    """The cells and the lead-time histogram a view reads: a sub-platform's members' or the city's."""
    return ("scoped", "scoped_lead") if filters.scope_id is not None else ("facts", "lead")


def _period_sql(granularity: Granularity) -> str:
    """The period label of a cell, as text (the export's rows)."""
    if granularity == "year":
        return "CAST(ykey AS VARCHAR)"
    if granularity == "quarter":
        return "CAST(ykey AS VARCHAR) || '-Q' || CAST(qkey % 10 AS VARCHAR)"
    return "strftime(month, '%Y-%m')"


# Group keys are plain columns (the derived ones made once when a set is loaded, see FactStore): an
# expression per row — a string cut or a cast over two million cells — cost more than the sums.
PERIOD_KEYS: Final[Mapping[str, str]] = {"month": "month", "quarter": "qkey", "year": "ykey"}


def _key_sql(dim: Dimension, filters: Filters) -> str:
    if dim == "period":
        return PERIOD_KEYS[filters.granularity]
    if dim == "region":
        # one level below the filter: cities (no filter, or a province), then a city's districts
        if filters.region and filters.region.endswith("00") and not filters.region.endswith("0000"):
            return "region_code"
        return "region_code" if filters.region and not filters.region.endswith("00") else "city"
    if dim == "industry":
        return "industry_section" if not filters.industry else "industry_division"
    if dim == "size":
        return "size_class"
    if dim == "institution":
        return "institution_id"
    if dim == "product":
        return "product_id"
    return "grade"


def _key_text(dim: Dimension, filters: Filters, value: Any) -> str:
    """A group key as the text the pages, links and labels use."""
    if value is None:
        return ""
    if dim == "period":
        if filters.granularity == "month":
            return f"{value:%Y-%m}"
        if filters.granularity == "quarter":
            return f"{int(value) // 10}-Q{int(value) % 10}"
    return str(value)


@dataclass
class Figures:
    """The measures of one cell of a view, and the rates derived from them."""

    key: str = ""
    label: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    median_days: float | None = None

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name, 0)

    @property
    def approval_rate(self) -> Decimal | None:
        decided = self["approvals"] + self["rejections"]
        return _ratio(self["approvals"], decided)

    @property
    def average_rate(self) -> Decimal | None:
        amount = self["disbursed_amount"]
        if not amount:
            return None
        return (Decimal(self["rate_amount"]) / Decimal(amount)).quantize(Decimal("0.01"))

    @property
    def pure_credit_share(self) -> Decimal | None:
        return _ratio(self["pure_credit_loans"], self["loans"])

    @property
    def npl_rate(self) -> Decimal | None:
        return _ratio(self["npl_loans"], self["loans"])

    def derived(self, name: str) -> Any:
        if name == "median_days":
            return self.median_days
        return getattr(self, name)


def _ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def _sums_sql() -> str:
    return ", ".join(f"COALESCE(SUM({m}), 0) AS {m}" for m in MEASURES)


def _grouped(
    store: FactStore, filters: Filters, dims: Sequence[Dimension]
) -> tuple[Figures, dict[Dimension, list[Figures]]]:
    """The totals and the measures by each of ``dims``, in one scan of the cells (``GROUPING SETS``) and
    one of the lead-time histogram — a console page reads four breakdowns for the price of one."""
    where, params = _where(filters)
    keys = {f"k{i}": _key_sql(dim, filters) for i, dim in enumerate(dims)}
    names = list(keys)
    projected = ", ".join(f"{expr} AS {name}" for name, expr in keys.items())
    sets = ", ".join([*(f"({name})" for name in names), "()"])
    grouping = f"GROUPING({', '.join(names)})" if names else "0"
    cursor = store.cursor()
    # One heavy scan grouped by every key at once (a few thousand rows), then the grouping sets over that
    # small result: four GROUPING SETS straight over the cells cost four scans' worth.
    # The expressions are code; values are parameters.
    head = f"SELECT {grouping} AS gid, {''.join(n + ', ' for n in names)}{_sums_sql()} "
    facts, lead = _tables(filters)
    inner = f"SELECT {projected + ', ' if names else ''}{', '.join(MEASURES)} FROM {facts} WHERE {where}"  # noqa: S608
    if names:
        inner = f"SELECT {', '.join(names)}, {_sums_sql()} FROM ({inner}) GROUP BY ALL"  # noqa: S608
    sql = head + f"FROM ({inner}) GROUP BY GROUPING SETS ({sets})"
    result = cursor.execute(sql, params)
    columns = [d[0] for d in result.description]
    found: dict[tuple[int, str], Figures] = {}
    for row in result.fetchall():
        values = dict(zip(columns, row, strict=True))
        gid = int(values.pop("gid"))
        index, raw = _which(gid, len(names), values, names)
        key = _key_text(dims[index], filters, raw) if index >= 0 else ""
        for name in names:
            values.pop(name, None)
        for m, kind in MEASURES.items():
            values[m] = int(values[m] or 0) if kind == "count" else Decimal(values[m] or 0)
        found[(index, key)] = Figures(key=key, values=values)
    medians = {
        (i, _key_text(dims[i], filters, raw) if i >= 0 else ""): days
        for (i, raw), days in _medians(cursor, lead, keys, where, params).items()
    }
    for (index, key), figures in found.items():
        figures.median_days = medians.get((index, key))
    total = found.get((-1, ""), Figures(values=_zeros()))
    by_dim: dict[Dimension, list[Figures]] = {}
    for i, dim in enumerate(dims):
        cells = [f for (index, _), f in found.items() if index == i]
        for cell in cells:
            cell.label = label_for(store, dim, cell.key)
        by_dim[dim] = _ordered(cells, dim, filters)
    return total, by_dim


def _which(gid: int, count: int, values: Mapping[str, Any], names: Sequence[str]) -> tuple[int, Any]:
    """Which grouping set a row belongs to (-1: the totals) and its key. ``GROUPING`` sets a bit for every
    column *not* grouped, the first column being the highest bit."""
    for i, name in enumerate(names):
        if not gid & (1 << (count - 1 - i)):
            return i, values[name]
    return -1, None


def _zeros() -> dict[str, Any]:
    return {m: 0 if kind == "count" else Decimal(0) for m, kind in MEASURES.items()}


def _medians(
    cursor: duckdb.DuckDBPyConnection,
    lead: str,
    keys: Mapping[str, str],
    where: str,
    params: dict[str, Any],
) -> dict[tuple[int, Any], float]:
    """The median days from need to loan per grouping set and key, exact from the histogram (the mean of
    the two middle loans when their number is even)."""
    names = list(keys)
    projected = "".join(f"{expr} AS {name}, " for name, expr in keys.items())
    sets = ", ".join([*(f"({name}, days)" for name in names), "(days)"])
    grouping = f"GROUPING({', '.join(names)})" if names else "0"
    key_cols = "".join(f"{name}, " for name in names)
    partition = ", ".join(["gid", *names])
    sql = f"""
        WITH h AS (
            SELECT {grouping} AS gid, {key_cols}days, SUM(loans) AS n
            FROM (SELECT {projected}days, loans FROM {lead} WHERE {where})
            GROUP BY GROUPING SETS ({sets})),
        c AS (SELECT gid, {key_cols}days, SUM(n) OVER (PARTITION BY {partition} ORDER BY days) AS cum,
                     SUM(n) OVER (PARTITION BY {partition}) AS tot FROM h)
        SELECT gid, {key_cols}MIN(days) FILTER (WHERE cum >= (tot + 1) // 2) AS lo,
               MIN(days) FILTER (WHERE cum >= tot // 2 + 1) AS hi
        FROM c GROUP BY {partition}
    """  # noqa: S608 - the expressions are code; values are parameters
    result = cursor.execute(sql, params)
    columns = [d[0] for d in result.description]
    out: dict[tuple[int, Any], float] = {}
    for row in result.fetchall():
        values = dict(zip(columns, row, strict=True))
        out[_which(int(values["gid"]), len(names), values, names)] = (values["lo"] + values["hi"]) / 2
    return out


def _ordered(rows: list[Figures], dim: Dimension, filters: Filters) -> list[Figures]:
    if dim == "period":
        rows.sort(key=lambda r: r.key)
        return _fill_periods(rows, filters)
    if dim == "grade":
        rows.sort(key=lambda r: (r.key == "", r.key))
    elif dim == "size":
        order = list(SIZE_LABELS)
        rows.sort(key=lambda r: order.index(r.key) if r.key in order else len(order))
    else:
        rows.sort(key=lambda r: (-r["disbursed_amount"], -r["needs"], r.key))
    return rows


def totals(store: FactStore, filters: Filters) -> Figures:
    """Every measure over the whole view."""
    return _grouped(store, filters, ())[0]


def breakdown(store: FactStore, filters: Filters, dim: Dimension) -> list[Figures]:
    """The measures by one dimension, labelled; regions one level below the filter, industries by section
    (or by division once a section is chosen), periods in order, the rest by amount disbursed."""
    return _grouped(store, filters, (dim,))[1][dim]


@dataclass
class Overview:
    """What a console page shows: the totals, the breakdown by the chosen dimension, the periods and the
    grades with loans (for the NPL rates)."""

    totals: Figures
    rows: list[Figures]
    trend: list[Figures]
    grades: list[Figures]


def overview(store: FactStore, filters: Filters, dim: Dimension) -> Overview:
    """The totals and the breakdowns a page needs, in one pass over the cells."""
    dims: list[Dimension] = [dim] + [d for d in ("period", "grade") if d != dim]
    total, by_dim = _grouped(store, filters, dims)
    return Overview(
        totals=total,
        rows=by_dim[dim],
        trend=by_dim["period"],
        grades=[g for g in by_dim["grade"] if g["loans"]],
    )


def periods(filters: Filters) -> list[str]:
    """Every period label between the filter's months, at its granularity."""
    out: list[str] = []
    month = filters.start
    while month <= filters.end:
        if filters.granularity == "year":
            label = f"{month:%Y}"
        elif filters.granularity == "quarter":
            label = f"{month:%Y}-Q{(month.month - 1) // 3 + 1}"
        else:
            label = f"{month:%Y-%m}"
        if not out or out[-1] != label:
            out.append(label)
        month = add_months(month, 1)
    return out


def _fill_periods(rows: list[Figures], filters: Filters) -> list[Figures]:
    by_key = {r.key: r for r in rows}
    filled = []
    for label in periods(filters):
        row = by_key.get(label) or Figures(
            key=label, values={m: 0 if k == "count" else Decimal(0) for m, k in MEASURES.items()}
        )
        row.label = label
        filled.append(row)
    return filled


def label_for(store: FactStore, dim: Dimension, key: str) -> str:
    """A cell's name: region and industry names, size class, institution and product names."""
    if key in ("", "0"):
        return "—"
    if dim == "region":
        return codes.regions()[key].name_zh if codes.is_known_region(key) else key
    if dim == "industry":
        if key in codes.SECTIONS:
            return f"{key} {codes.SECTIONS[key].name_zh}"
        if key in codes.DIVISIONS:
            return f"{key} {codes.DIVISIONS[key].name_zh}"
        return key
    if dim == "size":
        return codes.SizeClass(key).label_zh if key in SIZE_LABELS else key
    if dim in ("institution", "product"):
        return store.names.get((dim, int(key)), f"#{key}")
    return key


def next_drill(filters: Filters, dim: Dimension, key: str) -> dict[str, str] | None:
    """Where a click on a cell goes: a city to its districts, a district to its industries, a section to its
    divisions, an institution to its products; None where there is nothing below."""
    if key in ("", "0"):
        return None
    if dim == "region":
        # a firm registered at the city itself (no district) is a cell of the city: go to its industries
        if (
            key != filters.region
            and key.endswith("00")
            and codes.is_known_region(key)
            and codes.children(key)
        ):
            return filters.query(region=key, dim="region")
        return filters.query(region=key, dim="industry")
    if dim == "industry" and key in codes.SECTIONS:
        return filters.query(industry=key, dim="industry")
    if dim == "institution":
        return filters.query(institution=key, dim="product")
    if dim == "period":
        return None
    return None


def detail_rows(store: FactStore, filters: Filters, limit: int = DETAIL_LIMIT) -> Iterator[tuple[Any, ...]]:
    """The view's cells at the finest grain (period, district, industry division — or the section where a
    need carried no division —, size, institution, product, grade and every measure except the weighted
    rate), for the Excel export, in that order; at most ``limit`` rows."""
    where, params = _where(filters)
    period = _period_sql(filters.granularity)
    industry = "CASE WHEN industry_division = '' THEN industry_section ELSE industry_division END"
    keys = (
        f"{period} AS p, region_code, {industry} AS industry, size_class, institution_id, product_id, grade"
    )
    measures = [m for m in MEASURES if m != "rate_amount"]
    # money as DOUBLE: Excel keeps numbers as binary floats anyway, and Decimal objects cost 10× to fetch
    if filters.granularity == "month":  # the cells are already at this grain: sort and cut, no aggregation
        values = ", ".join(m if MEASURES[m] == "count" else f"{m}::DOUBLE" for m in measures)
        tail = ""
    else:
        values = ", ".join(
            f"SUM({m})::BIGINT" if MEASURES[m] == "count" else f"SUM({m})::DOUBLE" for m in measures
        )
        tail = "GROUP BY ALL "
    # the names and clauses are code; values are parameters
    sql = f"SELECT {keys}, {values} FROM {_tables(filters)[0]} WHERE {where} "  # noqa: S608
    sql += f"{tail}ORDER BY 1, 2, 3, 4, 5, 6, 7 LIMIT {int(limit)}"
    result = store.cursor().execute(sql, params)
    while True:
        chunk = result.fetchmany(10_000)
        if not chunk:
            return
        yield from chunk


def npl_by_grade(store: FactStore, filters: Filters) -> list[Figures]:
    """Loans, NPL loans and the NPL rate by grade at disbursement (grades with loans only)."""
    return [r for r in breakdown(store, filters, "grade") if r["loans"]]
