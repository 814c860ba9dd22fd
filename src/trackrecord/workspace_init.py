"""``trackrecord init``: a workspace's layout, refusing to touch an existing one, and its
first events (``bootstrap.create_workspace`` opens the database between the two)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from trackrecord import __version__
from trackrecord.config import (
    CONFIG_FILE,
    AccountConfig,
    PricesConfig,
    Settings,
    SigningConfig,
    UniverseConfig,
    us_sector_instruments,
)
from trackrecord.config_template import render_config
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.operations import write_checkpoint
from trackrecord.ledger.signing import generate_keypair
from trackrecord.ledger.store import SqlLedger
from trackrecord.secure_files import ensure_private_file, make_private_folder, write_new_file
from trackrecord.user_files import make_named_folder, refuse_unwritable
from trackrecord.workspace import DB_FILE, FOLDERS, Workspace

UNIVERSES = ("uk-sectors", "us-sectors")


CSV_DIR = "prices"  # init --prices csv: the workspace's folder of <SYMBOL>.csv files


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
    prices = PricesConfig(source=prices_source, csv_dir=CSV_DIR if prices_source == "csv" else None)
    try:
        return Settings(account=account, universe=universe_config, prices=prices)
    except ValueError as exc:  # pydantic's ValidationError: the preset needs an FX rate
        native, other = ("USD", "uk-sectors") if universe == "us-sectors" else ("GBP", "us-sectors")
        switch = f" or --universe {other}" if base_currency != native else ""
        raise UserError(f"--universe {universe} with --base-currency {base_currency}: {_first_problem(exc)}; "
                        f"use --base-currency {native} (the currency its ETFs trade in){switch}, or init with "
                        f"{native} and then add the rate to prices.fx_rates in trackrecord.yaml") from None


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    return str(errors()[0]["msg"]).removeprefix("Value error, ") if callable(errors) else str(exc)


def with_key_file(settings: Settings, key_file: Path | None) -> Settings:
    """``settings`` recording where the private signing key lives (absolute), if not in keys/."""
    if key_file is None:
        return settings
    path = key_file.expanduser().resolve()
    if path.exists():
        raise UserError(f"--key-file {path}: already exists; trackrecord writes a new key there and never overwrites")
    if not path.parent.is_dir():
        raise UserError(f"--key-file {path}: folder {path.parent} does not exist")
    refuse_unwritable(path, f"--key-file {path}")  # before the workspace is laid out (/proc, a read-only disk)
    return settings.model_copy(update={"signing": SigningConfig(key_file=str(path))})


def lay_out_workspace(directory: Path, settings: Settings) -> tuple[Workspace, str]:
    """Write the layout of DESIGN.md (folders 0700, files 0600, the public key 0644, whatever
    the umask) and the key pair; returns the workspace and its public key. The database
    file is created empty: its tables come with the first connection."""
    root = directory.expanduser().resolve()
    existing = [name for name in (CONFIG_FILE, DB_FILE, "keys") if (root / name).exists()]
    if existing:
        raise UserError(f"{root} already holds a workspace ({', '.join(existing)} exist): nothing was changed")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} exists and is not a folder")
    make_named_folder(root, str(root))
    for folder in FOLDERS:
        make_private_folder(root / folder)
    if settings.prices.source == "csv" and settings.prices.csv_dir == CSV_DIR:
        make_private_folder(root / CSV_DIR)  # the folder the configuration names, for the trader's CSV files
    write_new_file(root / CONFIG_FILE, render_config(settings).encode("utf-8"))
    workspace = Workspace(root, settings)
    public_key = generate_keypair(workspace.private_key_path, workspace.public_key_path)
    ensure_private_file(root / DB_FILE)
    return workspace, public_key


def record_creation(ledger: SqlLedger, workspace: Workspace, public_key: str,
                    backtest: Mapping[str, Any] | None = None) -> None:
    """The workspace's first event and the checkpoint that signs it, in one transaction.
    ``backtest`` (what a backtest workspace replays) marks the record as a BACKTEST for good."""
    settings = workspace.settings
    with ledger.writer() as writer:
        writer.append(kinds.WORKSPACE_CREATED, {
            "version": __version__, "base_currency": settings.account.base_currency,
            "universe": settings.universe.name, "public_key": public_key,
            **({"backtest": dict(backtest)} if backtest is not None else {}),
        })
        write_checkpoint(writer, workspace.private_key_path)
