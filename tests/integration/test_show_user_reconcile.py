"""`reconcile` with the real Flex statements in ../shared/data/flex, as an allocator checks an
imported live record: the label is the record's (as `stats` gives it), not the workspace's mode."""

from __future__ import annotations

import json
from pathlib import Path

SNAPSHOTS = "date,nav,cash\n2023-03-01,7674.265297533,62.905297533\n2023-03-02,7678.155297533,57.505297533\n"


def _as_account(workspace: Path, account: str) -> None:
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  account_id: null", f'  account_id: "{account}"', 1))


def test_an_imported_live_record_is_not_labelled_simulated_by_reconcile(cli, workspace: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        shared_data: Path) -> None:
    _as_account(workspace, "U1111111")
    (tmp_path / "navs.csv").write_text(SNAPSHOTS)
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv", "--account", "U1111111").code == 0
    stats = json.loads(cli("--home", workspace, "stats", "--json").out)
    assert stats["simulated"] is False
    statement = shared_data / "flex" / "portfolio-performance_testIBFlexStatementFile17_redacted.xml"
    text = cli("--home", workspace, "reconcile", statement)
    assert "SIMULATED" not in text.out, text
    assert "base currency is USD, the ledger's GBP: NAVs not compared" in text.out
    document = json.loads(cli("--home", workspace, "reconcile", statement, "--json").out)
    assert document["simulated"] is False
    recorded = json.loads(cli("--home", workspace, "ledger", "log", "--kind", "reconciliation.done", "--json").out)
    assert [e["payload"]["simulated"] for e in recorded] == [False]
