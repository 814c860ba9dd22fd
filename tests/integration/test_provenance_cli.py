"""`stats` and `trades` say what share of the record is broker-sourced, imported or
simulated (issue 8, item 9), and `stats` warns about a flow the NAVs do not show."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

HEADER = "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,commission_currency\n"


def _json(cli, workspace: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", workspace, *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _import(cli, workspace: Path, tmp_path: Path, kind: str, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    result = cli("--home", workspace, "import", kind, path)
    assert result.code == 0, result


def _append(workspace: Path, items: list[tuple[str, dict]]) -> None:  # type: ignore[type-arg]
    from trackrecord.bootstrap import connect
    from trackrecord.ledger.append import append_events
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(workspace))
    try:
        with services.ledger.writer() as writer:  # as a release before ledger/record_rules.py wrote a mixed record
            new = append_events(writer.dbapi, writer.conn.dialect.name, (writer.seq, writer.prev_hash), items,
                                writer.clock())
            writer.seq, writer.prev_hash = new[-1].seq, new[-1].hash
    finally:
        services.close()


def _snapshot(day: date, nav: str, simulated: bool, source: str) -> dict:  # type: ignore[type-arg]
    return {"account_id": "SIM0001", "session_date": day, "base_currency": "GBP", "nav": Decimal(nav), "cash": None,
            "taken_at": datetime(day.year, day.month, day.day, 17, tzinfo=timezone.utc), "positions": [],
            "is_paper": False, "simulated": simulated, "source": source}


def test_an_imported_record_says_it_is_imported(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(cli, workspace, tmp_path, "snapshots", "date,nav\n2026-01-05,100000\n2026-01-06,100500\n2026-01-07,100300\n")
    _import(cli, workspace, tmp_path, "fills", HEADER + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10,10.01,,1,GBP\n")
    stats = _json(cli, workspace, "stats", "--benchmark", "none")
    assert stats["provenance"] == {"broker": 0.0, "imported": 1.0, "simulated": 0.0}
    assert stats["provenance_fills"] == {"broker": 0.0, "imported": 1.0, "simulated": 0.0}
    assert _json(cli, workspace, "trades")["provenance"] == {"broker": 0.0, "imported": 1.0, "simulated": 0.0}
    table = cli("--home", workspace, "stats", "--benchmark", "none").out
    assert "Provenance of the snapshots: broker 0%, imported 100%, simulated 0%" in table
    assert "Provenance of the fills: broker 0%, imported 100%, simulated 0%" in cli("--home", workspace, "trades").out


def test_a_mixed_record_gives_each_origin_its_share(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.ledger import events as kinds

    _import(cli, workspace, tmp_path, "snapshots", "date,nav\n2026-01-05,100000\n2026-01-06,100500\n")
    _append(workspace, [(kinds.SNAPSHOT_RECORDED, _snapshot(date(2026, 1, 7), "100700", False, "live")),
                        (kinds.SNAPSHOT_RECORDED, _snapshot(date(2026, 1, 8), "100600", True, "paper"))])
    shares = _json(cli, workspace, "stats", "--benchmark", "none")["provenance"]
    assert shares == {"broker": 0.25, "imported": 0.5, "simulated": 0.25}
    assert _json(cli, workspace, "stats", "2026-01-07", "2026-01-07", "--benchmark", "none")["provenance"] == {
        "broker": 0.5, "imported": 0.5, "simulated": 0.0}  # the base (01-06, imported) and 01-07 (broker)


def test_stats_warns_about_a_deposit_the_navs_do_not_show(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(cli, workspace, tmp_path, "snapshots", "date,nav\n2026-01-05,1000000\n2026-01-06,1002000\n")
    _import(cli, workspace, tmp_path, "cashflows", "date,amount\n2026-01-06,1000000\n")
    doc = _json(cli, workspace, "stats", "--benchmark", "none")
    (warning,) = doc["warnings"]
    assert "2026-01-06" in warning and "1,000,000.00" in warning
    assert f"Warning: {warning}" in cli("--home", workspace, "stats", "--benchmark", "none").out
    assert _json(cli, workspace, "stats", "2026-01-05", "2026-01-05", "--benchmark", "none")["warnings"] == []


@pytest.mark.parametrize("columns", ["80", "60"])
def test_tables_never_cut_a_value(cli, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                  columns: str) -> None:
    _import(cli, workspace, tmp_path, "snapshots", "date,nav\n2025-12-31,100000\n2026-01-30,112345\n2026-02-27,111000\n")
    _import(cli, workspace, tmp_path, "fills", HEADER
            + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,1234,247.9012,247.9113,,12.34,GBP\n"
            + "T2,2026-01-28T16:35:00Z,SXLK,ETF,SELL,1234,251.0001,250.8765,,12.34,GBP\n")
    monkeypatch.setenv("COLUMNS", columns)
    for command in ("stats", "trades", "slippage"):
        result = cli("--home", workspace, command)
        assert result.code == 0, result
        assert "…" not in result.out, (command, result.out)
        notes = ("Record", "Provenance", "(", "Warning")  # one-line notes, soft-wrapped by the terminal
        table_lines = [line for line in result.out.splitlines() if not line.startswith(notes) and "fill(s)" not in line]
        assert max(len(line) for line in table_lines) <= int(columns), (command, result.out)
    trades = cli("--home", workspace, "trades").out
    assert "2026-01-28" in trades and "SXLK" in trades and "break-even" not in trades
    slippage = cli("--home", workspace, "slippage").out
    assert "2026-01-05" in slippage and "+0.4" in slippage  # 247.9113 vs 247.9012: 0.4 bps
    stats = cli("--home", workspace, "stats").out
    assert "12.3" in stats and "-1.2" in stats  # January +12.3 %, February -1.2 %: one decimal each
