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


def _refused_in_one_line(tmp_path: Path, command: tuple[bytes | str, ...]) -> str:
    """Run ``command`` in a new workspace; it must exit 2 with one line and write nothing."""
    home = tmp_path / "ws"
    assert _run("init", str(home), "--prices", "synthetic").returncode == 0
    before = _events(home)
    done = _run("--home", str(home), *command)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert _events(home) == before
    return err


@pytest.mark.parametrize("command", [
    ("cashflow", "add", "--date", "2026-11-02", "--amount", "1000", "--note", b"fees \xff"),
    ("kill-switch", "activate", "--reason", b"\xfe stop"),
    ("annotate", b"\xc3("),
])
def test_an_argument_that_is_not_utf8_is_refused_in_one_line_and_writes_nothing(tmp_path: Path, command) -> None:  # type: ignore[no-untyped-def]
    assert "is not valid UTF-8 text; nothing was written" in _refused_in_one_line(tmp_path, command)


@pytest.mark.parametrize("command, shown", [
    (("cashflow", "add", "--date", "2026-11-02", "--amount", "1000", "--note", "\x1b]0;pwned\x07 fees"),
     "error: --note ('\\x1b]0;pwned\\x07 fees') holds the control character '\\x1b' at position 0"),
    (("kill-switch", "activate", "stop\x1b[2J"),
     "error: argument 5 ('stop\\x1b[2J') holds the control character '\\x1b' at position 4"),
    (("cashflow", "void", "1", "--reason", "typo\x9b31m"),
     "error: --reason ('typo\\x9b31m') holds the control character '\\x9b' at position 4"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis=a\rb"),
     "error: --thesis ('--thesis=a\\x0db') holds the control character '\\r'"),
])
def test_an_argument_with_a_control_character_is_refused_and_never_echoed_raw(  # type: ignore[no-untyped-def]
        tmp_path: Path, command, shown) -> None:
    """A note or reason holding an escape sequence was recorded and then drove the terminal
    of whoever listed it (`cashflow list` set the window title): refused before anything is
    written, the argument shown with its control characters escaped."""
    err = _refused_in_one_line(tmp_path, command)
    assert shown in err and "expected plain text; nothing was written" in err, err
    assert "\x1b" not in err and "\x9b" not in err and "\r" not in err


def test_a_note_with_newline_tab_and_accents_is_plain_text(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert _run("init", str(home), "--prices", "synthetic").returncode == 0
    done = _run("--home", str(home), "cashflow", "add", "--date", "2026-11-02", "--amount", "1000",
                "--note", "virement\tde l'épargne\nsecond line")
    assert done.returncode == 0, done.stderr.decode()


def test_an_imported_note_with_a_control_character_names_its_line(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert _run("init", str(home), "--prices", "synthetic").returncode == 0
    flows = tmp_path / "flows.csv"
    flows.write_text('date,amount,currency,note\n2026-11-02,500,GBP,fine\n2026-11-02,5,GBP,"x\x1b[31m"\n')
    before = _events(home)
    done = _run("--home", str(home), "import", "cashflows", str(flows))
    err = done.stderr.decode()
    assert done.returncode == 2 and err == (f"error: {flows}:3: column 'note': control or undecodable character "
                                            "'\\x1b' at position 1; expected plain text\n"), err
    assert _events(home) == before
