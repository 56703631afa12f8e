"""Recompute the console statistics from the database and publish them as a set in the lake.

``refresh`` reads the marketplace (needs, orders, applications and their decisions, loans), whitelists,
policy applications and the funds' covered loans and paid claims once, turns every record into an event on
its month (Asia/Shanghai) with the enterprise's district, industry division and size class, the
institution, the product and the grade, and aggregates them in DuckDB into the cells that
``consoles.statistics`` reads (see its docstring for the measures and why Parquet). Days from need to loan
are kept as a histogram (``lead.parquet``) so that medians over any slice are exact. Every event keeps its
enterprise until then, so that the events of a sub-platform's members (those satisfying its scope
expression on the newest indicator snapshot) are aggregated again into cells of their own
(``scoped.parquet``, ``scoped_lead.parquet``); the enterprise is never written into a set.

A set is written in full before its ``console_refreshes`` record is added, so a reader sees a whole set or
the previous one; all but the newest ``KEEP_SETS`` are removed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import EnterpriseProfile, Organisation
from xinyidai.consoles import subplatforms
from xinyidai.consoles.statistics import DIMS, KEEP_SETS, MEASURES, NPL_DAYS, STORE_DIR
from xinyidai.consoles.statistics_models import ConsoleRefresh
from xinyidai.core.access import OrgKind
from xinyidai.core.clock import to_local, utcnow
from xinyidai.data.lake import Lake
from xinyidai.funds.schemes_models import Claim, CoveredLoan
from xinyidai.market.models import (
    Application,
    ApplicationEvent,
    Loan,
    Need,
    Order,
    Product,
    Whitelist,
    WhitelistEntry,
)
from xinyidai.policies.models import PolicyApplication


def _local_month(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.replace(day=1)


def _local_day(value: datetime) -> date:
    return to_local(value).date()


EntDims = tuple[str, str, str, str]  # region, section, division, size
# The enterprise an event or a lead-time count belongs to: read to build sub-platforms' scoped cells, never
# written into a set.
ENTERPRISE: Final = "enterprise_id"
_NO_DIMS: Final[EntDims] = ("", "", "", "")


class _Events:
    """Column lists of event rows: the dimensions and every measure (zero unless given)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in (ENTERPRISE, *DIMS, *MEASURES)}

    def add(
        self,
        month: date | None,
        dims: EntDims,
        institution_id: int | None,
        product_id: int | None,
        grade: str | None,
        *,
        enterprise: int | None,
        **measures: int | Decimal,
    ) -> None:
        """One event of ``enterprise`` (its organisation id, kept only to pick out a sub-platform's
        members; None where the firm is not on the platform) on ``month``; nothing without a month."""
        if month is None:
            return
        c = self.columns
        c[ENTERPRISE].append(enterprise or 0)
        c["month"].append(month)
        c["region_code"].append(dims[0] or "")
        c["industry_section"].append(dims[1] or "")
        c["industry_division"].append(dims[2] or "")
        c["size_class"].append(dims[3] or "")
        c["institution_id"].append(institution_id or 0)
        c["product_id"].append(product_id or 0)
        c["grade"].append(grade or "")
        for name, kind in MEASURES.items():
            value = measures.get(name)
            if value is None:
                value = 0 if kind == "count" else Decimal(0)
            c[name].append(value)

    def table(self) -> pa.Table:
        fields: list[tuple[str, pa.DataType]] = [
            (ENTERPRISE, pa.int64()),
            ("month", pa.date32()),
            ("region_code", pa.string()),
            ("industry_section", pa.string()),
            ("industry_division", pa.string()),
            ("size_class", pa.string()),
            ("institution_id", pa.int64()),
            ("product_id", pa.int64()),
            ("grade", pa.string()),
        ]
        for name, kind in MEASURES.items():
            fields.append(
                (name, pa.int64() if kind == "count" else pa.decimal128(28, 6 if kind == "weighted" else 2))
            )
        schema = pa.schema(fields)
        return pa.table(
            {name: pa.array(self.columns[name], type=schema.field(name).type) for name in schema.names}
        )


