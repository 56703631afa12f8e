"""The record of each refresh of the consoles' financing statistics.

The figures themselves are not kept here: a refresh aggregates the marketplace, policies, whitelists and
funds into Parquet files in the lake (``lake/_consoles/<stamp>/``, see ``consoles/statistics.py``); this
table says which set is the newest and how fresh it is ("figures as of …").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class ConsoleRefresh(Base):
    """One published set of pre-aggregated statistics.

    ``as_of`` is when the source tables were read (the freshness every console page shows); ``path`` is the
    set's folder relative to the lake root; ``fact_rows`` the number of (month, district, industry division,
    size, institution, product, grade) cells; ``elapsed_seconds`` how long the refresh took.
    """

    __tablename__ = "console_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    path: Mapped[str] = mapped_column(String(500))
    fact_rows: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_seconds: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(0))
    triggered_by: Mapped[str] = mapped_column(String(64), default="")
