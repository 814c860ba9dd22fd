"""Imports label the configured account (brief item 6): with no `account.account_id` set, an
imported record and the flows `cashflow add` records are one account's (the simulated
account's id, as `cashflow add` uses), never a second account called `default`."""

from __future__ import annotations

from pathlib import Path

from tests.integration.record_integrity import as_json, configure, events

FILLS = ("trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,"
         "commission_currency\n"
         "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10,10.01,,1,GBP\n")


def _import(cli, root: Path, tmp_path: Path, what: str, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{what}.csv"
    path.write_text(text)
    result = cli("--home", root, "import", what, path)
    assert result.code == 0, result


def test_an_imported_record_and_added_flows_are_one_account(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(cli, workspace, tmp_path, "snapshots",
            "date,nav,cash\n2026-01-05,100000,100000\n2026-01-06,150500,150500\n2026-01-07,150300,150300\n")
    _import(cli, workspace, tmp_path, "cashflows", "date,amount\n2026-01-05,100000\n")
    _import(cli, workspace, tmp_path, "fills", FILLS)
    added = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "50000")
    assert added.code == 0, added
    accounts = {e["payload"].get("account_id") for e in events(cli, workspace)
                if e["kind"] in ("snapshot.recorded", "fill.recorded", "cashflow.recorded")}
    assert accounts <= {"SIM0001", None}, accounts
    assert {f["account"] for f in as_json(cli("--home", workspace, "cashflow", "list", "--json"))} == {"SIM0001"}
    stats = as_json(cli("--home", workspace, "stats", "--benchmark", "none", "--json"))
    assert stats["account"] == "SIM0001"
    # 100,000 -> 150,500 with a 50,000 deposit is +0.5 %: the added flow counts for the imported record
    assert abs(stats["metrics"]["total_return"] - (150300 / 150000 - 1)) < 1e-9, stats["metrics"]
    refused = cli("--home", workspace, "stats", "--account", "default")
    assert refused.code == 2 and "SIM0001" in refused.err, refused


def test_a_paper_import_of_cash_flows_reaches_the_simulated_account(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    configure(root, "paper")
    _import(cli, root, tmp_path, "cashflows", "date,amount\n2026-01-05,100000\n")
    [flow] = as_json(cli("--home", root, "cashflow", "list", "--json"))
    assert flow["account"] == "SIM0001"
    assert [e["payload"]["account_id"] for e in events(cli, root, "cashflow.recorded")] == ["SIM0001"]
    snapshot = as_json(cli("--home", root, "snapshot", "--as-of", "2026-01-05", "--json"))
    assert snapshot["account_id"] == "SIM0001" and snapshot["cash"] == "100000", snapshot
