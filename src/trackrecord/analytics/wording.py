"""The words and number formats a record is shown in: the rows of the ``stats`` table, the
record's frequency and provenance in one line. Pure text over the ``stats --json``
document, shared by the CLI's tables, the PDF reports and the dashboard so that each says
the same thing the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

Formatter = Callable[[Any], str]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def percent(value: float) -> str:
    return f"{value * 100:+.2f}%"


def plain_percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def ratio(value: float) -> str:
    return f"{value:.2f}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def money(value: float) -> str:
    return f"{round(value, 2) or 0.0:,.2f}"  # "or": no "-0.00" for a rounding-noise negative


METRIC_ROWS: tuple[tuple[str, str, Formatter], ...] = (
    ("Total return (time-weighted)", "total_return", percent),
    ("CAGR (252 sessions a year)", "cagr", percent),
    ("CAGR (calendar days)", "cagr_calendar", percent),
    ("Volatility (annualised)", "ann_volatility", plain_percent),
    ("Sharpe", "sharpe", ratio),
    ("Sortino", "sortino", ratio),
    ("Calmar", "calmar", ratio),
    ("Max drawdown", "max_drawdown", percent),
    ("Max drawdown length (sessions)", "max_drawdown_days", count),
    ("Max drawdown length (calendar days)", "max_drawdown_calendar_days", count),
    ("Longest under water (sessions)", "longest_underwater_days", count),
    ("Best day", "best_day", percent),
    ("Worst day", "worst_day", percent),
    ("Winning days", "win_rate_days", plain_percent),
    ("Profit factor (days)", "profit_factor_days", ratio),
    ("Skew", "skew", ratio),
    ("Excess kurtosis", "kurtosis", ratio),
    ("Probabilistic Sharpe (vs 0)", "psr", plain_percent),
    ("Minimum track record (sessions, 95%)", "min_track_record_days", count),
    ("Money-weighted return (annual)", "mwr", percent),
    ("Daily returns", "n_returns", count),
)
BENCHMARK_ROWS: tuple[tuple[str, str, Formatter], ...] = (
    ("Benchmark total return", "total_return", percent),
    ("Beta", "beta", ratio),
    ("Alpha (annualised)", "alpha", percent),
    ("Tracking error", "tracking_error", plain_percent),
    ("Information ratio", "information_ratio", ratio),
    ("Correlation", "correlation", ratio),
    ("Up capture", "up_capture", ratio),
    ("Down capture", "down_capture", ratio),
)
TRADE_ROWS: tuple[tuple[str, str, Formatter], ...] = (
    ("Round trips", "round_trips", count),
    ("Break-even round trips", "break_evens", count),
    ("Win rate (round trips)", "win_rate", plain_percent),
    ("Profit factor (round trips)", "profit_factor", ratio),
    ("Win rate (closing fills)", "win_rate_fills", plain_percent),
    ("Profit factor (closing fills)", "profit_factor_fills", ratio),
    ("Average win", "avg_win", money),
    ("Average loss", "avg_loss", money),
    ("Expectancy per round trip", "expectancy", money),
    ("Average holding (days)", "avg_holding_days", ratio),
    ("Realised P&L (net)", "realised_pnl", money),
    ("Commissions", "commissions", money),
    ("Commissions pending", "commissions_pending", count),
    ("Open positions", "open_positions", count),
    ("Unrealised P&L", "unrealised_pnl", money),
)


UNDER_A_YEAR = "under a year: not annualised"
ONE_YEAR_DAYS = 365
# the figures a table withholds for a period under a year: annualised returns and the
# ratios and risk built on annualising (GIPS-style: a part-year return is not annualised)
ANNUALISED_METRICS = ("cagr", "cagr_calendar", "ann_volatility", "sharpe", "sortino", "calmar", "mwr")
ANNUALISED_BENCHMARK = ("cagr", "alpha", "tracking_error", "information_ratio")


def under_a_year(document: dict[str, Any]) -> bool:
    """Whether the period of a ``stats`` document, from its base point to its last return,
    spans less than a year."""
    period = document["period"]
    if not period.get("end"):
        return True
    return (date.fromisoformat(period["end"]) - date.fromisoformat(period["base_date"])).days < ONE_YEAR_DAYS


def withhold_annualised(document: dict[str, Any]) -> dict[str, Any]:
    """The document as a table shows it: for a period under a year the annualised figures
    are null with the reason UNDER_A_YEAR, as undefined figures are. ``stats --json`` keeps
    the computed values; the CLI table, the dashboard and the reports all show this."""
    if not under_a_year(document):
        return document
    nonfinite = dict(document["nonfinite"])
    shown = dict(document)
    for section, keys, prefix in (("metrics", ANNUALISED_METRICS, ""), ("benchmark", ANNUALISED_BENCHMARK, "benchmark.")):
        if document.get(section) is None:
            continue
        figures = dict(document[section])
        for key in keys:
            if key in figures:
                figures[key] = None
                nonfinite[prefix + key] = UNDER_A_YEAR
        shown[section] = figures
    shown["nonfinite"] = nonfinite
    return shown


LIVE, IB_PAPER, SIMULATED, SIMULATED_BACKTEST = "LIVE", "IB PAPER", "SIMULATED", "SIMULATED BACKTEST"
LABEL_WORDS = {
    LIVE: "the events say a live Interactive Brokers account, with real money at risk; compare its fills and "
          "valuations with the broker's own statements",
    IB_PAPER: "an Interactive Brokers paper account: no real money",
    SIMULATED: "a simulated broker or synthetic prices: not a real account's figures",
    SIMULATED_BACKTEST: "a `trackrecord backtest` replay over history, never traded",
}


def label_for(simulated: bool, paper: bool, backtest: bool = False) -> str:
    """The record's label: SIMULATED (BACKTEST for a backtest's) beats paper; an IB paper
    account is never LIVE."""
    if simulated:
        return SIMULATED_BACKTEST if backtest else SIMULATED
    return IB_PAPER if paper else LIVE


def record_line(label: str, caveats: str = "") -> str:
    """``record: SIMULATED (what that means)``, a LIVE one followed by its caveats."""
    return f"record: {label} ({LABEL_WORDS[label]})" + (f"; {caveats}" if caveats else "")


def live_caveats(provenance: dict[str, float] | None, placeholder_account: str | None, since: str = "") -> str:
    """What a LIVE label cannot say alone: the share of snapshots the trader imported from
    files rather than trackrecord read from the broker, and a record filed under the
    simulated account's id for want of an IB account; empty when neither applies."""
    said = []
    imported = float((provenance or {}).get("imported") or 0.0)
    if imported:
        said.append(f"{share_text(imported)} of its snapshots{since} were imported from files the trader supplied, "
                    "not read from the broker by trackrecord: check them against the broker's own statements.")
    if placeholder_account is not None:
        said.append("No Interactive Brokers account is configured (account.account_id): the record is filed under "
                    f"the placeholder id {placeholder_account}.")
    return " ".join(said)


