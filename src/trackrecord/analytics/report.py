"""The full statistics set of a track record, as one JSON-able result.

``compute_stats`` is the entry point the CLI, the web API and the PDF reports call.
Everything is computed from the snapshots' NAVs, the external flows and (optionally)
the benchmark closes and the fills; nothing is read from anywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from trackrecord.analytics import benchmark as bm
from trackrecord.analytics import metrics as mt
from trackrecord.analytics import returns as rt
from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.frequency import Frequency, RecordFrequency, detect_frequency
from trackrecord.analytics.significance import min_track_record_length, probabilistic_sharpe_ratio
from trackrecord.analytics.trades import TradeMatcher, analyse_trades

ROLLING_WINDOWS = (126, 252)
JsonDict = dict[str, Any]
IRREGULAR = mt.Undefined("irregular record (snapshots at uneven intervals): no per-period figure")
PER_PERIOD_KEYS = ("ann_volatility", "sharpe", "sortino", "best_day", "best_day_date", "worst_day", "worst_day_date",
                   "win_rate_days", "profit_factor_days", "skew", "kurtosis", "psr", "min_track_record_days")


@dataclass(frozen=True, slots=True)
class StatsSeries:
    """Arrays behind the figures, aligned with ``dates`` (base date first): the TWR
    ``index`` (1 at the base), ``drawdown`` (<= 0), daily ``returns`` (NaN at the base)
    and ``rolling`` ({"sharpe_126", "volatility_126", "sharpe_252", "volatility_252"},
    NaN until a window is full or when undefined)."""

    dates: rt.DateArray
    index: rt.FloatArray
    drawdown: rt.FloatArray
    returns: rt.FloatArray
    rolling: dict[str, rt.FloatArray]

    def to_dict(self) -> JsonDict:
        return {
            "dates": np.datetime_as_string(self.dates).tolist(),
            "twr_index": self.index.tolist(),
            "drawdown": self.drawdown.tolist(),
            "returns": _json_list(self.returns),
            "rolling": {k: _json_list(v) for k, v in self.rolling.items()},
        }


@dataclass(frozen=True, slots=True)
class StatsResult:
    """The statistics of one period. ``to_dict()`` is the JSON document (no NaN/inf)."""

    metrics: JsonDict
    benchmark: JsonDict | None
    trades: JsonDict | None
    period: JsonDict
    nonfinite: dict[str, str]
    monthly_returns: list[JsonDict]
    yearly_returns: list[JsonDict]
    series: StatsSeries = field(repr=False)
    frequency: RecordFrequency | None = None

    def to_dict(self, include_series: bool = False) -> JsonDict:
        detected = self.frequency
        out: JsonDict = {
            "frequency": detected.frequency.value if detected else Frequency.DAILY.value,
            "periods_per_year": detected.periods_per_year if detected else rt.PERIODS_PER_YEAR,
            "gaps": [g.to_dict() for g in detected.gaps] if detected else [],
            "metrics": self.metrics,
            "benchmark": self.benchmark,
            "trades": self.trades,
            "period": self.period,
            "nonfinite": self.nonfinite,
            "monthly_returns": self.monthly_returns,
            "yearly_returns": self.yearly_returns,
        }
        if include_series:
            out["series"] = self.series.to_dict()
        return out


def compute_stats(
    dates: Sequence[rt.DateLike] | rt.DateArray,
    navs: Sequence[float] | rt.FloatArray,
    flows_by_date: Mapping[rt.DateLike, float] | None = None,
    *,
    flow_weight: rt.FlowWeight | float = "start",
    risk_free: float = 0.0,
    benchmark_closes: tuple[Sequence[rt.DateLike] | rt.DateArray, Sequence[float] | rt.FloatArray] | None = None,
    fills: Iterable[Any] | TradeMatcher | None = None,
    marks: Mapping[str, float] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    sessions: Sequence[rt.DateLike] | rt.DateArray | None = None,
) -> StatsResult:
    """All performance figures of the record between ``period_from`` and ``period_to``.

    ``dates``/``navs``: one snapshot per session (strictly increasing dates; NAV in base
    currency). ``flows_by_date``: external flows (deposit > 0), booked on the next snapshot
    on or after their date. ``risk_free``: annual rate (0.04 = 4 %). ``benchmark_closes``:
    ``(close_dates, closes)``, aligned as the last close on or before each snapshot date.
    ``fills``: ``TradeFill`` or ``domain.Fill``-like objects, or a ``TradeMatcher`` of them; ``marks``: symbol -> price for
    open positions. The snapshot before ``period_from`` is the base (so sub-periods
    chain-link); without one the first snapshot in the period is the base.
    ``sessions``: the exchange calendar's sessions covering the record, from which the
    record's frequency is detected (``frequency.detect_frequency``); None treats every
    snapshot date as the next session (a daily record without gaps).
    Raises ``AnalyticsInputError`` on unusable input.
    """
    all_dates = rt.as_dates(dates)
    all_navs = np.asarray(navs, dtype=np.float64)
    if all_navs.shape != all_dates.shape or all_dates.size == 0:
        raise AnalyticsInputError(f"{all_navs.size} NAVs for {all_dates.size} dates; need one per date, at least one")
    all_flows = rt.flows_on_dates(all_dates, flows_by_date)
    first, last = _period_bounds(all_dates, period_from, period_to)
    d, nav, flow = all_dates[first : last + 1], all_navs[first : last + 1], all_flows[first : last + 1]
    r = rt.twr_returns(nav, flow, flow_weight, d)
    detected = detect_frequency(d, d if sessions is None else sessions)
    rf = rt.daily_risk_free(risk_free, detected.periods_per_year or rt.PERIODS_PER_YEAR)
    index = rt.twr_index(r)
    figures = _return_metrics(d, r, index, rf, detected)
    figures["mwr"] = _or_undefined(rt.money_weighted_return(d, nav, flow), "no time span or no sign change in the cash flows")
    figures["pnl"] = rt.profit_and_loss(nav, flow)
    nonfinite: dict[str, str] = {}
    metrics = _json_figures(figures, nonfinite, "")
    bench = _benchmark_section(d, r, rf, benchmark_closes, nonfinite, detected)
    trades = None
    if fills is not None:
        report = analyse_trades(fills, marks=marks, period_from=period_from, period_to=period_to)
        trades = _json_figures(report.totals(), nonfinite, "trades.")
    labels_m, values_m = mt.period_returns(d, index, "M")
    labels_y, values_y = mt.period_returns(d, index, "Y")
    return StatsResult(
        metrics=metrics,
        benchmark=bench,
        trades=trades,
        period={"base_date": str(d[0]), "start": str(d[1]) if d.size > 1 else None, "end": str(d[-1])},
        nonfinite=nonfinite,
        monthly_returns=[{"month": k, "return": v} for k, v in zip(labels_m, values_m)],
        yearly_returns=[{"year": k, "return": v} for k, v in zip(labels_y, values_y)],
        series=_series(d, r, index, rf, detected),
        frequency=detected,
    )


def _period_bounds(dates: rt.DateArray, period_from: date | None, period_to: date | None) -> tuple[int, int]:
    first = 0 if period_from is None else max(int(np.searchsorted(dates, np.datetime64(period_from, "D"))) - 1, 0)
    last = dates.size - 1 if period_to is None else int(np.searchsorted(dates, np.datetime64(period_to, "D"), "right")) - 1
    if last < first or (period_from is not None and dates[last] < np.datetime64(period_from, "D")):
        raise AnalyticsInputError(f"no snapshot between {period_from or 'the start'} and {period_to or 'the end'}")
    return first, last


def _return_metrics(d: rt.DateArray, r: rt.FloatArray, index: rt.FloatArray, rf: float,
                    detected: RecordFrequency) -> dict[str, Any]:
    """Total, CAGR and drawdowns on every observed point; per-period figures only on the
    returns that span exactly one period of the detected frequency (none if irregular)."""
    total = mt.total_return(index)
    sessions = detected.positions[-1] if detected.positions else 0
    out: dict[str, Any] = {"n_returns": int(r.size), "total_return": total}
    out["n_period_returns"] = int(detected.one_period().sum())
    out["cagr_calendar"] = mt.cagr_calendar(total, mt.calendar_days(d, 0, d.size - 1))
    if detected.frequency is Frequency.DAILY:
        out["cagr"] = mt.cagr_periods(total, sessions)
    else:
        out["cagr"] = out["cagr_calendar"]
    out.update(_drawdown_figures(d, index, detected.positions))
    out["calmar"] = mt.calmar_ratio(out["cagr"], out["max_drawdown"])
    if not detected.regular:
        return out | {key: IRREGULAR for key in PER_PERIOD_KEYS}
    ppy = detected.periods_per_year or rt.PERIODS_PER_YEAR
    mask = detected.one_period()
    p = r[mask]
    out["ann_volatility"] = mt.annualised_volatility(p, ppy)
    out["sharpe"] = mt.sharpe_ratio(p, rf, ppy)
    out["sortino"] = mt.sortino_ratio(p, rf, ppy)
    out.update(_day_figures(d[1:][mask], p))
    out["skew"] = mt.skewness(p)
    out["kurtosis"] = mt.excess_kurtosis(p)
    out.update(_significance(p, rf, out["skew"], out["kurtosis"], ppy))
    return out


def _drawdown_figures(d: rt.DateArray, index: rt.FloatArray, positions: Sequence[int]) -> dict[str, Any]:
    dd = mt.drawdown_series(index)
    trough = int(np.argmin(dd))
    peaks, ends, recovered = mt.underwater_runs(index)
    out: dict[str, Any] = {"max_drawdown": float(dd[trough])}
    if peaks.size == 0:
        none = mt.Undefined("no drawdown")
        return out | {
            "max_drawdown_days": 0, "max_drawdown_calendar_days": 0,
            "longest_underwater_days": 0, "longest_underwater_calendar_days": 0,
            "max_drawdown_peak_date": none, "max_drawdown_trough_date": none,
            "max_drawdown_recovery_date": none,
        }  # fmt: skip
    k = int(np.searchsorted(peaks, trough, "left")) - 1
    at = np.asarray(positions, dtype=np.int64)
    sessions = at[ends] - at[peaks]
    calendar = (d[ends] - d[peaks]).astype(np.int64)
    return out | {
        "max_drawdown_days": int(sessions[k]),
        "max_drawdown_calendar_days": int(calendar[k]),
        "longest_underwater_days": int(sessions.max()),
        "longest_underwater_calendar_days": int(calendar.max()),
        "max_drawdown_peak_date": str(d[peaks[k]]),
        "max_drawdown_trough_date": str(d[trough]),
        "max_drawdown_recovery_date": str(d[ends[k]]) if recovered[k] else mt.Undefined("not recovered by the end"),
    }


def _day_figures(ends: rt.DateArray, r: rt.FloatArray) -> dict[str, Any]:
    """Best / worst period and its end date (``ends``: the date each return ends on)."""
    if r.size == 0:
        return {k: mt.NEEDS_ONE for k in ("best_day", "best_day_date", "worst_day", "worst_day_date", "win_rate_days", "profit_factor_days")}
    best, worst = int(np.argmax(r)), int(np.argmin(r))
    return {
        "best_day": float(r[best]),
        "best_day_date": str(ends[best]),
        "worst_day": float(r[worst]),
        "worst_day_date": str(ends[worst]),
        "win_rate_days": mt.win_rate_days(r),
        "profit_factor_days": mt.profit_factor_days(r),
    }


def _significance(r: rt.FloatArray, rf: float, skew: mt.Figure, kurtosis: mt.Figure, ppy: int) -> dict[str, mt.Figure]:
    sharpe = mt.sharpe_ratio(r, rf, ppy)
    for value in (sharpe, skew, kurtosis):
        if isinstance(value, mt.Undefined):
            return {"psr": value, "min_track_record_days": value}
    per_period = sharpe / math.sqrt(ppy)
    return {
        "psr": probabilistic_sharpe_ratio(per_period, r.size, skew, kurtosis + 3.0),
        "min_track_record_days": min_track_record_length(per_period, skew, kurtosis + 3.0),
    }


def _benchmark_section(d: rt.DateArray, r: rt.FloatArray, rf: float, closes: Any, nonfinite: dict[str, str],
                       detected: RecordFrequency) -> JsonDict | None:
    if closes is None:
        return None
    aligned = bm.align_closes(d, rt.as_dates(closes[0]), np.asarray(closes[1], dtype=np.float64))
    if np.isnan(aligned[0]) or not np.all(aligned > 0.0):
        nonfinite["benchmark"] = f"benchmark has no positive close on or before every date from {d[0]}"
        return None
    figures: dict[str, Any]
    if detected.regular:
        mask = detected.one_period()
        ppy = detected.periods_per_year or rt.PERIODS_PER_YEAR
        figures = dict(bm.benchmark_relative(r[mask], bm.simple_returns(aligned)[mask], rf, ppy))
    else:
        figures = {key: IRREGULAR for key in bm.BENCHMARK_KEYS}
    figures["total_return"] = float(aligned[-1] / aligned[0] - 1.0)
    figures["cagr"] = _benchmark_cagr(d, figures["total_return"], detected)
    return _json_figures(figures, nonfinite, "benchmark.")


def _benchmark_cagr(d: rt.DateArray, total: float, detected: RecordFrequency) -> mt.Figure:
    """The benchmark's CAGR over the same span, annualised as the record's ``cagr`` is."""
    if detected.frequency is Frequency.DAILY:
        return mt.cagr_periods(total, detected.positions[-1] if detected.positions else 0)
    return mt.cagr_calendar(total, mt.calendar_days(d, 0, d.size - 1))


def _series(d: rt.DateArray, r: rt.FloatArray, index: rt.FloatArray, rf: float, detected: RecordFrequency) -> StatsSeries:
    """Rolling figures for daily records only, over the one-session returns (a return
    across a gap is left out of every window and is NaN in the rolling series)."""
    mask = detected.one_period() if detected.frequency is Frequency.DAILY else np.zeros(r.size, dtype=bool)
    at = np.flatnonzero(mask) + 1
    rolling = {}
    for window in ROLLING_WINDOWS:
        rolling[f"sharpe_{window}"] = _place(mt.rolling_sharpe(r[mask], window, rf), at, d.size)
        rolling[f"volatility_{window}"] = _place(mt.rolling_volatility(r[mask], window), at, d.size)
    return StatsSeries(d, index, mt.drawdown_series(index), _pad(r, d.size), rolling)


def _pad(values: rt.FloatArray, size: int) -> rt.FloatArray:
    out = np.full(size, np.nan)
    if values.size:
        out[size - values.size :] = values
    return out


def _place(values: rt.FloatArray, at: np.ndarray, size: int) -> rt.FloatArray:
    """Rolling values (one per full window, ending at the last ``values.size`` positions
    of ``at``) on an array of ``size`` NaNs."""
    out = np.full(size, np.nan)
    if values.size:
        out[at[at.size - values.size :]] = values
    return out


def _or_undefined(value: float | None, reason: str) -> mt.Figure:
    return mt.Undefined(reason) if value is None else value


def _json_figures(figures: Mapping[str, Any], nonfinite: dict[str, str], prefix: str) -> JsonDict:
    out: JsonDict = {}
    for key, value in figures.items():
        if isinstance(value, mt.Undefined):
            out[key] = None
            nonfinite[prefix + key] = value.reason
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = None
            nonfinite[prefix + key] = "not a finite number"
        else:
            out[key] = value
    return out


def _json_list(values: rt.FloatArray) -> list[float | None]:
    return [x if math.isfinite(x) else None for x in values.tolist()]
