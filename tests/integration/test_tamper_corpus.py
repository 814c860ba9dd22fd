"""The tamper corpus: every edit an attacker with the database file can make is either
detected by ``verify`` naming the place, or reported by ``verify`` as outside what it can
prove from the workspace alone (docs/ledger.md, "What verify proves")."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from trackrecord.cli.app import run
from trackrecord.ledger.chain import event_hash

NOT_PROVABLE = "cannot be detected from the workspace alone"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tamper") / "demo"
    assert run(["demo", str(root), "--years", "1"]) == 0
    return root


def _copy_of(template: Path, folder: Path) -> Path:
    copy = folder / template.name
    shutil.copytree(template, copy)
    return copy


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    return _copy_of(demo_template, tmp_path)


@pytest.fixture
def db(demo: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(demo / "trackrecord.db", isolation_level=None)
    yield conn
    conn.close()


def _verify(cli, root: Path) -> tuple[int, dict, str]:  # type: ignore[no-untyped-def]
    as_json = cli("--home", root, "verify", "--json")
    text = cli("--home", root, "verify")
    assert "Traceback" not in as_json.err + text.err
    return as_json.code, json.loads(as_json.out), text.out + text.err


def _detected(cli, root: Path, *needles: str) -> dict:  # type: ignore[no-untyped-def]
    code, document, text = _verify(cli, root)
    assert code == 1 and document["ok"] is False, document
    problems = "\n".join(document["problems"])
    for needle in needles:
        assert needle in problems, (needle, problems)
        assert needle in text
    return document


def _after_last_snapshot(db: sqlite3.Connection) -> str:
    """The day after the demo's last snapshot: a new flow of the simulated account is dated
    after every snapshot that was valued without it (an earlier one is refused on purpose)."""
    (last,) = db.execute("SELECT MAX(session_date) FROM snapshots").fetchone()
    return (date.fromisoformat(last) + timedelta(days=1)).isoformat()


def _last_event(db: sqlite3.Connection, kind: str) -> tuple[int, dict]:
    seq, payload = db.execute("SELECT seq, payload FROM events WHERE kind = ? ORDER BY seq DESC LIMIT 1",
                              (kind,)).fetchone()
    return seq, json.loads(payload)


def test_untouched_demo_verifies_and_says_what_it_cannot_prove(demo: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, document, text = _verify(cli, demo)
    assert code == 0 and document["ok"] and document["unsigned_events"] == 0
    assert document["stores_checked"] == ["prices", "sim_orders", "sim_executions", "sim_cash"]
    assert NOT_PROVABLE in document["not_provable"] and NOT_PROVABLE in text


def test_deleted_public_key_fails_verify_saying_signatures_were_not_checked(demo: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (demo / "keys" / "ledger.ed25519.pub").unlink()
    _detected(cli, demo, "ledger.ed25519.pub is missing", "NOT checked")


def test_edited_price_bar_is_named_with_its_batch(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    symbol = "SXLF"
    day = db.execute("SELECT MAX(session_date) FROM prices WHERE symbol = ?", (symbol,)).fetchone()[0]
    db.execute("UPDATE prices SET adj_close = adj_close * 1.05 WHERE symbol = ? AND session_date = ?", (symbol, day))
    _detected(cli, demo, "no longer hash to its sha256", "SXLF")


def test_edited_price_a_signal_used_names_the_signal_and_the_point(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    seq, signal = _last_event(db, "signal.computed")
    point = signal["ranks"][0]
    db.execute("UPDATE prices SET adj_close = adj_close * 1.05 WHERE symbol = ? AND session_date = ?",
               (point["symbol"], point["end_date"]))
    _detected(cli, demo, f"{point['symbol']} {point['end_date']}", f"signal.computed seq {seq}")


def test_inserted_price_bar_is_not_backed_by_any_batch(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    db.execute("INSERT INTO prices (symbol, session_date, close, adj_close, source, fetched_at) "
               "VALUES ('SXLK', '1999-01-04', 1.0, 1.0, 'synthetic', '1999-01-04T17:00:00Z')")
    _detected(cli, demo, "SXLK 1999-01-04", "match no prices.updated event")


def test_edited_simulated_execution_names_the_execution_and_the_fill(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    exec_id = db.execute("SELECT exec_id FROM sim_executions ORDER BY executed_at LIMIT 1").fetchone()[0]
    db.execute("UPDATE sim_executions SET price = price * 0.9 WHERE exec_id = ?", (exec_id,))
    _detected(cli, demo, f"sim_executions {exec_id}", "differs from fill.recorded seq")


def test_forged_simulated_order_is_not_backed_by_an_intent(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    db.execute("INSERT INTO sim_orders (broker_order_id, account_id, order_ref, symbol, side, quantity, order_type, "
               "limit_price, currency, status, placed_at, message) VALUES (999999, 'SIM0001', 'forged-ref', 'SXLK', "
               "'BUY', '10', 'MOC', NULL, 'GBP', 'filled', '2026-01-05T16:20:00Z', '')")
    _detected(cli, demo, "sim_orders broker_order_id 999999 (forged-ref)", "no order.submitted event")


def test_duplicated_fill_event_is_named_not_a_traceback(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    _, fill = _last_event(db, "fill.recorded")
    payload = db.execute("SELECT payload FROM events WHERE kind = 'fill.recorded' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    seq, prev = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    new_seq, recorded_at = seq + 1, "2027-01-01T00:00:00Z"
    db.execute("INSERT INTO events (seq, recorded_at, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
               (new_seq, recorded_at, "fill.recorded", payload, prev,
                event_hash(prev, new_seq, recorded_at, "fill.recorded", payload)))
    document = _detected(cli, demo, f"seq {new_seq}: fill.recorded repeats fills row {{'exec_id': '{fill['exec_id']}'}}")
    assert document["first_bad_seq"] == new_seq and document["unsigned_events"] == 1


def test_kill_switch_table_edited_from_halted_to_active_is_named(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "kill-switch", "activate", "outage").code == 0
    db.execute("UPDATE kill_switch SET state = 'ACTIVE' WHERE id = 1")
    _detected(cli, demo, "projection kill_switch row {'id': 1}: differs from its events")


def test_invalid_kill_switch_state_is_one_line_everywhere(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "kill-switch", "activate", "outage").code == 0
    db.execute("UPDATE kill_switch SET state = 'BOGUS' WHERE id = 1")
    status = cli("--home", demo, "kill-switch", "status")
    assert status.code == 1 and status.err.count("\n") == 1 and "kill_switch table's state 'BOGUS'" in status.err
    _detected(cli, demo, "projection kill_switch row {'id': 1}")


def test_edited_simulated_cash_booking_is_named(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    """The replay's deposits are booked without a key: each must match a recorded flow."""
    db.execute("UPDATE sim_cash SET amount = '150000' WHERE id = 1")
    _detected(cli, demo, "sim_cash id 1 of SIM0001 (150000, 'initial deposit')", "no cashflow.recorded event books",
              "has no booking")


