"""The daily loss limit over gaps (issue 10 item 10): the rule compares the plan's NAV with the
last snapshot; when that snapshot is older than the previous session the decision says so and
uses the limit scaled to the gap (risk.daily_loss_limit × √sessions). A 12 % fall over a
month of monthly snapshots does not halt trading; the same fall over two sessions does."""

from __future__ import annotations

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

FALL = 0.12


@pytest.fixture(scope="module")
def june_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Paper, £100,000 invested at the June rebalance (snapshot of 2026-06-01)."""
    from trackrecord.cli.app import run

    root = make_funded_paper(tmp_path_factory.mktemp("loss") / "ws")
    with clock(IN_AUGUST):
        assert run(["--home", str(root), "execute", "--as-of", "2026-06-01"]) == 0
    return root


@pytest.fixture
def paper(june_template: Path, tmp_path: Path) -> Path:
    return copy_workspace(june_template, tmp_path / "ws")


@pytest.fixture(autouse=True)
def _august() -> Any:
    with clock(IN_AUGUST):
        yield


def _held(cli, root: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p["symbol"] for p in payloads(cli, root, "snapshot.recorded")[-1]["positions"])


def _lower(cli, root: Path, folder: Path, start: str, end: str) -> None:  # type: ignore[no-untyped-def]
    """Correct the held names' bars from ``start`` to ``end`` so that they fall by FALL in
    even steps (`prices import --replace`, recorded as prices.corrected)."""
    folder.mkdir()
    for symbol in _held(cli, root):
        bars = as_json(cli("--home", root, "prices", "show", symbol, "--last", "200", "--json"))["latest"]
        window = [b for b in bars if start <= b["date"] <= end]
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        for step, bar in enumerate(window, start=1):
            price = round(bar["close"] * (1 - FALL * step / len(window)) * 100, 4)  # the files are in pence (GBX)
            lines.append(f"{bar['date']},{price},{price},{price},{price},{price},1000")
        (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n")
    assert cli("--home", root, "prices", "import", folder, "--replace").code == 0


def _loss_rule(cli, root: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    decision = payloads(cli, root, "risk.decided")[-1]
    return next(r for r in decision["results"] if r["rule"] == "daily_loss_limit")


def test_a_fall_over_a_month_between_monthly_snapshots_is_held_to_the_scaled_limit(paper: Path, cli,  # type: ignore[no-untyped-def]
                                                                                   tmp_path: Path) -> None:
    _lower(cli, paper, tmp_path / "june", "2026-06-02", "2026-06-30")
    july = as_json(cli("--home", paper, "execute", "--as-of", "2026-07-01", "--json"))
    assert july["verdict"] == "approved", july
    rule = _loss_rule(cli, paper)
    assert rule["passed"] is True
    details = rule.get("details", rule)
    gap = int(details["gap_sessions"])
    assert gap > 20 and float(details["change"]) < -0.1, details  # the fall is seen, across the gap
    assert f"the last snapshot is {gap} sessions old" in rule["message"] and f"√{gap}" in rule["message"], rule
    status = as_json(cli("--home", paper, "kill-switch", "status", "--json"))
    assert status["state"] == "ACTIVE"


def test_the_same_fall_over_two_sessions_halts_trading(paper: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert as_json(cli("--home", paper, "execute", "--as-of", "2026-07-01", "--json"))["verdict"] == "approved"
    assert as_json(cli("--home", paper, "snapshot", "--as-of", "2026-07-30", "--json"))["written"]
    _lower(cli, paper, tmp_path / "july", "2026-07-31", "2026-07-31")
    before = len(payloads(cli, paper, "order.submitted"))
    message = refused(cli("--home", paper, "execute", "--as-of", "2026-08-03"), 3)
    assert "daily_loss" in message or "down" in message, message
    rule = _loss_rule(cli, paper)
    assert rule["passed"] is False and "2 sessions old" in rule["message"], rule
    assert len(payloads(cli, paper, "order.submitted")) == before, "nothing sent"
    assert as_json(cli("--home", paper, "kill-switch", "status", "--json"))["state"] == "HALTED"
    assert cli("--home", paper, "verify").code == 0
    assert events(cli, paper)[-1]["kind"] == "checkpoint.signed"
