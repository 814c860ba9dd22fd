"""Imports as a trader runs them: hostile input is one line and exit 2 with nothing written,
quirks that would change meaning are errors naming the line, imported data says where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXEC_HEADER = ("trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,"
               "commission,commission_currency\n")


def _events(cli, root: Path) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _refused(cli, root: Path, args: tuple, *words: str) -> str:  # type: ignore[no-untyped-def, type-arg]
    before = len(_events(cli, root))
    result = cli("--home", root, *args)
    assert result.code == 2, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result
    assert "Traceback" not in result.out + result.err
    for word in words:
        assert word in result.err, (word, result.err)
    assert len(_events(cli, root)) == before
    return result.err


def test_a_131kb_cashflow_note_is_one_line_naming_the_row(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "flows.csv", "date,amount,note\n2026-01-05,100," + "x" * 131_073 + "\n")
    _refused(cli, workspace, ("import", "cashflows", path), f"{path}:2")


def test_a_long_but_readable_note_is_refused_with_its_limit(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "flows.csv", "date,amount,note\n2026-01-05,100," + "x" * 5000 + "\n")
    _refused(cli, workspace, ("import", "cashflows", path), f"{path}:2", "note", "1000")


def _seed(root: Path, snapshot: str) -> Path:
    _write(root / "executions/2026-01-05.csv", EXEC_HEADER + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10,10.02,20,3,GBP\n")
    _write(root / "snapshots/2026-01-05.json", snapshot)
    return root


def test_deeply_nested_seed_json_is_one_line(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", "[" * 100_000 + "]" * 100_000)
    _refused(cli, workspace, ("import", "seed", seed), "2026-01-05.json", "nested")


@pytest.mark.parametrize("amount", ["1e400", "1e999999", "1e-999999", "1e99999999", "NaN", "-Infinity"])
def test_cashflow_add_refuses_numbers_a_ledger_cannot_hold(workspace: Path, cli, amount: str) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, ("cashflow", "add", "--date", "2026-01-05", "--amount", amount), "--amount")


@pytest.mark.parametrize("value", ["1e400", "1e-999999", "1e99999999", "inf"])
def test_imports_refuse_numbers_a_ledger_cannot_hold(workspace: Path, cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    snaps = _write(tmp_path / "nav.csv", f"date,nav\n2026-01-05,100\n2026-01-06,{value}\n")
    _refused(cli, workspace, ("import", "snapshots", snaps), f"{snaps}:3", "nav")
    flows = _write(tmp_path / "flows.csv", f"date,amount\n2026-01-05,{value}\n")
    _refused(cli, workspace, ("import", "cashflows", flows), f"{flows}:2", "amount")
    fills = _write(tmp_path / "fills.csv", EXEC_HEADER + f"T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,{value},10,10.02,,3,GBP\n")
    _refused(cli, workspace, ("import", "fills", fills), f"{fills}:2", "quantity")
    fills = _write(tmp_path / "fills.csv", EXEC_HEADER + f"T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,10,{value},,3,GBP\n")
    _refused(cli, workspace, ("import", "fills", fills), f"{fills}:2", "fill_price")


@pytest.mark.parametrize("value", ["1e400", "1e-999999", "1e99999999"])
def test_seed_json_refuses_numbers_a_ledger_cannot_hold(workspace: Path, cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", '{"timestamp": "2026-01-05T17:00:00Z", "total_equity": %s, "cash": 1, '
                 '"positions": []}' % value)
    _refused(cli, workspace, ("import", "seed", seed), "2026-01-05.json", "total_equity")
    seed = _seed(tmp_path / "old2", '{"timestamp": "2026-01-05T17:00:00Z", "total_equity": 1, "cash": 1, "positions": '
                 '[{"symbol": "SXLK", "quantity": 1, "avg_cost": 1, "market_price": %s, "market_value": 1}]}' % value)
    _refused(cli, workspace, ("import", "seed", seed), "positions[0].market_price")


def test_a_negative_seed_price_is_refused(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", '{"timestamp": "2026-01-05T17:00:00Z", "total_equity": 1, "cash": 1, "positions": '
                 '[{"symbol": "SXLK", "quantity": 1, "avg_cost": 1, "market_price": -5, "market_value": -5}]}')
    _refused(cli, workspace, ("import", "seed", seed), "positions[0]", "negative")


def test_a_duplicate_header_is_an_error_not_the_second_column(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "flows.csv", "date,amount,amount\n2026-01-05,100,100000\n")
    _refused(cli, workspace, ("import", "cashflows", path), f"{path}:1", "amount", "more than once")


def test_one_date_with_two_navs_names_both_lines(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "nav.csv", "date,nav\n2026-01-05,100\n2026-01-06,101\n2026-01-05,150\n")
    _refused(cli, workspace, ("import", "snapshots", path), f"{path}:4", "line 2", "2026-01-05")


def test_a_repeated_trade_id_with_other_contents_is_an_error(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "fills.csv", EXEC_HEADER + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10,10.02,,3,GBP\n"
                  "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,200,10,10.02,,3,GBP\n")
    _refused(cli, workspace, ("import", "fills", path), f"{path}:3", "T1", "other contents")


def test_two_equal_deposits_on_one_day_need_a_ref(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ambiguous = _write(tmp_path / "flows.csv", "date,amount\n2026-01-05,5000\n2026-01-05,5000\n")
    _refused(cli, workspace, ("import", "cashflows", ambiguous), f"{ambiguous}:3", "ref")
    told_apart = _write(tmp_path / "flows2.csv", "date,amount,ref\n2026-01-05,5000,BANK-1\n2026-01-05,5000,BANK-2\n")
    first = cli("--home", workspace, "import", "cashflows", told_apart, "--json")
    assert first.code == 0 and json.loads(first.out)["added"] == {"cashflows": 2}, first
    again = cli("--home", workspace, "import", "cashflows", told_apart)
    assert again.code == 0 and "2 already recorded" in again.out, again
    flows = [e["payload"] for e in _events(cli, workspace) if e["kind"] == "cashflow.recorded"]
    assert sorted(f["ref"] for f in flows) == ["BANK-1", "BANK-2"]


def test_imported_snapshots_and_fills_carry_their_provenance(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    snaps = _write(tmp_path / "nav.csv", "date,nav\n2026-01-05,100\n")
    fills = _write(tmp_path / "fills.csv", EXEC_HEADER + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10,10.02,,3,GBP\n")
    seed = _seed(tmp_path / "old", '{"timestamp": "2026-01-06T17:00:00Z", "total_equity": 100, "cash": 100, '
                 '"positions": []}')
    (seed / "snapshots/2026-01-05.json").rename(seed / "snapshots/2026-01-06.json")
    _write(seed / "executions/2026-01-05.csv", EXEC_HEADER + "T9,2026-01-05T16:35:00Z,SXLK,ETF,BUY,1,10,10.02,,3,GBP\n")
    for args in (("import", "snapshots", snaps), ("import", "fills", fills), ("import", "seed", seed)):
        assert cli("--home", workspace, *args).code == 0
    recorded = {(e["kind"], e["payload"].get("exec_id") or e["payload"]["session_date"]): e["payload"]["provenance"]
                for e in _events(cli, workspace) if e["kind"] in ("snapshot.recorded", "fill.recorded")}
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert recorded[("snapshot.recorded", "2026-01-05")] == {"source": "import", "file_sha256": sha(snaps)}
    assert recorded[("fill.recorded", "T1")] == {"source": "import", "file_sha256": sha(fills)}
    assert recorded[("fill.recorded", "T9")] == {"source": "seed import",
                                                 "file_sha256": sha(seed / "executions/2026-01-05.csv")}
    assert recorded[("snapshot.recorded", "2026-01-06")]["source"] == "seed import"


def _seed_snapshot(day: str, nav: float, cash: float, qty: int, price: float) -> str:
    return json.dumps({"timestamp": f"{day}T17:00:00Z", "total_equity": nav, "cash": cash, "positions": [
        {"symbol": "SXLK", "quantity": qty, "avg_cost": 10.0, "market_price": price, "market_value": qty * price}]})


def test_seed_import_warns_about_nav_jumps_that_look_like_deposits(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "old"
    _write(seed / "snapshots/2026-01-05.json", _seed_snapshot("2026-01-05", 10000, 9000, 100, 10.0))
    _write(seed / "snapshots/2026-01-06.json", _seed_snapshot("2026-01-06", 10050, 9000, 100, 10.5))  # prices explain it
    _write(seed / "snapshots/2026-01-07.json", _seed_snapshot("2026-01-07", 60050, 59000, 100, 10.5))  # +50,000
    result = cli("--home", workspace, "import", "seed", seed)
    assert result.code == 0, result
    warnings = [line for line in result.out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "2026-01-07" in warnings[0] and "+50000.00" in warnings[0]
    assert "cashflow add --date 2026-01-07 --amount 50000.00" in warnings[0]


def test_seed_fills_outside_the_universe_are_imported_with_a_warning(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "old"
    _write(seed / "executions/2026-01-05.csv", EXEC_HEADER + "T1,2026-01-05T16:35:00Z,VUSA,ETF,BUY,5,60,60.1,,3,GBP\n"
           "T2,2026-01-05T16:35:00Z,SXLK,ETF,BUY,5,60,60.1,,3,GBP\n")
    result = cli("--home", workspace, "import", "seed", seed, "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["added"] == {"fills": 2}
    assert any("VUSA" in w and "outside the universe" in w for w in document["warnings"])


def test_skip_message_tells_a_repeat_in_the_file_from_one_already_recorded(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    row = "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10,10.02,,3,GBP\n"
    path = _write(tmp_path / "fills.csv", EXEC_HEADER + row + row)
    first = cli("--home", workspace, "import", "fills", path)
    assert first.code == 0 and "1 duplicate within the imported file(s)" in first.out, first
    assert "already recorded" not in first.out
    other = _write(tmp_path / "fills2.csv", EXEC_HEADER + row)
    again = cli("--home", workspace, "import", "fills", other)
    assert again.code == 0 and "1 already recorded" in again.out and "duplicate" not in again.out, again


def test_import_snapshots_and_fills_take_an_account(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snaps = _write(tmp_path / "nav.csv", "date,nav\n2026-01-05,100\n")
    fills = _write(tmp_path / "fills.csv", EXEC_HEADER + "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10,10.02,,3,GBP\n")
    flows = _write(tmp_path / "flows.csv", "date,amount\n2026-01-05,100\n")
    for kind, path in (("snapshots", snaps), ("fills", fills), ("cashflows", flows)):
        assert cli("--home", workspace, "import", kind, path, "--account", "U777").code == 0
    payloads = [e["payload"] for e in _events(cli, workspace)
                if e["kind"] in ("snapshot.recorded", "fill.recorded", "cashflow.recorded")]
    assert len(payloads) == 3 and all(p["account_id"] == "U777" for p in payloads)


def test_imported_flows_are_booked_like_cashflow_add(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    future = _write(tmp_path / "future.csv", "date,amount\n2026-01-05,100\n2999-01-04,100\n")
    _refused(cli, workspace, ("import", "cashflows", future), f"{future}:3", "future")
    ancient = _write(tmp_path / "ancient.csv", "date,amount\n1801-01-05,100\n")
    _refused(cli, workspace, ("import", "cashflows", ancient), f"{ancient}:2", "calendar")
    weekend = _write(tmp_path / "weekend.csv", "date,amount\n2026-01-03,100\n")  # a Saturday
    assert cli("--home", workspace, "import", "cashflows", weekend).code == 0
    flow = [e["payload"] for e in _events(cli, workspace) if e["kind"] == "cashflow.recorded"][-1]
    assert flow["flow_date"] == "2026-01-05" and flow["date_given"] == "2026-01-03"


def test_an_imported_flow_already_added_by_hand_is_not_recorded_twice(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-03", "--amount", "500").code == 0
    again = _write(tmp_path / "flows.csv", "date,amount\n2026-01-03,500\n")
    result = cli("--home", workspace, "import", "cashflows", again)
    assert result.code == 0 and "1 already recorded" in result.out, result
