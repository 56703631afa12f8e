"""API v1 for the evidence log: its public key, signed head, proofs (RFC 9162) and receipts.

The key, the signed head and consistency proofs are public, like a Certificate Transparency log's; an
entry's inclusion proof and receipt go only to the parties to it (and the auditor).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from xinyidai.core.access import Permission, Principal
from xinyidai.core.evidence import keys
from xinyidai.core.evidence import service as evidence
from xinyidai.web.deps import DbSession, SettingsDep, api_guard
from xinyidai.web.pages.reports import own_uscc

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])

MAX_SEQ = 2**62  # beyond any log, inside a 64-bit column
SeqPath = Annotated[int, Path(ge=0, le=MAX_SEQ, description="the entry's number (leaf index)")]


class PublicKeyRead(BaseModel):
    algorithm: str = "Ed25519"
    pem: str = Field(description="SubjectPublicKeyInfo PEM, as read by `openssl pkeyutl -verify -pubin`")
    fingerprint: str = Field(description="SHA-256 of the raw 32-byte key, hex; receipts name their key by it")


class TreeHeadRead(BaseModel):
    tree_size: int
    root_hash: str = Field(description="hex")
    timestamp_ms: int = Field(description="milliseconds since 1970-01-01 UTC")
    signature: str = Field(description="Ed25519 over the head text (docs/evidence.md), base64")
    key_fingerprint: str


class InclusionProofRead(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    inclusion_proof: list[str] = Field(description="RFC 9162 §2.1.3 audit path, hex, leaf to root")
    tree_head: TreeHeadRead


class ConsistencyProofRead(BaseModel):
    first: int
    second: int
    consistency_proof: list[str] = Field(description="RFC 9162 §2.1.4 proof, hex")


@router.get("/public-key", response_model=PublicKeyRead)
def public_key(settings: SettingsDep) -> PublicKeyRead:
    """The Ed25519 key that signs the log's tree heads (check receipts with it)."""
    key = evidence.public_key(settings)
    return PublicKeyRead(pem=keys.public_pem(key), fingerprint=keys.fingerprint(key))


@router.get("/head", response_model=TreeHeadRead)
def latest_head(db: DbSession, settings: SettingsDep) -> TreeHeadRead:
    """The newest signed tree head (one is signed now if the log has none yet)."""
    head = evidence.latest_head(db) or evidence.sign_head(db, settings)
    return TreeHeadRead(**evidence.head_json(head))


@router.get("/consistency", response_model=ConsistencyProofRead)
def consistency(
    db: DbSession,
    first: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    second: Annotated[int, Query(ge=0, le=MAX_SEQ)],
) -> ConsistencyProofRead:
    """Proof that the log of ``first`` entries is a prefix of the log of ``second``: nothing was rewritten."""
    proof = evidence.consistency_proof(db, first, second)
    return ConsistencyProofRead(first=first, second=second, consistency_proof=[p.hex() for p in proof])


@router.get("/entries/{seq}/proof", response_model=InclusionProofRead)
def inclusion(
    seq: SeqPath,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = api_guard(Permission.EVIDENCE_RECEIPT),
) -> InclusionProofRead:
    """An entry's inclusion proof against a signed head that covers it (parties to the entry only)."""
    entry = evidence.entry_for(db, principal, seq, own_uscc(db, principal))
    head = evidence.head_covering(db, settings, seq)
    proof = evidence.inclusion_proof(db, seq, head.tree_size)
    return InclusionProofRead(
        leaf_index=seq,
        tree_size=head.tree_size,
        leaf_hash=bytes(entry.leaf_hash).hex(),
        inclusion_proof=[p.hex() for p in proof],
        tree_head=TreeHeadRead(**evidence.head_json(head)),
    )


@router.get("/entries/{seq}/receipt")
def receipt(
    seq: SeqPath,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = api_guard(Permission.EVIDENCE_RECEIPT),
) -> JSONResponse:
    """The entry's receipt: entry, inclusion proof, signed head, key fingerprint (docs/evidence.md)."""
    document: dict[str, Any] = evidence.receipt(db, settings, principal, seq, own_uscc(db, principal))
    return JSONResponse(document)
