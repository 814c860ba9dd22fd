"""`stats` on records that are not daily: the frequency is detected from the calendar's
sessions (XLON by default), and a return spanning several sessions is never annualised
as one session (issue 8, item 1)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest


def _import_navs(cli, workspace: Path, tmp_path: Path, rows: list[tuple[str, float]]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "navs.csv"
    path.write_text("date,nav\n" + "".join(f"{d},{v}\n" for d, v in rows))
    result = cli("--home", workspace, "import", "snapshots", path)
    assert result.code == 0, result


def _stats(cli, workspace: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", workspace, "stats", "--benchmark", "none", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _returns(navs: list[float]) -> np.ndarray:
    values = np.array(navs)
    return values[1:] / values[:-1] - 1


def _calendar_cagr(total: float, first: str, last: str) -> float:
    days = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return float((1 + total) ** (365.25 / days) - 1)


def test_month_apart_runs_are_a_monthly_record_not_four_sessions(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # what four `execute --as-of` runs on the first session of each month leave behind
    rows = [("2026-01-02", 100000.0), ("2026-02-02", 101500.0), ("2026-03-02", 100900.0), ("2026-04-01", 103000.0)]
    _import_navs(cli, workspace, tmp_path, rows)
    doc = _stats(cli, workspace)
    assert doc["frequency"] == "monthly" and doc["periods_per_year"] == 12 and doc["gaps"] == []
    m = doc["metrics"]
    r = _returns([v for _, v in rows])
    total = float(np.prod(1 + r) - 1)
    # was (1 + total)^(252 / 3) - 1, several hundred per cent; now on calendar time
    assert m["cagr"] == pytest.approx(_calendar_cagr(total, "2026-01-02", "2026-04-01"), rel=1e-9)
    assert m["cagr"] < 0.2
    assert m["ann_volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(12), rel=1e-9)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(12), rel=1e-9)
    assert m["n_returns"] == 3 and m["n_period_returns"] == 3
    # drawdown length still counts sessions: 2026-02-02 -> 2026-04-01 is 42 XLON sessions
    assert m["max_drawdown_days"] == 42


def test_an_imported_file_of_month_end_navs_is_monthly(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ends = ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30", "2025-07-31",
            "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30", "2025-12-31"]  # 05-31, 08-31, 11-30: weekends
    navs = [100000.0 * (1.01 ** i) * (0.98 if i % 4 == 3 else 1.0) for i in range(len(ends))]
    _import_navs(cli, workspace, tmp_path, list(zip(ends, navs)))
    doc = _stats(cli, workspace)
    assert doc["frequency"] == "monthly" and doc["gaps"] == []
    r = _returns(navs)
    m = doc["metrics"]
    assert m["ann_volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(12), rel=1e-9)
    downside = np.minimum(r, 0.0)
    assert m["sortino"] == pytest.approx(r.mean() / np.sqrt(np.mean(downside**2)) * np.sqrt(12), rel=1e-9)
    assert m["cagr"] == pytest.approx(_calendar_cagr(float(np.prod(1 + r) - 1), ends[0], ends[-1]), rel=1e-9)
    assert m["best_day"] == pytest.approx(r.max()) and m["psr"] is not None
    table = cli("--home", workspace, "stats", "--benchmark", "none").out
    assert "monthly" in table and "12 periods a year" in table and "Best month" in table


def test_a_daily_record_with_two_missing_sessions_names_them(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    days = ["2026-03-02", "2026-03-03", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-11", "2026-03-12",
            "2026-03-13"]  # 03-04 and 03-10 have no snapshot
    navs = [100000.0, 100500.0, 101200.0, 100800.0, 101000.0, 101900.0, 101500.0, 102000.0]
    _import_navs(cli, workspace, tmp_path, list(zip(days, navs)))
    doc = _stats(cli, workspace)
    assert doc["frequency"] == "daily" and doc["periods_per_year"] == 252
    assert doc["gaps"] == [{"from": "2026-03-04", "to": "2026-03-04", "sessions": 1},
                           {"from": "2026-03-10", "to": "2026-03-10", "sessions": 1}]
    r = _returns(navs)
    one_session = np.delete(r, [1, 4])  # 03-03 -> 03-05 and 03-09 -> 03-11 span two sessions each
    m = doc["metrics"]
    assert m["n_returns"] == 7 and m["n_period_returns"] == 5
    assert m["ann_volatility"] == pytest.approx(one_session.std(ddof=1) * np.sqrt(252), rel=1e-9)
    total = float(np.prod(1 + r) - 1)
    assert m["total_return"] == pytest.approx(total, rel=1e-12)
    assert m["cagr"] == pytest.approx((1 + total) ** (252 / 9) - 1, rel=1e-9)  # 9 sessions, not 7 returns
    table = cli("--home", workspace, "stats", "--benchmark", "none").out
    line = next(row for row in table.splitlines() if "Record frequency" in row)
    assert "daily" in line and "2026-03-04" in line and "2026-03-10" in line


def test_a_weekly_record_annualises_with_52(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fridays = ["2026-01-09", "2026-01-16", "2026-01-23", "2026-01-30", "2026-02-06", "2026-02-13", "2026-02-20"]
    navs = [100000.0, 100800.0, 100200.0, 101500.0, 101100.0, 102300.0, 102900.0]
    _import_navs(cli, workspace, tmp_path, list(zip(fridays, navs)))
    doc = _stats(cli, workspace)
    assert doc["frequency"] == "weekly" and doc["periods_per_year"] == 52
    r = _returns(navs)
    m = doc["metrics"]
    assert m["ann_volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(52), rel=1e-9)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(52), rel=1e-9)
    assert m["cagr"] == pytest.approx(_calendar_cagr(float(np.prod(1 + r) - 1), fridays[0], fridays[-1]), rel=1e-9)


def test_an_irregular_record_has_no_per_period_figures(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [("2026-01-05", 100000.0), ("2026-01-06", 101000.0), ("2026-01-20", 99000.0), ("2026-03-17", 104000.0),
            ("2026-03-18", 104500.0)]
    _import_navs(cli, workspace, tmp_path, rows)
    doc = _stats(cli, workspace)
    assert doc["frequency"] == "irregular" and doc["periods_per_year"] is None
    assert {"from": "2026-01-21", "to": "2026-03-16", "sessions": 39} in doc["gaps"]
    m = doc["metrics"]
    r = _returns([v for _, v in rows])
    total = float(np.prod(1 + r) - 1)
    assert m["total_return"] == pytest.approx(total, rel=1e-12)
    assert m["cagr"] == pytest.approx(_calendar_cagr(total, "2026-01-05", "2026-03-18"), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(99000.0 / 101000.0 - 1, rel=1e-12)
    for key in ("ann_volatility", "sharpe", "sortino", "psr", "best_day", "win_rate_days", "skew"):
        assert m[key] is None and doc["nonfinite"][key].startswith("irregular record"), key
    table = cli("--home", workspace, "stats", "--benchmark", "none").out
    line = next(row for row in table.splitlines() if "Record frequency" in row)
    assert "irregular" in line