def _enterprise_dims(session: Session) -> tuple[dict[int, EntDims], dict[str, int]]:
    """Each platform enterprise's dimensions by organisation id, and its organisation id by credit code."""
    by_id: dict[int, EntDims] = {}
    ids: dict[str, int] = {}
    rows = session.execute(
        select(
            Organisation.id,
            Organisation.region_code,
            EnterpriseProfile.uscc,
            EnterpriseProfile.industry_section,
            EnterpriseProfile.industry_division,
            EnterpriseProfile.size_class,
        ).join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
    )
    for org_id, region, uscc, section, division, size in rows:
        dims = (region or "", section or "", division or "", size or "")
        by_id[org_id] = dims
        ids[uscc] = org_id
    return by_id, ids


@dataclass
class _Extract:
    events: _Events = field(default_factory=_Events)
    lead: dict[tuple[Any, ...], int] = field(default_factory=dict)
    names: list[tuple[str, int, str]] = field(default_factory=list)
    enterprise_ids: dict[str, int] = field(default_factory=dict)  # organisation id by credit code


def _extract(session: Session) -> _Extract:
    out = _Extract()
    ev = out.events
    by_id, out.enterprise_ids = _enterprise_dims(session)

    for ent_id, created, amount, grade, region, section, size in session.execute(
        select(
            Need.enterprise_id,
            Need.created_at,
            Need.amount,
            Need.grade,
            Need.region_code,
            Need.industry_section,
            Need.size_class,
        )
    ):
        dims = by_id.get(ent_id) or (region, section, "", size)
        ev.add(
            _local_month(created), dims, None, None, grade, enterprise=ent_id, needs=1, needs_amount=amount
        )

    for inst, product, grabbed, offered, ent_id, grade in session.execute(
        select(
            Order.institution_id,
            Order.product_id,
            Order.grabbed_at,
            Order.offered_at,
            Need.enterprise_id,
            Need.grade,
        ).join(Need, Need.id == Order.need_id)
    ):
        dims = by_id.get(ent_id, _NO_DIMS)
        ev.add(_local_month(grabbed), dims, inst, product, grade, enterprise=ent_id, grabs=1)
        ev.add(_local_month(offered), dims, inst, product, grade, enterprise=ent_id, offers=1)

    for ent_id, inst, product, created, amount, grade in session.execute(
        select(
            Application.enterprise_id,
            Application.institution_id,
            Application.product_id,
            Application.created_at,
            Application.amount,
            Application.grade,
        )
    ):
        dims = by_id.get(ent_id, _NO_DIMS)
        ev.add(
            _local_month(created), dims, inst, product, grade,
            enterprise=ent_id, applications=1, applied_amount=amount,
        )  # fmt: skip

    for to_status, occurred, ent_id, inst, product, grade, approved_amount in session.execute(
        select(
            ApplicationEvent.to_status,
            ApplicationEvent.occurred_at,
            Application.enterprise_id,
            Application.institution_id,
            Application.product_id,
            Application.grade,
            Application.approved_amount,
        )
        .join(Application, Application.id == ApplicationEvent.application_id)
        .where(ApplicationEvent.to_status.in_(("approved", "rejected")))
    ):
        dims = by_id.get(ent_id, _NO_DIMS)
        if to_status == "approved":
            ev.add(
                _local_month(occurred), dims, inst, product, grade, enterprise=ent_id,
                approvals=1, approved_amount=approved_amount or Decimal(0),
            )  # fmt: skip
        else:
            ev.add(_local_month(occurred), dims, inst, product, grade, enterprise=ent_id, rejections=1)

    loans_by_uscc: dict[str, list[date]] = {}
    for row in session.execute(
        select(
            Loan.enterprise_id,
            Loan.uscc,
            Loan.institution_id,
            Loan.product_id,
            Loan.amount,
            Loan.rate,
            Loan.pure_credit,
            Loan.grade,
            Loan.disbursed_on,
            Loan.status,
            Loan.days_overdue,
            Need.created_at,
        )
        .join(Application, Application.id == Loan.application_id)
        .outerjoin(Need, Need.id == Application.need_id)
    ):
        ent_id, uscc, inst, product, amount, rate, pure, grade, disbursed, status, overdue, need_created = row
        dims = by_id.get(ent_id, _NO_DIMS)
        npl = status == "defaulted" or (status == "overdue" and (overdue or 0) >= NPL_DAYS)
        ev.add(
            _local_month(disbursed), dims, inst, product, grade, enterprise=ent_id,
            loans=1, disbursed_amount=amount, rate_amount=rate * amount,
            pure_credit_loans=1 if pure else 0, pure_credit_amount=amount if pure else Decimal(0),
            npl_loans=1 if npl else 0, npl_amount=amount if npl else Decimal(0),
        )  # fmt: skip
        loans_by_uscc.setdefault(uscc, []).append(disbursed)
        if need_created is not None:
            days = max(0, (disbursed - _local_day(need_created)).days)
            key = (ent_id or 0, disbursed.replace(day=1), *dims, inst or 0, product or 0, grade or "", days)
            out.lead[key] = out.lead.get(key, 0) + 1

    for uscc, status, entry_inst, uploaded in session.execute(
        select(
            WhitelistEntry.uscc, WhitelistEntry.status, WhitelistEntry.institution_id, Whitelist.uploaded_at
        ).join(Whitelist, Whitelist.id == WhitelistEntry.whitelist_id)
    ):
        since = _local_day(uploaded)
        financed = status == "approved" or any(d >= since for d in loans_by_uscc.get(uscc, ()))
        listed = out.enterprise_ids.get(uscc, 0)  # 0: not on the platform
        ev.add(
            _local_month(uploaded), by_id.get(listed, _NO_DIMS), entry_inst, None, None,
            enterprise=listed,
            whitelist_entries=1, whitelist_financed=1 if financed else 0,
        )  # fmt: skip

    for ent_id, created, status, decided, disbursed_amount, disbursed_on in session.execute(
        select(
            PolicyApplication.enterprise_id,
            PolicyApplication.created_at,
            PolicyApplication.status,
            PolicyApplication.decided_at,
            PolicyApplication.disbursed_amount,
            PolicyApplication.disbursed_on,
        )
    ):
        dims = by_id.get(ent_id, _NO_DIMS)
        ev.add(_local_month(created), dims, None, None, None, enterprise=ent_id, policy_applications=1)
        if status in ("publicity", "disbursed"):
            ev.add(_local_month(decided), dims, None, None, None, enterprise=ent_id, policy_approved=1)
        if status == "disbursed" and disbursed_amount is not None:
            ev.add(
                _local_month(disbursed_on),
                dims,
                None,
                None,
                None,
                enterprise=ent_id,
                policy_disbursed_amount=disbursed_amount,
            )

    for status, amount, decided, inst, grade, ent_id, product, outstanding, loan_status in session.execute(
        select(
            CoveredLoan.status,
            CoveredLoan.amount,
            CoveredLoan.decided_at,
            CoveredLoan.institution_id,
            CoveredLoan.grade,
            Application.enterprise_id,
            Application.product_id,
            Loan.outstanding,
            Loan.status,
        )
        .join(Application, Application.id == CoveredLoan.application_id)
        .outerjoin(Loan, Loan.id == CoveredLoan.loan_id)
        .where(CoveredLoan.status.in_(("covered", "claimed", "paid")))
    ):
        live = status in ("covered", "claimed") and outstanding is not None and loan_status != "repaid"
        ev.add(
            _local_month(decided), by_id.get(ent_id, _NO_DIMS), inst, product, grade, enterprise=ent_id,
            covered_loans=1, covered_amount=amount, covered_outstanding=outstanding if live else Decimal(0),
        )  # fmt: skip

    for fund_amount, reviewed, inst, ent_id, product, grade in session.execute(
        select(
            Claim.fund_amount,
            Claim.reviewed_at,
            Claim.institution_id,
            Loan.enterprise_id,
            Loan.product_id,
            Loan.grade,
        )
        .join(Loan, Loan.id == Claim.loan_id)
        .where(Claim.status == "paid")
    ):
        ev.add(
            _local_month(reviewed), by_id.get(ent_id, _NO_DIMS), inst, product, grade, enterprise=ent_id,
            claims_paid=1, claims_paid_amount=fund_amount,
        )  # fmt: skip

    for org_id, name in session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.INSTITUTION.value)
    ):
        out.names.append(("institution", org_id, name))
    for product_id, name in session.execute(select(Product.id, Product.name)):
        out.names.append(("product", product_id, name))
    return out


