"""What one account's record may hold, whoever writes its snapshots and fills (the engine, an
import, the simulated broker): one base currency, and simulated snapshots and fills or none.

Either mix makes the record say something false that the append-only ledger can never take
back: NAVs in two currencies chained into one return (an edited ``account.base_currency``),
or a file's NAV inside a SIMULATED record (``import snapshots`` into the paper account),
which the label, the provenance and every figure would then blur. The ledger writer checks
each snapshot it appends (``store.Writer``); the commands check first, so that nothing of
theirs is written (``bootstrap.require_paper_record``, ``engine.cashflows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trackrecord.errors import UserError
from trackrecord.ledger.sql import fetch_one, param

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class RecordKind:
    """The base currency of an account's snapshots, and whether they are simulated."""

    currency: str
    simulated: bool


def recorded_kind(conn: "Connection", account_id: str) -> RecordKind | None:
    """The kind of the account's record, read off its latest snapshot (None: no snapshot yet)."""
    row = fetch_one(conn, "SELECT base_currency, simulated FROM snapshots WHERE account_id = "
                    f"{param(conn.dialect.name, 'account')} ORDER BY session_date DESC LIMIT 1",
                    {"account": account_id})
    return None if row is None else RecordKind(str(row[0]), bool(row[1]))


def refuse_another_currency(account_id: str, currency: str, recorded: RecordKind | None) -> None:
    """``UserError`` when ``currency`` is not the base currency of the ``recorded`` record."""
    if recorded is not None and recorded.currency != currency:
        raise UserError(f"account {account_id}'s record is in {recorded.currency}, not in {currency} "
                        f"(account.base_currency): one record has one base currency; set account.base_currency "
                        f"back to {recorded.currency} in trackrecord.yaml (a record in another currency is a new "
                        "workspace)")


def refuse_a_mixed_record(account_id: str, new: RecordKind, recorded: RecordKind | None) -> None:
    """``UserError`` when a snapshot of kind ``new`` would mix into the ``recorded`` record."""
    refuse_another_currency(account_id, new.currency, recorded)
    refuse_mixed_simulation(account_id, new.simulated, recorded, "snapshot")


def refuse_mixed_simulation(account_id: str, simulated: bool, recorded: RecordKind | None, what: str) -> None:
    """``UserError`` when a ``what`` (snapshot, fill) that is ``simulated`` or not would mix
    into the ``recorded`` record, which is the other."""
    if recorded is None or recorded.simulated == simulated:
        return
    if recorded.simulated:
        raise UserError(f"account {account_id}'s record is SIMULATED (the simulated broker's snapshots): a {what} "
                        "that is not simulated (imported, or read from a broker) would be mixed into it; import it "
                        f"under the account it belongs to (`import {what}s --account ID`); a record that is not "
                        "simulated starts in a workspace of its own")
    raise UserError(f"account {account_id}'s record holds snapshots that are not simulated (imported, or read from a "
                    f"broker): the simulated broker's {what}s would be mixed into them; give the simulated account an "
                    "id of its own (broker.sim.account_id in trackrecord.yaml)")
