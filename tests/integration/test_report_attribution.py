"""The model-vs-account table in the monthly report (issue 15 item 3, "the monthly report shows
the table when the record has a model"): on the paper record with known frictions of
test_attribution_cli, `report YYYY-MM` shows the month's, the year's and the record's figures
that `attribution --json` prints, `report verify` rebuilds it from the frozen closes alone (the
price store emptied), inputs frozen before the table existed still verify (their PDF has no
table), a record without a model has none, and the table is drawn (pixels). Also `attribution`
on adjusted-only prices names what is missing and what would fix it."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.integration.test_attribution_cli import REBALANCES, REFUSED, _build, _configure

pypdf = pytest.importorskip("pypdf")

MONTH, FIRST, LAST = "2025-10", "2025-07-31", "2025-10-31"
LADDER = ("model", "traded", "buffered", "planned", "held", "executed", "costed", "with_income", "live")
BUCKETS = ("selection", "cash_drag", "rounding", "delay", "execution", "costs", "income", "residual")
LABELS = {"selection": "Selection", "cash_drag": "Cash drag", "rounding": "Rounding", "delay": "Delay",
          "execution": "Execution", "costs": "Costs", "income": "Income", "residual": "Residual"}
TITLE = "Model vs account: where the return went"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("report-attribution") / "ws", REBALANCES)


@pytest.fixture
def copied(record: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(record, root)
    return root


def _json(result: CliResult) -> Any:
    assert result.code == 0, result
    return json.loads(result.out)


def _pages(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]


def _row(page: str, label: str) -> list[str]:
    lines = page.splitlines()
    at = lines.index(label)
    return lines[at + 1 : at + 4]


def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def _bps(x: float) -> str:
    return f"{round(x * 1e4, 1) or 0.0:+,.1f}"


def _year_to_date(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The months compounded, as the report combines them: each ladder step's return, the
    buckets the differences of neighbours."""
    returns = {name: math.prod(1.0 + m["returns"][name] for m in months) - 1.0 for name in LADDER}
    steps = dict(zip(BUCKETS, (returns[a] - returns[b] for a, b in zip(LADDER, LADDER[1:]))))
    return {"model_return": returns["model"], "live_return": returns["live"], "gap": returns["model"] - returns["live"],
            "buckets": steps}


def _events(cli, root: Path) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return _json(cli("--home", root, "ledger", "log", "--json"))


def test_the_report_shows_the_figures_attribution_prints_and_verifies(copied: Path, cli) -> None:  # type: ignore[no-untyped-def]
    made = _json(cli("--home", copied, "report", MONTH, "--json"))
    pages = _pages(Path(made["path"]))
    page = next(p for p in pages if TITLE in p)
    document = _json(cli("--home", copied, "attribution", FIRST, LAST, "--json"))
    months = {m["period"]: m for m in document["months"]}
    columns = (months[MONTH], _year_to_date([m for label, m in months.items() if label.startswith("2025")]),
               document["total"])
    assert _row(page, "Model TWR") == [_pct(c["model_return"]) for c in columns]
    assert _row(page, "Simulated TWR") == [_pct(c["live_return"]) for c in columns], "labelled as the record is"
    assert _row(page, "Gap (bp)") == [_bps(c["gap"]) for c in columns]
    for key, label in LABELS.items():
        assert _row(page, label) == [_bps(c["buckets"][key]) for c in columns], key
    assert abs(months[MONTH]["buckets"]["selection"]) > 1e-5, "the refused rebalance shows in the month"
    assert f"did not trade on their session (refused, missed or late): {REFUSED}" in page
    assert f"trackrecord attribution {FIRST} {LAST}" in page, "the command behind the columns"
    assert "The account is simulated" in page and "Live TWR" not in page and "BACKTEST" not in page
    inputs = [e for e in _events(cli, copied) if e["kind"] == "report.inputs_recorded"]
    frozen = inputs[-1]["payload"]["model"]
    assert frozen["unavailable"] is None and {row[0] for row in frozen["closes"]} >= {"SXLI", "SXLV"}
    verified = cli("--home", copied, "report", "verify", made["path"])
    assert verified.code == 0 and "identical" in verified.out, verified


