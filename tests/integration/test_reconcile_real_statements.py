"""Real IBKR statements through the whole command: a ledger holding the LSE ETF fill of a real
statement reconciles with it; the big real statement's flows are imported once and then match."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

FILL = """trade_id,timestamp,symbol,side,quantity,fill_price,commission,commission_currency
00015269.69411ea0.01.01,2025-12-16T10:30:59Z,EQQQ.L,BUY,3,455.5054,-3,GBP
"""


def _as_account(workspace: Path, account: str) -> None:
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  account_id: null", f'  account_id: "{account}"', 1))


def test_the_real_lse_etf_statement_reconciles_once_the_ledger_holds_its_fill(cli, workspace: Path, tmp_path: Path,
                                                                             shared_data: Path) -> None:
    statement = shared_data / "flex" / "portfolio-performance_testIBFlexStatementFile27_LSEETF.xml"
    _as_account(workspace, "U1234567")
    missing = cli("--home", workspace, "reconcile", statement, "--json")
    assert missing.code == 1
    assert [(b["area"], b["kind"], b["key"]) for b in json.loads(missing.out)["breaks"]] == [
        ("fill", "missing_in_ledger", "00015269.69411ea0.01.01")]
    (tmp_path / "fills.csv").write_text(FILL)
    assert cli("--home", workspace, "import", "fills", tmp_path / "fills.csv", "--account", "U1234567").code == 0
    clean = cli("--home", workspace, "reconcile", statement, "--json")
    assert clean.code == 0, clean
    assert json.loads(clean.out)["matched"] == {"fills": 1}


def _with_rates(workspace: Path, rates: str) -> None:
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  fx_rates: {}", f"  fx_rates: {rates}", 1))


def test_the_real_deposits_are_imported_once_then_match(cli, workspace: Path, shared_data: Path) -> None:
    statement = shared_data / "flex" / "opensteuerauszug_eTax_report_anonymised_2025.xml"
    _as_account(workspace, "U9999999")
    _with_rates(workspace, "{CHF: '0.9', USD: '0.8'}")  # a GBP record values the CHF and USD flows at these
    first = json.loads(cli("--home", workspace, "reconcile", statement, "--import-cashflows", "--json").out)
    assert len(first["imported_cashflows"]) == 25, "DETAIL rows only: SUMMARY rows would double them"
    assert first["matched"]["cashflows"] == 25 and first["checks_held"] == ["cash_report_flows"]
    areas = {b["area"] for b in first["breaks"]}
    assert areas == {"fill", "position"}, "the ledger holds none of the account's trades"
    again = cli("--home", workspace, "reconcile", statement, "--import-cashflows", "--json")
    second = json.loads(again.out)
    assert again.code == 1 and second["imported_cashflows"] == [] and second["matched"]["cashflows"] == 25
    flows = json.loads(cli("--home", workspace, "cashflow", "list", "--account", "U9999999", "--json").out)
    by_currency: dict[str, Decimal] = {}
    for flow in flows:
        by_currency[flow["currency"]] = by_currency.get(flow["currency"], Decimal(0)) + Decimal(flow["amount"])
    assert len(flows) == 25 and by_currency == {"CHF": Decimal("759587.4"), "USD": Decimal("0.01")}, \
        "the CashReport's CHF and USD depositWithdrawals"


def test_an_ib_paper_account_is_labelled_paper_and_a_funds_only_statement_compares_nothing(
        cli, workspace: Path, shared_data: Path) -> None:
    _as_account(workspace, "DU231262")
    result = cli("--home", workspace, "reconcile", shared_data / "flex" / "ib-flex-reader_StatementOfFunds.xml")
    assert result.code == 0, result
    assert "| IB paper account" in result.out and "nothing to compare" in result.out and "0 breaks" in result.out


def test_a_real_flow_in_a_currency_without_a_rate_is_not_booked_and_says_why(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                          shared_data: Path) -> None:
    statement = shared_data / "flex" / "opensteuerauszug_eTax_report_anonymised_2025.xml"
    _as_account(workspace, "U9999999")
    _with_rates(workspace, "{CHF: '0.9'}")
    result = cli("--home", workspace, "reconcile", statement, "--import-cashflows", "--json")
    document = json.loads(result.out)
    assert len(document["imported_cashflows"]) == 24, "the CHF flows; not the USD one"
    said = " ".join(document["warnings"])
    assert ("(0.01 USD on 2025-03-26) not booked: the flow's currency USD: the base currency is GBP and "
            "prices.fx_rates has no USD rate") in said, document["warnings"]
