"""Hostile Flex files: any attribute given a hostile value, truncations and stray bytes. Never
a traceback; exit 0 or 1 (a reconciliation, recorded) or 2 (one line, nothing written)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import state

STATEMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">
<FlexStatement accountId="SIM0001" fromDate="20260105" toDate="2026-01-06" period="" whenGenerated="20260107;080000">
<AccountInformation accountId="SIM0001" currency="GBP" />
<ChangeInNAV accountId="SIM0001" fromDate="20260105" toDate="20260106" startingValue="0" depositsWithdrawals="1000"
 mtm="0" endingValue="1000" twr="0" />
<EquitySummaryInBase><EquitySummaryByReportDateInBase accountId="SIM0001" reportDate="20260105" cash="1000"
 total="1000" /></EquitySummaryInBase>
<CashReport><CashReportCurrency accountId="SIM0001" currency="BASE_SUMMARY" levelOfDetail="BaseCurrency"
 depositWithdrawals="1000" /></CashReport>
<OpenPositions><OpenPosition accountId="SIM0001" symbol="SXLK" conid="1" position="5" markPrice="10"
 positionValue="50" currency="GBP" reportDate="20260106" levelOfDetail="SUMMARY" /></OpenPositions>
<Trades><Trade accountId="SIM0001" currency="GBP" symbol="SXLK" conid="1" tradeID="7" dateTime="20260106;163000"
 tradeDate="20260106" transactionType="ExchTrade" quantity="5" tradePrice="10" ibCommission="-3"
 ibCommissionCurrency="GBP" buySell="BUY" ibExecID="0001.02.01.01" levelOfDetail="EXECUTION" /></Trades>
<CashTransactions><CashTransaction accountId="SIM0001" currency="GBP" fxRateToBase="1" dateTime="2026-01-05;10:00:00"
 reportDate="2026-01-05" amount="1000" type="Deposits/Withdrawals" transactionID="55" levelOfDetail="DETAIL" />
</CashTransactions>
</FlexStatement></FlexStatements></FlexQueryResponse>
"""
VALUES = list(dict.fromkeys(m.group(1) for m in re.finditer(rb'="([^"]*)"', STATEMENT)))
HOSTILE = ["NaN", "-Infinity", "1e400", "1e-999999", "9" * 60, "", "-", "N/A", "MULTI", "2026-02-30", "20261340",
           "2026-01-05;25:61:00", "1,000", "0x10", "١٠٠", "Bond Interest", "SUMMARY", "LOT", "SELL", "ZZZ",
           "&amp;", "é", "U7654321", "-5"]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def paper(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "paper"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('mode: "dry_run"', 'mode: "paper"', 1))
    assert cli("--home", root, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000").code == 0
    return root


def _hostile_files() -> st.SearchStrategy[bytes]:
    replaced = st.tuples(st.sampled_from(VALUES), st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))).map(
        lambda pair: STATEMENT.replace(b'"' + pair[0] + b'"', b'"' + pair[1].replace('"', "").replace("&", "")
                                       .replace("<", "").encode() + b'"', 1))
    truncated = st.integers(min_value=0, max_value=len(STATEMENT)).map(lambda n: STATEMENT[:n])
    stray = st.tuples(st.integers(min_value=0, max_value=len(STATEMENT)), st.binary(min_size=1, max_size=4)).map(
        lambda pair: STATEMENT[:pair[0]] + pair[1] + STATEMENT[pair[0]:])
    return st.one_of(replaced, truncated, stray)


def test_the_fuzz_base_statement_reconciles(cli, paper: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "base.xml"
    path.write_bytes(STATEMENT)
    result = cli("--home", paper, "reconcile", path, "--json")
    assert result.code == 1, result  # the ledger holds only the deposit: the fill, NAV and position are breaks
    assert re.findall(r'"area": "(\w+)"', result.out) == ["fill", "nav", "position"]


@FUZZ
@given(data=_hostile_files())
def test_a_hostile_flex_file_never_crashes_and_a_refusal_writes_nothing(cli, paper: Path, tmp_path: Path,
                                                                        data: bytes) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(data)
    before = state(paper)
    result = cli("--home", paper, "reconcile", path, "--import-cashflows", "--json")
    assert "Traceback" not in result.out + result.err, result
    assert result.code in (0, 1, 2), result
    if result.code == 2:
        assert state(paper) == before and result.err.count("\n") == 1 and result.out == "", result
