"""Two labelling rules every layer applies the same way (DESIGN.md, "Honest numbers")."""

from __future__ import annotations

from typing import Iterable

from trackrecord.domain.enums import Mode

PAPER_ACCOUNT_PREFIX = "DU"
SYNTHETIC_SOURCE = "synthetic"


def is_paper_account(account_id: str) -> bool:
    """An Interactive Brokers paper account: its id starts with ``DU``."""
    return account_id.upper().startswith(PAPER_ACCOUNT_PREFIX)


def is_simulated(mode: Mode, price_sources: Iterable[str] = ()) -> bool:
    """A record is simulated unless live orders meet a real market: any mode but live
    (dry run, the simulated paper broker), or any price that came from the synthetic market."""
    return mode is not Mode.LIVE or any(source == SYNTHETIC_SOURCE for source in price_sources)
