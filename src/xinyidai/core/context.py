"""Per-request context (request id, client address) carried in context variables.

Set once by the web edge; read by the audit trail and the JSON log formatter, so services need not
thread them through every signature.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
