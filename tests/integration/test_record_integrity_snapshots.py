"""A snapshot states the account's value on a session (issue 8 item 3): never for an account
that was never funded, never at marks older than the session in paper mode, each position
with the date of its price, and a paper record kept or back-filled day by day with
``--as-of`` in session order. Sequences a trader types, in-process, clock fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.record_integrity import (
    DEPOSIT_DATE,
    IN_AUGUST,
    as_json,
    clock,
    copy_workspace,
    events,
    make_unfunded_paper,
    payloads,
    refused,
)

AFTER_THE_BARS = "2026-12-01T12:00:00Z"  # months after the last stored bar (2026-08-21)


@pytest.fixture(scope="module")
def unfunded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_unfunded_paper(tmp_path_factory.mktemp("snapshots") / "ws")


@pytest.fixture
def unfunded(unfunded_template: Path, tmp_path: Path) -> Path:
    return copy_workspace(unfunded_template, tmp_path / "ws")


@pytest.fixture
def invested(unfunded: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    """£100,000 deposited and invested at the July rebalance (back-dated, settled that evening)."""
    with clock(IN_AUGUST):
        assert cli("--home", unfunded, "cashflow", "add", "--date", DEPOSIT_DATE, "--amount", "100000").code == 0
        july = as_json(cli("--home", unfunded, "execute", "--as-of", "2026-07-01", "--json"))
    assert {o["status"] for o in july["orders"]} == {"filled"}
    return unfunded


def test_a_snapshot_of_an_account_never_funded_is_refused_and_stats_shows_no_loss(unfunded: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = len(events(cli, unfunded))
    with clock(IN_AUGUST):
        for args in (("snapshot",), ("snapshot", "--as-of", "2026-08-03")):
            message = refused(cli("--home", unfunded, *args), 2)
            assert "never been funded" in message and "cashflow add" in message
        assert len(events(cli, unfunded)) == before, "nothing written"
        refused(cli("--home", unfunded, "daily"), 2)
        assert payloads(cli, unfunded, "snapshot.recorded") == []
        stats = cli("--home", unfunded, "stats")
    assert stats.code == 2 and "-100" not in stats.out + stats.err, stats


def test_each_position_of_a_snapshot_carries_the_date_of_its_price(invested: Path, cli) -> None:  # type: ignore[no-untyped-def]
    [july] = payloads(cli, invested, "snapshot.recorded")
    assert july["session_date"] == "2026-07-01" and len(july["positions"]) == 3
    assert {p["price_date"] for p in july["positions"]} == {"2026-07-01"}


def test_a_paper_snapshot_at_marks_older_than_its_session_is_refused_naming_them(invested: Path, cli) -> None:  # type: ignore[no-untyped-def]
    held = sorted(p["symbol"] for p in payloads(cli, invested, "snapshot.recorded")[0]["positions"])
    before = len(events(cli, invested))
    with clock(AFTER_THE_BARS):
        message = refused(cli("--home", invested, "snapshot"), 2)
    assert "2026-11-30" in message and all(f"{symbol} 2026-08-21" in message for symbol in held), message
    assert "prices update" in message
    assert len(events(cli, invested)) == before, "nothing written"
    with clock(AFTER_THE_BARS):  # daily stores the missing bars first, then values the account at them
        daily = as_json(cli("--home", invested, "daily", "--json"))
    assert daily["session"] == "2026-11-30" and daily["snapshot_written"] is True
    latest = payloads(cli, invested, "snapshot.recorded")[-1]
    assert latest["session_date"] == "2026-11-30" and {p["price_date"] for p in latest["positions"]} == {"2026-11-30"}
    assert "stale_marks" not in latest


def test_a_paper_record_is_back_filled_day_by_day_in_session_order(invested: Path, cli) -> None:  # type: ignore[no-untyped-def]
    with clock(IN_AUGUST):
        assert as_json(cli("--home", invested, "daily", "--as-of", "2026-07-02", "--json"))["snapshot_written"]
        assert as_json(cli("--home", invested, "snapshot", "--as-of", "2026-07-06", "--json"))["written"]
        assert as_json(cli("--home", invested, "daily", "--as-of", "2026-07-07", "--json"))["snapshot_written"]
        before = len(events(cli, invested))
        message = refused(cli("--home", invested, "snapshot", "--as-of", "2026-07-03"), 2)
        assert "2026-07-07" in message
        refused(cli("--home", invested, "daily", "--as-of", "2026-07-04"), 2)  # not a session
        refused(cli("--home", invested, "snapshot", "--as-of", "2026-08-24"), 2)  # not closed yet
        assert len(events(cli, invested)) == before
        stats = as_json(cli("--home", invested, "stats", "--json"))
    snapshots = payloads(cli, invested, "snapshot.recorded")
    sessions = [s["session_date"] for s in snapshots]
    assert sessions == ["2026-07-01", "2026-07-02", "2026-07-06", "2026-07-07"]
    for snapshot in snapshots:  # each valued at its own session's closes
        assert {p["price_date"] for p in snapshot["positions"]} == {snapshot["session_date"]}
    assert len({s["nav"] for s in snapshots}) == 4
    assert stats["metrics"]["n_returns"] == 3
    assert stats["gaps"] == [{"from": "2026-07-03", "to": "2026-07-03", "sessions": 1}]


def test_a_snapshot_or_run_before_a_booked_deposit_is_refused(unfunded: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The simulated account books every recorded flow: valuing it on a session before the
    deposit's date would count money it did not have yet."""
    with clock(IN_AUGUST):
        assert cli("--home", unfunded, "cashflow", "add", "--date", "2026-07-01", "--amount", "100000").code == 0
        before = len(events(cli, unfunded))
        for args in (("snapshot", "--as-of", "2026-06-01"), ("daily", "--as-of", "2026-06-02"),
                     ("execute", "--as-of", "2026-06-01")):
            message = refused(cli("--home", unfunded, *args), 2)
            assert "2026-07-01" in message, message
        assert len(events(cli, unfunded)) == before, "nothing written"
        assert as_json(cli("--home", unfunded, "snapshot", "--as-of", "2026-07-01", "--json"))["nav"] == "100000"
        assert cli("--home", unfunded, "verify").code == 0


