"""``init`` and ``config``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from trackrecord.cli import context
from trackrecord.errors import UserError


def init(
    ctx: typer.Context,
    directory: Optional[Path] = typer.Argument(None, help="folder to create (default: --home, else here)"),
    base_currency: str = typer.Option("GBP", "--base-currency", help="account base currency"),
    universe: str = typer.Option("uk-sectors", "--universe", help="uk-sectors | us-sectors"),
    prices_source: str = typer.Option("yahoo", "--prices", help="yahoo | csv | synthetic"),
    key_file: Optional[Path] = typer.Option(None, "--key-file",
                                            help="write the private signing key here, outside the workspace"),
) -> None:
    """Create a workspace: trackrecord.yaml, the database, signing keys and folders."""
    from datetime import datetime, timezone

    from trackrecord.bootstrap import create_workspace
    from trackrecord.workspace_init import preset_settings, with_key_file

    if prices_source not in ("yahoo", "csv", "synthetic"):
        raise UserError(f"--prices {prices_source!r}: expected yahoo, csv or synthetic")
    target = directory or context.options(ctx).home or Path.cwd()
    settings = with_key_file(preset_settings(base_currency.upper(), universe, prices_source), key_file)
    workspace = create_workspace(target, settings, datetime.now(timezone.utc))
    typer.echo(f"created workspace {workspace.root} ({settings.universe.name}, base {settings.account.base_currency})")
    typer.echo(f"  config   {workspace.config_path}")
    typer.echo(f"  database {workspace.database_url}")
    typer.echo(f"  keys     {workspace.private_key_path} (private, mode 0600), {workspace.public_key_path} (public)")
    if settings.prices.source == "csv":
        typer.echo(f"  prices   put one <SYMBOL>.csv per instrument in {workspace.root / str(settings.prices.csv_dir)}, then run "
                   "`trackrecord prices update`")


def config_check(ctx: typer.Context, as_json: bool = typer.Option(
        False, "--json", help="print every error and warning as JSON (file, line, key, value, expected)")) -> None:
    """Validate trackrecord.yaml: the first problem (exit 2), or with --json all of them."""
    from trackrecord.config import CONFIG_FILE
    from trackrecord.config_check import check_config_file
    from trackrecord.workspace import locate

    root = locate(context.options(ctx).home, os.environ, Path.cwd())
    result = check_config_file(root / CONFIG_FILE)
    if as_json:
        context.print_json(result.document())
        if not result.ok:
            raise typer.Exit(2)
        return
    if not result.ok:
        raise UserError(result.first_error_line())
    for warning in result.warnings:
        typer.echo(f"warning: {warning.message}", err=True)
    assert result.settings is not None
    typer.echo(f"{root / CONFIG_FILE}: OK (mode {result.settings.mode.value}, "
               f"{len(result.settings.universe.instruments)} instruments)")


def config_show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Show the effective configuration; secrets are masked."""
    from trackrecord.config import settings_document

    workspace = context.workspace(ctx)
    document = settings_document(workspace.settings, os.environ)
    if as_json:
        context.print_json(document)
        return
    import yaml

    typer.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True).rstrip())


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    config_app = typer.Typer(help="Check and show trackrecord.yaml.", no_args_is_help=True)
    config_app.command("check")(config_check)
    config_app.command("show")(config_show)
    app.add_typer(config_app, name="config")
