"""The monthly report as an A4 PDF (ReportLab), byte for byte the same for the same model.

Reusable building blocks: ``render_pdf(pages, header)`` lays out any list of flowables
with the report's header (label and period on every page) and footer (page N of M, the
ledger head); each ``*_section`` returns the flowables of one section. Invariant mode,
the creation date pinned to the period's end (``ReportTimeStamp``), embedded fonts, no
clock, environment, locale or working directory read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from trackrecord.analytics.wording import rolling_sharpe_note
from trackrecord.reports import charts
from trackrecord.reports import formatting as fmt
from trackrecord.reports.annotations import commentary_blocks
from trackrecord.reports.content import NO_RETURN_YET, Dated, MonthlyReport, PositionRow
from trackrecord.reports.style import (
    BAND,
    FONT,
    FONT_BOLD,
    INK,
    MUTED,
    NAVY,
    RULE,
    drawable,
    label_colour,
    register_fonts,
    styles,
)

MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN
FRAME_HEIGHT = A4[1] - 2 * MARGIN - 18
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
GAIN = HexColor("#1E7B45")
LOSS = HexColor("#B03A2E")


@dataclass(frozen=True, slots=True)
class Header:
    """What every page shows: the label, the title and period, the account, the ledger head."""

    label: str
    title: str
    account: str
    head_seq: int
    head_hash: str
    created: date


class ReportTimeStamp:
    """ReportLab's timestamp, pinned to a date (midnight UTC): read by its PDF date objects."""

    def __init__(self, day: date) -> None:
        moment = datetime.combine(day, time(0, 0), tzinfo=timezone.utc)
        self.t = moment.timestamp()
        self.lt = moment.timetuple()
        self.YMDhms = tuple(self.lt)[:6]
        self.dhh = self.dmm = 0
        self.tzname = "UTC"

    @property
    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.t, timezone.utc)


def _pin_time(document: Any, stamp: ReportTimeStamp) -> None:
    """Replace the PDF document's timestamp, and the ID digest ReportLab seeded with it
    (from ``SOURCE_DATE_EPOCH`` or 2000-01-01 in invariant mode), by the report's date."""
    import hashlib

    document._timeStamp = stamp
    document.signature = hashlib.md5(usedforsecurity=False)
    document.signature.update(b"a reportlab document")
    document.signature.update(ascii(stamp.t).encode("ascii"))


