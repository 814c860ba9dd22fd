"""`trackrecord weekly-report [--week YYYY-Www]` as a trader runs it: the figures are the ones
`stats FROM TO --json` prints for the week, the month and the year to the week's last
snapshot; the default is the last complete ISO week of the exchange's calendar; a bad week is
one line, exit 2, nothing written; the same ledger gives the same bytes (issue 11, item 3)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

pypdf = pytest.importorskip("pypdf")

NOW = "2026-11-02T12:00:00Z"  # a Monday before the close: the last complete week is 2026-W44
REPO_SRC = Path(__file__).resolve().parents[2] / "src"


def _run(*args: object) -> tuple[int, str, str]:
    from trackrecord.cli.app import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _json(root: Path, *args: object) -> dict:  # type: ignore[type-arg]
    code, out, err = _run("--home", root, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "weekly", NOW, 3)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _pages(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]


def _percent(value: float) -> str:
    return f"{value * 100:+.2f}%"


def test_weekly_figures_are_the_ones_stats_prints(demo: Path) -> None:
    made = _json(demo, "weekly-report", "--week", "2026-W27")
    assert made["week"] == "2026-W27" and (made["from"], made["to"]) == ("2026-06-29", "2026-07-05")
    assert made["path"].endswith("reports/weekly/2026-W27.pdf") and 1 <= made["pages"] <= 2
    ranges = {"week": ("2026-06-29", "2026-07-05"), "month_to_date": ("2026-07-01", "2026-07-03"),
              "year_to_date": ("2026-01-01", "2026-07-03")}
    pages = _pages(Path(made["path"]))
    text = "\n".join(pages)
    lines = text.splitlines()
    for name, (start, end) in ranges.items():
        stats = _json(demo, "stats", start, end)
        shown = made["figures"][name]
        assert shown["twr"] == stats["metrics"]["total_return"]
        assert shown["benchmark"] == stats["benchmark"]["total_return"]
        assert shown["pnl"] == stats["metrics"]["pnl"]
    for label, key in (("Time-weighted return", "twr"), ("Benchmark return", "benchmark"), ("Active return", "active")):
        at = lines.index(label)
        assert lines[at + 1: at + 4] == [_percent(made["figures"][name][key]) for name in ranges], label
    trades = _json(demo, "trades", "2026-06-29", "2026-07-05")
    assert trades["summary"] is not None
    week_fills = [f for f in _json(demo, "slippage")["fills"] if "2026-06-29" <= f["executed_at"][:10] <= "2026-07-05"]
    assert week_fills and "Trades of the week" in text
    assert all(f["symbol"] in text and f["side"] in text for f in week_fills)
    assert "The next rebalance session is 2026-08-03." in text and made["next_rebalance"] == "2026-08-03"
    assert all("SIMULATED" in page and "BACKTEST" not in page for page in pages)
    generated = [e for e in _json(demo, "ledger", "log", "--kind", "report.generated")]
    assert [(e["payload"]["kind"], e["payload"]["period"], e["payload"]["sha256"]) for e in generated] == \
        [("weekly", "2026-W27", made["sha256"])]


def test_the_default_week_is_the_last_complete_week_of_the_calendar(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _json(demo, "weekly-report")["week"] == "2026-W44"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-10-30T12:00:00Z")  # Friday, before the close
    assert _json(demo, "weekly-report")["week"] == "2026-W43"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-10-30T18:00:00Z")  # Friday, after the close
    assert _json(demo, "weekly-report")["week"] == "2026-W44"


def test_the_same_ledger_gives_the_same_bytes_and_records_one_report(demo: Path) -> None:
    first = _json(demo, "weekly-report", "--week", "2026-W30")
    data = Path(first["path"]).read_bytes()
    again = _json(demo, "weekly-report", "--week", "2026-W30")
    assert again["sha256"] == first["sha256"] and Path(again["path"]).read_bytes() == data
    assert len(_json(demo, "ledger", "log", "--kind", "report.generated")) == 1  # type: ignore[arg-type]


@pytest.mark.slow
def test_another_process_with_other_tz_locale_and_cwd_writes_the_same_bytes(demo: Path, tmp_path: Path) -> None:
    first = _json(demo, "weekly-report", "--week", "2026-W30")
    env = {**os.environ, "TZ": "America/New_York", "LC_ALL": "C", "LANG": "C", "PYTHONPATH": str(REPO_SRC),
           "TRACKRECORD_NOW": NOW}
    out = tmp_path / "elsewhere.pdf"
    done = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(demo), "weekly-report", "--week",
                           "2026-W30", "--out", str(out), "--json"], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == Path(first["path"]).read_bytes()


@pytest.mark.parametrize(("week", "named"), [
    ("2026-W54", "ISO week"), ("2026-W00", "ISO week"), ("2026-53", "ISO week"), ("W05", "ISO week"),
    ("2025-W53", "ISO week"), ("", "ISO week"), ("2026-W45", "has not ended"), ("2030-W01", "has not ended"),
    ("2020-W05", "no snapshot"),
])
def test_a_bad_week_is_one_line_exit_2_and_writes_nothing(demo: Path, week: str, named: str) -> None:
    before = len(_json(demo, "ledger", "log"))  # type: ignore[arg-type]
    code, out, err = _run("--home", demo, "weekly-report", "--week", week)
    assert code == 2, (out, err)
    assert named in err and err.startswith("error: ") and err.count("\n") == 1, err
    assert len(_json(demo, "ledger", "log")) == before  # type: ignore[arg-type]
    assert not list((demo / "reports/weekly").glob("*.pdf"))


def test_verify_rebuilds_the_same_bytes_and_an_edited_fill_fails(demo: Path) -> None:
    import sqlite3

    made = _json(demo, "weekly-report", "--week", "2026-W27")
    assert _json(demo, "weekly-report", "--verify", made["path"])["equal"] is True
    fill = next(e for e in _json(demo, "ledger", "log", "--kind", "fill.recorded")  # type: ignore[union-attr]
                if e["payload"]["executed_at"].startswith("2026-07-01"))
    with sqlite3.connect(demo / "trackrecord.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        payload = json.loads(db.execute("SELECT payload FROM events WHERE seq = ?", (fill["seq"],)).fetchone()[0])
        payload["price"] = str(round(float(payload["price"]) * 1.01, 4))
        db.execute("UPDATE events SET payload = ? WHERE seq = ?",
                   (json.dumps(payload, sort_keys=True, separators=(",", ":")), fill["seq"]))
    code, out, _ = _run("--home", demo, "weekly-report", "--verify", made["path"])
    assert code == 1 and "DIFFERS" in out and "first differing page 1" in out, out
    code, _, err = _run("--home", demo, "weekly-report", "--verify", demo / "trackrecord.yaml")
    assert code == 2 and "not a trackrecord weekly report" in err
