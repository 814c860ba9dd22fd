"""`reconcile --import-cashflows` killed (SIGKILL) right after one of its commits, then rerun as
a trader would: every real deposit is booked exactly once, the kept statement is whole, the
reconciliation is recorded, and verify passes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.integration.test_crash_matrix import _killed_after_commit
from trackrecord.cli.app import run

pytestmark = pytest.mark.slow  # every case kills a forked child

STATEMENT = "opensteuerauszug_eTax_report_anonymised_2025.xml"  # 25 DETAIL deposits/withdrawals


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "ws"
    assert run(["init", str(root)]) == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  account_id: null", '  account_id: "U9999999"', 1)
                      .replace("  fx_rates: {}", "  fx_rates: {CHF: '0.9', USD: '0.8'}", 1))  # its flows' currencies
    return root


# after the first flow, one in the middle, the last flow, the reconciliation, its checkpoint
@pytest.mark.parametrize("commit", [1, 13, 25, 26, 27])
def test_a_killed_import_completes_on_rerun_and_books_each_deposit_once(cli, template: Path, tmp_path: Path,
                                                                        shared_data: Path, commit: int) -> None:
    home = tmp_path / "ws"
    shutil.copytree(template, home)
    statement = shared_data / "flex" / STATEMENT
    argv = ["--home", str(home), "reconcile", str(statement), "--import-cashflows", "--json"]
    assert _killed_after_commit(argv, commit) == -9
    rerun = cli(*argv)
    assert rerun.code == 1, rerun  # the ledger holds none of the account's trades: those breaks remain
    document = json.loads(rerun.out)
    assert document["matched"]["cashflows"] == 25
    flows = json.loads(cli("--home", home, "cashflow", "list", "--account", "U9999999", "--json").out)
    notes = [f["note"] for f in flows]
    assert len(flows) == 25 and len(set(notes)) == 25, "each IB transaction booked once"
    kept = home / document["statement"]["file"]
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == document["statement"]["sha256"]
    assert not list(kept.parent.glob(".*.partial"))
    done = json.loads(cli("--home", home, "ledger", "log", "--kind", "reconciliation.done", "--json").out)
    assert done and done[-1]["payload"]["matched"]["cashflows"] == 25
    verify = cli("--home", home, "verify", "--json")
    assert verify.code == 0 and json.loads(verify.out)["unsigned_events"] == 0, verify
