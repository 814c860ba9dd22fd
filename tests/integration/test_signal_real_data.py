"""The signal on real US sector ETF history (../shared/data/prices), checked by hand.

The momentum figures are recomputed here from the CSV text with the csv module, independently
of trackrecord's own readers and arrays.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, require

TICKERS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")


def _run(*args: object) -> tuple[int, str, str]:
    from trackrecord.cli.app import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _workspace(root: Path, prices: Path) -> Path:
    assert _run("init", root, "--universe", "us-sectors", "--prices", "csv", "--base-currency", "USD")[0] == 0
    code, out, err = _run("--home", root, "prices", "import", prices)
    assert code == 0, err
    return root


@pytest.fixture(scope="module")
def real_prices() -> Path:
    folder = SHARED_DATA / "prices"
    require(all((folder / f"{t}.csv").is_file() for t in TICKERS), f"real sector prices not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def real_workspace(real_prices: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _workspace(tmp_path_factory.mktemp("real") / "ws", real_prices)


def _signal(root: Path, as_of: str) -> dict:  # type: ignore[type-arg]
    code, out, err = _run("--home", root, "signal", "--as-of", as_of, "--json")
    assert code == 0, err
    return json.loads(out)


def _month_back(year: int, month: int, back: int) -> str:
    number = year * 12 + month - 1 - back
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def _hand_momentum(folder: Path, ticker: str, year: int, month: int) -> tuple[str, str, float]:
    """close(last row of month M-2) / close(last row of month M-13) - 1, from the CSV text."""
    last_of: dict[str, tuple[str, str]] = {}
    with open(folder / f"{ticker}.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            last_of[row["date"][:7]] = (row["date"], row["adj_close"])
    start_day, start = last_of[_month_back(year, month, 13)]
    end_day, end = last_of[_month_back(year, month, 2)]
    return start_day, end_day, float(end) / float(start) - 1


@pytest.mark.parametrize("as_of", ["2001-01-02", "2008-11-14", "2014-03-03", "2020-05-29", "2026-03-02"])
def test_momentum_matches_hand_computation(real_workspace: Path, real_prices: Path, as_of: str) -> None:
    day = date.fromisoformat(as_of)
    document = _signal(real_workspace, as_of)
    assert {"rebalance_date", "formation_start", "formation_end", "ranks", "inputs_sha256", "simulated"} <= set(document)
    assert document["simulated"] is False and len(document["ranks"]) == 9
    for entry in document["ranks"]:
        start_day, end_day, momentum = _hand_momentum(real_prices, entry["symbol"], day.year, day.month)
        assert entry["momentum"] == momentum, entry["symbol"]
        assert (entry["start_date"], entry["end_date"]) == (start_day, end_day)
        assert set(entry) >= {"rank", "symbol", "sector", "momentum", "target_weight", "held"}
    ordered = sorted(document["ranks"], key=lambda e: (-e["momentum"], e["symbol"]))
    assert [e["symbol"] for e in ordered] == [e["symbol"] for e in document["ranks"]]
    assert [e["target_weight"] for e in document["ranks"]] == [1 / 3] * 3 + [0.0] * 6


def test_march_2026_formation_window_is_the_documented_one(real_workspace: Path) -> None:
    document = _signal(real_workspace, "2026-03-20")
    assert (document["rebalance_date"], document["formation_start"], document["formation_end"]) == (
        "2026-03-02", "2025-02-28", "2026-01-30")


def test_the_signal_of_a_month_is_the_same_whichever_day_it_is_computed(real_workspace: Path) -> None:
    def essence(document: dict) -> tuple:  # type: ignore[type-arg]
        return (document["rebalance_date"], document["inputs_sha256"],
                tuple((e["symbol"], e["momentum"], e["target_weight"]) for e in document["ranks"]))

    for days in (("2019-06-01", "2019-06-03", "2019-06-14", "2019-06-30"), ("2026-03-01", "2026-03-02", "2026-03-31")):
        results = {essence(_signal(real_workspace, d)) for d in days}
        assert len(results) == 1, days


def test_altering_every_price_after_the_formation_window_changes_nothing(
    real_workspace: Path, real_prices: Path, tmp_path: Path
) -> None:
    formation_end = "2026-01-30"
    altered = tmp_path / "altered"
    altered.mkdir()
    for ticker in TICKERS:
        lines = (real_prices / f"{ticker}.csv").read_text().splitlines()
        header, rows, step = lines[0], [], 0
        for line in lines[1:]:
            cells = line.split(",")
            if cells[0] > formation_end:
                step += 1  # a slow drift, within the daily-move gate
                cells[1:5] = [repr(float(c) * (1 + 0.003 * step)) for c in cells[1:5]]
            rows.append(",".join(cells))
        (altered / f"{ticker}.csv").write_text("\n".join([header, *rows]) + "\n")
    other = _workspace(tmp_path / "ws", altered)
    original, changed = _signal(real_workspace, "2026-03-16"), _signal(other, "2026-03-16")
    assert changed["ranks"] == original["ranks"]
    assert changed["inputs_sha256"] == original["inputs_sha256"]


def test_every_signal_the_engine_acts_on_is_a_ledger_event_and_the_ledger_verifies(real_workspace: Path) -> None:
    document = _signal(real_workspace, "2014-03-03")
    assert document["seq"] is None, "a what-if signal (--as-of) is not recorded"
    code, out, err = _run("--home", real_workspace, "execute", "--as-of", "2014-03-03", "--cash", "100000", "--json")
    assert code == 0, err
    code, out, _ = _run("--home", real_workspace, "ledger", "log", "--kind", "signal.computed", "--json")
    events = json.loads(out)
    payload = next(e["payload"] for e in events if e["payload"]["rebalance_date"] == "2014-03-03")
    assert payload["inputs_sha256"] == document["inputs_sha256"]
    assert payload["inputs_sha256"] == document["inputs_sha256"]
    assert payload["params"] == {"lookback_months": 12, "skip_months": 1, "top_n": 3, "exit_rank": 5,
                                 "min_momentum": None}
    assert payload["code_version"] and len(payload["ranks"]) == 9
    assert [r["momentum"] for r in payload["ranks"]] == [repr(e["momentum"]) for e in document["ranks"]]
    assert _run("--home", real_workspace, "verify")[0] == 0


def test_the_real_data_can_be_planned_for_an_empty_account(real_workspace: Path) -> None:
    code, out, err = _run("--home", real_workspace, "rebalance", "--as-of", "2020-05-01", "--cash", "100000", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["session_date"] == "2020-05-01" and len(plan["orders"]) == 3
    assert all(o["side"] == "BUY" and o["order_ref"].endswith("-B") for o in plan["orders"])
    assert float(plan["cash_after"]) >= 1000.0