def test_report_verify_rebuilds_the_table_from_the_frozen_closes_alone(copied: Path, cli) -> None:  # type: ignore[no-untyped-def]
    made = _json(cli("--home", copied, "report", MONTH, "--json"))
    with sqlite3.connect(copied / "trackrecord.db") as db:
        # the live store no longer says what the report read: each close moved by its month
        db.execute("UPDATE prices SET close = close * (1.0 + CAST(substr(session_date, 6, 2) AS REAL) / 100.0)")
    changed = _json(cli("--home", copied, "attribution", FIRST, LAST, "--json"))["total"]["model_return"]
    assert _pct(changed) not in _row(next(p for p in _pages(Path(made["path"])) if TITLE in p), "Model TWR")
    verified = cli("--home", copied, "report", "verify", made["path"])
    assert verified.code == 0 and "identical" in verified.out, verified


def test_inputs_frozen_before_the_table_still_verify_and_draw_none(copied: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.analytics.periods import Period
    from trackrecord.bootstrap import connect
    from trackrecord.engine.reporting import freeze_report_inputs
    from trackrecord.reports.monthly import build_monthly_report
    from trackrecord.reports.record import report_head
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(copied))
    try:
        account = freeze_report_inputs(services, Period.parse(MONTH), None)  # what reports recorded before
        events = list(services.ledger.events())
    finally:
        services.engine.dispose()
    assert "model" not in events[-1].data() and events[-1].kind == "report.inputs_recorded"
    older = tmp_path / "older.pdf"
    older.write_bytes(build_monthly_report(events, account, MONTH, report_head(events)[0]))
    assert not any(TITLE in p for p in _pages(older))
    assert cli("--home", copied, "report", "verify", older).code == 0
    made = _json(cli("--home", copied, "report", MONTH, "--json"))  # records the model's closes, then the table
    assert any(TITLE in p for p in _pages(Path(made["path"])))
    verified = cli("--home", copied, "report", "verify", older)
    assert verified.code == 0 and "identical" in verified.out, verified


def test_a_record_without_a_model_has_no_table(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    _configure(root)
    assert cli("--home", root, "prices", "update").code == 0
    assert cli("--home", root, "cashflow", "add", "--date", "2025-07-01", "--amount", "1000").code == 0
    for day in ("2025-07-31", "2025-08-29"):
        assert cli("--home", root, "snapshot", "--as-of", day).code == 0
    made = _json(cli("--home", root, "report", "2025-08", "--json"))
    text = "\n".join(_pages(Path(made["path"])))
    assert "Model vs account" not in text and "Model TWR" not in text
    inputs = [e for e in _events(cli, root) if e["kind"] == "report.inputs_recorded"]
    assert all("model" not in e["payload"] for e in inputs), "nothing frozen for a model the record lacks"


def test_the_table_is_drawn(copied: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    path = Path(_json(cli("--home", copied, "report", MONTH, "--json"))["path"])
    reader = pypdf.PdfReader(str(path))
    number = next(i for i, p in enumerate(reader.pages, start=1) if TITLE in p.extract_text())
    heights: dict[str, float] = {}

    def seen(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        for word in (TITLE, "Residual"):
            if text.strip() == word and word not in heights:
                heights[word] = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])

    reader.pages[number - 1].extract_text(visitor_text=seen)
    assert set(heights) == {TITLE, "Residual"}
    dpi = 80
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(number), "-l", str(number), str(path),
                    str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page-*.png"))).convert("RGB")
    top_pt = float(reader.pages[number - 1].mediabox.height)
    top, bottom = (int((top_pt - heights[w]) * dpi / 72) for w in (TITLE, "Residual"))
    assert bottom - top > 100, "a heading and eleven rows"
    band = image.crop((0, top, image.width, bottom + 4))
    navy_rows = 0
    for y in range(band.height):
        navy = sum(1 for x in range(0, band.width, 2) if _near(band.getpixel((x, y)), (0x1F, 0x3A, 0x5F)))
        navy_rows += navy > 0.5 * band.width / 2
    assert navy_rows >= 2, "the header and the gap rules are drawn across the table"
    grey = band.convert("L")
    dark = sum(grey.histogram()[:160])
    assert dark > 0.03 * band.width * band.height, "figures and words are printed in it"


def _near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour))


