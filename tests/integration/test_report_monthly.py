"""`trackrecord report YYYY-MM` as a trader and a recruiter use it: the PDF's figures are the
ones `stats --json` / `trades --json` print, every page carries the label and shows
something, the same ledger gives the same bytes in another process (other TZ, locale and
working directory), and `report verify` finds an edited ledger (issue 11, items 1, 2, 5)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

REPO_SRC = Path(__file__).resolve().parents[2] / "src"
MONTH = "2025-06"  # the demo below runs 2024-11 .. 2026-10: a month with a rebalance, under a year in
LATE_MONTH = "2026-09"  # more than a year in: annualised figures shown


def _run(*args: object) -> tuple[int, str]:
    from trackrecord.cli.app import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run([str(a) for a in args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-year SIMULATED demo (the real engine on the simulated broker) with two reports."""
    root = tmp_path_factory.mktemp("report") / "demo"
    env = os.environ.copy()
    os.environ["TRACKRECORD_NOW"] = "2026-11-02T12:00:00Z"
    try:
        code, _ = _run("demo", root, "--years", "2", "--seed", "3")
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert code == 0
    for month in (MONTH, LATE_MONTH):
        code, out = _run("--home", root, "report", month, "--json")
        assert code == 0, out
    return root


def _made(demo: Path, month: str) -> dict:  # type: ignore[type-arg]
    code, out = _run("--home", demo, "report", month, "--json")
    assert code == 0, out
    return json.loads(out)


