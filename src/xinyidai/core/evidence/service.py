"""The tamper-evident evidence log: append, sign heads, prove inclusion and consistency, verify, receipts.

What goes in: consents given and revoked, looks at credit reports, applications and each of their moves,
postings of public money, rating model and threshold changes, monitoring rule changes — each appended by
the service that makes the change, inside the same unit of work (it is kept exactly when the change is).

How it is kept (RFC 6962/9162, the Certificate Transparency log):
- entry ``seq`` is leaf ``seq`` of a Merkle tree; its ``data`` is canonical JSON that includes ``seq``;
- the log's head row is locked to hand out the next number (no gaps, also under concurrent requests on
  PostgreSQL and SQLite) and holds the frontier, so appending adds one row and the hashes of the complete
  subtrees of ≥ 16 leaves it closes — a few short statements, not a scan;
- tree heads (size, root, time) are signed with Ed25519 (``sign_head``: by ``xinyidai evidence
  sign-head``, and whenever a receipt needs a newer one) and kept; an inclusion proof reads at most
  ~2·log₂(n) stored hashes and 32 leaf hashes;
- ``verify`` re-derives every leaf hash from the stored data and walks the log once, naming the first
  entry that was edited, deleted, inserted or reordered, and checks every signed head's root and signature.

Limits, said plainly: a forger who rewrites an entry *and* every hash above it is caught by the signed
heads and by the stored subtree hashes, which narrow it to a block of 16 entries, not to one; and heads
are only as safe as their copies outside the database — receipts held by enterprises and institutions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, Table, and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.errors import NotFound, ValidationFailed, XydError
from xinyidai.core.evidence import keys, merkle
from xinyidai.core.evidence.models import (
    NODE_MIN_LEVEL,
    EvidenceEntry,
    EvidenceLogState,
    EvidenceNode,
    SignedTreeHead,
)
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings

RECEIPT_FORMAT = "xinyidai-evidence-receipt/1"
log = logging.getLogger(__name__)
STATE_ID = 1
HASH_LEN = 32


class EvidenceDamaged(XydError):
    """The stored hashes do not add up: someone changed the log behind the application's back."""

    status = 500
    code = "evidence_damaged"
    title = "The evidence log is damaged; run `xinyidai evidence verify` to find where"


class ReceiptInvalid(XydError):
    """A receipt that does not prove what it claims; ``message`` says why."""

    status = 422
    code = "receipt_invalid"
    title = "The receipt is not valid"


# ---------------------------------------------------------------- appending


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not recordable in the evidence log: {type(value).__name__}")


def canonical(record: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text, no NaN — the same bytes every time."""
    return json.dumps(
        record,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
        default=_json_default,
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sha256_text(text: str) -> str:
    """SHA-256 of a text (UTF-8), hex — how free text and personal data enter the log, if at all."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def actor(principal: Principal | None) -> dict[str, Any]:
    """Who acted, by ids only (no names in the log): user, organisation, or the system itself."""
    if principal is None:
        return {"system": True}
    return {
        "user_id": principal.user_id,
        "organisation_id": principal.organisation_id,
        "api_client_id": principal.api_client_id,
    }


# The statements of an append, built once: Core statements on the tables (not ORM units of work), because
# an append runs inside other requests and its cost is added to theirs.
_STATE = cast(Table, EvidenceLogState.__table__)
_ENTRIES = cast(Table, EvidenceEntry.__table__)
_NODES = cast(Table, EvidenceNode.__table__)
_BUMP = _STATE.update().where(_STATE.c.id == STATE_ID).values(size=_STATE.c.size + 1)
_READ_STATE = select(_STATE.c.size, _STATE.c.frontier).where(_STATE.c.id == STATE_ID)
_SET_FRONTIER = _STATE.update().where(_STATE.c.id == STATE_ID).values(frontier=bindparam("new_frontier"))


_BUMP_RETURNING = _BUMP.returning(_STATE.c.size, _STATE.c.frontier)


def _lock_next(session: Session) -> tuple[int, bytes]:
    """Take the next sequence number under the head row's lock; returns (seq, frontier before it)."""
    returning = session.get_bind().dialect.update_returning  # one round trip less where supported
    bumped = session.execute(_BUMP_RETURNING if returning else _BUMP)
    row = bumped.first() if returning else None
    if (returning and row is None) or (not returning and bumped.rowcount == 0):  # type: ignore[attr-defined]
        try:  # the first entry ever (or after the tables were emptied): create the head row
            with session.begin_nested():
                session.execute(_STATE.insert().values(id=STATE_ID, size=0, frontier=b""))
        except IntegrityError:
            pass  # a concurrent first append created it
        session.execute(_BUMP)
        row = None
    if row is None:
        row = session.execute(_READ_STATE).one()
    size, frontier = row
    return int(size) - 1, bytes(frontier)


def _split_frontier(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_LEN] for i in range(0, len(blob), HASH_LEN)]


