"""A price file downloaded during a session ends with that session's intraday bar (the shared
data's XLB file did: committed at 13:14 New York). `prices import` and `prices update` from a
CSV folder store a bar only if its session had closed when the file's bytes existed: now, the
file's modification time, or the first import of the same bytes, whichever is earliest."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

SYMBOLS = ("SXLK", "SXLF", "SXLE")
# Friday 2026-08-21 on XLON closes at 16:30 London (15:30 UTC)
DURING = "2026-08-21T12:14:00Z"
AFTER = "2026-08-21T18:00:00Z"


def _write(folder: Path, symbol: str, bars: dict[str, float], modified: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [f"{day},{p!r},{p!r},{p!r},{p!r},{p!r},1000" for day, p in bars.items()]
    path = folder / f"{symbol}.csv"
    path.write_text("\n".join(lines) + "\n")
    if modified is not None:
        moment = datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp()
        os.utime(path, (moment, moment))
    return path


def _folder(folder: Path, friday: float, modified: str | None) -> Path:
    for symbol in SYMBOLS:
        _write(folder, symbol, {"2026-08-19": 4100.0, "2026-08-20": 4123.0, "2026-08-21": friday}, modified)
    return folder


def _events(root: Path) -> int:
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def _last_bar(cli, root: Path, symbol: str = "SXLK") -> dict:  # type: ignore[no-untyped-def]
    shown = cli("--home", root, "prices", "show", symbol, "--json")
    assert shown.code == 0, shown
    return json.loads(shown.out)["latest"][-1]


@pytest.fixture
def ws(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "csv").code == 0
    return root


def test_a_download_during_the_session_never_becomes_its_close(ws: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    downloaded = _folder(tmp_path / "download", 4160.0, modified=DURING)

    monkeypatch.setenv("TRACKRECORD_NOW", "2026-08-21T12:20:00Z")  # imported at once, the session still open
    during = cli("--home", ws, "prices", "import", downloaded)
    assert during.code == 0, during
    assert ("SXLE, SXLF, SXLK: 1 bar (2026-08-21) of each file not imported: the file was last modified at "
            "2026-08-21T12:14:00Z, before that session's close, so the bar is intraday") in during.out
    assert _last_bar(cli, ws)["date"] == "2026-08-20"

    monkeypatch.setenv("TRACKRECORD_NOW", AFTER)  # the same files after the close: still the intraday bar
    before = _events(ws)
    again = cli("--home", ws, "prices", "import", downloaded, "--json")
    assert again.code == 0, again
    held = json.loads(again.out)["held_back"]
    assert [(h["symbol"], h["first"], h["why"]) for h in held] == [(s, "2026-08-21", "modified") for s in sorted(SYMBOLS)]
    assert _events(ws) == before and _last_bar(cli, ws)["date"] == "2026-08-20"

    # copied after the close (a fresh modification time), the same bytes are still those seen at 12:20
    copied = _folder(tmp_path / "copied", 4160.0, modified=None)
    copy = cli("--home", ws, "prices", "import", copied)
    assert copy.code == 0, copy
    assert "(the same bytes) was first imported at 2026-08-21T12:20:00Z, before that session's close" in copy.out
    assert _last_bar(cli, ws)["date"] == "2026-08-20"

    # downloaded again after the close: the real close is stored
    final = _folder(tmp_path / "final", 4171.5, modified="2026-08-21T16:05:00Z")
    stored = cli("--home", ws, "prices", "import", final)
    assert stored.code == 0 and "not imported" not in stored.out, stored
    assert _last_bar(cli, ws) == {"date": "2026-08-21", "adj_close": 41.715, "close": 41.715}
    assert cli("--home", ws, "verify").code == 0


def test_a_bar_of_a_session_not_yet_closed_is_not_imported(ws: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "typo"
    for symbol in SYMBOLS:  # 2026-08-24 (a Monday) typed into Friday evening's file
        _write(folder, symbol, {"2026-08-20": 4123.0, "2026-08-21": 4160.0, "2026-08-24": 4190.0}, modified=None)
    monkeypatch.setenv("TRACKRECORD_NOW", AFTER)
    result = cli("--home", ws, "prices", "import", folder)
    assert result.code == 0, result
    assert ("SXLE, SXLF, SXLK: 1 bar (2026-08-24) of each file not imported: that session has not closed yet "
            f"(now {AFTER}), so the bar is no close; import again after the close") in result.out
    assert _last_bar(cli, ws)["date"] == "2026-08-21"


def test_prices_update_from_a_folder_refreshed_during_the_session(ws: Path, cli,  # type: ignore[no-untyped-def]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(ws / "prices", 4160.0, modified=DURING)  # prices.csv_dir of `init --prices csv`
    monkeypatch.setenv("TRACKRECORD_NOW", AFTER)
    update = cli("--home", ws, "prices", "update", "--json")
    assert update.code == 0, update
    held = json.loads(update.out)["held_back"]
    assert {(h["symbol"], h["first"], h["last"], h["count"], h["why"], h["seen"]) for h in held} == \
        {(s, "2026-08-21", "2026-08-21", 1, "modified", DURING) for s in SYMBOLS}
    assert _last_bar(cli, ws)["date"] == "2026-08-20"

    _folder(ws / "prices", 4171.5, modified="2026-08-21T16:05:00Z")
    shown = cli("--home", ws, "prices", "update")
    assert shown.code == 0 and "not stored" not in shown.out, shown
    assert _last_bar(cli, ws)["date"] == "2026-08-21"


def test_the_real_download_that_held_an_intraday_bar(ws: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    """The shared XLB file's source was committed at 13:14 New York on 2026-07-13 (its last,
    partial row removed since): restored and imported as a trader would have, that day."""
    source = (shared_data / "prices" / "XLB.csv").read_text()
    folder = tmp_path / "xlb"
    folder.mkdir()
    (folder / "XLB.csv").write_text(source + "2026-07-13,50.9,51.2,50.7,51.05,51.05,1200000\n")
    root = tmp_path / "us"
    assert cli("init", root, "--universe", "us-sectors", "--prices", "csv", "--base-currency", "USD").code == 0
    committed = datetime(2026, 7, 13, 17, 14, tzinfo=timezone.utc).timestamp()
    os.utime(folder / "XLB.csv", (committed, committed))
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-07-14T12:00:00Z")
    result = cli("--home", root, "prices", "import", folder)
    assert result.code == 0, result
    assert "XLB: 1 bar (2026-07-13) of XLB.csv not imported: the file was last modified at 2026-07-13T17:14:00Z" in result.out
    assert _last_bar(cli, root, "XLB")["date"] == "2026-07-10"


# -- `init --prices csv` as a new user meets it: the configured folder exists and the output says
# what to put in it; an update from a folder without a file for any instrument is refused (exit 2,
# nothing written) instead of reporting "nothing new" for every symbol


def test_the_csv_folder_is_made_and_an_empty_one_is_refused(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-03T22:00:00Z")  # after the XNYS close
    root = tmp_path / "ws"
    made = cli("init", root, "--universe", "us-sectors", "--base-currency", "USD", "--prices", "csv")
    assert made.code == 0, made
    folder = root / "prices"
    assert folder.is_dir() and f"put one <SYMBOL>.csv per instrument in {folder}" in made.out

    before = _events(root)
    empty = cli("--home", root, "prices", "update")
    assert empty.code == 2, empty
    assert f"price folder {folder} holds no file for any instrument: expected one <SYMBOL>.csv each (XLK.csv" in empty.err
    assert "Traceback" not in empty.err and _events(root) == before

    (folder / "XLK.csv").write_text("date,close\n2026-06-01,250.5\n2026-06-02,251.25\n2026-06-03,252\n")
    stored = cli("--home", root, "prices", "update")
    assert stored.code == 0, stored
    assert "3 bars stored" in stored.out and _events(root) > before
    # the other lines have no file: said so, not "nothing new"
    assert re.search(r"XLF\s+0 bars  \(no file XLF.csv\)", stored.out), stored.out
    assert "(nothing new)" not in stored.out
    assert f"warning: {folder} has no file for XLF, XLE" in stored.err and "expected XLF.csv, XLE.csv" in stored.err
    document = cli("--home", root, "prices", "update", "--json")
    assert document.code == 0 and json.loads(document.out)["no_file"]["XLF"] == str(folder / "XLF.csv")
    assert "XLK" not in json.loads(document.out)["no_file"]

    imported = cli("--home", root, "prices", "import", tmp_path)  # a folder with no file for the universe
    assert imported.code == 2 and f"price folder {tmp_path} holds no file for any instrument" in imported.err, imported


def test_a_bar_on_a_day_the_exchange_does_not_trade_is_not_a_close(ws: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of New York's days in a London workspace holds the UK's summer bank holiday
    (Monday 2026-08-31, NYSE open): stored, it was August's month-end close for the signal,
    a price the simulated broker never trades at. A benchmark's quotes are taken as they come."""
    config = ws / "trackrecord.yaml"
    config.write_text(re.sub(r"(?m)^  benchmarks: .*$", '  benchmarks: ["SPY"]', config.read_text()))
    folder = tmp_path / "new-york-days"
    bars = {"2026-08-27": 4100.0, "2026-08-28": 4123.0, "2026-08-29": 4124.0, "2026-08-31": 4150.0,
            "2026-09-01": 4160.0}
    for symbol in (*SYMBOLS, "SPY"):
        _write(folder, symbol, bars, modified=None)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-09-01T18:00:00Z")
    result = cli("--home", ws, "prices", "import", folder, "--json")
    assert result.code == 0, result
    held = json.loads(result.out)["held_back"]
    assert {(h["symbol"], h["first"], h["last"], h["count"], h["why"]) for h in held} == \
        {(s, "2026-08-29", "2026-08-31", 2, "not a session") for s in SYMBOLS}
    shown = cli("--home", ws, "prices", "show", "SXLK", "--json")
    assert [bar["date"] for bar in json.loads(shown.out)["latest"]][-3:] == ["2026-08-27", "2026-08-28", "2026-09-01"]
    with sqlite3.connect(ws / "trackrecord.db") as db:
        spy = [day for (day,) in db.execute("SELECT session_date FROM prices WHERE symbol = 'SPY' ORDER BY 1")]
    assert spy == list(bars)
    again = cli("--home", ws, "prices", "import", folder)
    assert ("SXLE, SXLF, SXLK: 2 bars (2026-08-29 .. 2026-08-31) of each file not imported: days that are not XLON "
            "sessions (universe.calendar), so no close the universe trades at; a file of another exchange's days?") \
        in again.out, again.out


def test_a_bar_dated_after_today_is_not_called_intraday(ws: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "typo"
    for symbol in SYMBOLS:  # 2030 typed for 2026; the same bytes imported twice
        _write(folder, symbol, {"2026-08-20": 4123.0, "2026-08-21": 4160.0, "2030-08-24": 4190.0}, modified=None)
    monkeypatch.setenv("TRACKRECORD_NOW", AFTER)
    assert cli("--home", ws, "prices", "import", folder).code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-08-24T18:00:00Z")
    again = cli("--home", ws, "prices", "import", folder)
    assert again.code == 0, again
    assert ("SXLE, SXLF, SXLK: 1 bar (2030-08-24) of each file not imported: that session has not closed yet "
            "(now 2026-08-24T18:00:00Z)") in again.out and "intraday" not in again.out, again.out
