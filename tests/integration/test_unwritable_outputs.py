"""A file or folder the trader names where nothing can be written (``/proc``: refused to
root as well, unlike a folder without write permission) is refused in one line, exit 2,
before anything is recorded: each of these was a FileNotFoundError traceback, the monthly
report's after it had frozen its inputs into the ledger."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

UNWRITABLE = Path("/proc/trackrecord-test")
LAST_MONTH = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # inside the 1-year demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("unwritable") / "demo"
    assert run(["demo", str(root), "--years", "1", "--seed", "3"]) == 0
    return root


def _events(cli, root: Path) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(cli("--home", root, "ledger", "log", "--json").out)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("args, says", [
    (("report", LAST_MONTH, "--out", f"{UNWRITABLE}.pdf"), f"--out {UNWRITABLE}.pdf: cannot write there ("),
    (("weekly-report", "--out", f"{UNWRITABLE}.pdf"), f"--out {UNWRITABLE}.pdf: cannot write there ("),
    (("export", "bundle", f"{UNWRITABLE}.zip"), f"{UNWRITABLE}.zip: cannot write there ("),
    (("dashboard", "--export", str(UNWRITABLE)), f"--export {UNWRITABLE}: cannot make the folder ("),
], ids=["report", "weekly-report", "export-bundle", "dashboard-export"])
def test_an_output_nothing_can_be_written_to_is_refused_before_anything_is_recorded(  # type: ignore[no-untyped-def]
        cli, demo: Path, args: tuple[str, ...], says: str) -> None:
    before = _events(cli, demo)
    refused = cli("--home", demo, *args)
    assert refused.code == 2 and refused.err.count("\n") == 1, refused
    assert refused.err.startswith(f"error: {says}") and "nothing was written" in refused.err
    assert _events(cli, demo) == before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", ["init", "demo"])
def test_a_workspace_folder_that_cannot_be_made_is_refused_in_one_line(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli(command, UNWRITABLE / "ws")
    assert refused.code == 2 and refused.err == (f"error: {UNWRITABLE / 'ws'}: cannot make the folder "
                                                 "(No such file or directory); nothing was written\n"), refused


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_key_file_that_cannot_be_written_leaves_no_half_workspace(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """It was a FileNotFoundError traceback after trackrecord.yaml and keys/ were laid out:
    the next `init` then said the folder already held a workspace."""
    key = Path("/proc/trackrecord-key")  # /proc exists; nothing can be made in it
    refused = cli("init", tmp_path / "ws", "--key-file", key)
    assert refused.code == 2 and refused.err.startswith(f"error: --key-file {key}: cannot write there ("), refused
    assert refused.err.endswith("); nothing was written\n") and refused.err.count("\n") == 1
    assert not (tmp_path / "ws").exists()
    assert cli("init", tmp_path / "ws", "--key-file", tmp_path / "ledger.ed25519").code == 0
