"""The engine writes a systematic pre-trade note for every order it plans, in the plan's own
transaction, so each trade carries its reason (rule, rank, momentum, target weight, decision
price) without the trader typing it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

REBALANCE = "2026-06-01"


def _configure(root: Path, mode: str) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))


@pytest.fixture(scope="module")
def paper_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("annotated") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    _configure(root, "paper")
    assert run(["--home", str(root), "-q", "prices", "update"]) == 0
    assert run(["--home", str(root), "cashflow", "add", "--date", "2026-05-29", "--amount", "100000"]) == 0
    return root


@pytest.fixture
def paper(paper_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(paper_template, root)
    return root


def _log(cli, root: Path, kind: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--kind", kind, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _notes(cli, root: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "annotate", "list", "--json")
    assert result.code == 0, result
    return [a for a in json.loads(result.out) if a["author"] == "engine"]


def test_every_planned_order_gets_a_systematic_note_in_the_plans_transaction(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "execute", "--as-of", REBALANCE).code == 0
    [plan] = _log(cli, paper, "plan.created")
    [signal] = _log(cli, paper, "signal.computed")
    notes = _notes(cli, paper)
    orders = plan["payload"]["orders"]
    assert sorted(n["order_ref"] for n in notes) == sorted(o["order_ref"] for o in orders) and len(orders) == 3
    assert sorted(n["seq"] for n in notes) == [plan["seq"] + 1, plan["seq"] + 2, plan["seq"] + 3], \
        "written right after the plan, in its transaction"
    ranks = {r["symbol"]: r for r in signal["payload"]["ranks"]}
    for note in notes:
        order = next(o for o in orders if o["order_ref"] == note["order_ref"])
        reason = note["systematic"]
        ranked = ranks[order["symbol"]]
        assert reason["plan_seq"] == plan["seq"] and reason["signal_seq"] == signal["seq"]
        assert (reason["rank"], reason["momentum"]) == (ranked["rank"], ranked["momentum"])
        assert reason["decision_price"] == order["intended_price"] == note["pre_trade"]["intended_entry"]
        assert reason["side"] == "BUY" and reason["action"] == "entry" and reason["mode"] == "paper"
        assert reason["inputs_sha256"] == signal["payload"]["inputs_sha256"]
        assert "12-1 momentum" in reason["rule"]
        thesis = note["pre_trade"]["thesis"]
        assert thesis.startswith("Systematic entry: ranks ") and f"ranks {ranked['rank']} of " in thesis
        assert order["intended_price"] in note["pre_trade"]["size_rationale"]
        assert note["as_of"] == REBALANCE and note["pre_trade"]["symbol"] == order["symbol"]
    assert cli("--home", paper, "verify").code == 0


def test_a_rerun_of_the_session_adds_no_second_note(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "execute", "--as-of", REBALANCE).code == 0
    assert cli("--home", paper, "execute", "--as-of", REBALANCE).code == 0
    notes = _notes(cli, paper)
    assert len(notes) == 3 and all(len(n["versions"]) == 1 for n in notes)


def test_a_dry_run_planned_again_makes_new_versions_of_the_same_notes(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _configure(paper, "dry_run")
    for _ in range(2):
        assert cli("--home", paper, "execute", "--as-of", REBALANCE, "--cash", "100000").code == 0
    notes = _notes(cli, paper)
    assert len(notes) == 3 and all(len(n["versions"]) == 2 for n in notes)
    assert all(n["systematic"]["mode"] == "dry_run" for n in notes)
    plans = _log(cli, paper, "plan.created")
    assert {n["systematic"]["plan_seq"] for n in notes} == {plans[-1]["seq"]}, "the latest plan's note is shown"


def test_the_trader_completes_an_engine_note_and_cannot_misattach_one(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "execute", "--as-of", REBALANCE).code == 0
    note = _notes(cli, paper)[0]
    post = cli("--home", paper, "annotate", note["id"], "--post", "--outcome", "filled at the close", "--matched")
    assert post.code == 0, post
    revised = next(n for n in _notes(cli, paper) if n["id"] == note["id"])
    assert revised["version"] == 2 and revised["systematic"] == note["systematic"]
    other = "SXLU" if note["pre_trade"]["symbol"] != "SXLU" else "SXLB"
    before = len(_log(cli, paper, "annotation.added"))
    wrong = cli("--home", paper, "annotate", "new", "--pre", "--symbol", other, "--thesis", "x",
                "--order-ref", note["order_ref"])
    assert wrong.code == 2 and f"that order is for {note['pre_trade']['symbol']}" in wrong.err, wrong
    assert len(_log(cli, paper, "annotation.added")) == before
