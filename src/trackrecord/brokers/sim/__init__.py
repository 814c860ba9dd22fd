"""The simulated broker: the broker of the demo, of ``paper`` mode and of the backtest."""

from trackrecord.brokers.sim.broker import MissingFxRate, SimulatedBroker
from trackrecord.brokers.sim.costs import CommissionModel, SlippageModel
from trackrecord.brokers.sim.market import PriceTape, SimMarket
from trackrecord.brokers.sim.session import SimulatedSession, price_tape

__all__ = ["CommissionModel", "MissingFxRate", "PriceTape", "SimMarket", "SimulatedBroker", "SimulatedSession", "SlippageModel",
           "price_tape"]
