"""`trackrecord backtest` as a trader types it: a separate BACKTEST workspace, never the live
record; bad input refused in one line with nothing written; the throw-away database's
durability trade refused for a live or paper workspace."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.integration.test_backtest_agreement import open_wide

WINDOW = ("--from", "2024-01-01", "--to", "2024-04-30")


@pytest.fixture
def home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    open_wide(root)
    return root


@pytest.fixture
def prices(shared_data: Path) -> Path:
    return shared_data / "prices"


def events(cli, home: Path) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    result = cli("--home", home, "ledger", "log", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_backtest_writes_its_own_workspace_and_leaves_the_live_record_alone(cli, home: Path, prices: Path) -> None:  # type: ignore[no-untyped-def]
    before = events(cli, home)
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices)
    assert result.code == 0, result
    assert "BACKTEST | SIMULATED" in result.out
    out = home / "backtests" / "2024-01-01_2024-04-30"
    assert events(cli, home) == before
    created = events(cli, out)[0]
    assert created["kind"] == "workspace.created"
    assert created["payload"]["backtest"]["from"] == "2023-12-29"  # funded the session before its first rebalance
    assert created["payload"]["backtest"]["costs"] == {"commission_bps": "5.0000", "commission_min": "3",
                                                        "slippage_bps": "2"}  # the workspace's broker.sim
    assert cli("--home", out, "verify").code == 0
    stats = json.loads(cli("--home", out, "stats", "--json").out)
    assert stats["backtest"] is True and stats["simulated"] is True
    for command in ("stats", "trades", "slippage"):  # every table says what the record is
        table = cli("--home", out, command)
        assert table.code == 0 and "SIMULATED | BACKTEST" in table.out, table


def test_a_rerun_replaces_the_earlier_backtest_folder(cli, home: Path, prices: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bt"
    first = json.loads(cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out, "--json").out)
    again = cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out, "--json",
                "--no-costs", "--cash", "50000")
    assert again.code == 0, again
    second = json.loads(again.out)
    assert second["costs"] == {"commission_bps": "0", "commission_min": "0", "slippage_bps": "0"}
    assert first["stats"]["metrics"]["total_return"] != second["stats"]["metrics"]["total_return"]
    assert json.loads(cli("--home", out, "stats", "--json").out) == second["stats"]


def test_a_costly_backtest_states_the_return_its_equity_shows(cli, home: Path, prices: Path,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path) -> None:
    """At 100 bps a trade the first rebalance costs about 1 %: the record is funded the
    session before it, so those costs are inside the returns (the stated total return was
    +4.77 % where the equity had grown +3.71 %)."""
    out = tmp_path / "costly"
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out, "--json",
                 "--commission-bps", "100", "--cash", "100000")
    assert result.code == 0, result
    document = json.loads(result.out)
    total = document["stats"]["metrics"]["total_return"]
    assert abs(total - (float(document["final_nav"]) / 100_000 - 1)) < 1e-12
    assert document["from"] == "2023-12-29" and document["stats"]["trades"]["commissions"] > 1_000
    snapshots = json.loads(cli("--home", out, "ledger", "log", "--kind", "snapshot.recorded", "--json").out)
    base = snapshots[0]["payload"]
    assert base["session_date"] == "2023-12-29" and base["nav"] == base["cash"] == "100000"
    assert json.loads(cli("--home", out, "stats", "--json").out) == document["stats"]


def _benchmarked(home: Path, symbol: str) -> None:
    config = home / "trackrecord.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["performance"]["benchmark"] = symbol
    config.write_text(yaml.safe_dump(settings))


def test_a_backtest_is_measured_against_the_configured_benchmark_from_its_prices(  # type: ignore[no-untyped-def]
        cli, home: Path, prices: Path, tmp_path: Path) -> None:
    """performance.benchmark SPY: the backtest read SPY.csv beside the sector files and
    recorded it once the replay was done (no decision saw it); its stats had said
    "no stored prices for SPY"."""
    _benchmarked(home, "SPY")
    out = tmp_path / "spy"
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out, "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["stats"]["benchmark_name"] == "SPY" and document["notes"] == []
    with open(prices / "SPY.csv", newline="") as handle:
        closes = {row["date"]: float(row["adj_close"]) for row in csv.DictReader(handle)}
    expected = closes["2024-04-30"] / closes["2023-12-29"] - 1  # from the record's base to its last session
    assert document["stats"]["benchmark"]["total_return"] == pytest.approx(expected, rel=1e-6)
    updates = json.loads(cli("--home", out, "ledger", "log", "--kind", "prices.updated", "--json").out)
    assert updates[-1]["payload"]["purpose"] == "benchmark" and updates[-1]["payload"]["symbols"] == ["SPY"]
    last_decision = json.loads(cli("--home", out, "ledger", "log", "--kind", "signal.computed", "--json").out)[-1]
    assert updates[-1]["seq"] > last_decision["seq"]
    assert cli("--home", out, "verify").code == 0
    assert json.loads(cli("--home", out, "stats", "--json").out) == document["stats"]


def test_a_benchmark_without_prices_is_a_note_not_a_failure(cli, home: Path, prices: Path,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    _benchmarked(home, "SPY")
    folder = tmp_path / "sectors"
    folder.mkdir()
    for path in prices.glob("XL*.csv"):
        (folder / path.name).symlink_to(path)
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", folder, "--out", tmp_path / "bt", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["notes"] == [f"no SPY prices from {folder / 'SPY.csv'} on or before the record's base "
                                 "(2023-12-29): the backtest has no SPY benchmark"]
    assert document["stats"]["benchmark"] is None


def test_synthetic_provider_backtest_is_labelled_simulated(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", home, "backtest", "--from", "2019-01-01", "--to", "2019-06-30", "--provider", "synthetic",
                 "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["sessions"] > 100 and document["orders"] > 0
    assert document["stats"]["simulated"] and document["stats"]["backtest"]
    out = Path(document["workspace"]) if "workspace" in document else home / "backtests" / "2019-01-01_2019-06-30"
    report = cli("--home", out, "report", "2019-05", "--json")
    assert report.code == 0, report
    assert json.loads(report.out)["label"] == "SIMULATED BACKTEST", "the report says what stats says"
    # the month it was funded in, on its last session: no return yet, not "+0.00 %"
    funded = json.loads(cli("--home", out, "report", "2018-12", "--json").out)
    from pypdf import PdfReader

    text = PdfReader(funded["path"]).pages[0].extract_text()
    assert "The record begins at the close of 2018-12-31, its base: no return in this month yet." in \
        " ".join(text.split())
    assert "+0.00%" not in text and "n/a" in text


def test_a_synthetic_backtest_ends_at_the_last_close_not_in_a_drawn_future(  # type: ignore[no-untyped-def]
        cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic market draws any session asked for: a backtest `--to 2030-01-01` showed
    three years that have not happened. Its history ends at the last completed session."""
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-17T15:00:00Z")  # a Wednesday, before the New York close
    result = cli("--home", home, "backtest", "--from", "2026-01-01", "--to", "2030-01-01", "--provider", "synthetic",
                 "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["to"] == "2026-06-16"
    assert document["notes"] == ["--to 2030-01-01 is after the price history's last session (2026-06-16): "
                                 "the backtest ends there"]


@pytest.mark.parametrize("arguments, message", [
    (("--from", "2024-13-01", "--to", "2024-04-30"), "--from '2024-13-01': expected a date YYYY-MM-DD"),
    (("--from", "2024-05-01", "--to", "2024-04-30"), "--from 2024-05-01 is after --to 2024-04-30"),
    (("--from", "2016-01-01", "--to", "2016-01-03"), "no XNYS session between --from 2016-01-01 and --to 2016-01-03"),
    (("--from", "0001-01-01", "--to", "2026-01-01"), "--from 0001-01-01: expected a date between 1900-01-01 and"),
    (("--from", "9999-12-31", "--to", "9999-12-31"), "--from 9999-12-31: expected a date between 1900-01-01 and"),
    ((*WINDOW, "--provider", "bloomberg"), "--provider 'bloomberg': expected one of yahoo, csv, synthetic"),
    ((*WINDOW, "--provider", "csv", "--prices-dir", "PRICES"), "give one of them, not both"),
    ((*WINDOW, "--no-costs", "--commission-bps", "10"), "--no-costs with --commission-bps"),
    ((*WINDOW, "--cash", "-5"), "--cash '-5': expected a positive number"),
    ((*WINDOW, "--slippage-bps", "ten"), "--slippage-bps 'ten': expected a number"),
    (("--from", "1999-06-01", "--to", "2000-06-30"), "12-month lookback of the first rebalance (1999-06-01) needs "
                                                     "prices before 1998-06-01"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(cli, home: Path, prices: Path, arguments, message) -> None:  # type: ignore[no-untyped-def]
    before = events(cli, home)
    argv = [str(prices) if a == "PRICES" else a for a in arguments]
    if "--prices-dir" not in argv and "--provider" not in argv:
        argv += ["--prices-dir", str(prices)]
    result = cli("--home", home, "backtest", *argv)
    assert result.code == 2, result
    assert message in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    assert events(cli, home) == before
    assert not (home / "backtests").exists() or not any((home / "backtests").iterdir())


def test_a_folder_that_is_not_a_backtests_is_refused_untouched(cli, home: Path, prices: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    for out in (precious, home):  # any folder, and the live workspace itself
        listing = sorted(p.name for p in out.iterdir())
        result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out)
        assert result.code == 2, result
        assert "is not a backtest's" in result.err and len(result.err.strip().splitlines()) == 1
        assert sorted(p.name for p in out.iterdir()) == listing
    assert (precious / "notes.txt").read_text() == "mine"


def test_a_missing_prices_folder_is_refused(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", tmp_path / "nowhere")
    assert result.code == 2 and "--prices-dir" in result.err and "not a folder" in result.err


def test_skipping_the_sync_is_refused_for_a_paper_workspace(cli, home: Path, prices: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from trackrecord.bootstrap import connect
    from trackrecord.errors import SafetyRefusal
    from trackrecord.workspace import open_workspace

    paper = open_workspace(home)
    assert paper.settings.mode.value in ("dry_run", "paper")
    with pytest.raises(SafetyRefusal, match="not a backtest workspace"):
        connect(paper, durable=False)
    out = tmp_path / "bt"
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", prices, "--out", out).code == 0
    for root, durable, expected in ((home, True, 2), (out, False, 0)):  # FULL for the record, OFF for the backtest
        services = connect(open_workspace(root), durable=durable)
        try:
            with services.engine.connect() as conn:
                assert conn.execute(text("PRAGMA synchronous")).scalar() == expected
        finally:
            services.close()
