"""``stats``, ``trades`` and ``slippage``: performance of the recorded account.

Thin: parse the arguments, call ``trackrecord.engine.performance``, print JSON or a
Rich table. ``render_stats_table`` is public so ``trackrecord demo`` can show the same table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

import typer

from trackrecord.analytics.wording import (
    BENCHMARK_ROWS,
    Formatter,
    MONTHS,
    PERIOD_WORDS,
    TRADE_ROWS,
    frequency_line,
    metric_rows,
    money as _money,
    provenance_line,
    withhold_annualised,
)
from trackrecord.cli import context
from trackrecord.ledger.parsing import parse_date

_MONTH = re.compile(r"\d{4}-\d{2}")


def _price(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _table(*columns: str, title: str, numbers_from: int | None = None, **options: Any) -> Any:
    """A compact table; columns from ``numbers_from`` on are right-aligned."""
    from rich import box
    from rich.table import Table

    options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True} | options
    table = Table(*columns, title=title, title_justify="left", **options)
    for column in table.columns[numbers_from or len(columns):]:
        column.justify = "right"
    return table


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a data table: ``keep`` ranks what survives a narrow terminal (higher
    stays longer); ``numeric`` columns are right-aligned."""

    header: str
    keep: int
    numeric: bool = True


def print_fitted(console: Any, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]],
                 sections: Sequence[int] = ()) -> None:
    """Print a table whose cells are never cut: every cell on one line, and when the
    table is wider than the console (80 columns when piped, or ``COLUMNS``), the least
    important columns are left out, and a line says which (``--json`` has them all).
    ``sections``: row indexes before which a section line is drawn."""
    from rich.measure import Measurement

    kept = list(range(len(columns)))
    while True:
        table = _data_table(title, [columns[i] for i in kept], [[row[i] for i in kept] for row in rows], sections)
        if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width or len(kept) == 1:
            break
        kept.remove(min(kept, key=lambda i: (columns[i].keep, -i)))
    console.print(table)
    dropped = [columns[i].header for i in range(len(columns)) if i not in kept]
    if dropped:
        names = ", ".join(" ".join(name.split()) for name in dropped)
        console.print(f"(left out to fit {console.width} columns: {names}; see --json)", markup=False)


def _data_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], sections: Sequence[int]) -> Any:
    table = _table(*(c.header for c in columns), title=title)
    for column, spec in zip(table.columns, columns):
        column.no_wrap = True
        column.justify = "right" if spec.numeric else "left"
    for index, row in enumerate(rows):
        if index in sections:
            table.add_section()
        table.add_row(*row)
    return table


def _figure(section: dict[str, Any] | None, key: str, fmt: Formatter, nonfinite: dict[str, str], prefix: str) -> str:
    value = None if section is None else section.get(key)
    if value is None:
        return f"n/a ({nonfinite.get(prefix + key, 'not available')})"
    return fmt(value)


def _title(document: dict[str, Any], what: str) -> str:
    labels = [f"{what}: account {document.get('account') or '-'}"]
    if document.get("simulated"):
        labels.append("SIMULATED")
    if document.get("backtest"):
        labels.append("BACKTEST")
    if document.get("paper") and not document.get("simulated"):
        labels.append("IB paper account")
    return " | ".join(labels)


def render_stats_table(document: dict[str, Any], console: Any) -> None:
    """Print a ``performance_stats`` document as Rich tables: the metrics, the benchmark
    and trade sections, and the monthly returns. Undefined figures read "n/a (reason)", as do
    annualised ones for a period under a year; a simulated record says SIMULATED in the title."""
    document = withhold_annualised(document)
    period, nonfinite = document["period"], document["nonfinite"]
    frequency = document.get("frequency", "daily")
    table = _table("Metric", "Value", title=_title(document, "Performance"),
                  caption=(f"base {period['base_date']}, returns {period['start']} to {period['end']}" if period['start']
                           else f"base {period['base_date']}: no return yet (one snapshot)"),
                  caption_justify="left")
    for label, key, fmt in metric_rows(frequency):
        table.add_row(label, _figure(document["metrics"], key, fmt, nonfinite, ""))
    _add_dates(table, document["metrics"], frequency)
    pnl = document["metrics"].get("pnl")
    table.add_row(f"P&L ({document.get('base_currency', '')})", _money(pnl) if pnl is not None else "n/a")
    _add_benchmark(table, document, nonfinite)
    if document.get("trades") is not None:
        table.add_section()
        for label, key, fmt in TRADE_ROWS:
            table.add_row(label, _figure(document["trades"], key, fmt, nonfinite, "trades."))
    console.print(table)
    console.print(f"Record frequency: {frequency_line(document)}", markup=False)
    console.print(provenance_line(document.get("provenance"), "snapshots"), markup=False)
    if document.get("provenance_fills"):
        console.print(provenance_line(document["provenance_fills"], "fills"), markup=False)
    for warning in document.get("warnings") or []:
        console.print(f"Warning: {warning}", markup=False)
    _print_monthly(document, console)


