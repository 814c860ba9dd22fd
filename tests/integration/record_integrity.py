"""What the record-integrity tests share: a paper workspace on synthetic prices stored up to
a fixed day, the clock fixed through ``TRACKRECORD_NOW``, and the readers a trader uses
(``ledger log --json``, ``stats --json``, ``orders --json``)."""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tests.conftest import CliResult

PRICES_UNTIL_NOW = "2026-08-22T00:00:00Z"  # `prices update` then stores bars up to 2026-08-21
IN_AUGUST = PRICES_UNTIL_NOW  # the clock of most sequences: the day after the last stored bar
DEPOSIT_DATE = "2025-07-01"


@contextmanager
def clock(moment: str) -> Iterator[None]:
    """The wall clock of every command run inside, through bootstrap's TRACKRECORD_NOW."""
    before = os.environ.get("TRACKRECORD_NOW")
    os.environ["TRACKRECORD_NOW"] = moment
    try:
        yield
    finally:
        if before is None:
            del os.environ["TRACKRECORD_NOW"]
        else:
            os.environ["TRACKRECORD_NOW"] = before


def configure(root: Path, mode: str) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))


def make_unfunded_paper(root: Path) -> Path:
    """A paper workspace with synthetic bars up to 2026-08-21 and no cash booked."""
    from trackrecord.cli.app import run

    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    configure(root, "paper")
    with clock(PRICES_UNTIL_NOW):
        assert run(["--home", str(root), "prices", "update"]) == 0
    return root


def make_funded_paper(root: Path) -> Path:
    """``make_unfunded_paper`` with 100,000 deposited on ``DEPOSIT_DATE`` and nothing invested."""
    from trackrecord.cli.app import run

    make_unfunded_paper(root)
    with clock(IN_AUGUST):
        assert run(["--home", str(root), "cashflow", "add", "--date", DEPOSIT_DATE, "--amount", "100000"]) == 0
    return root


def copy_workspace(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


def as_json(result: CliResult) -> Any:
    assert result.code == 0, result
    return json.loads(result.out)


def events(cli, root: Path, kind: str | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    args = ["--home", root, "ledger", "log", "--json"] + (["--kind", kind] if kind else [])
    return as_json(cli(*args))


def payloads(cli, root: Path, kind: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [e["payload"] for e in events(cli, root, kind)]


def refused(result: CliResult, code: int) -> str:
    """The one-line refusal (exit ``code``, no traceback); returns its text."""
    assert result.code == code, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result
    assert "Traceback" not in result.err + result.out, result
    return result.err