CELL_TYPES: Final[Mapping[str, str]] = {"count": "INTEGER", "money": "DECIMAL(18, 2)", "weighted": "DOUBLE"}
SCOPE: Final = "subplatform_id"


def aggregate_sql(source: str, keys: Sequence[str] = DIMS) -> str:
    """The cells of a set from the events in ``source``: one row per combination of ``keys``, counts as
    INTEGER, amounts as DECIMAL(18, 2) 元 (small types keep the set in memory small and its sums fast),
    rate × amount as DOUBLE (only the average rate, rounded to 0.01, is read from it)."""
    names = ", ".join(keys)
    sums = ", ".join(f"SUM({m})::{CELL_TYPES[kind]} AS {m}" for m, kind in MEASURES.items())
    return f"SELECT {names}, {sums} FROM {source} GROUP BY ALL ORDER BY {names}"  # noqa: S608 - names from code


def lead_sql(source: str, keys: Sequence[str] = DIMS) -> str:
    """The lead-time histogram's cells from ``source`` (``days`` and ``loans`` per row), by ``keys``."""
    names = ", ".join(keys)
    return f"SELECT {names}, days, SUM(loans)::BIGINT AS loans FROM {source} GROUP BY ALL"  # noqa: S608


def scoped_source(table: str) -> str:
    """``table``'s rows of the member enterprises, once per sub-platform they belong to."""
    return f"(SELECT m.{SCOPE}, t.* FROM {table} t JOIN members m USING ({ENTERPRISE}))"  # noqa: S608


