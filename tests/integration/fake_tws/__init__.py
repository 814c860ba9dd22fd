"""A fake TWS server speaking the real socket protocol, for the IbkrBroker tests (integration
and the Broker contract suite)."""

from .protocol import SERVER_VERSION, ContractSpec
from .scenario import DisconnectOnPlace, Faults, LateCommission, PartialFill, Reject, Scenario
from .server import FakeTws, OrderView

__all__ = [
    "SERVER_VERSION",
    "ContractSpec",
    "DisconnectOnPlace",
    "FakeTws",
    "Faults",
    "LateCommission",
    "OrderView",
    "PartialFill",
    "Reject",
    "Scenario",
]