def test_a_paper_flow_already_in_recorded_valuations_cannot_be_voided_or_back_dated(invested: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The simulated account's cash follows the ledger's flows: voiding the deposit it traded
    with, or booking a flow before recorded snapshots, would revalue the account and show the
    flow as a loss or a gain. Only the latest session, whose snapshot is taken again, may change."""
    with clock(IN_AUGUST):
        assert as_json(cli("--home", invested, "daily", "--as-of", "2026-07-02", "--json"))["snapshot_written"]
        [deposit] = as_json(cli("--home", invested, "cashflow", "list", "--json"))
        before = len(events(cli, invested))
        message = refused(cli("--home", invested, "cashflow", "void", deposit["seq"], "--reason", "wrong"), 2)
        assert "2026-07-01" in message and "2026-07-02" in message, message
        refused(cli("--home", invested, "cashflow", "add", "--date", "2026-06-15", "--amount", "1000"), 2)
        assert len(events(cli, invested)) == before, "nothing written"
        assert cli("--home", invested, "cashflow", "add", "--date", "2026-07-02", "--amount", "1000").code == 0
        retaken = as_json(cli("--home", invested, "snapshot", "--as-of", "2026-07-02", "--json"))
        assert retaken["written"] is True
        stats = as_json(cli("--home", invested, "stats", "--benchmark", "none", "--json"))
    navs = {s["session_date"]: s["nav"] for s in payloads(cli, invested, "snapshot.recorded")}
    assert len(navs) == 2 and stats["metrics"]["n_returns"] == 1
    assert abs(stats["metrics"]["pnl"] - (float(navs["2026-07-02"]) - 1000 - float(navs["2026-07-01"]))) < 0.01
