"""The monthly report as a typed model, built from the documents ``stats``, ``trades`` and
``slippage`` print (``engine.performance``) on the rebuilt record: no second computation.

Figures stay numbers here (``float | None``, None with its reason); ``reports.pdf``
formats them. Periods (GIPS-style): the month, the year to date and since inception are
cumulative, time-weighted; annualised figures are shown only for a record of a year or
more (a shorter period is never annualised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from trackrecord.analytics.attribution import Attribution, PeriodAttribution, combine
from trackrecord.analytics.metrics import period_returns
from trackrecord.analytics.periods import Period
from trackrecord.analytics.returns import as_dates
from trackrecord.analytics.trades import analyse_trades
from trackrecord.analytics.wording import ONE_YEAR_DAYS, UNDER_A_YEAR, label_for, live_caveats
from trackrecord.domain import TradingState
from trackrecord.engine.attribution import attribute_record, has_model
from trackrecord.engine.performance import (
    PerformanceInputs,
    load_performance_inputs,
    performance_stats,
    slippage_document,
    trades_document,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.cashflows import list_cashflows
from trackrecord.ledger.backtest_mark import opens_a_backtest
from trackrecord.reports.annotations import AnnotationRow, MonthCommentary, annotation_rows, month_commentary
from trackrecord.reports.record import RebuiltRecord
from trackrecord.reports.rules import RulesInForce, StrategyRules, rules_in_force

NO_RETURN_YET = "no return yet: the period holds only the record's base snapshot"


@dataclass(frozen=True, slots=True)
class Figure:
    """A number shown in the report (a fraction, ratio, amount or count) or why there is none."""

    value: float | None
    reason: str = ""

    @classmethod
    def of(cls, section: dict[str, Any] | None, key: str, nonfinite: dict[str, str], prefix: str = "") -> "Figure":
        if section is None:
            return cls(None, nonfinite.get(prefix.rstrip(".") or "benchmark", "not available"))
        value = section.get(key)
        return cls(None, nonfinite.get(prefix + key, "not available")) if value is None else cls(float(value))


NONE = Figure(None, "")


@dataclass(frozen=True, slots=True)
class FigureRow:
    label: str
    kind: str  # "percent", "ratio", "money", "count"
    cells: tuple[Figure, Figure, Figure, Figure]  # month, year to date, since inception, annualised


@dataclass(frozen=True, slots=True)
class Chart:
    """Series for the charts, one point per snapshot of the record up to the month's end."""

    dates: tuple[date, ...]
    index: tuple[float, ...]
    drawdown: tuple[float, ...]
    benchmark: tuple[float | None, ...]
    rolling_6m: tuple[float | None, ...]
    rolling_12m: tuple[float | None, ...]
    monthly: dict[str, float]
    yearly: dict[str, float]
    benchmark_monthly: dict[str, float]
    benchmark_yearly: dict[str, float]


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    quantity: float
    price: float | None
    price_date: str
    value: float | None
    weight: float | None
    unrealised: float | None


@dataclass(frozen=True, slots=True)
class SignalRow:
    rank: int
    symbol: str
    momentum: float | None
    target_weight: float
    held: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Signal:
    month: str
    formation: str
    inputs_sha256: str
    rows: tuple[SignalRow, ...]


@dataclass(frozen=True, slots=True)
class TradeRow:
    day: str
    symbol: str
    side: str
    order_type: str
    quantity: float
    decision: float
    fill: float
    delay_bps: float | None
    execution_bps: float | None
    total_bps: float | None
    commission: float | None


@dataclass(frozen=True, slots=True)
class Dated:
    """A dated line: a cash flow, a risk event, a data-quality note."""

    day: str
    text: str
    amount: float | None = None


