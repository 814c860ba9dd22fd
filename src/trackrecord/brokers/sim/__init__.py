"""The simulated broker: the broker of the demo, of ``paper`` mode and of the backtest."""

from trackrecord.brokers.sim.broker import SimulatedBroker
from trackrecord.brokers.sim.costs import CommissionModel, SlippageModel
from trackrecord.brokers.sim.market import PriceTape, SimMarket
from trackrecord.brokers.sim.session import SimulatedSession, price_tape

__all__ = ["CommissionModel", "PriceTape", "SimMarket", "SimulatedBroker", "SimulatedSession", "SlippageModel",
           "price_tape"]
