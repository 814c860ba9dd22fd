"""A demanding user's sequences on `trackrecord backtest` and on the BACKTEST workspace it
writes: the workspace refuses records that are not the replay's (exit 3, nothing written),
and the command refuses nonsense options in one line (exit 2) instead of a traceback or a
backtest of a cash account."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

SYMBOLS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
WINDOW = ("--from", "2019-03-01", "--to", "2019-06-30")


def write_market(folder: Path, first: date = date(2018, 1, 1), last: date = date(2019, 6, 30),
                 seed: int = 7) -> Path:
    """A random-walk <SYMBOL>.csv (date,adj_close) for each us-sectors instrument, one bar a
    XNYS session from ``first`` to ``last``."""
    from trackrecord.market.calendar import open_calendar

    folder.mkdir(parents=True, exist_ok=True)
    sessions = [d.astype(date) for d in open_calendar("XNYS", start=first).sessions_between(first, last)]
    rng = np.random.default_rng(seed)
    for index, symbol in enumerate(SYMBOLS):
        drift = 0.0002 * (index - 4)
        closes = 50.0 * np.exp(np.cumsum(rng.normal(drift, 0.01, len(sessions))))
        lines = ["date,adj_close"] + [f"{day},{close:.4f}" for day, close in zip(sessions, closes)]
        (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("market") / "prices")


@pytest.fixture
def home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    return root


def events(cli, home: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", home, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


@pytest.fixture(scope="module")
def backtest(tmp_path_factory: pytest.TempPathFactory, market: Path) -> Path:
    """A workspace and a backtest of it (module-wide: the refusal tests only read it)."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("bt")
    home, out = root / "ws", root / "out"
    assert run(["init", str(home), "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv"]) == 0
    assert run(["--home", str(home), "backtest", *WINDOW, "--prices-dir", str(market), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name, arguments", [
    ("cashflow add", ("--date", "2019-07-01", "--amount", "5000")),
    ("execute", ()),
    ("daily", ()),
    ("snapshot", ()),
    ("pull", ()),
    ("prices update", ()),
    ("prices import", ("PRICES",)),
    ("import fills", ("fills.csv",)),
    ("kill-switch activate", ("testing",)),
    ("annotate monthly", ("2019-05",)),
])
def test_a_backtest_workspace_refuses_records_that_are_not_the_replays(backtest: Path, market: Path, cli,  # type: ignore[no-untyped-def]
                                                                       name: str, arguments: tuple[str, ...]) -> None:
    before = events(cli, backtest)
    argv = [*name.split(), *(str(market) if a == "PRICES" else a for a in arguments)]
    refused = cli("--home", backtest, *argv)
    assert refused.code == 3, refused
    assert "is a BACKTEST workspace" in refused.err and f"`{name}` would mix records" in refused.err, refused.err
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert events(cli, backtest) == before, "nothing written"


def test_the_kill_switch_as_typed_at_a_shell_refuses_a_backtest_too(backtest: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The console script answers `kill-switch activate` on a fast path of its own, outside
    the command line's refusals: it wrote a kill-switch change into the BACKTEST (exit 0)."""
    import subprocess
    import sys

    before = events(cli, backtest)
    typed = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(backtest), "kill-switch", "activate",
                            "testing"], capture_output=True, text=True, timeout=120)
    assert typed.returncode == 3, (typed.stdout, typed.stderr)
    assert "is a BACKTEST workspace" in typed.stderr and len(typed.stderr.strip().splitlines()) == 1, typed.stderr
    assert events(cli, backtest) == before, "nothing written"


