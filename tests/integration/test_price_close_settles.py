"""A Yahoo bar fetched minutes after the bell holds the last trade, not the exchange's closing
price: stored then, the next update found its raw close changed and refused the whole update
("the source disagrees with the recorded history"), and a paper fill or snapshot of that
session was valued at a price the exchange never printed. Now a session's bar is not fetched
from Yahoo before 15 minutes after its close, and the update says when to run again.

The real workspace and SQLite ledger, the real YahooSource replaying a recorded download."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from tests.unit.market.test_market_sources import RecordedYahoo

CLOSE = datetime(2026, 2, 27, 16, 30, tzinfo=timezone.utc)  # XLON, GMT in February


def _update(root: Path, now: datetime):  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import connect
    from trackrecord.market.service import calendar_for, update_prices
    from trackrecord.market.store import last_stored_dates
    from trackrecord.market.yahoo_source import YahooSource
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(root))
    try:
        calendar = calendar_for(services.settings)
        result = update_prices(services.ledger, services.settings, YahooSource(RecordedYahoo(), sleep=lambda s: None),
                               calendar, now)
        return result, last_stored_dates(services.engine, ["SXLK", "SXLF"])
    finally:
        services.close()


def test_a_close_minutes_old_is_not_stored_and_the_update_says_when(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('history_start: "2015-01-01"', 'history_start: "2026-02-24"'))

    early, stored = _update(root, CLOSE.replace(minute=35))
    assert stored == {"SXLK": date(2026, 2, 26), "SXLF": date(2026, 2, 25)}  # SXLF has no bar on the 26th
    assert early.unsettled is not None and early.unsettled.startswith("2026-02-27 closed at 2026-02-27T16:30:00Z: "
                                                                      "yahoo's bar for it holds the last trade")
    assert "not stored before 2026-02-27T16:45:00Z (15 minutes after the close); update again then" in early.unsettled

    settled, stored = _update(root, CLOSE.replace(minute=45))
    assert settled.unsettled is None
    assert stored == {"SXLK": date(2026, 2, 27), "SXLF": date(2026, 2, 27)}
    assert cli("--home", root, "verify").code == 0
