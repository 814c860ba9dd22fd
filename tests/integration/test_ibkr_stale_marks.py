"""IB sends a position's marketPrice with no date; a live snapshot dates a mark that equals an
earlier session's stored close while the session's own stored close moved away from it, and
records it in ``stale_marks`` with a warning (live is recorded as IB values it, never refused).

Through the command line, the real ib_async client and the fake TWS over TCP."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.integration.fake_tws import ContractSpec, FakeTws, Scenario

SESSION = "2026-06-01"
AFTER_THE_CLOSE = "2026-06-01T17:00:00Z"  # LSE closes 16:30 London (15:30 UTC)
EARLIER = ("2026-05-29", "2026-05-28")
ACCOUNT = "DU7654321"
HELD = Decimal(100)


def _closes(root: Path, session: str) -> dict[str, Decimal]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        rows = db.execute("SELECT symbol, close FROM prices WHERE session_date = ?", (session,)).fetchall()
    return {symbol: Decimal(repr(close)) for symbol, close in rows}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("stale-marks") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    document = yaml.safe_load((root / "trackrecord.yaml").read_text())
    document["mode"] = "live"
    document["account"]["account_id"] = ACCOUNT
    document["prices"]["history_start"] = "2026-04-01"
    for instrument in document["universe"]["instruments"]:
        instrument["price_unit"] = "GBP"
    document["broker"]["ibkr"].update(connect_timeout=2.0, request_timeout=3.0, max_connect_attempts=1, client_id=41)
    (root / "trackrecord.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    assert run(["--home", str(root), "prices", "update"]) == 0
    return root


def _live(template: Path, tmp_path: Path, marks: dict[str, Decimal]) -> Iterator[tuple[Path, FakeTws]]:
    """A copy of the workspace on a fake TWS holding HELD units of each line in ``marks``,
    IB marking it at that price."""
    import shutil

    contracts = tuple(ContractSpec(con_id=400_000_001 + n, symbol=s, exchange="SMART", primary_exchange="LSEETF",
                                   currency="GBP", long_name=f"SPDR {s} UCITS ETF", price=price, close_price=price)
                      for n, (s, price) in enumerate(sorted(marks.items())))
    scenario = Scenario(accounts=(ACCOUNT,), contracts=contracts,
                        positions={c.con_id: (HELD, c.price) for c in contracts})
    server = FakeTws(scenario).start()
    try:
        root = tmp_path / "ws"
        shutil.copytree(template, root)
        document = yaml.safe_load((root / "trackrecord.yaml").read_text())
        document["broker"]["ibkr"].update(host=server.host, port=server.port)
        (root / "trackrecord.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        yield root, server
    finally:
        server.stop()


def _snapshot(cli: Any, root: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Any:
    monkeypatch.setenv("TRACKRECORD_NOW", AFTER_THE_CLOSE)
    return cli("--home", root, "snapshot", *extra)


def _recorded(root: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        rows = db.execute("SELECT payload FROM events WHERE kind = 'snapshot.recorded' ORDER BY seq").fetchall()
    return [json.loads(payload) for (payload,) in rows]


def test_a_live_mark_equal_to_an_earlier_close_is_recorded_as_stale(template: Path, tmp_path: Path, cli,
                                                                    monkeypatch, ib_decoder_guard) -> None:  # type: ignore[no-untyped-def]
    today, two_ago = _closes(template, SESSION), _closes(template, EARLIER[1])
    assert today["SXLK"] != two_ago["SXLK"]
    for root, _ in _live(template, tmp_path, {"SXLK": two_ago["SXLK"], "SXLF": today["SXLF"]}):
        result = _snapshot(cli, root, monkeypatch, "--json")
        assert result.code == 0, result
        document = json.loads(result.out)
        assert document["session_date"] == SESSION and document["written"] is True
        assert document["stale_marks"] == [{"symbol": "SXLK", "price_date": EARLIER[1]}]
        by_symbol = {p["symbol"]: p for p in document["positions"]}
        assert by_symbol["SXLK"]["price_date"] == EARLIER[1] and "price_date" not in by_symbol["SXLF"]
        assert f"SXLK is valued at the broker's mark of {EARLIER[1]}, older than the session {SESSION}" in result.err
        [recorded] = _recorded(root)
        assert recorded["stale_marks"] == document["stale_marks"]
        assert cli("--home", root, "verify").code == 0


def test_live_marks_at_the_sessions_close_are_recorded_undated_as_before(template: Path, tmp_path: Path, cli,
                                                                        monkeypatch, ib_decoder_guard) -> None:  # type: ignore[no-untyped-def]
    today = _closes(template, SESSION)
    for root, _ in _live(template, tmp_path, {"SXLK": today["SXLK"], "SXLE": today["SXLE"]}):
        result = _snapshot(cli, root, monkeypatch)
        assert result.code == 0, result
        [recorded] = _recorded(root)
        assert "stale_marks" not in recorded
        assert all("price_date" not in p for p in recorded["positions"])  # the payload IB alone gives
        assert "older than the session" not in result.err
        assert "IB sends its marks undated" in result.err  # said, not hidden


def test_a_live_mark_that_matches_no_recent_close_stays_undated(template: Path, tmp_path: Path, cli,
                                                               monkeypatch, ib_decoder_guard) -> None:  # type: ignore[no-untyped-def]
    odd = (_closes(template, SESSION)["SXLK"] * Decimal("1.013")).quantize(Decimal("0.0001"))
    for root, _ in _live(template, tmp_path, {"SXLK": odd}):
        result = _snapshot(cli, root, monkeypatch, "--json")
        assert result.code == 0, result
        document = json.loads(result.out)
        assert "stale_marks" not in document and "price_date" not in document["positions"][0]
