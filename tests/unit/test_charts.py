"""The server-drawn SVG charts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from huoqi.web.charts import HEIGHT, PAD_BOTTOM, PAD_TOP, bar_chart, line_chart

START = date(2025, 6, 1)


def test_nothing_to_draw_gives_no_chart() -> None:
    assert line_chart([], label=str, title="x") is None
    assert bar_chart([], label=str, title="x") is None


def test_a_line_chart_has_one_point_per_day_and_escapes_its_labels() -> None:
    points = [(START + timedelta(days=n), Decimal("2.1") + n) for n in range(5)]
    svg = str(line_chart(points, label=lambda v: f"<{v}>", title="yield & co"))
    assert svg.count("<circle") == 5
    assert "yield &amp; co" in svg
    assert "&lt;2.1&gt;" in svg and "<2.1>" not in svg


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60))
def test_bars_stay_inside_the_plot(values: list[int]) -> None:
    points = [(START + timedelta(days=n), v) for n, v in enumerate(values)]
    svg = str(bar_chart(points, label=str, title="income"))
    assert svg.count("<rect") == len(values)
    bars = re.findall(
        r'<rect class="bar" x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"', svg
    )
    assert len(bars) == len(values)
    for y, height in bars:
        assert PAD_TOP - 0.5 <= float(y) <= HEIGHT - PAD_BOTTOM + 0.5
        assert float(height) >= 0
        assert float(y) + float(height) <= HEIGHT - PAD_BOTTOM + 0.5
