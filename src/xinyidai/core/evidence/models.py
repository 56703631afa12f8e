"""Tables of the evidence log: entries (the leaves), stored subtree hashes, the head row, signed heads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.database import Base, UTCDateTime

# SQLite makes an INTEGER primary key the row id (no separate index); PostgreSQL needs 64 bits for 10⁷+ rows.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Interior hashes are stored for complete subtrees of 2^NODE_MIN_LEVEL leaves and up; smaller ones are
# recomputed from the (at most 16) leaf hashes next to a leaf, which keeps the table a sixteenth of the log.
NODE_MIN_LEVEL = 4


class EvidenceEntry(Base):
    """One leaf of the log: something that happened, recorded once and never changed.

    ``data`` is the canonical JSON (sorted keys, no spaces, UTF-8) exactly as hashed; it carries the
    entry's own ``seq`` so that a row moved elsewhere no longer fits its place. ``leaf_hash`` is
    SHA-256(0x00 ‖ data). ``subject`` names the record it is about (``consent:12``), for receipts.
    No foreign keys: the log outlives whatever it speaks about.
    """

    __tablename__ = "evidence_entries"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class EvidenceNode(Base):
    """The hash of the complete subtree of leaves ``[position·2^level, (position+1)·2^level)``."""

    __tablename__ = "evidence_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class EvidenceLogState(Base):
    """The log's one head row: its size and frontier (the roots of its perfect subtrees, largest first).

    Appending locks this row first (``UPDATE … SET size = size + 1``), so sequence numbers are handed out
    one at a time and without gaps — a rolled-back request gives its number back.
    """

    __tablename__ = "evidence_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class SignedTreeHead(Base):
    """A signed statement of the log's size and root at a moment (Ed25519 over ``head_text``)."""

    __tablename__ = "evidence_tree_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
