"""Vendor start-up work that trackrecord never uses, skipped once per process."""

from __future__ import annotations

import os
import sys
import types

PYDANTIC_LOADER = "pydantic.plugin._loader"


def skip_pydantic_plugin_scan() -> None:
    """pydantic looks for plugins (the ``pydantic`` entry-point group) when it builds its first
    schema: its loader imports ``importlib.metadata`` (email, zipfile, csv ...) and reads every
    installed distribution's metadata, 30-50 ms of each command's start-up on this machine,
    even with ``PYDANTIC_DISABLE_PLUGINS`` set (that only skips the scan, not the import).
    trackrecord uses no pydantic plugin (typer builds its own adapters with plugins disabled),
    so the loader is one that finds none. Left as pydantic has it when it was imported
    already or when ``PYDANTIC_DISABLE_PLUGINS`` names plugins to leave out (whoever set it
    manages plugins on purpose)."""
    if PYDANTIC_LOADER in sys.modules or os.environ.get("PYDANTIC_DISABLE_PLUGINS", "__all__") not in (
            "__all__", "1", "true"):
        return
    loader = types.ModuleType(PYDANTIC_LOADER, "pydantic's plugin loader, finding none (trackrecord.vendor_startup)")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules[PYDANTIC_LOADER] = loader