@dataclass(frozen=True)
class MonthlyReport:
    account: str
    period: Period
    label: str
    base_currency: str
    inception: date
    head_seq: int
    head_hash: str
    genesis_hash: str
    key_fingerprint: str
    strategy: str
    benchmark_label: str
    frequency: str
    under_a_year: bool
    figures: tuple[FigureRow, ...]
    drawdown_line: str
    track_record_line: str
    chart: Chart
    nav: float
    positions: tuple[PositionRow, ...]
    cash: float | None
    signal: Signal | None
    trades: tuple[TradeRow, ...]
    trade_summary: tuple[tuple[str, str, Figure], ...]
    cashflows: tuple[Dated, ...]
    risk_events: tuple[Dated, ...]
    kill_switch: str
    quality: tuple[str, ...]
    disclosures: tuple[str, ...]
    month_stats: dict[str, Any]
    ytd_stats: dict[str, Any]
    inception_stats: dict[str, Any]
    annotations: tuple[AnnotationRow, ...] = ()
    commentary: MonthCommentary | None = None
    attribution: "AttributionTable | None" = None
    valued_on: date | None = None  # the month's last snapshot
    # The month has sessions after that snapshot (a month still open, or a record with a gap):
    # the positions and NAV are of that snapshot, not of month end.
    ends_early: bool = False
    # The month's return starts at a snapshot before the previous month's last session (a record
    # with a gap): the date it runs from, else None.
    month_base: date | None = None
    no_signal: "NoSignal | None" = None  # why the month has no signal (None: it has one)


def build_content(record: RebuiltRecord, period: Period) -> MonthlyReport:
    """The report's model for ``record.account_id`` and ``period`` (a month with at least one
    snapshot up to its end); ``UserError`` otherwise."""
    account = record.account_id
    inputs = load_performance_inputs(record.engine, record.settings, account)
    if inputs.dates[0] > period.last:
        raise UserError(f"account {account} has no snapshot up to {period.last}: its record starts {inputs.dates[0]}")
    frozen = record.frozen.benchmark_until(period.last)
    sessions = record.frozen.session_array()
    shared = {"account_id": account, "frozen_benchmark": frozen, "frozen_sessions": sessions, "inputs": inputs}
    month = performance_stats(record, *period.bounds("month"), None, **shared)
    ytd = performance_stats(record, *period.bounds("ytd"), None, **shared)
    inception = performance_stats(record, *period.bounds("inception"), None, include_series=True, **shared)
    if _has_fills(record, account):
        trades = trades_document(record, period.first, period.last, account_id=account, inputs=inputs)
        slippage = slippage_document(record, account_id=account, timezone=record.frozen.timezone)
    else:  # what `trades` and `slippage` show for an account without fills
        trades = analyse_trades((), marks={}, period_from=period.first, period_to=period.last).to_dict()
        slippage = {"fills": []}
    base = date.fromisoformat(inception["period"]["base_date"])
    under_a_year = (period.last - base).days < ONE_YEAR_DAYS or date.fromisoformat(inception["period"]["end"]) < base
    last = max(i for i, d in enumerate(inputs.dates) if d <= period.last)
    seq, head_hash = record.head
    label = record_label(record, month)
    signal = signal_of(record, period)
    return MonthlyReport(
        account=account, period=period, label=label,
        base_currency=inputs.base_currency, inception=base, head_seq=seq, head_hash=head_hash,
        genesis_hash=record.events[0].hash,
        key_fingerprint=key_fingerprint(record.public_key()),
        strategy=strategy_text(_rules_of(record, period), record.settings.universe),
        benchmark_label=benchmark_label(inception.get("benchmark_name")), frequency=inception.get("frequency", "daily"),
        under_a_year=under_a_year, figures=figure_rows(month, ytd, inception, under_a_year),
        drawdown_line=drawdown_line(inception), track_record_line=track_record_line(inception, under_a_year),
        chart=chart_of(inception, frozen[0]), nav=inputs.navs[last],
        positions=positions_at(inputs.positions[last], inputs.navs[last], trades),
        cash=_cash_of(record, account, inputs.dates[last]),
        signal=signal, no_signal=None if signal else why_no_signal(record, period, inputs.dates[0]),
        trades=trades_of(slippage, period),
        trade_summary=trade_summary(trades), cashflows=cashflows_of(record, account, period),
        risk_events=risk_events_of(record, period), kill_switch=kill_switch_at(record, period),
        quality=quality_notes(inception, month, inputs.positions[last], inputs.dates[last]),
        disclosures=disclosures(month, inception, record.settings), month_stats=month, ytd_stats=ytd, inception_stats=inception,
        annotations=annotation_rows(record.events, period.first, account),
        commentary=month_commentary(record.events, period.first),
        attribution=attribution_table(record, period, label, inputs), valued_on=inputs.dates[last],
        ends_early=_sessions_after(record, inputs.dates[last], period.last),
        month_base=_stale_month_base(record, month, period),
    )


