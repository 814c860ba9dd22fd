"""The weekly report: one ISO week of one account on one or two A4 pages, built like the
monthly one from the ledger's events alone (``reports.record``) with the monthly report's
building blocks (``reports.content`` for the figures, ``reports.pdf`` for the pages).

    build_weekly_report(events, account_id, week, head_seq, next_rebalance) -> bytes

Shows the week's, month-to-date and year-to-date time-weighted return against the benchmark
(the ``stats FROM TO`` documents of those ranges, each ending at the week's last snapshot: the
month and year are that snapshot's), the positions at that snapshot,
the week's trades and risk events, and the next rebalance session. The same events always
give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trackrecord.engine.performance import (
    load_performance_inputs,
    performance_stats,
    slippage_document,
    trades_document,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent
from trackrecord.reports.content import (
    Dated,
    Figure,
    Period,
    PositionRow,
    TradeRow,
    benchmark_label,
    disclosures,
    key_fingerprint,
    kill_switch_at,
    positions_at,
    record_label,
    risk_events_of,
    trades_of,
)
from trackrecord.reports.record import RebuiltRecord, rebuild_record

WEEK = re.compile(r"(\d{4})-W(\d{2})")
IDENTITY = re.compile(rb"trackrecord-weekly:v1:([^:()]+):(\d{4}-W\d{2}):(\d+):([0-9a-f]{64}):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week ``YYYY-Www``: Monday to Sunday."""

    label: str
    first: date
    last: date

    @classmethod
    def parse(cls, text: str, where: str = "--week") -> "Week":
        match = WEEK.fullmatch(text.strip()) if isinstance(text, str) else None
        try:
            if match is None:
                raise ValueError
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
            if monday > date.max - timedelta(days=6) or monday < date.min + timedelta(days=7):
                raise ValueError  # its Sunday or the week before it is no date Python can hold
        except ValueError:
            raise UserError(f"{where} {text!r}: expected an ISO week YYYY-Www such as 2026-W05 "
                            "(weeks 01 to 52, or 53 in a long year)") from None
        return cls.of(monday)

    @classmethod
    def of(cls, day: date) -> "Week":
        year, number, weekday = day.isocalendar()
        monday = day - timedelta(days=weekday - 1)
        return cls(f"{year}-W{number:02d}", monday, monday + timedelta(days=6))

    @property
    def previous(self) -> "Week":
        return Week.of(self.first - timedelta(days=7))

    @property
    def period(self) -> Period:
        """The week as the monthly report's building blocks take a period."""
        return Period(self.label, self.first, self.last)


@dataclass(frozen=True, slots=True)
class WeeklyRow:
    label: str
    kind: str
    cells: tuple[Figure, Figure, Figure]  # the week, month to date, year to date


@dataclass(frozen=True)
class WeeklyReport:
    account: str
    week: Week
    label: str
    base_currency: str
    head_seq: int
    head_hash: str
    genesis_hash: str
    key_fingerprint: str
    benchmark_label: str
    figures: tuple[WeeklyRow, ...]
    valued_on: date
    nav: float
    positions: tuple[PositionRow, ...]
    trades: tuple[TradeRow, ...]
    risk_events: tuple[Dated, ...]
    kill_switch: str
    next_rebalance: date | None
    disclosures: tuple[str, ...]
    stats: dict[str, dict[str, Any]]

    def figures_document(self) -> dict[str, dict[str, float | None]]:
        """The figures shown, by range: what ``weekly-report --json`` prints."""
        names = ("week", "month_to_date", "year_to_date")
        keys = {"Time-weighted return": "twr", "Benchmark return": "benchmark", "Active return": "active",
                "P&L": "pnl"}
        return {name: {keys[row.label]: row.cells[i].value for row in self.figures} for i, name in enumerate(names)}


def build_weekly_content(events: Iterable[StoredEvent], account_id: str, week: Week, head_seq: int,
                         next_rebalance: date | None) -> WeeklyReport:
    record = rebuild_record(events, account_id, head_seq)
    try:
        return weekly_content(record, week, next_rebalance)
    finally:
        record.close()


