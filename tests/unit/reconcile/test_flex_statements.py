"""The six real, anonymised IBKR Flex statements in ../shared/data/flex parse, and their own
totals check (their README says what each holds and its traps)."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from trackrecord.reconcile.flex import CashKind, FlexStatement, parse_flex
from trackrecord.reconcile.matching import LedgerRecord, reconcile

FILES = {
    "etax": "opensteuerauszug_eTax_report_anonymised_2025.xml",
    "vt": "opensteuerauszug_vtandchill_2025.xml",
    "nav": "portfolio-performance_testIBFlexStatementFile17_redacted.xml",
    "lse": "portfolio-performance_testIBFlexStatementFile27_LSEETF.xml",
    "funds": "ib-flex-reader_StatementOfFunds.xml",
    "coding": "ib-flex-reader_TestForCoding.xml",
}


def _read(shared_data: Path, key: str) -> tuple[FlexStatement, tuple[str, ...]]:
    path = shared_data / "flex" / FILES[key]
    document = parse_flex(path.read_bytes(), str(path))
    assert len(document.statements) == 1
    return document.statements[0], document.warnings


def _checks(statement: FlexStatement) -> tuple[set[str], list[str]]:
    """The statement's internal checks, run with an empty ledger: (held, failed)."""
    empty = LedgerRecord(statement.account_id, statement.base_currency or "GBP", [], [], [])
    result = reconcile(statement, empty, {})
    return set(result.checks), [b.message for b in result.breaks if b.area.value == "statement"]


@pytest.mark.parametrize("key", sorted(FILES))
def test_every_real_statement_parses_with_its_account_and_period(shared_data: Path, key: str) -> None:
    statement, _ = _read(shared_data, key)
    expected = {"etax": ("U9999999", date(2025, 1, 1), date(2025, 12, 31)),
                "vt": ("U12349876", date(2025, 1, 1), date(2026, 1, 1)),
                "nav": ("U1111111", date(2023, 3, 2), date(2023, 3, 2)),
                "lse": ("U1234567", date(2025, 12, 1), date(2025, 12, 31)),
                "funds": ("DU231262", date(2018, 3, 12), date(2019, 3, 11)),
                "coding": ("U1234567", date(2018, 11, 9), date(2018, 11, 9))}[key]
    assert (statement.account_id, statement.from_date, statement.to_date) == expected
    assert not _checks(statement)[1], "no real statement fails its own totals"


@pytest.mark.parametrize("key", sorted(FILES))
def test_ibflex_itself_reads_every_real_statement(shared_data: Path, key: str) -> None:
    from ibflex import parser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        response = parser.parse(str(shared_data / "flex" / FILES[key]))
    assert response.FlexStatements[0].accountId == _read(shared_data, key)[0].account_id


def test_change_in_nav_start_plus_components_is_the_end_and_matches_the_nav_rows(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "nav")
    change = statement.change_in_nav
    assert change is not None
    assert change.start == Decimal("7674.265297533") and change.end == Decimal("7678.155297533")
    assert change.start + change.component_total == change.end
    assert {"mtm": Decimal("8.31"), "changeInDividendAccruals": Decimal("0.98"), "otherFees": Decimal("-4.5"),
            "salesTax": Decimal("-0.9")} == {k: v for k, v in change.components if v}
    assert [(n.report_date, n.total) for n in statement.navs] == [
        (date(2023, 3, 1), Decimal("7674.265297533")), (date(2023, 3, 2), Decimal("7678.155297533"))]
    assert change.twr_percent == Decimal("0.050688891"), "IB's twr is in percent"
    held, failed = _checks(statement)
    assert {"change_in_nav", "change_in_nav_start", "change_in_nav_end"} <= held and not failed


