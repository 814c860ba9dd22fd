"""``trackrecord init``: create a workspace, refusing to touch an existing one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from trackrecord import __version__
from trackrecord.config import (
    CONFIG_FILE,
    AccountConfig,
    PricesConfig,
    Settings,
    UniverseConfig,
    us_sector_instruments,
)
from trackrecord.config_template import render_config
from trackrecord.errors import UserError
from trackrecord.workspace import DB_FILE, FOLDERS, Workspace

UNIVERSES = ("uk-sectors", "us-sectors")


def preset_settings(base_currency: str = "GBP", universe: str = "uk-sectors", prices_source: str = "yahoo") -> Settings:
    if universe not in UNIVERSES:
        raise UserError(f"unknown universe {universe!r}: expected one of {', '.join(UNIVERSES)}")
    universe_config = (
        UniverseConfig(name="us-sectors", calendar="XNYS", instruments=us_sector_instruments())
        if universe == "us-sectors"
        else UniverseConfig()
    )
    try:
        account = AccountConfig(base_currency=base_currency)
    except ValueError:
        raise UserError(f"--base-currency {base_currency!r}: expected a 3-letter currency code such as GBP") from None
    return Settings(account=account, universe=universe_config, prices=PricesConfig(source=prices_source))


def create_workspace(directory: Path, settings: Settings, now: datetime) -> Workspace:
    """Write the layout of DESIGN.md, the key pair and the first events."""
    from trackrecord.bootstrap import connect
    from trackrecord.ledger import events as kinds
    from trackrecord.ledger.operations import write_checkpoint
    from trackrecord.ledger.signing import generate_keypair

    root = directory.expanduser().resolve()
    existing = [name for name in (CONFIG_FILE, DB_FILE, "keys") if (root / name).exists()]
    if existing:
        raise UserError(f"{root} already holds a workspace ({', '.join(existing)} exist): nothing was changed")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text(render_config(settings), encoding="utf-8")
    public_key = generate_keypair(root / "keys")
    workspace = Workspace(root, settings)
    services = connect(workspace, clock=lambda: now)
    try:
        with services.ledger.writer() as writer:
            writer.append(kinds.WORKSPACE_CREATED, {
                "version": __version__, "base_currency": settings.account.base_currency,
                "universe": settings.universe.name, "public_key": public_key,
            })
            write_checkpoint(writer, workspace.key_dir)
    finally:
        services.close()
    return workspace
