"""The 12-1 momentum signal on hand-built histories."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pytest

from trackrecord.strategy.momentum import (
    SignalError,
    SignalParams,
    compute_signal,
    prepare_month_ends,
    signal_for_month,
)


def _business_days(start: str, end: str) -> np.ndarray:
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    return days[np.is_busday(days)]


def _history(growth_per_day: float, start: str = "2024-01-01", end: str = "2026-03-20") -> tuple[np.ndarray, np.ndarray]:
    days = _business_days(start, end)
    return days, 100.0 * (1 + growth_per_day) ** np.arange(days.size)


def _universe(**growth: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {symbol: _history(g) for symbol, g in growth.items()}


def test_formation_window_of_march_2026_is_end_of_january_over_end_of_february_2025() -> None:
    days = _business_days("2024-06-03", "2026-03-06")
    closes = np.arange(days.size, dtype=float) + 50.0
    signal = compute_signal({"AAA": (days, closes)}, date(2026, 3, 2), SignalParams(top_n=1, exit_rank=1))
    end_close = closes[days == np.datetime64("2026-01-30")][0]
    start_close = closes[days == np.datetime64("2025-02-28")][0]
    ranked = signal.ranks[0]
    assert (signal.formation_start, signal.formation_end) == (date(2025, 2, 28), date(2026, 1, 30))
    assert ranked.momentum == end_close / start_close - 1
    assert (ranked.start_date, ranked.end_date) == (date(2025, 2, 28), date(2026, 1, 30))


def test_lookback_and_skip_are_configurable() -> None:
    days = _business_days("2024-06-03", "2026-03-06")
    signal = compute_signal({"AAA": (days, np.linspace(10, 20, days.size))}, date(2026, 3, 2),
                            SignalParams(lookback_months=6, skip_months=0, top_n=1, exit_rank=1))
    assert (signal.formation_start, signal.formation_end) == (date(2025, 8, 29), date(2026, 2, 27))


def test_ranking_is_descending_with_ties_broken_by_symbol() -> None:
    signal = compute_signal(_universe(CCC=0.001, BBB=0.002, AAA=0.001, DDD=-0.001), "2026-03-01", SignalParams())
    assert [r.symbol for r in signal.ranks] == ["BBB", "AAA", "CCC", "DDD"]
    assert [r.rank for r in signal.ranks] == [1, 2, 3, 4]
    assert signal.target_weights == pytest.approx({"BBB": 1 / 3, "AAA": 1 / 3, "CCC": 1 / 3})


def test_a_held_name_stays_while_within_exit_rank() -> None:
    growth = dict(A=0.006, B=0.005, C=0.004, D=0.003, E=0.002, F=0.001)
    params = SignalParams(top_n=3, exit_rank=5)
    kept = compute_signal(_universe(**growth), "2026-03-01", params, held={"E"})
    assert set(kept.target_weights) == {"A", "B", "E"}
    assert next(r for r in kept.ranks if r.symbol == "E").reason.startswith("kept: rank 5")
    dropped = compute_signal(_universe(**growth), "2026-03-01", params, held={"F"})
    assert set(dropped.target_weights) == {"A", "B", "C"}


def test_min_momentum_floor_leaves_the_slot_in_cash() -> None:
    params = SignalParams(top_n=3, exit_rank=3, min_momentum=0.0)
    signal = compute_signal(_universe(A=0.002, B=0.001, C=-0.001, D=-0.002), "2026-03-01", params)
    assert set(signal.target_weights) == {"A", "B"}
    assert signal.cash_weight == pytest.approx(1 / 3)
    assert any("slots held in cash" in w for w in signal.warnings)


def test_symbols_without_enough_history_are_left_out_with_a_warning() -> None:
    histories = _universe(A=0.002, B=0.001)
    histories["NEW"] = _history(0.003, start="2025-06-02")
    signal = compute_signal(histories, "2026-03-01", SignalParams())
    assert [r.symbol for r in signal.ranks] == ["A", "B"]
    assert signal.excluded[0][0] == "NEW" and "not enough history" in signal.excluded[0][1]
    assert any(w.startswith("NEW left out") for w in signal.warnings)
    assert signal.cash_weight == pytest.approx(1 / 3)  # two names for three slots


def test_no_eligible_symbol_is_a_clear_error() -> None:
    with pytest.raises(SignalError, match="no symbol has complete prices for the formation window 2013-02 .. 2014-01"):
        compute_signal(_universe(A=0.001), "2014-03-10", SignalParams())


def test_an_unfinished_formation_month_is_not_used() -> None:
    days, closes = _history(0.001, end="2026-01-20")  # January 2026 is not over in the data
    with pytest.raises(SignalError):
        compute_signal({"A": (days, closes)}, "2026-03-01", SignalParams())


def test_the_signal_depends_only_on_the_month_and_not_on_later_prices() -> None:
    histories = _universe(A=0.002, B=0.001, C=0.0015, D=-0.0005)
    reference = compute_signal(histories, "2026-03-02", SignalParams())
    for day in ("2026-03-01", "2026-03-17", "2026-03-31"):
        assert compute_signal(histories, day, SignalParams()) == reference
    altered = {}
    for symbol, (days, closes) in histories.items():
        closes = closes.copy()
        closes[days > np.datetime64("2026-01-30")] *= 7.5
        altered[symbol] = (days, closes)
    assert compute_signal(altered, "2026-03-02", SignalParams()) == reference
    truncated = {s: (d[d <= np.datetime64("2026-02-02")], c[d <= np.datetime64("2026-02-02")])
                 for s, (d, c) in histories.items()}
    assert compute_signal(truncated, "2026-03-02", SignalParams()) == reference


def test_inputs_sha256_is_the_hash_of_the_price_points_used() -> None:
    signal = compute_signal(_universe(B=0.001, A=0.002), "2026-03-01", SignalParams(top_n=1, exit_rank=1))
    lines = sorted(f"{s},{d.isoformat()},{v!r}\n" for s, d, v in signal.price_points())
    assert len(lines) == 4 == signal.price_point_count()
    assert signal.inputs_sha256 == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_prepared_table_gives_the_same_signal_for_every_month() -> None:
    histories = _universe(A=0.002, B=0.001, C=0.0015, D=-0.0005)
    table = prepare_month_ends(histories)
    for month in ("2025-02-01", "2025-07-01", "2026-03-01"):
        assert signal_for_month(table, month, SignalParams()) == compute_signal(histories, month, SignalParams())


def test_dates_must_be_ascending_and_unique() -> None:
    days, closes = _history(0.001)
    with pytest.raises(ValueError, match="ascending"):
        prepare_month_ends({"A": (days[::-1], closes)})


def test_params_are_validated() -> None:
    with pytest.raises(ValueError):
        SignalParams(lookback_months=3, skip_months=3)
    with pytest.raises(ValueError):
        SignalParams(top_n=4, exit_rank=3)


def test_skip_zero_on_a_months_first_session_uses_the_month_that_closed_yesterday() -> None:
    # decided on 2026-03-02 (Monday) before its close: February ended with the close of Friday 2026-02-27
    days = _business_days("2024-06-03", "2026-02-27")
    closes = np.linspace(10, 20, days.size)
    params = SignalParams(lookback_months=12, skip_months=0, top_n=1, exit_rank=1)
    signal = compute_signal({"AAA": (days, closes)}, date(2026, 3, 2), params, closed_session=date(2026, 2, 27))
    assert (signal.formation_start, signal.formation_end) == (date(2025, 2, 28), date(2026, 2, 27))
    ranked = signal.ranks[0]
    assert ranked.momentum == closes[-1] / closes[days == np.datetime64("2025-02-28")][0] - 1
    with pytest.raises(SignalError, match="2025-02 .. 2026-02"):  # without knowing which close was the last one
        compute_signal({"AAA": (days, closes)}, date(2026, 3, 2), params)
    stale = days < np.datetime64("2026-02-27")  # the data misses the month's last close: February is not over in it
    with pytest.raises(SignalError):
        compute_signal({"AAA": (days[stale], closes[stale])}, date(2026, 3, 2), params, closed_session=date(2026, 2, 27))


def test_the_closed_session_changes_nothing_for_skip_one() -> None:
    histories = {s: (d[d <= np.datetime64("2026-02-27")], c[d <= np.datetime64("2026-02-27")])
                 for s, (d, c) in _universe(A=0.002, B=0.001, C=0.0015).items()}
    assert compute_signal(histories, "2026-03-02", SignalParams(), closed_session=date(2026, 2, 27)) \
        == compute_signal(histories, "2026-03-02", SignalParams())
