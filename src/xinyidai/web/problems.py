"""Errors to responses: problem+json (RFC 9457) for the API, a friendly Chinese page for browsers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Scope

from xinyidai.core import i18n
from xinyidai.core.context import request_id_var
from xinyidai.core.errors import XydError
from xinyidai.core.i18n import N_
from xinyidai.web.deps import LOCALE_COOKIE, Redirect

log = logging.getLogger("xinyidai.errors")

PROBLEM_JSON = "application/problem+json"

_STATUS_TITLES = {
    400: N_("The request is malformed"),
    401: N_("Please log in first"),
    403: N_("You do not have permission to do this"),
    404: N_("The page or resource you asked for does not exist"),
    405: N_("This method is not allowed here"),
    413: N_("The upload is too large"),
    422: N_("The submitted data is invalid"),
    423: N_("The account is locked"),
    500: N_("Something went wrong on our side; the error has been logged — please try again later"),
}


def wants_json(path: str, accept: str) -> bool:
    return path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def _locale(request: Request) -> str:
    if wants_json(request.url.path, request.headers.get("accept", "")):
        return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(LOCALE_COOKIE))
    return i18n.negotiate(None, request.cookies.get(LOCALE_COOKIE))


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    code: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    """One problem for the API, or the error page for a browser."""
    request_id = request_id_var.get() or getattr(request.state, "request_id", None)
    if wants_json(request.url.path, request.headers.get("accept", "")):
        body: dict[str, Any] = {
            "type": f"https://xinyidai.org/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            "code": code,
            "request_id": request_id,
        }
        body.update(extra or {})
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    from xinyidai.web.templating import render

    request.state.locale = _locale(request)
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "request_id": request_id},
        status_code=status,
    )


def too_large_body(scope: Scope, max_bytes: int) -> Response:
    request = Request(scope)
    locale = _locale(request)
    title = i18n.translate(_STATUS_TITLES[413], locale=locale)
    detail = i18n.translate(
        "Request bodies may be at most %(mb)s MB", {"mb": round(max_bytes / 1024 / 1024, 1)}, locale
    )
    return problem(request, 413, title, detail, "payload_too_large")


def install_handlers(app: FastAPI) -> None:
    """Register the one place where errors become responses."""

    @app.exception_handler(XydError)
    async def xyd_error(request: Request, exc: XydError) -> Response:
        locale = _locale(request)
        detail = i18n.translate(exc.message, exc.params, locale)
        title = i18n.translate(exc.title, None, locale)
        extra: dict[str, Any] = {}
        if exc.field:
            extra["errors"] = [{"field": exc.field, "message": detail}]
        return problem(request, exc.status, title, detail, exc.code, extra)

    @app.exception_handler(Redirect)
    async def redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        locale = _locale(request)
        errors = [
            {
                "field": ".".join(
                    str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")
                ),
                "message": i18n.translate(_validation_message(err), _validation_params(err), locale),
            }
            for err in exc.errors()
        ]
        detail = (
            "；".join(f"{e['field']}: {e['message']}" for e in errors)
            if locale == "zh_CN"
            else "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        )
        title = i18n.translate(_STATUS_TITLES[422], None, locale)
        return problem(request, 422, title, detail, "validation_failed", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        locale = _locale(request)
        title = i18n.translate(
            _STATUS_TITLES.get(exc.status_code, N_("Request could not be processed")), None, locale
        )
        return problem(request, exc.status_code, title, title, f"http_{exc.status_code}")

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # A value the database refuses to store (a NUL character, a number beyond the column) is the
        # request's fault, not the server's; the unit of work was rolled back with the exception.
        log.info("refused unstorable value", extra={"path": request.url.path})
        locale = _locale(request)
        title = i18n.translate(_STATUS_TITLES[422], None, locale)
        detail = i18n.translate(
            N_("The request contains a value that cannot be stored, such as a NUL character"), None, locale
        )
        return problem(request, 422, title, detail, "unstorable_value")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        locale = _locale(request)
        title = i18n.translate(_STATUS_TITLES[500], None, locale)
        return problem(request, 500, title, title, "internal_error")


def describe_error(exc: XydError | ValidationError, locale: str) -> tuple[int, str | None, str]:
    """(status, field, translated message) for an error to show on a form."""
    if isinstance(exc, XydError):
        return exc.status, exc.field, i18n.translate(exc.message, exc.params, locale)
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    return 422, field, i18n.translate(_validation_message(first), _validation_params(first), locale)


_VALIDATION_MESSAGES = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Must be at least %(min_length)s characters"),
    "string_too_long": N_("Must be at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("The format is invalid"),
    "int_parsing": N_("Must be a whole number"),
    "greater_than_equal": N_("Must be at least %(ge)s"),
    "less_than_equal": N_("Must be at most %(le)s"),
    "too_short": N_("Must have at least %(min_length)s items"),
    "json_invalid": N_("The request body is not valid JSON"),
    "model_attributes_type": N_("The request body must be a JSON object"),
    "dict_type": N_("The request body must be a JSON object"),
}


def _validation_message(err: Any) -> str:
    return _VALIDATION_MESSAGES.get(err.get("type", ""), N_("The value is invalid"))


def _validation_params(err: Any) -> dict[str, Any]:
    ctx = err.get("ctx") or {}
    return {k: v for k, v in ctx.items() if isinstance(v, int | float | str)}
