"""A report, a weekly report, `stats` and `trades` match the record's fills FIFO once each (the
periods of a report share one matching), and the dashboard, which lives long, matches a record
that has grown afresh: a new fill is in its very next trades and stats documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.demo_support import make_demo
from trackrecord.analytics import trades

NOW = "2026-11-02T12:00:00Z"
HEADER = "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,commission_currency\n"
NAVS = "date,nav\n2026-01-05,100000\n2026-01-06,100500\n2026-01-07,100200\n2026-01-12,100300\n2026-01-13,100400\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "matched-once", NOW, 3)


@pytest.fixture
def matchings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many fills each FIFO matching of this test was given."""
    done: list[int] = []
    real = trades._match_fifo

    def counted(fills: Any, marks: Any) -> Any:
        done.append(len(fills))
        return real(fills, marks)

    monkeypatch.setattr(trades, "_match_fifo", counted)
    return done


@pytest.mark.parametrize("command", [
    ("report", "2026-07"),
    ("weekly-report", "--week", "2026-W27"),
    ("stats",),
    ("stats", "2026-01-01", "2026-06-30"),
    ("trades",),
])
def test_one_command_matches_the_records_fills_once(cli, demo: Path, matchings: list[int],  # type: ignore[no-untyped-def]
                                                    monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", NOW)
    result = cli("--home", demo, *command, "--json")
    assert result.code == 0, result
    assert len(matchings) == 1 and matchings[0] > 0, matchings


def _import_fills(cli, root: Path, folder: Path, rows: str) -> None:  # type: ignore[no-untyped-def]
    path = folder / "fills.csv"
    path.write_text(HEADER + rows)
    assert cli("--home", root, "import", "fills", path).code == 0


def test_the_dashboard_shows_a_fill_recorded_while_it_runs(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tests.integration.dashboard_support import open_app

    navs = tmp_path / "navs.csv"
    navs.write_text(NAVS)
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0
    _import_fills(cli, workspace, tmp_path, "B1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10.00,10.00,,1.00,GBP\n"
                                            "B2,2026-01-06T16:35:00Z,SXLK,ETF,SELL,10,10.20,10.20,,1.00,GBP\n")
    with open_app(workspace) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        def documents() -> tuple[dict[str, Any], dict[str, Any]]:
            return http.get("/api/v1/stats").json(), http.get("/api/v1/trades").json()

        stats, trades_before = documents()
        assert stats["trades"]["round_trips"] == 1 and trades_before["summary"]["round_trips"] == 1
        _import_fills(cli, workspace, tmp_path, "W1,2026-01-07T16:35:00Z,SXLE,ETF,BUY,3,20.00,20.10,,0.10,GBP\n"
                                                "W2,2026-01-12T16:35:00Z,SXLE,ETF,SELL,3,20.30,20.30,,0.10,GBP\n")
        stats, trades_after = documents()
        assert stats["trades"]["round_trips"] == 2 and trades_after["summary"]["round_trips"] == 2
        assert trades_after == json.loads(cli("--home", workspace, "trades", "--json").out)
