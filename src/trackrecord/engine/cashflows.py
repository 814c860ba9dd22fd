"""Record and void cash flows: the ``cashflow add``, ``cashflow void`` and ``import cashflows`` use cases.

A flow is one ledger event and nothing else: in paper mode the simulated account books it
itself the next time it starts (``SimulatedBroker``, ``follow_ledger``), so a kill after the
commit loses nothing and a rerun books nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Sequence

from trackrecord.analytics.flow_checks import UnreflectedFlow, unreflected_flows
from trackrecord.crash import crash_point
from trackrecord.domain import CashFlow, Mode
from trackrecord.engine.performance import load_performance_inputs
from trackrecord.errors import UserError
from trackrecord.ledger import cashflows as ledger_flows
from trackrecord.ledger import imports
from trackrecord.ledger import queries
from trackrecord.ledger.imports import ImportReport, ParsedImport
from trackrecord.ledger.record_rules import recorded_kind, refuse_another_currency

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from trackrecord.config import Settings
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.market.calendar import ExchangeCalendar

AFTER_COMMIT = "cashflow_add:after_commit"  # crash point: the flow is in the ledger, nothing else ran


def configured_account_id(settings: "Settings") -> str:
    """The account a command works on when none is named: the simulated account in paper
    mode, else ``account.account_id``, else (dry run without one) the simulated account's id,
    so that a flow recorded in dry run is the paper account's once the mode is switched."""
    if settings.mode is Mode.PAPER:
        return settings.broker.sim.account_id
    return settings.account.account_id or settings.broker.sim.account_id


@dataclass(frozen=True, slots=True)
class CashFlowRequest:
    flow_date: date
    amount: Decimal
    currency: str
    note: str = ""
    account_id: str | None = None  # None: configured_account_id
    again: bool = False


@dataclass(frozen=True, slots=True)
class RecordedFlow:
    seq: int
    flow: CashFlow
    account_id: str
    date_given: date
    simulated_account: str | None  # the paper account that books it, in paper mode
    warnings: list[UnreflectedFlow] = field(default_factory=list)

    @property
    def moved_to_next_session(self) -> bool:
        return self.flow.flow_date != self.date_given


def record_cashflow(ledger: "SqlLedger", engine: "Engine", settings: "Settings", calendar: "ExchangeCalendar",
                    request: CashFlowRequest, today: date,
                    paper_cash: Callable[[], Decimal] | None = None,
                    currency_named: str = "the flow's currency") -> RecordedFlow:
    """Record one deposit (> 0) or withdrawal (< 0) for an account.

    Refused (``UserError``, nothing written): a zero amount, a date after ``today``, a
    repeat of a flow of the same account, session, amount, currency and note recorded today
    unless ``request.again``, and a withdrawal from the simulated paper account larger than
    its cash (``paper_cash``: the base-currency cash it will hold when it books the flow).
    A date that is not a session of ``calendar`` is booked on the next session (both dates
    are kept). Warns when the NAV series does not show the flow. A currency the record cannot value is
    refused, the currency named as ``currency_named`` (the command's option)."""
    if request.amount == 0:
        raise UserError("--amount: a cash flow of zero records nothing; deposits are > 0, withdrawals < 0")
    if request.flow_date > today:
        raise UserError(f"--date {request.flow_date}: a cash flow cannot be dated in the future (today is {today}); "
                        "record it on the day it happens")
    refuse_unconvertible(request.currency, settings, currency_named)
    account = request.account_id or configured_account_id(settings)
    session = calendar.next_sessions(request.flow_date, 1)
    if not session:
        raise UserError(f"--date {request.flow_date}: no {calendar.code} session on or after it")
    flow = CashFlow(session[0], request.amount, request.currency, request.note, account)
    if flow.amount < 0 and account == simulated_account(settings) and paper_cash is not None:
        refuse_overdraft(flow, settings, paper_cash())
    with ledger.writer() as writer:
        refuse_another_currency(account, settings.account.base_currency, recorded_kind(writer.conn, account))
        if account == simulated_account(settings):
            refuse_rewriting_valuations(writer.conn, account, flow.flow_date, "record")
        if not request.again:
            _refuse_repeat(writer.conn, flow, settings, today)
        event = ledger_flows.record_cashflow(writer, flow, "cli", account, request.flow_date)
    crash_point(AFTER_COMMIT)
    simulated = account if account == simulated_account(settings) else None
    return RecordedFlow(event.seq, flow, account, request.flow_date, simulated,
                        flow_warnings(engine, settings, account, flow.flow_date))


