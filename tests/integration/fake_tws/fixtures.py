"""Pytest fixtures for the fake TWS; import them into a test module to use them:

    from tests.integration.fake_tws.fixtures import fake_tws, ib_decoder_guard  # noqa: F401
"""

from __future__ import annotations

import logging
from typing import Iterator

import pytest

from .server import FakeTws

# What ib_async logs when it cannot decode what the server sent, or cannot match it.
DECODER_FAILURES = ("Error handling fields", "Error for ", "No order found for orderId")


class DecoderErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def decoder_failures(self) -> list[str]:
        return [
            r.getMessage() for r in self.records
            if r.name == "ib_async.Decoder" or any(t in r.getMessage() for t in DECODER_FAILURES)
        ]


@pytest.fixture
def ib_decoder_guard() -> Iterator[DecoderErrorCollector]:
    """Fail the test if ib_async logged any decoding error while it ran."""
    collector = DecoderErrorCollector()
    logger = logging.getLogger("ib_async")
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
    failures = collector.decoder_failures()
    assert not failures, f"ib_async could not decode the fake TWS: {failures}"


@pytest.fixture
def fake_tws(ib_decoder_guard: DecoderErrorCollector) -> Iterator[FakeTws]:
    """A started fake TWS on a free port of 127.0.0.1 (default scenario, no faults)."""
    server = FakeTws().start()
    try:
        yield server
    finally:
        server.stop()
