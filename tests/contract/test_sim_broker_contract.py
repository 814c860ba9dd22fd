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


@pytest.mark.postgres
class TestSimulatedBrokerPostgresContract(BrokerContract):
    """The same book on PostgreSQL (written through SQLAlchemy ``text()``, not the SQLite driver)."""

    @pytest.fixture
    def harness(self, tmp_path: Path, pg_url: str) -> Iterator[SimHarness]:
        harness = SimHarness(tmp_path, url=pg_url)
        yield harness
        harness.close()
