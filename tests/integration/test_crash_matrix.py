"""The crash matrix (issue 10): every command that writes, killed with SIGKILL right after
each of its commits in turn (``TRACKRECORD_CRASH_AFTER_COMMIT=N``, N = 1, 2, ... until the
command finishes before the N-th), then rerun as a trader would. Each time: ``verify``
passes, no order or fill is recorded twice, and the rerun completes the work: the ledger's
projections, the price store and the simulated book end as one uninterrupted run leaves
them (a rerun may also say, exit 2, that the work is already recorded).

The killed run is a forked child of the test process (a real process, really SIGKILLed, but
without a fresh interpreter's start-up); the reruns and checks run in-process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest

from trackrecord.cli.app import run
from trackrecord.cli.kill_switch_fast import run_fast
from trackrecord.crash import CRASH_AFTER_COMMIT_ENV

pytestmark = pytest.mark.slow  # every case kills a child process

REBALANCE, NEXT_SESSION = "2026-06-01", "2026-06-02"
MAX_COMMITS = 40


def _main(argv: list[str]) -> int:
    """What the console script runs (``trackrecord.cli.entry.main``): the fast path first."""
    code = run_fast(argv)
    return run(argv) if code is None else code


def _killed_after_commit(argv: list[str], commit: int) -> int:
    """Run ``argv`` in a forked child that dies right after its ``commit``-th commit: -9 when
    it was killed, else its exit code (the command made fewer commits)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.environ[CRASH_AFTER_COMMIT_ENV] = str(commit)
            code = _main(argv)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _configure_paper(root: Path) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))