def _rules_of(record: RebuiltRecord, period: Period) -> RulesInForce:
    configured = StrategyRules.of_settings(record.settings.strategy, record.settings.universe)
    return rules_in_force(record.events, record.account_id, configured, period.last)


def _stale_month_base(record: RebuiltRecord, month: dict[str, Any], period: Period) -> date | None:
    base = (month.get("period") or {}).get("base_date")
    before = [day for day in record.frozen.sessions if day < period.first.isoformat()]
    if not base or not before or base >= before[-1]:
        return None
    return date.fromisoformat(base)


def _sessions_after(record: RebuiltRecord, valued_on: date, month_end: date) -> bool:
    """Whether the exchange had sessions after ``valued_on`` up to ``month_end`` (the frozen
    calendar covers the record and two weeks beyond its last snapshot)."""
    return any(valued_on.isoformat() < day <= month_end.isoformat() for day in record.frozen.sessions)


@dataclass(frozen=True, slots=True)
class AttributionRow:
    """One line of the model-vs-account table: fractions for the month, the year to date and
    since inception (None: no snapshot of the record in that column), shown as a percentage
    (``"percent"``) or in basis points (``"bps"``), and what it measures in plain words."""

    key: str
    label: str
    unit: str
    cells: tuple[float | None, float | None, float | None]
    meaning: str


@dataclass(frozen=True, slots=True)
class AttributionTable:
    """The record against its own model (``trackrecord attribution``), or why it cannot be
    shown (``unavailable``, the command's own words; then ``rows`` is empty)."""

    rows: tuple[AttributionRow, ...]
    nature: str
    untraded: tuple[str, ...]
    base_currency: str
    unavailable: str | None = None
    command: str = ""  # what prints the since-inception column


ACCOUNT_WORDS = {"LIVE": "Live", "IB PAPER": "Paper", "SIMULATED": "Simulated", "SIMULATED BACKTEST": "Backtest"}
NATURES = {
    "LIVE": "The account is a live Interactive Brokers account, with real money at risk; the model is the same "
            "signals priced at the stored session closes.",
    "IB PAPER": "The account is an Interactive Brokers paper account (IB's simulated fills, no real money at risk): "
                "the gap measures the frictions of paper trading.",
    "SIMULATED": "The account is simulated (fills and costs modelled by the simulated broker, no real money at risk): "
                 "the gap measures the modelled frictions, not those of a live account.",
    "SIMULATED BACKTEST": "This is a backtest: the account itself is simulated, so the gap is the backtest's own "
                          "modelled frictions (commissions, slippage, whole shares, the cash buffer), not the "
                          "shortfall of a live account.",
}
BUCKET_WORDS = (
    ("selection", "Selection", "Refused, missed or late rebalances: the account held what the model did not"),
    ("cash_drag", "Cash drag", "The cash buffer the plan keeps out of the market"),
    ("rounding", "Rounding", "Whole shares; small trades left out (drift band, minimum order)"),
    ("delay", "Delay", "The price move from the decision (the previous close) to the close"),
    ("execution", "Execution", "Fill prices against the session's close: slippage"),
    ("costs", "Costs", "Commissions, fees and taxes"),
    ("income", "Income", "Dividends and interest received (negative: a gain)"),
    ("residual", "Residual", "What no row explains (broker marks against stored closes): near zero"),
)