def lead_table(lead: Mapping[tuple[Any, ...], int]) -> pa.Table:
    """The days-from-need-to-loan counts as an Arrow table (enterprise, dimensions, ``days``, ``loans``)."""
    names = [ENTERPRISE, *DIMS, "days", "loans"]
    columns: list[list[Any]] = [[] for _ in names]
    for key, count in lead.items():
        for i, value in enumerate((*key, count)):
            columns[i].append(value)
    types = [
        pa.int64(), pa.date32(), pa.string(), pa.string(), pa.string(), pa.string(), pa.int64(), pa.int64(),
        pa.string(), pa.int64(), pa.int64(),
    ]  # fmt: skip
    return pa.table({n: pa.array(c, type=t) for n, c, t in zip(names, columns, types, strict=True)})


def names_table(names: Sequence[tuple[str, int, str]]) -> pa.Table:
    return pa.table(
        {
            "kind": pa.array([n[0] for n in names], type=pa.string()),
            "id": pa.array([n[1] for n in names], type=pa.int64()),
            "name": pa.array([n[2] for n in names], type=pa.string()),
        }
    )


MEMBERS_SCHEMA: Final = pa.schema([(SCOPE, pa.int64()), (ENTERPRISE, pa.int64())])
SCOPES_SCHEMA: Final = pa.schema(
    [
        (SCOPE, pa.int64()),
        ("fingerprint", pa.string()),
        ("enterprises", pa.int64()),
        ("indicators_as_of", pa.date32()),
        ("expression", pa.string()),
    ]
)


@dataclass
class Cells:
    """A set's tables: the city's cells and lead-time histogram, the names, and the same cells again for
    the members of every sub-platform whose scope has an expression (``subplatform_id`` first), with one
    row per sub-platform saying what its figures were computed for (``scopes``)."""

    facts: pa.Table
    lead: pa.Table
    names: pa.Table
    scoped: pa.Table
    scoped_lead: pa.Table
    scopes: pa.Table


