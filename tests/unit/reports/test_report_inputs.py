"""What `report` freezes into the chain (``reports.inputs``): only what changed, and a
correction of something frozen replaces it whole, so a rebuild sees exactly what was used."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent
from trackrecord.reports.inputs import FrozenInputs, inputs_payload

CALENDAR = SimpleNamespace(code="XLON", timezone="Europe/London",
                           sessions=np.array(["2026-01-02", "2026-01-05", "2026-01-06"], dtype="datetime64[D]"))
ALIGNED = {"2026-01-02": 100.0, "2026-01-05": 101.5, "2026-01-06": None}


def _frozen(*payloads: dict) -> FrozenInputs:  # type: ignore[type-arg]
    events = [StoredEvent(i + 1, "2026-01-07T00:00:00Z", kinds.REPORT_INPUTS_RECORDED,
                          json.dumps(p, sort_keys=True, separators=(",", ":")), "0" * 64, f"{i:064d}")
              for i, p in enumerate(payloads)]
    return FrozenInputs.from_events(events, "A")


def _payload(frozen: FrozenInputs, aligned: dict = ALIGNED, closes: dict | None = None) -> dict | None:  # type: ignore[type-arg]
    return inputs_payload("A", frozen, '{"s":1}', "SPY", None, aligned, closes or {("X", "2026-01-05"): 9.5}, CALENDAR)


def test_the_same_inputs_again_record_nothing() -> None:
    first = _payload(FrozenInputs())
    assert first is not None and first["benchmark"]["replaces"]
    frozen = _frozen(first)
    assert _payload(frozen) is None
    start, values = frozen.benchmark_until(np.datetime64("2026-01-31", "D").astype(object))[0]
    assert values[:2].tolist() == [100.0, 101.5] and np.isnan(values[2])
    assert frozen.sessions == ("2026-01-02", "2026-01-05", "2026-01-06") and frozen.timezone == "Europe/London"


def test_new_dates_are_added_and_a_corrected_close_replaces_the_series() -> None:
    frozen = _frozen(_payload(FrozenInputs()))
    later = _payload(frozen, ALIGNED | {"2026-01-07": 102.0})
    assert later == {"account_id": "A", "benchmark": {"name": "SPY", "reason": None, "replaces": False,
                                                      "values": [["2026-01-07", "102.0"]]}}
    corrected = _payload(frozen, ALIGNED | {"2026-01-05": 101.25})
    assert corrected is not None and corrected["benchmark"]["replaces"]
    assert len(corrected["benchmark"]["values"]) == 3
    merged = _frozen(_payload(FrozenInputs()), corrected)
    assert merged.benchmark_values["2026-01-05"] == 101.25


def test_a_float_keeps_its_exact_value_through_the_chain() -> None:
    value = 0.1 + 0.2
    frozen = _frozen(_payload(FrozenInputs(), {"2026-01-02": value}, {("X", "2026-01-02"): value}))
    assert frozen.benchmark_values["2026-01-02"] == value and frozen.closes[("X", "2026-01-02")] == value
