"""Every download is an audit record (MLPS level 3: exports of data are security events).

An export is any successful response sent as an attachment (``Content-Disposition: attachment``): the
Excel exports, the PDF reports, the quality reports, CSV files — present and future routes alike, without
each route having to remember. After the response is sent, one ``export`` record names the user, the
route template, the path and query, the media type and the file name. Exports that are also business
events (a credit report's PDF is a recorded look; the audit and query-record exports) are recorded by
their services as well: this record is the uniform one the auditor filters on.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyidai.core.access import Principal
from xinyidai.core.audit import record_event
from xinyidai.core.database import session_scope

__all__ = ["ExportAuditMiddleware"]


class ExportAuditMiddleware:
    """Record each attachment response as an ``export`` audit event, after it was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen: dict[str, Any] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                }
                disposition = headers.get("content-disposition", "")
                if disposition.lower().startswith("attachment"):
                    seen["disposition"] = disposition[:200]
                    seen["media_type"] = headers.get("content-type", "")[:100]
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if seen:
            await run_in_threadpool(self._record, scope, seen)

    @staticmethod
    def _record(scope: Scope, seen: dict[str, Any]) -> None:
        state = scope.get("state", {})
        principal: Principal | None = state.get("principal")
        route = scope.get("route")
        client = scope.get("client")
        app = scope["app"]
        with session_scope(app.state.engine) as session:
            record_event(
                session,
                "export",
                actor_user_id=principal.user_id if principal else None,
                actor_username=principal.username if principal else None,
                actor_organisation_id=principal.organisation_id if principal else None,
                object_type="route",
                object_id=(getattr(route, "path", None) or scope.get("path", ""))[:64],
                ip_address=client[0] if client else None,
                request_id=state.get("request_id"),
                detail={
                    "path": scope.get("path", "")[:300],
                    "query": scope.get("query_string", b"").decode("latin-1")[:300],
                    "media_type": seen["media_type"],
                    "disposition": seen["disposition"],
                },
            )
