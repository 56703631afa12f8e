"""The tamper-evident evidence log (RFC 6962/9162 Merkle tree, Ed25519-signed tree heads).

Capabilities call ``append`` inside their unit of work; see ``service`` for the whole story and
``docs/evidence.md`` for checking a receipt offline.
"""

from xinyidai.core.evidence.service import actor, append, canonical, record_rule_change, sha256_text

__all__ = ["actor", "append", "canonical", "record_rule_change", "sha256_text"]
