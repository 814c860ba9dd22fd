"""What commands and use cases work with: an open workspace, its database and its ledger
(``bootstrap.connect`` opens them; the engine receives them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trackrecord.workspace import Workspace

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.config import Settings
    from trackrecord.ledger.store import SqlLedger


@dataclass
class Services:
    """The workspace, its database and its ledger."""

    workspace: Workspace
    engine: "Engine"
    ledger: "SqlLedger"

    @property
    def settings(self) -> "Settings":
        return self.workspace.settings

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()
