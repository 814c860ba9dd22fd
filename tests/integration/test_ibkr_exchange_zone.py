"""The IB adapter dates by the universe's exchange: a US-universe (XNYS) live workspace looks
up its stored closes up to New York's date, not London's, when it dates IB's undated marks
(brokers/ibkr/marks.py). Between London's midnight and New York's the two dates differ.

Through the command line, the real ib_async client and the fake TWS over TCP."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.integration.fake_tws import ContractSpec, FakeTws, Scenario

ACCOUNT = "DU7654322"
SESSION, NEXT_SESSION = "2026-06-01", "2026-06-02"
NEW_YORK_EVENING = "2026-06-02T02:00:00Z"  # 22:00 in New York on 1 June, 03:00 in London on 2 June
PRICES_KNOWN_AT = "2026-06-03T00:00:00Z"  # the 2 June close stored too: London's date would reach it


def _close(root: Path, symbol: str, session: str) -> Decimal:
    with sqlite3.connect(root / "trackrecord.db") as db:
        (close,) = db.execute("SELECT close FROM prices WHERE symbol = ? AND session_date = ?",
                              (symbol, session)).fetchone()
    return Decimal(repr(close))


@pytest.fixture(scope="module")
def us_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("us-zone") / "ws"
    assert run(["init", str(root), "--universe", "us-sectors", "--base-currency", "USD", "--prices", "synthetic"]) == 0
    document = yaml.safe_load((root / "trackrecord.yaml").read_text())
    document["mode"] = "live"
    document["account"]["account_id"] = ACCOUNT
    document["prices"]["history_start"] = "2026-04-01"
    document["broker"]["ibkr"].update(connect_timeout=2.0, request_timeout=3.0, max_connect_attempts=1, client_id=42)
    (root / "trackrecord.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    before = os.environ.get("TRACKRECORD_NOW")
    os.environ["TRACKRECORD_NOW"] = PRICES_KNOWN_AT
    try:
        assert run(["--home", str(root), "prices", "update"]) == 0
    finally:
        os.environ.pop("TRACKRECORD_NOW") if before is None else os.environ.__setitem__("TRACKRECORD_NOW", before)
    return root


def test_a_us_universe_live_snapshot_dates_marks_by_new_york(us_template: Path, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch, ib_decoder_guard) -> None:
    own_close, next_close = _close(us_template, "XLK", SESSION), _close(us_template, "XLK", NEXT_SESSION)
    assert own_close != next_close
    contract = ContractSpec(con_id=500_000_001, symbol="XLK", exchange="SMART", primary_exchange="ARCA",
                            currency="USD", long_name="Technology Select Sector SPDR", price=own_close,
                            close_price=own_close)
    server = FakeTws(Scenario(accounts=(ACCOUNT,), base_currency="USD", cash={"USD": Decimal("50000.00")},
                              fx_to_base={"USD": Decimal(1)}, contracts=(contract,),
                              positions={contract.con_id: (Decimal(100), own_close)},
                              time_zone="America/New_York")).start()
    try:
        root = tmp_path / "ws"
        shutil.copytree(us_template, root)
        document = yaml.safe_load((root / "trackrecord.yaml").read_text())
        document["broker"]["ibkr"].update(host=server.host, port=server.port)
        (root / "trackrecord.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        monkeypatch.setenv("TRACKRECORD_NOW", NEW_YORK_EVENING)
        result = cli("--home", root, "snapshot", "--json")
    finally:
        server.stop()
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["session_date"] == SESSION
    # IB's mark is 1 June's own close: by New York's date that is the latest close, a fresh mark;
    # by London's (2 June) it would look like a mark left over from an earlier session
    [position] = document["positions"]
    assert "price_date" not in position and "stale_marks" not in document
