"""Registered by trackrecord.cli.app; filled in by its owner."""

import typer


def register(app: typer.Typer) -> None:
    return None
