"""The report's charts as ReportLab vector drawings: one palette, labelled axes, the
benchmark in grey.

Drawn with ReportLab's own graphics rather than matplotlib: vector in the PDF, the
report's embedded font, nothing rasterised, no second library's metadata to pin, and
half a second less to import. Each function returns a ``Drawing`` (a flowable).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Polygon, Rect, String
from reportlab.lib.colors import Color, HexColor

from trackrecord.reports.style import FONT, FONT_BOLD

STRATEGY = HexColor("#1F3A5F")
BENCHMARK = HexColor("#9AA0A6")
SECOND = HexColor("#2E8B74")
LOSS = HexColor("#B03A2E")
GRID = HexColor("#E3E6EA")
AXIS = HexColor("#5F6368")
TEXT = HexColor("#202124")
LEFT, RIGHT, BOTTOM, TOP = 44.0, 10.0, 22.0, 26.0


@dataclass(frozen=True, slots=True)
class Series:
    values: Sequence[float | None]
    color: Color
    label: str
    width: float = 1.2


def _frame(width: float, height: float, title: str) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 11, title, fontName=FONT_BOLD, fontSize=9, fillColor=TEXT))
    return drawing


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _ticks(low: float, high: float, target: int = 5) -> list[float]:
    step = _nice_step(high - low, target)
    first = math.ceil(low / step - 1e-9) * step
    out, value = [], first
    while value <= high + 1e-9 * max(1.0, abs(high)):
        out.append(round(value, 10))
        value += step
    return out


def _legend(drawing: Drawing, series: Sequence[Series], width: float, height: float) -> None:
    """Right-aligned on the title's line, or on the line under it when they would meet."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    title = drawing.contents[0]
    title_end = stringWidth(title.text, FONT_BOLD, 9) + 10
    needed = sum(stringWidth(s.label, FONT, 7) + 22 for s in series)
    y = height - 11 if width - RIGHT - needed > title_end else height - 21
    x = width - RIGHT
    for s in reversed(series):
        text_width = stringWidth(s.label, FONT, 7)
        x -= text_width
        drawing.add(String(x, y, s.label, fontName=FONT, fontSize=7, fillColor=AXIS))
        drawing.add(Line(x - 14, y + 2.5, x - 3, y + 2.5, strokeColor=s.color, strokeWidth=2))
        x -= 22


def _time_axis(drawing: Drawing, days: Sequence[date], x_of: Callable[[int], float], y0: float, y1: float) -> None:
    years = sorted({d.year for d in days})
    step = max(1, math.ceil(len(years) / 9))
    shown = {y for y in years if (y - years[0]) % step == 0}
    first_index: dict[int, int] = {}
    for i, d in enumerate(days):
        first_index.setdefault(d.year, i)
    if len(years) <= 2:
        months: dict[tuple[int, int], int] = {}
        for i, d in enumerate(days):
            months.setdefault((d.year, d.month), i)
        every = max(1, math.ceil(len(months) / 8))
        for n, ((year, month), i) in enumerate(sorted(months.items())):
            if n % every:
                continue
            x = x_of(i)
            drawing.add(Line(x, y0, x, y1, strokeColor=GRID, strokeWidth=0.5))
            drawing.add(String(x, y0 - 10, f"{year}-{month:02d}", fontName=FONT, fontSize=6.5, fillColor=AXIS,
                               textAnchor="middle"))
        return
    for year in years:
        if year not in shown or first_index[year] == 0 and len(days) > 1 and days[0].month > 6:
            continue
        x = x_of(first_index[year])
        drawing.add(Line(x, y0, x, y1, strokeColor=GRID, strokeWidth=0.5))
        drawing.add(String(x, y0 - 10, str(year), fontName=FONT, fontSize=6.5, fillColor=AXIS, textAnchor="middle"))


def _value_axis(drawing: Drawing, ticks: Sequence[float], y_of: Callable[[float], float], x0: float, x1: float,
                label: Callable[[float], str], axis_title: str, height: float) -> None:
    texts = _distinct_labels(ticks, label)
    for tick, text in zip(ticks, texts):
        y = y_of(tick)
        drawing.add(Line(x0, y, x1, y, strokeColor=GRID, strokeWidth=0.5))
        drawing.add(String(x0 - 3, y - 2.2, text, fontName=FONT, fontSize=6.5, fillColor=AXIS,
                           textAnchor="end"))
    if axis_title:
        drawing.add(String(x0, height - TOP + 4, axis_title, fontName=FONT, fontSize=6.5, fillColor=AXIS,
                           textAnchor="end"))