def test_deleted_simulated_cash_booking_names_the_flow_left_unbooked(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    flow_seq = db.execute("SELECT seq FROM cashflows WHERE amount = '25000'").fetchone()[0]
    db.execute("DELETE FROM sim_cash WHERE amount = '25000'")
    _detected(cli, demo, f"cashflow.recorded seq {flow_seq} (25000 GBP, 'second deposit') has no booking")


def test_edited_booking_of_a_ledger_flow_names_the_flow(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    """``cashflow add`` in paper mode: the next paper command books the flow under its key."""
    assert cli("--home", demo, "cashflow", "add", "--date", _after_last_snapshot(db), "--amount", "5000", "--note", "top-up").code == 0
    assert cli("--home", demo, "pull").code == 0  # a paper command: the simulated account books the flow
    flow_seq = db.execute("SELECT seq FROM cashflows WHERE amount = '5000'").fetchone()[0]
    assert _verify(cli, demo)[0] == 0
    db.execute("UPDATE sim_cash SET amount = '50' WHERE flow_key = ?", (f"flow:{flow_seq}",))
    _detected(cli, demo, f"(flow:{flow_seq}, 50): books 50, but cashflow.recorded seq {flow_seq} says 5000 GBP")
    db.execute("UPDATE sim_cash SET amount = '5000', flow_key = 'flow:1' WHERE flow_key = ?", (f"flow:{flow_seq}",))
    _detected(cli, demo, "(flow:1, 5000): no cashflow.recorded event has this seq")


def test_edited_bar_of_a_batch_a_later_import_overwrote_in_part_is_named(demo: Path, db: sqlite3.Connection, cli,  # type: ignore[no-untyped-def]
                                                                          tmp_path: Path) -> None:
    """A batch whose bars a later batch replaced in part is still hashed: the later event lists
    the bars it replaced. Here no signal used either bar, so only that hash can tell."""
    from trackrecord.workspace import open_workspace

    history_seq, history = next((seq, data) for seq, data in (
        (seq, json.loads(p)) for seq, p in db.execute("SELECT seq, payload FROM events WHERE kind = 'prices.updated' "
                                                       "ORDER BY seq")) if data.get("purpose") == "history")
    used = {(rank["symbol"], rank[day]) for (payload,) in db.execute(
        "SELECT payload FROM events WHERE kind = 'signal.computed'")
        for rank in json.loads(payload)["ranks"] for day in ("start_date", "end_date")}
    bars = [row for row in db.execute("SELECT symbol, session_date, close, adj_close FROM prices WHERE fetched_at = ? "
                                      "AND source = ? ORDER BY symbol, session_date",
                                      (history["fetched_at"], history["source"])) if row[:2] not in used]
    (symbol, corrected, close, adj), edited = bars[10], bars[11]
    unit = {i.symbol: i.price_unit for i in open_workspace(demo).settings.universe.instruments}[symbol]
    scale = 100 if unit == "GBX" else 1
    folder = tmp_path / "correction"
    folder.mkdir()
    (folder / f"{symbol}.csv").write_text(f"Date,Close,Adj Close\n{corrected},{close * scale!r},{adj * 1.01 * scale!r}\n")
    assert cli("--home", demo, "prices", "import", folder, "--replace").code == 0
    assert _verify(cli, demo)[0] == 0, "a legitimate partial overwrite is no problem"
    db.execute("UPDATE prices SET adj_close = adj_close * 1.05 WHERE symbol = ? AND session_date = ?", edited[:2])
    _detected(cli, demo, f"prices.updated seq {history_seq}", "no longer hash to its sha256")


def _truncate_tail(db: sqlite3.Connection, count: int) -> None:
    """What an attacker who also keeps the projections consistent does: drop the last
    events (here: a cash flow and its checkpoint) and their rows."""
    head = db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    db.execute("DROP TRIGGER events_no_delete")
    db.execute("DELETE FROM events WHERE seq > ?", (head - count,))
    db.execute("DELETE FROM cashflows WHERE seq > ?", (head - count,))
    db.execute("DELETE FROM checkpoints WHERE seq > ?", (head - count,))


def test_truncated_tail_is_reported_as_outside_what_verify_can_prove(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "cashflow", "add", "--date", _after_last_snapshot(db), "--amount", "50000", "--note", "top-up").code == 0
    _truncate_tail(db, 2)
    code, document, text = _verify(cli, demo)
    assert code == 0 and document["unsigned_events"] == 0  # a shorter ledger that is valid in itself
    assert NOT_PROVABLE in document["not_provable"] and "truncated tail" in text and "commitment" in text


def test_history_rewritten_and_resigned_with_the_workspace_key_is_reported_as_unprovable(demo: Path, db: sqlite3.Connection, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "cashflow", "add", "--date", _after_last_snapshot(db), "--amount", "50000", "--note", "top-up").code == 0
    before = _verify(cli, demo)[1]["head_hash"]
    _truncate_tail(db, 2)
    # ... and re-recorded differently, signed with the private key that sits in the workspace
    assert cli("--home", demo, "cashflow", "add", "--date", _after_last_snapshot(db), "--amount", "5", "--note", "top-up").code == 0
    code, document, text = _verify(cli, demo)
    assert code == 0 and document["head_hash"] != before and document["unsigned_events"] == 0
    assert "re-signed with the workspace's own key" in document["not_provable"] and "re-signed" in text


# -- the files the ledger vouches for: statements and report PDFs ------------------------------


@pytest.fixture(scope="module")
def files_template(demo_template: Path) -> Path:
    """The demo with a monthly report, a weekly report and a reconciled Flex statement."""
    import contextlib
    import io

    from tests.integration.flex_synthetic import statement_from_events

    root = _copy_of(demo_template, demo_template.parent / "with-files")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run(["--home", str(root), "ledger", "log", "--json"]) == 0
    statement = root.parent / "statement.xml"
    statement.write_bytes(statement_from_events(json.loads(out.getvalue())).render())
    with contextlib.redirect_stdout(io.StringIO()):
        assert run(["--home", str(root), "reconcile", str(statement), "--json"]) == 0
        assert run(["--home", str(root), "report", "2026-06", "--json"]) == 0
        assert run(["--home", str(root), "weekly-report", "--week", "2026-W23", "--json"]) == 0
    return root


@pytest.fixture
def with_files(files_template: Path, tmp_path: Path) -> Path:
    return _copy_of(files_template, tmp_path)


def _recorded(root: Path, kind: str, folder: str) -> tuple[int, Path]:
    """(seq, file) of the latest ``kind`` event naming a file under ``folder``."""
    with sqlite3.connect(root / "trackrecord.db") as conn:
        rows = conn.execute("SELECT seq, payload FROM events WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    for seq, payload in reversed(rows):
        data = json.loads(payload)
        name = data["statement"]["file"] if kind == "reconciliation.done" else data["path"]
        if name.startswith(folder):
            return seq, root / name
    raise AssertionError(f"no {kind} of a file under {folder}")


def test_untouched_statements_and_reports_match_their_recorded_sha256(with_files: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, document, text = _verify(cli, with_files)
    assert code == 0 and document["ok"] and document["files_checked"] == 3 and document["warnings"] == []
    assert "3 statement and report file(s) match their recorded sha256" in text


@pytest.mark.parametrize("kind, folder", [("reconciliation.done", "statements/"),
                                          ("report.generated", "reports/monthly/"),
                                          ("report.generated", "reports/weekly/")])
def test_edited_statement_or_report_pdf_is_named_with_its_event(with_files: Path, cli, kind: str,  # type: ignore[no-untyped-def]
                                                                 folder: str) -> None:
    seq, path = _recorded(with_files, kind, folder)
    path.write_bytes(path.read_bytes().replace(b"2026", b"2025", 1))
    document = _detected(cli, with_files, f"{path.relative_to(with_files).as_posix()}: edited",
                         f"{kind} seq {seq} recorded")
    assert document["first_bad_seq"] == seq and len(document["problems"]) == 1


def test_missing_report_pdf_is_a_warning_not_a_break(with_files: Path, cli) -> None:  # type: ignore[no-untyped-def]
    seq, path = _recorded(with_files, "report.generated", "reports/monthly/")
    path.unlink()
    code, document, text = _verify(cli, with_files)
    assert code == 0 and document["ok"] and document["files_checked"] == 3
    [warning] = document["warnings"]
    assert warning.startswith(f"{path.relative_to(with_files).as_posix()}: missing (recorded by report.generated "
                              f"seq {seq})")
    assert f"warning: {warning}" in text
