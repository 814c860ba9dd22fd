"""``trackrecord dashboard``: the read-only web dashboard, or its static export."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

import typer

from trackrecord.cli import context


def dashboard(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="address to listen on (default: dashboard.host, "
                                       "127.0.0.1; not loopback: needs $TRACKRECORD_DASHBOARD_TOKEN)"),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535,
                                       help="TCP port (default: dashboard.port, 8765)"),
    export: Optional[Path] = typer.Option(None, "--export", help="write the pages as a static site to DIR (opens from file://) and exit"),
) -> None:
    """Serve the dashboard (pages and the JSON API under /api/v1), read-only but for the
    kill-switch activation; or write it as a static site with --export DIR."""
    from trackrecord.bootstrap import wall_clock
    from trackrecord.dashboard.security import TOKEN_ENV, Guard, check_bind
    from trackrecord.secure_files import secret_from_env

    if export is not None:
        from trackrecord.dashboard.export import export_site

        services = context.services(ctx)
        written = export_site(services, export, wall_clock)
        typer.echo(f"static dashboard written to {written.root}: {written.pages} pages, {written.documents} JSON "
                   f"documents, {written.reports} report(s), ledger head seq {written.head_seq}; open "
                   f"{written.root / 'index.html'}")
        return
    services = context.services(ctx)
    host = services.settings.dashboard.host if host is None else host  # trackrecord.yaml's, unless overridden
    port = services.settings.dashboard.port if port is None else port
    token = secret_from_env(TOKEN_ENV, os.environ)
    check_bind(host, token)
    import uvicorn

    from trackrecord.dashboard.app import create_app

    app = create_app(services, Guard(token), wall_clock)
    _warm(app)
    threading.Thread(target=_keep_warm, args=(app,), name="dashboard-keep-warm", daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"dashboard on http://{shown}:{port}/ ({'token required' if token else 'loopback only, no token'}); "
               "Ctrl-C stops it", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)


def _warm(app: object) -> None:
    """Build the overview before listening, so that the first visit is served from the cache.
    A document that cannot be built is reported by the request that needs it."""
    try:
        app.state.warm()  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - shown, and shown again by the page that needs it
        typer.echo(f"warning: the overview could not be prepared ({type(exc).__name__}: {exc}); "
                   "the page will say why", err=True)


def _keep_warm(app: object, every: float = 5.0) -> None:
    """When the ledger head moves (the scheduler's close, a CLI command), build the overview
    for the new head before someone asks for it."""
    import time

    last = None
    while True:
        time.sleep(every)
        try:
            head = app.state.documents.head()[0]  # type: ignore[attr-defined]
            if head != last:
                app.state.warm()  # type: ignore[attr-defined]
                last = head
        except Exception:  # noqa: BLE001 - the next request reports it; keep watching
            continue


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
