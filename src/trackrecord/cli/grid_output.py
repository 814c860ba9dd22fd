"""``trackrecord backtest --grid``: run the robustness grid and show it (table or JSON)."""

from __future__ import annotations

import sys
from typing import Any

from trackrecord.analytics.wording import percent
from trackrecord.cli import context
from trackrecord.cli.analytics_commands import Column, print_fitted


def run_and_show_grid(settings: Any, history: Any, costs: Any, start: Any, end: Any, cash: Any, now: Any,
                      open_workspace: Any, calendar_start: Any, axes: Any, jobs: int, as_json: bool) -> None:
    import tempfile
    from pathlib import Path

    from trackrecord.engine.grid import GridRun, run_grid

    with tempfile.TemporaryDirectory(prefix="trackrecord-grid-") as scratch:
        run = GridRun(settings, history, costs, start, end, cash, now, open_workspace, calendar_start, Path(scratch))
        result = run_grid(run, axes, jobs, _progress() if sys.stderr.isatty() else None)
    document = result.document()
    if as_json:
        context.print_json(document)
    else:
        render_grid(document, context.console())


def _progress() -> Any:
    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\rbacktest grid: {done}/{total} trials")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _pct(value: float | None) -> str:
    return "n/a" if value is None else percent(value)


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_grid(document: dict[str, Any], console: Any) -> None:
    """One row a trial, best Sharpe first; the live parameters marked; then rank, PSR and DSR."""
    keys = list(document["grid"])
    live = document["live"]["params"]
    columns = [Column(k, 9, False) for k in keys] + [Column("CAGR", 8), Column("Sharpe", 9), Column("Max DD", 7),
                                                     Column("Turnover\n/year", 6), Column("Refused\nsessions", 5),
                                                     Column("", 10, False)]
    trials = sorted(document["trials"], key=lambda t: -(t["sharpe"] if t["sharpe"] is not None else -1e9))
    rows = [[_param(t["params"][k]) for k in keys]
            + [_pct(t["cagr"]), _num(t["sharpe"]), _pct(t["max_drawdown"]), _num(t["turnover"]),
               str(t["refusals"]), ("live" if t["params"] == live else "") + (" failed" if t["failed"] else "")]
            for t in trials]
    print_fitted(console, f"Robustness grid | BACKTEST | SIMULATED: {document['from']} .. {document['to']}",
                 columns, rows)
    d, ranks = document["deflated_sharpe"], document["live"]
    added = " (added to the grid)" if ranks["added_to_grid"] else ""
    console.print(f"live parameters{added}: Sharpe rank {ranks['rank_sharpe']} of {ranks['of']}, CAGR rank "
                  f"{ranks['rank_cagr']} of {ranks['of']}", markup=False)
    console.print(f"trials {d['trials']}; expected best Sharpe of unskilled trials (daily) {_num(d['expected_max_sharpe'], 4)}; "
                  f"PSR (vs 0) {_pct(d['psr'])}; deflated Sharpe ratio {_pct(d['dsr'])}", markup=False)
    if d["trials"] == 1:
        console.print("one trial: no selection to deflate, so the deflated Sharpe ratio is the PSR; give more values "
                      "to --grid to ask whether these parameters were the best of many", markup=False)
    for name, reason in d["undefined"].items():
        console.print(f"{name}: {reason}", markup=False)
    for t in document["trials"]:
        if t["failed"]:
            label = " ".join(f"{k}={_param(v)}" for k, v in t["params"].items())
            console.print(f"trial {label} failed (counted as tried): {t['failed']}", markup=False)


def _param(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
