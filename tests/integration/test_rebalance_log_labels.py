"""The engine's log names a simulated market: a backtest's orders are not a paper account's."""

from __future__ import annotations

from pathlib import Path


def test_a_backtests_order_lines_in_the_log_say_simulated(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", home, "--prices", "synthetic").code == 0
    result = cli("--home", home, "backtest", "--from", "2025-09-01", "--to", "2025-10-31", "--provider", "synthetic",
                 "--out", tmp_path / "bt")
    assert result.code == 0, result
    lines = [line for path in (home / "logs", tmp_path / "bt" / "logs") if path.is_dir()
             for log in path.glob("*.log") for line in log.read_text().splitlines()]
    sending = [line for line in lines if "trackrecord.engine.rebalance: sending " in line]
    plans = [line for line in lines if "trackrecord.engine.rebalance: plan " in line]
    assert sending and plans, lines[-5:]
    assert all(line.endswith("(paper, SIMULATED)") for line in sending), sending[:3]
    assert all("(paper, SIMULATED)" in line for line in plans), plans[:3]


def test_a_backtest_logs_into_its_own_workspace_not_the_live_one(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 25-year backtest writes ~1,400 plan and order lines: in the live workspace's log they
    would rotate its operating history away. The live log gets one line saying where they went."""
    home = tmp_path / "ws"
    assert cli("init", home, "--prices", "synthetic").code == 0
    assert cli("--home", home, "backtest", "--from", "2025-09-01", "--to", "2025-10-31", "--provider", "synthetic",
               "--out", tmp_path / "bt").code == 0
    live = (home / "logs" / "trackrecord.log").read_text()
    own = (tmp_path / "bt" / "logs" / "trackrecord.log").read_text()
    assert "trackrecord.engine.rebalance: sending " in own and "trackrecord.engine.rebalance" not in live
    assert f"into {tmp_path / 'bt'}: its log is there" in live
    import logging

    files = [h.baseFilename for h in logging.getLogger("trackrecord").handlers if hasattr(h, "baseFilename")]
    assert files == [str(home / "logs" / "trackrecord.log")], "after the replay, the live log again"
