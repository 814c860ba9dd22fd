"""The kill switch: its state machine and its state in the ledger.

State lives in the ledger as ``kill_switch.changed`` events ``{state, reason, reduce_only,
previous_state}``; the ``kill_switch`` projection (one row, id 1) is the fast read. No row
means ACTIVE. HALTED refuses every new order; REDUCING allows only orders that shrink a
position (see ``trackrecord.risk.rules.check_order_now``).

The transition rules below are pure and stdlib-only: the CLI's fast path
(``trackrecord.cli.kill_switch_fast``) uses them without SQLAlchemy. The read/write helpers
at the end take an open connection or ledger writer from the caller and open nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trackrecord.domain.enums import TradingState

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.ledger.chain import StoredEvent
    from trackrecord.ledger.store import SqlLedger, Writer

KILL_SWITCH_CHANGED = "kill_switch.changed"  # == trackrecord.ledger.events.KILL_SWITCH_CHANGED
CONFIRMATION_WORD = "DEACTIVATE"

# How restrictive each state is: moving down this order loosens the switch.
_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class KillSwitchRefusal(ValueError):
    """A change the kill switch does not make this way (bad input: exit code 2)."""


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    state: TradingState
    reason: str = ""
    changed_at: str | None = None
    seq: int | None = None

    @property
    def allows_new_positions(self) -> bool:
        return self.state is TradingState.ACTIVE

    def document(self) -> dict[str, Any]:
        return {"state": self.state.value, "reduce_only": self.state is TradingState.REDUCING,
                "reason": self.reason, "changed_at": self.changed_at, "seq": self.seq}


ACTIVE_STATUS = KillSwitchStatus(TradingState.ACTIVE)


def status_from_row(row: Any) -> KillSwitchStatus:
    """From a ``kill_switch`` row ``(state, reason, changed_at, seq)``, or None for ACTIVE."""
    if row is None:
        return ACTIVE_STATUS
    state, reason, changed_at, seq = row
    return KillSwitchStatus(TradingState(state), reason or "", changed_at, int(seq))


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


# ---------------------------------------------------------------------------------------
# Read/write through the caller's connection or ledger (SQLAlchemy, imported lazily).


def read_status(conn: "Connection") -> KillSwitchStatus:
    """The current state from the projection (one indexed row): cheap enough to call
    immediately before every order."""
    from trackrecord.ledger.sql import fetch_one, select_sql

    sql = select_sql(conn.dialect.name, "kill_switch", ("state", "reason", "changed_at", "seq"), ("id",))
    return status_from_row(fetch_one(conn, sql, {"id": 1}))


def record_change(writer: "Writer", state: TradingState, reason: str, previous: TradingState) -> "StoredEvent":
    """Append the change inside the caller's writer transaction (projection included)."""
    return writer.append(KILL_SWITCH_CHANGED, change_payload(state, reason, previous))


def activate(ledger: "SqlLedger", reason: str, reduce_only: bool = False) -> tuple[KillSwitchStatus, TradingState]:
    """Switch to HALTED (or REDUCING); returns the new status and the previous state."""
    with ledger.writer() as writer:
        previous = read_status(writer.conn).state
        target = activation_state(previous, reduce_only, reason)
        event = record_change(writer, target, reason, previous)
    return KillSwitchStatus(target, reason.strip(), event.recorded_at, event.seq), previous


def deactivate(ledger: "SqlLedger", reason: str, reduce_only: bool = False) -> tuple[KillSwitchStatus, TradingState | None]:
    """Loosen to ACTIVE (or REDUCING); returns the new status and the previous state.
    When there is nothing to loosen, writes nothing and returns (current status, None)."""
    with ledger.writer() as writer:
        current = read_status(writer.conn)
        target = deactivation_state(current.state, reduce_only)
        if target is None:
            return current, None
        event = record_change(writer, target, reason, current.state)
    return KillSwitchStatus(target, reason.strip(), event.recorded_at, event.seq), current.state


def halt(writer: "Writer", reason: str) -> "StoredEvent | None":
    """HALT inside an open writer (e.g. the daily loss limit tripped); None if already HALTED."""
    previous = read_status(writer.conn).state
    if previous is TradingState.HALTED:
        return None
    return record_change(writer, TradingState.HALTED, reason, previous)
