"""The engine keeps the record true under ordinary use (issue 8 items 2-5, 14, 16; issue 9
item 1): a preview is the execution, sessions are recorded in order, a what-if records
nothing, a lifted kill switch lets the month's plan run once, snapshots state a value on
their session. Every sequence is what a trader types, in-process, on a paper workspace."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult

JULY = "2026-07-01"
MARCH = "2026-03-02"
DEPOSIT_DATE = "2025-07-01"


def _configure(root: Path, mode: str) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))


@pytest.fixture(scope="module")
def unfunded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paper workspace on synthetic prices, no cash booked yet."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("record") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    _configure(root, "paper")
    assert run(["--home", str(root), "prices", "update"]) == 0
    return root


@pytest.fixture
def unfunded(unfunded_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(unfunded_template, root)
    return root


@pytest.fixture
def paper(unfunded: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    deposit = cli("--home", unfunded, "cashflow", "add", "--date", DEPOSIT_DATE, "--amount", "100000")
    assert deposit.code == 0, deposit
    return unfunded


def _json(result: CliResult) -> Any:
    assert result.code == 0, result
    return json.loads(result.out)


def _events(cli, root: Path, kind: str | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    args = ["--home", root, "ledger", "log", "--json"] + (["--kind", kind] if kind else [])
    return _json(cli(*args))


def _orders(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(o["order_ref"], o["side"], o["quantity"], o["intended_price"]) for o in document["orders"]]


def _refused(result: CliResult, code: int) -> None:
    assert result.code == code, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and "Traceback" not in result.err, result


# -- preview = execution (issue 8.5 / 9.1) -------------------------------------------------------


def test_the_preview_of_a_past_session_shows_the_orders_its_execution_sends(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = len(_events(cli, paper))
    preview = _json(cli("--home", paper, "rebalance", "--as-of", JULY, "--json"))
    assert preview["preview"] is True and preview["session_date"] == JULY
    assert len(_events(cli, paper)) == before, "a preview records nothing"
    executed = _json(cli("--home", paper, "execute", "--as-of", JULY, "--json"))
    assert executed["plan_id"] == preview["plan_id"]
    assert _orders(executed) == _orders(preview) and len(preview["orders"]) == 3


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # each example runs real commands: no shrinking
@given(deposit=st.integers(min_value=20_000, max_value=600_000),  # within risk.max_order_value per line
       first=st.sampled_from(["", "2025-09-01", "2026-01-02"]),
       later=st.sampled_from(["2026-03-02", "2026-07-01", "2026-11-02"]))
def test_property_the_preview_orders_are_the_executed_orders(unfunded_template: Path, tmp_path_factory, cli,  # type: ignore[no-untyped-def]
                                                             deposit: int, first: str, later: str) -> None:
    root = tmp_path_factory.mktemp("prop") / "ws"
    shutil.copytree(unfunded_template, root)
    assert cli("--home", root, "cashflow", "add", "--date", DEPOSIT_DATE, "--amount", str(deposit)).code == 0
    if first:  # an account that already holds a portfolio
        assert cli("--home", root, "execute", "--as-of", first).code == 0
    preview = _json(cli("--home", root, "rebalance", "--as-of", later, "--json"))
    executed = _json(cli("--home", root, "execute", "--as-of", later, "--json"))
    assert _orders(executed) == _orders(preview)


# -- back-dated runs (issue 8.2) ----------------------------------------------------------------


def test_a_run_earlier_than_the_latest_recorded_session_is_refused(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    july = _json(cli("--home", paper, "execute", "--as-of", JULY, "--json"))
    assert {o["status"] for o in july["orders"]} == {"filled"}
    before = len(_events(cli, paper))
    for args in (("execute", "--as-of", MARCH), ("snapshot", "--as-of", "2026-03-03"),
                 ("daily", "--as-of", "2026-03-03")):
        refused = cli("--home", paper, *args)
        _refused(refused, 2)
        assert JULY in refused.err, refused
    assert len(_events(cli, paper)) == before, "nothing written"
    assert _json(cli("--home", paper, "pull", "--json"))["new_fills"] == 0  # pull stays allowed
    assert _json(cli("--home", paper, "rebalance", "--as-of", MARCH, "--json"))["session_date"] == MARCH
    assert len(_events(cli, paper)) == before
    assert cli("--home", paper, "verify").code == 0


# -- what-ifs and bad numbers (issue 8.16, 10.3) ---------------------------------------------------


def test_what_if_signals_and_previews_record_nothing(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = len(_events(cli, paper))
    for args in (("signal", "--as-of", MARCH, "--json"), ("signal", "--top-n", "2", "--json"),
                 ("rebalance", "--json"), ("rebalance", "--cash", "5000", "--json")):
        assert cli("--home", paper, *args).code == 0, args
    assert len(_events(cli, paper)) == before


def test_cash_in_paper_mode_is_refused_not_ignored(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = len(_events(cli, paper))
    refused = cli("--home", paper, "execute", "--as-of", JULY, "--cash", "5000")
    _refused(refused, 2)
    assert "--cash" in refused.err and "paper" in refused.err
    assert len(_events(cli, paper)) == before


@pytest.mark.parametrize("args", [("execute", "--cash", "1e999999"), ("execute", "--cash", "1e-999999"),
                                  ("rebalance", "--cash", "1e400"), ("pull", "--days", "99999999")])
def test_huge_numbers_on_the_command_line_are_one_line_exit_2(paper: Path, cli, args) -> None:  # type: ignore[no-untyped-def]
    before = len(_events(cli, paper))
    _refused(cli("--home", paper, *args), 2)
    assert len(_events(cli, paper)) == before
