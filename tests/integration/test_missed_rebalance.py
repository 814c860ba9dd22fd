"""A paper trader who lets the month's first session pass without `execute` and types it the
next day used to read only "not a rebalance session; nothing to trade", and that evening's
`daily` only its snapshot: nothing said that the month would not be traded. Both now name the
rebalance the account missed, and say it keeps its holdings until the next one; the month's
report and `attribution` say that the model, which trades the recorded signals, did not
rebalance on it either; a month whose rebalance was run, or a record that had
not begun, says nothing of the kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

from tests.integration.demo_support import copy_demo, import_a_pence_bar, make_demo

NOW = "2026-11-02T12:00:00Z"  # Monday, the month's first session, before the close
NEXT_DAY = "2026-11-03T12:00:00Z"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "missed-rebalance", NOW, 4)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def test_a_rebalance_session_let_pass_is_named_the_next_day(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")
    daily = cli("--home", demo, "daily")  # the close of the first session, no execute before it
    assert daily.code == 0 and daily.out.splitlines()[1] == (
        "note: 2026-11-02 is this month's rebalance session and no rebalance was run for account SIM0001 "
        "(`trackrecord execute`, before the close); it keeps its holdings until 2026-12-01"), daily.out
    monkeypatch.setenv("TRACKRECORD_NOW", NEXT_DAY)
    shown = cli("--home", demo, "execute")
    assert shown.code == 0, shown
    assert shown.out == ("2026-11-03 is not a rebalance session (next: 2026-12-01); this month's rebalance "
                         "(2026-11-02) was not run for account SIM0001, which keeps its holdings until 2026-12-01; "
                         "nothing to trade\n"), shown.out
    document = json.loads(cli("--home", demo, "execute", "--json").out)
    assert document["missed_rebalance"] == "2026-11-02" and document["rebalance"] is False
    # the month's report does not pass for a rebalanced one, nor its attribution for a month the model traded
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-03T18:00:00Z")
    assert cli("--home", demo, "daily").code == 0 and cli("--home", demo, "report", "2026-11").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-11.pdf")
    assert "No signal was computed in this month: its rebalance session, 2026-11-02, was not run: the account kept " \
           "its holdings." in text
    assert "This month's rebalance was not run: no signal was recorded, so the model, which trades the recorded " \
           "signals, did not rebalance either" in text and "traded every model rebalance" not in text
    attribution = cli("--home", demo, "attribution")
    assert attribution.code == 0 and ("rebalance sessions without a plan (not run, or blocked by the price gates): "
                                      "2026-11-02; the model did not rebalance on them either") in attribution.out
    assert json.loads(cli("--home", demo, "attribution", "--json").out)["rebalances_without_a_plan"] == ["2026-11-02"]


def test_a_month_whose_rebalance_was_run_says_nothing_missed(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("--home", demo, "execute").code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")
    daily = cli("--home", demo, "daily", "--json")
    assert daily.code == 0 and json.loads(daily.out)["missed_rebalance"] is None, daily
    monkeypatch.setenv("TRACKRECORD_NOW", NEXT_DAY)
    shown = cli("--home", demo, "execute")
    assert shown.code == 0 and shown.out == "2026-11-03 is not a rebalance session (next: 2026-12-01); nothing to " \
                                            "trade\n", shown.out
    assert json.loads(cli("--home", demo, "execute", "--json").out)["missed_rebalance"] is None
    assert json.loads(cli("--home", demo, "attribution", "--json").out)["rebalances_without_a_plan"] == []


def test_a_record_begun_after_the_rebalance_missed_nothing(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ws"
    assert cli("init", home, "--prices", "synthetic").code == 0
    config = home / "trackrecord.yaml"
    config.write_text(config.read_text().replace('mode: "dry_run"', 'mode: "paper"', 1))
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-03T18:00:00Z")
    assert cli("--home", home, "cashflow", "add", "--amount", "100000", "--date", "2026-11-03").code == 0
    assert cli("--home", home, "daily").code == 0  # the record's first snapshot: after the month's rebalance
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-04T12:00:00Z")
    shown = cli("--home", home, "execute", "--json")
    assert shown.code == 0, shown
    document = json.loads(shown.out)
    assert document["mode"] == "paper" and document["missed_rebalance"] is None, document
    assert cli("--home", home, "report", "2026-11").code == 0
    assert "No signal was computed in this month: the record began after the month's rebalance session, 2026-11-02." \
        in _text(home / "reports" / "monthly" / "2026-11.pdf")


def _text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages).split())


def test_a_month_whose_signal_the_gates_blocked_says_so(cli, demo: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import_a_pence_bar(cli, demo, tmp_path / "fix")
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")
    assert cli("--home", demo, "daily").code == 3  # the signal's gates block the rebalance
    assert cli("--home", demo, "report", "2026-11").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-11.pdf")
    assert "No signal was computed in this month: the price quality gates blocked the signal of its rebalance " \
           "session, 2026-11-02." in text and "This month's rebalance was not run" not in text
