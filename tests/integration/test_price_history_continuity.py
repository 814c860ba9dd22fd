"""A record continued after it was made keeps one price history: the demo trades on the
bars its workspace's own source produces, and a source whose raw closes disagree with the
stored history is refused instead of silently revaluing every past snapshot."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest


@pytest.fixture
def demo(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "demo"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-30T18:00:00Z")  # the demo ends the session before the tests' next day
    assert cli("demo", root, "--years", "1", "--seed", "3").code == 0
    return root


def _bars(root: Path) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(root / "trackrecord.db") as conn:
        return conn.execute("SELECT symbol, session_date, close, adj_close FROM prices ORDER BY 1, 2").fetchall()


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(cli("--home", root, "ledger", "log", "--json").out))


def test_the_next_days_run_after_a_demo_continues_the_demos_market(cli, demo: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    before = _bars(demo)
    last = json.loads(cli("--home", demo, "stats", "--json").out)["period"]["end"]
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T17:00:00Z")
    result = cli("--home", demo, "daily", "--json")
    assert result.code == 0, result
    after = _bars(demo)
    assert [b for b in after if b[1] <= last] == before, "no stored bar of the demo's history changed"
    assert len(after) > len(before)
    navs = {s["session_date"]: float(s["nav"]) for s in _snapshots(demo)}
    days = sorted(navs)
    assert abs(navs[days[-1]] / navs[days[-2]] - 1) < 0.1, "one day's move of a three-ETF book, not a new market"


def _snapshots(root: Path) -> list[dict]:  # type: ignore[type-arg]
    with sqlite3.connect(root / "trackrecord.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT session_date, nav FROM snapshots ORDER BY session_date")]


def test_a_source_that_disagrees_with_the_stored_history_is_refused(cli, demo: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = demo / "trackrecord.yaml"
    config.write_text(config.read_text().replace("synthetic_seed: 3", "synthetic_seed: 4"))
    before, events = _bars(demo), _events(cli, demo)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T17:00:00Z")
    result = cli("--home", demo, "prices", "update")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "raw closes disagree" in result.err and "--replace" in result.err
    assert _bars(demo) == before and _events(cli, demo) == events


@pytest.mark.slow
def test_a_demo_longer_than_the_default_market_runs_and_its_next_day_continues_it(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, monkeypatch) -> None:
    """``demo --years 11`` and above (the CLI allows 30) needed bars before the synthetic
    market's default first session (2015-01-01) and failed with a KeyError traceback: the
    demo's market now reaches back as far as its lookback needs, and says so in its
    configuration, so the next day's update produces the same market."""
    root = tmp_path / "demo"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-30T18:00:00Z")
    made = cli("demo", root, "--years", "12", "--seed", "3")
    assert made.code == 0 and "ledger OK" in made.out, made
    first = _snapshots(root)[0]["session_date"]
    assert first < "2014-12-31", first
    before = _bars(root)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T17:00:00Z")
    assert cli("--home", root, "daily", "--json").code == 0
    assert [b for b in _bars(root) if b[1] <= before[-1][1]] == [b for b in before], "no stored bar changed"