def test_the_dashboard_of_a_backtest_neither_halts_it_nor_calls_it_stale(backtest: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The dashboard's one write goes to the ledger without the command line: the page does
    not offer it, and the ledger itself refuses it (409, nothing written) instead of a
    kill-switch change in the replay."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tests.integration.dashboard_support import fixed_clock
    from trackrecord.bootstrap import connect
    from trackrecord.dashboard.app import create_app
    from trackrecord.dashboard.security import Guard
    from trackrecord.workspace import open_workspace

    before = events(cli, backtest)
    guard, services = Guard(None), connect(open_workspace(backtest))
    try:
        with TestClient(create_app(services, guard, fixed_clock), base_url="http://127.0.0.1:5050",
                        follow_redirects=False) as http:
            page = http.get("/").text
            assert 'id="kill-switch-form"' not in page and "its ledger takes no kill-switch change" in page
            # it said "Data is stale" and offered a next rebalance in 2026 for a replay of 2019
            assert 'id="stale-warning"' not in page and "so it is never stale" in page
            assert 'id="next-rebalance"' not in page and "a backtest ends with its last replayed session" in page
            assert http.get("/healthz").json()["status"] == "ok"
            # the form is not offered; a request made by hand (a valid token, the word) reaches the ledger
            response = http.post("/kill-switch/activate", headers={"sec-fetch-site": "same-origin"},
                                 data={"reason": "by hand", "confirm": "HALT", "csrf": guard.csrf_token(None)})
    finally:
        services.close()
    assert response.status_code == 409, response.text
    assert "BACKTEST" in response.json()["detail"] and "nothing was written" in response.json()["detail"]
    assert events(cli, backtest) == before


def test_the_ledger_of_a_backtest_takes_only_signatures_commitments_and_reports(backtest: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The rule where records are written, for every kind, whoever offers it (a script over
    the services, a command added later): only what showing the backtest writes goes in."""
    from trackrecord.bootstrap import connect
    from trackrecord.errors import SafetyRefusal
    from trackrecord.ledger.backtest_mark import SHOWING_KINDS
    from trackrecord.ledger.operations import checkpoint
    from trackrecord.workspace import open_workspace

    from trackrecord.cli.ledger_commands import known_kinds

    before = events(cli, backtest)
    services = connect(open_workspace(backtest))
    try:
        for kind in sorted(known_kinds() - SHOWING_KINDS):
            with pytest.raises(SafetyRefusal, match=f"a `{kind}` record that is not the replay's"):
                services.ledger.append(kind, {"account_id": "SIM0001"})
            with pytest.raises(SafetyRefusal):
                services.ledger.append_many([("checkpoint.signed", {}), (kind, {})])
        assert events(cli, backtest) == before, "nothing written"
        checkpoint(services.ledger, services.workspace.private_key_path)
    finally:
        services.close()
    log = json.loads(cli("--home", backtest, "ledger", "log", "--json").out)
    assert len(log) == before + 1 and log[-1]["kind"] == "checkpoint.signed"
    assert cli("--home", backtest, "verify").code == 0


def test_the_signal_of_a_backtest_is_a_what_if_never_a_record(backtest: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Today's `signal` and `rebalance` have no prices in a backtest: they failed the quality
    gate with "prices update / prices import", which the workspace refuses. They now point to
    --as-of; `signal --as-of` and `rebalance --as-of` only show, and answer there."""
    before = events(cli, backtest)
    for command in ("signal", "rebalance"):
        refused = cli("--home", backtest, command)
        assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1, refused
        assert f"its prices end with its replay on 2019-06-28, so there is no `{command}` of today there" in \
            refused.err and f"`{command} --as-of 2019-06-28`" in refused.err, refused.err
    assert cli("--home", backtest, "signal", "--as-of", "2019-05-01").code == 0
    shown = cli("--home", backtest, "rebalance", "--as-of", "2019-05-01", "--cash", "100000")
    assert shown.code == 0 and "Risk: approved" in shown.out, shown
    assert events(cli, backtest) == before


def test_a_backtest_workspace_still_answers_every_reading_command(backtest: Path, cli) -> None:  # type: ignore[no-untyped-def]
    for command in (("stats",), ("trades",), ("slippage",), ("verify",), ("orders",), ("cashflow", "list"),
                    ("kill-switch", "status"), ("prices", "show", "XLK")):
        result = cli("--home", backtest, *command)
        assert result.code == 0, (command, result)


def test_jobs_on_a_backtest_offer_no_next_run(backtest: Path, home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The scheduler and run-job refuse a backtest: `jobs` there listed next runs in 2026 that
    nothing would ever run."""
    shown = cli("--home", backtest, "jobs")
    assert shown.code == 0 and "none for a BACKTEST workspace" in shown.out and " 20" not in shown.out.split("\n", 1)[1]
    document = json.loads(cli("--home", backtest, "jobs", "--json").out)
    assert document["backtest"] is True
    assert all(job["next_run"] is None and job["enabled"] is False for job in document["jobs"])
    live = json.loads(cli("--home", home, "jobs", "--json").out)
    assert live["backtest"] is False and any(job["next_run"] for job in live["jobs"])


def test_the_weekly_report_of_a_backtest_is_of_its_last_week(backtest: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """With no --week it was the calendar's last complete week (2026), where a backtest has
    no snapshot: exit 2. Its default is now the backtest's own last complete week."""
    copy = tmp_path / "copy"
    shutil.copytree(backtest, copy)
    made = cli("--home", copy, "weekly-report", "--json")
    assert made.code == 0, made
    document = json.loads(made.out)
    last = date.fromisoformat(json.loads(cli("--home", copy, "stats", "--json").out)["period"]["end"])
    first_day = date.fromisoformat(document["from"])
    assert first_day <= last and (last - first_day).days < 14, (document, last)
    assert document["label"] == "SIMULATED BACKTEST"
    assert document["next_rebalance"] is None, "the backtest ends before it: no rebalance will follow"
    assert cli("--home", copy, "weekly-report", "--verify", document["path"]).code == 0
    inside = json.loads(cli("--home", copy, "weekly-report", "--week", "2019-W15", "--json").out)
    assert inside["next_rebalance"] == "2019-05-01", "within the record its next rebalance is one it made"


def test_the_live_workspace_still_takes_a_cash_flow_after_a_backtest(backtest: Path, home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", home, "cashflow", "add", "--date", "2025-01-02", "--amount", "5").code == 0


@pytest.mark.parametrize("option, value, message", [
    ("--cash", "1e30", "--cash '1e30': expected at most 1,000,000,000,000"),
    ("--commission-bps", "20000", "--commission-bps '20000': expected at most 1,000"),
    ("--slippage-bps", "10000", "--slippage-bps '10000': expected at most 1,000"),
    ("--cash", "10000000", "exceed risk.max_order_value 250,000, so risk would refuse every rebalance"),
])
def test_nonsense_amounts_are_refused_in_one_line_before_anything_is_written(home: Path, market: Path, cli,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path, option: str, value: str,
                                                                             message: str) -> None:
    before = events(cli, home)
    refused = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out",
                  option, value)
    assert refused.code == 2, refused
    assert message in refused.err and len(refused.err.strip().splitlines()) == 1, refused.err
    assert events(cli, home) == before and not (tmp_path / "out").exists()


def test_cash_given_with_an_exponent_is_recorded_and_shown_in_full(home: Path, market: Path, cli,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out",
                 "--cash", "2e5", "--json")
    assert result.code == 0, result
    assert json.loads(result.out)["cash"] == "200000"
    created = json.loads(cli("--home", tmp_path / "out", "ledger", "log", "--json").out)[0]
    assert created["payload"]["backtest"]["cash"] == "200000"


def test_a_backtest_too_small_to_buy_a_share_says_it_never_traded(home: Path, market: Path, cli,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    """--cash 0.01 ran four rebalances without an order and reported +0.00 %, unexplained."""
    shown = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out",
                "--cash", "0.01")
    assert shown.code == 0, shown
    said = "none of the 4 rebalances placed an order: at --cash 0.01 no position's share buys one whole share"
    assert f"note: {said}" in " ".join(shown.out.split()), shown.out
    document = json.loads(cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out",
                              tmp_path / "out", "--cash", "0.01", "--json").out)
    assert document["orders"] == 0 and any(said in note for note in document["notes"])
    traded = json.loads(cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out",
                            tmp_path / "out", "--json").out)
    assert traded["orders"] > 0 and traded["notes"] == []


def test_verify_on_a_backtest_says_what_the_record_is(backtest: Path, home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("--home", backtest, "verify")
    assert shown.code == 0 and shown.out.startswith("record: SIMULATED | BACKTEST"), shown
    document = json.loads(cli("--home", backtest, "verify", "--json").out)
    assert document["ok"] and document["simulated"] is True and document["backtest"] is True
    live = json.loads(cli("--home", home, "verify", "--json").out)
    assert "backtest" not in live and "SIMULATED" not in cli("--home", home, "verify").out


def test_the_orders_of_a_backtest_say_simulated_backtest(backtest: Path, home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("--home", backtest, "orders")
    assert shown.code == 0 and "Orders (latest first) | SIMULATED | BACKTEST" in shown.out, shown
    assert "BACKTEST" not in cli("--home", home, "orders").out


def test_a_backtest_bundle_says_it_is_a_backtest_to_whoever_verifies_it(backtest: Path, home: Path, cli,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path) -> None:
    """A recipient of a backtest's bundle must not take it for a track record: the export and
    the offline verify say SIMULATED | BACKTEST, from the hash chain's first event."""
    import shutil

    copy = tmp_path / "bt"
    shutil.copytree(backtest, copy)  # the export signs a checkpoint: the module's backtest stays as it was
    exported = cli("--home", copy, "export", "bundle", tmp_path / "bt.zip")
    assert exported.code == 0 and exported.out.startswith("record: SIMULATED | BACKTEST"), exported
    shown = cli("verify", tmp_path / "bt.zip")
    assert shown.code == 0 and shown.out.startswith("record: SIMULATED | BACKTEST"), shown
    document = json.loads(cli("verify", tmp_path / "bt.zip", "--json").out)
    assert document["ok"] and document["simulated"] is True and document["backtest"] is True

    assert cli("--home", home, "cashflow", "add", "--date", "2019-03-01", "--amount", "5000").code == 0
    live = cli("--home", home, "export", "bundle", tmp_path / "live.zip")
    assert live.code == 0 and "BACKTEST" not in live.out, live
    assert "BACKTEST" not in cli("verify", tmp_path / "live.zip").out
    assert "backtest" not in json.loads(cli("verify", tmp_path / "live.zip", "--json").out)
