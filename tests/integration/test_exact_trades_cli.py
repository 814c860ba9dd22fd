"""`trades` decides win, loss and break-even exactly (issue 8, item 8), and `stats`
refuses a benchmark it has no prices for (item 11)."""

from __future__ import annotations

import json
from pathlib import Path

HEADER = "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,commission_currency\n"
BREAK_EVEN = (
    "B1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10.00,10.00,,1.00,GBP\n"
    "B2,2026-01-12T16:35:00Z,SXLK,ETF,SELL,10,10.20,10.20,,1.00,GBP\n"  # +2.00 gross - 2.00 commission = 0
    "W1,2026-01-06T16:35:00Z,SXLE,ETF,BUY,3,20.00,20.10,,0.10,GBP\n"
    "W2,2026-01-13T16:35:00Z,SXLE,ETF,SELL,3,20.30,20.30,,0.10,GBP\n"  # +0.60 - 0.20 = +0.40
)


def _import_fills(cli, workspace: Path, tmp_path: Path, rows: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fills.csv"
    path.write_text(HEADER + rows)
    result = cli("--home", workspace, "import", "fills", path)
    assert result.code == 0, result


def _events(cli, workspace: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def test_a_round_trip_netting_exactly_zero_is_a_break_even_not_a_loss(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import_fills(cli, workspace, tmp_path, BREAK_EVEN)
    result = cli("--home", workspace, "trades", "--json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    trips = {t["symbol"]: t for t in doc["round_trips"]}
    assert trips["SXLK"]["net_pnl"] == 0.0 and trips["SXLK"]["outcome"] == "break-even"
    assert trips["SXLE"]["outcome"] == "win"
    summary = doc["summary"]
    assert summary["break_evens"] == 1 and summary["round_trips"] == 2
    assert summary["win_rate"] == 1.0  # one win, no loss: the break-even is neither
    assert summary["avg_loss"] is None and doc["nonfinite"]["avg_loss"] == "no losing round trip"
    assert summary["realised_pnl"] == 0.4
    table = cli("--home", workspace, "trades").out
    assert "break-even" in table
    assert next(line for line in table.splitlines() if "Break-even round trips" in line).split()[-1] == "1"


def test_an_unknown_benchmark_is_exit_2_naming_what_is_available(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n2026-01-05,100000\n2026-01-06,100500\n2026-01-07,100200\n")
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0
    before = _events(cli, workspace)
    result = cli("--home", workspace, "stats", "--benchmark", "NOPE")
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "NOPE" in result.err and "universe, none" in result.err
    assert "or add NOPE to performance.benchmarks" in result.err
    assert _events(cli, workspace) == before
    for name in ("none", "universe"):  # still fine: no prices for the universe is n/a, not an error
        assert cli("--home", workspace, "stats", "--benchmark", name).code == 0