def _canvas_class(header: Header) -> type[Canvas]:
    class ReportCanvas(Canvas):
        """Pages kept until the end so each footer can say "page N of M"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["invariant"] = 1
            super().__init__(*args, **kwargs)
            _pin_time(self._doc, ReportTimeStamp(header.created))
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                _draw_page_furniture(self, header, number, len(self._pages))
                Canvas.showPage(self)
            Canvas.save(self)

    return ReportCanvas


def _draw_page_furniture(canvas: Canvas, header: Header, number: int, total: int) -> None:
    width, height = A4
    top = height - MARGIN + 6
    canvas.saveState()
    colour = label_colour(header.label)
    canvas.setFont(FONT_BOLD, 9)
    label_width = canvas.stringWidth(header.label, FONT_BOLD, 9) + 12
    canvas.setFillColor(colour)
    canvas.roundRect(width - MARGIN - label_width, top - 4, label_width, 15, 2, stroke=0, fill=1)
    canvas.setFillColor(white)
    canvas.drawString(width - MARGIN - label_width + 6, top + 0.5, header.label)
    canvas.setFillColor(NAVY)
    canvas.setFont(FONT_BOLD, 9)
    canvas.drawString(MARGIN, top + 0.5, header.title)
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, 7.5)
    canvas.drawString(MARGIN + canvas.stringWidth(header.title, FONT_BOLD, 9) + 8, top + 0.5,
                      f"account {header.account}")
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, top - 8, width - MARGIN, top - 8)
    canvas.line(MARGIN, MARGIN - 2, width - MARGIN, MARGIN - 2)
    canvas.setFont(FONT, 6.5)
    canvas.drawString(MARGIN, MARGIN - 11, f"Built from ledger head seq {header.head_seq}, hash "
                                           f"{header.head_hash[:16]}\u2026  \u00b7  {header.label}")
    canvas.drawRightString(width - MARGIN, MARGIN - 11, f"Page {number} of {total}")
    canvas.restoreState()


def render_pdf(flowables: Sequence[Any], header: Header, title: str, subject: str, keywords: str = "") -> bytes:
    """The flowables on A4 pages with the report's header and footer, as PDF bytes."""
    register_fonts()
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 14,
                          bottomMargin=MARGIN + 4, title=title, author="trackrecord", subject=subject,
                          creator="trackrecord", keywords=keywords, invariant=1, pageCompression=1)
    frame = Frame(MARGIN, MARGIN + 4, WIDTH, FRAME_HEIGHT, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(list(flowables), canvasmaker=_canvas_class(header))
    return out.getvalue()


def monthly_pdf(report: MonthlyReport) -> bytes:
    register_fonts()
    period = report.period
    header = Header(report.label, f"Monthly report {MONTH_NAMES[period.first.month - 1]} {period.first.year}",
                    report.account, report.head_seq, report.head_hash, period.last)
    st = styles()
    flowables: list[Any] = []
    for section in (cover_section, key_figures_section, performance_charts_section, returns_section,
                    portfolio_section, trading_section, attribution_section, risk_section, annotations_section,
                    quality_section,
                    disclosures_section):
        flowables.extend(section(report, st))
    identity = (f"trackrecord-report:v1:{report.account}:{period.month}:{report.head_seq}:{report.head_hash}:"
                f"{report.genesis_hash}")
    return render_pdf(flowables, header, header.title + f" ({report.label})", f"account {report.account}", identity)


# -- sections -------------------------------------------------------------------------------------


def cover_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    period = report.period
    label_style = st["label"].clone("cover_label", textColor=label_colour(report.label))
    facts = [
        ("Account", report.account), ("Base currency", report.base_currency),
        ("Period", f"{period.first.isoformat()} to {period.last.isoformat()}"
                   + (f" (the month's last snapshot: {report.valued_on})" if report.ends_early else "")),
        ("Inception (base date)", report.inception.isoformat()), ("Benchmark", report.benchmark_label),
        ("Record frequency", report.frequency),
        ("Ledger head", f"seq {report.head_seq}"), ("Head hash", report.head_hash),
        ("Signing key fingerprint", report.key_fingerprint),
    ]
    headline = [cell for cell in report.figures[0].cells]
    # a month still open (or a record that stops inside it) is not the month's return: the tile says to when
    month = f"Month to {report.valued_on.isoformat()}" if report.ends_early and report.valued_on else "This month"
    names = (month, "Year to date", "Since inception", "Annualised")
    tiles = Table([[Paragraph(n, st["small"]) for n in names],
                   [Paragraph(f"<b>{fmt.shown(c, 'percent')}</b>", st["h2"].clone("tile", spaceBefore=0)) for c in headline]],
                  colWidths=[WIDTH / 4] * 4)
    tiles.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), BAND), ("LINEABOVE", (0, 0), (-1, 0), 2, NAVY),
                               ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return [
        Spacer(1, 8 * mm),
        Paragraph("Systematic sector momentum", st["h3"].clone("kicker", textColor=MUTED)),
        Paragraph(f"Monthly report<br/>{MONTH_NAMES[period.first.month - 1]} {period.first.year}", st["h1"]),
        *([Paragraph(f"to its last snapshot, {report.valued_on.isoformat()}: the month's sessions after it are not "
                     "in this report", st["h3"].clone("to_date", textColor=MUTED))]
          if report.ends_early and report.valued_on else []),
        Spacer(1, 6 * mm),
        Paragraph(report.label, label_style),
        Spacer(1, 4 * mm),
        Paragraph(_escape(report.strategy), st["body"]),
        Spacer(1, 6 * mm),
        tiles,
        Paragraph("Time-weighted returns, net of commissions; the annualised figure is shown only for a record of a "
                  "year or more." + (f" No snapshot between {report.month_base} and this month: the month's figures "
                                     f"run from the snapshot of {report.month_base}." if report.month_base else "")
                  + (f" The record begins at the close of {report.inception.isoformat()}, its base: no return in "
                     "this month yet." if headline[0].reason == NO_RETURN_YET else ""),
                  st["small"]),
        Spacer(1, 5 * mm),
        _facts_table(facts, st),
        Spacer(1, 5 * mm),
        growth_chart(report, 60 * mm),
        Spacer(1, 3 * mm),
        Paragraph("<b>How to verify.</b> Every figure here is rebuilt from the hash-chained ledger up to the head "
                  "above: <font face='Courier'>trackrecord report verify " + f"{period.month}.pdf</font> rebuilds "
                  "this file byte for byte and compares; an export bundle lets anyone do the same offline "
                  "(<font face='Courier'>trackrecord verify BUNDLE.zip</font>), checking each signature against "
                  "the key fingerprint above.", st["note"]),
        PageBreak(),
    ]


