"""The benchmark's closes for stats taken from bars held in memory (a backtest's price book,
``performance_stats(held_bars=...)``) are the ones read from the store, bit for bit: the
same ``stats`` document, whether the benchmark is the universe or one symbol; a benchmark
the held bars do not cover is read from the store."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.integration.test_backtest_transactions import END, NOW, START, home  # noqa: F401  (the fixture)
from trackrecord.engine.pricebook import PriceBook
from trackrecord.engine.performance import load_benchmark, load_performance_inputs, performance_stats


def _backtest(home: Path, out: Path, shared_data: Path):  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import backtest_history, backtest_workspace
    from trackrecord.engine.backtest import BacktestCosts, history_start, run_backtest
    from trackrecord.market.calendar import DEFAULT_START, open_calendar
    from trackrecord.workspace import open_workspace

    settings = open_workspace(home).settings
    since = history_start(settings, START)
    calendar = open_calendar(settings.universe.calendar, start=min(since, DEFAULT_START))
    history = backtest_history(settings, home, calendar, since, END, shared_data / "prices", None)
    result = run_backtest(settings, history, out, BacktestCosts.of(settings), START, END, Decimal(100_000), NOW,
                          backtest_workspace, calendar)
    book = PriceBook({}, [i.symbol for i in settings.universe.instruments])
    book.extend(sorted(history.rows, key=lambda row: row.session_date))  # what the replay's book received
    return result, book


def test_stats_from_held_bars_are_the_stats_from_the_stored_bars(  # type: ignore[no-untyped-def]
        home: Path, tmp_path: Path, shared_data: Path, cli) -> None:  # noqa: F811
    from trackrecord.bootstrap import connect
    from trackrecord.workspace import open_workspace

    result, book = _backtest(home, tmp_path / "bt", shared_data)
    services = connect(open_workspace(tmp_path / "bt"))
    try:
        record = load_performance_inputs(services.engine, services.settings)
        for benchmark in (None, "XLK", "none"):
            stored = performance_stats(services, benchmark=benchmark, inputs=record)
            held = performance_stats(services, benchmark=benchmark, inputs=record, held_bars=book.series())
            assert json.dumps(held, sort_keys=True, default=str) == json.dumps(stored, sort_keys=True, default=str)
        assert json.dumps(performance_stats(services, inputs=record, held_bars=book.series()), sort_keys=True,
                          default=str) == json.dumps(result.stats, sort_keys=True, default=str)

        settings, first, last = services.settings, record.dates[0], record.dates[-1]
        for name in ("universe", "XLF"):
            (dates, closes), _ = load_benchmark(services.engine, settings, name, first, last)
            (held_dates, held_closes), _ = load_benchmark(services.engine, settings, name, first, last,
                                                          book.series())
            assert held_dates.dtype == dates.dtype and held_dates.tolist() == dates.tolist()
            assert held_closes.dtype == closes.dtype and held_closes.tobytes() == closes.tobytes()
        cut = date(2024, 2, 15)  # held bars after the end are left out, as the store's read leaves them
        (dates, closes), _ = load_benchmark(services.engine, settings, "XLF", first, cut)
        (held_dates, held_closes), _ = load_benchmark(services.engine, settings, "XLF", first, cut, book.series())
        assert held_dates.tolist() == dates.tolist() and held_closes.tobytes() == closes.tobytes()
    finally:
        services.close()


def test_a_benchmark_the_held_bars_lack_is_read_from_the_store(  # type: ignore[no-untyped-def]
        home: Path, tmp_path: Path, shared_data: Path, cli) -> None:  # noqa: F811
    from trackrecord.bootstrap import connect
    from trackrecord.workspace import open_workspace

    result, book = _backtest(home, tmp_path / "bt", shared_data)
    services = connect(open_workspace(tmp_path / "bt"))
    try:
        record = load_performance_inputs(services.engine, services.settings)
        partial = {symbol: series for symbol, series in book.series().items() if symbol != "XLU"}
        assert performance_stats(services, inputs=record, held_bars=partial) == result.stats
        assert performance_stats(services, inputs=record, held_bars={}) == result.stats
    finally:
        services.close()
