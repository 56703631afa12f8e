"""A small synthetic city for rating-model tests: ingested, indicators on two dates, outcomes imported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from xinyidai.core.database import get_engine, session_factory
from xinyidai.core.migrations import upgrade
from xinyidai.data import service as data
from xinyidai.data.lake import Lake
from xinyidai.data.synth import generate_city
from xinyidai.indicators import service as indicators
from xinyidai.rating import service as rating


@dataclass(frozen=True)
class City:
    lake: Path
    truth: Path
    dates: tuple[date, ...]  # indicator snapshot dates, oldest first


def build_city(root: Path, *, enterprises: int = 1500, months: int = 12, seed: int = 11) -> City:
    """Generate and ingest a city under ``root`` (its own SQLite database for the ingestion records),
    compute the indicators on the registration's receipt date and the last receipt date, and import the
    ground truth as the lake's outcomes."""
    url = f"sqlite:///{root / 'ingest.db'}"
    upgrade(url)
    lake = Lake(root / "lake", fsync=False)
    generate_city(root / "city", enterprises=enterprises, months=months, seed=seed)
    session = session_factory(get_engine(url))()
    try:
        data.ingest_directory(root / "city", lake=lake, session=session, provider="test")
    finally:
        session.close()
    last = data.last_receipt_date(lake)
    registered = data.last_receipt_date(lake, "registration")
    assert last is not None and registered is not None
    dates = tuple(sorted({registered, last}))
    for day in dates:
        indicators.run_indicators(lake, day)
    rating.import_outcomes(lake, root / "city" / "_truth")
    return City(root / "lake", root / "city" / "_truth", dates)