def _facts_table(rows: Sequence[tuple[str, str]], st: dict[str, Any]) -> Table:
    table = Table([[Paragraph(k, st["cell"].clone("k", textColor=MUTED)), Paragraph(_escape(v), st["cell"])]
                   for k, v in rows], colWidths=[42 * mm, WIDTH - 42 * mm])
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))
    return table


def key_figures_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    head = ["", "Month", "Year to date", "Since inception", "Annualised"]
    rows = [head] + [[row.label, *(fmt.shown(c, row.kind) for c in row.cells)] for row in report.figures]
    table = Table(rows, colWidths=[62 * mm] + [(WIDTH - 62 * mm) / 4] * 4, repeatRows=1)
    table.setStyle(_number_table_style(len(rows)))
    notes = [report.drawdown_line, report.track_record_line]
    if report.under_a_year:
        notes.append("The record is younger than a year: no figure is annualised (GIPS-style presentation).")
    notes.append("Month, year to date and since inception are cumulative; a dash marks a figure not defined for "
                 "that column.")
    return [Paragraph("Key figures", st["h2"]), table, Spacer(1, 3 * mm),
            *(Paragraph(_escape(n), st["note"]) for n in notes), Spacer(1, 4 * mm)]


def growth_chart(report: MonthlyReport, height: float) -> Any:
    """Growth of 1 (time-weighted) against the benchmark in grey; log scale past three years."""
    chart = report.chart
    long_record = len(chart.dates) > 2 and (chart.dates[-1] - chart.dates[0]).days > 3 * 365
    series = [charts.Series(chart.index, charts.STRATEGY, "strategy (TWR)")]
    if any(v is not None for v in chart.benchmark):
        series.append(charts.Series(chart.benchmark, charts.BENCHMARK, f"benchmark ({report.benchmark_label})", 1.0))
    scale = "log scale" if long_record else "linear scale"
    return charts.line_chart(chart.dates, series[::-1], WIDTH, height,
                             f"Growth of 1 since inception, time-weighted ({scale})", charts.index_label, "index",
                             log=long_record)


def performance_charts_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    chart = report.chart
    water = charts.underwater_chart(chart.dates, chart.drawdown, WIDTH, 44 * mm)
    note = rolling_sharpe_note(report.frequency, max(len(chart.dates) - 1, 0),
                               any(v is not None for v in chart.rolling_6m))
    if note is None:
        rolling: Any = charts.line_chart(
            chart.dates, [charts.Series(chart.rolling_6m, charts.BENCHMARK, "6 months", 0.9),
                          charts.Series(chart.rolling_12m, charts.STRATEGY, "12 months", 1.2)],
            WIDTH, 46 * mm, "Rolling Sharpe ratio (annualised, from daily returns)", charts.ratio_label,
            zero_line=True)
    else:
        rolling = Paragraph(note, st["note"])
    return [CondPageBreak(95 * mm), KeepTogether([water, Spacer(1, 3 * mm), rolling]), CondPageBreak(150 * mm)]


