"""The composition root: the one place that turns configuration into adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackrecord.workspace import Workspace

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.ledger.store import Clock, SqlLedger


@dataclass
class Services:
    """What commands work with: the workspace, its database and its ledger."""

    workspace: Workspace
    engine: "Engine"
    ledger: "SqlLedger"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.workspace.settings

    def close(self) -> None:
        self.engine.dispose()


def connect(workspace: Workspace, clock: "Clock | None" = None) -> Services:
    """Open the workspace's database (migrating it to the head revision) and ledger."""
    from trackrecord.ledger.db import create_db_engine, migrate
    from trackrecord.ledger.store import SqlLedger, utc_now

    engine = create_db_engine(workspace.database_url)
    try:
        migrate(engine)
    except Exception as exc:  # a server that is down or refuses us is a run-time failure
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            from trackrecord.errors import RuntimeFailure

            raise RuntimeFailure(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
        raise
    ledger = SqlLedger(engine, workspace.writer_lock_path, clock or utc_now)
    return Services(workspace, engine, ledger)
