"""A fake TWS server speaking the real socket protocol, for integration tests."""

from .protocol import SERVER_VERSION, ContractSpec
from .scenario import DisconnectOnPlace, Faults, LateCommission, Reject, Scenario
from .server import FakeTws, OrderView

__all__ = [
    "SERVER_VERSION",
    "ContractSpec",
    "DisconnectOnPlace",
    "FakeTws",
    "Faults",
    "LateCommission",
    "OrderView",
    "Reject",
    "Scenario",
]
