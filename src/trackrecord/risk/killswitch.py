"""The kill switch's state machine (pure, stdlib-only).

The state lives in the ledger as ``kill_switch.changed`` events ``{state, reason,
reduce_only, previous_state}`` (read and written by ``trackrecord.engine.kill_switch``; the
CLI's fast path ``trackrecord.cli.kill_switch_fast`` does the same with sqlite3). No event
means ACTIVE. HALTED refuses every new order; REDUCING allows only orders that shrink a
position (see ``trackrecord.risk.rules.check_order_now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackrecord.domain.enums import TradingState

KILL_SWITCH_CHANGED = "kill_switch.changed"  # == trackrecord.ledger.events.KILL_SWITCH_CHANGED
CONFIRMATION_WORD = "DEACTIVATE"

# How restrictive each state is: moving down this order loosens the switch.
_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class InvalidKillSwitchState(ValueError):
    """A stored state that is not one of TradingState's values (an edited table or event)."""


class KillSwitchRefusal(ValueError):
    """A change the kill switch does not make this way (bad input: exit code 2)."""


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    state: TradingState
    reason: str = ""
    changed_at: str | None = None
    seq: int | None = None

    def document(self) -> dict[str, Any]:
        return {"state": self.state.value, "reduce_only": self.state is TradingState.REDUCING,
                "reason": self.reason, "changed_at": self.changed_at, "seq": self.seq}


ACTIVE_STATUS = KillSwitchStatus(TradingState.ACTIVE)


def status_from_row(row: Any) -> KillSwitchStatus:
    """From a ``kill_switch`` row ``(state, reason, changed_at, seq)``, or None for ACTIVE."""
    if row is None:
        return ACTIVE_STATUS
    state, reason, changed_at, seq = row
    return KillSwitchStatus(_state(state, f"the kill_switch table's state {state!r}"), reason or "", changed_at, int(seq))


def status_from_event(seq: int, recorded_at: str, data: dict[str, Any]) -> KillSwitchStatus:
    """From the last ``kill_switch.changed`` event (its seq, time and payload)."""
    state = data.get("state")
    return KillSwitchStatus(_state(state, f"kill_switch.changed seq {seq}: state {state!r}"),
                            str(data.get("reason", "")), recorded_at, seq)


def _state(value: Any, where: str) -> TradingState:
    try:
        return TradingState(value)
    except ValueError:
        expected = ", ".join(s.value for s in TradingState)
        raise InvalidKillSwitchState(f"{where} is not a kill-switch state (expected {expected})") from None


def activation_state(current: TradingState, reduce_only: bool, reason: str) -> TradingState:
    """The state ``activate`` moves to. Activation never loosens the switch: going from
    HALTED to reduce-only is a deactivation (it asks for confirmation)."""
    if not reason.strip():
        raise KillSwitchRefusal("give a reason: `trackrecord kill-switch activate \"why\"` (it is kept in the ledger)")
    target = TradingState.REDUCING if reduce_only else TradingState.HALTED
    if _STRICTNESS[target] < _STRICTNESS[current]:
        raise KillSwitchRefusal(
            f"the kill switch is {current.value}; reduce-only would loosen it: use "
            "`trackrecord kill-switch deactivate --reduce-only` (asks for confirmation); nothing was written"
        )
    return target


def deactivation_state(current: TradingState, reduce_only: bool) -> TradingState | None:
    """The state ``deactivate`` moves to, or None when there is nothing to loosen."""
    target = TradingState.REDUCING if reduce_only else TradingState.ACTIVE
    return target if _STRICTNESS[target] < _STRICTNESS[current] else None


def change_payload(state: TradingState, reason: str, previous: TradingState) -> dict[str, Any]:
    """The payload of a ``kill_switch.changed`` event."""
    return {"state": state.value, "reason": reason.strip(), "reduce_only": state is TradingState.REDUCING,
            "previous_state": previous.value}
