"""The console's charts, drawn on the server as inline SVG: no script, no request of their own (the pages'
Content-Security-Policy forbids both). Each chart is an image with a title and a one-line description that a
screen reader reads instead (its total, its peak, the limit it is drawn against).

A series of up to `BARS` points is drawn as bars; a longer one (hours, 15-minute windows) as a filled line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import count

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 48, 22, 10
BARS = 62
_ids = count(1)


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def chart(
    series: Sequence[tuple[datetime, float]],
    title: str,
    *,
    unit: str = "",
    limit: float | None = None,
    limit_label: str = "",
    hourly: bool = False,
) -> Markup:
    """An SVG chart of `series` ((bucket start, value), oldest first), with `limit` as a dashed line."""
    n = len(series)
    values = [v for _, v in series]
    peak = max(values, default=0.0)
    top = max(peak, limit or 0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    ident = f"chart{next(_ids)}"

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    total = sum(values)
    described = (
        f"{title}: {_number(total)}{unit} in all, at most {_number(peak)}{unit}"
        + (f" ({'per hour' if hourly else 'per bucket'})" if n > BARS else "")
        + (f"; {limit_label} {_number(limit)}{unit}" if limit is not None else "")
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{ident}t {ident}d" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}t">{escape(title)}</title>'
        f'<desc id="{ident}d">{escape(described)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}"/>',
        f'<text class="label" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{escape(_number(top))}</text>',
        f'<text class="label" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    if n and n <= BARS:
        step = plot_w / n
        for i, v in enumerate(values):
            if v > 0:
                parts.append(
                    f'<rect class="bar" x="{LEFT + i * step + 1:.1f}" y="{y(v):.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{TOP + plot_h - y(v):.1f}"/>'
                )
    elif n:
        step = plot_w / max(n - 1, 1)
        points = " ".join(f"{LEFT + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polygon class="area" points="{LEFT},{TOP + plot_h} {points} {WIDTH - 4},{TOP + plot_h}"/>')
    if limit is not None:
        parts.append(
            f'<line class="limit" x1="{LEFT}" y1="{y(limit):.1f}" x2="{WIDTH - 4}" y2="{y(limit):.1f}"/>'
            f'<text class="label" x="{WIDTH - 6}" y="{y(limit) + (14 if y(limit) < TOP + 14 else -3):.1f}" '
            'text-anchor="end">'
            f"{escape(limit_label)} {escape(_number(limit))}{escape(unit)}</text>"
        )
    if n:
        parts.append(
            f'<text class="label" x="{LEFT}" y="{HEIGHT - 6}">{series[0][0]:%d %b}</text>'
            f'<text class="label" x="{WIDTH - 4}" y="{HEIGHT - 6}" text-anchor="end">'
            f"{series[-1][0]:%d %b %H:%M}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape(); numbers are formatted)
