"""An argument that is not UTF-8 (a mistyped byte in a shell script) is one line and exit 2:
it used to reach the ledger's hash and end in a UnicodeEncodeError traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: bytes | str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "trackrecord", *args], capture_output=True,
                          env=os.environ | {"TRACKRECORD_NOW": "2026-11-03T18:00:00Z"})


def _events(home: Path) -> int:
    return len(json.loads(_run("--home", str(home), "ledger", "log", "--json").stdout))


@pytest.mark.parametrize("command", [
    ("cashflow", "add", "--date", "2026-11-02", "--amount", "1000", "--note", b"fees \xff"),
    ("kill-switch", "activate", "--reason", b"\xfe stop"),
    ("annotate", b"\xc3("),
])
def test_an_argument_that_is_not_utf8_is_refused_in_one_line_and_writes_nothing(tmp_path: Path, command) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert _run("init", str(home), "--prices", "synthetic").returncode == 0
    before = _events(home)
    done = _run("--home", str(home), *command)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and "is not valid UTF-8 text; nothing was written" in err and "Traceback" not in err
    assert _events(home) == before
