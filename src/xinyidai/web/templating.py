"""Jinja2 environment with gettext, autoescaping and the display helpers pages use."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from xinyidai.core import i18n
from xinyidai.core.clock import format_local
from xinyidai.core.masking import mask_phone
from xinyidai.web.labels import LABELS


def pager_query(params: Any, page: int) -> str:
    """The current query string with ``page`` replaced (for pagination links)."""
    items = [(k, v) for k, v in params.multi_items() if k != "page"] + [("page", str(page))]
    return urlencode(items)


def indicator_value(value: object, unit: str = "") -> str:
    """An indicator value for people: ratios as percentages, money with separators, yes/no in Chinese."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if not isinstance(value, int | float):
        return str(value)
    if unit == "%":
        return f"{value * 100:,.1f}%"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}{' ' + unit if unit else ''}"
    return f"{value:,.2f}{' ' + unit if unit else ''}"


@lru_cache
def environment() -> Environment:
    templates_dir = str(resources.files("xinyidai.web") / "templates")
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html", "xml"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = format_local
    env.filters["mask_phone"] = mask_phone
    env.globals["labels"] = LABELS
    env.filters["pager_query"] = pager_query
    env.filters["ivalue"] = indicator_value
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's language."""
    locale: str = getattr(request.state, "locale", i18n.DEFAULT_LOCALE)
    translations = i18n.translations(locale)
    env = environment()
    tmpl = env.get_template(template)
    ctx: dict[str, Any] = {
        "request": request,
        "locale": locale,
        "locales": i18n.LOCALE_LABELS,
        "principal": getattr(request.state, "principal", None),
        "current_user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": getattr(request.state, "nav", []),
        "_": translations.gettext,
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
    }
    ctx.update(context or {})
    return HTMLResponse(tmpl.render(ctx), status_code=status_code)