def returns_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    chart = report.chart
    years = sorted(chart.yearly)
    bars = charts.bar_chart(years, [charts.Series([chart.yearly.get(y) for y in years], charts.STRATEGY, "strategy"),
                                    charts.Series([chart.benchmark_yearly.get(y) for y in years], charts.BENCHMARK,
                                                  "benchmark")],
                            WIDTH / 2 - 3 * mm, 52 * mm, "Annual returns vs benchmark", charts.percent_label)
    hist = charts.histogram(list(chart.monthly.values()), WIDTH / 2 - 3 * mm, 52 * mm, "Distribution of monthly returns")
    pair = Table([[bars, hist]], colWidths=[WIDTH / 2, WIDTH / 2], hAlign="LEFT")
    pair.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return [Paragraph("Monthly returns (%)", st["h2"]), heat_table(report),
            Paragraph("Time-weighted, net of costs; the first and the current month may be partial. "
                      "Bench.: the benchmark's calendar-year return over the same sessions.", st["small"]),
            Spacer(1, 5 * mm), pair, CondPageBreak(110 * mm)]


def heat_table(report: MonthlyReport) -> Table:
    """Years x months with the year's total and the benchmark's, each cell shaded by its sign and size."""
    chart = report.chart
    years = sorted({m[:4] for m in chart.monthly})
    rows: list[list[str]] = [["Year", *MONTHS, "Total", "Bench."]]
    shades: list[tuple[int, int, float]] = []
    for r, year in enumerate(years, start=1):
        row = [year]
        for c, month in enumerate(range(1, 13), start=1):
            value = chart.monthly.get(f"{year}-{month:02d}")
            row.append("" if value is None else f"{value * 100:.1f}")
            if value is not None:
                shades.append((c, r, value))
        total, bench = chart.yearly.get(year), chart.benchmark_yearly.get(year)
        row += ["" if total is None else f"{total * 100:.1f}", "" if bench is None else f"{bench * 100:.1f}"]
        rows.append(row)
    size = 6.3 if len(years) > 14 else 7.2
    table = Table(rows, colWidths=[11 * mm] + [(WIDTH - 11 * mm - 30 * mm) / 12] * 12 + [15 * mm, 15 * mm],
                  rowHeights=[size + 5] * len(rows), repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), FONT, size), ("FONT", (0, 0), (-1, 0), FONT_BOLD, size),
             ("FONT", (0, 1), (0, -1), FONT_BOLD, size), ("FONT", (13, 1), (13, -1), FONT_BOLD, size),
             ("TEXTCOLOR", (14, 1), (14, -1), MUTED), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 1),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("LINEBELOW", (0, 0), (-1, 0), 0.6, NAVY),
             ("LINEBEFORE", (13, 0), (13, -1), 0.6, RULE)]
    for c, r, value in shades:
        style.append(("BACKGROUND", (c, r), (c, r), _shade(value)))
    table.setStyle(TableStyle(style))
    return table


def _shade(value: float) -> Color:
    strength = min(abs(value) / 0.08, 1.0) * 0.55 + 0.08
    base = GAIN if value >= 0 else LOSS
    return Color(1 - (1 - base.red) * strength, 1 - (1 - base.green) * strength, 1 - (1 - base.blue) * strength)


def position_rows(positions: Sequence[PositionRow]) -> list[list[str]]:
    """The positions table of the monthly and the weekly report, its header first."""
    rows = [["Symbol", "Quantity", "Price", "Price date", "Value", "Weight", "Unrealised P&L"]]
    rows += [[p.symbol, f"{p.quantity:,.0f}", fmt.DASH if p.price is None else fmt.price(p.price), p.price_date,
              fmt.DASH if p.value is None else fmt.money(p.value),
              fmt.DASH if p.weight is None else fmt.plain_percent(p.weight),
              fmt.DASH if p.unrealised is None else fmt.money(p.unrealised)] for p in positions]
    return rows


