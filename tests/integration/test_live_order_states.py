"""The ledger follows each sent order to its end, whichever command next meets the broker.

Before: an order still working when `execute` returned (a market-on-close order waits for
the auction) stayed "submitted" in the ledger for ever. The pull recorded its fills, so
`trackrecord orders` showed a fill price beside "submitted"; a day order the exchange
cancelled at the close, or one cancelled by hand in TWS, read "submitted" too. Now `pull`,
`daily` and the scheduler's catch-up ask the broker where each still-working order stands
and record the change once. Live against the fake TWS over TCP (paper: in
test_paper_late_closes.py).
"""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.integration.fake_tws import FakeTws, PartialFill, Scenario
from tests.integration.fake_tws.protocol import In
from tests.integration.test_execute_live import (  # noqa: F401 - fixtures
    REBALANCE,
    _config,
    _contracts,
    _events,
    _execute,
    _json,
    _on_the_rebalance_day,
    _rows,
    _run,
    _verify,
    _write_config,
    fake,
    template,
    ws,
)


def _moc_left_working(root: Path) -> None:
    """Market-on-close orders and a run that stops following them before the auction."""
    document = _config(root)
    document["strategy"]["order_type"] = "MOC"
    document["broker"]["ibkr"]["order_timeout"] = 0.3
    _write_config(root, document)


def _statuses(cli: Any, root: Path) -> dict[str, str]:
    return {row["order_ref"]: row["status"] for row in _json(_run(cli, root, "orders", "--json"))}


def test_pull_records_the_auction_fill_as_the_orders_end(cli, ws, fake):  # type: ignore[no-untyped-def]
    _moc_left_working(ws)
    sent = _json(_execute(cli, ws))["sent"]
    assert set(_statuses(cli, ws).values()) == {"submitted"}
    assert fake.close_auction() == 3

    pulled = _run(cli, ws, "pull")
    assert pulled.code == 0, pulled
    assert "3 new fill(s)" in pulled.out and "3 order(s) now filled" in pulled.out, pulled.out
    assert _statuses(cli, ws) == {ref: "filled" for ref in sent}
    orders = {row["order_ref"]: row for row in _json(_run(cli, ws, "orders", "--json"))}
    assert all(row["filled_quantity"] == row["quantity"] for row in orders.values())

    again = _json(_run(cli, ws, "pull", "--json"))  # nothing more to say: nothing recorded
    assert again["orders_changed"] == {} and again["new_fills"] == 0
    assert len([e for e in _events(ws, "order.status_changed") if e["status"] == "filled"]) == 3
    _verify(cli, ws)


def test_day_orders_the_exchange_cancelled_read_cancelled_and_are_never_resent(cli, ws, fake):  # type: ignore[no-untyped-def]
    _moc_left_working(ws)
    sent = _json(_execute(cli, ws))["sent"]
    assert fake.end_session() == 3  # no auction for them: the day ends and IB cancels them

    pulled = _json(_run(cli, ws, "pull", "--json"))
    assert pulled["orders_changed"] == {ref: "cancelled" for ref in sent}
    assert pulled["new_fills"] == 0
    assert _statuses(cli, ws) == {ref: "cancelled" for ref in sent}

    rerun = _json(_execute(cli, ws))  # the same session again: the plan's orders had their end
    assert rerun["sent"] == []
    assert len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


def test_an_order_the_broker_forgot_is_flagged_once_for_a_person(cli, ws, fake):  # type: ignore[no-untyped-def]
    _moc_left_working(ws)
    sent = _json(_execute(cli, ws))["sent"]
    fake.end_session()
    fake.faults.no_completed_orders = True  # after IB's nightly restart: no completed orders, no executions

    first = _run(cli, ws, "pull")
    assert first.code == 0, first
    assert first.err.count("was submitted but the broker shows it nowhere") == 3, first.err
    assert "3 order(s) now unknown_at_broker" in first.out
    assert _statuses(cli, ws) == {ref: "unknown_at_broker" for ref in sent}
    second = _json(_run(cli, ws, "pull", "--json"))
    assert second["orders_changed"] == {} and len(second["order_warnings"]) == 3  # still said, recorded once
    assert len([e for e in _events(ws, "order.status_changed") if e["status"] == "unknown_at_broker"]) == 3

    fake.faults.no_completed_orders = False  # IB shows them again: the ledger is revised
    revised = _json(_run(cli, ws, "pull", "--json"))
    assert revised["orders_changed"] == {ref: "cancelled" for ref in sent} and revised["order_warnings"] == []
    _verify(cli, ws)


