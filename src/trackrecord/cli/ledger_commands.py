"""``ledger log``, ``ledger checkpoint`` and ``verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from trackrecord.cli import context
from trackrecord.errors import UserError
from trackrecord.ledger.backtest_mark import opens_a_backtest
from trackrecord.ledger.commitments import record_commitment
from trackrecord.ledger.signing import SigningKeyError
from trackrecord.ledger.verify import NOT_PROVABLE
from trackrecord.user_files import refuse_special_file


def known_kinds() -> frozenset[str]:
    """Every event kind the ledger writes (``ledger/events.py``)."""
    from trackrecord.ledger import events

    return frozenset(v for k, v in vars(events).items() if k.isupper() and isinstance(v, str) and "." in v)


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
    rows = list(deque(entries, maxlen=limit) if limit is not None else entries)
    if kind is not None and not rows and kind not in known_kinds():
        from trackrecord.errors import UserError

        raise UserError(f"--kind {kind!r}: not an event kind; expected one of {', '.join(sorted(known_kinds()))}")
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
    try:
        event = checkpoint(services.ledger, services.workspace.private_key_path)
    except SigningKeyError as exc:
        raise UserError(f"cannot sign the checkpoint: {exc}; nothing was written") from None
    data = json.loads(event.payload)
    if as_json:
        context.print_json({"seq": event.seq, **data})
    else:
        typer.echo(f"checkpoint seq {event.seq}: signed head seq {data['head_seq']} hash {data['head_hash']}")


def ledger_commit(
    ctx: typer.Context,
    account: Optional[str] = typer.Option(None, "--account", help="the account committed to (default: the one stats shows)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Sign the head and print one line to send to an allocator or recruiter (records it too)."""
    from trackrecord.engine.cashflows import configured_account_id
    from trackrecord.engine.performance import record_account

    services = context.services(ctx)
    chosen = record_account(services.engine, services.settings, account) or configured_account_id(services.settings)
    try:
        commitment, event = record_commitment(services.ledger, services.workspace.private_key_path, chosen)
    except SigningKeyError as exc:
        raise UserError(f"cannot sign the commitment: {exc}") from None
    if as_json:
        context.print_json({"line": commitment.line, "account": commitment.account, "seq": commitment.seq,
                            "hash": commitment.hash, "signature": commitment.signature, "event_seq": event.seq})
        return
    typer.echo(commitment.line)
    typer.echo(f"committed to seq {commitment.seq} of account {commitment.account} (recorded as seq {event.seq}); "
               "send the line above to whoever checks your record, and keep a copy", err=True)


def verify(
    ctx: typer.Context,
    bundle: Optional[Path] = typer.Argument(None, help="an export bundle to check offline, with no workspace"),
    commitments: list[str] = typer.Option([], "--commitment", help="a commitment line the bundle must extend (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Recompute every hash, check every signature, rebuild projections and compare
    (the workspace's ledger, or BUNDLE.zip with no workspace)."""
    if bundle is not None:
        verify_bundle_file(bundle, commitments, as_json)
        return

    if commitments:
        raise UserError("--commitment needs a bundle: trackrecord verify BUNDLE.zip --commitment LINE")
    from trackrecord.ledger.backtest_mark import is_backtest
    from trackrecord.ledger.operations import verify_ledger

    services = context.services(ctx)
    result = verify_ledger(services.ledger, services.workspace.public_key_path, services.workspace.root)
    backtest = is_backtest(services.engine)
    if as_json:
        context.print_json(result.document() | ({"simulated": True, "backtest": True} if backtest else {}))
        _exit_unless(result.ok)
        return
    if backtest:
        typer.echo(BACKTEST_RECORD)
    if result.ok:
        typer.echo(f"ledger OK: {result.events} events, head seq {result.head_seq} {result.head_hash[:16]}, "
                   f"{result.checkpoints} signed checkpoints, {result.unsigned_events} events after the last signed "
                   f"checkpoint, {len(result.projections_checked)} projections match, "
                   f"{', '.join(result.stores_checked)} agree with the events, "
                   f"{result.files_checked} statement and report file(s) match their recorded sha256")
    else:
        where = f"first bad seq {result.first_bad_seq}" if result.first_bad_seq is not None else "projections"
        typer.echo(f"ledger BROKEN ({where}):", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"not provable here: {NOT_PROVABLE} (docs/ledger.md)", err=not result.ok)
    _exit_unless(result.ok)


BACKTEST_RECORD = "record: SIMULATED | BACKTEST (a `trackrecord backtest` replay, not a trading record)"


def _exit_unless(ok: bool) -> None:
    if not ok:
        raise typer.Exit(1)


def verify_bundle_file(path: Path, commitments: list[str], as_json: bool) -> None:
    from trackrecord.analytics.wording import record_line
    from trackrecord.engine.bundles import verify_bundle

    refuse_special_file(path, str(path), "a bundle written by `trackrecord export bundle`")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the bundle: {exc.strerror}") from None
    result = verify_bundle(data, str(path), commitments)
    backtest = opens_a_backtest(result.events)
    if as_json:
        context.print_json(result.document() | ({"simulated": True, "backtest": True} if backtest else {}))
    elif result.ok:
        if backtest:
            typer.echo(BACKTEST_RECORD)
        elif result.label is not None:
            typer.echo(record_line(result.label, result.caveats))
        typer.echo(f"bundle OK: {len(result.events)} events, head seq {result.head_seq} {result.hashes[-1][:16]}, "
                   f"{result.checkpoints} signed checkpoints, {result.figures_checked} figures recomputed from the "
                   f"events, {len(result.reports_checked)} reports, {len(result.commitments_checked)} commitments hold")
        typer.echo(f"signed by key {result.fingerprint}: compare it with the fingerprint the trader sent you")
        if not commitments:
            typer.echo("no --commitment given: only lines the trader sent you earlier show that this history was "
                       "not rewritten and re-signed before the export")
    else:
        first = result.first_break()
        typer.echo(f"bundle BROKEN: {first}", err=True)
        for problem in result.problems:
            if problem is not first:
                typer.echo(f"  {problem}", err=True)
        typer.echo(f"key fingerprint in the bundle: {result.fingerprint}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    ledger_app = typer.Typer(help="The hash-chained ledger.", no_args_is_help=True)
    ledger_app.command("log")(ledger_log)
    ledger_app.command("checkpoint")(ledger_checkpoint)
    ledger_app.command("commit")(ledger_commit)
    app.add_typer(ledger_app, name="ledger")
    app.command("verify")(verify)
