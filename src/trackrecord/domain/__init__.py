"""Plain data shared by every layer: facts are frozen dataclasses with Decimal money."""

from trackrecord.domain.accounts import is_paper_account, is_simulated
from trackrecord.domain.enums import Mode, OrderStatus, OrderType, Side, TradingState
from trackrecord.domain.instrument import IbContract, Instrument
from trackrecord.domain.orders import BrokerOrder, Fill, OrderRequest
from trackrecord.domain.portfolio import AccountSnapshot, CashFlow, Position, ReportedPosition
from trackrecord.domain.prices import decision_price

__all__ = [
    "AccountSnapshot",
    "BrokerOrder",
    "CashFlow",
    "Fill",
    "IbContract",
    "Instrument",
    "Mode",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "ReportedPosition",
    "Side",
    "TradingState",
    "decision_price",
    "is_paper_account",
    "is_simulated",
]
