"""The read-only notebook API (`trackrecord.open`): every call equals the CLI's `--json`
document for the same workspace and period, and nothing it does can write."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import trackrecord
from trackrecord.errors import UserError


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("api") / "demo"
    assert run(["demo", str(root), "--years", "1", "--seed", "5"]) == 0
    return root


def _cli_json(cli, home: Path, *args: str):  # type: ignore[no-untyped-def]
    result = cli("--home", home, *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _as_printed(document):  # type: ignore[no-untyped-def]
    """A document as `--json` prints it (dates, Decimals and NaN-free floats as JSON has them)."""
    from trackrecord.cli.context import print_json

    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_json(document)
    return json.loads(buffer.getvalue())


def test_every_document_equals_the_clis_json(cli, demo_home: Path) -> None:  # type: ignore[no-untyped-def]
    with trackrecord.open(demo_home) as ws:
        pairs = [
            (ws.stats(), ("stats",)),
            (ws.stats("2026-01-02", "2026-06-30"), ("stats", "2026-01-02", "2026-06-30")),
            (ws.stats(benchmark="none"), ("stats", "--benchmark", "none")),
            (ws.trades(), ("trades",)),
            (ws.trades("2026-03-01"), ("trades", "2026-03-01")),
            (ws.slippage(), ("slippage",)),
            (ws.cashflows(), ("cashflow", "list")),
            (ws.events(kind="fill.recorded"), ("ledger", "log", "--kind", "fill.recorded")),
            (ws.verify(), ("verify",)),
        ]
        for document, args in pairs:
            assert _as_printed(document) == _cli_json(cli, demo_home, *args), args


def test_the_series_are_the_stats_figures(cli, demo_home: Path) -> None:  # type: ignore[no-untyped-def]
    stats = _cli_json(cli, demo_home, "stats")
    with trackrecord.open(demo_home) as ws:
        assert ws.accounts() == [stats["account"]]
        navs, returns = ws.navs(), ws.returns()
        growth = float((1 + returns).prod() - 1)
        assert growth == pytest.approx(stats["metrics"]["total_return"], rel=1e-12)
        assert len(returns) == stats["metrics"]["n_returns"] == len(navs) - 1
        assert float(ws.drawdown().min()) == pytest.approx(stats["metrics"]["max_drawdown"], rel=1e-12)
        monthly = ws.returns(frequency="monthly")
        assert [str(p) for p in monthly.index] == [row["month"] for row in stats["monthly_returns"]]
        assert monthly.tolist() == [row["return"] for row in stats["monthly_returns"]]
        yearly = ws.returns(frequency="yearly")
        assert yearly.tolist() == [row["return"] for row in stats["yearly_returns"]]
        assert float(ws.benchmark().iloc[-1] - 1) == pytest.approx(stats["benchmark"]["total_return"], rel=1e-12)
        flows = ws.flows()
        assert flows["amount"].sum() == pytest.approx(sum(float(f["amount"]) for f in ws.cashflows()))
        fills = ws.fills()
        trades = _cli_json(cli, demo_home, "trades")
        assert fills["commission"].sum() == pytest.approx(trades["summary"]["commissions"], rel=1e-12)
        positions = ws.positions()
        assert positions.attrs["session"] == str(navs.index[-1].date())
        assert set(positions.index) == {p["symbol"] for p in trades["open_positions"]}


def test_positions_on_a_date_come_from_that_days_snapshot(demo_home: Path) -> None:
    with trackrecord.open(demo_home) as ws:
        first = ws.navs().index[0].date()
        assert ws.positions(on=first).attrs["session"] == first.isoformat()
        with pytest.raises(UserError, match="starts on"):
            ws.positions(on="1999-01-04")
        with pytest.raises(UserError, match="on"):
            ws.positions(on="31/12/2025")


def test_nothing_the_api_does_can_write_the_database(demo_home: Path) -> None:
    database = demo_home / "trackrecord.db"
    before = database.read_bytes()
    with trackrecord.open(demo_home) as ws:
        ws.stats(), ws.trades(), ws.slippage(), ws.verify(), ws.events(), ws.navs(), ws.flows(), ws.positions()
        with ws.services.engine.connect() as conn, pytest.raises(Exception, match="readonly|read-only|read only"):
            conn.exec_driver_sql("DELETE FROM events")
    assert database.read_bytes() == before


@pytest.mark.postgres
def test_on_postgresql_the_api_reads_in_read_only_transactions(cli, tmp_path: Path, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{pg_url}"'))
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n2026-01-30,100000\n2026-02-27,101000\n2026-03-31,99500\n2026-04-30,102000\n")
    assert cli("--home", root, "import", "snapshots", navs).code == 0
    with trackrecord.open(root) as ws:
        assert _as_printed(ws.stats()) == _cli_json(cli, root, "stats")
        assert ws.stats()["frequency"] == "monthly"
        assert ws.returns().index.size == 3
        with ws.services.engine.connect() as conn, pytest.raises(Exception, match="read-only transaction"):
            conn.exec_driver_sql("DELETE FROM events")


def test_a_monthly_imported_record_gives_monthly_returns(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n2025-10-31,100000\n2025-11-28,102000\n2025-12-31,101000\n2026-01-30,104000\n")
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0
    with trackrecord.open(workspace) as ws:
        stats = ws.stats()
        assert stats["frequency"] == "monthly" and stats["periods_per_year"] == 12
        assert ws.returns().round(6).tolist() == [0.02, round(101000 / 102000 - 1, 6), round(104000 / 101000 - 1, 6)]


def test_an_empty_workspace_says_what_to_do_next(workspace: Path) -> None:
    with trackrecord.open(workspace) as ws:
        assert ws.accounts() == [] and ws.cashflows() == []
        assert [e["kind"] for e in ws.events()][0] == "workspace.created"
        assert ws.verify()["ok"] is True
        with pytest.raises(UserError, match="no snapshots recorded yet"):
            ws.stats()
        with pytest.raises(UserError, match="no snapshots recorded yet"):
            ws.navs()


def test_a_missing_workspace_is_the_clis_one_line_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError) as raised:
        trackrecord.open(tmp_path / "nowhere")
    assert "\n" not in str(raised.value)
    assert str(raised.value) in cli("--home", tmp_path / "nowhere", "stats").err


def test_an_older_schema_is_refused_not_migrated(workspace: Path) -> None:
    database = workspace / "trackrecord.db"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0002'")
    before = database.read_bytes()
    with pytest.raises(UserError, match="revision 0002"):
        trackrecord.open(workspace)
    assert database.read_bytes() == before


def test_importing_trackrecord_opens_nothing() -> None:
    import subprocess
    import sys

    code = "import sys, trackrecord; print(sorted(m for m in ('sqlalchemy', 'pandas', 'trackrecord.api') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