def append(
    session: Session,
    kind: str,
    payload: Mapping[str, Any],
    *,
    subject: str,
    enterprise_uscc: str | None = None,
    organisation_id: int | None = None,
) -> EvidenceEntry:
    """Record that something happened, in the caller's unit of work (kept exactly if the change is).

    Args:
        kind: what happened, dotted (``consent.given``, ``application.approved``).
        payload: ids, amounts, states, hashes of texts — never personal data in clear.
        subject: the record it is about, ``<type>:<id>`` (receipts are found by it).
        enterprise_uscc: the enterprise that is a party (it may download the receipt).
        organisation_id: the institution (or other organisation) that is a party.
    """
    seq, frontier_blob = _lock_next(session)
    now = utcnow()
    data = canonical(
        {
            "at": _timestamp(now),
            "enterprise_uscc": enterprise_uscc,
            "kind": kind,
            "organisation_id": organisation_id,
            "payload": dict(payload),
            "seq": seq,
            "subject": subject,
        }
    )
    leaf = merkle.leaf_hash(data.encode("utf-8"))
    frontier = _split_frontier(frontier_blob)
    if len(frontier) != bin(seq).count("1"):
        raise EvidenceDamaged()
    nodes: list[dict[str, Any]] = []

    def keep(level: int, position: int, digest: bytes) -> None:
        if level >= NODE_MIN_LEVEL:
            nodes.append({"level": level, "position": position, "hash": digest})

    merkle.push(frontier, seq, leaf, keep)
    values = {
        "seq": seq,
        "kind": kind,
        "subject": subject,
        "enterprise_uscc": enterprise_uscc,
        "organisation_id": organisation_id,
        "recorded_at": now,
        "data": data,
        "leaf_hash": leaf,
    }
    session.execute(_ENTRIES.insert(), values)
    if nodes:
        session.execute(_NODES.insert(), nodes)
    session.execute(_SET_FRONTIER, {"new_frontier": b"".join(frontier)})
    return EvidenceEntry(**values)  # what was written (not attached: the row is read back by seq if needed)