def refuse_unconvertible(currency: str, settings: "Settings", where: str) -> None:
    """A flow in a currency the record cannot value (not the base currency, no rate in
    ``prices.fx_rates``) is refused before it is recorded: once in the ledger, ``stats`` and
    the simulated account (which books every flow) could not go on without that rate."""
    base = settings.account.base_currency
    if currency.upper() != base and currency.upper() not in settings.prices.fx_rates:
        raise UserError(f"{where} {currency}: the base currency is {base} and prices.fx_rates has no {currency} "
                        f"rate; add one to trackrecord.yaml (units of {base} per {currency}), or record the flow in "
                        f"{base}")


def simulated_account(settings: "Settings") -> str | None:
    """The paper account whose cash follows the ledger's flows, in paper mode."""
    return settings.broker.sim.account_id if settings.mode is Mode.PAPER else None


def refuse_overdraft(flow: CashFlow, settings: "Settings", cash: Decimal, voided_seq: int | None = None,
                     where: str | None = None) -> None:
    """A flow that takes money from the simulated account (a withdrawal, or the void of a
    deposit: ``voided_seq``) may take at most the cash it holds: its book has no margin, and
    negative cash would be valued as a debt nobody incurred. ``cash`` is in the base
    currency, after every fill and every recorded flow (the book takes a back-dated flow at
    its own clock, so that is the cash it is taken from). ``where`` names the withdrawal's
    source in the refusal (default ``--amount``; an import's ``file:line``)."""
    base = settings.account.base_currency
    taken = _in_base(flow, settings)
    if taken is None:
        return  # the book refuses a currency it has no rate for, naming it
    taken = abs(taken)
    if taken <= cash:
        return
    in_base = "" if flow.currency.upper() == base else f" ({taken:,.2f} {base})"
    amount = f"{abs(flow.amount):,.2f} {flow.currency}{in_base}"
    if voided_seq is None:
        source = f"--amount {flow.amount}" if where is None else f"{where}: column 'amount'"
        raise UserError(f"{source}: a withdrawal of {amount} from the simulated account "
                        f"{flow.account_id} on {flow.flow_date} exceeds its cash available then, {cash:,.2f} {base}; "
                        "withdraw at most that (sell first to raise more)")
    raise UserError(f"cashflow void {voided_seq}: voiding the deposit of {amount} on {flow.flow_date} would take it "
                    f"back from the simulated account {flow.account_id}, which holds {cash:,.2f} {base} of cash; "
                    "sell first, or record a correcting withdrawal of at most that")


def _in_base(flow: CashFlow, settings: "Settings") -> Decimal | None:
    """The flow's signed amount in the base currency; None for a currency without a rate."""
    currency = flow.currency.upper()
    rate = Decimal(1) if currency == settings.account.base_currency else settings.prices.fx_rates.get(currency)
    return None if rate is None else flow.amount * rate


def refuse_imported_overdraft(flows: Sequence[tuple[str, CashFlow]], settings: "Settings", cash: Decimal) -> None:
    """The simulated account books an imported file's new flows (``(file:line, flow)``, in
    the file's order) one after the other: each withdrawal may take at most ``cash`` plus
    the file's flows before it (``refuse_overdraft``, naming the line)."""
    for where, flow in flows:
        if flow.amount < 0:
            refuse_overdraft(flow, settings, cash, where=where)
        cash += _in_base(flow, settings) or Decimal(0)


def record_imported_cashflows(ledger: "SqlLedger", parsed: ParsedImport, settings: "Settings",
                              default_account: str | None,
                              paper_cash: Callable[[], Decimal] | None = None) -> ImportReport:
    """Record an imported file of flows (``ledger/imports.py``: idempotent, in one transaction).

    In paper mode (given ``paper_cash``: the simulated account's cash once it has booked every
    recorded flow), a new withdrawal of the simulated account that would take more than its
    cash then is refused as ``cashflow add`` refuses it (``UserError`` naming the file and
    line): nothing of the file is written. Refused as well when the record of an account a
    flow is for is in another base currency than the configured one."""
    for where, payload in zip(parsed.cashflow_lines, parsed.cashflows):
        refuse_unconvertible(payload["currency"], settings, f"{where}: column 'currency'")
    with queries.reading(ledger.engine) as conn:
        for owner in sorted({p.get("account_id") or default_account or "" for p in parsed.cashflows} - {""}):
            refuse_another_currency(owner, settings.account.base_currency, recorded_kind(conn, owner))
    account = simulated_account(settings)
    if account is not None:
        with queries.reading(ledger.engine) as conn:
            fresh = {id(f) for f in imports.unrecorded_cashflows(conn, parsed.cashflows, default_account)}
            ours = [(where, _cash_flow(payload, default_account))
                    for where, payload in zip(parsed.cashflow_lines, parsed.cashflows) if id(payload) in fresh]
            ours = [(where, flow) for where, flow in ours if flow.account_id == account]
            for where, flow in ours:  # as `cashflow add` refuses a back-dated paper flow
                try:
                    refuse_rewriting_valuations(conn, account, flow.flow_date, "record")
                except UserError as exc:
                    raise UserError(f"{where}: {exc}") from None
        if paper_cash is not None and any(flow.amount < 0 for _, flow in ours):
            refuse_imported_overdraft(ours, settings, paper_cash())
    return imports.record_import(ledger, parsed, default_account)