def aggregate(
    events: pa.Table, lead: pa.Table, names: pa.Table, members: pa.Table, scopes: pa.Table
) -> Cells:
    """Aggregate the events and lead-time counts (each row carrying its ``enterprise_id``) into a set's
    cells, for the city and for each sub-platform's ``members`` (``subplatform_id``, ``enterprise_id``)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.register("events", events)
        con.register("lead_in", lead)
        con.register("members", members)
        scoped_keys = (SCOPE, *DIMS)
        return Cells(
            facts=con.sql(aggregate_sql("events")).to_arrow_table(),
            lead=con.sql(lead_sql("lead_in")).to_arrow_table(),
            names=names,
            scoped=con.sql(aggregate_sql(scoped_source("events"), scoped_keys)).to_arrow_table(),
            scoped_lead=con.sql(lead_sql(scoped_source("lead_in"), scoped_keys)).to_arrow_table(),
            scopes=scopes,
        )
    finally:
        con.close()


def write_set(
    session: Session,
    lake_root: Path,
    cells: Cells,
    *,
    as_of: datetime,
    started: float,
    triggered_by: str,
) -> ConsoleRefresh:
    """Write the set's Parquet files and record it.

    The record is added last, so a reader never sees a half-written set; older sets beyond the newest
    ``KEEP_SETS`` are removed.
    """
    stamp = f"{as_of:%Y%m%dT%H%M%S%f}"
    relative = f"{STORE_DIR}/{stamp}"
    folder = lake_root / relative
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("facts", "lead", "names", "scoped", "scoped_lead", "scopes"):
        pq.write_table(getattr(cells, name), folder / f"{name}.parquet")
    record = ConsoleRefresh(
        as_of=as_of,
        path=relative,
        fact_rows=cells.facts.num_rows,
        elapsed_seconds=Decimal(f"{time.perf_counter() - started:.3f}"),
        triggered_by=triggered_by,
    )
    session.add(record)
    session.flush()
    _prune(session, lake_root)
    return record


def _prune(session: Session, lake_root: Path) -> None:
    keep = set(
        session.scalars(select(ConsoleRefresh.path).order_by(ConsoleRefresh.id.desc()).limit(KEEP_SETS)).all()
    )
    store = lake_root / STORE_DIR
    if not store.is_dir() or not keep:
        return
    # Stamps sort by time: only sets older than the oldest kept one go. A newer folder without a record is
    # a refresh still being written elsewhere (the command beside the app's scheduler), not litter.
    oldest_kept = min(path.rsplit("/", 1)[-1] for path in keep)
    for child in store.iterdir():
        if child.is_dir() and child.name < oldest_kept:
            # A reader that opened an older set keeps it in memory; nothing reads the files again.
            shutil.rmtree(child, ignore_errors=True)


def _scopes(
    session: Session, lake_root: Path, enterprise_ids: Mapping[str, int]
) -> tuple[pa.Table, pa.Table]:
    """Every enabled sub-platform's scope as the refresh saw it (its fingerprint, the registry's firms in
    it) and, for scopes with an expression, the platform enterprises satisfying the expression on the
    newest indicator snapshot (the region, industry and product parts are applied when reading)."""
    enabled = subplatforms.enabled(session)
    snapshot, snapshot_as_of = subplatforms.rule_snapshot(enabled, Lake(lake_root))
    members: dict[str, list[int]] = {SCOPE: [], ENTERPRISE: []}
    rows: dict[str, list[Any]] = {name: [] for name in SCOPES_SCHEMA.names}
    for sp in enabled:
        matched: list[str] | None = None
        if sp.scope_expression:
            if snapshot is None:
                continue  # nothing to evaluate the rule on: the page says so
            matched = subplatforms.expression_members(sp, snapshot)
            for uscc in matched:
                if uscc in enterprise_ids:
                    members[SCOPE].append(sp.id)
                    members[ENTERPRISE].append(enterprise_ids[uscc])
        rows[SCOPE].append(sp.id)
        rows["fingerprint"].append(subplatforms.scope_fingerprint(sp))
        rows["enterprises"].append(subplatforms.registry_count(session, sp, matched))
        rows["indicators_as_of"].append(snapshot_as_of if matched is not None else None)
        rows["expression"].append(sp.scope_expression)
    return pa.table(members, schema=MEMBERS_SCHEMA), pa.table(rows, schema=SCOPES_SCHEMA)


def refresh(session: Session, lake_root: Path, *, triggered_by: str = "system") -> ConsoleRefresh:
    """Recompute every console figure from the database and publish it as a new set.

    Idempotent: running it twice gives two sets with the same figures (the newer is shown).
    """
    started = time.perf_counter()
    as_of = utcnow()
    extract = _extract(session)
    members, scopes = _scopes(session, lake_root, extract.enterprise_ids)
    cells = aggregate(
        extract.events.table(), lead_table(extract.lead), names_table(extract.names), members, scopes
    )
    return write_set(session, lake_root, cells, as_of=as_of, started=started, triggered_by=triggered_by)
