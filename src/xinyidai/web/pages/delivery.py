"""Where notifications go besides the site: a person's channels, an organisation's webhooks, the operator's
view of every delivery and of the local SMS outbox."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core.access import Permission, Principal
from xinyidai.core.delivery import service as delivery
from xinyidai.core.delivery.fanout import SEVERITIES
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_value, form_values, handle_form, redirect
from xinyidai.web.templating import render

router = APIRouter()

GROUPS = list(delivery.TOPIC_GROUP_LABELS)


def _channels_context(
    request: Request, db: DbSession, principal: Principal, **extra: object
) -> dict[str, object]:
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "choices": delivery.channel_choices(db, principal.user_id or 0),
        "groups": delivery.TOPIC_GROUP_LABELS,
        "severities": SEVERITIES,
        "phone": delivery.phone_of(db, principal.user_id or 0),
        "saved": False,
        "values": {},
    }
    context.update(extra)
    return context


@router.get("/account/notifications")
def channels_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)
) -> Response:
    return render(request, "delivery_channels.html", _channels_context(request, db, principal))


@router.post("/account/notifications")
def save_channels(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.AUTHENTICATED)
) -> Response:
    def act() -> Response:
        chosen = set(form_values(request, "sms"))
        delivery.save_channel_choices(
            db,
            principal,
            {g: (g in chosen, form_value(request, f"severity_{g}", "warning")) for g in GROUPS},
        )
        db.commit()
        return render(
            request, "delivery_channels.html", _channels_context(request, db, principal, saved=True)
        )

    return handle_form(
        request, db, "delivery_channels.html", lambda: _channels_context(request, db, principal), act
    )


def _webhooks_context(
    request: Request, db: DbSession, principal: Principal, **extra: object
) -> dict[str, object]:
    request.state.nav = navigation_for(principal)
    context: dict[str, object] = {
        "endpoints": delivery.endpoints_of(db, principal),
        "log": delivery.webhook_deliveries(db, principal),
        "groups": delivery.TOPIC_GROUP_LABELS,
        "status_labels": delivery.STATUS_LABELS,
        "values": {},
    }
    context.update(extra)
    return context


@router.get("/org/webhooks")
def webhooks_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE)
) -> Response:
    return render(request, "delivery_webhooks.html", _webhooks_context(request, db, principal))


@router.post("/org/webhooks")
def create_webhook(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE),
) -> Response:
    def act() -> Response:
        endpoint, secret = delivery.create_endpoint(
            db,
            principal,
            url=form_value(request, "url"),
            topic_groups=form_values(request, "topic_groups"),
            settings=settings,
        )
        db.commit()
        return render(
            request,
            "delivery_webhooks.html",
            _webhooks_context(request, db, principal, secret=secret, secret_for=endpoint),
        )

    return handle_form(
        request, db, "delivery_webhooks.html", lambda: _webhooks_context(request, db, principal), act
    )


@router.post("/org/webhooks/{endpoint_id}/rotate")
def rotate_webhook_secret(
    request: Request,
    endpoint_id: int,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE),
) -> Response:
    secret = delivery.rotate_secret(db, principal, endpoint_id, settings)
    db.commit()
    endpoint = next(e for e in delivery.endpoints_of(db, principal) if e.id == endpoint_id)
    return render(
        request,
        "delivery_webhooks.html",
        _webhooks_context(request, db, principal, secret=secret, secret_for=endpoint),
    )


@router.post("/org/webhooks/{endpoint_id}/test")
def test_webhook(
    endpoint_id: int, db: DbSession, principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE)
) -> Response:
    delivery.send_test(db, principal, endpoint_id)
    db.commit()
    return redirect("/org/webhooks")


@router.post("/org/webhooks/{endpoint_id}/pause")
def pause_webhook(
    endpoint_id: int, db: DbSession, principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE)
) -> Response:
    delivery.set_endpoint_active(db, principal, endpoint_id, False)
    db.commit()
    return redirect("/org/webhooks")


@router.post("/org/webhooks/{endpoint_id}/resume")
def resume_webhook(
    endpoint_id: int, db: DbSession, principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE)
) -> Response:
    delivery.set_endpoint_active(db, principal, endpoint_id, True)
    db.commit()
    return redirect("/org/webhooks")


@router.post("/org/webhooks/deliveries/{delivery_id}/retry")
def retry_webhook_delivery(
    delivery_id: int, db: DbSession, principal: Principal = page_guard(Permission.WEBHOOKS_MANAGE)
) -> Response:
    delivery.retry_now(db, principal, delivery_id)
    db.commit()
    return redirect("/org/webhooks")


@router.get("/operator/deliveries")
def operator_deliveries(
    request: Request,
    db: DbSession,
    status: str = "",
    principal: Principal = page_guard(Permission.DELIVERIES_OPERATE),
) -> Response:
    request.state.nav = navigation_for(principal)
    status = status if status in delivery.STATUS_LABELS else ""
    return render(
        request,
        "delivery_operator.html",
        {
            "log": delivery.deliveries_for_operator(db, status=status),
            "status": status,
            "status_labels": delivery.STATUS_LABELS,
            "channel_labels": delivery.CHANNEL_LABELS,
        },
    )


@router.post("/operator/deliveries/{delivery_id}/retry")
def operator_retry(
    delivery_id: int, db: DbSession, principal: Principal = page_guard(Permission.DELIVERIES_OPERATE)
) -> Response:
    delivery.retry_now(db, principal, delivery_id)
    db.commit()
    return redirect("/operator/deliveries")


@router.get("/operator/sms-outbox")
def sms_outbox(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.DELIVERIES_OPERATE)
) -> Response:
    request.state.nav = navigation_for(principal)
    return render(request, "delivery_sms_outbox.html", {"messages": delivery.sms_outbox(db)})


# Served only in development and demo installations (see web/app.py): the demo bank's webhook points here,
# so the demo shows signed deliveries arriving without any outside system.
demo_router = APIRouter()


@demo_router.post("/demo/webhook-receiver", include_in_schema=False)
async def demo_webhook_receiver(request: Request, db: DbSession, settings: SettingsDep) -> Response:
    body = await request.body()
    ok = delivery.verify_received(
        db,
        settings,
        request.headers.get("x-xyd-delivery", ""),
        request.headers.get("x-xyd-timestamp", ""),
        body,
        request.headers.get("x-xyd-signature", ""),
    )
    return Response(status_code=204 if ok else 401)