def portfolio_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    heading = (f"Positions at the month's last snapshot ({report.valued_on})" if report.ends_early
               else f"Positions at month end ({report.period.last.isoformat()})")
    out: list[Any] = [Paragraph(heading, st["h2"])]
    if report.positions:
        out.append(_data_table(position_rows(report.positions),
                               [24 * mm, 22 * mm, 24 * mm, 24 * mm, 32 * mm, 20 * mm, WIDTH - 146 * mm], left=(3,)))
    else:
        out.append(Paragraph("No position held at the month's last snapshot." if report.ends_early
                             else "No position held at month end.", st["body"]))
    cash = "not recorded" if report.cash is None else f"{fmt.money(report.cash)} {report.base_currency}"
    out.append(Paragraph(f"NAV {fmt.money(report.nav)} {report.base_currency}; cash {cash}.", st["note"]))
    out.append(Paragraph("The month's signal", st["h2"]))
    signal = report.signal
    if signal is None:
        reason = report.no_signal.reason if report.no_signal else "none was recorded"
        out.append(Paragraph(f"No signal was computed in this month: {_escape(reason)}.", st["body"]))
    else:
        rows = [["Rank", "Symbol", "Momentum", "Target weight", "Held before", "Why"]]
        rows += [[str(r.rank), r.symbol, fmt.DASH if r.momentum is None else fmt.percent(r.momentum),
                  fmt.plain_percent(r.target_weight), "yes" if r.held else "no", r.reason] for r in signal.rows]
        out.append(_data_table(rows, [14 * mm, 24 * mm, 26 * mm, 28 * mm, 24 * mm, WIDTH - 116 * mm],
                               left=(1, 4, 5)))
        out.append(Paragraph(f"Formation window {signal.formation}; inputs hash {signal.inputs_sha256[:32]}\u2026",
                             st["note"]))
    return out


def trading_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    out: list[Any] = [Paragraph("Trades of the month", st["h2"])]
    if report.trades:
        rows = [["Date", "Symbol", "Side", "Type", "Qty", "Decision", "Fill", "Delay bps", "Exec bps", "Total bps",
                 "Commission"]]
        rows += [[t.day, t.symbol, t.side, t.order_type, f"{t.quantity:,.0f}", fmt.price(t.decision), fmt.price(t.fill),
                  fmt.bps(t.delay_bps), fmt.bps(t.execution_bps), fmt.bps(t.total_bps),
                  fmt.DASH if t.commission is None else fmt.money(t.commission)] for t in report.trades]
        widths = [18 * mm, 15 * mm, 11 * mm, 10 * mm, 15 * mm, 18 * mm, 18 * mm, 15 * mm, 15 * mm, 15 * mm]
        out.append(_data_table(rows, widths + [WIDTH - sum(widths)], size=6.8, left=(1, 2, 3)))
        out.append(Paragraph("Slippage in basis points of the decision price, positive = cost; delay: decision price "
                             "to the session's close (or arrival), execution: that price to the fill.", st["small"]))
    else:
        out.append(Paragraph("No trade in this month.", st["body"]))
    out.append(Paragraph("Round trips closed in the month", st["h3"]))
    rows = [[label, fmt.shown(figure, kind)] for label, kind, figure in report.trade_summary]
    out.append(_data_table([["Statistic", "Value"], *rows], [60 * mm, 35 * mm]))
    out.append(Paragraph("Cash flows of the month", st["h3"]))
    out.extend(_dated(report.cashflows, "No deposit or withdrawal in this month.", st, report.base_currency))
    return out


