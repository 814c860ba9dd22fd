"""A prices folder a demanding user hands to `trackrecord backtest`: a gap, a bar on a day the
exchange was closed, a one-day jump, or a file that ends early. The gap and the closed day
were replayed silently (marked and traded at a stale close), the jump stopped the replay in
its middle with exit 1 and a hint about `prices update` that does not apply; now each is one
line naming the file and the day, exit 2, nothing written, and an early end is said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_backtest_user_workspace import WINDOW, events, write_market


@pytest.fixture
def home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    return root


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_text().splitlines(True)
    path.write_text("".join(change(line) for line in lines))


@pytest.mark.parametrize("damage, words", [
    (lambda line: "" if line.startswith("2019-04-1") else line, "XLK.csv: no bar for 7 XNYS session(s) the backtest "
                                                               "needs (2019-04-10, 2019-04-11, 2019-04-12 and 4 more)"),
    (lambda line: "" if line.startswith("2018-09-10") else line, "XLK.csv: no bar for 1 XNYS session(s) the "
                                                                 "backtest needs (2018-09-10)"),
    (lambda line: line + "2019-05-04,51.0\n" if line.startswith("2019-05-03") else line,
     "XLK.csv: a bar on 2019-05-04, a day XNYS was closed"),
    (lambda line: line.replace(",", ",1") if line.startswith("2019-05-15") else line,
     "XLK.csv: the close of 2019-05-15"),
])
def test_a_damaged_prices_file_is_one_line_naming_it_exit_2_nothing_written(cli, home: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                            damage, words: str) -> None:
    market = write_market(tmp_path / "prices")
    edit(market / "XLK.csv", damage)
    before = events(cli, home)
    refused = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out")
    assert refused.code == 2, refused
    assert words in refused.err and "nothing was written" in refused.err, refused.err
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert events(cli, home) == before and not (tmp_path / "out").exists()


def test_a_gap_before_the_lookback_needs_it_is_no_reason_to_refuse(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    edit(market / "XLK.csv", lambda line: "" if line.startswith("2018-01-1") else line)  # the lookback starts in March
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out").code == 0


def test_a_file_that_ends_early_ends_the_backtest_there_and_says_so(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    edit(market / "XLB.csv", lambda line: "" if line.startswith("2019-06") else line)
    result = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["to"] == "2019-05-31"
    assert document["notes"] == [f"the backtest stops on 2019-05-31, the last bar of {market / 'XLB.csv'}; other "
                                 "instruments have bars to 2019-06-28"]
    table = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "out")
    assert "note: the backtest stops on 2019-05-31" in table.out


def test_prices_that_end_before_from_name_the_dates(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    refused = cli("--home", home, "backtest", "--from", "2030-01-01", "--to", "2030-06-30", "--prices-dir", market)
    assert refused.code == 2 and "from the lookback before --from 2030-01-01 to --to 2030-06-30" in refused.err, refused


def test_a_to_date_in_the_future_ends_the_backtest_at_the_last_bar_and_says_so(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    result = cli("--home", home, "backtest", "--from", "2019-03-01", "--to", "2031-06-30", "--prices-dir", market,
                 "--out", tmp_path / "out", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["to"] == "2019-06-28"
    assert document["notes"] == ["--to 2031-06-30 is after the price history's last session (2019-06-28): the "
                                 "backtest ends there"]
