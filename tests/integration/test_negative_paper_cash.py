"""Paper cash can end a rebalance below zero: whole shares are sized from the previous close,
they fill at the session's closing auction, and when the closes rose more than the 1 % cash
buffer covers, the fills cost more than the cash. Every view that shows cash shows that
debit as the negative number it is (never hidden, never made positive): the snapshot (text
and JSON), the dashboard's overview (page and API) and the monthly report's holdings."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dashboard_support import open_app

REBALANCE = "2026-06-01"


@pytest.fixture(scope="module")
def overdrawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Decimal]:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("negative-cash") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2025-03-01"'))
    assert run(["--home", str(root), "prices", "update"]) == 0
    assert run(["--home", str(root), "cashflow", "add", "--date", "2026-05-29", "--amount", "100000"]) == 0
    assert run(["--home", str(root), "execute", "--as-of", REBALANCE]) == 0
    from trackrecord.bootstrap import connect
    from trackrecord.ledger.queries import latest_snapshot, reading
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(root))
    try:
        with reading(services.engine) as conn:
            snapshot = latest_snapshot(conn, None)
    finally:
        services.close()
    assert snapshot is not None and snapshot.cash is not None
    # the case this file protects: the closing auction overshot the sizing close by more than the buffer
    assert snapshot.cash < 0, snapshot
    return root, snapshot.cash


def _shown(cash: Decimal) -> str:
    return f"{cash:,.2f}"  # "-226.16": the sign kept


def test_the_snapshot_shows_negative_cash_as_negative(overdrawn: tuple[Path, Decimal], cli: Any) -> None:
    root, cash = overdrawn
    text = cli("--home", root, "snapshot", "--as-of", REBALANCE)
    assert text.code == 0, text
    assert f"cash {_shown(cash)}," in text.out
    document = json.loads(cli("--home", root, "snapshot", "--as-of", REBALANCE, "--json").out)
    assert Decimal(document["cash"]) == cash
    values = sum(Decimal(p["market_value"]) for p in document["positions"])
    assert Decimal(document["nav"]) == pytest.approx(values + cash)  # the debit is in the NAV, not beside it


def test_the_dashboard_overview_shows_negative_cash_as_negative(overdrawn: tuple[Path, Decimal]) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    root, cash = overdrawn
    with open_app(root) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        page = http.get("/")
        summary = http.get("/api/v1/summary").json()
    assert page.status_code == 200
    assert f'data-summary="cash">{_shown(cash)}<' in page.text
    assert summary["cash"] == pytest.approx(float(cash))


def test_the_monthly_report_holdings_show_negative_cash_as_negative(overdrawn: tuple[Path, Decimal], cli: Any,
                                                                    tmp_path: Path) -> None:
    import pypdf

    root, cash = overdrawn
    out = tmp_path / "2026-06.pdf"
    assert cli("--home", root, "report", "2026-06", "--out", out).code == 0
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(str(out)).pages)
    assert f"cash {_shown(cash)} GBP." in text


def test_the_rebalance_preview_plans_from_the_negative_cash(overdrawn: tuple[Path, Decimal], cli: Any) -> None:
    root, cash = overdrawn
    preview = cli("--home", root, "rebalance", "--as-of", "2026-06-02")
    assert preview.code == 0, preview
    assert f"cash {_shown(cash)}" in preview.out
