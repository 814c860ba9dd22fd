"""Price sources: CSV layouts, Yahoo (recorded frames, no network) and the synthetic market."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from trackrecord.config import UniverseConfig, us_sector_instruments
from trackrecord.domain import Instrument
from trackrecord.market.base import PriceSourceError
from trackrecord.market.csv_source import CsvFolderSource, read_price_file
from trackrecord.market.synthetic import SyntheticSource, generate_synthetic_history
from trackrecord.market.yahoo_source import YahooSource, parse_download

RECORDED = Path(__file__).parent / "recorded"
UK = {i.symbol: i for i in UniverseConfig().domain_instruments()}
US = {i.symbol: i.to_domain("XNYS") for i in us_sector_instruments()}


def _gbp(instrument: Instrument) -> Instrument:
    from dataclasses import replace

    return replace(instrument, price_unit="GBP")


@pytest.mark.parametrize(("header", "row", "close", "adj"), [
    ("Date,Open,High,Low,Close,Adj Close,Volume", "2026-01-30,1,2,0.5,140.5,139.25,100", 140.5, 139.25),
    ("date,open,high,low,close,adj_close,volume", "2026-01-30,1,2,0.5,140.5,139.25,100", 140.5, 139.25),
    ("date,adj_open,adj_high,adj_low,adj_close,volume", "2026-01-30,1,2,0.5,139.25,", None, 139.25),
    ("date,open,high,low,close,volume", "20260130,1,2,0.5,140.5,0", 140.5, 140.5),
])
def test_csv_layouts_are_recognised(tmp_path: Path, header: str, row: str, close: float | None, adj: float) -> None:
    path = tmp_path / "XLK.csv"
    path.write_text(f"{header}\n{row}\n")
    [bar] = read_price_file(path, US["XLK"])
    assert (bar.symbol, bar.session_date, bar.close, bar.adj_close) == ("XLK", date(2026, 1, 30), close, adj)


def test_csv_files_may_be_named_by_data_symbol_and_pence_become_pounds(tmp_path: Path) -> None:
    (tmp_path / "SXLK.L.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                                         "2026-01-29,1,1,1,8400,8400,1\n2026-01-30,1,1,1,null,null,0\n"
                                         "2026-02-02,1,1,1,8450.5,8450.5,1\n")
    rows = CsvFolderSource(tmp_path).fetch([UK["SXLK"]], {}, date(2026, 12, 31))
    assert [(r.session_date, r.close, r.adj_close) for r in rows] == [
        (date(2026, 1, 29), 84.0, 84.0), (date(2026, 2, 2), 84.505, 84.505)]  # the null row is skipped


def test_csv_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "XLK.csv"
    path.write_text("date,close\n2026-01-30,abc\n")
    with pytest.raises(PriceSourceError, match=r"XLK.csv:2: price 'abc' is not a number"):
        read_price_file(path, US["XLK"])
    path.write_text("when,close\n")
    with pytest.raises(PriceSourceError, match="no 'date' column"):
        read_price_file(path, US["XLK"])


def _recorded_frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.read_csv(RECORDED / "yahoo_download_sxlk_sxlf.csv", header=[0, 1], index_col=0, parse_dates=True)


class RecordedYahoo:
    """Replays a recorded yf.download frame; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[list[str], date, date]] = []
        self.failures = failures

    def __call__(self, tickers: list[str], start: date, end: date):  # type: ignore[no-untyped-def]
        self.calls.append((list(tickers), start, end))
        if len(self.calls) <= self.failures:
            raise ConnectionError("Yahoo said 429 Too Many Requests")
        frame = _recorded_frame()
        keep = [c for c in frame.columns if c[1] in tickers]
        return frame[keep]


def test_yahoo_frames_are_parsed_and_pence_converted() -> None:
    download, sleeps = RecordedYahoo(), []
    source = YahooSource(download, sleep=sleeps.append)
    rows = source.fetch([UK["SXLK"], UK["SXLF"]], {"SXLK": date(2026, 2, 25), "SXLF": date(2026, 2, 25)},
                        date(2026, 2, 27))
    got = {(r.symbol, r.session_date): (r.close, r.adj_close) for r in rows}
    assert got[("SXLK", date(2026, 2, 26))] == (84.71, 84.71)
    assert ("SXLF", date(2026, 2, 26)) not in got  # Yahoo's empty bar is dropped
    assert got[("SXLF", date(2026, 2, 27))] == (38.4, 38.4)
    assert ("SXLK", date(2026, 2, 24)) not in got  # before the incremental start
    assert download.calls == [(["SXLK.L", "SXLF.L"], date(2026, 2, 25), date(2026, 2, 27))] and sleeps == []