def record_rule_change(
    session: Session,
    principal: Principal | None,
    rule_id: int,
    action: str,
    *,
    expression: str = "",
    organisation_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> EvidenceEntry:
    """Record a change to a monitoring rule (created, edited, enabled, disabled, deleted).

    The rule's expression is recorded as its SHA-256, so the log proves which rule text was in force
    without holding it; ``detail`` adds ids and settings (no personal data).
    """
    return append(
        session,
        "monitoring.rule",
        {
            "rule_id": rule_id,
            "action": action,
            "expression_sha256": sha256_text(expression),
            "by": actor(principal),
            **dict(detail or {}),
        },
        subject=f"monitoring_rule:{rule_id}",
        organisation_id=organisation_id,
    )


# ---------------------------------------------------------------- reading hashes


def log_size(session: Session) -> int:
    """How many entries the log holds (its head row; 0 before the first)."""
    return int(session.scalar(select(EvidenceLogState.size).where(EvidenceLogState.id == STATE_ID)) or 0)


# The stored subtree hashes a proof needs, NODE_PAIRS at a time by primary key: (level = ? AND position = ?)
# OR … — each term a key lookup on both databases; a fixed shape so SQLAlchemy compiles it once.
NODE_PAIRS = 32
_NODE_QUERY = select(EvidenceNode.level, EvidenceNode.position, EvidenceNode.hash).where(
    or_(
        *(
            and_(EvidenceNode.level == bindparam(f"l{i}"), EvidenceNode.position == bindparam(f"p{i}"))
            for i in range(NODE_PAIRS)
        )
    )
)


class _StoredSubtrees:
    """Complete-subtree hashes from the database: stored nodes, or recomputed from ≤ 16 leaf hashes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], bytes] = {}

    def run(self, compute: Callable[[merkle.Subtrees], Any]) -> Any:
        """Run ``compute`` twice: once to learn which subtrees it reads, then on them fetched at once."""
        wanted: set[tuple[int, int]] = set()

        def record(level: int, position: int) -> bytes:
            wanted.add((level, position))
            return b"\x00" * HASH_LEN

        compute(record)
        self._fetch(wanted - self.cache.keys())
        return compute(self._get)

    def _get(self, level: int, position: int) -> bytes:
        try:
            return self.cache[(level, position)]
        except KeyError:
            raise EvidenceDamaged() from None

    def _fetch(self, wanted: set[tuple[int, int]]) -> None:
        high = sorted(k for k in wanted if k[0] >= NODE_MIN_LEVEL)
        low = [k for k in wanted if k[0] < NODE_MIN_LEVEL]
        for lo in range(0, len(high), NODE_PAIRS):
            pairs = high[lo : lo + NODE_PAIRS]
            pairs += [pairs[-1]] * (NODE_PAIRS - len(pairs))  # padded: one statement shape, compiled once
            params = {f"l{i}": level for i, (level, _) in enumerate(pairs)}
            params.update({f"p{i}": position for i, (_, position) in enumerate(pairs)})
            for level, position, digest in self.session.execute(_NODE_QUERY, params):
                self.cache[(int(level), int(position))] = bytes(digest)
        if low:
            seqs = sorted({s for level, pos in low for s in range(pos << level, (pos + 1) << level)})
            leaves = {
                int(s): bytes(h)
                for s, h in self.session.execute(
                    select(EvidenceEntry.seq, EvidenceEntry.leaf_hash).where(EvidenceEntry.seq.in_(seqs))
                )
            }
            for level, pos in low:
                hashes = [leaves.get(s) for s in range(pos << level, (pos + 1) << level)]
                if any(h is None for h in hashes):
                    raise EvidenceDamaged()
                self.cache[(level, pos)] = merkle.naive_root([h for h in hashes if h is not None])


def _check_size(session: Session, tree_size: int) -> None:
    size = log_size(session)
    if not 0 <= tree_size <= size:
        raise ValidationFailed(
            "The log has %(size)s entries; there is no tree of %(asked)s", size=size, asked=tree_size
        )


def root_at(session: Session, tree_size: int) -> bytes:
    """The Merkle root of the log's first ``tree_size`` entries, from stored hashes."""
    _check_size(session, tree_size)
    root: bytes = _StoredSubtrees(session).run(lambda get: merkle.range_hash(0, tree_size, get))
    return root


def inclusion_proof(session: Session, seq: int, tree_size: int) -> list[bytes]:
    """The audit path of entry ``seq`` in the tree of ``tree_size`` entries (RFC 9162 §2.1.3.1)."""
    _check_size(session, tree_size)
    if not 0 <= seq < tree_size:
        raise ValidationFailed(
            "Entry %(seq)s is not in the tree of %(size)s entries", seq=seq, size=tree_size
        )
    path: list[bytes] = _StoredSubtrees(session).run(lambda get: merkle.inclusion_path(seq, tree_size, get))
    return path


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """Proof that the tree of ``first`` entries is a prefix of the tree of ``second`` (RFC 9162 §2.1.4.1)."""
    _check_size(session, second)
    if not 0 <= first <= second:
        raise ValidationFailed("The first tree size must not be larger than the second")
    proof: list[bytes] = _StoredSubtrees(session).run(lambda get: merkle.consistency_path(first, second, get))
    return proof


# ---------------------------------------------------------------- signed tree heads


def latest_head(session: Session) -> SignedTreeHead | None:
    """The newest signed head (largest tree, then newest)."""
    return session.scalars(
        select(SignedTreeHead).order_by(SignedTreeHead.tree_size.desc(), SignedTreeHead.id.desc()).limit(1)
    ).first()


def sign_head(session: Session, settings: Settings) -> SignedTreeHead:
    """Sign the log as it stands: its size, root and the time, with the configured Ed25519 key.

    Refuses (EvidenceDamaged) when the head row's frontier and the stored subtree hashes disagree, or when
    the log is no longer an extension of the last signed head — a signature must never bless a changed log.
    """
    key = keys.signing_key(settings)
    row = session.execute(
        select(EvidenceLogState.size, EvidenceLogState.frontier).where(EvidenceLogState.id == STATE_ID)
    ).first()
    size, frontier = (int(row[0]), bytes(row[1])) if row else (0, b"")
    root = merkle.frontier_root(_split_frontier(frontier))
    if root_at(session, size) != root:
        raise EvidenceDamaged()
    previous = latest_head(session)
    if previous is not None and previous.tree_size <= size:
        proof = consistency_proof(session, previous.tree_size, size)
        if not merkle.verify_consistency(previous.tree_size, size, bytes(previous.root_hash), root, proof):
            raise EvidenceDamaged()
    now = utcnow()
    timestamp_ms = int(now.timestamp() * 1000)
    head = SignedTreeHead(
        tree_size=size,
        root_hash=root,
        timestamp_ms=timestamp_ms,
        signature=key.sign(keys.head_text(size, root, timestamp_ms)),
        key_fingerprint=keys.fingerprint(key.public_key()),
        signed_at=now,
    )
    session.add(head)
    session.flush()
    return head


def head_covering(session: Session, settings: Settings, seq: int) -> SignedTreeHead:
    """The newest signed head if it covers entry ``seq``, else a new one signed now."""
    head = latest_head(session)
    if head is None or head.tree_size <= seq:
        head = sign_head(session, settings)
    return head


def head_json(head: SignedTreeHead) -> dict[str, Any]:
    """A signed head as JSON: hashes in hex, the signature in base64 (what receipts and the API carry)."""
    return {
        "tree_size": head.tree_size,
        "root_hash": bytes(head.root_hash).hex(),
        "timestamp_ms": head.timestamp_ms,
        "signature": base64.b64encode(bytes(head.signature)).decode(),
        "key_fingerprint": head.key_fingerprint,
    }


def public_key(settings: Settings) -> Ed25519PublicKey:
    """The public half of the configured signing key (published; receipts are checked against it)."""
    return keys.signing_key(settings).public_key()


# ---------------------------------------------------------------- receipts


def may_see(principal: Principal, entry: EvidenceEntry, own_uscc: str | None) -> bool:
    """Only the parties to an entry get its receipt: the enterprise it concerns, the organisation that
    acted or was authorised; the operator's auditor reads all (separation of duties)."""
    if Role.AUDITOR in principal.roles:
        return True
    if principal.org_kind is OrgKind.ENTERPRISE:
        return own_uscc is not None and entry.enterprise_uscc == own_uscc
    if principal.org_kind is OrgKind.INSTITUTION:
        return entry.organisation_id == principal.organisation_id
    return False


def entry_for(session: Session, principal: Principal, seq: int, own_uscc: str | None) -> EvidenceEntry:
    """The entry if the principal is a party to it; 404 otherwise (its existence does not leak)."""
    entry = session.get(EvidenceEntry, seq)
    if entry is None or not may_see(principal, entry, own_uscc):
        raise NotFound()
    return entry


def receipt(
    session: Session, settings: Settings, principal: Principal, seq: int, own_uscc: str | None
) -> dict[str, Any]:
    """A receipt for entry ``seq``: the entry, its inclusion proof and a signed head that covers it.

    Anyone holding it and the log's public key can check it offline (``check_receipt``, docs/evidence.md).
    """
    entry = entry_for(session, principal, seq, own_uscc)
    head = head_covering(session, settings, seq)
    proof = inclusion_proof(session, seq, head.tree_size)
    return {
        "format": RECEIPT_FORMAT,
        "entry": {"index": entry.seq, "kind": entry.kind, "data": entry.data},
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "inclusion_proof": [p.hex() for p in proof],
        "tree_head": head_json(head),
        "public_key_fingerprint": head.key_fingerprint,
    }


def receipts_for(session: Session, subjects: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """Entries (seq, kind) of each subject, oldest first — for receipt buttons next to a list."""
    wanted = sorted(set(subjects))
    found: dict[str, list[tuple[int, str]]] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(EvidenceEntry.subject, EvidenceEntry.seq, EvidenceEntry.kind)
        .where(EvidenceEntry.subject.in_(wanted))
        .order_by(EvidenceEntry.seq)
    )
    for subject, seq, kind in rows:
        found.setdefault(subject, []).append((int(seq), kind))
    return found


def check_receipt(document: Mapping[str, Any], key: Ed25519PublicKey) -> dict[str, Any]:
    """Check a receipt offline against the log's public key; returns the entry's record.

    Raises:
        ReceiptInvalid: with the first reason it fails — a malformed receipt, data that does not match
            its hash or its place, a proof that does not lead to the signed root, another key, a bad
            signature.
    """
    try:
        if document.get("format") != RECEIPT_FORMAT:
            raise ReceiptInvalid("This is not an evidence receipt of this platform")
        entry = document["entry"]
        index = int(entry["index"])
        data = str(entry["data"])
        claimed_leaf = bytes.fromhex(document["leaf_hash"])
        proof = [bytes.fromhex(p) for p in document["inclusion_proof"]]
        head = document["tree_head"]
        size = int(head["tree_size"])
        root = bytes.fromhex(head["root_hash"])
        timestamp_ms = int(head["timestamp_ms"])
        signature = base64.b64decode(head["signature"], validate=True)
        record = json.loads(data)
    except ReceiptInvalid:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ReceiptInvalid("The receipt is incomplete or malformed") from None
    if not isinstance(record, dict):
        raise ReceiptInvalid("The receipt is incomplete or malformed")
    leaf = merkle.leaf_hash(data.encode("utf-8"))
    if leaf != claimed_leaf:
        raise ReceiptInvalid("The entry's data does not match its hash: the entry was altered")
    if record.get("seq") != index:
        raise ReceiptInvalid(
            "The entry says it is number %(own)s but the receipt places it at %(index)s",
            own=record.get("seq"),
            index=index,
        )
    if not merkle.verify_inclusion(index, size, leaf, proof, root):
        raise ReceiptInvalid(
            "The inclusion proof does not lead to the signed root: it is not this entry's proof"
        )
    if keys.fingerprint(key) != head.get("key_fingerprint", document.get("public_key_fingerprint")):
        raise ReceiptInvalid("The receipt was signed with a different key than the one given")
    if not keys.signature_valid(key, signature, keys.head_text(size, root, timestamp_ms)):
        raise ReceiptInvalid("The signature on the tree head is not valid for this key")
    return record


# ---------------------------------------------------------------- verifying the whole log


@dataclass(frozen=True)
class Finding:
    """The first thing ``verify`` found wrong: what (``problem``), where (``seq``), and a message id."""

    problem: str  # deleted | inserted | reordered | edited | rewritten | head | signature | state
    seq: int | None
    message: str
    params: dict[str, Any]


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` checked, and the first problem (None: the log is intact)."""

    entries: int
    heads: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


def _finding(problem: str, at: int | None, message: str, /, **params: Any) -> Finding:
    return Finding(problem, at, message, params)


def _seq_of(data: str) -> int | None:
    try:
        record = json.loads(data)
    except ValueError:
        return None
    seq = record.get("seq") if isinstance(record, dict) else None
    return seq if isinstance(seq, int) else None


@contextmanager
def _entry_batches(session: Session, batch: int) -> Iterator[Iterator[list[Any]]]:
    """(seq, data, leaf_hash) in order, ``batch`` rows at a time, straight from the driver's cursor.

    The driver's own cursor (server-side on PostgreSQL) rather than ORM rows: verify reads every entry, and
    the per-row cost of result processing was a third of its time.
    """
    connection = session.connection()
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name="xyd_evidence_verify")
    else:
        cursor = raw.cursor()
    try:
        cursor.execute("SELECT seq, data, leaf_hash FROM evidence_entries ORDER BY seq")

        def chunks() -> Iterator[list[Any]]:
            while rows := cursor.fetchmany(batch):
                yield rows

        yield chunks()
    finally:
        cursor.close()


def verify(
    session: Session,
    key: Ed25519PublicKey,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 50_000,
) -> VerifyReport:
    """Re-check the whole log and name the first entry edited, deleted, inserted or reordered.

    One pass in ``seq`` order: each row must be the next number, hold the record of that number, and hash
    to its stored leaf hash; the tree is rebuilt as it goes, every stored subtree hash and every signed
    head's root is compared when its last leaf passes, and each head's signature is checked with ``key``.
    """
    size = log_size(session)
    state_frontier = (
        session.scalar(select(EvidenceLogState.frontier).where(EvidenceLogState.id == STATE_ID)) or b""
    )
    heads = list(
        session.scalars(select(SignedTreeHead).order_by(SignedTreeHead.tree_size, SignedTreeHead.id))
    )
    fp = keys.fingerprint(key)
    for head in heads:
        text = keys.head_text(head.tree_size, bytes(head.root_hash), head.timestamp_ms)
        if head.key_fingerprint != fp or not keys.signature_valid(key, bytes(head.signature), text):
            return VerifyReport(
                0,
                len(heads),
                _finding(
                    "signature",
                    None,
                    N_("The signature of the tree head of %(size)s entries is not valid for this key"),
                    size=head.tree_size,
                ),
            )
    stored = {
        (int(level), int(pos)): bytes(h)
        for level, pos, h in session.execute(
            select(EvidenceNode.level, EvidenceNode.position, EvidenceNode.hash)
        )
    }
    frontier: list[bytes] = []
    expected = 0
    head_at = 0
    sha256 = hashlib.sha256
    bad_node: list[tuple[int, int]] = []

    def check_node(level: int, position: int, digest: bytes) -> None:
        if level >= NODE_MIN_LEVEL and stored.pop((level, position), None) != digest and not bad_node:
            bad_node.append((level, position))

    def head_problem(upto: int) -> Finding | None:
        nonlocal head_at
        while head_at < len(heads) and heads[head_at].tree_size <= upto:
            head = heads[head_at]
            if head.tree_size == upto and merkle.frontier_root(frontier) != bytes(head.root_hash):
                head_at += 1
                return _finding(
                    "head",
                    None,
                    N_(
                        "The signed head of %(size)s entries does not match the log: an earlier entry changed"
                    ),
                    size=head.tree_size,
                )
            head_at += 1
        return None

    # A signed head that does not match says "something before me changed"; the scan goes on to find the
    # stored subtree hash that narrows it down, and otherwise reports the head (it came first in the log).
    head_failure = head_problem(0)

    def fail(finding: Finding) -> VerifyReport:
        return VerifyReport(expected, len(heads), head_failure or finding)

    next_head = heads[head_at].tree_size if head_at < len(heads) else size + 1
    with _entry_batches(session, batch) as batches:
        for chunk in batches:
            for seq, data, stored_leaf in chunk:
                if seq != expected:
                    return fail(
                        _finding(
                            "deleted", expected, N_("Entry %(seq)s is missing: it was deleted"), seq=expected
                        )
                    )
                if seq >= size:
                    return fail(
                        _finding(
                            "inserted",
                            seq,
                            N_("Entry %(seq)s was inserted behind the application's back"),
                            seq=seq,
                        )
                    )
                raw = data.encode("utf-8")
                # the top-level "seq" is the last one (only "subject", a code-made "<type>:<id>", follows it)
                at = raw.rfind(b',"seq":')
                if at < 0 or not raw.startswith(b',"seq":%d,' % seq, at):
                    own = _seq_of(data)
                    if own is not None and own < seq:
                        return fail(
                            _finding(
                                "inserted",
                                own,
                                N_("Entry %(seq)s was inserted behind the application's back"),
                                seq=own,
                            )
                        )
                    if own is not None and own != seq:
                        return fail(
                            _finding(
                                "reordered",
                                seq,
                                N_("Entry %(seq)s holds the record of entry %(other)s: entries were moved"),
                                seq=seq,
                                other=own,
                            )
                        )
                leaf = sha256(b"\x00" + raw).digest()
                if leaf != bytes(stored_leaf):
                    return fail(
                        _finding(
                            "edited",
                            seq,
                            N_("Entry %(seq)s was edited: its data no longer matches its hash"),
                            seq=seq,
                        )
                    )
                # merkle.push, inlined: this loop runs ten million times
                digest, n, level = leaf, seq, 0
                while n & 1:
                    digest = sha256(b"\x01" + frontier.pop() + digest).digest()
                    n >>= 1
                    level += 1
                    if level >= NODE_MIN_LEVEL:
                        check_node(level, n, digest)
                frontier.append(digest)
                expected += 1
                if bad_node:
                    level, pos = bad_node[0]
                    if head_failure is not None and pos << level >= head_failure.params["size"]:
                        return fail(head_failure)
                    return VerifyReport(
                        expected,
                        len(heads),
                        _finding(
                            "rewritten",
                            pos << level,
                            N_("An entry from %(first)s to %(last)s was changed with its hashes"),
                            first=pos << level,
                            last=((pos + 1) << level) - 1,
                        ),
                    )
                if expected >= next_head:
                    head_failure = head_failure or head_problem(expected)
                    next_head = heads[head_at].tree_size if head_at < len(heads) else size + 1
            if progress:
                progress(len(chunk))
    if head_failure is not None:
        return fail(head_failure)
    if expected < size:
        return fail(
            _finding("deleted", expected, N_("Entry %(seq)s is missing: it was deleted"), seq=expected)
        )
    if head_at < len(heads):
        return fail(
            _finding(
                "deleted",
                expected,
                N_("The signed head of %(size)s entries is beyond the end of the log: entries were deleted"),
                size=heads[head_at].tree_size,
            )
        )
    if b"".join(frontier) != bytes(state_frontier) or stored:
        return fail(_finding("state", None, N_("The log's stored hashes do not match its entries")))
    return VerifyReport(expected, len(heads), None)


def entry_count(session: Session) -> int:
    """Rows actually present (``verify`` compares them with the head row)."""
    return int(session.scalar(select(func.count()).select_from(EvidenceEntry)) or 0)


# ---------------------------------------------------------------- signing heads periodically


def sign_if_grown(session: Session, settings: Settings) -> SignedTreeHead | None:
    """Sign a head if entries were appended since the newest signed head (None if nothing changed)."""
    head = latest_head(session)
    if head is not None and head.tree_size >= log_size(session):
        return None
    return sign_head(session, settings)


def run_head_signer(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    """Sign the log's head every ``evidence_head_minutes`` while it grows, until ``stop`` is set.

    Started by the web app outside tests; several processes may each run it (a few extra heads, no harm).
    """
    while not stop.wait(settings.evidence_head_minutes * 60):
        try:
            with session_scope(engine) as session:
                sign_if_grown(session, settings)
        except Exception:  # the database may be briefly unreachable, or the log damaged: say so, go on
            log.exception("signing the evidence log's head failed")