def attribution_table(record: RebuiltRecord, period: Period, label: str,
                      inputs: PerformanceInputs | None = None) -> AttributionTable | None:
    """The month's, the year's and the record's attribution since inception, from the closes
    frozen in the chain; None when the inputs froze none (a record with no model by the
    month's end, or inputs recorded before reports showed it): then the report has no table."""
    frozen = record.frozen
    if not frozen.model_frozen:
        return None
    with record.engine.connect() as conn:
        if not has_model(conn, record.account_id, period.last):
            return None
    nature = NATURES.get(label, NATURES["LIVE"])
    if frozen.model_unavailable:
        return AttributionTable((), nature, (), "", frozen.model_unavailable)
    try:
        done = attribute_record(record, None, period.last, account_id=record.account_id,  # type: ignore[arg-type]
                                closes=frozen.model_close_series(), timezone=frozen.timezone, record=inputs)
    except UserError as exc:
        return AttributionTable((), nature, (), "", str(exc))
    columns = _attribution_columns(done.result, period)
    word = ACCOUNT_WORDS.get(label, "Account")

    def cells(value: Any) -> tuple[float | None, float | None, float | None]:
        return tuple(None if c is None else value(c) for c in columns)  # type: ignore[return-value]

    rows = [AttributionRow("model", "Model TWR", "percent", cells(lambda c: c.returns["model"]),
                           "The account's own signals traded at each close, in fractional shares, at no cost"),
            AttributionRow("account", f"{word} TWR", "percent", cells(lambda c: c.returns["live"]),
                           "The account's time-weighted return, as in Key figures"),
            AttributionRow("gap", "Gap", "bps", cells(lambda c: c.gap),
                           "Model minus account: how far the account fell short (negative: it did better)")]
    rows += [AttributionRow(key, name, "bps", cells(lambda c, key=key: getattr(c.buckets, key)), words)
             for key, name, words in BUCKET_WORDS]
    untraded = tuple(d.isoformat() for d in done.result.untraded_sessions if d <= period.last)
    command = f"trackrecord attribution {done.result.total.start.isoformat()} {period.last.isoformat()}"
    return AttributionTable(tuple(rows), nature, untraded, done.base_currency, command=command)


def _attribution_columns(result: Attribution, period: Period) -> tuple[PeriodAttribution | None, ...]:
    month = next((m for m in result.months if m.label == period.month), None)
    year = [m for m in result.months if m.label[:4] == period.month[:4] and m.label <= period.month]
    return month, combine("ytd", year) if year else None, result.total


def _has_fills(record: RebuiltRecord, account: str) -> bool:
    return any(e.data().get("account_id") == account for e in record.of_kind(kinds.FILL_RECORDED))


def record_label(record: RebuiltRecord, month: dict[str, Any]) -> str:
    """LIVE, IB PAPER or SIMULATED, and BACKTEST for a record ``trackrecord backtest`` made:
    the same rule as ``stats`` (the mark in the chain's ``workspace.created``), never a guess."""
    simulated = bool(month.get("simulated"))
    return label_for(simulated, bool(month.get("paper")),
                     simulated and opens_a_backtest(record.of_kind(kinds.WORKSPACE_CREATED)))


def key_fingerprint(public_key: str | None) -> str:
    """The signing key's fingerprint as ``verify`` prints it (``ledger.signing.key_fingerprint``)."""
    from trackrecord.ledger.signing import key_fingerprint as fingerprint

    return fingerprint(public_key) if public_key else "no signing key recorded"


def strategy_text(in_force: RulesInForce, universe: Any) -> str:
    """The rules the month traded under (``reports.rules``), and each change of them the record saw."""
    s = in_force.rules
    symbols = ", ".join(s.universe)
    skip = f", skipping the last {s.skip_months} month" + ("s" if s.skip_months != 1 else "") if s.skip_months else ""
    floor = f"; only a positive momentum above {s.min_momentum:.0%} is held" if s.min_momentum is not None else ""
    text = (
        f"Sector momentum {s.lookback_months}-{s.skip_months} on the {universe.name} universe ({symbols}), "
        f"traded on {universe.calendar}. On the first session of each month the instruments are ranked by their "
        f"total return over the {s.lookback_months} months{skip}; the top {s.top_n} are held at equal weight, a "
        f"holding is kept while it ranks within the top {s.exit_rank}{floor}. "
        f"{_drift(s.drift_band)}, {s.cash_buffer:.0%} is kept in cash, orders are "
        f"{'market-on-close' if s.order_type == 'MOC' else 'market'} orders, whole shares only."
    )
    if not in_force.recorded:
        return text + " These are the configured rules: no rebalance has been planned yet."
    if in_force.changes:
        text += " The rules changed during the record: " + "; ".join(
            f"from the rebalance of {day.isoformat()}, {_and(changed)}" for day, changed in in_force.changes) + "."
    return text


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _drift(band: float) -> str:
    return "Every drift from the target weights is traded" if band == 0 else \
        f"Weights drifting less than {band:.0%} from their target are not traded"


