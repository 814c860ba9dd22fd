"""trackrecord.yaml edited, or a file imported, in the middle of a record, as a trader does.

A record has one base currency. A trader who edits `account.base_currency` in a paper
workspace with a GBP record (and adds a GBP rate, as `config check` asks) used to get a
snapshot valued in USD with an invented negative cash, a rebalance planned to sell what
the relabelled NAV made look overweight, and a record `stats` refused from then on (the
ledger cannot forget the snapshot). Every command that would record for that account now
refuses first, exit 2, nothing written; the record stays readable; set back, all works.

A record is kept on one exchange calendar. `universe.calendar` edited from XLON to XNYS used
to date the next rebalance, snapshot and gap on the New York exchange's sessions, and `stats`
read the record's frequency off them (a daily record became "irregular", its Sharpe gone).
Every command that dates sessions for the record, or reads figures off them, now refuses in
one line naming the record's calendar; `verify` still checks the ledger; `doctor` says so.

A held instrument removed from the universe used to be "no price for SXLB: run prices
update" (which never fetches it again): the rebalance and the snapshot now say it must stay
in the universe until it is sold.

An import into the paper account (its default account) mixed a file's NAVs into a SIMULATED
record, or replaced a day the simulated broker had valued (a NAV of 500,000 between two of
210,000: the volatility, Sharpe and drawdown of a record nobody traded). An import adds the
days a record lacks and corrects its own imports; the simulated broker's snapshots are never
mixed with a file's or a real broker's."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

NOW = "2026-11-02T12:00:00Z"  # Monday, the month's first session, before the close
EVENING = "2026-11-02T18:00:00Z"
REFUSAL = ("error: account SIM0001's record is in GBP, not in USD (account.base_currency): one record has one "
           "base currency; set account.base_currency back to GBP in trackrecord.yaml")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "record-currency", NOW, 3)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _head(home: Path) -> int:
    with sqlite3.connect(home / "trackrecord.db") as conn:
        return int(conn.execute("SELECT MAX(seq) FROM events").fetchone()[0])


def _set_currency(home: Path, currency: str, fx: str) -> None:
    path = home / "trackrecord.yaml"
    lines = path.read_text().splitlines()
    lines = [f'  base_currency: "{currency}"' + line[line.index("  #"):] if line.startswith("  base_currency: ")
             else f"  fx_rates: {fx}" + line[line.index("  #"):] if line.startswith("  fx_rates: ") else line
             for line in lines]
    path.write_text("\n".join(lines) + "\n")


def test_every_recording_command_refuses_a_changed_base_currency_and_writes_nothing(  # type: ignore[no-untyped-def]
        cli, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_currency(demo, "USD", "{GBP: '1.27'}")
    assert cli("--home", demo, "config", "check").code == 0
    (tmp_path / "flows.csv").write_text("date,amount\n2026-10-30,500\n")
    (tmp_path / "navs.csv").write_text("date,nav\n2026-10-31,300000\n")
    head = _head(demo)
    steps = [("rebalance",), ("execute",), ("cashflow", "add", "--amount", "100", "--date", "2026-10-30"),
             ("import", "cashflows", tmp_path / "flows.csv"), ("import", "snapshots", tmp_path / "navs.csv"),
             ("snapshot",), ("pull",)]
    for step in steps:
        result = cli("--home", demo, *step)
        assert result.code == 2 and result.err.startswith(REFUSAL) and result.err.count("\n") == 1, (step, result)
    monkeypatch.setenv("TRACKRECORD_NOW", EVENING)
    daily = cli("--home", demo, "daily")
    assert daily.code == 2 and daily.err.startswith(REFUSAL), daily
    assert _head(demo) == head  # nothing written, the day's prices included
    job = cli("--home", demo, "run-job", "close")  # the scheduler's job records what it can (the prices) and fails
    assert job.code != 0 and REFUSAL[len("error: "):] in job.err, job
    with sqlite3.connect(demo / "trackrecord.db") as conn:
        kinds = [kind for (kind,) in conn.execute("SELECT kind FROM events WHERE seq > ? ORDER BY seq", (head,))]
    assert "snapshot.recorded" not in kinds and "job.finished" in kinds, kinds
    stats = cli("--home", demo, "stats", "--json")
    assert stats.code == 0 and '"base_currency": "GBP"' in stats.out, stats
    assert cli("--home", demo, "verify").code == 0


def test_set_back_to_the_record_currency_the_day_goes_on(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _set_currency(demo, "USD", "{GBP: '1.27'}")
    assert cli("--home", demo, "execute").code == 2
    _set_currency(demo, "GBP", "{}")
    assert cli("--home", demo, "execute").code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", EVENING)
    daily = cli("--home", demo, "daily")
    assert daily.code == 0 and "snapshot written" in daily.out, daily
    stats = cli("--home", demo, "stats", "--json")
    assert stats.code == 0 and '"base_currency": "GBP"' in stats.out, stats


CALENDAR_REFUSAL = ("error: this workspace's record is kept on the XLON calendar, not on XNYS (universe.calendar): "
                    "its sessions, rebalances and gaps would be dated on another exchange's; set universe.calendar "
                    "back to XLON in trackrecord.yaml")


def _set_calendar(home: Path, code: str) -> None:
    path = home / "trackrecord.yaml"
    text = path.read_text()
    path.write_text(re.sub(r'calendar: "[A-Z]+"', f'calendar: "{code}"', text, count=1))


def test_a_record_is_kept_on_one_calendar(cli, demo: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    before = cli("--home", demo, "stats", "--json")
    _set_calendar(demo, "XNYS")
    assert cli("--home", demo, "config", "check").code == 0  # a valid file: the refusal is the record's
    head = _head(demo)
    steps = [("rebalance",), ("execute",), ("snapshot",), ("prices", "update"), ("stats",), ("report", "2026-10"),
             ("attribution",), ("slippage",), ("cashflow", "add", "--amount", "100", "--date", "2026-10-30"),
             ("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "momentum")]
    for step in steps:
        result = cli("--home", demo, *step)
        assert result.code == 2 and result.err.startswith(CALENDAR_REFUSAL) and result.err.count("\n") == 1, \
            (step, result)
    monkeypatch.setenv("TRACKRECORD_NOW", EVENING)
    daily = cli("--home", demo, "daily")
    assert daily.code == 2 and daily.err.startswith(CALENDAR_REFUSAL), daily
    assert _head(demo) == head
    assert cli("--home", demo, "verify").code == 0  # the ledger itself is sound
    doctor = cli("--home", demo, "doctor", "--json")
    record = next(c for c in json.loads(doctor.out)["checks"] if c["check"] == "record")
    assert record["status"] == "fail" and "kept on the XLON calendar" in record["detail"], record
    _set_calendar(demo, "XLON")
    after = cli("--home", demo, "stats", "--json")
    assert after.code == 0 and after.out == before.out, after.err


def _drop_instrument(home: Path, symbol: str) -> None:
    path = home / "trackrecord.yaml"
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if f'"symbol": "{symbol}"' not in line))


def _held(home: Path) -> str:
    with sqlite3.connect(home / "trackrecord.db") as conn:
        positions = conn.execute("SELECT positions FROM snapshots ORDER BY session_date DESC LIMIT 1").fetchone()[0]
    return json.loads(positions)[0]["symbol"]


def test_a_held_instrument_dropped_from_the_universe_is_named_not_sent_to_prices_update(  # type: ignore[no-untyped-def]
        cli, demo: Path) -> None:
    held = _held(demo)
    _drop_instrument(demo, held)
    head = _head(demo)
    for step in (("rebalance",), ("execute",)):
        result = cli("--home", demo, *step)
        assert result.code == 2, (step, result)
        assert f"SIM0001 holds {held} (" in result.err and "not in universe.instruments" in result.err, result
        assert "put it back" in result.err and "prices update" not in result.err, result
    snapshot = cli("--home", demo, "snapshot")
    assert snapshot.code == 2 and f"is {held} still there?" in snapshot.err, snapshot
    assert _head(demo) == head


def test_an_import_never_replaces_a_day_the_simulated_broker_valued(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    before = cli("--home", demo, "stats", "--json").out
    head = _head(demo)
    (tmp_path / "navs.csv").write_text("date,nav\n2026-10-29,500000\n")
    result = cli("--home", demo, "import", "snapshots", tmp_path / "navs.csv")
    assert result.code == 2 and result.err.startswith(
        "error: navs.csv: 2026-10-29 has a snapshot of SIM0001 recorded by the simulated broker (seq "), result
    assert "it never replaces what was recorded from the account" in result.err and result.err.count("\n") == 1
    assert _head(demo) == head and cli("--home", demo, "stats", "--json").out == before


def test_an_imported_nav_is_not_mixed_into_a_simulated_record(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "navs.csv").write_text("date,nav\n2026-10-31,500000\n")
    head = _head(demo)
    result = cli("--home", demo, "import", "snapshots", tmp_path / "navs.csv")
    assert result.code == 2 and result.err.startswith("error: account SIM0001's record is SIMULATED"), result
    assert "`import snapshots --account ID`" in result.err
    assert _head(demo) == head
    elsewhere = cli("--home", demo, "import", "snapshots", tmp_path / "navs.csv", "--account", "U1234567")
    assert elsewhere.code == 0, elsewhere
    assert cli("--home", demo, "verify").code == 0


def test_a_corrected_import_still_supersedes_its_own_days(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "navs.csv").write_text("date,nav\n2026-03-31,100000\n2026-04-30,101000\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0
    (tmp_path / "fixed.csv").write_text("date,nav\n2026-03-31,100000\n2026-04-30,101500\n")
    fixed = cli("--home", workspace, "import", "snapshots", tmp_path / "fixed.csv")
    assert fixed.code == 0 and "1 added" in fixed.out, fixed
    stats = json.loads(cli("--home", workspace, "stats", "--json").out)
    assert abs(stats["metrics"]["total_return"] - 0.015) < 1e-12


def test_the_simulated_broker_does_not_snapshot_into_an_imported_record(  # type: ignore[no-untyped-def]
        cli, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The paper account is a fresh workspace's default: an older record imported there, then
    a paper `snapshot`, would have blended both under one SIMULATED label."""
    path = workspace / "trackrecord.yaml"
    path.write_text(path.read_text().replace('mode: "dry_run"', 'mode: "paper"'))
    (tmp_path / "navs.csv").write_text("date,nav\n2026-03-31,100000\n2026-04-30,101000\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0
    head = _head(workspace)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-05-05T18:00:00Z")
    for step in (("snapshot",), ("execute",), ("daily",)):
        result = cli("--home", workspace, *step)
        assert result.code == 2 and "record holds snapshots written by an import, not by the simulated broker" \
            in result.err, (step, result)
        assert "broker.sim.account_id" in result.err
    assert _head(workspace) == head


def test_an_imported_fill_is_not_mixed_into_a_simulated_record(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """It showed an open position of 1,000 SXLK in `trades` that the paper account never held."""
    (tmp_path / "fills.csv").write_text("trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,"
                                        "fill_price,commission\nT1,2026-10-20T15:00:00Z,SXLK,STK,BUY,1000,100,100,5\n")
    head = _head(demo)
    result = cli("--home", demo, "import", "fills", tmp_path / "fills.csv")
    assert result.code == 2 and result.err.startswith("error: account SIM0001's record is SIMULATED"), result
    assert "an imported fill would be mixed into it" in result.err and "`import fills --account ID`" in result.err
    assert _head(demo) == head
    assert cli("--home", demo, "import", "fills", tmp_path / "fills.csv", "--account", "U1234567").code == 0
