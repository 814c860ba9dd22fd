"""A paper withdrawal larger than the simulated account's cash is refused (exit 2, one line naming
the amount and the cash available, nothing written): the book has no margin, and negative cash
would show in the record as a debt nobody took on."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

REBALANCE = "2026-06-01"


@pytest.fixture(scope="module")
def priced_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("overdraft") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2025-03-01"'))
    assert run(["--home", str(root), "prices", "update"]) == 0
    return root


@pytest.fixture
def paper(priced_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(priced_template, root)
    return root


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def _refused(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and "Traceback" not in result.err
    for word in words:
        assert word in result.err, (word, result.err)


def test_a_paper_withdrawal_above_the_cash_is_refused_naming_the_cash(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "1000").code == 0
    before = _events(cli, paper)
    _refused(cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "-5000"),
             "5,000.00 GBP", "1,000.00 GBP", "SIM0001", "2026-05-29")
    assert _events(cli, paper) == before
    taken = cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "-1000")
    assert taken.code == 0, taken  # all of it may go
    snapshot = cli("--home", paper, "snapshot", "--json")
    assert snapshot.code == 0, snapshot
    assert Decimal(str(json.loads(snapshot.out)["cash"])) == 0


def test_a_paper_withdrawal_after_buying_may_take_only_the_cash_left(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    bought = cli("--home", paper, "execute", "--as-of", REBALANCE, "--json")
    assert bought.code == 0, bought
    assert cli("--home", paper, "snapshot", "--as-of", REBALANCE).code == 0
    assert cli("--home", paper, "cashflow", "add", "--date", REBALANCE, "--amount", "20000").code == 0
    cash = Decimal(str(json.loads(cli("--home", paper, "snapshot", "--as-of", REBALANCE, "--json").out)["cash"]))
    assert 10000 < cash < 30000  # the first deposit is in three positions (MOC fills may overshoot the plan)
    before = _events(cli, paper)
    refused = cli("--home", paper, "cashflow", "add", "--date", REBALANCE, "--amount", "-30000")
    _refused(refused, "30,000.00 GBP", f"{cash:,.2f} GBP")
    assert _events(cli, paper) == before
    assert cli("--home", paper, "verify").code == 0


def test_a_dry_run_withdrawal_is_not_checked_against_the_paper_book(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # dry run records the trader's real account's flows: the simulated book is not their cash
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-05-29", "--amount", "-5000").code == 0


def test_voiding_a_paper_deposit_already_spent_is_refused_naming_the_cash(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "500").code == 0
    flows = json.loads(cli("--home", paper, "cashflow", "list", "--json").out)
    big, small = (next(f for f in flows if f["amount"] == amount) for amount in ("100000", "500"))
    unspent = cli("--home", paper, "cashflow", "void", str(small["seq"]), "--reason", "typed twice")
    assert unspent.code == 0, unspent  # the cash is all there: it may be taken back
    assert cli("--home", paper, "execute", "--as-of", REBALANCE).code == 0
    cash = Decimal(str(json.loads(cli("--home", paper, "snapshot", "--as-of", REBALANCE, "--json").out)["cash"]))
    before = _events(cli, paper)
    refused = cli("--home", paper, "cashflow", "void", str(big["seq"]), "--reason", "typed wrong")
    _refused(refused, f"cashflow void {big['seq']}", "100,000.00 GBP", f"{cash:,.2f} GBP")
    assert _events(cli, paper) == before
    assert cli("--home", paper, "verify").code == 0


def test_an_imported_paper_withdrawal_above_the_cash_is_refused_naming_the_line(paper: Path, cli,  # type: ignore[no-untyped-def]
                                                                                 tmp_path: Path) -> None:
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "1000").code == 0
    too_much = tmp_path / "too_much.csv"
    too_much.write_text("date,amount,note\n2026-05-29,500,top up\n2026-05-29,-2000,rent\n2026-05-29,5000,late\n")
    before = _events(cli, paper)
    flows_before = cli("--home", paper, "cashflow", "list", "--json").out
    # the file's earlier deposit counts, its later one does not: 1,000 + 500 are there when the 2,000 goes
    _refused(cli("--home", paper, "import", "cashflows", too_much),
             f"{too_much}:3", "2,000.00 GBP", "1,500.00 GBP", "SIM0001", "2026-05-29")
    assert _events(cli, paper) == before
    assert cli("--home", paper, "cashflow", "list", "--json").out == flows_before  # not even the 500

    all_of_it = tmp_path / "all_of_it.csv"
    all_of_it.write_text("date,amount,note\n2026-05-29,500,top up\n2026-05-29,-1500,rent\n")
    assert cli("--home", paper, "import", "cashflows", all_of_it).code == 0
    again = cli("--home", paper, "import", "cashflows", all_of_it, "--json")  # recorded flows are not taken twice
    assert again.code == 0, again
    assert json.loads(again.out)["added"] == {}
    snapshot = cli("--home", paper, "snapshot", "--json")
    assert Decimal(str(json.loads(snapshot.out)["cash"])) == 0
    assert cli("--home", paper, "verify").code == 0


def test_an_imported_withdrawal_for_another_account_is_not_checked_against_the_paper_book(  # type: ignore[no-untyped-def]
        paper: Path, cli, tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text("date,amount\n2026-05-29,-5000\n")
    assert cli("--home", paper, "import", "cashflows", flows, "--account", "U1234").code == 0


def test_an_imported_paper_flow_dated_before_recorded_snapshots_is_refused_as_cashflow_add_refuses_it(  # type: ignore[no-untyped-def]
        paper: Path, cli, tmp_path: Path) -> None:
    """The simulated cash follows the flows: a back-dated one would revalue snapshots already
    recorded, which an append-only record cannot do. `cashflow add` refused it; the import did not."""
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-28", "--amount", "1000").code == 0
    for session in ("2026-05-28", "2026-05-29", "2026-06-01"):
        assert cli("--home", paper, "snapshot", "--as-of", session).code == 0
    late = tmp_path / "late.csv"
    late.write_text("date,amount,note\n2026-06-01,200,fine\n2026-05-28,300,back-dated\n")
    before = _events(cli, paper)
    _refused(cli("--home", paper, "import", "cashflows", late), f"{late}:3", "2026-05-28", "cannot be revalued")
    _refused(cli("--home", paper, "cashflow", "add", "--date", "2026-05-28", "--amount", "300"), "cannot be revalued")
    assert _events(cli, paper) == before
    late.write_text("date,amount,note\n2026-06-01,200,fine\n")
    assert cli("--home", paper, "import", "cashflows", late).code == 0
    assert cli("--home", paper, "verify").code == 0
