"""Retention of negative information (征信业管理条例 Art. 16): removed five years after the conduct ended.

The sources and the day each record's conduct ended are those the credit report already uses to hide
expired records (``report_store.RECORD_SOURCES``: a case still being heard, or a listing not yet lifted,
has not ended). ``negative_status`` says, per source, what the lake keeps and what expires when;
``purge_negative`` removes the expired rows from the lake for good (``data.service.remove_expired_rows``)
and drops the stored report documents so they are rebuilt without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from xinyidai.data import service as data_service
from xinyidai.data.catalogue import catalogue
from xinyidai.data.lake import Lake
from xinyidai.rating import report_store

__all__ = [
    "NegativeStatus",
    "add_years",
    "negative_sources",
    "negative_status",
    "purge_negative",
    "years_before",
]

SOON_DAYS = 90  # the page shows what expires within this many days


def negative_sources() -> list[report_store.RecordSource]:
    """The report's record sources that hold negative information (those with an end of conduct)."""
    return [spec for spec in report_store.RECORD_SOURCES if spec.ended is not None]


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class NegativeStatus:
    """One source's negative records in the lake: how many, the oldest end of conduct kept, how many have
    expired (removed by the next enforcement), how many expire within ``SOON_DAYS``, and the next expiry."""

    source_id: str
    name_zh: str
    rows: int
    oldest_ended: date | None
    expired: int
    expiring_soon: int
    next_expiry: date | None


def negative_status(lake: Lake, years: int, today: date) -> list[NegativeStatus]:
    """What the lake keeps of each negative source (visible rows), as of ``today``."""
    result = []
    cutoff = years_before(today, years)
    soon = years_before(today + timedelta(days=SOON_DAYS), years)
    for spec in negative_sources():
        source = catalogue().get(spec.source)
        body, params = lake.relation_sql(spec.source, prefix="neg")
        ended = (spec.ended or "").replace("$as_of", "$today")
        sql = (
            f"SELECT count(*), min(e), count(*) FILTER (WHERE e < $cutoff), "  # noqa: S608
            f"count(*) FILTER (WHERE e >= $cutoff AND e < $soon), min(e) FILTER (WHERE e >= $cutoff) "
            f"FROM (SELECT CAST(({ended}) AS DATE) AS e FROM ({body}))"
        )
        params.update({"today": today, "cutoff": cutoff, "soon": soon})
        row = lake.connection().cursor().execute(sql, data_service.used_params(sql, params)).fetchone() or (
            0,
            None,
            0,
            0,
            None,
        )
        first_kept: date | None = row[4]
        result.append(
            NegativeStatus(
                source_id=spec.source,
                name_zh=source.name_zh,
                rows=int(row[0] or 0),
                oldest_ended=row[1],
                expired=int(row[2] or 0),
                expiring_soon=int(row[3] or 0),
                next_expiry=add_years(first_kept, years) if first_kept else None,
            )
        )
    return result


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def purge_negative(
    session: Session, lake: Lake, years: int, today: date, *, dry_run: bool = False
) -> list[data_service.ExpiredRows]:
    """Remove (or count, with ``dry_run``) negative records whose conduct ended more than ``years`` ago."""
    outcomes = []
    for spec in negative_sources():
        ended = (spec.ended or "").replace("$as_of", "$today")
        outcomes.append(
            data_service.remove_expired_rows(
                session,
                lake,
                spec.source,
                f"CAST(({ended}) AS DATE) < $cutoff",
                {"today": today, "cutoff": years_before(today, years)},
                dry_run=dry_run,
            )
        )
    if not dry_run and any(o.removed for o in outcomes):
        # The stored report documents still hold the removed rows: rebuilt lazily from the purged lake.
        for path in (lake.root / report_store.STORE_DIR).glob("as_of=*.parquet"):
            path.unlink(missing_ok=True)
    return outcomes