def benchmark_label(name: str | None) -> str:
    if name is None:
        return "none"
    return "equal-weight universe" if name == "universe" else name


def figure_rows(month: dict[str, Any], ytd: dict[str, Any], inception: dict[str, Any],
                under_a_year: bool) -> tuple[FigureRow, ...]:
    docs = (month, ytd, inception)

    def cumulative(key: str, section: str = "metrics", of_returns: bool = False) -> tuple[Figure, Figure, Figure]:
        # a period of the base snapshot alone (the month an account was funded on its last day) has no return
        return tuple(Figure(None, NO_RETURN_YET) if of_returns and d["metrics"].get("n_returns") == 0 else
                     Figure.of(d[section], key, d["nonfinite"], "" if section == "metrics" else section + ".")
                     for d in docs)  # type: ignore[return-value]

    def annual(key: str) -> Figure:
        if under_a_year:
            return Figure(None, UNDER_A_YEAR)
        return Figure.of(inception["metrics"], key, inception["nonfinite"])

    twr, bench = cumulative("total_return", of_returns=True), cumulative("total_return", "benchmark", of_returns=True)
    bench_cagr = Figure(None, UNDER_A_YEAR) if under_a_year else \
        Figure.of(inception["benchmark"], "cagr", inception["nonfinite"], "benchmark.")
    cagr = annual("cagr")
    active = tuple(Figure(None, b.reason or "no benchmark") if a.value is None or b.value is None
                   else Figure(a.value - b.value) for a, b in zip((*twr, cagr), (*bench, bench_cagr)))
    fees = tuple(Figure.of(d["trades"], "commissions", d["nonfinite"], "trades.") for d in docs)
    pnl = cumulative("pnl")
    dd = cumulative("max_drawdown", of_returns=True)
    return (
        FigureRow("Time-weighted return", "percent", (*twr, cagr)),
        FigureRow("Benchmark return", "percent", (*bench, bench_cagr)),
        FigureRow("Active return", "percent", active),
        FigureRow("Max drawdown", "percent", (*dd, NONE)),
        FigureRow("Volatility", "plain_percent", (NONE, NONE, NONE, annual("ann_volatility"))),
        FigureRow("Sharpe ratio", "ratio", (NONE, NONE, NONE, annual("sharpe"))),
        FigureRow("Sortino ratio", "ratio", (NONE, NONE, NONE, annual("sortino"))),
        FigureRow("Calmar ratio", "ratio", (NONE, NONE, NONE, annual("calmar"))),
        FigureRow("Money-weighted return", "percent", (NONE, NONE, NONE, annual("mwr"))),
        FigureRow("Probabilistic Sharpe (vs 0)", "plain_percent",
                  (NONE, NONE, Figure.of(inception["metrics"], "psr", inception["nonfinite"]), NONE)),
        FigureRow("Profit and loss", "money", (*pnl, NONE)),
        FigureRow("Fees (commissions)", "money", (*fees, NONE)),
    )


def drawdown_line(inception: dict[str, Any]) -> str:
    m = inception["metrics"]
    if not m.get("max_drawdown_peak_date"):
        return "No drawdown since inception."
    recovery = m.get("max_drawdown_recovery_date")
    recovered = f"recovered on {recovery}" if recovery else "not recovered by the end of the month"
    return (f"Deepest drawdown since inception: {m['max_drawdown'] * 100:.2f}% from the peak of "
            f"{m['max_drawdown_peak_date']} to the trough of {m['max_drawdown_trough_date']}, {recovered} "
            f"({m['max_drawdown_days']:,} sessions from peak to recovery or month end).")


