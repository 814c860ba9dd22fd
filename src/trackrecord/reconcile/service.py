"""The ``reconcile`` and ``flex fetch`` use cases.

A statement is read and checked completely before anything is written: a file that is not a
Flex statement, or one of an account this ledger does not know, writes nothing. Then the
statement is kept under ``statements/`` (named by account, period and sha256, with a
``.sha256`` file beside it), the flows the ledger lacks are booked when asked
(``--import-cashflows``, through ``cashflow add``'s use case, once per IB transaction id), and
one ``reconciliation.done`` event records what was compared and every break found (none when
the latest reconciliation of the same statement found exactly the same: a repeat adds nothing).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from trackrecord.config import SECRET_ENV
from trackrecord.domain import is_paper_account
from trackrecord.engine.cashflows import CashFlowRequest, RecordedFlow, configured_account_id, record_cashflow
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import canonical_json_and_data
from trackrecord.ledger.cashflows import recorded_cashflows
from trackrecord.ledger.queries import current_fills as all_current_fills, reading, snapshot_history
from trackrecord.ledger.reconciliation import current_fills, latest_reconciliation, ledger_accounts, snapshot_navs
from trackrecord.reconcile.fetch import FetchedStatement, FlexService, fetch_statement
from trackrecord.reconcile.flex import FlexCash, FlexStatement, parse_flex
from trackrecord.reconcile.matching import (
    LedgerFlow,
    LedgerRecord,
    Reconciliation,
    Tolerance,
    reconcile,
)
from trackrecord.secure_files import make_private_folder, secret_from_env, write_new_file

if TYPE_CHECKING:
    from trackrecord.services import Services

STATEMENTS_DIR = "statements"
MAX_BREAKS_RECORDED = 1000  # a statement of another strategy's account could list thousands


@dataclass(frozen=True)
class ReconcileRequest:
    data: bytes
    source: str  # how the statement is named in messages: the path as given
    account: str | None = None
    import_cashflows: bool = False
    tolerance: Tolerance = field(default_factory=Tolerance)


@dataclass(frozen=True)
class ReconcileOutcome:
    statement: FlexStatement
    sha256: str
    saved_as: str  # relative to the workspace
    result: Reconciliation
    seq: int
    imported: tuple[RecordedFlow, ...]
    warnings: tuple[str, ...]
    simulated: bool
    tolerance: Tolerance
    recorded: bool = True  # False: the latest reconciliation of this statement found the same, seq is its

    def document(self) -> dict[str, Any]:
        statement = self.statement
        return {
            "account_id": statement.account_id, "ok": self.result.ok, "seq": self.seq, "recorded": self.recorded,
            "simulated": self.simulated,
            "paper": is_paper_account(statement.account_id),
            "statement": _statement_document(statement, self.sha256, self.saved_as),
            "compared": dict(self.result.compared), "matched": dict(self.result.matched),
            "checks_held": list(self.result.checks), "tolerance": self.tolerance.document(),
            "fx_conversions": self.result.fx_conversions,
            "breaks": [b.document() for b in self.result.breaks],
            "income_and_costs": [line.document() for line in self.result.income_and_costs],
            "imported_cashflows": [{"seq": f.seq, "date": f.flow.flow_date.isoformat(), "amount": str(f.flow.amount),
                                    "currency": f.flow.currency, "note": f.flow.note} for f in self.imported],
            "warnings": list(self.warnings),
        }


def _statement_document(statement: FlexStatement, sha256: str, saved_as: str) -> dict[str, Any]:
    return {"sha256": sha256, "file": saved_as, "from_date": statement.from_date.isoformat(),
            "to_date": statement.to_date.isoformat(), "period": statement.period,
            "when_generated": statement.when_generated.isoformat() if statement.when_generated else None,
            "base_currency": statement.base_currency}


def reconcile_statement(services: "Services", request: ReconcileRequest, today: date) -> ReconcileOutcome:
    """Compare a Flex statement with the ledger, keep it, record the result (see the module)."""
    document = parse_flex(request.data, request.source)
    statement = document.statement_of(request.account, request.source)
    settings = services.settings
    default_account = configured_account_id(settings)
    _refuse_unknown_account(services, statement, request.source, default_account)
    symbols = {i.ib.symbol: i.symbol for i in settings.universe.instruments}
    result = reconcile(statement, _ledger_record(services, statement, default_account), symbols, request.tolerance)
    warnings = list(document.warnings)
    imported: tuple[RecordedFlow, ...] = ()
    if request.import_cashflows and result.broker_only_flows:
        imported, skipped = _import_flows(services, statement, result.broker_only_flows, today)
        warnings += skipped
        result = reconcile(statement, _ledger_record(services, statement, default_account), symbols, request.tolerance)
    sha256 = hashlib.sha256(request.data).hexdigest()
    saved_as = keep_statement(services.workspace.root, request.data, sha256, statement_name(statement, sha256))
    simulated = _record_simulated(services, statement.account_id, settings.simulated)
    payload = _payload(statement, sha256, saved_as, result, request, imported, simulated)
    with services.ledger.writer() as writer:
        earlier = latest_reconciliation(writer.conn, sha256)
        if earlier is not None and earlier[1] == canonical_json_and_data(payload)[1]:
            seq, recorded = earlier[0], False  # the same statement, the same result: nothing new to record
        else:
            seq, recorded = writer.append(kinds.RECONCILIATION_DONE, payload).seq, True
    return ReconcileOutcome(statement, sha256, saved_as, result, seq, imported, tuple(warnings),
                            simulated, request.tolerance, recorded)


def _record_simulated(services: "Services", account: str, workspace_simulated: bool) -> bool:
    """The rule ``stats`` and the reports label a record with: simulated when any of the
    account's snapshots or fills is (an imported live record in a dry-run workspace is not);
    the workspace's mode only for an account the ledger holds nothing of yet."""
    with reading(services.engine) as conn:
        snapshots, fills = snapshot_history(conn, account), all_current_fills(conn, account)
    if not snapshots and not fills:
        return workspace_simulated
    return any(r.simulated for r in snapshots) or any(f.simulated for f in fills)


