"""``ledger log``, ``ledger checkpoint`` and ``verify``."""

from __future__ import annotations

import json
from typing import Optional

import typer

from trackrecord.cli import context


def ledger_log(
    ctx: typer.Context,
    kind: Optional[str] = typer.Option(None, "--kind", help="only events of this kind"),
    after: int = typer.Option(0, "--after", min=0, max=2**62, help="only events after this seq"),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, max=2**62, help="at most this many (the latest)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List ledger events in order."""
    from collections import deque

    from trackrecord.ledger.operations import log_entries

    services = context.services(ctx)
    entries = log_entries(services.ledger, kind, after)
    rows = list(deque(entries, maxlen=limit) if limit else entries)
    if as_json:
        context.print_json([e.document() for e in rows])
        return
    from rich.table import Table

    table = Table("Seq", "Recorded (UTC)", "Kind", "Payload", "Hash", box=None)
    for e in rows:
        payload = e.payload if len(e.payload) <= 90 else e.payload[:87] + "..."
        table.add_row(str(e.seq), e.recorded_at, e.kind, payload, e.hash[:12])
    context.console().print(table)


def ledger_checkpoint(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Sign the head of the chain with the workspace's Ed25519 key."""
    from trackrecord.ledger.operations import checkpoint

    services = context.services(ctx)
    event = checkpoint(services.ledger, services.workspace.private_key_path)
    data = json.loads(event.payload)
    if as_json:
        context.print_json({"seq": event.seq, **data})
    else:
        typer.echo(f"checkpoint seq {event.seq}: signed head seq {data['head_seq']} hash {data['head_hash']}")


def verify(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Recompute every hash, check every signature, rebuild projections and compare."""
    from trackrecord.ledger.operations import verify_ledger
    from trackrecord.ledger.verify import NOT_PROVABLE

    services = context.services(ctx)
    result = verify_ledger(services.ledger, services.workspace.public_key_path)
    if as_json:
        context.print_json(result.document())
    elif result.ok:
        typer.echo(f"ledger OK: {result.events} events, head seq {result.head_seq} {result.head_hash[:16]}, "
                   f"{result.checkpoints} signed checkpoints, {result.unsigned_events} events after the last signed "
                   f"checkpoint, {len(result.projections_checked)} projections match, "
                   f"{', '.join(result.stores_checked)} agree with the events")
    else:
        where = f"first bad seq {result.first_bad_seq}" if result.first_bad_seq is not None else "projections"
        typer.echo(f"ledger BROKEN ({where}):", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
    if not as_json:
        typer.echo(f"not provable here: {NOT_PROVABLE} (docs/ledger.md)", err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    ledger_app = typer.Typer(help="The hash-chained ledger.", no_args_is_help=True)
    ledger_app.command("log")(ledger_log)
    ledger_app.command("checkpoint")(ledger_checkpoint)
    app.add_typer(ledger_app, name="ledger")
    app.command("verify")(verify)
