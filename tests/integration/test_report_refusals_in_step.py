"""The monthly and the weekly report refuse the same bad destinations and the same bad files to
verify with the same line (one helper serves both): a trader who learns one command's refusals
knows the other's. Each refusal is one line, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo
from trackrecord.cli.app import run

NOW = "2026-11-02T12:00:00Z"
MONTH, WEEK = "2026-07", "2026-W27"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "in-step", NOW, 3)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def _refusal(cli, root: Path, *args: object) -> str:  # type: ignore[no-untyped-def]
    """The one line a refused command prints, checked to be exit 2 with nothing recorded."""
    before = _events(cli, root)
    result = cli("--home", root, *args)
    assert result.code == 2, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.out + result.err, result
    assert _events(cli, root) == before
    return lines[0]


def test_a_missing_reports_folder_is_refused_by_the_monthly_report_as_by_the_weekly_one(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.rmtree(demo / "reports" / "monthly")
    shutil.rmtree(demo / "reports" / "weekly")
    monthly = _refusal(cli, demo, "report", MONTH)
    weekly = _refusal(cli, demo, "weekly-report", "--week", WEEK)
    assert f"the folder {demo.resolve()}/reports/monthly does not exist" in monthly
    assert monthly.replace("monthly", "KIND").replace(MONTH, "PERIOD") == \
        weekly.replace("weekly", "KIND").replace(WEEK, "PERIOD")


@pytest.mark.parametrize("destination", ["missing-folder/x.pdf", "a-folder", "a-pipe"])
def test_the_monthly_and_the_weekly_report_refuse_a_bad_out_with_the_same_line(cli, demo: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                              destination: str) -> None:
    (tmp_path / "a-folder").mkdir()
    os.mkfifo(tmp_path / "a-pipe")
    out = (tmp_path / destination).resolve()
    monthly = _refusal(cli, demo, "report", MONTH, "--out", out)
    weekly = _refusal(cli, demo, "weekly-report", "--week", WEEK, "--out", out)
    assert monthly == weekly and f"--out {out}" in monthly


@pytest.mark.parametrize("document", ["missing.pdf", "notes.txt", "stranger.pdf", "a-pipe", "other-ledger"])
def test_the_monthly_and_the_weekly_verify_refuse_a_bad_file_with_the_same_line(cli, demo: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                               demo_template: Path,
                                                                               document: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "stranger.pdf").write_bytes(b"%PDF-1.4\n% not ours\n")
    os.mkfifo(tmp_path / "a-pipe")
    if document == "other-ledger":  # reports of another workspace: same sessions, another genesis hash
        other = tmp_path / "other"
        assert run(["demo", str(other), "--years", "1", "--seed", "3"]) == 0
        made = {kind: json.loads(cli("--home", other, *args, "--json").out)["path"]
                for kind, args in (("monthly", ("report", MONTH)), ("weekly", ("weekly-report", "--week", WEEK)))}
    else:
        made = {"monthly": tmp_path / document, "weekly": tmp_path / document}
    monthly = _refusal(cli, demo, "report", "verify", made["monthly"])
    weekly = _refusal(cli, demo, "weekly-report", "--verify", made["weekly"])
    assert monthly.startswith(f"error: PDF {made['monthly']}: ") and \
        weekly.startswith(f"error: --verify {made['weekly']}: ")
    assert monthly.split(": ", 2)[2].replace("monthly", "KIND") == weekly.split(": ", 2)[2].replace("weekly", "KIND")