def line_chart(days: Sequence[date], series: Sequence[Series], width: float, height: float, title: str,
               value_label: Callable[[float], str], axis_title: str = "", log: bool = False,
               zero_line: bool = False) -> Drawing:
    """Lines over time; ``log`` plots on a log scale with ticks at 1-2-5 multiples."""
    drawing = _frame(width, height, title)
    x0, x1, y0, y1 = LEFT, width - RIGHT, BOTTOM, height - TOP
    points = [v for s in series for v in s.values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if len(days) < 2 or not points:
        drawing.add(String(width / 2, height / 2, "not enough data for this chart yet", fontName=FONT, fontSize=8,
                           fillColor=AXIS, textAnchor="middle"))
        return drawing
    transform = math.log10 if log else (lambda v: v)
    low, high = transform(min(points)), transform(max(points))
    if zero_line:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    span = len(days) - 1

    def x_of(i: int) -> float:
        return x0 + (x1 - x0) * i / span

    def y_of(v: float) -> float:
        return y0 + (y1 - y0) * (transform(v) - low) / (high - low)

    ticks = _log_ticks(10 ** low, 10 ** high) if log else _ticks(low, high)
    _value_axis(drawing, ticks, y_of, x0, x1, value_label, axis_title, height)
    _time_axis(drawing, days, x_of, y0, y1)
    drawing.add(Line(x0, y0, x1, y0, strokeColor=AXIS, strokeWidth=0.6))
    if zero_line and low < 0 < high:
        drawing.add(Line(x0, y_of(0.0), x1, y_of(0.0), strokeColor=AXIS, strokeWidth=0.6))
    for s in series:
        for run in (_thin(r, int(x1 - x0)) for r in _runs(s.values, log)):
            drawing.add(PolyLine([c for i, v in run for c in (round(x_of(i), 2), round(y_of(v), 2))],
                                 strokeColor=s.color, strokeWidth=s.width, strokeLineJoin=1))
    _legend(drawing, series, width, height)
    return drawing


def _runs(values: Sequence[float | None], log: bool) -> list[list[tuple[int, float]]]:
    """Unbroken stretches of plottable points (a gap, a NaN or a non-positive value on a log scale ends one)."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v) or (log and v <= 0):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((i, v))
    return [r for r in runs if len(r) > 1]


def _thin(run: list[tuple[int, float]], buckets: int) -> list[tuple[int, float]]:
    """At most two points (the lowest and the highest, in order) per horizontal point of the
    chart: the same picture, extremes kept, a fraction of the PDF's path data."""
    if len(run) <= 2 * buckets:
        return run
    size = len(run) / buckets
    out: list[tuple[int, float]] = []
    for b in range(buckets):
        chunk = run[int(b * size):int((b + 1) * size)] or run[-1:]
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}))
    if out[-1] != run[-1]:
        out.append(run[-1])
    return out


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = []
    exponent = math.floor(math.log10(low))
    while 10 ** exponent <= high * 1.0001:
        for factor in (1, 2, 5):
            value = factor * 10 ** exponent
            if low <= value <= high:
                ticks.append(value)
        exponent += 1
    if len(ticks) > 8:
        ticks = [t for t in ticks if abs(math.log10(t) - round(math.log10(t))) < 1e-9] or ticks
    if len(ticks) < 2:
        return _ticks(low, high)
    return ticks


def underwater_chart(days: Sequence[date], drawdown: Sequence[float], width: float, height: float) -> Drawing:
    """The drawdown from the running peak, filled below zero."""
    drawing = line_chart(days, [Series(drawdown, LOSS, "drawdown from peak", 0.8)], width, height,
                         "Underwater curve (drawdown from the running peak)", _percent_label, "%", zero_line=True)
    if len(days) < 2 or not drawdown:
        return drawing
    low = min(min(drawdown), 0.0)
    high = 0.0
    pad = (high - low) * 0.05 or 0.5
    low, high = low - pad, high + pad
    x0, x1, y0, y1 = LEFT, width - RIGHT, BOTTOM, height - TOP
    span = len(days) - 1

    def y_of(v: float) -> float:
        return y0 + (y1 - y0) * (v - low) / (high - low)

    thinned = _thin(list(enumerate(drawdown)), int(x1 - x0))
    points = [(x0 + (x1 - x0) * i / span, y_of(v)) for i, v in thinned]
    outline = [c for x, y in points for c in (round(x, 2), round(y, 2))]
    outline += [round(x1, 2), round(y_of(0.0), 2), round(x0, 2), round(y_of(0.0), 2)]
    area = Polygon(outline, fillColor=Color(LOSS.red, LOSS.green, LOSS.blue, alpha=0.18), strokeColor=None,
                   strokeWidth=0)
    drawing.contents.insert(1, area)
    return drawing


