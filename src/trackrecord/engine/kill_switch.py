"""The kill switch's state in the ledger: read it, change it, halt.

State lives in ``kill_switch.changed`` events; the ``kill_switch`` projection (one row,
id 1) is the fast read. The transitions themselves are pure (``trackrecord.risk.killswitch``).
These helpers take the caller's connection, writer or ledger and open nothing else.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from trackrecord.domain.enums import TradingState
from trackrecord.errors import RuntimeFailure
from trackrecord.ledger.queries import kill_switch_row, last_kill_switch_change
from trackrecord.risk.killswitch import (
    ACTIVE_STATUS,
    KILL_SWITCH_CHANGED,
    InvalidKillSwitchState,
    KillSwitchStatus,
    activation_state,
    change_payload,
    deactivation_state,
    status_from_event,
    status_from_row,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.ledger.chain import StoredEvent
    from trackrecord.ledger.store import SqlLedger, Writer


def read_status(conn: "Connection") -> KillSwitchStatus:
    """The current state from the projection (one indexed row): cheap enough to call
    immediately before every order. An unreadable row is a run-time failure naming it."""
    try:
        return status_from_row(kill_switch_row(conn))
    except InvalidKillSwitchState as exc:
        raise RuntimeFailure(str(exc)) from None


def state_from_events(conn: "Connection") -> KillSwitchStatus:
    """The state the ledger itself says: the last ``kill_switch.changed`` event (one
    indexed read), independent of the ``kill_switch`` projection table. Compare it with
    ``read_status`` before sending anything: a mismatch means the table was edited."""
    row = last_kill_switch_change(conn)
    if row is None:
        return ACTIVE_STATUS
    try:
        return status_from_event(int(row[0]), str(row[1]), json.loads(row[2]))
    except InvalidKillSwitchState as exc:
        raise RuntimeFailure(str(exc)) from None


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
