"""`report YYYY-MM` and `weekly-report` as a trader types them on a record that goes on:
a month still open is labelled with the day it reaches, never as if it had ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

pypdf = pytest.importorskip("pypdf")

NOW = "2026-11-02T12:00:00Z"  # Monday before the close: the demo's last session is Friday 2026-10-30


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "show-reports", NOW, 5)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages).split())


def test_a_report_of_the_month_still_open_names_the_day_it_reaches(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-04T18:00:00Z")
    assert cli("--home", demo, "daily").code == 0
    assert cli("--home", demo, "report", "2026-11").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-11.pdf")
    assert "Period 2026-11-01 to 2026-11-30 (the month's last snapshot: 2026-11-04)" in text
    assert "Positions at the month's last snapshot (2026-11-04)" in text
    assert "Positions at month end (2026-11-30)" not in text
    # the headline return is the month so far, not November's
    assert "to its last snapshot, 2026-11-04: the month's sessions after it are not in this report" in text
    assert "Month to 2026-11-04 Year to date" in text and "This month Year to date" not in text


def test_a_report_of_a_complete_month_keeps_its_month_end(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "report", "2026-10").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-10.pdf")
    assert "Period 2026-10-01 to 2026-10-31 Inception" in text
    assert "Positions at month end (2026-10-31)" in text and "last snapshot:" not in text
    assert "This month Year to date" in text and "Month to" not in text and "last snapshot," not in text


def test_a_kill_switch_changed_after_the_month_is_not_never_changed(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    """The switch is flipped today (2026-11-02); October's report must not say it never changed."""
    assert cli("--home", demo, "kill-switch", "activate", "broker outage").code == 0
    assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0
    assert cli("--home", demo, "report", "2026-10").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-10.pdf")
    assert "never changed" not in text
    assert "Kill switch at month end: ACTIVE, trading as planned (first changed on" in text


def test_the_kill_switch_state_says_what_it_means(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    """"Kill switch at month end: ACTIVE" read as if the switch had been set off; the state
    now says what it means (a change: "ACTIVE, trading as planned, since ..." in test_report_cases)."""
    assert cli("--home", demo, "report", "2026-10").code == 0
    assert "Kill switch at month end: ACTIVE, trading as planned (never changed)." in \
        _text(demo / "reports" / "monthly" / "2026-10.pdf")


def test_a_weekly_report_before_the_record_names_the_week_option(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", demo, "weekly-report", "--week", "2024-W01")
    assert result.code == 2, result
    assert result.err.startswith("error: --week 2024-W01: account SIM0001 has no snapshot") and "PERIOD" not in result.err


def test_trades_over_a_range_without_fills_says_so_instead_of_zero_percent_of_each(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli("--home", demo, "trades", "2030-01-01").out
    assert "Provenance of the fills: none in the period" in out
    assert "broker 0%, imported 0%, simulated 0%" not in out


def test_stats_span_without_a_month_is_refused_not_ignored(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", demo, "stats", "--span", "ytd")
    assert result.code == 2 and "--span ytd: only with --month" in result.err and result.out == "", result
    month = cli("--home", demo, "stats", "--month", "2026-10", "--span", "ytd", "--json")
    assert month.code == 0 and month.out.startswith("{"), month


def test_a_month_after_a_month_without_snapshot_says_where_its_return_starts(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    (tmp_path / "navs.csv").write_text("date,nav\n2026-03-31,100000\n2026-04-30,101000\n2026-06-30,103000\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0
    assert cli("--home", workspace, "report", "2026-05").code == 2  # no snapshot in May: no report of May
    assert cli("--home", workspace, "report", "2026-06").code == 0
    june = _text(workspace / "reports" / "monthly" / "2026-06.pdf")
    assert "No snapshot between 2026-04-30 and this month: the month's figures run from the snapshot of 2026-04-30." in june
    assert cli("--home", workspace, "report", "2026-04").code == 0
    assert "No snapshot between" not in _text(workspace / "reports" / "monthly" / "2026-04.pdf")


def _change_rules(home: Path, **values: str) -> None:
    path = home / "trackrecord.yaml"
    text = path.read_text()
    for key, value in values.items():
        lines = [line for line in text.splitlines() if line.startswith(f"  {key}: ")]
        assert len(lines) == 1, key
        text = text.replace(lines[0], f"  {key}: {value}")
    path.write_text(text)


def _an_instrument_not_held(home: Path) -> str:
    import json
    import sqlite3

    with sqlite3.connect(home / "trackrecord.db") as conn:
        positions = conn.execute("SELECT positions FROM snapshots ORDER BY session_date DESC LIMIT 1").fetchone()[0]
    held = {p["symbol"] for p in json.loads(positions)}
    universe = ["SXLK", "SXLF", "SXLE", "SXLV", "SXLY", "SXLP", "SXLI", "SXLB", "SXLU"]
    return next(s for s in reversed(universe) if s not in held)


def test_a_month_is_described_by_the_rules_it_traded_under_not_todays(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The trader moves from 12-1 top 3 to 6-1 top 2 for November and drops an instrument:
    October's report keeps saying 12-1 top 3 over nine (its trades' rules), November's says
    6-1 top 2 over eight and that they changed."""
    _change_rules(demo, lookback_months="6", top_n="2", max_position_weight="0.55")
    dropped = _an_instrument_not_held(demo)
    config = demo / "trackrecord.yaml"
    config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                              if f'"symbol": "{dropped}"' not in line))
    assert cli("--home", demo, "report", "2026-10").code == 0
    october = _text(demo / "reports" / "monthly" / "2026-10.pdf")
    assert "Sector momentum 12-1" in october and "the top 3 are held" in october, october[:900]
    assert f", {dropped}" in october[:400] or f"({dropped}," in october[:400], october[:400]
    assert "changed" not in october[:1200] and "configured rules" not in october
    assert cli("--home", demo, "execute").code == 0  # 2026-11-02, the month's first session, before the close
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")
    assert cli("--home", demo, "daily").code == 0
    made = cli("--home", demo, "report", "2026-11", "--json")
    assert made.code == 0, made
    november = _text(demo / "reports" / "monthly" / "2026-11.pdf")
    assert "Sector momentum 6-1" in november and "the top 2 are held" in november, november[:1200]
    assert ("The rules changed during the record: from the rebalance of 2026-11-02, a 6-month lookback (was a "
            f"12-month lookback), top 2 held (was top 3 held) and {dropped} taken out of the universe.") in november, \
        november[:1500]
    assert f", {dropped}," not in november[:400] and f"({dropped}," not in november[:400]
    again = cli("--home", demo, "report", "2026-10")
    assert again.code == 0 and "Sector momentum 12-1" in _text(demo / "reports" / "monthly" / "2026-10.pdf")
    verified = cli("--home", demo, "report", "verify", str(demo / "reports" / "monthly" / "2026-11.pdf"))
    assert verified.code == 0, verified


def test_a_report_before_any_rebalance_says_its_rules_are_the_configured_ones(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path) -> None:
    (tmp_path / "navs.csv").write_text("date,nav\n2026-03-31,100000\n2026-04-30,101000\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0
    assert cli("--home", workspace, "report", "2026-04").code == 0
    text = _text(workspace / "reports" / "monthly" / "2026-04.pdf")
    assert "These are the configured rules: no rebalance has been planned yet." in text
