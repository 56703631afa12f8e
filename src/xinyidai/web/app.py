"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from xinyidai import __version__
from xinyidai.consoles import refresh_jobs
from xinyidai.core import i18n
from xinyidai.core.database import get_engine
from xinyidai.core.delivery import service as delivery
from xinyidai.core.evidence import service as evidence
from xinyidai.core.logging import configure_logging
from xinyidai.core.request_metrics import run_flusher
from xinyidai.core.settings import Settings, get_settings
from xinyidai.data.service import open_lake
from xinyidai.funds import subscriptions as funds_subscriptions
from xinyidai.market import service as market
from xinyidai.web import ops
from xinyidai.web.api import data as data_api
from xinyidai.web.api import evidence as evidence_api
from xinyidai.web.api import funds as funds_api
from xinyidai.web.api import market as market_api
from xinyidai.web.api import monitoring as monitoring_api
from xinyidai.web.api import policies as policies_api
from xinyidai.web.api import precredit as precredit_api
from xinyidai.web.api import reports as reports_api
from xinyidai.web.api import v1
from xinyidai.web.deps import CSRF_COOKIE, LOCALE_COOKIE, read_form, resolve_actor, verify_csrf
from xinyidai.web.export_audit import ExportAuditMiddleware
from xinyidai.web.middleware import (
    BodySizeLimitMiddleware,
    Metrics,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from xinyidai.web.pages import auth, data, home, notifications, operator, org, policies, quality, rating
from xinyidai.web.pages import compliance as compliance_pages
from xinyidai.web.pages import evidence as evidence_pages
from xinyidai.web.pages import operations as operations_pages
from xinyidai.web.pages import reports as report_pages
from xinyidai.web.pages import statistics as statistics_pages
from xinyidai.web.pages.delivery import demo_router as demo_delivery_router
from xinyidai.web.pages.delivery import router as delivery_router
from xinyidai.web.pages.enterprise_market import router as enterprise_market_router
from xinyidai.web.pages.fund_programmes import router as fund_programmes_router
from xinyidai.web.pages.fund_schemes import router as fund_schemes_router
from xinyidai.web.pages.funds import router as funds_router
from xinyidai.web.pages.government_market import router as government_market_router
from xinyidai.web.pages.institution_market import router as institution_market_router
from xinyidai.web.pages.monitoring import router as monitoring_router
from xinyidai.web.pages.subplatforms import router as subplatforms_router
from xinyidai.web.problems import install_handlers


class BrowserContextMiddleware:
    """Pick the page language from the cookie and hand out the pre-login CSRF cookie."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = scope.setdefault("state", {})
        state["locale"] = i18n.negotiate(None, request.cookies.get(LOCALE_COOKIE))
        token = request.cookies.get(CSRF_COOKIE)
        new_token = None
        if not token or len(token) > 100:
            token = new_token = secrets.token_urlsafe(24)
        state["csrf_token"] = token

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and new_token:
                cookie = f"{CSRF_COOKIE}={new_token}; Path=/; HttpOnly; SameSite=Lax" + (
                    "; Secure" if self.secure else ""
                )
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def stop_background(app: FastAPI) -> None:
    """Ask every background thread of the app to stop (at shutdown; tests that build an app outside the
    test environment call it so that no thread outlives them and writes into the next test's database)."""
    for stop in getattr(app.state, "background_stops", ()):
        stop.set()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    stop_background(app)
    # Shutting down: the traffic flusher writes this worker's last minutes before the process ends.
    flusher: threading.Thread | None = getattr(app.state, "traffic_flusher", None)
    if flusher is not None:
        await asyncio.to_thread(flusher.join, 10)


def _background(app: FastAPI, name: str, target: Callable[..., None], *args: object) -> threading.Thread:
    """Start ``target(*args, stop)`` in a daemon thread; ``stop_background`` sets its ``stop``."""
    stop = threading.Event()
    app.state.background_stops.append(stop)
    setattr(app.state, f"{name}_stop", stop)
    thread = threading.Thread(target=target, args=(*args, stop), name=f"xyd-{name}", daemon=True)
    thread.start()
    return thread


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (the environment's by default)."""
    settings = settings or get_settings()
    settings.ensure_home()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="xinyidai 信易贷平台 API",
        version=__version__,
        description="Open-source credit-easy-loan platform. Errors are application/problem+json (RFC 9457).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings.database_url)
    app.state.metrics = Metrics()
    funds_subscriptions.register()  # approved loans join funds' schemes; defaults reach the claims
    if settings.environment != "test":
        # Map the newest snapshots for instant decisions now rather than on the first applicant's request.
        threading.Thread(target=market.warm_decisions, args=(open_lake(settings),), daemon=True).start()
        engine = app.state.engine
        app.state.background_stops = []
        # SMS and webhook deliveries leave from here, never from the request that raised the notification.
        _background(app, "delivery", delivery.run_worker, engine, settings)
        # The evidence log's head is signed every XYD_EVIDENCE_HEAD_MINUTES while it grows.
        _background(app, "evidence", evidence.run_head_signer, engine, settings)
        # The console statistics: tonight's refresh (XYD_CONSOLES_REFRESH_AT) and the ones operators ask for.
        _background(app, "consoles_refresh", refresh_jobs.run_scheduler, engine, settings)
        # Each worker writes its traffic minutes every 10 s, so the operator's screen shows every worker's.
        app.state.traffic_flusher = _background(app, "traffic", run_flusher, engine, app.state.metrics.window)

    common = [Depends(read_form), Depends(resolve_actor), Depends(verify_csrf)]
    for pages in (
        auth.router,
        home.router,
        org.router,
        operator.router,
        operations_pages.router,
        data.router,
        quality.router,
        notifications.router,
        delivery_router,
        rating.router,
        report_pages.router,
        institution_market_router,
        enterprise_market_router,
        government_market_router,
        fund_programmes_router,
        funds_router,
        fund_schemes_router,
        policies.router,
        compliance_pages.router,
        evidence_pages.router,
        monitoring_router,
        subplatforms_router,
        statistics_pages.router,
    ):
        app.include_router(pages, dependencies=common, include_in_schema=False)
    app.include_router(v1.router, dependencies=common)
    app.include_router(data_api.router, dependencies=common)
    app.include_router(reports_api.router, dependencies=common)
    app.include_router(precredit_api.router, dependencies=common)
    app.include_router(market_api.router, dependencies=common)
    app.include_router(monitoring_api.router, dependencies=common)
    app.include_router(funds_api.router, dependencies=common)
    app.include_router(policies_api.router, dependencies=common)
    app.include_router(evidence_api.router, dependencies=common)
    app.include_router(ops.router)
    if settings.environment in ("development", "demo"):
        app.include_router(demo_delivery_router)  # the demo bank's webhook receiver

    static_dir = resources.files("xinyidai.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    # Swagger UI's assets come from the swagger-ui-bundle package: no CDN at run time.
    app.mount("/api/docs-assets", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="xinyidai API",
            swagger_js_url="/api/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-assets/swagger-ui.css",
            swagger_favicon_url="/api/docs-assets/favicon-32x32.png",
        )

    install_handlers(app)
    app.add_middleware(ExportAuditMiddleware)  # every download is an audit record
    app.add_middleware(BrowserContextMiddleware, secure=settings.cookie_secure)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
