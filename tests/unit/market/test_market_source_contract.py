"""One contract for every PriceSource: CSV folder, Yahoo (recorded frame), synthetic."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from trackrecord.config import UniverseConfig
from trackrecord.market.base import PriceRow, PriceSource
from trackrecord.market.csv_source import CsvFolderSource
from trackrecord.market.synthetic import SyntheticSource
from trackrecord.market.yahoo_source import YahooSource

INSTRUMENTS = UniverseConfig().domain_instruments()[:2]  # SXLK, SXLF: GBX lines
START, END = date(2026, 2, 25), date(2026, 2, 27)


class PriceSourceContract:
    expected_simulated = False

    def make(self, tmp_path: Path) -> PriceSource:
        raise NotImplementedError

    def test_rows_are_in_range_in_currency_and_labelled(self, tmp_path: Path) -> None:
        source = self.make(tmp_path)
        rows = source.fetch(INSTRUMENTS, {i.symbol: START for i in INSTRUMENTS}, END)
        assert rows and all(isinstance(r, PriceRow) for r in rows)
        assert {r.symbol for r in rows} == {i.symbol for i in INSTRUMENTS}
        assert all(START <= r.session_date <= END for r in rows)
        assert all(np.isfinite(r.adj_close) and 1 < r.adj_close < 1000 for r in rows)  # pounds, not pence
        assert source.simulated is self.expected_simulated and source.name
        assert timedelta(0) <= source.close_settles < timedelta(hours=1)  # the scheduler's close job waits 30 min

    def test_each_symbol_starts_where_asked(self, tmp_path: Path) -> None:
        source = self.make(tmp_path)
        starts = {"SXLK": date(2026, 2, 27), "SXLF": START}
        rows = source.fetch(INSTRUMENTS, starts, END)
        assert {r.session_date for r in rows if r.symbol == "SXLK"} == {date(2026, 2, 27)}
        assert len({r.session_date for r in rows if r.symbol == "SXLF"}) >= 2

    def test_unique_dates_per_symbol(self, tmp_path: Path) -> None:
        rows = self.make(tmp_path).fetch(INSTRUMENTS, {}, END)
        keys = [(r.symbol, r.session_date) for r in rows]
        assert len(keys) == len(set(keys))


class TestCsvFolder(PriceSourceContract):
    def make(self, tmp_path: Path) -> PriceSource:
        for symbol, base in (("SXLK", 8400.0), ("SXLF", 3800.0)):
            lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
            lines += [f"2026-02-{d},1,1,1,{base + d},{base + d},1" for d in (24, 25, 26, 27)]
            (tmp_path / f"{symbol}.L.csv").write_text("\n".join(lines) + "\n")
        return CsvFolderSource(tmp_path)


class TestYahooRecorded(PriceSourceContract):
    def make(self, tmp_path: Path) -> PriceSource:
        from tests.unit.market.test_market_sources import RecordedYahoo

        return YahooSource(RecordedYahoo(), sleep=lambda seconds: None)


class TestSynthetic(PriceSourceContract):
    expected_simulated = True

    def make(self, tmp_path: Path) -> PriceSource:
        days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2026-03-01"))
        return SyntheticSource(5, days[np.is_busday(days)])


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("tests never touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