def test_attribution_on_adjusted_only_prices_names_the_missing_closes_and_the_fix(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_backtest_user_workspace import write_market

    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    market = write_market(tmp_path / "prices")  # date,adj_close: adjusted closes only
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('mode: "dry_run"', 'mode: "paper"', 1)
                      .replace('csv_dir: "prices"', f'csv_dir: "{market}"', 1))
    home = ("--home", root)
    for command in (("prices", "update"), ("cashflow", "add", "--date", "2019-03-01", "--amount", "100000"),
                    ("snapshot", "--as-of", "2019-03-29"), ("execute", "--as-of", "2019-04-01"),
                    ("snapshot", "--as-of", "2019-04-02"), ("snapshot", "--as-of", "2019-04-03")):
        assert cli(*home, *command).code == 0, command
    before = len(_events(cli, root))
    refused = cli(*home, "attribution")
    assert refused.code == 2 and refused.err.startswith("error: ") and refused.err.count("\n") == 1, refused
    assert "no raw close for XL" in refused.err and " .. 2019-04-03 (" in refused.err
    assert "adjusted closes only" in refused.err and "close column" in refused.err and "yahoo" in refused.err
    assert "run `trackrecord prices update`" not in refused.err, "an update from the same source cannot help"
    assert len(_events(cli, root)) == before
    made = _json(cli(*home, "report", "2019-04", "--json"))  # the report says why there is no table
    page = next(p for p in _pages(Path(made["path"])) if TITLE in p)
    assert "Not shown: no raw close for XL" in page.replace("\n", " ") and "Model TWR" not in page
    assert cli(*home, "report", "verify", made["path"]).code == 0


def test_a_backtest_on_adjusted_only_prices_reports_its_table_at_the_closes_it_traded(tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                                                       shared_data: Path) -> None:
    # Behaviour changed on purpose (usebt): a backtest fills at its history's closes, adjusted
    # ones when that is all it has; they are its model's closes too, so its attribution is shown.
    from tests.integration.test_backtest_agreement import open_wide

    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    open_wide(root)
    out = tmp_path / "bt"
    assert cli("--home", root, "backtest", "--from", "2024-01-01", "--to", "2024-03-31", "--prices-dir",
               shared_data / "prices", "--out", out).code == 0
    assert cli("--home", out, "attribution").code == 0
    made = _json(cli("--home", out, "report", "2024-02", "--json"))
    page = next(p for p in _pages(Path(made["path"])) if TITLE in p)
    assert "Model TWR" in page and "Not shown" not in page.replace("\n", " ")
    assert cli("--home", out, "report", "verify", made["path"]).code == 0


@pytest.mark.slow
def test_a_record_on_postgresql_reports_the_table_sqlite_reports(copied: Path, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                                  pg_url: str) -> None:
    on_postgresql = _build(tmp_path / "pg", REBALANCES[:3], pg_url)
    assert "postgresql" in (on_postgresql / "trackrecord.yaml").read_text()
    month = "2025-09"  # ends before the sessions the short record lacks
    made = _json(cli("--home", on_postgresql, "report", month, "--json"))
    page = next(p for p in _pages(Path(made["path"])) if TITLE in p)
    document = _json(cli("--home", on_postgresql, "attribution", FIRST, "2025-09-30", "--json"))
    assert _row(page, "Gap (bp)")[0] == _bps(document["months"][-1]["gap"])
    assert _row(page, "Selection")[2] == _bps(document["total"]["buckets"]["selection"])
    sqlite_made = _json(cli("--home", copied, "report", month, "--json"))
    sqlite_page = next(p for p in _pages(Path(sqlite_made["path"])) if TITLE in p)
    for label in ("Model TWR", "Simulated TWR", "Gap (bp)", *LABELS.values()):
        assert _row(page, label) == _row(sqlite_page, label), label
    verified = cli("--home", on_postgresql, "report", "verify", made["path"])
    assert verified.code == 0 and "identical" in verified.out, verified
