"""A Ctrl-C at any moment of a command prints one line and exits 130, never a traceback and
never silence: while the command line loads (before our handler is reached), and inside a
command that has no interruption message of its own (Typer turned it into a silent 130).

The signal is real: a ``sitecustomize`` put on the child's path sends the process SIGINT
when it first imports a given module, a point the test can name without racing a timer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CTRL_C_AT_IMPORT = '''
import os, signal, sys

class _CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["CTRL_C_AT_IMPORT"]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, _CtrlC())
'''


def interrupted_at(module: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(CTRL_C_AT_IMPORT)
    env = dict(os.environ, PYTHONPATH=f"{hook}{os.pathsep}{REPO_ROOT / 'src'}", CTRL_C_AT_IMPORT=module)
    return subprocess.run([sys.executable, "-m", "trackrecord", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.slow
def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path: Path) -> None:
    done = interrupted_at("trackrecord.cli.kill_switch_fast", tmp_path, "--home", str(tmp_path / "ws"), "status")

    assert (done.returncode, done.stderr, done.stdout) == (130, "interrupted\n", "")


@pytest.mark.slow
def test_ctrl_c_inside_a_command_without_words_of_its_own_is_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", home, "--prices", "synthetic").code == 0

    done = interrupted_at("trackrecord.bootstrap", tmp_path, "--home", str(home), "backtest",
                          "--from", "2024-01-01", "--to", "2024-03-31")

    assert (done.returncode, done.stderr, done.stdout) == (130, "interrupted\n", "")
    assert not (home / "backtests").exists()


@pytest.mark.slow
def test_a_command_that_says_what_its_interruption_kept_says_only_that(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", home, "--prices", "synthetic").code == 0

    # first imported as the backtest workspace is created, inside the run that says what it kept
    done = interrupted_at("trackrecord.ledger.head_schema", tmp_path, "--home", str(home), "backtest",
                          "--from", "2024-01-01", "--to", "2024-03-31", "--out", str(tmp_path / "out"))

    assert done.returncode == 130
    assert done.stderr == f"backtest interrupted: nothing was kept, {tmp_path / 'out'} is as it was before the run\n"
    assert not (tmp_path / "out").exists()