def test_detail_deposits_equal_the_cash_report_and_summary_rows_would_double_them(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "etax")
    flows = statement.external_flows()
    assert len(flows) == 25 and all(f.level == "DETAIL" for f in flows)
    in_base = sum((f.amount_in_base for f in flows), Decimal(0))
    report = statement.base_cash_report()
    assert report is not None and report.deposit_withdrawals == in_base == Decimal("759587.4088378")
    both_levels = sum((c.amount_in_base for c in statement.cash if c.kind is CashKind.EXTERNAL_FLOW), Decimal(0))
    assert both_levels == 2 * in_base
    assert "cash_report_flows" in _checks(statement)[0]


def test_income_and_costs_are_never_external_flows(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "etax")
    kinds = {c.type_text: c.kind for c in statement.income_and_costs()}
    assert kinds["Dividends"] is CashKind.DIVIDEND and kinds["Withholding Tax"] is CashKind.WITHHOLDING_TAX
    assert kinds["Broker Interest Paid"] is CashKind.INTEREST and kinds["Other Fees"] is CashKind.FEE
    assert CashKind.EXTERNAL_FLOW not in kinds.values()
    result = reconcile(statement, LedgerRecord(statement.account_id, "CHF", [], [], []), {})
    assert {line.type_text for line in result.income_and_costs} >= {"Dividends", "Withholding Tax",
                                                                     "Payment In Lieu Of Dividends"}


def test_trades_are_executions_and_book_trades_have_no_exec_id(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "etax")
    assert len(statement.fills) == 671
    bookings = [f for f in statement.fills if f.booking]
    assert len(bookings) == 9 and all(f.exec_id is None for f in bookings)
    assert all(f.exec_id for f in statement.fills if not f.booking)
    assert sum(f.is_fx_conversion for f in statement.fills) == 176
    result = reconcile(statement, LedgerRecord(statement.account_id, "CHF", [], [], []), {})
    assert result.fx_conversions == 176 and result.compared["fills"] == 671 - 176
    vt, _ = _read(shared_data, "vt")
    assert len(vt.fills) == 7, "AssetSummary and SymbolSummary rows in <Trades> are not fills"


def test_open_positions_count_summary_rows_once_not_their_lots(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "etax")
    mstr = [p for p in statement.positions if p.symbol == "MSTR"]
    assert len(statement.positions) == 2 and len(mstr) == 1 and mstr[0].quantity == Decimal(5257)


def test_every_date_format_of_the_real_files_is_read(shared_data: Path) -> None:
    vt, _ = _read(shared_data, "vt")
    withdrawal = next(c for c in vt.external_flows())
    assert (withdrawal.day, withdrawal.amount) == (date(2025, 12, 11), Decimal(-249000))  # "2025-12-11;135932"
    etax, _ = _read(shared_data, "etax")
    days = {c.transaction_id: c.day for c in etax.external_flows()}
    assert days["30881024598"] == date(2025, 1, 14)  # "2025-01-14;02:40:03"
    assert days["31411440710"] == date(2025, 2, 17)  # bare "2025-02-17"
    nav, _ = _read(shared_data, "nav")
    assert nav.cash[0].day == date(2023, 3, 2)  # "20230302;170343"
    assert etax.when_generated is not None and etax.when_generated.date() == date(2026, 2, 21)


def test_an_lse_etf_fill_is_in_pounds_with_its_commission_as_a_cost(shared_data: Path) -> None:
    statement, _ = _read(shared_data, "lse")
    (fill,) = statement.fills
    assert (fill.symbol, fill.side.value, fill.quantity) == ("EQQQ.L", "BUY", Decimal(3))
    assert (fill.price, fill.currency, fill.commission) == (Decimal("455.5054"), "GBP", Decimal(3))
    assert fill.exec_id == "00015269.69411ea0.01.01"


def test_unknown_attributes_are_reported_not_fatal(shared_data: Path) -> None:
    statement, found = _read(shared_data, "coding")
    assert len(statement.fills) == 15 and sum(1 for f in statement.fills if f.order_ref) == 10
    assert len(found) == 1 and found[0].startswith("175 value(s)") and "IBUKL" in found[0]
