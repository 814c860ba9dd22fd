"""Server-rendered pages (Jinja2): the same templates for the live dashboard and the static
export; only the links differ (``Links``). Numbers are formatted as the CLI prints them
(the formatters and row labels of ``trackrecord.cli.analytics_commands``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from trackrecord import __version__
from trackrecord.analytics.wording import (
    BENCHMARK_ROWS,
    MONTHS,
    TRADE_ROWS,
    frequency_line,
    metric_rows,
    rolling_sharpe_note,
    share_text,
    withhold_annualised,
)
from trackrecord.dashboard.documents import LABEL_LIVE, DashboardDocuments
from trackrecord.dashboard.security import ACTIVATION_WORD

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
PAGES = (("overview", "Overview"), ("performance", "Performance"), ("signals", "Signals"),
         ("orders", "Orders & trades"), ("reports", "Reports"), ("ledger", "Ledger"), ("annotations", "Annotations"))
SHOWN_ANNOTATIONS = 200
PERIODS = (("all", "Since inception"), ("ytd", "Year to date"), ("mtd", "Month to date"), ("1y", "1 year"),
           ("3y", "3 years"), ("5y", "5 years"))


@dataclass(frozen=True, slots=True)
class Links:
    """Where pages and static files are: ``/performance`` on the server, ``performance.html``
    in the export (opened from file://)."""

    exported: bool = False

    def page(self, name: str, **query: Any) -> str:
        if self.exported:
            return "index.html" if name == "overview" else f"{name}.html"
        path = "/" if name == "overview" else f"/{name}"
        shown = {k: v for k, v in query.items() if v not in (None, "")}
        if shown:
            from urllib.parse import urlencode

            path += "?" + urlencode(shown)
        return path

    def static(self, path: str) -> str:
        return f"static/{path}" if self.exported else f"/static/{path}"

    def report(self, path: str) -> str:
        return f"reports/{path}" if self.exported else f"/reports/file/{path}"


def _percent(value: Any, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def _money(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{round(float(value), 2) or 0.0:,.2f}"


def _ratio(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _short(value: Any, length: int = 12) -> str:
    return "" if value is None else str(value)[:length]


def _figure(section: dict[str, Any] | None, key: str, fmt: Callable[[Any], str], nonfinite: dict[str, str],
            prefix: str) -> tuple[str, str | None]:
    """(shown value, reason when undefined), as ``stats`` prints it."""
    value = None if section is None else section.get(key)
    if value is None:
        return "n/a", nonfinite.get(prefix + key, "not available")
    return fmt(value), None


def json_block(document: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: data, never run, and no
    ``</script>`` inside it can end the block."""
    return json.dumps(document, ensure_ascii=False).replace("</", "<\\/")


def _rounded(values: list[float | None] | None, digits: int = 5) -> list[float | None] | None:
    """Chart points to what a chart can show (a smaller page; tables keep full figures)."""
    return None if values is None else [None if v is None else round(v, digits) for v in values]


def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=_percent, money=_money, ratio=_ratio, short=_short,
                       plain_percent=lambda v: _percent(v, signed=False), share=share_text)
    env.globals.update(pages=PAGES, version=__version__, figure=_figure, months=MONTHS)
    return env


def period_bounds(period: str | None, as_of: date | None) -> tuple[date | None, date | None]:
    """The FROM of a period preset, at the record's last snapshot ``as_of``."""
    if not period or period == "all" or as_of is None:
        return None, None
    if period == "ytd":
        return as_of.replace(month=1, day=1), None
    if period == "mtd":
        return as_of.replace(day=1), None
    years = {"1y": 1, "3y": 3, "5y": 5}.get(period)
    if years is None:
        return None, None
    try:
        return as_of.replace(year=as_of.year - years) + timedelta(days=1), None
    except ValueError:  # 29 February
        return as_of.replace(year=as_of.year - years, day=28) + timedelta(days=1), None


class Renderer:
    """Renders each page from the documents."""

    def __init__(self, documents: DashboardDocuments, links: Links) -> None:
        self.documents = documents
        self.links = links
        self.env = environment()

    def _base(self, page: str) -> dict[str, Any]:
        docs = self.documents
        head_seq, head_hash = docs.head()
        label = docs.label()
        return {"page": page, "links": self.links, "label": label,
                "live_banner": docs.live_banner() if label == LABEL_LIVE else "",
                "backtest": docs.backtest(), "head_seq": head_seq,
                "head_hash": head_hash, "exported": self.links.exported, "mode": docs.settings.mode.value,
                "account": docs.settings.account.account_id or docs.settings.broker.sim.account_id}

    def render(self, page: str, **extra: Any) -> str:
        context = self._base(page) | getattr(self, f"_{page}")(**extra)
        return self.env.get_template(f"{page}.html").render(**context)

    def _overview(self, csrf: str | None = None, notice: str | None = None) -> dict[str, Any]:
        summary = self.documents.summary()
        series = self.documents.chart_series()
        charts = {"dates": series["dates"], "twr": _rounded(series.get("twr_index")),
                  "benchmark": _rounded(series.get("benchmark")), "benchmark_name": series.get("benchmark_name"),
                  "drawdown": _rounded(series.get("drawdown"))}
        return {"summary": summary, "charts": json_block(charts), "csrf": csrf, "notice": notice,
                "activation_word": ACTIVATION_WORD}

    def _performance(self, period: str | None = None, period_from: date | None = None,
                     period_to: date | None = None) -> dict[str, Any]:
        docs = self.documents
        if not docs.has_snapshots():
            return {"stats": None, "next_steps": docs.next_steps(), "periods": PERIODS, "period": period}
        whole = docs.stats()
        as_of = date.fromisoformat(whole["period"]["end"])
        if period_from is None and period_to is None:
            period_from, period_to = period_bounds(period, as_of)
        stats = withhold_annualised(docs.stats(period_from, period_to))
        series = docs.chart_series()
        monthly = {m["month"]: m["return"] for m in stats.get("monthly_returns", [])}
        yearly = {y["year"]: y["return"] for y in stats.get("yearly_returns", [])}
        years = sorted({m[:4] for m in monthly}, reverse=True)
        return {"stats": stats, "periods": PERIODS, "period": period or ("custom" if period_from or period_to else "all"),
                "period_from": period_from, "period_to": period_to,
                "metric_rows": metric_rows(stats.get("frequency", "daily")), "benchmark_rows": BENCHMARK_ROWS,
                "trade_rows": TRADE_ROWS, "monthly": monthly, "yearly": yearly, "years": years,
                "frequency_line": frequency_line(stats), "episodes": docs.drawdown_episodes(),
                "rolling_note": rolling_sharpe_note(whole.get("frequency", "daily"), max(len(series["dates"]) - 1, 0),
                                                    any(v is not None for v in series.get("rolling_sharpe") or [])),
                "charts": json_block({"dates": series["dates"], "rolling_sharpe": _rounded(series.get("rolling_sharpe"), 3),
                                      "drawdown": _rounded(series.get("drawdown"))})}

    def _signals(self) -> dict[str, Any]:
        return {"signals": self.documents.signals(), "next_steps": self.documents.next_steps()}

    def _orders(self) -> dict[str, Any]:
        docs = self.documents
        return {"orders": docs.order_history(), "trades": docs.trades(), "slippage": docs.slippage()}

    def _reports(self) -> dict[str, Any]:
        return {"reports": self.documents.reports()}

    def _ledger(self, kind: str | None = None, before: int | None = None, verify: bool = False) -> dict[str, Any]:
        docs = self.documents
        return {"ledger": docs.ledger_overview(), "events": docs.events(kind, before, 100), "kind": kind,
                "verify": docs.verify() if verify else None}

    def _annotations(self) -> dict[str, Any]:
        return self.documents.annotations() | {"shown": SHOWN_ANNOTATIONS}