def bar_chart(labels: Sequence[str], series: Sequence[Series], width: float, height: float, title: str,
              value_label: Callable[[float], str], axis_title: str = "") -> Drawing:
    """Grouped bars (one group per label, one bar per series)."""
    drawing = _frame(width, height, title)
    x0, x1, y0, y1 = LEFT, width - RIGHT, BOTTOM, height - TOP
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        drawing.add(String(width / 2, height / 2, "not enough data for this chart yet", fontName=FONT, fontSize=8,
                           fillColor=AXIS, textAnchor="middle"))
        return drawing
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    if high - low < 1e-12:
        high = low + 1.0
    pad = (high - low) * 0.06
    low, high = low - (pad if low < 0 else 0), high + pad

    def y_of(v: float) -> float:
        return y0 + (y1 - y0) * (v - low) / (high - low)

    _value_axis(drawing, _ticks(low, high), y_of, x0, x1, value_label, axis_title, height)
    group = (x1 - x0) / len(labels)
    bar = group * 0.8 / len(series)
    every = max(1, math.ceil(len(labels) / max(int((x1 - x0) / 26), 1)))
    for g, label in enumerate(labels):
        left = x0 + g * group + group * 0.1
        for k, s in enumerate(series):
            v = s.values[g]
            if v is None:
                continue
            top, bottom = y_of(max(v, 0.0)), y_of(min(v, 0.0))
            drawing.add(Rect(left + k * bar, bottom, bar * 0.92, max(top - bottom, 0.3), fillColor=s.color,
                             strokeColor=None, strokeWidth=0))
        if g % every == 0:
            drawing.add(String(x0 + g * group + group / 2, y0 - 10, label, fontName=FONT, fontSize=6.5,
                               fillColor=AXIS, textAnchor="middle"))
    drawing.add(Line(x0, y_of(0.0), x1, y_of(0.0), strokeColor=AXIS, strokeWidth=0.6))
    _legend(drawing, series, width, height)
    return drawing


def histogram(values: Sequence[float], width: float, height: float, title: str, bins: int = 20) -> Drawing:
    """Counts of monthly returns per bin, losses in red, gains in the strategy's colour."""
    drawing = _frame(width, height, title)
    if len(values) < 2:
        drawing.add(String(width / 2, height / 2, "not enough months for a distribution yet", fontName=FONT,
                           fontSize=8, fillColor=AXIS, textAnchor="middle"))
        return drawing
    low, high = min(values), max(values)
    step = _nice_step(high - low, bins)
    start = math.floor(low / step) * step
    count = max(1, math.ceil((high - start) / step + 1e-9))
    counts = [0] * count
    for v in values:
        counts[min(int((v - start) / step), count - 1)] += 1
    x0, x1, y0, y1 = LEFT, width - RIGHT, BOTTOM, height - TOP
    top = max(counts)

    def y_of(n: float) -> float:
        return y0 + (y1 - y0) * n / (top * 1.08)

    _value_axis(drawing, [t for t in _ticks(0, top) if t == int(t)], y_of, x0, x1, lambda n: f"{n:.0f}", "months",
                height)
    width_per = (x1 - x0) / count
    for i, n in enumerate(counts):
        left_edge = start + i * step
        color = LOSS if left_edge + step / 2 < 0 else STRATEGY
        if n:
            drawing.add(Rect(x0 + i * width_per, y0, width_per * 0.94, y_of(n) - y0, fillColor=color,
                             strokeColor=None, strokeWidth=0))
    every = max(1, math.ceil(count / 8))
    for i in range(0, count + 1, every):
        drawing.add(String(x0 + i * width_per, y0 - 10, f"{(start + i * step) * 100:.0f}%", fontName=FONT,
                           fontSize=6.5, fillColor=AXIS, textAnchor="middle"))
    drawing.add(Line(x0, y0, x1, y0, strokeColor=AXIS, strokeWidth=0.6))
    return drawing


def _distinct_labels(ticks: Sequence[float], label: Callable[..., str]) -> list[str]:
    """The tick labels, with more decimals when the default would print two ticks alike."""
    texts = [label(t) for t in ticks]
    decimals = 1
    while len(set(texts)) < len(texts) and decimals <= 4 and label in (_percent_label, ratio_label):
        texts = [label(t, decimals) for t in ticks]
        decimals += 1
    return texts


def _percent_label(value: float, decimals: int = 0) -> str:
    return f"{value * 100:.{decimals}f}%"


percent_label = _percent_label


def index_label(value: float) -> str:
    return f"{value:g}"


def ratio_label(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}"
