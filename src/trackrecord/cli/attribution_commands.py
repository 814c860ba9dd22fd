"""``trackrecord attribution``: the live (or paper) record against its own model, month by month."""

from __future__ import annotations

from typing import Any, Optional

import typer

from trackrecord.analytics.wording import percent
from trackrecord.cli import context
from trackrecord.cli.analytics_commands import Column, _period, _title, print_fitted

BUCKETS = (("selection", "Selec-\ntion"), ("cash_drag", "Cash\ndrag"), ("rounding", "Round-\ning"),
           ("delay", "Delay"), ("execution", "Exec-\nution"), ("costs", "Costs"), ("income", "Income"),
           ("residual", "Resid-\nual"))
COLUMNS = (Column("Month", 10, False), Column("Model", 4), Column("Live", 9), Column("Gap\nbps", 9),
           *(Column(header, keep) for (_, header), keep in zip(BUCKETS, (8, 6, 6, 5, 7, 7, 3, 8))))


def attribution(
    ctx: typer.Context,
    period_from: Optional[str] = typer.Argument(None, metavar="[FROM]", help="first session YYYY-MM-DD, or a month YYYY-MM (the record before it is the base)"),
    period_to: Optional[str] = typer.Argument(None, metavar="[TO]", help="last session YYYY-MM-DD, or a month YYYY-MM"),
    account: Optional[str] = typer.Option(None, "--account", help="account id (default: the configured one, else the one with most snapshots)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """The gap between the model (the recorded signals, ideal fills at the close, no costs) and the record's TWR, split into buckets that sum to it."""
    from trackrecord.engine.attribution import attribution_document

    start, end = _period(period_from, period_to)
    document = attribution_document(context.services(ctx), start, end, account_id=account)
    if as_json:
        context.print_json(document)
    else:
        render_attribution_table(document, context.console())


def _bps(value: float) -> str:
    return f"{round(value * 1e4, 1) or 0.0:+.1f}"


def _row(label: str, period: dict[str, Any]) -> list[str]:
    return [label, percent(period["model_return"]), percent(period["live_return"]), _bps(period["gap"]),
            *(_bps(period["buckets"][key]) for key, _ in BUCKETS)]


def render_attribution_table(document: dict[str, Any], console: Any) -> None:
    """Print an ``attribution_document``: one row a month and the total (bps, + = the account
    fell short of the model by that much)."""
    rows = [_row(m["period"], m) for m in document["months"]] + [_row("total", document["total"])]
    print_fitted(console, _title(document, "Model vs live"), COLUMNS, rows, sections=[len(rows) - 1])
    console.print("(model: the recorded signals at the session close, fractional shares, no costs, the same flows; "
                  "buckets in bps of TWR, + = cost; they sum to the gap)", markup=False)
    untraded = document["untraded_model_sessions"]
    if untraded:
        console.print(f"model rebalances the account did not trade on their session: {', '.join(untraded)}",
                      markup=False)
    without = document["rebalances_without_a_plan"]
    if without:
        console.print(f"rebalance sessions without a plan (not run, or blocked by the price gates): {', '.join(without)}; "
                      "the model did not rebalance on them either, so no bucket holds what their trades would have done",
                      markup=False)


def register(app: typer.Typer) -> None:
    app.command("attribution")(attribution)
