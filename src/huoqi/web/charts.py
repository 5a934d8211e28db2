"""Small SVG charts drawn on the server: no chart library, no JavaScript, readable on a phone.

Values arrive as exact numbers (Decimal percent, integer fen) and are only turned into
coordinates here; labels show them in their exact form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 12, 14, 28

Number = Decimal | int


def _scale(values: Sequence[Number]) -> tuple[Decimal, Decimal]:
    low, high = Decimal(min(values)), Decimal(max(values))
    if low == high:
        low, high = low - 1, high + 1
    margin = (high - low) / 10
    return low - margin if low - margin > 0 or low < 0 else Decimal(0), high + margin


def _frame(
    points: Sequence[tuple[date, Number]],
    label: Callable[[Number], str],
    low: Decimal,
    high: Decimal,
    title: str,
) -> list[str]:
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for n in range(3):
        value = low + (high - low) * n / 2
        y = PAD_TOP + inner_h - inner_h * n / 2
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(label(value))}</text>'
        )
    first, last = points[0][0], points[-1][0]
    parts.append(f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 8}">{first:%m-%d}</text>')
    parts.append(
        f'<text class="axis" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" '
        f'text-anchor="end">{last:%m-%d}</text>'
    )
    return parts


def _x(index: int, count: int) -> float:
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + (inner_w * index / (count - 1) if count > 1 else inner_w / 2)


def _y(value: Number, low: Decimal, high: Decimal) -> float:
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    return float(PAD_TOP + inner_h - inner_h * (Decimal(value) - low) / (high - low))


def line_chart(
    points: Sequence[tuple[date, Number]], *, label: Callable[[Number], str], title: str
) -> Markup | None:
    """A line over the points (date order), or None when there is nothing to draw."""
    if not points:
        return None
    low, high = _scale([value for _, value in points])
    parts = _frame(points, label, low, high, title)
    coords = " ".join(
        f"{_x(i, len(points)):.1f},{_y(value, low, high):.1f}"
        for i, (_, value) in enumerate(points)
    )
    parts.append(f'<polyline class="line" points="{coords}"/>')
    for i, (day, value) in enumerate(points):
        parts.append(
            f'<circle class="dot" cx="{_x(i, len(points)):.1f}" cy="{_y(value, low, high):.1f}" '
            f'r="3"><title>{day.isoformat()}: {escape(label(value))}</title></circle>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped or numeric)


def bar_chart(
    points: Sequence[tuple[date, Number]], *, label: Callable[[Number], str], title: str
) -> Markup | None:
    """Bars from zero for non-negative values (daily income, flows)."""
    if not points:
        return None
    high = Decimal(max(*(value for _, value in points), 1))
    low = Decimal(0)
    high += high / 10
    parts = _frame(points, label, low, high, title)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    width = max(1.0, inner_w / len(points) * 0.7)
    for i, (day, value) in enumerate(points):
        centre = PAD_LEFT + inner_w * (i + 0.5) / len(points)
        top = _y(value, low, high)
        parts.append(
            f'<rect class="bar" x="{centre - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{max(0.0, HEIGHT - PAD_BOTTOM - top):.1f}">'
            f"<title>{day.isoformat()}: {escape(label(value))}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped or numeric)
