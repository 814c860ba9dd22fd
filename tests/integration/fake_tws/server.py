"""A fake TWS / IB Gateway: a TCP server that the real ib_async client can talk to.

It runs its own asyncio loop in a background thread, so a test can drive the
synchronous ``ib_async.IB`` API (which runs the test thread's loop) against it.
State (orders, executions, positions, cash) lives on the server, not the
connection, so a client that reconnects finds what it sent before.

Rule: every public method is safe to call from the test thread; internals run on the
server loop only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

from . import protocol as p
from .protocol import In
from .scenario import Faults, Scenario

log = logging.getLogger("fake_tws")

DONE_STATES = frozenset({"Filled", "Cancelled", "Inactive", "ApiCancelled"})
MAX_ACCOUNT_SUMMARY_SUBSCRIPTIONS = 2  # TWS answers error 322 beyond this
CONNECTIVITY = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}


@dataclass
class _Order:
    order_id: int
    client_id: int
    perm_id: int
    placed: p.PlacedOrder
    contract: p.ContractSpec
    status: str
    filled: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    completed_time: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.placed.quantity - self.filled

    def row(self) -> p.OrderRow:
        limit = p.UNSET_DOUBLE if self.placed.limit_price is None else self.placed.limit_price
        return p.OrderRow(
            order_id=self.order_id, client_id=self.client_id, perm_id=self.perm_id,
            account=self.placed.account, action=self.placed.action,
            quantity=self.placed.quantity, order_type=self.placed.order_type,
            limit_price=str(limit), tif=self.placed.tif, order_ref=self.placed.order_ref,
            status=self.status, filled=self.filled, completed_time=self.completed_time,
            completed_status=self.status,
        )


@dataclass
class _Execution:
    row: p.ExecutionRow
    contract: p.ContractSpec
    executed_at: datetime
    commission: Decimal
    withheld_requests: int = 0
    live_commission_sent: bool = False

    @property
    def commission_known(self) -> bool:
        return self.withheld_requests <= 0


@dataclass(eq=False)
class _Session:
    writer: asyncio.StreamWriter
    client_id: int | None = None
    account_updates: str | None = None
    positions_subscribed: bool = False
    summary_requests: set[int] = field(default_factory=set)

    def send(self, *messages: bytes) -> None:
        if not self.writer.is_closing():
            for message in messages:
                self.writer.write(message)


@dataclass(frozen=True, slots=True)
class OrderView:
    """What a test may inspect about an order the server holds."""

    order_id: int
    client_id: int
    perm_id: int
    order_ref: str
    symbol: str
    action: str
    quantity: Decimal
    order_type: str
    account: str
    tif: str
    status: str
    filled: Decimal
    limit_price: Decimal | None


class FakeTws:
    """Start with ``FakeTws().start()`` (or the ``fake_tws`` fixture); stop with ``stop()``."""

    def __init__(self, scenario: Scenario | None = None, faults: Faults | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.faults = faults or Faults()
        self.host = "127.0.0.1"
        self.port = 0
        self.received: list[list[str]] = []
        # Called on the fake's loop with each arriving order's orderRef, before the fake
        # handles it (e.g. an operator hits the kill switch while orders arrive).
        self.before_place: Callable[[str], None] | None = None
        self._link_lost = False  # TWS's own link to IB's servers (see ``connectivity``)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-tws", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[_Session] = set()
        self._orders: list[_Order] = []
        self._executions: list[_Execution] = []
        self._next_order_id = self.scenario.first_order_id
        self._perm_ids = itertools.count(900_000_001)
        self._exec_seq = itertools.count(0xE0D5)
        self._cash = dict(self.scenario.cash)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "FakeTws":
        self._thread.start()
        self._server = self._call_coro(asyncio.start_server(self._serve, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._call(self._server.close)
            self._call(self._close_all)
            self._call_coro(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)
        self._loop.close()

    def __enter__(self) -> "FakeTws":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test controls

    def orders(self, order_ref: str | None = None) -> list[OrderView]:
        return self._call(lambda: [self._view(o) for o in self._orders
                                   if order_ref is None or o.placed.order_ref == order_ref])

    def execution_ids(self) -> list[str]:
        return self._call(lambda: [e.row.exec_id for e in self._executions])

    def close_auction(self, disconnect_first: bool = False) -> int:
        """Fill every working MOC order at its contract's close price; return how many.
        ``disconnect_first``: drop every client just before (the auction happens while
        they are away, so they learn of it only after reconnecting)."""
        return self._call(self._close_auction, disconnect_first)

    def print_price(self, symbol: str, price: Decimal) -> int:
        """A trade prints at ``price``: working market orders and crossed limit orders of that
        line fill at it; returns how many filled."""
        return self._call(self._print_price, symbol, price)

    def set_close(self, symbol: str, price: Decimal) -> None:
        """The closing price the next ``close_auction`` fills MOC orders of ``symbol`` at."""
        self._call(self._replace_contract, symbol, {"close_price": price})

    def deposit(self, amount: Decimal, currency: str = "GBP") -> None:
        self._call(self._deposit, amount, currency)

    def connectivity(self, code: int) -> None:
        """TWS tells every client about its own link to IB's servers: 1100 lost, 1101
        restored with data lost, 1102 restored with data kept."""
        def tell() -> None:
            self._link_lost = code == 1100
            for s in self._sessions:
                s.send(p.error(-1, code, CONNECTIVITY[code]))

        self._call(tell)

    def end_session(self) -> int:
        """The session ends: IB cancels every working DAY order; return how many."""
        return self._call(self._end_session)

    def correct_execution(self, exec_id: str, price: Decimal | None = None, shares: Decimal | None = None) -> str:
        """Bust-and-correct: a new execId with the last component incremented; returns it."""
        return self._call(self._correct_execution, exec_id, price, shares)

    def release_commissions(self) -> None:
        """Push every withheld commission report to connected clients now."""
        self._call(self._release_commissions)

    def inject(self, fields: list[object]) -> None:
        """Send a raw message to every connected client (to test the decoder guard)."""
        self._call(lambda: [s.send(p.encode(fields)) for s in self._sessions])

    def drop_connections(self) -> None:
        self._call(self._close_all)

    def connected_client_ids(self) -> list[int]:
        return self._call(lambda: [s.client_id for s in self._sessions if s.client_id is not None])

    def messages(self, msg_id: int) -> list[list[str]]:
        """Raw requests received with this message id (fields as strings)."""
        return self._call(lambda: [f for f in self.received if f and f[0] == str(msg_id)])

    # ------------------------------------------------------------ threading helpers

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                future.set_exception(e)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=5)

    def _call_coro(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)

    # ------------------------------------------------------------ connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        try:
            if await reader.readexactly(4) != b"API\0":
                return
            low, high = p.parse_version_range(p.decode(await self._read_frame(reader))[0])
            if not low <= p.SERVER_VERSION <= high:
                return  # this fake speaks only SERVER_VERSION; real TWS would negotiate down
            version = p.SERVER_VERSION
            now = datetime.now(timezone.utc)
            writer.write(p.frame(f"{version}\0{now:%Y%m%d %H:%M:%S} GMT\0".encode()))
            self._sessions.add(session)
            while not writer.is_closing():
                fields = p.decode(await self._read_frame(reader))
                self.received.append(fields)
                self._dispatch(session, fields)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("fake TWS failed handling a request")
            raise
        finally:
            self._sessions.discard(session)
            writer.close()

    @staticmethod
    async def _read_frame(reader: asyncio.StreamReader) -> bytes:
        size = int.from_bytes(await reader.readexactly(4), "big")
        return await reader.readexactly(size)

    def _close_all(self) -> None:
        for session in list(self._sessions):
            self._drop(session)

    def _drop(self, session: _Session) -> None:
        self._sessions.discard(session)
        session.writer.transport.abort()

    def _dispatch(self, s: _Session, f: list[str]) -> None:
        handler = self._handlers().get(int(f[0]))
        if handler is None:
            log.info("fake TWS ignores message %s", f[0])
            return
        handler(s, f)

    def _handlers(self) -> dict[int, Callable[[_Session, list[str]], None]]:
        return {
            In.START_API: self._start_api,
            In.PLACE_ORDER: self._place_order,
            In.CANCEL_ORDER: self._cancel_order,
            In.REQ_OPEN_ORDERS: lambda s, f: self._send_open_orders(s, only_own=True),
            In.REQ_ALL_OPEN_ORDERS: lambda s, f: self._send_open_orders(s, only_own=False),
            In.REQ_COMPLETED_ORDERS: self._send_completed_orders,
            In.REQ_ACCOUNT_UPDATES: self._account_updates,
            In.REQ_ACCOUNT_UPDATES_MULTI: self._account_updates_multi,
            In.REQ_ACCOUNT_SUMMARY: self._account_summary,
            In.CANCEL_ACCOUNT_SUMMARY: lambda s, f: s.summary_requests.discard(int(f[2])),
            In.REQ_POSITIONS: self._positions,
            In.CANCEL_POSITIONS: lambda s, f: setattr(s, "positions_subscribed", False),
            In.REQ_EXECUTIONS: self._executions_request,
            In.REQ_CONTRACT_DETAILS: self._contract_details,
            In.REQ_IDS: lambda s, f: s.send(p.next_valid_id(self._next_order_id)),
            In.REQ_MANAGED_ACCTS: lambda s, f: s.send(p.managed_accounts(self.scenario.accounts)),
            In.REQ_CURRENT_TIME: lambda s, f: s.send(p.current_time(int(datetime.now(timezone.utc).timestamp()))),
        }

    def _start_api(self, s: _Session, f: list[str]) -> None:
        client_id = int(f[2])
        if any(o.client_id == client_id for o in self._sessions if o is not s):
            s.send(p.error(-1, 326, "Unable to connect as the client id is already in use. Retry with a unique client id."))
            self._drop(s)
            return
        s.client_id = client_id
        s.send(p.next_valid_id(self._next_order_id), p.managed_accounts(self.scenario.accounts))
        if self._link_lost:  # TWS tells a new client at once that it has no link to IB
            s.send(p.error(-1, 1100, CONNECTIVITY[1100]))

    # ------------------------------------------------------------ account

    def _nav(self) -> Decimal:
        fx = self.scenario.fx_to_base
        cash = sum((amount * fx[ccy] for ccy, amount in self._cash.items()), Decimal(0))
        held = sum(
            (qty * self.scenario.contract(cid).price / self.scenario.contract(cid).price_magnifier
             * fx[self.scenario.contract(cid).currency]
             for cid, (qty, _) in self.scenario.positions.items()),
            Decimal(0),
        )
        return (cash + held).quantize(Decimal("0.01"))

    def _cash_base(self) -> Decimal:
        fx = self.scenario.fx_to_base
        return sum((a * fx[c] for c, a in self._cash.items()), Decimal(0)).quantize(Decimal("0.01"))

    def _account_tags(self) -> list[tuple[str, object, str]]:
        base = self.scenario.base_currency
        tags: list[tuple[str, object, str]] = [
            ("AccountType", "INDIVIDUAL", ""),
            ("NetLiquidation", self._nav(), base),
            ("TotalCashValue", self._cash_base(), base),
        ]
        for ccy, amount in sorted(self._cash.items()):
            tags.append(("CashBalance", amount, ccy))
            tags.append(("ExchangeRate", self.scenario.fx_to_base[ccy], ccy))
        tags.append(("CashBalance", self._cash_base(), "BASE"))
        tags.append(("NetLiquidationByCurrency", self._nav(), "BASE"))
        shown = self._garbled("account.")
        return [(tag, shown.get(tag, value), ccy) for tag, value, ccy in tags]

    def _account_updates(self, s: _Session, f: list[str]) -> None:
        subscribe, account = f[2] == "1", f[3]
        s.account_updates = account if subscribe else None
        if not subscribe:
            return
        s.send(*(p.account_value(t, v, c, account) for t, v, c in self._account_tags()))
        s.send(*self._portfolio_messages(account))
        s.send(p.account_time(datetime.now(timezone.utc).strftime("%H:%M")), p.account_download_end(account))

    def _portfolio_messages(self, account: str) -> list[bytes]:
        if account != self.scenario.accounts[0]:
            return []
        out = []
        for cid, (qty, avg) in self.scenario.positions.items():
            c = self.scenario.contract(cid)
            value = (qty * c.price / self.scenario.market_value_divisor.get(cid, Decimal(1))).quantize(Decimal("0.01"))
            out.append(p.portfolio_value(account, c, qty, c.price, value, avg, shown=self._garbled("position.")))
        return out

    def _account_updates_multi(self, s: _Session, f: list[str]) -> None:
        req_id, account = int(f[2]), f[3]
        s.send(*(p.account_update_multi(req_id, account, t, v, c) for t, v, c in self._account_tags()))
        s.send(p.account_update_multi_end(req_id))

    def _account_summary(self, s: _Session, f: list[str]) -> None:
        req_id, tags = int(f[2]), set(f[4].split(","))
        if len(s.summary_requests) >= MAX_ACCOUNT_SUMMARY_SUBSCRIPTIONS:
            s.send(p.error(req_id, 322, "Error processing request:-'bd' : cause - Maximum number of account summary requests exceeded"))
            return
        s.summary_requests.add(req_id)
        ledger = "$LEDGER:ALL" in tags or "$LEDGER" in tags
        for account in self.scenario.accounts:
            for tag, value, ccy in self._account_tags():
                is_ledger_tag = tag in ("CashBalance", "ExchangeRate", "NetLiquidationByCurrency")
                if (tag in tags and not is_ledger_tag) or (ledger and is_ledger_tag):
                    s.send(p.account_summary(req_id, account, tag, value, ccy))
        s.send(p.account_summary_end(req_id))

    def _positions(self, s: _Session, f: list[str]) -> None:
        s.positions_subscribed = True
        account = self.scenario.accounts[0]
        for cid, (qty, avg) in self.scenario.positions.items():
            s.send(p.position(account, self.scenario.contract(cid), qty, avg))
        s.send(p.position_end())

    # ------------------------------------------------------------ contracts

    def _contract_details(self, s: _Session, f: list[str]) -> None:
        q = p.parse_contract_query(f)
        matches = [c for c in self.scenario.contracts if self._matches(c, q)]
        if not matches:
            s.send(p.error(q.req_id, 200, "No security definition has been found for the request"))
            return
        for c in matches:
            s.send(p.contract_details(q.req_id, replace(c, exchange=q.exchange or "SMART")))
        s.send(p.contract_details_end(q.req_id))

    @staticmethod
    def _matches(c: p.ContractSpec, q: p.ContractQuery) -> bool:
        if q.con_id:
            return c.con_id == q.con_id
        return (
            c.symbol == q.symbol
            and q.currency in ("", c.currency)
            and q.sec_type in ("", c.sec_type)
            and q.primary_exchange in ("", c.primary_exchange)
            and q.exchange in ("", "SMART", c.primary_exchange)
        )

    def _find_contract(self, placed: p.PlacedOrder) -> p.ContractSpec | None:
        for c in self.scenario.contracts:
            if placed.con_id and c.con_id == placed.con_id:
                return c
            if not placed.con_id and c.symbol == placed.symbol and placed.currency in ("", c.currency):
                return c
        return None

    # ------------------------------------------------------------ orders

    def _owners(self, order: _Order) -> list[_Session]:
        return [s for s in self._sessions if s.client_id == order.client_id]

    def _status_message(self, o: _Order, last_price: Decimal = Decimal(0)) -> bytes:
        return p.order_status(o.order_id, o.status, o.filled, o.remaining, o.avg_price,
                              o.perm_id, last_price, o.client_id)

    def _place_order(self, s: _Session, f: list[str]) -> None:
        placed = p.parse_place_order(f)
        if self.before_place is not None:
            self.before_place(placed.order_ref)
        self._next_order_id = max(self._next_order_id, placed.order_id + 1)
        drop = self.faults.disconnect_on_place
        if drop is not None:
            self.faults.disconnect_on_place = None
            self._drop(s)
            if not drop.accepted:
                return
        contract = self._find_contract(placed)
        if contract is None:
            s.send(p.error(placed.order_id, 200, "No security definition has been found for the request"))
            return
        order = _Order(placed.order_id, s.client_id or 0, next(self._perm_ids), placed, contract, "PreSubmitted")
        self._orders.append(order)
        reject = self.faults.reject
        if reject is not None and reject.order_ref in (None, placed.order_ref):
            self.faults.reject = None
            self._finish(order, reject.status)
            for owner in self._owners(order):
                owner.send(p.error(order.order_id, reject.code, reject.text), self._status_message(order))
            return
        order.status = "PreSubmitted" if placed.order_type == "MOC" else "Submitted"
        for owner in self._owners(order):
            owner.send(p.open_order(contract, order.row()), self._status_message(order))
        if self._is_marketable(order) and not (self.scenario.fill_on_print and placed.order_type == "MKT"):
            self._loop.call_later(self.scenario.fill_delay_seconds, self._fill, order, contract.price)

    @staticmethod
    def _is_marketable(o: _Order) -> bool:
        kind, limit, price = o.placed.order_type, o.placed.limit_price, o.contract.price
        if kind == "MKT":
            return True
        if kind == "LMT" and limit is not None:
            return limit >= price if o.placed.action == "BUY" else limit <= price
        return False

    def _finish(self, o: _Order, status: str) -> None:
        o.status = status
        o.completed_time = datetime.now(timezone.utc).strftime("%Y%m%d %H:%M:%S GMT")

    def _cancel_order(self, s: _Session, f: list[str]) -> None:
        order_id = int(f[2])
        o = next((o for o in self._orders if o.order_id == order_id and o.client_id == s.client_id), None)
        if o is None:
            s.send(p.error(order_id, 135, f"Can't find order with id = {order_id}"))
        elif o.status in DONE_STATES:
            s.send(p.error(order_id, 161, f"Cancel attempted when order is not in a cancellable state.  Order permId ={o.perm_id}"))
        elif not self.faults.ignore_cancels:
            self._finish(o, "Cancelled")
            for owner in self._owners(o):
                owner.send(self._status_message(o), p.error(order_id, 202, "Order Canceled - reason:"))

    def _send_open_orders(self, s: _Session, only_own: bool) -> None:
        for o in self._orders:
            if o.status in DONE_STATES or (only_own and o.client_id != s.client_id):
                continue
            s.send(p.open_order(o.contract, o.row()), self._status_message(o))
        s.send(p.open_order_end())

    def _send_completed_orders(self, s: _Session, f: list[str]) -> None:
        for o in self._orders:
            if o.status in DONE_STATES and not self.faults.no_completed_orders:
                s.send(p.completed_order(o.contract, o.row()))
        s.send(p.completed_orders_end())

    def _close_auction(self, disconnect_first: bool = False) -> int:
        if disconnect_first:
            self._close_all()
        working = [o for o in self._orders if o.placed.order_type == "MOC" and o.status not in DONE_STATES]
        for o in working:
            self._fill(o, o.contract.close_price)
        return len(working)

    def _replace_contract(self, symbol: str, changes: dict[str, Any]) -> p.ContractSpec:
        old = next(c for c in self.scenario.contracts if c.symbol == symbol)
        new = replace(old, **changes)
        self.scenario.contracts = tuple(new if c is old else c for c in self.scenario.contracts)
        for o in self._orders:
            if o.contract is old:
                o.contract = new
        return new

    def _print_price(self, symbol: str, price: Decimal) -> int:
        contract = self._replace_contract(symbol, {"price": price})
        crossed = [o for o in self._orders if o.contract is contract and o.status not in DONE_STATES
                   and o.placed.order_type != "MOC" and self._is_marketable(o)]
        for o in crossed:
            self._fill(o, price)
        account = self.scenario.accounts[0]
        for s in self._sessions:  # the portfolio is revalued at the new price
            if s.account_updates == account:
                s.send(*self._portfolio_messages(account))
        return len(crossed)

    def _deposit(self, amount: Decimal, currency: str) -> None:
        self._cash[currency] = self._cash.get(currency, Decimal(0)) + amount

    def _end_session(self) -> int:
        working = [o for o in self._orders if o.status not in DONE_STATES]
        for o in working:
            self._finish(o, "Cancelled")
            for owner in self._owners(o):
                owner.send(self._status_message(o))
        return len(working)

    # ------------------------------------------------------------ executions

    def _new_exec_id(self) -> str:
        return f"0000{next(self._exec_seq):04x}.6543ab12.01.01"

    def _fill(self, o: _Order, price: Decimal) -> None:
        if o.status in DONE_STATES:
            return
        quantity, partial = o.remaining, self.faults.partial_fill
        if partial is not None and o.filled == 0 and partial.first < quantity:
            quantity = partial.first
            if partial.rest_after_seconds is not None:
                self._loop.call_later(partial.rest_after_seconds, self._fill, o, price)
        o.avg_price = (o.avg_price * o.filled + price * quantity) / (o.filled + quantity)
        o.filled += quantity
        if o.remaining == 0:
            self._finish(o, "Filled")
        self._book(o.contract, o.placed.action, quantity, price)
        now = self.scenario.now()
        row = p.ExecutionRow(
            exec_id=self._new_exec_id(), order_id=o.order_id, client_id=o.client_id,
            perm_id=o.perm_id, account=o.placed.account or self.scenario.accounts[0],
            side="BOT" if o.placed.action == "BUY" else "SLD", shares=quantity, price=price,
            cum_qty=o.filled, avg_price=o.avg_price, order_ref=o.placed.order_ref,
            time_text=p.ib_time(now, self.scenario.time_zone), exchange=o.contract.primary_exchange,
        )
        self._record_execution(row, o.contract, now)
        for owner in self._owners(o):
            owner.send(self._status_message(o, price))

    def _garbled(self, prefix: str) -> dict[str, str]:
        return {k[len(prefix):]: v for k, v in self.faults.garbled.items() if k.startswith(prefix)}

    def _exec_details(self, req_id: int, contract: p.ContractSpec, row: p.ExecutionRow) -> bytes:
        return p.exec_details(req_id, contract, replace(row, **self._garbled("execution.")))  # type: ignore[arg-type]

    def _commission_report(self, exec_id: str, commission: Decimal, currency: str) -> bytes:
        return p.commission_report(exec_id, self.faults.garbled.get("commission", commission), currency)

    def _record_execution(self, row: p.ExecutionRow, contract: p.ContractSpec, at: datetime) -> _Execution:
        late = self.faults.late_commission
        execution = _Execution(
            row, contract, at, self.scenario.commission[contract.currency],
            withheld_requests=late.withhold_requests if late else 0,
        )
        self._executions.append(execution)
        copies = 2 if self.faults.duplicate_exec_details else 1
        for s in self._sessions:
            if s.client_id != row.client_id:
                continue
            s.send(*[self._exec_details(-1, contract, row)] * copies)
            if execution.commission_known:
                s.send(self._commission_report(row.exec_id, execution.commission, contract.currency))
        execution.live_commission_sent = execution.commission_known
        if late is not None and late.delay_seconds is not None:
            self._loop.call_later(late.delay_seconds, self._release, execution)
        return execution

    def _book(self, c: p.ContractSpec, action: str, quantity: Decimal, price: Decimal) -> None:
        sign = 1 if action == "BUY" else -1
        qty, avg = self.scenario.positions.get(c.con_id, (Decimal(0), Decimal(0)))
        new_qty = qty + sign * quantity
        new_avg = ((qty * avg + quantity * price) / new_qty) if sign > 0 and new_qty else avg
        if new_qty:
            self.scenario.positions[c.con_id] = (new_qty, new_avg.quantize(Decimal("0.0001")))
        else:
            self.scenario.positions.pop(c.con_id, None)
        # prices in the quote unit (pence when price_magnifier is 100), cash in the currency
        self._cash[c.currency] = self._cash.get(c.currency, Decimal(0)) - sign * quantity * price / c.price_magnifier
        self._cash[c.currency] -= self.scenario.commission[c.currency]
        account = self.scenario.accounts[0]
        new_position = self.scenario.positions.get(c.con_id, (Decimal(0), Decimal(0)))
        closed = [] if new_qty else [p.portfolio_value(account, c, Decimal(0), c.price, Decimal(0), Decimal(0))]
        for s in self._sessions:
            if s.account_updates == account:
                s.send(*self._portfolio_messages(account), *closed)
            if s.positions_subscribed:
                s.send(p.position(account, c, *new_position))

    def _release(self, e: _Execution) -> None:
        e.withheld_requests = 0
        if e.live_commission_sent:
            return
        e.live_commission_sent = True
        for s in self._sessions:
            if s.client_id == e.row.client_id:
                s.send(self._commission_report(e.row.exec_id, e.commission, e.contract.currency))

    def _release_commissions(self) -> None:
        for e in self._executions:
            self._release(e)

    def _correct_execution(self, exec_id: str, price: Decimal | None, shares: Decimal | None) -> str:
        original = next(e for e in self._executions if e.row.exec_id == exec_id)
        base, _, last = exec_id.rpartition(".")
        versions = [e.row.exec_id for e in self._executions if e.row.exec_id.startswith(base + ".")]
        newest = max(int(v.rpartition(".")[2]) for v in versions)
        corrected_id = f"{base}.{newest + 1:0{len(last)}d}"
        row = replace(original.row, exec_id=corrected_id,
                      price=price if price is not None else original.row.price,
                      shares=shares if shares is not None else original.row.shares)
        self._record_execution(row, original.contract, original.executed_at)
        return corrected_id

    def _executions_request(self, s: _Session, f: list[str]) -> None:
        q = p.parse_execution_query(f)
        copies = 2 if self.faults.duplicate_exec_details else 1
        for e in self._executions:
            if q.client_id and e.row.client_id != q.client_id:
                continue
            if q.account and e.row.account != q.account:
                continue
            if q.symbol and e.contract.symbol != q.symbol:
                continue
            s.send(*[self._exec_details(q.req_id, e.contract, e.row)] * copies)
            if e.commission_known:
                s.send(self._commission_report(e.row.exec_id, e.commission, e.contract.currency))
            else:
                e.withheld_requests -= 1
        s.send(p.exec_details_end(q.req_id))

    # ------------------------------------------------------------ views

    @staticmethod
    def _view(o: _Order) -> OrderView:
        return OrderView(
            order_id=o.order_id, client_id=o.client_id, perm_id=o.perm_id,
            order_ref=o.placed.order_ref, symbol=o.contract.symbol, action=o.placed.action,
            quantity=o.placed.quantity, order_type=o.placed.order_type,
            account=o.placed.account, tif=o.placed.tif, status=o.status, filled=o.filled,
            limit_price=o.placed.limit_price,
        )
