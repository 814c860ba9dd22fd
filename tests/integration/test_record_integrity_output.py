"""What a trader sees (issue 8 item 16): a filled order shows its fill price (execute and
orders), the orders table is never cut at 80 columns when piped, and `daily` on a rebalance
session whose signal the price gates block exits 3 and says so, while still recording the
broker's side of the day."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.record_integrity import (
    IN_AUGUST,
    as_json,
    clock,
    copy_workspace,
    events,
    make_funded_paper,
    payloads,
    refused,
)

SEPTEMBER_EVENING = "2026-09-01T19:00:00Z"  # after the close of 2026-09-01, September's rebalance session (XLON)


@pytest.fixture(scope="module")
def funded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_funded_paper(tmp_path_factory.mktemp("output") / "ws")


@pytest.fixture
def paper(funded_template: Path, tmp_path: Path) -> Path:
    return copy_workspace(funded_template, tmp_path / "ws")


def _average_fill_prices(fills: list[dict[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for fill in fills:
        quantity, value = totals.get(fill["order_ref"], (Decimal(0), Decimal(0)))
        totals[fill["order_ref"]] = (quantity + Decimal(fill["quantity"]),
                                     value + Decimal(fill["quantity"]) * Decimal(fill["price"]))
    return {ref: value / quantity for ref, (quantity, value) in totals.items()}


def test_a_filled_order_shows_its_fill_price_not_the_intended_one(paper: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: 80 columns
    with clock(IN_AUGUST):
        executed = cli("--home", paper, "execute", "--as-of", "2026-07-01")
    assert executed.code == 0, executed
    fills = _average_fill_prices(payloads(cli, paper, "fill.recorded"))
    intended = {o["order_ref"]: o["intended_price"] for o in payloads(cli, paper, "order.submitted")}
    assert len(fills) == 3 and all(Decimal(intended[ref]) != price for ref, price in fills.items())
    lines = [line for line in executed.out.splitlines() if line.strip().endswith(tuple(fills))]
    for ref, price in fills.items():
        [line] = [x for x in lines if x.endswith(ref)]
        assert f"filled @ {price.quantize(Decimal('0.0001'))}" in line and f"@ {intended[ref]} " not in line, line

    table = cli("--home", paper, "orders")
    assert table.code == 0 and "…" not in table.out, table.out
    assert all(len(line) <= 80 for line in table.out.splitlines()), table.out
    for ref, price in fills.items():
        [row] = [x for x in table.out.splitlines() if ref in x]
        assert f"{price.quantize(Decimal('0.0001'))}" in row and "filled" in row, row
    listed = {o["order_ref"]: o for o in as_json(cli("--home", paper, "orders", "--json"))}
    assert {ref: Decimal(listed[ref]["fill_price"]) for ref in fills} == {
        ref: price.quantize(Decimal(listed[ref]["fill_price"])) for ref, price in fills.items()}


def test_daily_on_a_rebalance_session_whose_gates_block_the_signal_exits_3(paper: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "SXLF.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2026-08-20,1.5,1.5,1.5,1.5,1.5,1000\n")
    with clock(SEPTEMBER_EVENING):
        assert cli("--home", paper, "prices", "import", folder, "--replace").code == 0
        before = len(payloads(cli, paper, "snapshot.recorded"))
        daily = cli("--home", paper, "daily")
        message = refused(daily, 3)
        assert "2026-09-01 is a rebalance session" in message and "gates" in message and "SXLF" in message, message
        assert len(payloads(cli, paper, "snapshot.recorded")) == before + 1, "the broker's side is still recorded"
        [finding] = [p for p in payloads(cli, paper, "quality.checked") if p["purpose"] == "signal"]
        assert finding["passed"] is False
        assert payloads(cli, paper, "plan.created") == [], "no plan, nothing sent"
        again = cli("--home", paper, "daily", "--json")  # the scheduler reruns it: the same answer
        assert again.code == 3, again
        assert cli("--home", paper, "verify").code == 0
        assert events(cli, paper, "checkpoint.signed")[-1]["seq"] == events(cli, paper)[-1]["seq"]
