"""A record (or a period of one) shorter than a year is not annualised where a person reads
it: the `stats` table, the dashboard's overview and performance pages say "n/a (under a
year: not annualised)" for CAGR, volatility, Sharpe and the other annualised figures, as the
monthly report does, while `stats --json` keeps the computed values for a program. A
three-month record of +4 % would otherwise read "CAGR +17 %" to a recruiter."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np

from trackrecord.analytics.wording import ANNUALISED_METRICS, UNDER_A_YEAR, percent
from trackrecord.market.calendar import open_calendar

WITHHELD = f"n/a ({UNDER_A_YEAR})"


def _import_record(cli, workspace: Path, tmp_path: Path, first: date, last: date) -> None:  # type: ignore[no-untyped-def]
    days = [d.item() for d in open_calendar("XLON", start=date(2024, 1, 1)).sessions_between(first, last)]
    returns = np.random.default_rng(3).normal(0.0006, 0.009, len(days) - 1)
    navs = 100_000 * np.concatenate(([1.0], np.cumprod(1 + returns)))
    path = tmp_path / "nav.csv"
    path.write_text("date,nav\n" + "".join(f"{d},{v:.2f}\n" for d, v in zip(days, navs)))
    assert cli("--home", workspace, "import", "snapshots", path).code == 0


def _row(table: str, label: str) -> str:
    line = next(line for line in table.splitlines() if line.strip().startswith(label))
    return re.sub(r"\s{2,}", "  ", line.strip()).split("  ", 1)[1]


def test_a_short_period_is_not_annualised_in_the_table_but_kept_in_json(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                      tmp_path: Path) -> None:
    _import_record(cli, workspace, tmp_path, date(2025, 1, 2), date(2026, 3, 31))

    whole = cli("--home", workspace, "stats", "--benchmark", "none")
    whole_doc = json.loads(cli("--home", workspace, "stats", "--benchmark", "none", "--json").out)
    assert whole.code == 0, whole
    assert _row(whole.out, "CAGR (252 sessions a year)") == percent(whole_doc["metrics"]["cagr"])
    assert WITHHELD not in whole.out

    quarter = cli("--home", workspace, "stats", "2026-01-01", "2026-03-31", "--benchmark", "none")
    assert quarter.code == 0, quarter
    for label in ("CAGR (252 sessions a year)", "CAGR (calendar days)", "Volatility (annualised)", "Sharpe",
                  "Sortino", "Money-weighted return (annual)"):
        assert _row(quarter.out, label) == WITHHELD, label
    doc = json.loads(cli("--home", workspace, "stats", "2026-01-01", "2026-03-31", "--benchmark", "none",
                         "--json").out)
    assert _row(quarter.out, "Total return (time-weighted)") == percent(doc["metrics"]["total_return"])
    assert _row(quarter.out, "Probabilistic Sharpe (vs 0)").endswith("%")
    # the document a program reads keeps what was computed, with no reason attached
    assert all(isinstance(doc["metrics"][key], float) for key in ("cagr", "sharpe", "ann_volatility"))
    assert not set(doc["nonfinite"]) & set(ANNUALISED_METRICS)


def test_the_dashboard_of_a_young_record_does_not_annualise(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import_record(cli, workspace, tmp_path, date(2026, 1, 2), date(2026, 3, 31))
    site = tmp_path / "site"
    assert cli("--home", workspace, "dashboard", "--export", site).code == 0
    overview = (site / "index.html").read_text()
    assert re.search(r'data-metric="cagr" title="under a year: not annualised">n/a<', overview)
    assert re.search(r'data-metric="sharpe" title="under a year: not annualised">n/a<', overview)
    assert f'<span data-reason="sharpe">{UNDER_A_YEAR}</span>' in overview
    performance = (site / "performance.html").read_text()
    for key in ("cagr", "sharpe", "ann_volatility"):
        cell = re.search(rf'data-metric="{key}"[^>]*>(.*?)</td>', performance).group(1)  # type: ignore[union-attr]
        assert UNDER_A_YEAR in cell and cell.startswith("n/a"), (key, cell)
    total = re.search(r'id="stats-table".*?data-metric="total_return"[^>]*>(.*?)</td>', performance, re.S)
    assert total and total.group(1).endswith("%")
    # three months of sessions are short of a rolling Sharpe's window: words, not an empty grid
    note = re.search(r'<p class="muted nodata" id="rolling-note">(.*?)</p>', performance)
    returns = len(open_calendar("XLON", start=date(2024, 1, 1)).sessions_between(date(2026, 1, 2), date(2026, 3, 31))) - 1
    assert note and "needs 126 daily returns" in note.group(1), note
    assert f"this record has {returns} so far" in note.group(1), (returns, note.group(1))
    assert 'data-chart="rolling_sharpe"' not in performance