def _add_dates(table: Any, metrics: dict[str, Any], frequency: str) -> None:
    peak, trough = metrics.get("max_drawdown_peak_date"), metrics.get("max_drawdown_trough_date")
    if peak and trough:
        recovery = metrics.get("max_drawdown_recovery_date") or "not recovered"
        table.add_row("Max drawdown peak / trough / recovery", f"{peak} / {trough} / {recovery}")
    if metrics.get("best_day_date"):
        one = PERIOD_WORDS.get(frequency, ("period",))[0]
        table.add_row(f"Best / worst {one} ending", f"{metrics['best_day_date']} / {metrics['worst_day_date']}")


def _add_benchmark(table: Any, document: dict[str, Any], nonfinite: dict[str, str]) -> None:
    name = document.get("benchmark_name")
    if name is None:
        return
    table.add_section()
    shown = "equal-weight universe" if name == "universe" else name
    if document.get("benchmark") is None:
        table.add_row(f"Benchmark ({shown})", f"n/a ({nonfinite.get('benchmark', 'not available')})")
        return
    table.add_row("Benchmark", shown)
    for label, key, fmt in BENCHMARK_ROWS:
        table.add_row(label, _figure(document["benchmark"], key, fmt, nonfinite, "benchmark."))


def _print_monthly(document: dict[str, Any], console: Any) -> None:
    """The monthly returns grid, every cell with one decimal; on a narrow console the
    year is shown in two halves rather than cutting cells."""
    from rich.measure import Measurement

    monthly = {m["month"]: m["return"] for m in document.get("monthly_returns", [])}
    if not monthly:
        return
    yearly = {y["year"]: y["return"] for y in document.get("yearly_returns", [])}
    years = sorted({m[:4] for m in monthly})
    rows = [[year, *(_percent_cell(monthly.get(f"{year}-{i:02d}")) for i in range(1, 13)),
             _percent_cell(yearly.get(year))] for year in years]
    headers = ["Year", *MONTHS, "Total"]
    whole = _monthly_table("Monthly returns (%)", headers, rows)
    if Measurement.get(console, console.options.update_width(10_000), whole).maximum <= console.width:
        console.print(whole)
        return
    first = [0, *range(1, 7)]
    second = [0, *range(7, 14)]
    for title, picked in (("Monthly returns (%), January to June", first), ("July to December and year", second)):
        console.print(_monthly_table(title, [headers[i] for i in picked], [[r[i] for i in picked] for r in rows]))


def _monthly_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Any:
    table = _table(*headers, title=title, numbers_from=1, padding=(0, 0, 0, 1), box=None)
    for column in table.columns:
        column.no_wrap = True
    for row in rows:
        table.add_row(*row)
    return table


def _percent_cell(fraction: float | None) -> str:
    """A monthly-table cell: the percentage with one decimal."""
    if fraction is None:
        return ""
    return f"{fraction * 100:.1f}"


def _period(period_from: Optional[str], period_to: Optional[str]) -> tuple[date | None, date | None]:
    """FROM and TO, each a date YYYY-MM-DD or a month YYYY-MM (its first day as FROM, its
    last as TO: ``stats 2024-03 2024-05`` is March to May)."""
    return (_bound(period_from, "FROM", last=False) if period_from else None,
            _bound(period_to, "TO", last=True) if period_to else None)


def _bound(text: str, where: str, *, last: bool) -> date:
    if not _MONTH.fullmatch(text.strip()):
        return parse_date(text, where, "a date YYYY-MM-DD or a month YYYY-MM")
    first, final = _month_bounds(text, where, "month")  # a month's span always has its first day
    return final if last or first is None else first


