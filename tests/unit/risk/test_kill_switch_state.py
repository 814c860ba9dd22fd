"""The kill switch's transitions and event payload (pure)."""

from __future__ import annotations

import pytest

from trackrecord.domain import TradingState
from trackrecord.risk.killswitch import (
    KILL_SWITCH_CHANGED,
    KillSwitchRefusal,
    activation_state,
    change_payload,
    deactivation_state,
    status_from_row,
)

A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def test_event_kind_is_the_ledgers() -> None:
    from trackrecord.ledger import events

    assert KILL_SWITCH_CHANGED == events.KILL_SWITCH_CHANGED


@pytest.mark.parametrize(("current", "reduce_only", "expected"), [
    (A, False, H), (A, True, R), (R, False, H), (R, True, R), (H, False, H),
])
def test_activation_tightens_or_restates(current: TradingState, reduce_only: bool, expected: TradingState) -> None:
    assert activation_state(current, reduce_only, "why") is expected


def test_activation_never_loosens_and_needs_a_reason() -> None:
    with pytest.raises(KillSwitchRefusal, match="deactivate --reduce-only"):
        activation_state(H, True, "why")
    with pytest.raises(KillSwitchRefusal, match="give a reason"):
        activation_state(A, False, "   ")


@pytest.mark.parametrize(("current", "reduce_only", "expected"), [
    (H, False, A), (H, True, R), (R, False, A), (R, True, None), (A, False, None), (A, True, None),
])
def test_deactivation_only_loosens(current: TradingState, reduce_only: bool, expected: TradingState | None) -> None:
    assert deactivation_state(current, reduce_only) is expected


def test_payload_and_status() -> None:
    assert change_payload(R, "  drawdown  ", A) == {
        "state": "REDUCING", "reason": "drawdown", "reduce_only": True, "previous_state": "ACTIVE"}
    assert status_from_row(None).state is A and status_from_row(None).seq is None
    status = status_from_row(("HALTED", "x", "2024-01-01T00:00:00Z", 7))
    assert status.document() == {"state": "HALTED", "reduce_only": False, "reason": "x",
                                 "changed_at": "2024-01-01T00:00:00Z", "seq": 7}