def track_record_line(inception: dict[str, Any], under_a_year: bool) -> str:
    """The minimum track-record length in plain words (Bailey and Lopez de Prado, 95 %)."""
    m = inception["metrics"]
    psr, needed, have = m.get("psr"), m.get("min_track_record_days"), m.get("n_period_returns") or 0
    ppy = inception.get("periods_per_year") or 252
    if psr is None or needed is None:
        reason = inception["nonfinite"].get("psr", "not available")
        return f"Probabilistic Sharpe ratio: n/a ({reason})."
    sharpe = m.get("sharpe")
    sharpe_text = "n/a" if sharpe is None else f"{sharpe:.2f}"
    if under_a_year:
        sharpe_text = "not annualised under a year"
    if psr >= 0.95 or needed <= have:
        return (f"Probabilistic Sharpe ratio {psr * 100:.1f}%: at this Sharpe ({sharpe_text}) the record of "
                f"{have:,} returns is already long enough to say, with 95% confidence, that the true Sharpe is above 0.")
    months = (needed - have) / ppy * 12
    return (f"Probabilistic Sharpe ratio {psr * 100:.1f}%: at this Sharpe ({sharpe_text}), about {months:,.0f} more "
            f"months are needed before the record shows, with 95% confidence, a true Sharpe above 0.")


def chart_of(inception: dict[str, Any], benchmark: tuple[Any, Any] | None) -> Chart:
    import numpy as np

    from trackrecord.analytics.benchmark import align_closes

    series = inception["series"]
    days = as_dates(series["dates"])
    bench: tuple[float | None, ...] = tuple(None for _ in series["dates"])
    bench_m: dict[str, float] = {}
    bench_y: dict[str, float] = {}
    if benchmark is not None and inception.get("benchmark") is not None:
        aligned = align_closes(days, as_dates(benchmark[0]), np.asarray(benchmark[1], dtype=np.float64))
        index = aligned / aligned[0]
        bench = tuple(float(x) for x in index.tolist())
        bench_m = dict(zip(*period_returns(days, index, "M")))
        bench_y = dict(zip(*period_returns(days, index, "Y")))
    return Chart(
        dates=tuple(date.fromisoformat(d) for d in series["dates"]), index=tuple(series["twr_index"]),
        drawdown=tuple(series["drawdown"]), benchmark=bench,
        rolling_6m=tuple(series["rolling"]["sharpe_126"]), rolling_12m=tuple(series["rolling"]["sharpe_252"]),
        monthly={m["month"]: m["return"] for m in inception["monthly_returns"]},
        yearly={y["year"]: y["return"] for y in inception["yearly_returns"]},
        benchmark_monthly=bench_m, benchmark_yearly=bench_y,
    )


def positions_at(positions_json: str, nav: float, trades: dict[str, Any]) -> tuple[PositionRow, ...]:
    unrealised = {p["symbol"]: p.get("unrealised_pnl") for p in trades.get("open_positions", [])}
    rows = []
    for p in sorted(json.loads(positions_json or "[]"), key=lambda p: p["symbol"]):
        value = None if p.get("market_value") is None else float(p["market_value"])
        rows.append(PositionRow(
            symbol=p["symbol"], quantity=float(p["quantity"]),
            price=None if p.get("market_price") is None else float(p["market_price"]),
            price_date=p.get("price_date") or "", value=value,
            weight=None if value is None or not nav else value / nav, unrealised=unrealised.get(p["symbol"]),
        ))
    return tuple(rows)


def _cash_of(record: RebuiltRecord, account: str, day: date) -> float | None:
    from trackrecord.ledger.queries import recorded_snapshot_content

    with record.engine.connect() as conn:
        content = recorded_snapshot_content(conn, account, day)
    if not content or content[1] is None:
        return None
    return float(content[1])


def signal_of(record: RebuiltRecord, period: Period) -> Signal | None:
    found = None
    for event in record.of_kind(kinds.SIGNAL_COMPUTED):
        data = event.data()
        if data.get("month") == period.month:
            found = data
    if found is None:
        return None
    rows = tuple(SignalRow(int(r["rank"]), r["symbol"], None if r.get("momentum") is None else float(r["momentum"]),
                           float(r.get("target_weight") or 0), bool(r.get("held")), str(r.get("reason") or ""))
                 for r in found.get("ranks", []))
    return Signal(period.month, f"{found.get('formation_start')} to {found.get('formation_end')}",
                  str(found.get("inputs_sha256", "")), rows)


