"""The Broker contract on IbkrBroker, over TCP against the fake TWS."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.contract.broker_contract import BrokerContract
from tests.contract.ibkr_harness import IbkrHarness
from tests.integration.fake_tws.fixtures import ib_decoder_guard  # noqa: F401


class TestIbkrBrokerContract(BrokerContract):
    @pytest.fixture
    def harness(self, ib_decoder_guard: Any) -> Iterator[IbkrHarness]:  # noqa: F811
        harness = IbkrHarness()
        yield harness
        harness.close()
