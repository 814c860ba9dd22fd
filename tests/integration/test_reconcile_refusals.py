"""Bad input to `trackrecord reconcile`: one line naming the file and what was expected,
exit 2, nothing written (the ledger's events and statements/ unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MINIMAL = b"""<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">
<FlexStatement accountId="SIM0001" fromDate="20250102" toDate="20250103" period="" whenGenerated="20250104;080000">
<Trades><Trade accountId="SIM0001" symbol="SXLK" quantity="oops" tradePrice="1" currency="GBP" buySell="BUY"
ibExecID="x" tradeID="17" levelOfDetail="EXECUTION" /></Trades>
</FlexStatement></FlexStatements></FlexQueryResponse>"""


def _events(cli, home: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", home, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


CASES = {
    "html": (b"<!DOCTYPE html>\n<html><head><title>Client Portal</title></head><body>Log in</body></html>",
             "this is an HTML page, not an IBKR Flex statement"),
    "not_xml": (b"date,amount\n2025-01-02,100\n", "line 1 column 0: not well-formed XML"),
    "empty": (b"", "the file is empty"),
    "truncated": (MINIMAL[:200], "not well-formed XML"),
    "wrong_root": (b"<Statement><Trades /></Statement>", "root element <Statement>, expected <FlexQueryResponse>"),
    "service_error": (b"<FlexStatementResponse timestamp='x'><Status>Fail</Status><ErrorCode>1019</ErrorCode>"
                      b"<ErrorMessage>Statement generation in progress.</ErrorMessage></FlexStatementResponse>",
                      "an IBKR Flex Web Service reply (error 1019"),
    "bad_number": (MINIMAL, "Trade #1 (tradeID 17): quantity='oops' is not a valid number"),
    "unknown_account": (MINIMAL.replace(b"SIM0001", b"U7654321").replace(b"oops", b"1"), "the statement is of account U7654321, which this "
                                                                   "ledger does not know"),
    "unknown_encoding": (b'<?xml version="1.0" encoding="NaN"?><FlexQueryResponse/>', "unknown encoding: NaN"),
    "entities": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><FlexQueryResponse>&a;</FlexQueryResponse>',
                 "declares a DOCTYPE or entities"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_that_is_not_a_usable_flex_statement_is_refused_and_nothing_written(cli, workspace: Path,
                                                                                   tmp_path: Path, case: str) -> None:
    data, expected = CASES[case]
    path = tmp_path / f"{case}.xml"
    path.write_bytes(data)
    before = _events(cli, workspace)
    result = cli("--home", workspace, "reconcile", path, "--import-cashflows")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and str(path) in result.err and expected in result.err, result.err
    assert "Traceback" not in result.err
    assert _events(cli, workspace) == before
    assert not (workspace / "statements").exists()


def test_an_account_the_file_does_not_hold_is_refused_naming_the_ones_it_does(cli, workspace: Path,
                                                                            tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_bytes(MINIMAL.replace(b'quantity="oops"', b'quantity="1"'))
    before = _events(cli, workspace)
    result = cli("--home", workspace, "reconcile", path, "--account", "U1", "--json")
    assert result.code == 2 and "--account U1" in result.err and "it holds SIM0001" in result.err
    assert result.out == "" and _events(cli, workspace) == before


def test_a_missing_file_and_a_bad_tolerance_are_refused(cli, workspace: Path, tmp_path: Path) -> None:
    result = cli("--home", workspace, "reconcile", tmp_path / "nope.xml")
    assert result.code == 2 and "nope.xml: no such file" in result.err
    path = tmp_path / "s.xml"
    path.write_bytes(MINIMAL)
    result = cli("--home", workspace, "reconcile", path, "--tolerance", "-1")
    assert result.code == 2 and "--tolerance -1" in result.err


def test_a_real_statement_of_another_account_is_refused(cli, workspace: Path, shared_data: Path) -> None:
    path = shared_data / "flex" / "portfolio-performance_testIBFlexStatementFile17_redacted.xml"
    before = _events(cli, workspace)
    result = cli("--home", workspace, "reconcile", path)
    assert result.code == 2 and "account U1111111, which this ledger does not know" in result.err
    assert _events(cli, workspace) == before
