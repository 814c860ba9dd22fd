"""A ``prices.updated`` lists the stored bars its batch replaced (``replaced``, what
``verify`` needs to hash an earlier batch overwritten in part). The store is asked only when
a bar could be replaced: bars after every stored one of their symbol replace nothing, in the
same transaction as earlier bars too (a backtest's month), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from tests.integration.test_price_import import _file

NOW = datetime(2026, 1, 7, 22, tzinfo=timezone.utc)


@pytest.fixture
def ws(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "csv").code == 0
    return root


def last_prices_updated(cli, ws: Path) -> dict:  # type: ignore[no-untyped-def, type-arg]
    result = cli("--home", ws, "ledger", "log", "--kind", "prices.updated", "--json")
    assert result.code == 0, result
    return json.loads(result.out)[-1]["payload"]


def test_a_corrected_bar_is_listed_as_replaced_with_its_old_price_and_stamp(cli, ws: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _file(tmp_path / "a", "SXLF", {"2026-01-02": 41.0, "2026-01-05": 41.23})
    assert cli("--home", ws, "prices", "import", tmp_path / "a").code == 0
    first = last_prices_updated(cli, ws)
    _file(tmp_path / "b", "SXLF", {"2026-01-02": 41.0, "2026-01-05": 41.5, "2026-01-06": 42.0})
    assert cli("--home", ws, "prices", "import", tmp_path / "b", "--replace").code == 0
    replaced = last_prices_updated(cli, ws)["replaced"]
    assert [(b["symbol"], b["session_date"], b["close"], b["adj_close"], b["source"]) for b in replaced] == \
        [("SXLF", "2026-01-05", repr(41.23 / 100), repr(41.23 / 100), "csv")]  # quoted in pence
    assert replaced[0]["fetched_at"] == first["fetched_at"]
    assert cli("--home", ws, "verify").code == 0


def test_bars_after_every_stored_one_replace_nothing(cli, ws: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _file(tmp_path / "a", "SXLF", {"2026-01-02": 41.0})
    assert cli("--home", ws, "prices", "import", tmp_path / "a").code == 0
    _file(tmp_path / "b", "SXLF", {"2026-01-02": 41.0, "2026-01-05": 41.5})
    assert cli("--home", ws, "prices", "import", tmp_path / "b").code == 0
    assert last_prices_updated(cli, ws)["replaced"] == []


def test_within_one_transaction_a_bar_stored_earlier_is_replaced_and_listed(database_url: str, tmp_path: Path) -> None:
    from trackrecord.ledger.db import create_db_engine, migrate
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.market.base import PriceRow
    from trackrecord.market.service import record_prices

    engine = create_db_engine(database_url)
    migrate(engine)
    ledger = SqlLedger(engine, tmp_path / "ledger.lock" if database_url.startswith("sqlite") else None,
                       clock=lambda: NOW)

    def bars(day: int, price: float) -> list[PriceRow]:
        return [PriceRow(s, date(2026, 1, day), price, price) for s in ("SXLF", "SXLK")]

    def replaced(writer, rows: list[PriceRow]) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
        record_prices(writer, rows, "csv", False, NOW, ["SXLF", "SXLK"])
        payload = json.loads(writer.written[-1].payload)
        return [(b["symbol"], b["session_date"], b["close"]) for b in payload["replaced"]]

    try:
        with ledger.writer() as writer:
            assert replaced(writer, bars(2, 10.0)) == []
        with ledger.writer() as writer:  # one transaction, as a backtest's month
            assert replaced(writer, bars(5, 11.0)) == []
            assert replaced(writer, bars(6, 12.0)) == []
            assert replaced(writer, bars(6, 12.5)) == [("SXLF", "2026-01-06", "12.0"), ("SXLK", "2026-01-06", "12.0")]
            assert replaced(writer, bars(2, 9.0)[:1]) == [("SXLF", "2026-01-02", "10.0")]
            assert replaced(writer, bars(7, 13.0)) == []
        with ledger.writer() as writer:  # the next transaction reads the store afresh
            assert replaced(writer, bars(7, 13.5)[1:]) == [("SXLK", "2026-01-07", "13.0")]
    finally:
        ledger.close()
        engine.dispose()


def test_adjusted_closes_read_back_each_symbols_bars_up_to_the_end_date(database_url: str, tmp_path: Path) -> None:
    import numpy as np

    from trackrecord.ledger.db import create_db_engine, migrate
    from trackrecord.market.base import PriceRow
    from trackrecord.market.store import adjusted_closes, load_prices, store_prices

    engine = create_db_engine(database_url)
    migrate(engine)
    rows = [PriceRow(s, date(2026, 1, d), None if d == 5 else 10.0 + d, 9.5 + d + i / 7)
            for i, s in enumerate(("XLK", "XLF")) for d in (2, 5, 6, 7)]
    try:
        with engine.begin() as conn:
            store_prices(conn, rows, "csv", NOW)
        with engine.connect() as conn:
            found = adjusted_closes(conn, ["XLK", "XLF", "XLK", "NONE"], date(2026, 1, 6))
            stored = load_prices(conn, ["XLF", "XLK"], until=date(2026, 1, 6))
        assert list(found) == ["XLF", "XLK"], "sorted, each once, a symbol without bars left out"
        for symbol, (days, closes) in found.items():
            assert days.dtype == np.dtype("datetime64[D]") and closes.dtype == np.float64
            assert np.array_equal(days, stored[symbol].dates) and np.array_equal(closes, stored[symbol].adj_close)
            assert days.size == 3
    finally:
        engine.dispose()