def test_a_paper_pull_asks_the_simulated_broker_about_no_live_order(cli, ws, fake):  # type: ignore[no-untyped-def]
    _moc_left_working(ws)
    _json(_execute(cli, ws))
    document = _config(ws)
    document["mode"] = "paper"  # the live orders are not this mode's: the simulated broker never had them
    _write_config(ws, document)
    pulled = _run(cli, ws, "pull", "--json")
    assert pulled.code == 0, pulled
    assert json.loads(pulled.out)["orders_changed"] == {} and "nowhere" not in pulled.err
    assert set(_statuses(cli, ws).values()) == {"submitted"}


# -- generated sequences: what a trader types, what the exchange and TWS do meanwhile ---------------

STEPS = st.sampled_from(("execute", "pull", "snapshot", "daily", "auction", "end of day", "tws forgets",
                         "tws remembers"))
AT_THE_FAKE = {"Filled": "filled", "Cancelled": "cancelled", "Submitted": "submitted", "PreSubmitted": "submitted"}


@settings(max_examples=int(os.environ.get("SEQ_EXAMPLES", "5")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # real commands over TCP: no shrinking
@given(steps=st.lists(STEPS, min_size=2, max_size=7), partial=st.booleans())
# part filled at the auction, the rest cancelled at the end of the day, then TWS forgets the order:
# rebuilt from its executions it read "filled" for 7 of 132 shares
@example(steps=["auction", "end of day", "tws forgets", "pull", "tws remembers"], partial=True)
def test_whatever_happens_an_order_is_sent_once_and_ends_as_the_broker_has_it(  # type: ignore[no-untyped-def]
        cli, template: Path, tmp_path_factory: pytest.TempPathFactory, steps: list[str], partial: bool) -> None:
    server = FakeTws(Scenario(contracts=_contracts(template))).start()
    try:
        root = tmp_path_factory.mktemp("live-seq") / "ws"
        shutil.copytree(template, root)
        document = _config(root)
        document["broker"]["ibkr"].update(host=server.host, port=server.port)
        _write_config(root, document)
        _moc_left_working(root)
        if partial:  # the auction fills part of each order; the rest is cancelled at the end of the day
            server.faults.partial_fill = PartialFill(first=Decimal(7), rest_after_seconds=None)
        for step in ["execute", *steps]:
            if step == "auction":
                server.close_auction()
            elif step == "end of day":
                server.end_session()
            elif step in ("tws forgets", "tws remembers"):
                server.faults.no_completed_orders = step == "tws forgets"
            else:
                with _on_the_rebalance_day():
                    args = ("execute", "--live", "--yes", "--as-of", REBALANCE) if step == "execute" else (step,)
                    result = cli("--home", root, *args)
                # 2: refused (daily of a session not closed), nothing written
                assert result.code in (0, 2), (step, result, steps)
                assert "Traceback" not in result.err, (step, result.err)
        server.faults.no_completed_orders = False
        settled = _json(_run(cli, root, "pull", "--json"))
        at_the_fake = {o.order_ref: o for o in server.orders()}
        assert len(server.messages(In.PLACE_ORDER)) == len(at_the_fake) == 3, steps  # each planned order sent once
        ledger = {row["order_ref"]: row for row in _json(_run(cli, root, "orders", "--json"))}
        for ref, order in at_the_fake.items():
            expected = AT_THE_FAKE[order.status]
            if expected == "submitted" and order.filled:
                expected = "partially_filled"  # IB's working status, with shares filled
            assert ledger[ref]["status"] == expected, (ref, order.status, ledger[ref], steps)
            assert Decimal(ledger[ref]["filled_quantity"]) == order.filled, (ref, order, ledger[ref], steps)
        assert sorted(_rows(root, "SELECT exec_id FROM fills")) == sorted((x,) for x in server.execution_ids())
        assert settled["order_warnings"] == []
        _verify(cli, root)
    finally:
        server.stop()
