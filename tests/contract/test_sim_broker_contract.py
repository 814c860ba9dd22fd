"""The Broker contract on SimulatedBroker."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.contract.broker_contract import BrokerContract
from tests.contract.sim_harness import SimHarness


class TestSimulatedBrokerContract(BrokerContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SimHarness]:
        harness = SimHarness(tmp_path)
        yield harness
        harness.close()


class TestSimulatedBrokerPortableSqlContract(BrokerContract):
    """The same book written through SQLAlchemy ``text()`` (the PostgreSQL path)."""

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SimHarness]:
        harness = SimHarness(tmp_path, portable_sql=True)
        yield harness
        harness.close()
