"""Files with hostile content: the four CSV imports, the seed folder's CSV and JSON,
`prices import` and trackrecord.yaml. Each case: exit 2 or 0, no traceback, nothing
written on a refusal (tests/fuzz/conftest.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, run_checked, state
from tests.fuzz.test_fuzz_cli_options import HOSTILE_NUMBERS

GOOD = {
    "date": ["2026-01-05", "2026-01-06", "2026-01-07"],
    "amount": ["1000", "-250.5", "3"],
    "nav": ["100000", "100250.5", "99000"],
    "cash": ["5000", "", "0"],
    "currency": ["GBP", "", "USD"],
    "note": ["", "initial", "fees"],
    "ref": ["", "B-1", "B-2"],
    "trade_id": ["T1", "T2", "T3"],
    "timestamp": ["2026-01-05T16:35:00Z", "2026-01-06T16:35:00", "2026-01-07T16:35:00+01:00"],
    "symbol": ["SXLK", "SXLE", "VUSA"],
    "asset_class": ["ETF", "", "STK"],
    "side": ["BUY", "SELL", "BOT"],
    "quantity": ["100", "50", "1.5"],
    "intended_price": ["10.00", "", "20"],
    "fill_price": ["10.02", "19.99", "20.5"],
    "slippage_bps": ["20", "", "-5"],
    "commission": ["3.00", "-1.2", ""],
    "commission_currency": ["GBP", "", "USD"],
}
HOSTILE_CELLS = [*HOSTILE_NUMBERS, "2026-13-01", "\x00", "\ufeff", '"', "a\nb", "x" * 2000, "=1+1", "null", "NaN",
                 "2026-01-05T25:00:00Z", "-5", "0"]
COLUMNS = {
    "cashflows": (["date", "amount"], ["currency", "note", "ref"]),
    "snapshots": (["date", "nav"], ["cash"]),
    "fills": (["trade_id", "timestamp", "symbol", "side", "quantity", "fill_price"],
              ["asset_class", "intended_price", "slippage_bps", "commission", "commission_currency"]),
}


@st.composite
def csv_files(draw, kind: str) -> str:  # type: ignore[no-untyped-def]
    required, optional = COLUMNS[kind]
    header = [*required, *draw(st.lists(st.sampled_from(optional), unique=True))]
    header = draw(st.permutations(header))
    if draw(st.booleans()):  # a quirk in the header: repeated, unknown or missing column
        header = draw(st.sampled_from([[*header, header[0]], [*header, "extra"], header[1:]]))
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        row = [draw(st.one_of(st.sampled_from(GOOD.get(c, [""])), st.sampled_from(HOSTILE_CELLS), st.text(max_size=8)))
               if draw(st.integers(0, 4)) == 0 else draw(st.sampled_from(GOOD.get(c, [""]))) for c in header]
        rows.append(row if draw(st.integers(0, 6)) else row[:draw(st.integers(0, len(row)))])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


@FUZZ
@given(content=csv_files("cashflows"))
def test_import_cashflows_csv(paper: Path, cli, tmp_path: Path, content: str) -> None:  # type: ignore[no-untyped-def]
    run_checked(cli, paper, "import", "cashflows", _write(tmp_path / "in" / "flows.csv", content))


@FUZZ
@given(content=csv_files("snapshots"))
def test_import_snapshots_csv(paper: Path, cli, tmp_path: Path, content: str) -> None:  # type: ignore[no-untyped-def]
    run_checked(cli, paper, "import", "snapshots", _write(tmp_path / "in" / "nav.csv", content))


@FUZZ
@given(content=csv_files("fills"))
def test_import_fills_csv(paper: Path, cli, tmp_path: Path, content: str) -> None:  # type: ignore[no-untyped-def]
    run_checked(cli, paper, "import", "fills", _write(tmp_path / "in" / "fills.csv", content))


json_numbers = st.one_of(st.sampled_from([n for n in HOSTILE_NUMBERS if n.strip()]).map(lambda n: f'"{n}"'),
                         st.sampled_from(["1e400", "1e-999999", "NaN", "-Infinity", "1e99999999", "-1", "0", "12.5"]),
                         st.integers().map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.text(max_size=10), json_numbers.map(json.loads)
                                     if False else st.integers()),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=8)


@st.composite
def seed_snapshots(draw) -> str:  # type: ignore[no-untyped-def]
    """A seed snapshot JSON whose fields are sometimes hostile (numbers spliced in as raw JSON text)."""
    fields = {"timestamp": '"2026-01-05T17:00:00Z"', "total_equity": "10000.0", "cash": "7995.5",
              "positions": '[{"symbol": "SXLK", "quantity": 100, "avg_cost": 10.02, "market_price": %s, '
                           '"market_value": 1002.0}]'}
    price = draw(st.one_of(st.just("10.02"), json_numbers))
    fields["positions"] = fields["positions"] % price
    for key in list(fields):
        choice = draw(st.integers(0, 5))
        if choice == 0:
            fields[key] = draw(json_numbers)
        elif choice == 1:
            fields[key] = json.dumps(draw(json_values))
        elif choice == 2 and draw(st.booleans()):
            del fields[key]
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    return draw(st.sampled_from([text, text, text, text[: len(text) // 2], "[" * 50_000 + "]" * 50_000]))


@FUZZ
@given(snapshot=seed_snapshots(), executions=csv_files("fills"))
def test_import_seed_folder(paper: Path, cli, tmp_path: Path, snapshot: str, executions: str) -> None:  # type: ignore[no-untyped-def]
    import shutil

    folder = tmp_path / "seed"
    shutil.rmtree(folder, ignore_errors=True)
    _write(folder / "snapshots" / "2026-01-05.json", snapshot)
    _write(folder / "executions" / "2026-01-05.csv", executions)
    run_checked(cli, paper, "import", "seed", folder)


@st.composite
def price_files(draw) -> bytes:  # type: ignore[no-untyped-def]
    header = draw(st.sampled_from(["Date,Open,High,Low,Close,Adj Close,Volume", "date,close", "date,adj_close",
                                   "Date,Close,Close", "close", ""]))
    width = max(len(header.split(",")), 1)
    lines = [header]
    for day in ("2026-01-05", "2026-01-06", "2026-01-07")[: draw(st.integers(0, 3))]:
        cells = [draw(st.one_of(st.just("4123.5"), st.sampled_from(HOSTILE_CELLS), st.text(max_size=6)))
                 for _ in range(width - 1)]
        lines.append(",".join([draw(st.sampled_from([day, day, "2026-02-30", ""])), *cells][: draw(st.integers(1, width))]))
    text = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([text, text, text, text + b"\xff\xfe\x00", bytes(range(256))]))


@FUZZ
@given(content=price_files(), replace=st.booleans())
def test_prices_import_files(paper: Path, cli, tmp_path: Path, content: bytes, replace: bool) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "prices"
    _write(folder / "SXLK.L.csv", content)
    run_checked(cli, paper, "prices", "import", folder, *(["--replace"] if replace else []))


YAML_KEYS = ["mode", "account.base_currency", "database.url", "universe.calendar", "prices.source",
             "prices.csv_dir", "prices.history_start", "prices.max_daily_move", "prices.fx_rates",
             "strategy.top_n", "strategy.min_order_value", "risk.daily_loss_limit", "risk.max_order_value",
             "broker.sim.commission_rate", "performance.benchmark", "performance.benchmarks", "logging.level"]
YAML_VALUES = [".nan", ".inf", "-.inf", '"1e400"', '"1e-999999"', "null", '""', "[]", "{}", '"not a url"',
               '"mongodb://u:p@h/db"', '"XNYZ"', '"2015-31-01"', "sometime", "2016-01-04", "0", "-1", '"GBp"',
               '"ÉUR"', "{USD: 0}", "{USD: '-1'}", "{usd: '0.8'}", '"csv"', "99999999999999999999999", "true"]


@FUZZ
@given(key=st.sampled_from(YAML_KEYS), value=st.one_of(st.sampled_from(YAML_VALUES), st.text(max_size=12)),
       duplicate=st.booleans())
def test_trackrecord_yaml_values(paper: Path, cli, key: str, value: str, duplicate: bool) -> None:  # type: ignore[no-untyped-def]
    config = paper / "trackrecord.yaml"
    original = config.read_text()
    try:
        config.write_text(_set(original, key, value, duplicate))
        before = state(paper)
        for command in (("config", "check"), ("ledger", "log", "--limit", "1")):
            run_checked(cli, paper, *command)
        assert state(paper) == before
    finally:
        config.write_text(original)


def _set(text: str, dotted: str, value: str, duplicate: bool) -> str:
    """``text`` with the (indented) line of ``dotted`` set to ``value`` (or repeated with it)."""
    lines = text.splitlines()
    *parents, name = dotted.split(".")
    depth, at = 0, 0
    for parent in parents:
        at = next(i for i in range(at, len(lines)) if lines[i].startswith("  " * depth + f"{parent}:"))
        depth += 1
    index = next(i for i in range(at, len(lines)) if lines[i].startswith("  " * depth + f"{name}:"))
    line = "  " * depth + f"{name}: {value}"
    lines[index: index + 1] = [lines[index], line] if duplicate else [line]
    return "\n".join(lines) + "\n"


@FUZZ
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                         st.sampled_from([b'mode: "caf\xe9"\n', b"\x00\x01", b"[" * 5000, b"a: &x [*x]", b"---\n- 1\n"])))
def test_trackrecord_yaml_bytes(paper: Path, cli, content: bytes) -> None:  # type: ignore[no-untyped-def]
    config = paper / "trackrecord.yaml"
    original = config.read_bytes()
    try:
        config.write_bytes(content)
        if run_checked(cli, paper, "config", "check").code == 2:
            assert run_checked(cli, paper, "signal").code == 2  # every command that loads it refuses it
    finally:
        config.write_bytes(original)