def attribution_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    """The record against its own model (``trackrecord attribution``): nothing for a record
    without one."""
    table = report.attribution
    if table is None:
        return []
    title = Paragraph("Model vs account: where the return went", st["h2"])
    if table.unavailable is not None:
        return [KeepTogether([title, Paragraph(_escape(f"Not shown: {table.unavailable}."), st["note"])])]
    meaning = st["cell"].clone("meaning", fontSize=6.8, leading=8.4, textColor=MUTED)
    rows: list[list[Any]] = [["", "Month", "Year\nto date", "Since\ninception", "What it measures"]]
    for row in table.rows:
        shown = fmt.percent if row.unit == "percent" else fmt.basis_points
        label = row.label + (" (bp)" if row.key == "gap" else "")
        rows.append([label, *(fmt.DASH if c is None else shown(c) for c in row.cells),
                     Paragraph(_escape(row.meaning), meaning)])
    widths = [25 * mm, 16 * mm, 16 * mm, 17 * mm]
    grid = _data_table(rows, widths + [WIDTH - sum(widths)], size=7.2)
    gap_row = next(i for i, r in enumerate(table.rows, start=1) if r.key == "gap")
    grid.setStyle(TableStyle([("FONT", (0, 1), (-2, gap_row), FONT_BOLD, 7.2),
                              ("LINEBELOW", (0, gap_row), (-1, gap_row), 0.6, NAVY),
                              ("LEFTPADDING", (0, gap_row + 1), (0, -1), 10),
                              ("LEFTPADDING", (-1, 0), (-1, -1), 8),
                              ("ALIGN", (-1, 0), (-1, -1), "LEFT")]))
    not_run = report.no_signal is not None and report.no_signal.not_run
    untraded = " ".join(part for part in (
        f"Model rebalances the account did not trade on their session (refused, missed or late): "
        f"{', '.join(table.untraded)}." if table.untraded else
        "" if not_run else "The account traded every model rebalance on its session.",
        "This month's rebalance was not run: no signal was recorded, so the model, which trades the recorded signals, "
        "did not rebalance either, and what the month's trades would have done is in no row." if not_run else "",
    ) if part)
    notes = [
        "The model holds the recorded signals' target weights from the close of each rebalance session, in "
        "fractional shares, at no cost, with the account's deposits and withdrawals on the same dates. The gap "
        "between its time-weighted return and the account's is split into the rows under the gap, which sum to it "
        "exactly (implementation shortfall, Perold 1988). Buckets in basis points (1 bp = 0.01%); positive = a cost, "
        "the account fell short of the model by that much. A month's figures also carry the second-order effect of "
        "earlier months' costs (the account without them would have held that money), so a small one can have "
        "either sign.",
        table.nature,
        untraded,
        f"No FX row: every holding is in the base currency ({table.base_currency}).",
    ]
    note = st["small"].clone("attribution_note", spaceAfter=1.5)
    command = Paragraph(f"Month by month: <font face='Courier'>{_escape(table.command)}</font> (--json for "
                        "every figure).", note)
    return [KeepTogether([title, grid, Spacer(1, 2 * mm), *(Paragraph(_escape(n), note) for n in notes), command])]


def risk_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    return [Paragraph("Risk events", st["h2"]),
            Paragraph(f"Kill switch at month end: {_escape(report.kill_switch)}.", st["body"]),
            *_dated(report.risk_events, "No order denied, no plan refused and no kill-switch change in this month.", st)]


def annotations_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    """The month's pre- and post-trade annotations (the engine's reason for each order, the
    trader's notes) and the monthly commentary, as recorded in the ledger."""
    out: list[Any] = [Paragraph("Annotations", st["h2"])]
    if report.annotations:
        cell = st["cell"].clone("annotation", fontSize=7, leading=8.8)
        rows: list[list[Any]] = [["Date", "Symbol", "By", "Before the trade", "After the trade", "Versions"]]
        rows += [[a.day, a.symbol, Paragraph(_escape(a.author), cell), Paragraph(_escape(a.before), cell),
                  Paragraph(_escape(a.after) or fmt.DASH, cell), str(a.versions)]
                 for a in report.annotations]
        widths = [17 * mm, 14 * mm, 13 * mm, 0.0, 46 * mm, 14 * mm]
        widths[3] = WIDTH - sum(widths)
        # A note of up to 4,000 characters may be taller than a page: only then may its row go on over
        # the next page (measured on a probe table, so that every other report keeps its bytes).
        too_tall = _tallest_row(_data_table(rows, widths, size=7)) > FRAME_HEIGHT
        table = _data_table(rows, widths, size=7, split_in_row=too_tall)
        table.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "LEFT"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        out.append(table)
        out.append(Paragraph("Each annotation at its latest version (an edit is a new version; the earlier ones stay "
                             "in the ledger). The engine's notes are written with the plan, before any order is sent; "
                             "the trader's as typed." + _code_point_note(
                                 t for a in report.annotations for t in (a.before, a.after)), st["small"]))
    else:
        out.append(Paragraph("No trade annotation is recorded for this month.", st["body"]))
    out.append(Paragraph("Monthly commentary", st["h2"]))
    commentary = report.commentary
    if commentary is None:
        out.append(Paragraph("No monthly commentary is recorded for this month.", st["body"]))
        return out
    bullet = st["body"].clone("bullet", leftIndent=10, bulletIndent=2)
    for block in commentary_blocks(commentary.text):
        if block.kind == "heading":
            out.append(Paragraph(block.markup, st["h3"]))
        elif block.kind == "bullet":
            out.append(Paragraph(block.markup, bullet, bulletText="\u2022"))
        else:
            out.append(Paragraph(block.markup, st["body"].clone("commentary", spaceAfter=4)))
    out.append(Paragraph(f"Frozen in the ledger at seq {commentary.seq} (version {commentary.version}, "
                         f"sha256 {commentary.sha256[:16]}\u2026)." + _code_point_note([commentary.text]), st["small"]))
    return out


