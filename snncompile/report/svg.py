"""Horizontal bar charts written as SVG text, without a plotting library.

The HTML reports embed three bar charts; drawing them with matplotlib cost about 1.5 s per
report (import and rasterising), paid by every ``--target loihi`` compile. These charts are
plain SVG 1.1 written directly: a title, one row per bar (label, stacked segments, optional
value label), vertical grid lines with tick labels and an optional legend.

Scales: linear, :math:`x \\mapsto x / x_{max}`, or symmetric-log with linear threshold
:math:`c`, :math:`s(x) = x / c` for :math:`x \\le c` and :math:`1 + \\log_{10}(x / c)` above
(matplotlib's ``symlog`` with base 10), so that zero and counts over six decades share an axis.
Text widths are estimated (0.6 em per character): no font metrics are needed.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "bar_chart", "img_tag"]

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
_LABEL_PX = 11
_ROW = 18
_CHAR = 0.6  # estimated advance per character, in em
_PLOT_WIDTH = 420
_MARGIN = 8
_LABEL_STYLES = {
    "": 'fill="#1d2330"',
    "bad": 'fill="#c0392b" font-weight="bold"',
    "muted": 'fill="#777777" font-style="italic"',
}


@dataclass(frozen=True)
class Bar:
    """One row of a chart.

    Attributes:
        label: the row's label (left of the axis).
        segments: ``(value, colour)`` pairs, stacked left to right.
        value_label: text written right of the bar (``None``: none).
        style: the label's style: ``""``, ``"bad"`` (bold red) or ``"muted"`` (grey italic).
    """

    label: str
    segments: tuple[tuple[float, str], ...]
    value_label: str | None = None
    style: str = ""

    @property
    def total(self) -> float:
        return sum(value for value, _ in self.segments)


def _width(text: str, size: float) -> float:
    return len(text) * size * _CHAR


def _nice_step(span: float, ticks: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about ``ticks`` intervals."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _tick_text(value: float) -> str:
    if value == 0:
        return "0"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


def _symlog(value: float, linthresh: float) -> float:
    return value / linthresh if value <= linthresh else 1.0 + math.log10(value / linthresh)


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    xlabel: str,
    log_threshold: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """A horizontal bar chart as an SVG document.

    Args:
        title: the chart's title.
        bars: the rows, top to bottom.
        xlabel: the axis label.
        log_threshold: ``None`` for a linear axis, else the linear threshold :math:`c` of a
            symmetric-log axis.
        legend: ``(label, colour)`` entries shown under the axis.
    """
    esc = html.escape
    label_width = max([_width(b.label, _LABEL_PX) for b in bars], default=0.0) + 6
    value_width = max([_width(b.value_label or "", 10) for b in bars], default=0.0) + 4
    top = 26
    left = _MARGIN + label_width
    height_rows = _ROW * max(len(bars), 1)
    axis_y = top + height_rows
    legend_width = sum(24 + _width(label, 10) for label, _ in legend)
    width = max(left + _PLOT_WIDTH + value_width, left + legend_width) + _MARGIN
    total_height = axis_y + 36 + (18 if legend else 0)
    largest = max([b.total for b in bars], default=0.0)
    ticks: list[float]
    if log_threshold is None:
        limit = largest * 1.05 or 1.0
        step = _nice_step(limit)
        ticks = [i * step for i in range(int(limit / step) + 1)]
        span = limit

        def scale(value: float) -> float:
            return value / span * _PLOT_WIDTH

    else:
        threshold = log_threshold
        decades = math.ceil(math.log10(max(largest, threshold) / threshold)) + 0.3
        span = 1.0 + decades
        ticks = [0.0, *(threshold * 10**k for k in range(int(decades) + 1))]

        def scale(value: float) -> float:
            return _symlog(max(value, 0.0), threshold) / span * _PLOT_WIDTH

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{total_height:.0f}" viewBox="0 0 {width:.0f} {total_height:.0f}" '
        f'font-family="{_FONT}">',
        f'<rect width="{width:.0f}" height="{total_height:.0f}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="16" font-size="13" text-anchor="middle" '
        f'fill="#1d2330">{esc(title)}</text>',
    ]
    for tick in ticks:
        x = left + scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#d9dde4" '
            'stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{axis_y + 13}" font-size="10" text-anchor="middle" '
            f'fill="#5f6673">{esc(_tick_text(tick))}</text>'
        )
    for row, bar in enumerate(bars):
        y = top + row * _ROW
        mid = y + _ROW / 2 + 4
        parts.append(
            f'<text x="{left - 6:.1f}" y="{mid:.1f}" font-size="{_LABEL_PX}" '
            f'text-anchor="end" {_LABEL_STYLES[bar.style]}>{esc(bar.label)}</text>'
        )
        start = 0.0
        for value, colour in bar.segments:
            x0, x1 = left + scale(start), left + scale(start + value)
            if value > 0:
                parts.append(
                    f'<rect class="bar" x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.5):.1f}" '
                    f'height="{_ROW - 6}" fill="{colour}"/>'
                )
            start += value
        if bar.value_label:
            parts.append(
                f'<text x="{left + scale(start) + 3:.1f}" y="{mid:.1f}" font-size="10" '
                f'fill="#1d2330">{esc(bar.value_label)}</text>'
            )
    parts.append(
        f'<line x1="{left:.1f}" y1="{axis_y}" x2="{left + _PLOT_WIDTH:.1f}" y2="{axis_y}" '
        'stroke="#5f6673" stroke-width="1"/>'
        f'<text x="{left + _PLOT_WIDTH / 2:.1f}" y="{axis_y + 28}" font-size="11" '
        f'text-anchor="middle" fill="#1d2330">{esc(xlabel)}</text>'
    )
    x = left
    for label, colour in legend:
        y = axis_y + 38
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 9}" font-size="10" fill="#1d2330">'
            f"{esc(label)}</text>"
        )
        x += 24 + _width(label, 10)
    parts.append("</svg>")
    return "".join(parts)


def img_tag(svg: str, alt: str) -> str:
    """``svg`` as a self-contained ``<img>`` (a base64 ``data:`` URI)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'
