"""The simulated paper account follows the ledger's cash flows: killed after the commit, recorded
in dry run, voided, or written by several processes at once, its cash equals the ledger's."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

REBALANCE = "2026-06-01"
AFTER_COMMIT = "cashflow_add:after_commit"


def _trackrecord(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def _configure(root: Path, mode: str, database_url: str | None = None) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE)
    text = text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"')
    if database_url is not None:
        text = text.replace("  url: null", f'  url: "{database_url}"')
    config.write_text(text)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paper workspace with synthetic prices and no cash yet."""
    root = tmp_path_factory.mktemp("template") / "ws"
    subprocess.run([sys.executable, "-m", "trackrecord", "init", str(root), "--prices", "synthetic"], check=True,
                   capture_output=True, timeout=120)
    _configure(root, "paper")
    assert _trackrecord(root, "prices", "update").returncode == 0
    return root


@pytest.fixture
def paper(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def _flows(root: Path) -> list[dict[str, object]]:
    result = _trackrecord(root, "cashflow", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _ledger_cash(root: Path) -> Decimal:
    return sum((Decimal(str(f["amount"])) for f in _flows(root) if f["voided_by"] is None), start=Decimal(0))


def _sim_cash_rows(root: Path, url: str | None = None) -> list[tuple[str, str | None]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url or f"sqlite:///{root / 'trackrecord.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT amount, flow_key FROM sim_cash ORDER BY id"))]
    finally:
        engine.dispose()


def _sim_cash(root: Path, url: str | None = None) -> Decimal:
    return sum((Decimal(amount) for amount, _ in _sim_cash_rows(root, url)), start=Decimal(0))


def _snapshot_nav(root: Path) -> Decimal:
    result = _trackrecord(root, "snapshot", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return Decimal(str(document.get("nav", document.get("net_liquidation"))))


@pytest.mark.slow
def test_a_deposit_killed_after_its_commit_reaches_the_paper_account_once(paper: Path) -> None:
    args = ("cashflow", "add", "--date", "2026-05-29", "--amount", "100000")
    crashed = _trackrecord(paper, *args, env={"TRACKRECORD_CRASH_AT": AFTER_COMMIT})
    assert crashed.returncode == -9, crashed.stderr
    assert _ledger_cash(paper) == 100000 and _sim_cash_rows(paper) == []
    rerun = _trackrecord(paper, *args)  # what a user does after a crash: refused, naming the recorded flow
    assert rerun.returncode == 2 and "--again" in rerun.stderr and "seq" in rerun.stderr
    result = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["orders"]) == 3  # planned on the 100,000 the ledger holds
    assert _sim_cash(paper) == _ledger_cash(paper) == 100000
    assert [key for _, key in _sim_cash_rows(paper)] == [f"flow:{_flows(paper)[0]['seq']}"]
    assert _trackrecord(paper, "verify").returncode == 0


@pytest.mark.slow
def test_a_deposit_recorded_in_dry_run_reaches_the_paper_account(paper: Path) -> None:
    _configure(paper, "dry_run")
    assert _trackrecord(paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").returncode == 0
    _configure(paper, "paper")
    result = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["verdict"] == "approved" and len(document["orders"]) == 3
    assert _sim_cash(paper) == 100000


@pytest.mark.slow
def test_a_voided_deposit_is_unbooked_at_the_paper_account(paper: Path) -> None:
    assert _trackrecord(paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").returncode == 0
    assert _trackrecord(paper, "cashflow", "add", "--date", "2026-05-29", "--amount", "5000").returncode == 0
    assert _snapshot_nav(paper) == 105000
    wrong = next(f for f in _flows(paper) if f["amount"] == "5000")
    assert _trackrecord(paper, "cashflow", "void", str(wrong["seq"]), "--reason", "typed twice").returncode == 0
    assert _snapshot_nav(paper) == 100000
    assert _sim_cash(paper) == _ledger_cash(paper) == 100000
    assert [key for _, key in _sim_cash_rows(paper)][-1] == f"void:{wrong['seq']}"  # a correcting booking
    assert _snapshot_nav(paper) == 100000  # derived once: a third start books nothing


# Commands per writer: a few in the suite; TRACKRECORD_STRESS_WRITERS=100 runs the hundreds the
# reliability issue asks for (as measured for the closing note), with the same assertions.
STRESS = int(os.environ.get("TRACKRECORD_STRESS_WRITERS", "0"))


def _writer_loop(root: Path, name: str, count: int) -> list[subprocess.CompletedProcess[str]]:
    done = []
    for i in range(count):
        if name == "snapshots":
            done.append(_trackrecord(root, "snapshot"))
        else:
            done.append(_trackrecord(root, "cashflow", "add", "--date", "2026-05-29", "--amount", "1000",
                                     "--note", f"{name}-{i}"))
    return done


def _run_writers_at_once(root: Path, per_writer: int) -> list[subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        loops = [pool.submit(_writer_loop, root, name, per_writer) for name in ("deposits-a", "deposits-b", "snapshots")]
        return [result for loop in loops for result in loop.result()]


def _assert_consistent(root: Path, results: list[subprocess.CompletedProcess[str]], url: str | None = None) -> None:
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.returncode in (0, 1, 2), result.stderr
        if result.returncode:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    accepted = [r for r in results if "cashflow" in r.args and r.returncode == 0]
    notes = sorted(str(f["note"]) for f in _flows(root))
    assert len(notes) == len(set(notes)) == len(accepted), "every accepted deposit is in the ledger exactly once"
    assert _trackrecord(root, "verify").returncode == 0
    assert _snapshot_nav(root) == _ledger_cash(root) == 1000 * len(accepted)
    assert _sim_cash(root, url) == _ledger_cash(root)


@pytest.mark.slow
def test_three_writers_at_once_lose_nothing_double_nothing_and_print_no_traceback(paper: Path) -> None:
    per_writer = STRESS or 8  # with the PostgreSQL run below: 42 commands
    results = _run_writers_at_once(paper, per_writer)
    assert len(results) == 3 * per_writer
    assert sum(r.returncode == 0 for r in results) >= len(results) - 2, [r.stderr for r in results if r.returncode]
    _assert_consistent(paper, results)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_writers_at_once_on_postgresql(paper: Path, pg_url: str) -> None:
    _configure(paper, "paper", pg_url)
    assert _trackrecord(paper, "prices", "update").returncode == 0
    results = _run_writers_at_once(paper, STRESS or 6)
    assert sum(r.returncode == 0 for r in results) >= len(results) - 2, [r.stderr for r in results if r.returncode]
    _assert_consistent(paper, results, pg_url)
