"""What a command loads before it works: a backtest (and every other command) does not
import what it never uses: exchange_calendars and pandas once the calendar is cached, the
IBKR adapter (asyncio, ib_async), the scheduler's jobs and notifier, Rich while nothing is
logged to the console, numpy.ma (np.unique and np.isin load it)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trackrecord.logs import LOGGER, configure_logging

NOT_NEEDED = ("exchange_calendars", "pandas", "trackrecord.brokers.ibkr", "ib_async", "trackrecord.ops.jobs",
              "trackrecord.ops.notify", "rich", "numpy.ma")

PROBE = """
import json, runpy, sys
sys.argv = ["trackrecord", *sys.argv[1:]]
try:
    runpy.run_module("trackrecord", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
sys.stderr.write("LOADED " + json.dumps([m for m in %r if m in sys.modules]) + "\\n")
""" % (NOT_NEEDED,)


def _loaded(*args: object, cache: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "TRACKRECORD_CACHE_DIR": str(cache)}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stderr.strip().splitlines()[-1].removeprefix("LOADED "))


@pytest.mark.slow
def test_a_backtest_and_its_stats_load_nothing_they_do_not_use(cli, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", home, "--universe", "us-sectors", "--prices", "csv", "--base-currency", "USD").code == 0
    cache, out = tmp_path / "cache", tmp_path / "bt"
    backtest = ("--home", home, "backtest", "--from", "2024-01-01", "--to", "2024-04-30",
                "--prices-dir", shared_data / "prices", "--out", out, "--json")
    assert "exchange_calendars" in _loaded("--home", home, "calendar", "--json", cache=cache)  # builds it once
    assert _loaded(*backtest, cache=cache) == []
    assert _loaded("--home", out, "stats", "--json", cache=cache) == []
    assert _loaded("--home", home, "config", "check", cache=cache) == []  # the cached code is a known one
    assert _loaded("--help", cache=cache) == []


def test_a_console_warning_is_still_shown_through_rich(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(None)
    logger = logging.getLogger(LOGGER)
    logger.info("not shown on the console")
    logger.warning("the gateway is slow to answer")
    err = capsys.readouterr().err
    assert "WARNING" in err and "the gateway is slow to answer" in err and "not shown" not in err


def test_a_command_collects_young_objects_every_50000_allocations_not_700(cli) -> None:  # type: ignore[no-untyped-def]
    """A command's objects mostly live to its end: at CPython's 700 the collector walked the
    whole heap twice in the 25-year backtest, ~150-190 ms of collection in all."""
    import gc

    from trackrecord.cli.app import COLLECTOR_THRESHOLDS

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert cli("--help").code == 0
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS == (50_000, 10, 10)
    finally:
        gc.set_threshold(*before)
