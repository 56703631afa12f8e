"""In-site messages: every logged-in user's inbox of alerts and notices addressed to them or their role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core import notifications
from xinyidai.core.access import Permission, Principal
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import redirect
from xinyidai.web.templating import render

router = APIRouter(prefix="/notifications")


@router.get("")
def inbox(
    request: Request,
    db: DbSession,
    unread: str = "",
    principal: Principal = page_guard(Permission.AUTHENTICATED),
) -> Response:
    request.state.nav = navigation_for(principal)
    items = notifications.inbox(db, principal, unread_only=bool(unread))
    return render(request, "notifications.html", {"items": items, "unread": unread})


@router.post("/{notification_id}/read")
def read(
    notification_id: int, db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)
) -> Response:
    notification = notifications.mark_read(db, principal, notification_id)
    db.commit()
    # Opening a message takes the reader to the matter it is about (only ever a path on this site).
    link = notification.link if notification.link and notification.link.startswith("/") else "/notifications"
    return redirect(link if not link.startswith("//") else "/notifications")


@router.post("/read-all")
def read_all(db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)) -> Response:
    notifications.mark_all_read(db, principal)
    db.commit()
    return redirect("/notifications")
