"""Every date and date-time format IB offers in a Flex query is read the same way; a file with
several accounts needs --account."""

from __future__ import annotations

from datetime import date

import pytest

from trackrecord.errors import UserError
from trackrecord.reconcile.flex import parse_flex


def _document(report_date: str, when: str, accounts: tuple[str, ...] = ("U1",)) -> bytes:
    statements = "".join(
        f'<FlexStatement accountId="{a}" fromDate="{report_date}" toDate="{report_date}" period="" '
        f'whenGenerated="{when}"><CashTransactions><CashTransaction currency="GBP" amount="100" '
        f'type="Deposits/Withdrawals" dateTime="{when}" transactionID="1" levelOfDetail="DETAIL" />'
        "</CashTransactions></FlexStatement>" for a in accounts)
    return (f'<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="{len(accounts)}">{statements}'
            "</FlexStatements></FlexQueryResponse>").encode()


@pytest.mark.parametrize(("day", "when"), [
    ("2025-03-04", "2025-03-04;101500"), ("20250304", "20250304;101500"), ("03/04/2025", "03/04/2025;10:15:00"),
    ("03/04/25", "03/04/25,101500"), ("04-Mar-25", "2025-03-04 10:15:00"), ("2025-03-04", "2025-03-04"),
    ("2025-03-04", "2025-03-04T10:15:00"), ("20250304", "20250304;10:15:00"),
])
def test_every_flex_date_format_gives_the_same_day(day: str, when: str) -> None:
    statement = parse_flex(_document(day, when), "f.xml").statements[0]
    assert statement.from_date == date(2025, 3, 4)
    assert statement.external_flows()[0].day == date(2025, 3, 4)


def test_a_file_with_several_accounts_needs_one_named() -> None:
    document = parse_flex(_document("20250304", "20250304;101500", ("U1", "U2")), "f.xml")
    with pytest.raises(UserError, match="statements of 2 accounts \\(U1, U2\\); name one with --account"):
        document.statement_of(None, "f.xml")
    assert document.statement_of("U2", "f.xml").account_id == "U2"
    with pytest.raises(UserError, match="--account U3: f.xml holds no statement of that account"):
        document.statement_of("U3", "f.xml")
