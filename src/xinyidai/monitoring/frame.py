"""The table rules are evaluated on: one row per enterprise, one column per field the rules read.

Only the columns the active rules use are read (a 1,000-rule run over a million firms reads a few dozen
of the 332 fields): the indicator snapshot of the run's date, the previous snapshot (``_prev``) and the
newest one at least three months older (``_3m_ago``); the two latest ratings on or before the date; the
marketplace's live loans, aggregated per firm. Event fields are NULL here (batch runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.data.lake import Lake
from xinyidai.indicators.service import snapshot_dates
from xinyidai.market.models import Loan
from xinyidai.monitoring.fields import LOAN_FIELDS, OWN_LOAN_FIELDS, RATING_FIELDS, monitoring_catalogue
from xinyidai.rating import service as rating_service

__all__ = [
    "LIVE_LOAN_STATES",
    "Frame",
    "build_frame",
    "live_loans",
    "own_loans",
    "snapshot_plan",
    "with_own_loans",
]

LIVE_LOAN_STATES = ("current", "overdue", "defaulted")
_RATING_NAMES = frozenset(s.name for s in RATING_FIELDS)
_LOAN_NAMES = frozenset(s.name for s in LOAN_FIELDS)
_OWN_NAMES = frozenset(s.name for s in OWN_LOAN_FIELDS)


@dataclass(frozen=True)
class Frame:
    """The evaluation table of a date and where its columns came from."""

    as_of: date  # the snapshot the current values come from
    table: pa.Table  # uscc + the requested fields
    previous: date | None
    three_months_ago: date | None


def snapshot_plan(dates: Iterable[date], as_of: date) -> tuple[date | None, date | None, date | None]:
    """(current, previous, three months before current) snapshot dates for a run as of ``as_of``."""
    known = sorted(d for d in dates if d <= as_of)
    if not known:
        return None, None, None
    current = known[-1]
    previous = known[-2] if len(known) > 1 else None
    older = [d for d in known if d <= current - timedelta(days=90)]
    return current, previous, (older[-1] if older else None)


def align(base: pa.Table, table: pa.Table, names: list[str]) -> pa.Table:
    """``table``'s ``names`` columns in the row order of ``base`` (left join on uscc).

    Snapshots of the same firms are written in the same (USCC) order: then the columns are taken as they are.
    """
    if table.num_rows == base.num_rows and table["uscc"].equals(base["uscc"]):
        return table.select(names)
    joined = base.append_column("_row", pa.array(range(base.num_rows), pa.int64())).join(
        table, keys="uscc", join_type="left outer"
    )
    joined = joined.sort_by("_row")
    return joined.select(names)


def live_loans(session: Session, uscc: str | None = None) -> pa.Table:
    """Per firm with live loans on the platform (one firm's with ``uscc``): count, outstanding, longest
    overdue, any default."""
    query = (
        select(
            Loan.uscc,
            func.count(),
            func.sum(Loan.outstanding),
            func.max(Loan.days_overdue),
            func.max(func.cast(Loan.status == "defaulted", type_=Loan.days_overdue.type)),
        )
        .where(Loan.status.in_(LIVE_LOAN_STATES))
        .group_by(Loan.uscc)
    )
    if uscc is not None:
        query = query.where(Loan.uscc == uscc)
    rows = session.execute(query).all()
    return pa.table(
        {
            "uscc": pa.array([r[0] for r in rows], pa.string()),
            "loans_on_platform": pa.array([int(r[1]) for r in rows], pa.int64()),
            "loan_outstanding": pa.array([float(r[2] or 0) for r in rows], pa.float64()),
            "loan_overdue_days": pa.array([int(r[3] or 0) for r in rows], pa.int64()),
            "loan_in_default": pa.array([bool(r[4]) for r in rows], pa.bool_()),
        }
    )


def with_own_loans(session: Session, table: pa.Table, institution_id: int) -> pa.Table:
    """``table`` with the institution's own loans to each of its firms (0 where none)."""
    aligned = align(pa.table({"uscc": table["uscc"]}), own_loans(session, institution_id), sorted(_OWN_NAMES))
    table = table.append_column("own_loan_outstanding", aligned["own_loan_outstanding"].fill_null(0.0))
    return table.append_column("own_loan_overdue_days", aligned["own_loan_overdue_days"].fill_null(0))


def own_loans(session: Session, institution_id: int) -> pa.Table:
    """Per firm, the live loans of one institution: outstanding and longest overdue."""
    rows = session.execute(
        select(Loan.uscc, func.sum(Loan.outstanding), func.max(Loan.days_overdue))
        .where(Loan.status.in_(LIVE_LOAN_STATES), Loan.institution_id == institution_id)
        .group_by(Loan.uscc)
    ).all()
    return pa.table(
        {
            "uscc": pa.array([r[0] for r in rows], pa.string()),
            "own_loan_outstanding": pa.array([float(r[1] or 0) for r in rows], pa.float64()),
            "own_loan_overdue_days": pa.array([int(r[2] or 0) for r in rows], pa.int64()),
        }
    )


def _ratings(lake: Lake, as_of: date, uscc: pa.Array, wanted: set[str]) -> dict[str, pa.Array]:
    days = [d for d in rating_service.rating_dates(lake) if d <= as_of]
    n = len(uscc)
    out: dict[str, pa.Array] = {}
    base = pa.table({"uscc": uscc})

    def read(day: date | None) -> tuple[pa.Array, pa.Array]:
        if day is None:
            return pa.nulls(n, pa.string()), pa.nulls(n, pa.float64())
        t = pq.read_table(
            lake.root / rating_service.RATINGS_DIR / f"as_of={day.isoformat()}.parquet",
            columns=["uscc", "grade", "score"],
        )
        t = align(base, t, ["grade", "score"])
        return t["grade"].combine_chunks(), t["score"].cast(pa.float64()).combine_chunks()

    grade, score = read(days[-1] if days else None)
    grade_prev, _ = (
        read(days[-2] if len(days) > 1 else None)
        if wanted & {"grade_prev", "grade_drop"}
        else (pa.nulls(n, pa.string()), None)
    )
    out["grade"], out["score"], out["grade_prev"] = grade, score, grade_prev
    if "grade_drop" in wanted:
        order = rating_service.GRADE_ORDER
        drops = [
            max(0, order[g] - order[p]) if g in order and p in order else 0
            for g, p in zip(grade.to_pylist(), grade_prev.to_pylist(), strict=True)
        ]
        out["grade_drop"] = pa.array(drops, pa.int64())
    return {k: v for k, v in out.items() if k in wanted}


def build_frame(
    session: Session,
    lake: Lake,
    as_of: date,
    fields: Iterable[str],
    *,
    uscc: Iterable[str] | None = None,
    snapshot_path: object = None,
    dates: Iterable[date] | None = None,
    live: bool = True,
) -> Frame | None:
    """The evaluation table as of ``as_of`` for ``fields`` (only the firms in ``uscc`` when given);
    None when there is no indicator snapshot on or before the date.

    ``snapshot_path`` and ``dates`` let a backtest evaluate history snapshots kept elsewhere; with
    ``live=False`` the marketplace's loan fields are NULL (history has no live loan book).
    """
    from xinyidai.indicators.compute import snapshot_path as lake_snapshot_path

    regular = set(snapshot_dates(lake))
    history_dir = lake.root / "_monitoring" / "history"

    def path_of(day: date) -> object:
        if callable(snapshot_path):
            return snapshot_path(day)
        if day in regular:
            return lake_snapshot_path(lake, day)
        return history_dir / f"as_of={day.isoformat()}.parquet"  # replayed month ends (backtest)

    if dates is None:  # the snapshots, and the replayed month ends older than the first snapshot
        replayed = {
            date.fromisoformat(p.stem.removeprefix("as_of=")) for p in history_dir.glob("as_of=*.parquet")
        }
        dates = sorted(regular | {d for d in replayed if not regular or d < min(regular)})
    catalogue = monitoring_catalogue()
    wanted = set(fields)
    current, previous, older = snapshot_plan(dates, as_of)
    if current is None:
        return None
    by_suffix: dict[str, list[str]] = {"": [], "_prev": [], "_3m_ago": []}
    for name in sorted(wanted):
        for suffix in ("_prev", "_3m_ago"):
            if (
                name.endswith(suffix)
                and name[: -len(suffix)] in catalogue
                and name[: -len(suffix)] in _indicators()
            ):
                by_suffix[suffix].append(name[: -len(suffix)])
                break
        else:
            if name in _indicators():
                by_suffix[""].append(name)
    everyone = pq.read_table(path_of(current), columns=["uscc"])["uscc"].combine_chunks()
    mask = None
    firms = everyone
    if uscc is not None:  # the watched firms that have figures, in the snapshot's (USCC) order
        mask = pc.is_in(everyone, value_set=pa.array(sorted(set(uscc)), pa.string()))
        firms = everyone.filter(mask)
    table = pa.table({"uscc": firms})
    base = pa.table({"uscc": firms})
    for suffix, day in (("", current), ("_prev", previous), ("_3m_ago", older)):
        columns = by_suffix[suffix]
        if not columns:
            continue
        names = [c + suffix for c in columns]
        if day is None:
            schema = catalogue.arrow_schema(names)
            for n in names:
                table = table.append_column(n, pa.nulls(len(firms), schema.field(n).type))
            continue
        part = pq.read_table(path_of(day), columns=["uscc", *columns]).rename_columns(["uscc", *names])
        if mask is not None and part["uscc"].equals(pa.chunked_array([everyone])):
            part = part.filter(mask)  # the same firms in the same order: no join
        aligned = align(base, part, names)
        for n in names:
            table = table.append_column(n, aligned[n])
    rating_wanted = wanted & _RATING_NAMES
    if rating_wanted:
        for name, array in _ratings(lake, as_of, firms, rating_wanted).items():
            table = table.append_column(name, array)
    loan_wanted = wanted & _LOAN_NAMES if live else set()
    if loan_wanted:
        loans = align(base, live_loans(session), sorted(_LOAN_NAMES))
        for name in sorted(loan_wanted):
            column = loans[name]
            fill = False if name == "loan_in_default" else 0
            table = table.append_column(name, column.fill_null(fill))
    for name in sorted(wanted - set(table.column_names)):  # event fields, own_* (added per watcher)
        spec = catalogue[name]
        table = table.append_column(name, pa.nulls(len(firms), spec.arrow_type))
    return Frame(current, table, previous, older)


def _indicators() -> frozenset[str]:
    from xinyidai.indicators.service import INDICATORS

    return frozenset(i.id for i in INDICATORS)