def build_weekly_report(events: Iterable[StoredEvent], account_id: str, week: Week, head_seq: int,
                        next_rebalance: date | None) -> bytes:
    return weekly_pdf(build_weekly_content(events, account_id, week, head_seq, next_rebalance))


def weekly_content(record: RebuiltRecord, week: Week, next_rebalance: date | None) -> WeeklyReport:
    account = record.account_id
    inputs = load_performance_inputs(record.engine, record.settings, account)
    if inputs.dates[0] > week.last:
        raise UserError(f"--week {week.label}: account {account} has no snapshot up to {week.last}; its record "
                        f"starts {inputs.dates[0]}")
    last = max(i for i, d in enumerate(inputs.dates) if d <= week.last)
    valued_on = inputs.dates[last]
    if valued_on < week.first:
        raise UserError(f"--week {week.label}: account {account} has no snapshot in that week (the last before it "
                        f"is of {valued_on})")
    ranges = {"week": week.first, "month_to_date": valued_on.replace(day=1), "year_to_date": date(valued_on.year, 1, 1)}
    frozen, sessions = record.frozen.benchmark_until(valued_on), record.frozen.session_array()
    stats = {name: performance_stats(record, start, valued_on, None, account_id=account, frozen_benchmark=frozen,
                                     frozen_sessions=sessions, inputs=inputs) for name, start in ranges.items()}
    trades: dict[str, Any] = {}
    slippage: dict[str, Any] = {"fills": []}
    if any(e.data().get("account_id") == account for e in record.of_kind(kinds.FILL_RECORDED)):
        trades = trades_document(record, week.first, week.last, account_id=account, inputs=inputs)
        slippage = slippage_document(record, account_id=account, timezone=record.frozen.timezone)
    seq, head_hash = record.head
    return WeeklyReport(
        account=account, week=week, label=record_label(record, stats["week"]),
        base_currency=inputs.base_currency, head_seq=seq, head_hash=head_hash, genesis_hash=record.events[0].hash,
        key_fingerprint=key_fingerprint(record.public_key()),
        benchmark_label=benchmark_label(stats["week"].get("benchmark_name")),
        figures=weekly_rows(stats["week"], stats["month_to_date"], stats["year_to_date"]),
        valued_on=valued_on, nav=inputs.navs[last],
        positions=positions_at(inputs.positions[last], inputs.navs[last], trades),
        trades=trades_of(slippage, week.period), risk_events=risk_events_of(record, week.period),
        kill_switch=kill_switch_at(record, week.period), next_rebalance=next_rebalance,
        disclosures=weekly_disclosures(stats["week"], stats["year_to_date"], record.settings), stats=stats,
    )


def weekly_disclosures(week: dict[str, Any], year: dict[str, Any], settings: Any) -> tuple[str, ...]:
    """The monthly report's disclosures (the record's frequency read from the year to date), the
    rebuild line said of this report."""
    kept = tuple(d for d in disclosures(week, year, settings) if "report verify" not in d)
    return kept + ("Every figure is recomputed from the hash-chained, Ed25519-signed ledger up to the head named "
                   "in the footer: trackrecord weekly-report --verify PDF rebuilds this file byte for byte.",)


def weekly_rows(*docs: dict[str, Any]) -> tuple[WeeklyRow, ...]:
    def cells(key: str, section: str = "metrics") -> tuple[Figure, Figure, Figure]:
        prefix = "" if section == "metrics" else section + "."
        return tuple(Figure.of(d[section], key, d["nonfinite"], prefix) for d in docs)  # type: ignore[return-value]

    twr, bench = cells("total_return"), cells("total_return", "benchmark")
    active = tuple(Figure(None, b.reason or "no benchmark") if a.value is None or b.value is None
                   else Figure(a.value - b.value) for a, b in zip(twr, bench))
    return (WeeklyRow("Time-weighted return", "percent", twr), WeeklyRow("Benchmark return", "percent", bench),
            WeeklyRow("Active return", "percent", active),  # type: ignore[arg-type]
            WeeklyRow("P&L", "money", cells("pnl")))