@dataclass(frozen=True, slots=True)
class NoSignal:
    """Why a month has no signal, in words; ``not_run``: its rebalance session passed with
    the record running and nothing was planned (a month a reader must not take for a
    rebalanced one, which the model, trading the recorded signals, does not trade either)."""

    reason: str
    not_run: bool = False


def why_no_signal(record: RebuiltRecord, period: Period, record_start: date) -> NoSignal:
    """Why the month, which has no signal, has none: the record began after its rebalance
    session, the price gates blocked the signal, or the rebalance was not run."""
    first, last = period.first.isoformat(), period.last.isoformat()
    due = next((day for day in record.frozen.sessions if first <= day <= last), None)
    if due is None:
        return NoSignal("no session of the month is in the record")
    if record_start.isoformat() > due:
        return NoSignal(f"the record began after the month's rebalance session, {due}")
    for event in record.of_kind(kinds.QUALITY_CHECKED):
        data = event.data()
        if data.get("purpose") == "signal" and str(data.get("as_of"))[:10] == due and not data.get("passed"):
            return NoSignal(f"the price quality gates blocked the signal of its rebalance session, {due}")
    return NoSignal(f"its rebalance session, {due}, was not run: the account kept its holdings", not_run=True)


def trades_of(slippage: dict[str, Any], period: Period) -> tuple[TradeRow, ...]:
    rows = []
    for f in slippage["fills"]:
        if not period.first.isoformat() <= f["executed_at"][:10] <= period.last.isoformat():
            continue
        rows.append(TradeRow(f["executed_at"][:10], f["symbol"], f["side"], f["order_type"], f["quantity"],
                             f["intended_price"], f["fill_price"], f["delay_bps"], f["execution_bps"],
                             f["slippage_bps"], f.get("commission")))
    return tuple(rows)


TRADE_SUMMARY = (("Round trips closed", "round_trips", "count"), ("Win rate", "win_rate", "plain_percent"),
                 ("Profit factor", "profit_factor", "ratio"), ("Average holding (days)", "avg_holding_days", "ratio"),
                 ("Realised P&L (net)", "realised_pnl", "money"), ("Commissions", "commissions", "money"),
                 ("Open positions", "open_positions", "count"), ("Unrealised P&L", "unrealised_pnl", "money"))


def trade_summary(trades: dict[str, Any]) -> tuple[tuple[str, str, Figure], ...]:
    return tuple((label, kind, Figure.of(trades["summary"], key, trades["nonfinite"])) for label, key, kind in TRADE_SUMMARY)


def cashflows_of(record: RebuiltRecord, account: str, period: Period) -> tuple[Dated, ...]:
    flows = list_cashflows(record.engine, until=period.last, account_id=account, default_account=account)
    return tuple(Dated(f.flow_date.isoformat(), f"{'Deposit' if f.amount > 0 else 'Withdrawal'}"
                       f"{': ' + f.note if f.note else ''} ({f.currency})", float(f.amount))
                 for f in flows if f.flow_date >= period.first)


def risk_events_of(record: RebuiltRecord, period: Period) -> tuple[Dated, ...]:
    out = []
    for event in record.of_kind(kinds.RISK_DECIDED, kinds.ORDER_DENIED, kinds.KILL_SWITCH_CHANGED):
        data = event.data()
        day = _event_day(event, data)
        if not period.first.isoformat() <= day <= period.last.isoformat():
            continue
        if event.kind == kinds.KILL_SWITCH_CHANGED:
            reason = f": {data['reason']}" if data.get("reason") else ""
            out.append(Dated(day, f"Kill switch {data.get('previous_state', '?')} -> {data['state']}{reason}"))
        elif event.kind == kinds.ORDER_DENIED:
            out.append(Dated(day, f"Order {data.get('order_ref')} denied by {data.get('rule')}: {data.get('message')}"))
        elif not data.get("approved", True):
            for result in data.get("results", []):
                if not result.get("passed", True):
                    out.append(Dated(day, f"Plan {data.get('plan_id')} refused by {result.get('rule')}: "
                                          f"{result.get('message')}"))
    return tuple(out)


