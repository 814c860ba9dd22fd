"""A live-style record (imported fills, snapshots, a deposit) reconciles on SQLite and on
PostgreSQL: its synthetic statement gives 0 breaks, a planted one is found."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.integration.flex_synthetic import ledger_events, statement_from_events

ACCOUNT = "U7777777"
FILLS = """trade_id,timestamp,symbol,side,quantity,fill_price,commission,commission_currency
0000e0d5.6553e2e1.01.01,2025-03-03T16:35:00Z,SXLK,BUY,100,101.25,-3.00,GBP
0000e0d5.6553e2e2.01.01,2025-03-03T16:35:00Z,SXLU,BUY,50,88.10,-3.00,GBP
0000e0d5.6553f001.01.01,2025-03-05T16:35:00Z,SXLK,SELL,40,103.00,-3.00,GBP
"""
SNAPSHOTS = """date,nav,cash
2025-03-03,20000.00,5466.00
2025-03-04,20110.50,5466.00
2025-03-05,20190.25,9583.00
"""


def _record(cli, workspace: Path, tmp_path: Path, database_url: str) -> None:  # type: ignore[no-untyped-def]
    config = workspace / "trackrecord.yaml"
    text = config.read_text().replace("  url: null", f'  url: "{database_url}"')
    config.write_text(text.replace("  account_id: null", f'  account_id: "{ACCOUNT}"', 1))
    (tmp_path / "fills.csv").write_text(FILLS)
    (tmp_path / "snapshots.csv").write_text(SNAPSHOTS)
    assert cli("--home", workspace, "cashflow", "add", "--date", "2025-03-03", "--amount", "20000").code == 0
    assert cli("--home", workspace, "import", "fills", tmp_path / "fills.csv", "--account", ACCOUNT).code == 0
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "snapshots.csv", "--account", ACCOUNT).code == 0


def test_a_live_style_record_reconciles_on_each_backend(cli, workspace: Path, tmp_path: Path,
                                                       database_url: str) -> None:
    _record(cli, workspace, tmp_path, database_url)
    statement = statement_from_events(ledger_events(cli, workspace))
    assert statement.account_id == ACCOUNT and len(statement.trades) == 3
    path = tmp_path / "flex.xml"
    path.write_bytes(statement.render())
    clean = cli("--home", workspace, "reconcile", path, "--json")
    assert clean.code == 0, clean
    assert json.loads(clean.out)["matched"] == {"fills": 3, "cashflows": 1, "navs": 3, "positions": 0}
    statement.trades[2]["tradePrice"] = "103.50"
    path.write_bytes(statement.render())
    planted = cli("--home", workspace, "reconcile", path, "--json")
    assert planted.code == 1
    assert [b["key"] for b in json.loads(planted.out)["breaks"]] == ["0000e0d5.6553f001.01.01 price"]


def test_import_cashflows_books_the_deposit_the_ledger_lacks_once_on_each_backend(
        cli, workspace: Path, tmp_path: Path, database_url: str) -> None:
    _record(cli, workspace, tmp_path, database_url)
    statement = statement_from_events(ledger_events(cli, workspace))
    statement.add_flow(date(2025, 3, 4), Decimal("2500"), "31222684826")
    path = tmp_path / "flex.xml"
    path.write_bytes(statement.render())
    first = cli("--home", workspace, "reconcile", path, "--json")
    assert first.code == 1 and [b["kind"] for b in json.loads(first.out)["breaks"]] == ["missing_in_ledger"]
    imported = cli("--home", workspace, "reconcile", path, "--import-cashflows", "--json")
    document = json.loads(imported.out)
    assert imported.code == 0, imported
    assert [(f["date"], f["amount"]) for f in document["imported_cashflows"]] == [("2025-03-04", "2500")]
    assert document["imported_cashflows"][0]["note"] == "IBKR Flex Deposits/Withdrawals transactionID 31222684826"
    again = cli("--home", workspace, "reconcile", path, "--import-cashflows", "--json")
    assert again.code == 0 and json.loads(again.out)["imported_cashflows"] == []
    flows = json.loads(cli("--home", workspace, "cashflow", "list", "--account", ACCOUNT, "--json").out)
    assert [f["amount"] for f in flows] == ["20000", "2500"]