# -- the pages ---------------------------------------------------------------------------------------


def weekly_pdf(report: WeeklyReport) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    from trackrecord.reports import formatting as fmt
    from trackrecord.reports.pdf import WIDTH, Header, _data_table, _dated, _escape, position_rows, render_pdf
    from trackrecord.reports.style import label_colour, register_fonts, styles

    register_fonts()
    week = report.week
    span = f"{week.first:%d %b} to {week.last:%d %b %Y}"
    header = Header(report.label, f"Weekly report {week.label}", report.account, report.head_seq, report.head_hash,
                    week.last)
    st = styles()
    out: list[Any] = [
        Paragraph(f"Weekly report {week.label}", st["h1"].clone("weekly_title", fontSize=18, leading=22)),
        Paragraph(f"{span} \u00b7 account {_escape(report.account)} \u00b7 base currency {report.base_currency}",
                  st["body"]),
        Paragraph(report.label, st["label"].clone("weekly_label", fontSize=16, leading=20,
                                                  textColor=label_colour(report.label))),
        Spacer(1, 2 * mm),
        Paragraph("Performance", st["h2"]),
    ]
    rows = [["", "Week", "Month to date", "Year to date"]]
    rows += [[row.label, *(fmt.shown(c, row.kind) for c in row.cells)] for row in report.figures]
    out.append(_data_table(rows, [60 * mm] + [(WIDTH - 60 * mm) / 3] * 3))
    out.append(Paragraph(f"Time-weighted, net of commissions, not annualised; benchmark: "
                         f"{_escape(report.benchmark_label)}. Each range ends at the week's last snapshot "
                         f"({report.valued_on}); month and year to date are that day's.", st["small"]))
    out.append(Paragraph(f"Positions at {report.valued_on}", st["h2"]))
    if report.positions:
        out.append(_data_table(position_rows(report.positions),
                               [24 * mm, 22 * mm, 24 * mm, 24 * mm, 30 * mm, 20 * mm, WIDTH - 144 * mm]))
    else:
        out.append(Paragraph("No position: the account is in cash.", st["body"]))
    out.append(Paragraph(f"NAV {fmt.money(report.nav)} {report.base_currency}.", st["small"]))
    out.append(Paragraph("Trades of the week", st["h2"]))
    if report.trades:
        trows = [["Date", "Symbol", "Side", "Qty", "Decision", "Fill", "Total bps", "Commission"]]
        trows += [[t.day, t.symbol, t.side, f"{t.quantity:,.0f}", fmt.price(t.decision), fmt.price(t.fill),
                   fmt.bps(t.total_bps), fmt.DASH if t.commission is None else fmt.money(t.commission)]
                  for t in report.trades]
        out.append(_data_table(trows, [22 * mm, 20 * mm, 14 * mm, 18 * mm, 26 * mm, 26 * mm, 22 * mm,
                                       WIDTH - 148 * mm]))
    else:
        out.append(Paragraph("No trade in this week.", st["body"]))
    out.append(Paragraph("Risk events", st["h2"]))
    out.append(Paragraph(f"Kill switch at the week's end: {_escape(report.kill_switch)}.", st["body"]))
    out.extend(_dated(report.risk_events, "No order denied, no plan refused and no kill-switch change in this week.",
                      st))
    out.append(Paragraph("Next rebalance", st["h2"]))
    out.append(Paragraph(f"The next rebalance session is {report.next_rebalance}." if report.next_rebalance else
                         "None: the backtest's record ends before it." if "BACKTEST" in report.label else
                         "The next rebalance session is beyond the calendar's horizon.", st["body"]))
    out.append(Paragraph("Disclosures", st["h2"]))
    out.extend(Paragraph(_escape(d), st["note"]) for d in report.disclosures)
    identity = (f"trackrecord-weekly:v1:{report.account}:{week.label}:{report.head_seq}:{report.head_hash}:"
                f"{report.genesis_hash}")
    return render_pdf(out, header, f"Weekly report {week.label} ({report.label})", f"account {report.account}",
                      identity)
