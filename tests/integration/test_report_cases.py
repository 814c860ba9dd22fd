"""Monthly reports of imported records: a live account with month-end NAVs only (monthly
frequency, no trade), a deposit and a withdrawal in the month, the kill switch halted and
resumed during it, and an IB paper account younger than a year (issue 11, item 1 cases)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

LIVE, PAPER = "U1234567", "DU7654321"
MONTH_ENDS = ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-30", "2025-06-30", "2025-07-31",
              "2025-08-29", "2025-09-30", "2025-10-31", "2025-11-28", "2025-12-31", "2026-01-30", "2026-02-27",
              "2026-03-31", "2026-04-30"]


def _run(*args: object) -> tuple[int, str]:
    from trackrecord.cli.app import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run([str(a) for a in args])
    return code, out.getvalue()


def _ok(*args: object) -> str:
    code, out = _run(*args)
    assert code == 0, (args, out)
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import trackrecord.bootstrap as bootstrap
    import trackrecord.ledger.store as store
    from trackrecord.market.calendar import open_calendar

    folder = tmp_path_factory.mktemp("cases")
    root = folder / "ws"
    _ok("init", root)
    navs = folder / "live.csv"
    navs.write_text("date,nav\n" + "".join(f"{d},{100000 + 900 * i + (2500 if d >= '2026-03-31' else 0)}\n"
                                           for i, d in enumerate(MONTH_ENDS)))
    _ok("--home", root, "import", "snapshots", navs, "--account", LIVE)
    sessions = open_calendar("XLON", start=date(2026, 2, 2), end=date(2026, 3, 31)).sessions
    paper = folder / "paper.csv"
    paper.write_text("date,nav\n" + "".join(f"{d},{50000 + 37 * i - (i % 3) * 55}\n"
                                            for i, d in enumerate(sessions.astype(str).tolist())))
    _ok("--home", root, "import", "snapshots", paper, "--account", PAPER)
    _ok("--home", root, "cashflow", "add", "--date", "2026-03-10", "--amount", "5000", "--account", LIVE,
        "--note", "top-up")
    _ok("--home", root, "cashflow", "add", "--date", "2026-03-20", "--amount", "-2000", "--account", LIVE,
        "--note", "fees paid out")
    # the ledger's clock (its one seam), set to moments inside the record for the two changes
    with pytest.MonkeyPatch.context() as patch:
        for moment, args in ((datetime(2026, 3, 12, 9, 0, tzinfo=timezone.utc), ("activate", "broker outage")),
                             (datetime(2026, 3, 19, 9, 0, tzinfo=timezone.utc),
                              ("deactivate", "--yes", "--reason", "broker back"))):
            for module in (store, bootstrap):
                patch.setattr(module, "utc_now", lambda moment=moment: moment, raising=False)
            _ok("--home", root, "kill-switch", *args)
    return root


def _report(root: Path, month: str, account: str) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    made = json.loads(_ok("--home", root, "report", month, "--account", account, "--json"))
    return made, [page.extract_text() for page in pypdf.PdfReader(made["path"]).pages]


def _row(page: str, label: str, cells: int = 4) -> list[str]:
    lines = page.splitlines()
    at = lines.index(label)
    return lines[at + 1 : at + 1 + cells]


def test_a_live_monthly_record_with_flows_and_a_halt_in_the_month(imported: Path) -> None:
    made, pages = _report(imported, "2026-03", LIVE)
    assert made["label"] == "LIVE" and made["account"] == LIVE
    assert Path(made["path"]).name == f"2026-03-{LIVE}.pdf"  # not the default account (PAPER has more snapshots)
    for page in pages:
        assert "LIVE" in page and "Monthly report March 2026" in page
    text = "\n".join(pages)
    assert "No trade in this month." in text
    assert "Deposit: top-up (GBP)" in text and "5,000.00" in text
    assert "Withdrawal: fees paid out (GBP)" in text and "-2,000.00" in text
    assert "Kill switch ACTIVE -> HALTED: broker outage" in text
    assert "Kill switch HALTED -> ACTIVE: broker back" in text
    assert "Kill switch at month end: ACTIVE, trading as planned, since 2026-03-19" in text
    assert "Record frequency: monthly, annualised with 12 periods a year" in text
    month = json.loads(_ok("--home", imported, "stats", "2026-03-01", "2026-03-31", "--account", LIVE, "--json"))
    inception = json.loads(_ok("--home", imported, "stats", "2024-01-01", "2026-03-31", "--account", LIVE, "--json"))
    figures = next(p for p in pages if "Key figures" in p)
    row = _row(figures, "Time-weighted return")
    assert row[0] == f"{month['metrics']['total_return'] * 100:+.2f}%"
    assert row[2] == f"{inception['metrics']['total_return'] * 100:+.2f}%"
    assert row[3] == f"{inception['metrics']['cagr'] * 100:+.2f}%"  # over a year: annualised
    assert _row(figures, "Benchmark return")[0] == "n/a"  # no benchmark prices stored in this workspace


def test_a_month_without_the_kill_switch_or_flows_says_so(imported: Path) -> None:
    _, pages = _report(imported, "2026-01", LIVE)
    text = "\n".join(pages)
    assert "No deposit or withdrawal in this month." in text
    assert "No order denied, no plan refused and no kill-switch change in this month." in text
    assert "Kill switch at month end: ACTIVE, trading as planned (first changed on 2026-03-12, after this month)" in text


def test_an_ib_paper_account_is_labelled_paper_and_nothing_is_annualised(imported: Path) -> None:
    made, pages = _report(imported, "2026-03", PAPER)
    assert made["label"] == "IB PAPER" and Path(made["path"]).name == "2026-03.pdf"
    assert all("IB PAPER" in page for page in pages)
    text = "\n".join(pages)
    assert "younger than a year: no figure is annualised" in text
    assert _row(next(p for p in pages if "Key figures" in p), "Time-weighted return")[3] == "\u2013"
    assert "IB PAPER: the figures come from an Interactive Brokers paper-trading account" in text
    # two months of sessions: the rolling Sharpe's place says why it has no line
    flat = " ".join(text.split())
    assert "A rolling Sharpe ratio needs 126 daily returns (about six months); this record has 41 so far" in flat, flat
    assert "Rolling Sharpe ratio (annualised" not in flat


def test_report_and_verify_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "ws"
    _ok("init", root)
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{pg_url}"'))
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n" + "".join(f"{d},{100000 + 450 * i}\n" for i, d in enumerate(MONTH_ENDS)))
    _ok("--home", root, "import", "snapshots", navs, "--account", LIVE)
    made, pages = _report(root, "2026-02", LIVE)
    assert made["label"] == "LIVE" and all("LIVE" in page for page in pages)
    assert "identical" in _ok("--home", root, "report", "verify", made["path"])
    assert _run("--home", root, "report", "verify", tmp_path / "navs.csv")[0] == 2


def test_verify_of_another_workspaces_report_exits_2_and_writes_nothing(imported: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _ok("init", other)
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n" + "".join(f"{d},{100000 + 100 * i}\n" for i, d in enumerate(MONTH_ENDS)))
    _ok("--home", other, "import", "snapshots", navs, "--account", LIVE)
    made, _ = _report(other, "2026-02", LIVE)
    before = len(json.loads(_ok("--home", imported, "ledger", "log", "--json")))
    assert _run("--home", imported, "report", "verify", made["path"])[0] == 2
    assert len(json.loads(_ok("--home", imported, "ledger", "log", "--json"))) == before


def test_a_live_label_says_what_it_cannot_prove_alone(imported: Path, tmp_path: Path) -> None:
    """An imported record read "LIVE: ... a live Interactive Brokers account" and nothing more,
    even filed under the simulated account's id SIM0001 for want of a configured IB account."""
    text = " ".join(" ".join(_report(imported, "2026-03", LIVE)[1]).split())
    assert "100% of its snapshots since inception were imported from files the trader supplied, not read from " \
           "the broker by trackrecord" in text
    assert "placeholder id" not in text  # its account is named
    root = tmp_path / "ws"
    _ok("init", root)
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n" + "".join(f"{d},{100000 + 900 * i}\n" for i, d in enumerate(MONTH_ENDS)))
    _ok("--home", root, "import", "snapshots", navs)
    made, pages = _report(root, "2026-03", "SIM0001")
    assert made["label"] == "LIVE"
    text = " ".join(" ".join(pages).split())
    assert "No Interactive Brokers account is configured (account.account_id): the record is filed under the " \
           "placeholder id SIM0001." in text
