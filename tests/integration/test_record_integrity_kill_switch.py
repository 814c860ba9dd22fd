"""A lifted kill switch lets the month's plan run (issue 8 item 4): the refusal is recorded,
the rerun after `kill-switch deactivate` decides again with a `risk.decided` that supersedes
the refusal and says why, and the plan's orders go out once. A refusal whose condition
still holds stands and writes nothing more. Sequences a trader types, in-process."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.record_integrity import (
    DEPOSIT_DATE,
    IN_AUGUST,
    as_json,
    clock,
    copy_workspace,
    events,
    make_funded_paper,
    payloads,
    refused,
)

JULY = "2026-07-01"


@pytest.fixture(scope="module")
def funded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_funded_paper(tmp_path_factory.mktemp("kill") / "ws")


@pytest.fixture
def paper(funded_template: Path, tmp_path: Path) -> Path:
    return copy_workspace(funded_template, tmp_path / "ws")


@pytest.fixture(autouse=True)
def _august() -> Any:
    with clock(IN_AUGUST):
        yield


def _sent(cli, root: Path) -> Counter[str]:  # type: ignore[no-untyped-def]
    """How many times each order ref was submitted (the intent precedes every send)."""
    return Counter(p["order_ref"] for p in payloads(cli, root, "order.submitted"))


@pytest.mark.parametrize("activate", [["HALTED test"], ["reduce only test", "--reduce-only"]])
def test_a_plan_refused_by_the_kill_switch_trades_once_it_is_lifted(paper: Path, cli, activate) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "kill-switch", "activate", *activate).code == 0
    message = refused(cli("--home", paper, "execute", "--as-of", JULY), 3)
    assert "kill switch" in message.lower() or "HALTED" in message or "REDUCING" in message, message
    [plan] = payloads(cli, paper, "plan.created")
    [refusal] = events(cli, paper, "risk.decided")
    assert refusal["payload"]["approved"] is False and _sent(cli, paper) == Counter()

    before = len(events(cli, paper))  # refused again while the switch is on: nothing more is written
    refused(cli("--home", paper, "execute", "--as-of", JULY), 3)
    assert len(events(cli, paper)) == before

    assert cli("--home", paper, "kill-switch", "deactivate", "--yes").code == 0
    executed = as_json(cli("--home", paper, "execute", "--as-of", JULY, "--json"))
    assert executed["verdict"] == "approved" and executed["redecided"] is True and executed["reused_plan"] is True
    assert executed["plan_id"] == plan["plan_id"]
    assert [o["order_ref"] for o in executed["orders"]] == [o["order_ref"] for o in plan["orders"]]
    assert {o["status"] for o in executed["orders"]} == {"filled"}
    assert any(f"supersedes seq {refusal['seq']}" in m for m in executed["messages"]), executed["messages"]

    first, again = events(cli, paper, "risk.decided")
    assert first["seq"] == refusal["seq"] and again["payload"]["approved"] is True
    assert again["payload"]["supersedes"] == refusal["seq"] and "decided again" in again["payload"]["redecision"]
    assert _sent(cli, paper) == Counter({o["order_ref"]: 1 for o in plan["orders"]})

    rerun = as_json(cli("--home", paper, "execute", "--as-of", JULY, "--json"))  # and never twice
    assert rerun["sent"] == [] and rerun["redecided"] is False
    assert _sent(cli, paper) == Counter({o["order_ref"]: 1 for o in plan["orders"]})
    assert len(payloads(cli, paper, "fill.recorded")) == len(plan["orders"])

    orders = {o["order_ref"]: o for o in as_json(cli("--home", paper, "orders", "--json"))}
    assert {ref: o["status"] for ref, o in orders.items()} == {o["order_ref"]: "filled" for o in plan["orders"]}
    stats = as_json(cli("--home", paper, "stats", "--json"))
    assert stats["trades"]["open_positions"] == len(plan["orders"])
    verify = cli("--home", paper, "verify")
    assert verify.code == 0 and "0 events after the last signed checkpoint" in verify.out, verify


def test_a_refusal_for_a_condition_that_holds_stands_after_the_kill_switch_is_lifted(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Lifting the switch does not wash away another refusal: order value over the limit."""
    config = paper / "trackrecord.yaml"
    text = config.read_text()
    assert 'max_order_value: "250000"' in text
    config.write_text(text.replace('max_order_value: "250000"', 'max_order_value: "1000"'))
    assert cli("--home", paper, "kill-switch", "activate", "stop").code == 0
    refused(cli("--home", paper, "execute", "--as-of", JULY), 3)
    assert cli("--home", paper, "kill-switch", "deactivate", "--yes").code == 0
    before = len(events(cli, paper))
    message = refused(cli("--home", paper, "execute", "--as-of", JULY), 3)
    assert ("1000" in message or "1,000" in message) and "kill switch" not in message.lower(), message
    decisions = payloads(cli, paper, "risk.decided")
    assert len(decisions) == 2 and decisions[1]["supersedes"] == events(cli, paper, "risk.decided")[0]["seq"]
    assert not decisions[1]["approved"] and _sent(cli, paper) == Counter()
    assert len(events(cli, paper)) == before + 2  # the new decision and its checkpoint
    refused(cli("--home", paper, "execute", "--as-of", JULY), 3)
    assert len(events(cli, paper)) == before + 2, "a refusal that is not retryable is not decided again"
    assert cli("--home", paper, "verify").code == 0


def test_a_rebalance_blocked_by_stale_prices_trades_once_they_are_refreshed(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Today's run (2026-09-01, before the close) with bars only up to 2026-08-27: the gates
    block the signal, nothing is planned or sent; after `prices update` the same session plans
    and sends its orders, once."""
    from tests.integration.record_integrity import configure

    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    configure(root, "paper")
    with clock("2026-08-28T00:00:00Z"):
        assert cli("--home", root, "prices", "update").code == 0
        assert cli("--home", root, "cashflow", "add", "--date", DEPOSIT_DATE, "--amount", "100000").code == 0
    with clock("2026-09-01T13:00:00Z"):
        blocked = cli("--home", root, "execute")
        assert blocked.code == 1 and "2026-08-28" in blocked.err and "Traceback" not in blocked.err, blocked
        assert payloads(cli, root, "plan.created") == [] and _sent(cli, root) == Counter()
        assert cli("--home", root, "prices", "update").code == 0
        executed = as_json(cli("--home", root, "execute", "--json"))
        assert executed["verdict"] == "approved" and len(executed["sent"]) == len(executed["orders"]) > 0
        again = as_json(cli("--home", root, "execute", "--json"))
    assert again["sent"] == [] and again["reused_plan"] is True
    assert _sent(cli, root) == Counter({o["order_ref"]: 1 for o in executed["orders"]})
