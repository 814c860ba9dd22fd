"""What one account's record may hold, whoever writes its snapshots and fills (the engine
from a broker, the simulated broker, an import): one base currency, and the simulated
broker's snapshots never mixed with a file's or a real broker's; and what the workspace's
record is kept on: one exchange calendar.

Either mix makes the record say something false that the append-only ledger can never take
back: NAVs in two currencies chained into one return (an edited ``account.base_currency``),
a file's NAV or fill inside a SIMULATED record (``import snapshots`` into the paper account),
or the simulated broker's NAVs continuing a record that was imported or read from a broker.
An edited ``universe.calendar`` would date the next sessions, rebalances and gaps on another
exchange and read the record's frequency off sessions its snapshots were not taken on.
A real broker's snapshot is never refused for what recorded before it (its NAV is the
account's; only its currency is checked, which IBKR guarantees). The ledger writer checks
each snapshot and fill it appends (``store.Writer``); the commands check first, so that
nothing of theirs is written (``bootstrap.require_paper_record``, ``engine.cashflows``,
``bootstrap.record_calendar``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any, Mapping

from trackrecord.analytics.provenance import Origin, origin_of
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.sql import fetch_one, param

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SIMULATOR_SOURCE = "paper"  # the ``source`` of the simulated broker's snapshots (Mode.PAPER's value)


class Recorder(str, Enum):
    """Who wrote a snapshot or fill."""

    SIMULATOR = "the simulated broker"
    BROKER = "a broker"
    IMPORT = "an import"


def recorder_of(payload: Mapping[str, Any]) -> Recorder:
    if origin_of(payload) is Origin.IMPORTED:
        return Recorder.IMPORT
    return Recorder.SIMULATOR if payload.get("source") == SIMULATOR_SOURCE else Recorder.BROKER


@dataclass(frozen=True, slots=True)
class RecordKind:
    """The base currency of an account's snapshots, and who writes them."""

    currency: str
    recorder: Recorder


def recorded_kind(conn: "Connection", account_id: str) -> RecordKind | None:
    """The kind of the account's record, read off its latest snapshot (None: no snapshot yet)."""
    row = fetch_one(conn, "SELECT s.base_currency, e.payload FROM snapshots s JOIN events e ON e.seq = s.seq "
                    f"WHERE s.account_id = {param(conn.dialect.name, 'account')} ORDER BY s.session_date DESC LIMIT 1",
                    {"account": account_id})
    return None if row is None else RecordKind(str(row[0]), recorder_of(json.loads(row[1])))


def refuse_another_currency(account_id: str, currency: str, recorded: RecordKind | None) -> None:
    """``UserError`` when ``currency`` is not the base currency of the ``recorded`` record."""
    if recorded is not None and recorded.currency != currency:
        raise UserError(f"account {account_id}'s record is in {recorded.currency}, not in {currency} "
                        f"(account.base_currency): one record has one base currency; set account.base_currency "
                        f"back to {recorded.currency} in trackrecord.yaml (a record in another currency is a new "
                        "workspace)")


def refuse_a_mixed_record(account_id: str, new: RecordKind, recorded: RecordKind | None,
                          what: str = "snapshot") -> None:
    """``UserError`` when a ``what`` (snapshot, fill) of kind ``new`` would mix into the
    ``recorded`` record."""
    refuse_another_currency(account_id, new.currency, recorded)
    refuse_another_recorder(account_id, new.recorder, recorded, what)


def refuse_another_recorder(account_id: str, recorder: Recorder, recorded: RecordKind | None,
                            what: str = "snapshot") -> None:
    """``UserError`` when a ``what`` written by ``recorder`` would mix into the ``recorded``
    record: an import into the simulated broker's, the simulated broker's into another's."""
    if recorded is None or recorded.recorder is recorder:
        return
    if recorder is Recorder.IMPORT and recorded.recorder is Recorder.SIMULATOR:
        raise UserError(f"account {account_id}'s record is SIMULATED (the simulated broker's snapshots): an imported "
                        f"{what} would be mixed into it; import it under the account it belongs to "
                        f"(`import {what}s --account ID`)")
    if recorder is Recorder.SIMULATOR:
        raise UserError(f"account {account_id}'s record holds snapshots written by {recorded.recorder.value}, not by "
                        f"the simulated broker: its {what}s would be mixed into them; give the simulated account an id "
                        "of its own (broker.sim.account_id in trackrecord.yaml)")


def latest_session(conn: "Connection", account_id: str) -> date | None:
    """The latest session the account has a snapshot for: no run may record an earlier one."""
    row = fetch_one(conn, f"SELECT MAX(session_date) FROM snapshots WHERE account_id = "
                    f"{param(conn.dialect.name, 'account')}", {"account": account_id})
    return None if row is None or row[0] is None else date.fromisoformat(row[0])


def recorded_calendar(conn: "Connection") -> str | None:
    """The exchange calendar the record is kept on: the one its latest quality check (every
    snapshot, plan and execution has one) dated sessions by; None before the first."""
    row = fetch_one(conn, f"SELECT payload FROM events WHERE kind = {param(conn.dialect.name, 'kind')} "
                    "ORDER BY seq DESC LIMIT 1", {"kind": kinds.QUALITY_CHECKED})
    return None if row is None else json.loads(row[0]).get("calendar")


def refuse_another_calendar(configured: str, recorded: str | None) -> None:
    """``UserError`` when ``universe.calendar`` is not the calendar the record is kept on."""
    if recorded is not None and recorded != configured:
        raise UserError(f"this workspace's record is kept on the {recorded} calendar, not on {configured} "
                        f"(universe.calendar): its sessions, rebalances and gaps would be dated on another exchange's; "
                        f"set universe.calendar back to {recorded} in trackrecord.yaml (a record on another calendar "
                        "is a new workspace)")
