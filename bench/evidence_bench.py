"""The evidence log at scale: append overhead, inclusion proofs and a full verify over 10,000,000 entries.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/evidence_bench.py [--entries 10000000] [--appends 1000]
        [--proofs 1000] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_evidence]

(``bench/run.py --only evidence``.) Set-up (timed apart, not part of the targets): a temporary SQLite
database (or ``--database-url``, whose evidence tables are emptied) at the newest migration, filled with
``--entries`` entries shaped like real ones (report queries: ids, USCC, purpose — about 260 bytes of
canonical JSON each) written in bulk exactly as ``append`` would (leaf hashes, the stored hashes of every
complete subtree of ≥ 16 leaves, the head row's frontier), then one signed tree head.

Timed:
1. ``append``: one entry appended inside a unit of work, the call alone and the whole unit with its commit
   (the issue's target: ≤ 5 ms p99 added to the request);
2. inclusion proof of a random entry in the signed tree (target ≤ 10 ms p99);
3. ``verify`` of the whole log: every leaf re-hashed, every stored subtree hash and head checked
   (target: 10,000,000 entries ≤ 5 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

BATCH = 100_000
USCC = "91371000MA3C0XY12A"
COLUMNS = "seq, kind, subject, enterprise_uscc, organisation_id, recorded_at, data, leaf_hash"
WARM_UP = 5


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, p99 {pct(values, 0.99) * 1000:.2f} ms"


def build(engine: object, entries: int) -> None:
    """Write ``entries`` entries, their subtree hashes and the head row in bulk, as ``append`` would."""
    from sqlalchemy import Engine, insert

    from xinyidai.core.evidence import merkle
    from xinyidai.core.evidence.models import NODE_MIN_LEVEL, EvidenceLogState
    from xinyidai.core.evidence.service import canonical

    assert isinstance(engine, Engine)
    sha256 = hashlib.sha256
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []

    def keep(level: int, position: int, digest: bytes) -> None:
        if level >= NODE_MIN_LEVEL:
            nodes.append((level, position, digest))

    from datetime import UTC, datetime

    now = datetime.now(UTC)
    at = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    template = canonical(
        {
            "at": at,
            "enterprise_uscc": USCC,
            "kind": "report.query",
            "organisation_id": 17,
            "payload": {
                "by": {"api_client_id": None, "organisation_id": 17, "user_id": 42},
                "channel": "page",
                "consent_id": 0,
                "purpose": "loan_review",
                "query_id": 0,
                "result": "allowed",
                "version": "full",
            },
            "seq": 0,
            "subject": "report_query:0",
        }
    )
    head, tail = template.split('"consent_id":0,', 1)
    mid, rest = tail.split('"query_id":0,', 1)
    pre_seq = rest.split('"seq":0,', 1)[0]
    started = time.perf_counter()
    sqlite = engine.dialect.name == "sqlite"
    # straight to the driver (executemany on SQLite, COPY on PostgreSQL): the ORM would take an hour
    recorded = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        cursor = raw.cursor()
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        for lo in range(0, entries, BATCH):
            rows = []
            for seq in range(lo, min(entries, lo + BATCH)):
                data = (
                    f'{head}"consent_id":{seq // 3},{mid}"query_id":{seq},{pre_seq}'
                    f'"seq":{seq},"subject":"report_query:{seq}"}}'
                )
                leaf = sha256(b"\x00" + data.encode()).digest()
                merkle.push(frontier, seq, leaf, keep)
                rows.append((seq, "report.query", f"report_query:{seq}", USCC, 17, recorded, data, leaf))
            if sqlite:
                cursor.executemany(f"INSERT INTO evidence_entries ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)  # noqa: S608
                cursor.executemany("INSERT INTO evidence_nodes (level, position, hash) VALUES (?,?,?)", nodes)
            else:
                with cursor.copy(f"COPY evidence_entries ({COLUMNS}) FROM STDIN") as copy:
                    for item in rows:
                        copy.write_row(item)
                with cursor.copy("COPY evidence_nodes (level, position, hash) FROM STDIN") as copy:
                    for item in nodes:
                        copy.write_row(item)
            nodes.clear()
            done = min(entries, lo + BATCH)
            if done % 1_000_000 == 0 or done == entries:
                print(f"    built {done:,} entries in {time.perf_counter() - started:.0f} s", flush=True)
        cursor.close()
        connection.execute(insert(EvidenceLogState).values(id=1, size=entries, frontier=b"".join(frontier)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="xyd-evidence-bench-"))
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # ten million entries take about 5 GB


def run(args: argparse.Namespace, workdir: Path) -> None:
    """Build the log, then time appends, proofs and a verify (see the module docstring)."""
    from sqlalchemy import text

    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.evidence import service as evidence
    from xinyidai.core.migrations import upgrade
    from xinyidai.core.settings import Settings

    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    with engine.begin() as connection:
        for table in ("evidence_entries", "evidence_nodes", "evidence_log_state", "evidence_tree_heads"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 — our own table names
    settings = Settings(home=workdir / "home", database_url=url, environment="test")
    print(f"database: {engine.dialect.name}; entries: {args.entries:,}", flush=True)

    started = time.perf_counter()
    build(engine, args.entries)
    print(f"set-up: {args.entries:,} entries written in {time.perf_counter() - started:.0f} s", flush=True)
    with session_scope(engine) as db:
        started = time.perf_counter()
        head = evidence.sign_head(db, settings)
        print(
            f"signing the head of {head.tree_size:,} entries: {(time.perf_counter() - started) * 1000:.1f} ms"
        )

    calls: list[float] = []
    units: list[float] = []
    for i in range(args.appends + WARM_UP):
        unit_started = time.perf_counter()
        with session_scope(engine) as db:
            call_started = time.perf_counter()
            evidence.append(
                db,
                "application.approved",
                {"application_id": i, "amount": "200000.00", "from": "accepted", "to": "approved"},
                subject=f"application:{i}",
                enterprise_uscc="91371000MA3C0XY12A",
                organisation_id=17,
            )
            call = time.perf_counter() - call_started
        if i >= WARM_UP:
            calls.append(call)
            units.append(time.perf_counter() - unit_started)
    print(
        f"append ({args.appends} entries on a log of {args.entries:,}): call {ms(calls)}; "
        f"unit of work with commit {ms(units)}"
    )

    rng = random.Random(1)  # noqa: S311 — which entries to prove, not a secret
    proofs: list[float] = []
    with session_scope(engine) as db:
        size = head.tree_size
        for i in range(args.proofs + WARM_UP):
            seq = rng.randrange(size)
            proof_started = time.perf_counter()
            evidence.inclusion_proof(db, seq, size)
            if i >= WARM_UP:
                proofs.append(time.perf_counter() - proof_started)
    print(f"inclusion proof (random entry of {size:,}): {ms(proofs)}")

    if not args.skip_verify:
        with session_scope(engine) as db:
            key = evidence.public_key(settings)
            started = time.perf_counter()
            report = evidence.verify(db, key)
            took = time.perf_counter() - started
        print(
            f"verify: {report.entries:,} entries, {report.heads} head(s), intact={report.ok}: {took:.1f} s"
            f" ({report.entries / took:,.0f} entries/s)"
        )
        if not report.ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
