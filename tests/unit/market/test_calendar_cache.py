"""The exchange calendar kept on disk (``market/calendar_cache.py``): a later process loads
it instead of building it with exchange_calendars, and it is always the library's own
calendar (a damaged, stale or foreign file is rebuilt, never believed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from trackrecord.market import calendar, calendar_cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder and a process that has built no calendar yet."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TRACKRECORD_CACHE_DIR", str(folder))
    _forget_in_process()
    yield folder
    _forget_in_process()


def _forget_in_process() -> None:
    calendar.open_calendar.cache_clear()
    calendar._BUILT.clear()


def _opened_from_disk(code: str, start: date = calendar.DEFAULT_START, end: date | None = None):  # type: ignore[no-untyped-def]
    _forget_in_process()
    assert calendar_cache.load(code) is not None, "no usable cache file"
    return calendar.open_calendar(code, start, end)


def _cache_file(folder: Path, code: str) -> Path:
    [path] = folder.glob(f"calendar-{code}-*.bin")
    return path


@pytest.mark.parametrize("code, zone, early_close", [
    ("XLON", "Europe/London", (date(2024, 12, 24), datetime(2024, 12, 24, 12, 30, tzinfo=timezone.utc))),
    ("XNYS", "America/New_York", (date(2024, 11, 29), datetime(2024, 11, 29, 18, 0, tzinfo=timezone.utc))),
])
def test_the_cached_calendar_equals_a_freshly_built_one(cache: Path, code: str, zone: str,
                                                        early_close: tuple[date, datetime]) -> None:
    calendar.open_calendar(code)
    for start, end in [(calendar.DEFAULT_START, None), (date(2001, 6, 17), date(2026, 7, 24)),
                       (date(2012, 10, 27), date(2012, 11, 5))]:
        cached = _opened_from_disk(code, start, end)
        own = calendar._build(code, start, end)
        assert np.array_equal(cached.sessions, own.sessions) and np.array_equal(cached.closes, own.closes)
        assert cached.sessions.dtype == own.sessions.dtype and cached.closes.dtype == own.closes.dtype
        assert (cached.code, cached.timezone) == (code, zone) == (own.code, own.timezone)
    session, close = early_close
    assert _opened_from_disk(code).close_time(session) == close


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "empty", "not json", "another timezone"])
def test_a_corrupt_cache_file_is_rebuilt(cache: Path, damage: str) -> None:
    expected = calendar.open_calendar("XLON")
    path = _cache_file(cache, "XLON")
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n")
    damaged = {
        "flipped byte": head + b"\n" + body[:100] + bytes([body[100] ^ 1]) + body[101:],
        "truncated": raw[: len(raw) // 2],
        "empty": b"",
        "not json": b"\x00\xff garbage\n" + body,
        "another timezone": head.replace(b"Europe/London", b"Europe/Paris") + b"\n" + body,
    }[damage]
    path.write_bytes(damaged)
    assert calendar_cache.load("XLON") is None
    _forget_in_process()
    rebuilt = calendar.open_calendar("XLON")
    assert np.array_equal(rebuilt.sessions, expected.sessions) and np.array_equal(rebuilt.closes, expected.closes)
    assert rebuilt.timezone == "Europe/London"
    assert calendar_cache.load("XLON") is not None, "the rebuilt calendar was not stored again"


@pytest.mark.parametrize("field, value", [("built_on", "2001-01-01"), ("exchange_calendars", "0.0.1"),
                                          ("code", "XNYS")])
def test_a_cache_file_of_another_day_library_or_exchange_is_not_used(cache: Path, field: str, value: str) -> None:
    calendar.open_calendar("XLON")
    path = _cache_file(cache, "XLON")
    head, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header[field] = value
    header["sha256"] = calendar_cache._digest(calendar_cache._signed_part(header), body)  # a well-formed file
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    assert calendar_cache.load("XLON") is None


def test_a_calendar_from_before_the_cached_start_is_built_and_cached_from_there(cache: Path) -> None:
    calendar.open_calendar("XNYS", date(2000, 1, 1))
    _forget_in_process()
    older = calendar.open_calendar("XNYS", date(1985, 1, 2), date(1985, 12, 31))
    assert older.first_session == date(1985, 1, 2) and older.last_session == date(1985, 12, 31)
    assert calendar_cache.load("XNYS").start == date(1985, 1, 2)


def test_an_unwritable_cache_folder_just_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TRACKRECORD_CACHE_DIR", str(blocker / "cache"))
    _forget_in_process()
    try:
        opened = calendar.open_calendar("XLON", date(2020, 1, 1), date(2020, 12, 31))
    finally:
        _forget_in_process()
    assert opened.first_session == date(2020, 1, 2) and opened.last_session == date(2020, 12, 31)


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRACKRECORD_CACHE_DIR", str(tmp_path / "mine"))
    assert calendar_cache.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TRACKRECORD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert calendar_cache.cache_dir() == tmp_path / "xdg" / "trackrecord"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert calendar_cache.cache_dir() == tmp_path / "home" / ".cache" / "trackrecord"


PROBE = """
import runpy, sys
sys.argv = ["trackrecord", "--home", sys.argv[1], "calendar", "--json"]
try:
    runpy.run_module("trackrecord", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
sys.stderr.write(f"IMPORTED {'exchange_calendars' in sys.modules} {'pandas' in sys.modules}\\n")
"""


def _calendar_command(workspace: Path, cache_dir: Path) -> tuple[str, str]:
    env = {**os.environ, "TRACKRECORD_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(workspace)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_second_process_does_not_import_exchange_calendars(workspace: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    first_out, first = _calendar_command(workspace, cache_dir)
    second_out, second = _calendar_command(workspace, cache_dir)
    assert first == "IMPORTED True True"
    assert second == "IMPORTED False False"
    assert json.loads(second_out) == json.loads(first_out)


def test_a_cached_calendar_vouches_for_its_code_and_an_unknown_code_is_still_refused(cache: Path) -> None:
    from trackrecord.config import Settings, UniverseConfig, check_references
    from trackrecord.errors import UserError

    assert not calendar_cache.holds("XNYS")
    calendar.open_calendar("XNYS")
    assert calendar_cache.holds("XNYS") and not calendar_cache.holds("XLON")
    check_references(Settings(universe=UniverseConfig(calendar="XNYS")), "trackrecord.yaml")
    with pytest.raises(UserError, match="'XXXX' is not an exchange_calendars code"):
        check_references(Settings(universe=UniverseConfig(calendar="XXXX")), "trackrecord.yaml")
    path = _cache_file(cache, "XNYS")
    path.write_bytes(path.read_bytes()[:-1])
    assert not calendar_cache.holds("XNYS")