def quality_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    return [KeepTogether([Paragraph("Data quality", st["h2"]), *(Paragraph(_escape(n), st["note"]) for n in report.quality)])]


def disclosures_section(report: MonthlyReport, st: dict[str, Any]) -> list[Any]:
    return [KeepTogether([Paragraph("Disclosures", st["h2"]), *(Paragraph(_escape(d), st["note"]) for d in report.disclosures)])]


# -- helpers ---------------------------------------------------------------------------------------


def _dated(items: Sequence[Dated], empty: str, st: dict[str, Any], currency: str = "") -> list[Any]:
    if not items:
        return [Paragraph(empty, st["body"])]
    has_amounts = any(i.amount is not None for i in items)
    head = ["Date", "What"] + (["Amount " + currency] if has_amounts else [])
    rows: list[list[Any]] = [head]
    for item in items:
        row: list[Any] = [item.day, Paragraph(_escape(item.text), st["cell"])]
        if has_amounts:
            row.append("" if item.amount is None else fmt.money(item.amount))
        rows.append(row)
    widths = [20 * mm, WIDTH - 20 * mm - (32 * mm if has_amounts else 0)] + ([32 * mm] if has_amounts else [])
    return [_data_table(rows, widths)]


def _data_table(rows: Sequence[Sequence[Any]], widths: Sequence[float], size: float = 7.5,
                left: Sequence[int] = (), split_in_row: bool = False) -> Table:
    """A table of numbers (right-aligned) with its text columns ``left`` (and the first) left-aligned.
    ``split_in_row``: a row taller than a page (a long note) goes on over the next page."""
    table = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT",
                  splitInRow=1 if split_in_row else 0)
    style = _number_table_style(len(rows), size)
    for column in left:
        style.add("ALIGN", (column, 0), (column, -1), "LEFT")
    table.setStyle(style)
    return table


def _number_table_style(count: int, size: float = 7.8) -> TableStyle:
    style = [("FONT", (0, 0), (-1, -1), FONT, size), ("FONT", (0, 0), (-1, 0), FONT_BOLD, size),
             ("TEXTCOLOR", (0, 0), (-1, -1), INK), ("TEXTCOLOR", (0, 0), (-1, 0), NAVY),
             ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("LINEBELOW", (0, 0), (-1, 0), 0.8, NAVY), ("LINEBELOW", (0, -1), (-1, -1), 0.4, RULE),
             ("TOPPADDING", (0, 0), (-1, -1), 2.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2)]
    style += [("BACKGROUND", (0, r), (-1, r), BAND) for r in range(2, count, 2)]
    return TableStyle(style)


def _tallest_row(table: Table) -> float:
    table.wrap(WIDTH, FRAME_HEIGHT)
    return max(table._rowHeights or [0.0])  # reportlab's measured rows (no public accessor)


def _code_point_note(texts: Iterable[str]) -> str:
    if all(drawable(t) == t for t in texts if t):
        return ""
    return (" Characters the report's font cannot draw are shown by their code point, e.g. [U+2192] for an "
            "arrow; the ledger holds the text as typed.")


def _escape(text: str) -> str:
    return drawable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