def _json(demo: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out = _run("--home", demo, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def _events(root: Path) -> int:
    return len(_json(root, "ledger", "log"))


def _text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]


def _row(page: str, label: str, cells: int = 4) -> list[str]:
    """The cells of a table row as pypdf extracts them: the label's line, then one line per cell."""
    lines = page.splitlines()
    at = lines.index(label)
    return lines[at + 1 : at + 1 + cells]


def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def _money(x: float) -> str:
    return f"{round(x, 2) or 0.0:,.2f}"


def test_report_figures_are_the_ones_stats_and_trades_print(demo: Path) -> None:
    made = _made(demo, MONTH)
    pages = _text(Path(made["path"]))
    text = "\n".join(pages)
    month = _json(demo, "stats", "2025-06-01", "2025-06-30")
    ytd = _json(demo, "stats", "2025-01-01", "2025-06-30")
    inception = _json(demo, "stats", "2024-01-01", "2025-06-30")
    docs = (month, ytd, inception)
    assert [_json(demo, "stats", "--month", MONTH, "--span", span) for span in ("month", "ytd", "inception")] == list(docs)
    key_figures = next(p for p in pages if "Key figures" in p)
    assert _row(key_figures, "Time-weighted return")[:3] == [_pct(d["metrics"]["total_return"]) for d in docs]
    assert _row(key_figures, "Benchmark return")[:3] == [_pct(d["benchmark"]["total_return"]) for d in docs]
    assert _row(key_figures, "Active return")[:3] == [
        _pct(d["metrics"]["total_return"] - d["benchmark"]["total_return"]) for d in docs]
    assert _row(key_figures, "Max drawdown")[:3] == [_pct(d["metrics"]["max_drawdown"]) for d in docs]
    assert _row(key_figures, "Profit and loss")[:3] == [_money(d["metrics"]["pnl"]) for d in docs]
    assert _row(key_figures, "Fees (commissions)")[:3] == [_money(d["trades"]["commissions"]) for d in docs]
    assert _row(key_figures, "Probabilistic Sharpe (vs 0)")[2] == f"{inception['metrics']['psr'] * 100:.2f}%"
    trades = _json(demo, "trades", "2025-06-01", "2025-06-30")
    trading = next(p for p in pages if "Round trips closed in the month" in p)
    assert _row(trading, "Round trips closed", 1) == [str(trades["summary"]["round_trips"])]
    assert _row(trading, "Realised P&L (net)", 1) == [_money(trades["summary"]["realised_pnl"])]
    fills = [f for f in _json(demo, "slippage")["fills"] if f["executed_at"].startswith(MONTH)]
    assert fills, "the demo month has trades"
    for fill in fills:
        assert f"{fill['fill_price']:,.4f}".rstrip("0").rstrip(".") in text
        assert f"{round(fill['execution_bps'], 1) or 0.0:+.1f}" in text
    assert made["pages"] == len(pages) >= 4
    assert made["label"] == "SIMULATED" and made["period"] == MONTH, "a demo is simulated, not a backtest"


def test_every_page_carries_the_label_and_none_is_blank(demo: Path, tmp_path: Path) -> None:
    from PIL import Image

    path = Path(_made(demo, MONTH)["path"])
    for number, page in enumerate(_text(path), start=1):
        assert "SIMULATED" in page and "BACKTEST" not in page and f"Page {number} of" in page and "Monthly report June 2025" in page
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(path), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(_text(path))
    for image in images:
        pixels = Image.open(image).convert("L")
        dark = sum(pixels.histogram()[:200])
        assert dark > 0.01 * pixels.width * pixels.height, f"{image.name} is (nearly) blank"


def test_a_record_under_a_year_is_not_annualised_and_a_longer_one_is(demo: Path) -> None:
    young = "\n".join(_text(Path(_made(demo, MONTH)["path"])))
    assert "younger than a year: no figure is annualised" in young
    assert "Time-weighted return" in young
    old_made = _made(demo, LATE_MONTH)
    old = "\n".join(_text(Path(old_made["path"])))
    inception = _json(demo, "stats", "2024-01-01", "2026-09-30")
    assert _row(old, "Time-weighted return")[3] == _pct(inception["metrics"]["cagr"])
    assert _row(old, "Benchmark return")[3] == _pct(inception["benchmark"]["cagr"])
    assert _row(old, "Active return")[3] == _pct(inception["metrics"]["cagr"] - inception["benchmark"]["cagr"])
    assert _row(old, "Sharpe ratio")[3] == f"{inception['metrics']['sharpe']:.2f}"
    assert _row(old, "Volatility")[3] == f"{inception['metrics']['ann_volatility'] * 100:.2f}%"
    assert _row(old, "Money-weighted return")[3] == _pct(inception["metrics"]["mwr"])
    assert _row(young, "Sharpe ratio") == ["\u2013"] * 4
    assert "younger than a year" not in old


def test_making_the_same_report_again_gives_the_same_bytes_and_records_nothing(demo: Path) -> None:
    first = _made(demo, MONTH)
    before = _events(demo)
    again = _made(demo, MONTH)
    assert again["sha256"] == first["sha256"] and again["ledger_seq"] == first["ledger_seq"]
    assert _events(demo) == before
    generated = [e for e in _json(demo, "ledger", "log") if e["kind"] == "report.generated"]
    assert {e["payload"]["period"] for e in generated} == {MONTH, LATE_MONTH}
    assert {e["payload"]["path"] for e in generated if e["payload"]["period"] == MONTH} == {f"reports/monthly/{MONTH}.pdf"}
    assert [e["payload"]["sha256"] for e in generated].count(first["sha256"]) == 1


@pytest.mark.slow
def test_verify_in_another_process_with_other_tz_locale_and_cwd_finds_the_same_bytes(demo: Path, tmp_path: Path) -> None:
    path = Path(_made(demo, MONTH)["path"])
    env = os.environ | {"TZ": "Pacific/Auckland", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8",
                        "PYTHONPATH": str(REPO_SRC), "SOURCE_DATE_EPOCH": "1234567890"}
    result = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(demo), "report", "verify", str(path)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "identical" in result.stdout


def test_an_edited_fill_makes_report_verify_fail_naming_a_page(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "edited"
    shutil.copytree(demo, copy)
    report = copy / "reports" / "monthly" / f"{MONTH}.pdf"
    assert _run("--home", copy, "report", "verify", report)[0] == 0
    fill = next(e for e in _json(copy, "ledger", "log", "--kind", "fill.recorded")
                if e["payload"]["executed_at"].startswith(MONTH))
    with sqlite3.connect(copy / "trackrecord.db") as db:
        triggers = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in triggers:
            db.execute(f"DROP TRIGGER {name}")
        payload = json.loads(db.execute("SELECT payload FROM events WHERE seq = ?", (fill["seq"],)).fetchone()[0])
        payload["price"] = str(round(float(payload["price"]) * 1.01, 4))
        db.execute("UPDATE events SET payload = ? WHERE seq = ?",
                   (json.dumps(payload, sort_keys=True, separators=(",", ":")), fill["seq"]))
    code, out = _run("--home", copy, "report", "verify", report)
    assert code == 1
    assert "DIFFERS" in out and "first differing page" in out


def test_a_rewritten_head_makes_report_verify_fail_saying_so(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "rewritten"
    shutil.copytree(demo, copy)
    report = copy / "reports" / "monthly" / f"{MONTH}.pdf"
    seq = _made(copy, MONTH)["ledger_seq"]
    with sqlite3.connect(copy / "trackrecord.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE events SET hash = ? WHERE seq = ?", ("f" * 64, seq))
    code, out = _run("--home", copy, "report", "verify", report)
    assert code == 1 and "rewritten or cut" in out


def test_report_verify_of_a_file_that_is_no_report_of_this_workspace_exits_2(demo: Path, tmp_path: Path) -> None:
    before = _events(demo)
    stranger = tmp_path / "other.pdf"
    stranger.write_bytes(b"%PDF-1.4\n% not ours\n")
    assert _run("--home", demo, "report", "verify", stranger)[0] == 2
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert _run("--home", demo, "report", "verify", text)[0] == 2
    assert _events(demo) == before


@pytest.mark.parametrize("out", ["missing-folder/x.pdf", "."])
def test_an_out_path_that_cannot_be_written_is_one_line_exit_2_and_writes_nothing(demo: Path, out: str,
                                                                                     tmp_path: Path) -> None:
    before = _events(demo)
    assert _run("--home", demo, "report", "2026-08", "--out", tmp_path / out)[0] == 2
    assert _events(demo) == before


@pytest.mark.parametrize("period", ["2025-13", "June", "2025-6-1", "2019-01"])
def test_a_bad_or_empty_period_is_one_line_exit_2_and_writes_nothing(demo: Path, period: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.cli.app import run

    before = _events(demo)
    capsys.readouterr()
    assert run(["--home", str(demo), "report", period]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and ("PERIOD" in err or "snapshot" in err)
    assert _events(demo) == before


def test_the_command_line_loads_no_pdf_library_until_a_report_is_made() -> None:
    code = ("import sys; from trackrecord.cli.app import build_app; build_app(); "
            "print([m for m in ('reportlab', 'matplotlib', 'trackrecord.reports.pdf') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], env=os.environ | {"PYTHONPATH": str(REPO_SRC)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