def _refuse_unknown_account(services: "Services", statement: FlexStatement, source: str, default: str) -> None:
    with reading(services.engine) as conn:
        known = ledger_accounts(conn) | {default}
    if services.settings.account.account_id:
        known.add(services.settings.account.account_id)
    if statement.account_id not in known:
        raise UserError(f"{source}: the statement is of account {statement.account_id}, which this ledger does not "
                        f"know (it knows {', '.join(sorted(known))}); reconcile a statement of the workspace's account")


def _ledger_record(services: "Services", statement: FlexStatement, default_account: str) -> LedgerRecord:
    account = statement.account_id
    margin = timedelta(days=31)  # the NAV of the day before, the last snapshot before the positions' date
    with reading(services.engine) as conn:
        fills = current_fills(conn, account, statement.from_date - timedelta(days=3),
                              statement.to_date + timedelta(days=3))
        navs = snapshot_navs(conn, account, statement.from_date - margin, statement.to_date)
        flows = [LedgerFlow(f.seq, f.flow.flow_date, f.flow.amount, f.flow.currency, f.flow.note)
                 for f in recorded_cashflows(conn, account, default_account) if not f.voided]
    return LedgerRecord(account, services.settings.account.base_currency, fills, flows, navs)


def flow_note(row: FlexCash) -> str:
    """The note of an imported flow: IB's transaction id in it is what makes a second import a
    no-op. IB's description is left out: it names the account holder ("DISBURSEMENT INITIATED BY
    ..."), and the chain, which is never edited, goes into export bundles."""
    ident = f" transactionID {row.transaction_id}" if row.transaction_id else f" of {row.day}"
    return f"IBKR Flex {row.type_text}{ident}"


def _import_flows(services: "Services", statement: FlexStatement, rows: tuple[FlexCash, ...],
                  today: date) -> tuple[tuple[RecordedFlow, ...], list[str]]:
    from trackrecord.market.service import calendar_for

    with reading(services.engine) as conn:
        notes = [f.flow.note for f in recorded_cashflows(conn)]
    calendar = calendar_for(services.settings)
    booked: list[RecordedFlow] = []
    skipped: list[str] = []
    for row in rows:
        if row.transaction_id and any(f"transactionID {row.transaction_id}" in note for note in notes):
            skipped.append(f"transaction {row.transaction_id} was imported before and voided since: not booked again")
            continue
        request = CashFlowRequest(row.day, row.amount, row.currency, flow_note(row), statement.account_id, again=True)
        try:
            booked.append(record_cashflow(services.ledger, services.engine, services.settings, calendar, request,
                                          today))
        except UserError as exc:  # refused as `cashflow add` would refuse it: the break stays, with the reason
            skipped.append(f"transaction {row.transaction_id or '?'} ({row.amount} {row.currency} on {row.day}) "
                           f"not booked: {exc}")
    return tuple(booked), skipped