def _month_bounds(month: str, where: str, span: str) -> tuple[date | None, date]:
    """``Period.parse(month).bounds(span)``, its refusal a one-line ``UserError``."""
    from trackrecord.analytics.errors import AnalyticsInputError
    from trackrecord.analytics.periods import Period
    from trackrecord.errors import UserError

    try:
        return Period.parse(month, where).bounds(span)
    except AnalyticsInputError as exc:
        raise UserError(str(exc)) from None


def _report_period(month: str, span: str, period_from: str | None) -> tuple[date | None, date | None]:
    """The FROM and TO of ``report YYYY-MM``'s month, year-to-date or since-inception column."""
    from trackrecord.errors import UserError

    if period_from is not None:
        raise UserError("--month replaces FROM and TO: give one or the other")
    return _month_bounds(month, "--month", span)


def stats(
    ctx: typer.Context,
    period_from: Optional[str] = typer.Argument(None, metavar="[FROM]", help="first session YYYY-MM-DD, or a month YYYY-MM (the record before it is the base)"),
    period_to: Optional[str] = typer.Argument(None, metavar="[TO]", help="last session YYYY-MM-DD, or a month YYYY-MM"),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="SYMBOL, universe or none (default: performance.benchmark)"),
    account: Optional[str] = typer.Option(None, "--account", help="account id (default: the configured one, else the one with most snapshots)"),
    month: Optional[str] = typer.Option(None, "--month", metavar="YYYY-MM", help="the period of a monthly report's column (instead of FROM TO)"),
    span: Optional[str] = typer.Option(None, "--span", help="with --month: month, ytd (year to the month's end) or inception  [default: month]"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Time-weighted performance, risk, benchmark-relative and trade statistics."""
    from trackrecord.engine.performance import performance_stats
    from trackrecord.errors import UserError

    if span is not None and month is None:  # it used to be ignored: the whole record was shown
        raise UserError(f"--span {span}: only with --month YYYY-MM (the month whose column it is)")
    span = span or "month"
    start, end = _period(period_from, period_to) if month is None else _report_period(month, span, period_from)
    services = context.services(ctx)
    document = performance_stats(services, start, end, benchmark, account_id=account)
    if as_json:
        context.print_json(document)
    else:
        render_stats_table(document, context.console())


def trades(
    ctx: typer.Context,
    period_from: Optional[str] = typer.Argument(None, metavar="[FROM]", help="count round trips closed from this date (YYYY-MM-DD or a month YYYY-MM)"),
    period_to: Optional[str] = typer.Argument(None, metavar="[TO]", help="ignore fills after this date"),
    account: Optional[str] = typer.Option(None, "--account", help="account id"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Round trips (FIFO, flat to flat), open positions and trade statistics."""
    from trackrecord.engine.performance import trades_document

    start, end = _period(period_from, period_to)
    document = trades_document(context.services(ctx), start, end, account_id=account)
    if as_json:
        context.print_json(document)
    else:
        render_trades_table(document, context.console())


TRIP_COLUMNS = (Column("Symbol", 10, False), Column("Side", 6, False), Column("Opened", 5, False),
                Column("Closed", 9, False), Column("Qty", 7), Column("Entry", 4), Column("Exit", 4),
                Column("Net P&L", 9), Column("Result", 8, False), Column("Days", 3))
OPEN_COLUMNS = (Column("Symbol", 10, False), Column("Qty", 8), Column("Avg price", 6), Column("Mark", 5),
                Column("Unrealised", 7))


def render_trades_table(document: dict[str, Any], console: Any) -> None:
    """Print a ``trades_document`` as Rich tables (round trips, open positions, summary)."""
    rows = [[t["symbol"], t["direction"], t["opened_at"][:10], t["closed_at"][:10], f"{t['quantity']:g}",
             _price(t["entry_price"]), _price(t["exit_price"]), _money(t["net_pnl"]), t["outcome"],
             f"{t['holding_days']:.1f}"] for t in document["round_trips"]]
    print_fitted(console, _title(document, "Round trips"), TRIP_COLUMNS, rows)
    if document["open_positions"]:
        opens = [[p["symbol"], f"{p['quantity']:g}", _price(p["avg_price"]), "-" if p["mark"] is None else _price(p["mark"]),
                  "n/a" if p["unrealised_pnl"] is None else _money(p["unrealised_pnl"])]
                 for p in document["open_positions"]]
        print_fitted(console, "Open positions", OPEN_COLUMNS, opens)
    console.print(provenance_line(document.get("provenance"), "fills"), markup=False)
    summary = _table("Statistic", "Value", title="Summary (amounts in the instruments' currency)")
    for label, key, fmt in TRADE_ROWS:
        summary.add_row(label, _figure(document["summary"], key, fmt, document["nonfinite"], ""))
    console.print(summary)


def slippage(
    ctx: typer.Context,
    account: Optional[str] = typer.Option(None, "--account", help="account id"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Slippage against the intended price (bps, positive = cost) and commissions, per fill and grouped."""
    from trackrecord.engine.performance import slippage_document

    document = slippage_document(context.services(ctx), account_id=account)
    if as_json:
        context.print_json(document)
    else:
        render_slippage_table(document, context.console())


def _bps(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value, 1) or 0.0:+.1f}"


def _optional_money(value: float | None) -> str:
    return "n/a" if value is None else _money(value)


FILL_COLUMNS = (Column("Date", 10, False), Column("Symbol", 10, False), Column("Side", 9, False),
                Column("Type", 3, False), Column("Qty", 6), Column("Decision", 6), Column("Close/\narrival", 5),
                Column("Fill", 7), Column("Delay\nbps", 8), Column("Exec\nbps", 8), Column("Total\nbps", 9),
                Column("Total\ncost", 4), Column("Comm\nbps", 2))
GROUP_COLUMNS = (Column("Group", 10, False), Column("Fills", 9), Column("Delay\nbps", 8), Column("Exec\nbps", 8),
                 Column("Total\nbps", 9), Column("Mean\nbps", 2), Column("Delay\ncost", 5), Column("Exec\ncost", 5),
                 Column("Total\ncost", 7), Column("Commission", 4), Column("Comm\nbps", 3))


def render_slippage_table(document: dict[str, Any], console: Any) -> None:
    """Print a ``slippage_document`` as tables: per fill, then grouped (notional-weighted
    bps; delay = decision price to the session's close or arrival price, execution = that
    price to the fill)."""
    rows = [[f["executed_at"][:10], f["symbol"], f["side"], f["order_type"], f"{f['quantity']:g}",
             _price(f["intended_price"]), "-" if f["reference_price"] is None else _price(f["reference_price"]),
             _price(f["fill_price"]), _bps(f["delay_bps"]), _bps(f["execution_bps"]), _bps(f["slippage_bps"]),
             _money(f["shortfall"]), _bps(f["commission_bps"])] for f in document["fills"]]
    print_fitted(console, _title(document, "Slippage"), FILL_COLUMNS, rows)
    console.print("(bps of the decision price, + = cost for buys and sells; delay: decision price -> the session's "
                  "close or the arrival price, execution: that price -> the fill)", markup=False)
    groups, sections = [["total", *_aggregate_cells(document["total"])]], []
    for name in ("symbol", "side", "order_type", "month"):
        sections.append(len(groups))
        groups.extend([f"{name} {key}", *_aggregate_cells(a)] for key, a in document[f"by_{name}"].items())
    print_fitted(console, "Aggregates (notional-weighted bps)", GROUP_COLUMNS, groups, sections)
    if document.get("without_intended_price"):
        console.print(f"{document['without_intended_price']} fill(s) left out: no intended price recorded")
    unsplit = document["total"].get("without_reference")
    if unsplit:
        console.print(f"{unsplit} fill(s) not split into delay and execution: no session close (market-on-close) "
                      "or arrival price stored for them", markup=False)


def _aggregate_cells(a: dict[str, Any]) -> list[str]:
    return [str(a["fills"]), _bps(a["delay_bps_weighted"]), _bps(a["execution_bps_weighted"]),
            _bps(a["slippage_bps_weighted"]), _bps(a["slippage_bps_mean"]), _optional_money(a["delay_cost"]),
            _optional_money(a["execution_cost"]), _money(a["shortfall"]), _money(a["commission"]),
            _bps(a["commission_bps"])]


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
    app.command("trades")(trades)
    app.command("slippage")(slippage)
