"""``export bundle``: the verifiable track record in one zip (docs/ledger.md, "Bundles and commitments")."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trackrecord.cli import context
from trackrecord.user_files import refuse_special_file, refuse_unwritable, write_whole


def export_bundle(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="the zip file to write (an earlier bundle there is replaced; any other file is refused)"),
    account: Optional[str] = typer.Option(None, "--account", help="the account whose figures and reports go in"),
    no_statements: bool = typer.Option(False, "--no-statements",
                                       help="leave the reconciled broker statements out (they name the account holder)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Write every event, the public key, checkpoints, figures, reports and a manifest to OUT.zip."""
    from trackrecord.analytics.wording import record_line
    from trackrecord.engine.bundles import export_bundle as build
    from trackrecord.errors import UserError
    from trackrecord.ledger.backtest_mark import is_backtest

    if out.is_dir():
        raise UserError(f"{out} is a folder: give the path of the zip file to write")
    if not out.parent.resolve().is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    refuse_special_file(out, str(out), "the path of a zip file to write (a device or a pipe would be replaced)")
    _refuse_replacing_other_file(out)
    refuse_unwritable(out, str(out))  # before the bundle signs a checkpoint into the ledger
    services = context.services(ctx)
    bundle = build(services, account, with_statements=not no_statements)
    write_whole(out, bundle.data)
    if bundle.warning:
        typer.echo(f"warning: {bundle.warning}", err=True)
    manifest = bundle.manifest
    if as_json:
        context.print_json({
            "path": str(out), "bytes": len(bundle.data), "account": manifest["account"],
            "head_seq": manifest["head_seq"], "head_hash": manifest["head_hash"], "events": manifest["events"],
            "checkpoints": manifest["checkpoints"], "key_fingerprint": manifest["key_fingerprint"],
            "reports": len(manifest["reports"]), "statements": len(manifest["statements"]),
            "files": sorted(manifest["files"]), "signed_head_now": bundle.signed_now,
            "label": bundle.label, "caveats": bundle.caveats,
        })
        return
    if is_backtest(services.engine):
        typer.echo("record: SIMULATED | BACKTEST (a `trackrecord backtest` replay, not a trading record): "
                   "the bundle says so to whoever verifies it")
    elif bundle.label is not None:
        typer.echo(record_line(bundle.label, bundle.caveats))
    if bundle.signed_now:
        typer.echo("signed a checkpoint of the head first: events after the last checkpoint were unsigned")
    typer.echo(f"wrote {out} ({len(bundle.data):,} bytes): {manifest['events']} events up to seq "
               f"{manifest['head_seq']}, {manifest['checkpoints']} signed checkpoints, {len(manifest['reports'])} "
               f"reports, {len(manifest['statements'])} statements, account {manifest['account']}")
    typer.echo(f"key fingerprint {manifest['key_fingerprint']}: send it separately; the recipient runs "
               f"`trackrecord verify {out.name}`")


def _refuse_replacing_other_file(out: Path) -> None:
    """An existing OUT is replaced only when it is an earlier bundle: ``export bundle
    trackrecord.db`` or ``export bundle reports/monthly/2026-11.pdf`` used to destroy the
    ledger or a report (``SafetyRefusal``, exit 3, nothing written)."""
    import zipfile

    from trackrecord.errors import SafetyRefusal
    from trackrecord.ledger.bundle import MANIFEST_FILE

    if not out.is_file():
        return
    try:
        with zipfile.ZipFile(out) as archive:
            if MANIFEST_FILE in archive.namelist():
                return
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        pass
    raise SafetyRefusal(f"{out} exists and is not a bundle: not replaced (an export replaces only an earlier "
                        "bundle); give a new path, or move that file away first")


def register(app: typer.Typer) -> None:
    export_app = typer.Typer(help="Export the record for someone else to check.", no_args_is_help=True)
    export_app.command("bundle")(export_bundle)
    app.add_typer(export_app, name="export")
