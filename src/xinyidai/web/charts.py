"""Charts drawn on the server as inline SVG: bar, stacked bar and line.

No JavaScript, no inline ``style`` (the content policy forbids it: presentation attributes only), and
nothing from a CDN (DESIGN.md: no third-party code committed): each mark carries a
``<title>`` the browser shows as a tooltip, a bar may be a link (drill-down: a city's bar opens its
districts), and the same SVG goes into the PDF exports, which WeasyPrint draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#1f5fbf", "#f79009", "#067647", "#b42318", "#7a5af8", "#0e9384", "#c11574", "#667085")
WIDTH = 640
LEFT = 150  # room for the category labels of horizontal bars
ROW = 22
PLOT_HEIGHT = 200


@dataclass(frozen=True)
class Bar:
    """One category of a bar chart: its label, value, an optional link and the text of its tooltip."""

    label: str
    value: float
    href: str | None = None
    tooltip: str = ""


def number(value: Decimal | int | float | None) -> float:
    return 0.0 if value is None else float(value)


def _fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _short(text: str, limit: int = 12) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(height: int, title: str, testid: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" data-testid="{escape(testid)}" '
        f'font-family="Noto Sans CJK SC, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str = "", testid: str = "bar-chart") -> Markup:
    """Horizontal bars, longest first as given; a bar with ``href`` is a link (drill-down)."""
    if not bars:
        return Markup("")
    height = ROW * len(bars) + 10
    top = max((b.value for b in bars), default=0.0) or 1.0
    span = WIDTH - LEFT - 90
    parts = _open(height, title, testid)
    for i, bar in enumerate(bars):
        y = 5 + i * ROW
        w = max(0.0, bar.value) / top * span
        tip = bar.tooltip or f"{bar.label}: {_fmt(bar.value)} {unit}".strip()
        mark = (
            f'<g class="bar"><title>{escape(tip)}</title>'
            f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end" fill="#344054">'
            f"{escape(_short(bar.label))}</text>"
            f'<rect x="{LEFT}" y="{y + 3}" width="{w:.1f}" height="{ROW - 7}" rx="2" fill="{PALETTE[0]}"/>'
            f'<text x="{LEFT + w + 4:.1f}" y="{y + 14}" fill="#475467">{escape(_fmt(bar.value))}</text></g>'
        )
        if bar.href:
            mark = f'<a href="{escape(bar.href)}" data-testid="drill">{mark}</a>'
        parts.append(mark)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped


def stacked_bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    unit: str = "",
    testid: str = "stacked-chart",
) -> Markup:
    """Vertical bars per category, each stacking the series; a legend below."""
    if not categories or not series:
        return Markup("")
    height = PLOT_HEIGHT + 60
    totals = [sum(max(0.0, s[1][i]) for s in series) for i in range(len(categories))]
    top = max(totals, default=0.0) or 1.0
    slot = (WIDTH - 60) / len(categories)
    bar_w = max(4.0, slot * 0.6)
    parts = _open(height, title, testid)
    parts.append(
        f'<line x1="50" y1="{PLOT_HEIGHT + 10}" x2="{WIDTH - 5}" y2="{PLOT_HEIGHT + 10}" stroke="#d0d5dd"/>'
    )
    parts.append(f'<text x="45" y="16" text-anchor="end" fill="#667085">{escape(_fmt(top))}</text>')
    for i, category in enumerate(categories):
        x = 55 + i * slot + (slot - bar_w) / 2
        base = PLOT_HEIGHT + 10.0
        for j, (name, values) in enumerate(series):
            value = max(0.0, values[i])
            h = value / top * PLOT_HEIGHT
            base -= h
            tip = f"{category} · {name}: {_fmt(value)} {unit}".strip()
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(tip)}</title></rect>'
            )
        if len(categories) <= 12 or i % max(1, len(categories) // 12) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{PLOT_HEIGHT + 24}" text-anchor="middle" fill="#475467">'
                f"{escape(category[-7:])}</text>"
            )
    parts.extend(_legend([name for name, _ in series], PLOT_HEIGHT + 44))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped


def line_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str = "",
    testid: str = "line-chart",
) -> Markup:
    """One polyline per series over the categories (a gap where a value is None), points with tooltips."""
    if not categories or not series:
        return Markup("")
    height = PLOT_HEIGHT + 60
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values, default=0.0) or 1.0
    step = (WIDTH - 80) / max(1, len(categories) - 1)
    parts = _open(height, title, testid)
    parts.append(
        f'<line x1="50" y1="{PLOT_HEIGHT + 10}" x2="{WIDTH - 5}" y2="{PLOT_HEIGHT + 10}" stroke="#d0d5dd"/>'
    )
    parts.append(f'<text x="45" y="16" text-anchor="end" fill="#667085">{escape(_fmt(top))}</text>')
    for j, (name, vs) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points: list[str] = []
        segments: list[list[str]] = [points]
        for i, v in enumerate(vs):
            if v is None:
                points = []
                segments.append(points)
                continue
            x = 60 + i * step
            y = PLOT_HEIGHT + 10 - v / top * PLOT_HEIGHT
            points.append(f"{x:.1f},{y:.1f}")
            tip = f"{categories[i]} · {name}: {_fmt(v)} {unit}".strip()
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
    for i, category in enumerate(categories):
        if len(categories) <= 12 or i % max(1, len(categories) // 12) == 0:
            parts.append(
                f'<text x="{60 + i * step:.1f}" y="{PLOT_HEIGHT + 24}" text-anchor="middle" fill="#475467">'
                f"{escape(category[-7:])}</text>"
            )
    parts.extend(_legend([name for name, _ in series], PLOT_HEIGHT + 44))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped


def _legend(names: Sequence[str], y: float) -> list[str]:
    out = []
    x = 55.0
    for j, name in enumerate(names):
        out.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
        )
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" fill="#344054">{escape(name)}</text>')
        x += 24 + 12 * len(name)
    return out
