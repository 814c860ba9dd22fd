"""`prices import` as a trader runs it: stored bars change only on purpose (`--replace`,
recorded as `prices.corrected`), idempotency is on the bars, benchmarks are priced but never
ranked, and a hostile price file is one line, exit 2, nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

SYMBOLS = ("SXLK", "SXLF", "SXLE")


def _file(folder: Path, symbol: str, bars: dict[str, float]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [f"{day},{p!r},{p!r},{p!r},{p!r},{p!r},1000" for day, p in bars.items()]
    path = folder / f"{symbol}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = {"2026-01-02": 4100.0, "2026-01-05": 4123.0, "2026-01-06": 4150.0}


@pytest.fixture
def ws(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "csv").code == 0
    return root


def _counts(root: Path) -> tuple[int, int]:
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0], db.execute("SELECT count(*) FROM prices").fetchone()[0]
    finally:
        db.close()


def _stored(root: Path, symbol: str, day: str) -> float:
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        return db.execute("SELECT adj_close FROM prices WHERE symbol=? AND session_date=?", (symbol, day)).fetchone()[0]
    finally:
        db.close()


def test_an_import_that_would_change_a_stored_bar_is_refused_and_lists_it(ws: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good"
    for symbol in SYMBOLS:
        _file(good, symbol, GOOD)
    assert cli("--home", ws, "prices", "import", good).code == 0
    bad = tmp_path / "bad"
    _file(bad, "SXLF", {"2026-01-05": 150.0})  # 1.5 pounds in pence: a one-row file replacing a real bar
    before = _counts(ws)
    refused = cli("--home", ws, "prices", "import", bad)
    assert refused.code == 2 and refused.err.count("\n") == 1, refused
    assert "SXLF 2026-01-05: adj close 41.23 -> 1.5" in refused.err and "--replace" in refused.err
    assert _counts(ws) == before and _stored(ws, "SXLF", "2026-01-05") == pytest.approx(41.23)


def test_replace_records_the_correction_and_the_good_file_restores_the_bars(ws: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good, bad = tmp_path / "good", tmp_path / "bad"
    for symbol in SYMBOLS:
        _file(good, symbol, GOOD)
    _file(bad, "SXLF", {"2026-01-05": 150.0})
    assert cli("--home", ws, "prices", "import", good).code == 0
    replaced = cli("--home", ws, "prices", "import", bad, "--replace")
    assert replaced.code == 0 and "corrected SXLF 2026-01-05: adj close 41.23 -> 1.5" in replaced.out, replaced
    assert _stored(ws, "SXLF", "2026-01-05") == pytest.approx(1.5)
    assert cli("--home", ws, "prices", "import", good).code == 2  # the good file would change the bad bar back
    restored = cli("--home", ws, "prices", "import", good, "--replace", "--json")
    assert restored.code == 0, restored
    assert [c["symbol"] for c in json.loads(restored.out)["corrected"]] == ["SXLF"]
    assert _stored(ws, "SXLF", "2026-01-05") == pytest.approx(41.23)
    log = json.loads(cli("--home", ws, "ledger", "log", "--kind", "prices.corrected", "--json").out)
    assert [e["payload"]["bars"][0]["new"]["adj_close"] for e in log] == ["1.5", "41.23"]
    assert log[0]["payload"]["bars"][0]["old"] == {"close": "41.23", "adj_close": "41.23"}
    assert cli("--home", ws, "verify").code == 0


def test_re_importing_identical_bars_adds_nothing_and_says_so(ws: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = tmp_path / "a", tmp_path / "b"
    _file(first, "SXLK", GOOD)
    _file(second, "SXLK", {**GOOD, "2026-01-02": GOOD["2026-01-02"]})
    (second / "SXLK.csv").write_text((second / "SXLK.csv").read_text() + "\n")  # other bytes, same bars
    assert cli("--home", ws, "prices", "import", first).code == 0
    before = _counts(ws)
    again = cli("--home", ws, "prices", "import", second)
    assert again.code == 0 and "SXLK: every bar already imported, nothing added" in again.out, again
    assert _counts(ws) == before
    more = _file(tmp_path / "c", "SXLK", {**GOOD, "2026-01-07": 4160.0})
    added = json.loads(cli("--home", ws, "prices", "import", more.parent, "--json").out)
    assert added["imported"] == {"SXLK": 1} and added["corrected"] == []


def test_benchmarks_outside_the_universe_are_stored_not_ranked(ws: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = ws / "trackrecord.yaml"
    config.write_text(config.read_text().replace('benchmark: "universe"', 'benchmark: "SPY"')
                      .replace("benchmarks: []", 'benchmarks: ["FTSE100"]'))
    assert cli("--home", ws, "config", "check").code == 0
    folder = tmp_path / "files"
    _file(folder, "SXLK", GOOD)
    _file(folder, "SPY", {"2026-01-02": 590.0, "2026-01-05": 595.5})
    _file(folder, "FTSE100", {"2026-01-02": 8200.0})
    result = cli("--home", ws, "prices", "import", folder, "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["imported"] == {"SXLK": 3, "SPY": 2, "FTSE100": 1} and document["benchmarks"] == ["FTSE100", "SPY"]
    assert "SPY.csv" not in document["ignored"] and "SPY" not in document["missing"]
    shown = json.loads(cli("--home", ws, "prices", "show", "SPY", "--json").out)
    assert shown["bars"] == 2 and shown["latest"][-1]["adj_close"] == 595.5  # no pence conversion for a benchmark
    signal = cli("--home", ws, "signal", "--as-of", "2026-01-06", "--json")
    assert "SPY" not in signal.out + signal.err  # never ranked (the signal itself is blocked: too little history)


@pytest.mark.parametrize(("content", "expected"), [
    (b"Date,Close\n2026-01-05,inf\n", ":2: price 'inf'"),
    (b"Date,Close\n2026-01-05,1e309\n", ":2: price '1e309'"),
    (b"Date,Close\n2026-01-05,-12.5\n", ":2: price '-12.5'"),
    (b"Date,Close\n2026-01-05,0\n", ":2: price '0'"),
    (b"Date,Close\n2026-01-05\n", ":2: expected 2 fields"),
    (b"Date,Close,Close\n2026-01-05,1,2\n", ":1: column(s) close appear more than once"),
    (b"Date,Close\n2026-01-05,12\x00\xff\xfe\x81\n", ":2: not UTF-8"),
    (bytes(range(256)) * 8, "not UTF-8"),
    (b"Date,Close\n2026-01-05," + b"9" * 200_000 + b"\n", ":2: unreadable CSV"),
])
def test_a_hostile_price_file_is_one_line_and_writes_nothing(ws: Path, cli, tmp_path: Path, content: bytes,
                                                             expected: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "SXLK.csv").write_bytes(content)
    before = _counts(ws)
    result = cli("--home", ws, "prices", "import", folder)
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert f"{folder / 'SXLK.csv'}{expected}" in result.err or expected in result.err, result.err
    assert _counts(ws) == before


def test_prices_update_also_stores_the_benchmarks(ws: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "feed"
    _file(folder, "SXLK", GOOD)
    _file(folder, "SPY", {"2026-01-02": 590.0, "2026-01-05": 595.5})
    config = ws / "trackrecord.yaml"
    config.write_text(config.read_text().replace('csv_dir: "prices"', f'csv_dir: "{folder}"')
                      .replace('benchmark: "universe"', 'benchmark: "SPY"'))
    result = cli("--home", ws, "prices", "update", "--json")
    assert result.code == 0, result
    rows = {s["symbol"]: s["rows"] for s in json.loads(result.out)["symbols"]}
    assert rows["SPY"] == 2 and rows["SXLK"] == 3
    assert json.loads(cli("--home", ws, "prices", "show", "SPY", "--json").out)["bars"] == 2


@pytest.mark.parametrize("content, where", [
    ("Date,Open,High,Low,Close,Adj Close,Volume\n2026-01-02,1,1,1,1,1,1000\n2026-01-05\n", "SXLF.csv:3"),
    ("Date,Close,Adj Close\n2026-01-02,4100,4100\n2026-01-05,-3,-3\n", "SXLF.csv:3"),
    (b"Date,Close\n2026-01-02,\xff\xfe\n", "SXLF.csv:2"),
])
def test_prices_update_from_a_broken_csv_folder_is_exit_2_naming_the_file_and_line(
        ws: Path, cli, tmp_path: Path, content: str | bytes, where: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "feed"
    _file(folder, "SXLK", GOOD)
    broken = folder / "SXLF.csv"
    broken.write_bytes(content if isinstance(content, bytes) else content.encode())
    config = ws / "trackrecord.yaml"
    config.write_text(config.read_text().replace('csv_dir: "prices"', f'csv_dir: "{folder}"'))
    before = _counts(ws)
    result = cli("--home", ws, "prices", "update")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert where in result.err and "Traceback" not in result.err
    assert _counts(ws) == before