def _cash_flow(payload: dict[str, Any], default_account: str | None) -> CashFlow:
    return CashFlow(payload["flow_date"], payload["amount"], payload["currency"], payload["note"],
                    payload.get("account_id") or default_account)


def refuse_rewriting_valuations(conn: "Connection", account: str, flow_date: date, action: str) -> None:
    """A simulated account's cash follows the ledger's flows, so a flow dated ``flow_date``
    (or its void) changes its value on every session from that date on. Refused (exit 2)
    when a snapshot of such a session, before the latest one, is recorded: an append-only
    record cannot revalue it, and the NAV series would show the flow as a gain or a loss.
    The latest session's snapshot is taken again by the next `snapshot`."""
    sessions = queries.snapshot_sessions_from(conn, account, flow_date)
    if len(sessions) > 1:
        valued = sessions[0].isoformat() if len(sessions) == 2 else f"{sessions[0]} .. {sessions[-2]}"
        raise UserError(f"cannot {action} a flow of the simulated account {account} dated {flow_date}: its recorded "
                        f"snapshots of {valued} were valued without this change and cannot be "
                        f"revalued; date a new flow after {sessions[-1]} (a correcting flow instead of a void)")


def _refuse_repeat(conn: object, flow: CashFlow, settings: "Settings", today: date) -> None:
    for earlier in ledger_flows.recorded_cashflows(conn, flow.account_id, configured_account_id(settings)):  # type: ignore[arg-type]
        same = (earlier.flow.flow_date, earlier.flow.amount, earlier.flow.currency, earlier.flow.note) == \
            (flow.flow_date, flow.amount, flow.currency, flow.note)
        if same and earlier.recorded_on == today and not earlier.voided:
            raise UserError(f"the same cash flow ({flow.amount} {flow.currency} on {flow.flow_date} for account "
                            f"{flow.account_id}, note {flow.note!r}) was recorded today already as seq {earlier.seq}; "
                            "pass --again if this is a second, real flow")


def flow_warnings(engine: "Engine", settings: "Settings", account_id: str,
                  flow_date: date | None = None) -> list[UnreflectedFlow]:
    """Flows of the account the NAV series does not show (those booked on ``flow_date``
    only, if given); none when the account has no snapshots."""

    try:
        inputs = load_performance_inputs(engine, settings, account_id)
    except UserError:
        return []
    found = unreflected_flows(list(inputs.dates), list(inputs.navs), inputs.flows)
    return [f for f in found if flow_date is None or f.flow_date == flow_date]


def void_cashflow(ledger: "SqlLedger", seq: int, reason: str, paper_account: str | None = None,
                  paper_cash: Callable[[], Decimal] | None = None,
                  settings: "Settings | None" = None) -> ledger_flows.RecordedCashFlow:
    """Append a ``cashflow.voided`` event for the flow at ``seq``: it stays in the chain and
    counts in no figure; a simulated account (``paper_account``) un-books it when it next
    starts. Refused (``UserError``): an empty reason, an unknown seq, a flow voided already,
    a paper flow already in the value of more than the latest snapshot, and (given
    ``paper_cash`` and ``settings``) a paper deposit larger than the account's cash."""
    if not reason.strip():
        raise UserError("--reason: say why the flow is voided (it stays in the record with the reason)")
    if paper_account is not None and paper_cash is not None and settings is not None:
        with queries.reading(ledger.engine) as conn:
            found = ledger_flows.recorded_cashflow(conn, seq)
            if found is not None and not found.voided and found.account_id == paper_account:
                # what no later flow can mend is said first: the void would revalue recorded snapshots
                refuse_rewriting_valuations(conn, paper_account, found.flow.flow_date, "void")
        if found is not None and not found.voided and found.account_id == paper_account and found.flow.amount > 0:
            refuse_overdraft(found.flow, settings, paper_cash(), voided_seq=seq)
    with ledger.writer() as writer:
        flow = ledger_flows.recorded_cashflow(writer.conn, seq)
        if flow is None:
            raise UserError(f"cashflow void {seq}: no cash flow was recorded at seq {seq}; "
                            "`trackrecord cashflow list` shows each flow's seq")
        if flow.voided:
            raise UserError(f"cashflow void {seq}: the flow at seq {seq} was voided already (by seq {flow.voided_by})")
        if paper_account is not None and flow.account_id == paper_account:
            refuse_rewriting_valuations(writer.conn, paper_account, flow.flow.flow_date, "void")
        ledger_flows.record_void(writer, seq, reason.strip())
    return flow