def _event_day(event: Any, data: dict[str, Any]) -> str:
    for key in ("decided_at", "changed_at", "session_date"):
        if data.get(key):
            return str(data[key])[:10]
    plan = str(data.get("plan_id") or "")
    tail = plan.rsplit("-", 1)[-1]
    if len(tail) == 8 and tail.isdigit():
        return f"{tail[:4]}-{tail[4:6]}-{tail[6:]}"
    return event.recorded_at[:10]


def kill_switch_at(record: RebuiltRecord, period: Period) -> str:
    never = f"{_switch_state(TradingState.ACTIVE.value)} (never changed)"
    state = never
    for event in record.of_kind(kinds.KILL_SWITCH_CHANGED):
        data = event.data()
        if _event_day(event, data) <= period.last.isoformat():
            state = f"{_switch_state(str(data['state']))}, since {_event_day(event, data)}" + \
                (f" ({data['reason']})" if data.get("reason") else "")
        elif state == never:  # changed only after the month (e.g. a back-dated paper run)
            state = f"{_switch_state(TradingState.ACTIVE.value)} (first changed on {_event_day(event, data)}, after this month)"
    return state


def _switch_state(state: str) -> str:
    """``ACTIVE, trading as planned``: the state with what it means."""
    try:
        return f"{state}, {TradingState(state).meaning}"
    except ValueError:  # a state this release does not know: as recorded
        return state


def quality_notes(inception: dict[str, Any], month: dict[str, Any], positions_json: str, day: date) -> tuple[str, ...]:
    from trackrecord.analytics.wording import frequency_line, provenance_line

    notes = [f"Record frequency: {frequency_line(inception)}.",
             provenance_line(inception.get("provenance"), "snapshots") + " (since inception).",
             provenance_line(month.get("provenance"), "snapshots") + " (this month)."]
    if month.get("provenance_fills"):
        notes.append(provenance_line(month["provenance_fills"], "fills") + " (this month).")
    stale = [p["symbol"] + " " + p["price_date"] for p in json.loads(positions_json or "[]")
             if p.get("price_date") and p["price_date"] < day.isoformat()]
    notes.append(f"Stale marks at month end: {', '.join(stale)}." if stale else
                 "Every position at month end is marked at that session's price.")
    notes.extend(f"Warning: {w}" for w in inception.get("warnings") or [])
    return tuple(notes)


def _live_provenance(month: dict[str, Any], inception: dict[str, Any], settings: Any) -> str:
    placeholder = settings.account.account_id is None and month.get("account") == settings.broker.sim.account_id
    said = live_caveats(inception.get("provenance"), month["account"] if placeholder else None, " since inception")
    return " " + said if said else ""


def disclosures(month: dict[str, Any], inception: dict[str, Any], settings: Any) -> tuple[str, ...]:
    if month.get("simulated"):
        nature = ("SIMULATED: the figures come from a simulated broker (fills modelled from closing prices with "
                  "modelled costs), not from trades executed in a brokerage account. Simulated results have "
                  "inherent limits: no real money was at risk, and they may not reflect the impact of liquidity "
                  "or of the trader's decisions under pressure.")
    elif month.get("paper"):
        nature = ("IB PAPER: the figures come from an Interactive Brokers paper-trading account; fills are IB's "
                  "simulation, no real money was at risk.")
    else:
        nature = "LIVE: the figures come from a live Interactive Brokers account, with real money at risk." + \
            _live_provenance(month, inception, settings)
    return (
        nature,
        "Returns are time-weighted (daily valuation, external cash flows neutralised), in the account's base "
        "currency, net of commissions and of every trading cost recorded; no management or performance fee is "
        "charged.",
        "Periods shorter than a year are not annualised. Risk figures are annualised with "
        f"{inception.get('periods_per_year') or 252} periods a year ({inception.get('frequency', 'daily')} record) "
        f"and a risk-free rate of {settings.performance.risk_free_rate:.2%}.",
        "Past performance does not guarantee future results. The value of investments can fall as well as rise.",
        "Figures are presented in the style of the GIPS standards; this report does not claim compliance with GIPS.",
        "Every figure is recomputed from the hash-chained, Ed25519-signed ledger named on the cover: "
        "trackrecord report verify (or trackrecord verify BUNDLE.zip, with no workspace) rebuilds this file byte "
        "for byte.",
    )