def statement_name(statement: FlexStatement, sha256: str) -> str:
    return (f"flex-{statement.account_id}-{statement.from_date:%Y%m%d}-{statement.to_date:%Y%m%d}-"
            f"{sha256[:12]}.xml")


def keep_statement(root: Path, data: bytes, sha256: str, name: str) -> str:
    """Write the statement under statements/ with a ``sha256sum``-style file beside it; return
    its path relative to the workspace. The same bytes keep their file; a file a killed run
    left half-written is written again (each file appears whole or not at all: written
    beside, synced, renamed)."""
    folder = root / STATEMENTS_DIR
    make_private_folder(folder)
    _write_whole(folder / name, data)
    _write_whole(folder / f"{name}.sha256", f"{sha256}  {name}\n".encode())
    return f"{STATEMENTS_DIR}/{name}"


def _write_whole(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    write_new_file(partial, data)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _payload(statement: FlexStatement, sha256: str, saved_as: str, result: Reconciliation,
             request: ReconcileRequest, imported: tuple[RecordedFlow, ...], simulated: bool) -> dict[str, Any]:
    by_area: dict[str, int] = {}
    for found in result.breaks:
        by_area[found.area.value] = by_area.get(found.area.value, 0) + 1
    return {
        "account_id": statement.account_id, "ok": result.ok, "simulated": simulated,
        "paper": is_paper_account(statement.account_id),
        "statement": _statement_document(statement, sha256, saved_as),
        "compared": dict(result.compared), "matched": dict(result.matched), "checks_held": list(result.checks),
        "fx_conversions": result.fx_conversions,
        "tolerance": request.tolerance.document(), "break_count": len(result.breaks), "breaks_by_area": by_area,
        "breaks": [b.document() for b in result.breaks[:MAX_BREAKS_RECORDED]],
        "income_and_costs": [line.document() for line in result.income_and_costs],
        "imported_cashflow_seqs": [f.seq for f in imported],
    }


# -- flex fetch ---------------------------------------------------------------------------------


def fetch_and_reconcile(services: "Services", environ: Mapping[str, str], today: date, tolerance: Tolerance,
                        sleep: Callable[[float], None]) -> tuple[FetchedStatement, ReconcileOutcome]:
    """Download the configured Flex query and reconcile it. A statement that cannot be
    reconciled (another account's) is still kept under statements/, and the error says where."""
    config = services.settings.flex
    if not config.query_id:
        raise UserError("flex.query_id is not set in trackrecord.yaml: give the id of your Activity Flex query "
                        "(Client Portal > Performance & Reports > Flex Queries)")
    token = (secret_from_env(SECRET_ENV["flex_token"], environ) or "").strip()
    if not token:
        raise UserError(f"{SECRET_ENV['flex_token']} is not set: put the Flex Web Service token in the environment, "
                        f"or in a file that {SECRET_ENV['flex_token']}_FILE names (Client Portal > Flex Queries > Flex Web Service Configuration)")
    from trackrecord import __version__

    service = FlexService.of(config.base_url, config.retry_seconds, config.max_attempts, config.timeout_seconds,
                             __version__)
    fetched = fetch_statement(token, config.query_id, service, sleep)
    request = ReconcileRequest(fetched.data, f"Flex query {config.query_id} (reference {fetched.reference_code})",
                               tolerance=tolerance)
    try:
        return fetched, reconcile_statement(services, request, today)
    except UserError as exc:
        sha256 = hashlib.sha256(fetched.data).hexdigest()
        kept = keep_statement(services.workspace.root, fetched.data, sha256,
                              f"flex-query{config.query_id}-{sha256[:12]}.xml")
        raise UserError(f"{exc} (the downloaded statement is kept as {kept})") from None
