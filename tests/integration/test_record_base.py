"""The record's base and the first trades, as a trader on the simulated paper account meets
them: a first rebalance filled on the session of the record's first snapshot leaves its
costs outside every return, and `stats` says so; funding and snapshotting the session before
counts them, and the warning goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def paper(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('mode: "dry_run"', 'mode: "paper"', 1))
    assert cli("--home", root, "prices", "update").code == 0
    return root


def _stats(cli, root: Path) -> dict:  # type: ignore[no-untyped-def, type-arg]
    result = cli("--home", root, "stats", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_a_base_taken_after_the_first_trades_is_named_with_its_remedy(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-06-01", "--amount", "100000").code == 0
    assert cli("--home", paper, "execute", "--as-of", "2026-06-01").code == 0
    document = _stats(cli, paper)
    assert document["period"]["base_date"] == "2026-06-01"
    [warning] = document["warnings"]
    assert "the snapshot of 2026-06-01, was taken after 3 fill(s) of that session" in warning
    assert "outside the returns" in warning
    shown = cli("--home", paper, "stats")
    assert "Warning: the record's base" in shown.out
    # a later period's base is a snapshot after those trades: nothing to warn about there
    assert cli("--home", paper, "snapshot", "--as-of", "2026-06-02").code == 0
    later = json.loads(cli("--home", paper, "stats", "2026-06-02", "--json").out)
    assert later["warnings"] == []


def test_funding_and_snapshotting_the_session_before_counts_the_first_costs(paper: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    assert cli("--home", paper, "snapshot", "--as-of", "2026-05-29").code == 0
    assert cli("--home", paper, "execute", "--as-of", "2026-06-01").code == 0
    document = _stats(cli, paper)
    assert document["warnings"] == [] and document["period"]["base_date"] == "2026-05-29"
    snapshots = json.loads(cli("--home", paper, "ledger", "log", "--kind", "snapshot.recorded", "--json").out)
    nav = float(snapshots[-1]["payload"]["nav"])
    assert nav < 100_000, "the first rebalance paid commissions"
    assert document["metrics"]["total_return"] == pytest.approx(nav / 100_000 - 1, abs=1e-12)



FILLS = ("trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,"
         "commission_currency\nB1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10.00,10.00,,1.00,GBP\n")


@pytest.mark.parametrize("first_snapshot, warned", [("2026-01-05", True), ("2026-01-06", False)])
def test_only_fills_of_the_base_session_itself_are_warned_about(cli, tmp_path: Path, first_snapshot: str,  # type: ignore[no-untyped-def]
                                                                warned: bool) -> None:
    """An imported history whose snapshots start after its first fills: those trades are
    simply before the record, not a base taken after its own session's trades."""
    root = tmp_path / "imported"
    assert cli("init", root).code == 0
    (tmp_path / "fills.csv").write_text(FILLS)
    (tmp_path / "nav.csv").write_text(f"date,nav\n{first_snapshot},1000\n2026-01-07,1010\n")
    assert cli("--home", root, "import", "fills", tmp_path / "fills.csv").code == 0
    assert cli("--home", root, "import", "snapshots", tmp_path / "nav.csv").code == 0
    warnings = _stats(cli, root)["warnings"]
    assert bool(warnings) is warned and all("fill(s) of that session" in w for w in warnings)