def rolling_sharpe_note(frequency: str, returns: int, drawn: bool, window: int = 126) -> str | None:
    """Why a rolling-Sharpe chart has no line, or None when it has one."""
    if frequency != "daily":
        return f"Rolling Sharpe ratios are drawn from daily returns; this record is {frequency}."
    if drawn:
        return None
    return (f"A rolling Sharpe ratio needs {window} daily returns (about six months); this record has "
            f"{returns} so far: the line starts once it has them.")


PERIOD_WORDS = {"daily": ("day", "days", "sessions"), "weekly": ("week", "weeks", "weeks"),
                "monthly": ("month", "months", "months")}
SHOWN_GAPS = 3


def frequency_line(document: dict[str, Any]) -> str:
    """One line: the record's frequency, how it is annualised and its gaps."""
    frequency = document.get("frequency", "daily")
    if document.get("metrics", {}).get("n_returns") == 0:  # one snapshot: no interval to tell it from
        return "not known yet (a single snapshot, no return)"
    if frequency == "irregular":
        line = "irregular (snapshots at uneven intervals): total return, calendar CAGR and drawdown only"
    else:
        line = f"{frequency}, annualised with {document.get('periods_per_year')} periods a year"
    gaps = document.get("gaps") or []
    if gaps:
        missing = sum(g["sessions"] for g in gaps)
        shown = ", ".join(g["from"] if g["from"] == g["to"] else f"{g['from']}..{g['to']}" for g in gaps[:SHOWN_GAPS])
        more = f" and {len(gaps) - SHOWN_GAPS} more" if len(gaps) > SHOWN_GAPS else ""
        line += f"; {missing} session(s) without a snapshot: {shown}{more}"
    return line


def share_text(share: float) -> str:
    """A share of a record's snapshots or fills as a whole percent that never says 0% of
    something there, nor 100% of something not all: ``<1%`` and ``>99%`` at the edges."""
    text = f"{share:.0%}"
    if share > 0 and text == "0%":
        return "<1%"
    if share < 1 and text == "100%":
        return ">99%"
    return text


def provenance_line(shares: dict[str, float] | None, what: str) -> str:
    """"Provenance of the snapshots: broker 0%, imported 100%, simulated 0%"."""
    if not shares:
        return f"Provenance of the {what}: none recorded"
    if not any(shares.values()):  # all-zero shares: nothing in the period, not "0% of each origin"
        return f"Provenance of the {what}: none in the period"
    parts = ", ".join(f"{origin} {share_text(share)}" for origin, share in shares.items())
    return f"Provenance of the {what}: {parts}"


def metric_rows(frequency: str) -> list[tuple[str, str, Formatter]]:
    """METRIC_ROWS labelled for the record's frequency (a week is not a day)."""
    one, many, unit = PERIOD_WORDS.get(frequency, ("period", "periods", "periods"))
    rows = []
    for label, key, fmt in METRIC_ROWS:
        if key == "cagr_calendar" and frequency != "daily":
            continue  # ``cagr`` is already calendar-based
        if key == "cagr" and frequency != "daily":
            label = "CAGR (calendar days)"
        elif key in ("best_day", "worst_day", "win_rate_days", "profit_factor_days"):
            label = label.replace("days", many).replace("day", one)
        elif key == "min_track_record_days":
            label = f"Minimum track record ({unit}, 95%)"
        elif key == "n_returns":
            label = "Returns"
        rows.append((label, key, fmt))
    return rows
