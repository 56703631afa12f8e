"""A process killed during ingestion leaves nothing half-visible, and the next run finishes the job.

The ingestion runs in a subprocess that pauses at a checkpoint (``XYD_INGEST_PAUSE_AT``) and is killed
there with SIGKILL: after staging (nothing renamed yet) or after the renames (files in place, batch not
yet published). Readers must still see exactly the previous delivery; the next run marks the dead batch
failed, removes its files and publishes the delivery again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.pipelines.conftest import RECEIVED, usccs
from xinyidai.data.ingest import Outcome, ingest_files
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch

HEADER = "统一社会信用代码,所属期,参保人数,新增参保人数,减少参保人数,缴费金额,欠费金额\n"
CODES = usccs(50)

SCRIPT = """
import sys
from datetime import datetime
from xinyidai.core.database import get_engine, session_scope
from xinyidai.data.ingest import ingest_files
from xinyidai.data.lake import Lake

url, root, path, received = sys.argv[1:5]
with session_scope(get_engine(url)) as session:
    ingest_files("social_security", [path], lake=Lake(root, fsync=False), session=session,
                 received_at=datetime.fromisoformat(received))
"""


def delivery(path: Path, insured: int) -> Path:
    path.write_text(HEADER + "".join(f"{c},2024-01,{insured},0,0,1.00,0\n" for c in CODES), encoding="utf-8")
    return path


def visible(lake: Lake) -> set[int]:
    return {r[0] for r in lake.query("social_security").select("insured").fetchall()}


@pytest.mark.parametrize("phase", ["staged", "renamed"])
def test_killed_ingestion_leaves_the_lake_consistent_and_a_rerun_completes(
    phase: str, tmp_path: Path, database_url: str, db: Session
) -> None:
    lake = Lake(tmp_path / "lake", fsync=False)
    first = ingest_files(
        "social_security", [delivery(tmp_path / "v1.csv", 1)], lake=lake, session=db, received_at=RECEIVED
    )
    assert first.outcome is Outcome.PUBLISHED
    correction = delivery(tmp_path / "v2.csv", 2)
    received = RECEIVED + timedelta(days=1)
    marker = tmp_path / "paused"
    env = {
        **os.environ,
        "XYD_INGEST_PAUSE_AT": phase,
        "XYD_INGEST_PAUSE_MARKER": str(marker),
        "XYD_INGEST_PAUSE_SECONDS": "120",
    }
    args = [sys.executable, "-c", SCRIPT, database_url, str(lake.root), str(correction), received.isoformat()]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the ingestion never reached its checkpoint"
            time.sleep(0.05)
        # mid-ingestion, as a reader sees it
        assert visible(lake) == {1}
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]

    db.expire_all()
    dead = db.scalars(select(IngestBatch).where(IngestBatch.id != first.batch_id)).one()
    assert dead.status == "pending"
    assert visible(lake) == {1}, "a killed run must not change what readers see"
    leftovers = list(lake.root.glob(f"social_security/period=*/{dead.id}.parquet"))
    assert bool(leftovers) == (phase == "renamed")  # renamed in place, yet invisible: not in the manifest

    rerun = ingest_files("social_security", [correction], lake=lake, session=db, received_at=received)

    assert rerun.outcome is Outcome.PUBLISHED and rerun.superseded == (first.batch_id,)
    assert visible(lake) == {2}
    db.expire_all()
    assert db.get(IngestBatch, dead.id).error_code == "interrupted"  # type: ignore[union-attr]
    assert not list(lake.root.glob(f"**/{dead.id}*"))
    assert not list((lake.root / "_staging").glob("*/*"))
    as_before = lake.query("social_security", as_of=received - timedelta(seconds=1)).select("insured")
    assert {r[0] for r in as_before.fetchall()} == {1}
    assert datetime.now(UTC) > received
