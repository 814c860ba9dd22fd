"""calendar, prices, signal and rebalance as a user runs them (in-process CLI)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import CliResult


@pytest.fixture
def synthetic(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "demo"
    assert cli("init", root, "--prices", "synthetic").code == 0
    text = (root / "trackrecord.yaml").read_text().replace('history_start: "2015-01-01"', 'history_start: "2022-01-01"')
    (root / "trackrecord.yaml").write_text(text)
    result = cli("--home", root, "prices", "update")
    assert result.code == 0, result
    return root


def _json(result: CliResult):  # type: ignore[no-untyped-def]
    assert result.code == 0, result
    return json.loads(result.out)


def test_calendar_shows_next_sessions_and_the_rebalance_session(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    document = _json(cli("--home", workspace, "calendar", "--json"))
    assert document["calendar"] == "XLON" and document["timezone"] == "Europe/London"
    assert len(document["next_sessions"]) == 5
    first = date.fromisoformat(document["next_sessions"][0]["date"])
    rebalance = date.fromisoformat(document["next_rebalance_session"])
    assert rebalance >= first and rebalance.day <= 7
    assert document["next_sessions"][0]["close"].endswith(("16:30:00+00:00", "16:30:00+01:00", "12:30:00+00:00"))
    text = cli("--home", workspace, "calendar")
    assert text.code == 0 and "Next rebalance session" in text.out


def test_synthetic_prices_are_labelled_simulated_everywhere(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = _json(cli("--home", synthetic, "prices", "show", "SXLK", "--json"))
    assert shown["simulated"] is True and shown["sources"][0]["source"] == "synthetic" and shown["bars"] > 1000
    signal = _json(cli("--home", synthetic, "signal", "--json"))
    assert signal["simulated"] is True and sum(e["target_weight"] > 0 for e in signal["ranks"]) == 3
    text = cli("--home", synthetic, "signal")
    assert text.out.startswith("SIMULATED") and "MOMENTUM SIGNAL - rebalance" in text.out
    assert "Rank  Symbol  Sector" in text.out
    assert cli("--home", synthetic, "prices", "show", "SXLK").out.startswith("SIMULATED")


def test_update_is_incremental_and_recorded(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    again = _json(cli("--home", synthetic, "prices", "update", "--json"))
    assert again["simulated"] is True and all(s["rows"] <= 1 for s in again["symbols"])  # only the overlap bar
    log = _json(cli("--home", synthetic, "ledger", "log", "--kind", "prices.updated", "--json"))
    assert len(log) == 2 and log[0]["payload"]["source"] == "synthetic" and len(log[0]["payload"]["sha256"]) == 64
    assert cli("--home", synthetic, "verify").code == 0


def test_top_n_override_and_the_json_shape(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    document = _json(cli("--home", synthetic, "signal", "--top-n", "2", "--json"))
    assert [e["target_weight"] for e in document["ranks"]][:3] == [0.5, 0.5, 0.0]
    assert document["params"]["top_n"] == 2


def test_rebalance_needs_a_snapshot_or_cash(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", synthetic, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    before = _json(cli("--home", synthetic, "ledger", "log", "--json"))
    refused = cli("--home", synthetic, "rebalance")
    assert refused.code == 2 and refused.err.count("\n") == 1
    assert "no account snapshot yet (a deposit is not one): pass --cash AMOUNT" in refused.err
    assert "`trackrecord snapshot`" in refused.err
    assert _json(cli("--home", synthetic, "ledger", "log", "--json")) == before
    plan = _json(cli("--home", synthetic, "rebalance", "--cash", "100000", "--json"))
    assert plan["simulated"] is True and [o["side"] for o in plan["orders"]] == ["BUY"] * 3
    assert all(len(o["order_ref"]) <= 40 and o["order_ref"].startswith(plan["plan_id"]) for o in plan["orders"])
    text = cli("--home", synthetic, "rebalance", "--cash", "100000")
    assert "REBALANCE PLAN" in text.out and "Orders (sells first)" in text.out
    kinds = [e["kind"] for e in _json(cli("--home", synthetic, "ledger", "log", "--json"))]
    assert not {"plan.created", "quality.checked", "signal.computed"} & set(kinds), "a preview records nothing"


def test_rebalance_uses_the_latest_snapshot(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from trackrecord.bootstrap import connect
    from trackrecord.ledger import events
    from trackrecord.workspace import open_workspace

    signal = _json(cli("--home", synthetic, "signal", "--json"))
    loser = signal["ranks"][-1]["symbol"]
    services = connect(open_workspace(synthetic))
    try:
        services.ledger.append(events.SNAPSHOT_RECORDED, {
            "account_id": "SIM0001", "session_date": "2026-01-02", "taken_at": datetime(2026, 1, 2, 17, tzinfo=timezone.utc),
            "base_currency": "GBP", "nav": "50000", "cash": "40000", "is_paper": False, "simulated": True,
            "positions": [{"symbol": loser, "quantity": "50"}],
        })
    finally:
        services.close()
    plan = _json(cli("--home", synthetic, "rebalance", "--json"))
    assert plan["portfolio_source"] == "snapshot SIM0001 2026-01-02"
    sells = [o for o in plan["orders"] if o["side"] == "SELL"]
    assert sells == [next(o for o in plan["orders"] if o["symbol"] == loser)] and sells[0]["quantity"] == "50"
    assert plan["orders"][0]["side"] == "SELL"


@pytest.mark.parametrize("args", [("signal", "--as-of", "2026-02-30"), ("rebalance", "--as-of", "yesterday"),
                                  ("signal", "--as-of", "2999-01-01"), ("rebalance", "--cash", "lots")])
def test_bad_input_is_exit_2_with_one_line(synthetic: Path, cli, args) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", synthetic, *args)
    assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1, result


def test_unknown_symbol_is_exit_2(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", synthetic, "prices", "show", "NOPE")
    assert result.code == 2 and "unknown symbol 'NOPE'" in result.err


def _write_pence_files(folder: Path, jump: str | None = None) -> None:
    from trackrecord.config import UniverseConfig
    from trackrecord.market.calendar import open_calendar
    from trackrecord.market.synthetic import generate_synthetic_history

    instruments = UniverseConfig().domain_instruments()
    sessions = open_calendar("XLON", start=date(2024, 1, 1)).sessions_between(date(2024, 6, 3), date(2026, 3, 13))
    folder.mkdir()
    for symbol, (dates, closes) in generate_synthetic_history(instruments, sessions, 11).items():
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        for day, pounds in zip(dates.astype(str), closes):
            pence = float(pounds) * 100 if not (symbol == "SXLE" and jump is not None and day >= jump) else float(pounds)
            lines.append(f"{day},{pence!r},{pence!r},{pence!r},{pence!r},{pence!r},1000")
        (folder / f"{symbol}.L.csv").write_text("\n".join(lines) + "\n")


def test_pence_files_import_as_pounds_and_a_times_100_jump_blocks_the_signal(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    good, bad = tmp_path / "good", tmp_path / "bad"
    _write_pence_files(good)
    _write_pence_files(bad, jump="2025-11-03")
    for name, folder in (("a", good), ("b", bad)):
        assert cli("init", tmp_path / name, "--prices", "csv").code == 0
        assert cli("--home", tmp_path / name, "prices", "import", folder).code == 0
    first = _json(cli("--home", tmp_path / "a", "prices", "show", "SXLE", "--json"))
    assert first["latest"][-1]["close"] < 1000  # pounds, not pence
    assert _json(cli("--home", tmp_path / "a", "signal", "--as-of", "2026-03-16", "--json"))["ranks"]
    blocked = cli("--home", tmp_path / "b", "signal", "--as-of", "2026-03-16")
    assert blocked.code == 1 and blocked.err.count("\n") == 1
    assert "gate daily_move failed for SXLE on 2025-11-03" in blocked.err and "pence" in blocked.err
    log = _json(cli("--home", tmp_path / "b", "ledger", "log", "--kind", "quality.checked", "--json"))
    assert log == [], "a what-if signal (--as-of) records nothing, not even its gate finding"


def test_a_second_import_of_the_same_files_adds_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "files"
    _write_pence_files(folder)
    assert cli("init", tmp_path / "w", "--prices", "csv").code == 0
    first = _json(cli("--home", tmp_path / "w", "prices", "import", folder, "--json"))
    second = _json(cli("--home", tmp_path / "w", "prices", "import", folder, "--json"))
    assert len(first["imported"]) == 9 and second["imported"] == {} and len(second["already_imported"]) == 9
    assert "already imported" in cli("--home", tmp_path / "w", "prices", "import", folder).out
    missing = cli("--home", tmp_path / "w", "prices", "import", tmp_path / "nowhere")
    assert missing.code == 2 and missing.err.count("\n") == 1


def test_missing_prices_block_the_signal_with_exit_1(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "signal", "--as-of", "2026-03-02")
    assert result.code == 1 and "gate missing failed for" in result.err


def test_update_refetches_a_history_whose_last_adjusted_close_moved_at_the_source(  # type: ignore[no-untyped-def]
        tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "files"
    _write_pence_files(folder)
    root = tmp_path / "w"
    assert cli("init", root, "--prices", "csv").code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('csv_dir: "prices"', f'csv_dir: "{folder}"')
                      .replace('history_start: "2015-01-01"', 'history_start: "2024-06-03"'))
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-03-13T18:00:00Z")
    assert _json(cli("--home", root, "prices", "update", "--json"))["refetched"] == []
    path = folder / "SXLE.L.csv"
    header, *lines = path.read_text().splitlines()
    rows = [line.split(",") for line in lines]
    for row in rows:  # a dividend: the source adjusts the whole history
        row[5] = repr(float(row[5]) * 0.98)
    path.write_text("\n".join([header, *(",".join(row) for row in rows)]) + "\n")
    assert _json(cli("--home", root, "prices", "update", "--json"))["refetched"] == ["SXLE"]
    assert _json(cli("--home", root, "prices", "update", "--json"))["refetched"] == []