def _ok(*argv: str) -> None:
    assert _main(list(argv)) == 0, argv


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The states the commands start from, each built from the one before, as a trader goes."""
    base = tmp_path_factory.mktemp("crash-templates")

    def after(name: str, previous: Path, *argv: str) -> Path:
        root = base / name
        shutil.copytree(previous, root)
        _ok("--home", str(root), *argv)
        return root

    empty = base / "empty"
    _ok("init", str(empty), "--prices", "synthetic")
    _configure_paper(empty)
    priced = after("priced", empty, "prices", "update")
    funded = after("funded", priced, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000", "--note", "deposit")
    traded = after("traded", funded, "execute", "--as-of", REBALANCE)
    halted = after("halted", funded, "kill-switch", "activate", "outage")
    unsigned = base / "unsigned"  # a cash flow whose command died before signing it
    shutil.copytree(funded, unsigned)
    assert _killed_after_commit(["--home", str(unsigned), "cashflow", "add", "--date", "2026-05-29",
                                 "--amount", "-100", "--note", "fee"], 1) == -9
    flows = base / "flows.csv"
    flows.write_text("date,amount,note\n2026-05-29,5000,bonus\n2026-06-01,-200,fee\n")
    snapshots = base / "snapshots.csv"
    snapshots.write_text("date,nav\n2026-01-05,1000\n2026-01-06,1010\n")
    feed = base / "feed"  # a bar older than the stored history: new to the store
    feed.mkdir()
    (feed / "SXLK.csv").write_text("Date,Close,Adj Close\n2024-05-31,150.0,150.0\n")
    fills = base / "fills.csv"
    fills.write_text("trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,"
                     "commission,commission_currency\n"
                     "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10.00,10.02,20,3.00,GBP\n"
                     "T2,2026-01-06T16:35:00Z,SXLK,ETF,SELL,40,10.50,10.49,10,3.00,GBP\n")
    return {"fills.csv": fills, "empty": empty, "priced": priced, "funded": funded, "traded": traded, "halted": halted,
            "unsigned": unsigned, "flows.csv": flows, "snapshots.csv": snapshots, "feed": feed}


def _void_args(t: dict[str, Path]) -> list[str]:
    with sqlite3.connect(t["funded"] / "trackrecord.db") as db:
        seq = db.execute("SELECT seq FROM cashflows WHERE note = 'deposit'").fetchone()[0]
    return ["cashflow", "void", str(seq), "--reason", "entered twice"]


# (name, template, argv after --home) for every command that writes
COMMANDS: list[tuple[str, str, Callable[[dict[str, Path]], list[str]]]] = [
    ("prices update", "empty", lambda t: ["prices", "update"]),
    ("cashflow add", "priced", lambda t: ["cashflow", "add", "--date", "2026-05-29", "--amount", "100000",
                                          "--note", "deposit"]),
    ("cashflow void", "funded", _void_args),
    ("import cashflows", "priced", lambda t: ["import", "cashflows", str(t["flows.csv"])]),
    ("import snapshots", "priced", lambda t: ["import", "snapshots", str(t["snapshots.csv"]), "--account", "U1234"]),
    ("prices import", "priced", lambda t: ["prices", "import", str(t["feed"])]),
    ("execute", "funded", lambda t: ["execute", "--as-of", REBALANCE]),
    ("daily", "traded", lambda t: ["daily", "--as-of", NEXT_SESSION]),
    ("snapshot", "traded", lambda t: ["snapshot", "--as-of", NEXT_SESSION]),
    ("kill-switch activate", "funded", lambda t: ["kill-switch", "activate", "outage"]),
    ("kill-switch deactivate", "halted", lambda t: ["kill-switch", "deactivate", "--reason", "resume", "--yes"]),
    ("ledger checkpoint", "unsigned", lambda t: ["ledger", "checkpoint"]),
    ("pull", "traded", lambda t: ["pull"]),
    ("import fills", "priced", lambda t: ["import", "fills", str(t["fills.csv"]), "--account", "U1234"]),
]

STATE_QUERIES = {
    "cashflows": "SELECT flow_date, amount, currency, note, account_id, voided_by IS NOT NULL FROM cashflows ORDER BY seq",
    "snapshots": "SELECT account_id, session_date, nav, cash, positions FROM snapshots ORDER BY account_id, session_date",
    "fills": "SELECT exec_id, order_ref, quantity, price FROM fills ORDER BY exec_id",
    "orders": "SELECT order_ref, status FROM orders ORDER BY order_ref",
    "kill_switch": "SELECT state, reason FROM kill_switch",
    "prices": "SELECT symbol, COUNT(*), SUM(adj_close) FROM prices GROUP BY symbol ORDER BY symbol",
    "sim_orders": "SELECT order_ref, quantity, status FROM sim_orders ORDER BY order_ref",
    "imports": "SELECT content_hash, kind FROM imports ORDER BY content_hash",
}


def _state(root: Path) -> dict[str, Any]:
    """What the work leaves behind: projections, the price store and the simulated book."""
    with sqlite3.connect(root / "trackrecord.db") as db:
        state: dict[str, Any] = {name: db.execute(sql).fetchall() for name, sql in STATE_QUERIES.items()}
        state["sim_cash"] = sum((Decimal(a) for (a,) in db.execute("SELECT amount FROM sim_cash")), Decimal(0))
    return state


def _recorded_once(root: Path) -> None:
    """No fill recorded twice, no order at the broker twice. (A second ``order.submitted`` of
    one ref is by design: the rerun records an order it finds at the broker.)"""
    with sqlite3.connect(root / "trackrecord.db") as db:
        fills = Counter(json.loads(p)["exec_id"] for (p,) in db.execute(
            "SELECT payload FROM events WHERE kind = 'fill.recorded'"))
        at_broker = Counter(ref for (ref,) in db.execute("SELECT order_ref FROM sim_orders"))
    assert [exec_id for exec_id, n in fills.items() if n > 1] == [], "a fill recorded twice"
    assert [ref for ref, n in at_broker.items() if n > 1] == [], "an order at the broker twice"


def _verified(cli, root: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "verify", "--json")
    assert result.code == 0 and json.loads(result.out)["ok"], result.out[-2000:]
    return json.loads(result.out)


def _rerun_completes(cli, root: Path, argv: list[str], expected: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    rerun = cli(*argv)
    assert rerun.code in (0, 2), rerun
    if rerun.code == 2:  # "already recorded": only when the killed run had done the work
        assert rerun.err.count("\n") == 1 and "Traceback" not in rerun.err, rerun
    _verified(cli, root)
    _recorded_once(root)
    assert _state(root) == expected


@pytest.mark.parametrize("name, template, args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_killed_after_each_of_its_commits_then_rerun_completes_the_work(
        name: str, template: str, args: Callable[[dict[str, Path]], list[str]], templates: dict[str, Path],
        tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    argv = args(templates)
    reference = tmp_path / "reference"
    shutil.copytree(templates[template], reference)
    assert _main(["--home", str(reference), *argv]) == 0
    expected = _state(reference)
    assert _verified(cli, reference)["unsigned_events"] == 0, "an uninterrupted run signs what it wrote"
    killed = 0
    for commit in range(1, MAX_COMMITS + 1):
        root = tmp_path / f"after-commit-{commit}"
        shutil.copytree(templates[template], root)
        home = ["--home", str(root)]
        code = _killed_after_commit([*home, *argv], commit)
        if code != -9:
            assert code == 0, (name, commit, code)
            assert _state(root) == expected
            break
        killed += 1
        _rerun_completes(cli, root, [*home, *argv], expected)
    else:
        pytest.fail(f"{name} made more than {MAX_COMMITS} commits")
    assert killed >= 1, f"{name} committed nothing"


def test_init_killed_after_its_commit_leaves_a_workspace_that_verifies(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert _killed_after_commit(["init", str(root), "--prices", "synthetic"], 1) == -9
    rerun = cli("init", root, "--prices", "synthetic")
    assert rerun.code == 2 and "already holds a workspace" in rerun.err and rerun.err.count("\n") == 1
    _verified(cli, root)
    assert _killed_after_commit(["init", str(tmp_path / "other"), "--prices", "synthetic"], 2) == 0
