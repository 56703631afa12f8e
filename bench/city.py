"""Shared by the benchmarks: a synthetic city ingested into a temporary installation, and the load."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def load_average() -> str:
    """The 1- and 5-minute load average: on a shared 2-core machine, quote figures with it."""
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def build_city(enterprises: int, months: int, *, prefix: str = "xyd-bench-") -> Path:
    """Generate a city (seed 1), ingest it into a new temporary installation; returns its home."""
    from xinyidai.core.database import get_engine, session_factory
    from xinyidai.core.migrations import upgrade
    from xinyidai.data import service as data
    from xinyidai.data.lake import Lake
    from xinyidai.data.synth import generate_city

    home = Path(tempfile.mkdtemp(prefix=prefix))
    generate_city(home / "city", enterprises=enterprises, months=months, seed=1)
    url = f"sqlite:///{home / 'bench.db'}"
    upgrade(url)
    session = session_factory(get_engine(url))()
    try:
        data.ingest_directory(home / "city", lake=Lake(home / "lake", fsync=False), session=session)
    finally:
        session.close()
    return home