def test_yahoo_is_retried_with_backoff_then_fails_clearly() -> None:
    sleeps: list[float] = []
    rows = YahooSource(RecordedYahoo(failures=2), sleep=sleeps.append).fetch([UK["SXLK"]], {}, date(2026, 2, 27))
    assert len(rows) == 4 and sleeps == [2.0, 4.0]
    with pytest.raises(PriceSourceError, match="failed after 3 attempts: Yahoo said 429"):
        YahooSource(RecordedYahoo(failures=9), attempts=3, sleep=sleeps.append).fetch([UK["SXLK"]], {}, date(2026, 2, 27))


def test_a_provider_that_fails_is_a_runtime_failure_and_a_bad_file_the_users_mistake(tmp_path: Path) -> None:
    """``fetch_bars``, which `prices update` and `backtest` both fetch through: Yahoo down is
    exit 1 (a backtest said exit 2, "bad input"); a CSV the user gave that cannot be read is
    exit 2."""
    from trackrecord.errors import RuntimeFailure, UserError
    from trackrecord.market.service import fetch_bars

    down = YahooSource(RecordedYahoo(failures=9), attempts=1, sleep=lambda _: None)
    with pytest.raises(RuntimeFailure, match="backtest from yahoo failed: Yahoo download of SXLK.L failed"):
        fetch_bars(down, [UK["SXLK"]], {}, date(2026, 2, 27), "backtest")
    (tmp_path / "SXLK.csv").write_text("date,close\nxx,1\n")
    with pytest.raises(UserError, match="backtest from csv: nothing stored: .*SXLK.csv:2: date 'xx'"):
        fetch_bars(CsvFolderSource(tmp_path), [UK["SXLK"]], {}, date(2026, 2, 27), "backtest")


def test_yahoo_answering_nothing_at_all_is_a_failure_not_an_empty_update() -> None:
    """yfinance turns a network failure into an empty frame: that must not pass for 'no new bars'."""
    import pandas as pd

    calls: list[list[str]] = []

    def unreachable(tickers: list[str], start: date, end: date):  # type: ignore[no-untyped-def]
        calls.append(tickers)
        return pd.DataFrame()

    sleeps: list[float] = []
    with pytest.raises(PriceSourceError, match="failed after 3 attempts: Yahoo returned nothing"):
        YahooSource(unreachable, attempts=3, sleep=sleeps.append).fetch([UK["SXLK"]], {}, date(2026, 2, 27))
    assert len(calls) == 3 and sleeps == [2.0, 4.0]


def test_yahoo_requests_are_batched_per_start_date() -> None:
    download = RecordedYahoo()
    instruments = list(UK.values())
    starts = {i.symbol: date(2026, 2, 24) for i in instruments} | {"SXLU": date(2026, 2, 26)}
    YahooSource(download, batch_size=4, sleep=lambda s: None).fetch(instruments, starts, date(2026, 2, 27))
    sizes = [(len(tickers), start) for tickers, start, _ in download.calls if start == date(2026, 2, 24)]
    assert [n for n, _ in sizes][:2] == [4, 4] and any(start == date(2026, 2, 26) for _, start, _ in download.calls)


def test_parse_download_accepts_ticker_first_columns() -> None:
    frame = _recorded_frame().swaplevel(axis=1)
    assert parse_download(frame, ["SXLK.L"])["SXLK.L"][0] == (date(2026, 2, 24), 8412.0, 8412.0)


def test_synthetic_market_is_seeded_realistic_and_extends_consistently() -> None:
    days = np.arange(np.datetime64("2001-01-01"), np.datetime64("2026-01-01"))
    days = days[np.is_busday(days)]
    instruments = list(UK.values())
    history = generate_synthetic_history(instruments, days, seed=7)
    again = generate_synthetic_history(instruments, days[:1000], seed=7)
    other = generate_synthetic_history(instruments, days, seed=8)
    for symbol, (dates, closes) in history.items():
        assert closes[0] == 100.0 and np.all(closes > 0) and np.array_equal(dates, days)
        vol = np.diff(np.log(closes)).std() * np.sqrt(252)
        assert 0.12 < vol < 0.33, (symbol, vol)
        assert np.array_equal(again[symbol][1], closes[:1000])
        assert not np.array_equal(other[symbol][1], closes)
    returns = np.array([np.diff(np.log(c)) for _, c in history.values()])
    assert np.corrcoef(returns).mean() > 0.2  # a common market factor


def test_synthetic_source_is_labelled_and_incremental() -> None:
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-03-01"))
    source = SyntheticSource(3, days[np.is_busday(days)])
    assert source.simulated and source.name == "synthetic"
    rows = source.fetch([UK["SXLK"]], {"SXLK": date(2025, 2, 20)}, date(2025, 2, 25))
    assert [r.session_date for r in rows] == [date(2025, 2, 20), date(2025, 2, 21), date(2025, 2, 24), date(2025, 2, 25)]
