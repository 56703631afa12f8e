"""The record of each refresh of the consoles' financing statistics.

The figures themselves are not kept here: a refresh aggregates the marketplace, policies, whitelists and
funds into Parquet files in the lake (``lake/_consoles/<stamp>/``, see ``consoles/statistics.py``); this
table says which set is the newest and how fresh it is ("figures as of …"). ``console_refresh_jobs`` are
the refreshes asked for — the nightly slot, the operator's button, the command — and how each went
(``consoles/refresh_jobs.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, text
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


class ConsoleRefreshJob(Base):
    """One refresh asked for, and what became of it.

    ``slot`` names the request and is unique, so that a request made twice is one job: ``nightly:<local
    date>`` for the in-app schedule (every worker process may try to add it), ``manual:<uuid>`` for the
    operator's button, ``cli:<uuid>`` for ``xinyidai consoles refresh``. ``status`` goes ``queued`` →
    ``running`` → ``done`` (with ``refresh_id``, the set it published) or ``failed`` (with ``error``).
    ``worker`` is ``host:pid`` of the process that ran it. At most one job runs at a time (a partial unique
    index: two refreshes at once would prune each other's half-written sets).
    """

    __tablename__ = "console_refresh_jobs"
    __table_args__ = (
        Index(
            "uq_console_refresh_jobs_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[str] = mapped_column(String(80), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(Text, default="")
    refresh_id: Mapped[int | None] = mapped_column(ForeignKey("console_refreshes.id"))
    worker: Mapped[str] = mapped_column(String(120), default="")
