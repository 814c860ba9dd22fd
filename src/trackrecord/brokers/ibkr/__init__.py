"""Interactive Brokers through ib_async. Importing this package does not import ib_async."""

from trackrecord.brokers.ibkr.adapter import AccountMismatch, IbkrBroker

__all__ = ["AccountMismatch", "IbkrBroker"]
