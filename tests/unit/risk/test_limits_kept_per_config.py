"""A risk decision builds ``RiskLimits`` once for the run's (frozen) risk config and again
for any other config object: limits never outlive the settings they came from."""

from __future__ import annotations

from decimal import Decimal

from trackrecord.config import RiskConfig
from trackrecord.engine.rebalance import _limits
from trackrecord.risk.rules import RiskLimits


def test_limits_are_those_of_the_config_asked_about() -> None:
    first, second = RiskConfig(max_turnover=0.5), RiskConfig(max_turnover=2.0)
    assert _limits(first) == RiskLimits.from_config(first) and _limits(first).max_turnover == Decimal("0.5")
    assert _limits(first) is _limits(first)
    assert _limits(second).max_turnover == Decimal("2.0")
    assert _limits(first).max_turnover == Decimal("0.5")
    assert _limits(RiskConfig(max_turnover=0.5)) == _limits(first)
