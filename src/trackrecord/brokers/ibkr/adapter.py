"""IbkrBroker: the Broker port on Interactive Brokers through ib_async.

Only ``bootstrap`` should import this module, and only for live or IB-paper mode;
ib_async itself is imported when the first connection opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from trackrecord.brokers.base import BrokerError, OrderRejected
from trackrecord.brokers.ibkr import mapping
from trackrecord.brokers.ibkr.connection import ConnectionSettings, IbConnection
from trackrecord.brokers.ibkr.marks import Closes, date_stale_marks
from trackrecord.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Instrument,
    OrderRequest,
    OrderStatus,
)
from trackrecord.domain.accounts import is_paper_account
from trackrecord.errors import SafetyRefusal

log = logging.getLogger(__name__)


class AccountMismatch(BrokerError, SafetyRefusal):
    """The login does not manage the configured account: a safety refusal (exit code 3),
    not a broker failure. Nothing is read from, or sent to, another account."""


SUMMARY_TAGS = "NetLiquidation,TotalCashValue"
LINK_LOST, LINK_RESTORED_DATA_LOST, LINK_RESTORED = 1100, 1101, 1102  # TWS <-> IB's servers
POLL_SECONDS = 0.02
WAITING_FOR_ACK = frozenset({"PendingSubmit", "ApiPending"})


@dataclass(frozen=True, slots=True)
class _Line:
    """What the adapter knows about one tradable line after qualification."""

    instrument: Instrument
    order_types: str


class IbkrBroker:
    """A TWS / IB Gateway account behind the Broker port.

    Rules the caller must not break: ``place_order`` at most once per ``order_ref``
    (on a BrokerError after sending, look the order up with ``open_orders`` and
    ``executions_since`` before sending anything again); ``qualify`` the instruments
    before placing orders for them. Nothing IB-typed is returned.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        client_id: int = 1,
        account_id: str | None = None,
        base_currency: str = "GBP",
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        max_connect_attempts: int = 3,
        read_only: bool = False,
        *,
        instruments: Sequence[Instrument] = (),
        exchange_zone: str = "Europe/London",
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        recent_closes: Callable[[Sequence[str], date], Closes] | None = None,
    ) -> None:
        self._settings = ConnectionSettings(
            host=host, port=port, client_id=client_id, connect_timeout=connect_timeout,
            request_timeout=request_timeout, max_connect_attempts=max_connect_attempts,
            read_only=read_only, backoff_seconds=backoff_seconds,
        )
        self._connection = IbConnection(self._settings, sleep=sleep, on_error=self._on_ib_error,
                                        on_connecting=self._forget_link_state)
        self._configured_account = account_id
        self._account: str | None = None
        self._checked_generation = 0
        self._base_currency = base_currency
        self._zone = ZoneInfo(exchange_zone)
        self._lines: dict[str, _Line] = {i.symbol: _Line(i, "") for i in instruments}
        self._refs_at_connect: set[str] = set()
        self._refs_generation = 0
        self._link_lost: str | None = None  # TWS's message while it has no link to IB (error 1100)
        self._resubscribe = False  # after 1101 (data lost): account updates are asked for again
        self._recent_closes = recent_closes  # our stored closes: the only way to date IB's marks (marks.py)

    # ------------------------------------------------------------ Broker port

    @property
    def account_id(self) -> str:
        if self._account is None:
            self._ib()
        assert self._account is not None
        return self._account

    @property
    def is_paper(self) -> bool:
        return is_paper_account(self.account_id)

    def server_time(self) -> datetime:
        """TWS's clock (``reqCurrentTime``, UTC): what ``doctor`` measures clock skew against."""
        ib = self._ib()
        with self._translated("asking TWS for its time"):
            moment = ib.reqCurrentTime()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def qualify(self, instruments: Sequence[Instrument]) -> dict[str, Instrument]:
        """Resolve each instrument at IB, pinning (or checking) its conId."""
        ib = self._ib()
        self._refuse_while_link_lost("qualify contracts")
        qualified: dict[str, Instrument] = {}
        for instrument in instruments:
            with self._translated(f"qualifying {instrument.symbol}"):
                details = ib.reqContractDetails(mapping.to_ib_contract(instrument.ib))
            pinned, order_types = mapping.pin_contract(instrument, details)
            self._lines[pinned.symbol] = _Line(pinned, order_types)
            qualified[pinned.symbol] = pinned
        return qualified

    def snapshot(self, as_of: datetime) -> AccountSnapshot:
        ib = self._ib()
        self._refuse_while_link_lost("take a snapshot (its values would be stale)")
        if self._resubscribe:
            with self._translated(f"subscribing to account {self.account_id} again"):
                ib.reqAccountUpdates(self.account_id)
            self._resubscribe = False
        values = self._account_summary(ib)
        base = self._base_currency
        net_liquidation = mapping.account_value(values, "NetLiquidation", base)
        cash = mapping.account_value(values, "TotalCashValue", base)
        if net_liquidation is None or cash is None:
            found = mapping.currencies_of(values, "NetLiquidation") or ["nothing"]
            raise BrokerError(
                f"IB account {self.account_id} reports NetLiquidation in {', '.join(found)}, "
                f"not in the configured base currency {base}"
            )
        positions = tuple(
            mapping.to_position(item, *self._identify(item.contract)) for item in ib.portfolio(self.account_id)
        )
        if positions and self._recent_closes is not None:
            day = as_of.astimezone(self._zone).date()
            positions = date_stale_marks(positions, self._recent_closes([p.symbol for p in positions], day))
        return AccountSnapshot(
            account_id=self.account_id, is_paper=self.is_paper, taken_at=as_of,
            session_date=as_of.astimezone(self._zone).date(), base_currency=base,
            net_liquidation=net_liquidation, cash=cash, positions=positions,
        )

    def executions_since(self, since: datetime) -> list[Fill]:
        """Every execution at or after ``since`` in this account, one per execId.

        Commission is None until IB's report for that execId has arrived; corrections
        name the execId they supersede.
        """
        fills = [f for f in self._account_fills(self._ib()) if mapping.executed_at_or_after(f, since)]
        supersedes = mapping.superseded_ids(f.execution.execId for f in fills)
        return [
            mapping.to_fill(f, *self._identify(f.contract), supersedes.get(f.execution.execId))
            for f in sorted(fills, key=lambda f: (f.execution.time, f.execution.execId))
        ]

    def place_order(self, order: OrderRequest) -> BrokerOrder:
        self._refuse_if_read_only(f"place order {order.order_ref}")
        line = self._qualified_line(order.symbol)
        if line.order_types and not mapping.accepts_order_type(line.order_types, order.order_type):
            raise OrderRejected(
                f"IB does not accept {order.order_type.value} orders for {order.symbol} "
                f"(accepted: {line.order_types}); order {order.order_ref} was not sent"
            )
        ib = self._ib()
        self._refuse_while_link_lost(f"send order {order.order_ref}")
        if self._already_sent(ib, order.order_ref):
            raise OrderRejected(
                f"IB already has an order with orderRef {order.order_ref} in account {self.account_id} "
                "(working, completed or executed): an orderRef is never sent twice; not sent"
            )
        contract = mapping.to_ib_contract(line.instrument.ib)
        ib_order = mapping.to_ib_order(order, self.account_id, line.instrument.quote_divisor)
        try:
            trade = ib.placeOrder(contract, ib_order)
            self._wait(ib, lambda: trade.orderStatus.status not in WAITING_FOR_ACK, self._settings.request_timeout)
        except (ConnectionError, OSError) as e:
            raise self._lost_after_sending(order) from e
        if not self._connection.is_connected():
            raise self._lost_after_sending(order)
        placed = self._to_broker_order(trade)
        if placed.status is OrderStatus.REJECTED:
            raise OrderRejected(
                f"IB rejected order {order.order_ref} ({order.side.value} {order.quantity} {order.symbol} "
                f"{order.order_type.value}): {placed.message or trade.orderStatus.status}",
                code=mapping.error_code(trade),
            )
        return placed

    def open_orders(self) -> list[BrokerOrder]:
        """Working orders of this account from every API client, fetched afresh."""
        ib = self._ib()
        with self._translated("requesting open orders"):
            trades = ib.reqAllOpenOrders()
        return [
            self._to_broker_order(t) for t in trades
            if t.order.account in ("", self.account_id) and not t.isDone() and self._is_ours(t)
        ]

    def cancel(self, order_ref: str) -> BrokerOrder:
        self._refuse_if_read_only(f"cancel order {order_ref}")
        ib = self._ib()
        trade = self._latest_trade(ib, order_ref) or self._refreshed_trade(ib, order_ref)
        if trade is None:
            raise BrokerError(f"IB has no order with orderRef {order_ref} in account {self.account_id}")
        if not trade.isDone():
            with self._translated(f"cancelling order {order_ref}"):
                ib.cancelOrder(trade.order)
                self._wait(ib, trade.isDone, self._settings.request_timeout)
        return self._to_broker_order(trade)

    def wait_for_terminal(self, order_refs: Sequence[str], timeout_seconds: float) -> list[BrokerOrder]:
        """Follow orders until each is filled, cancelled or rejected, or the timeout
        passes; returns each order's latest state either way (reconnecting if needed).

        IB may forget finished orders (no completed orders after its daily restart): an
        order neither working nor completed is rebuilt from its executions; one that IB
        shows nowhere is left out of the answer (and logged), for the caller to record
        as unknown at the broker. Nothing here fails because IB forgot an order.
        """
        deadline = time.monotonic() + timeout_seconds
        following = list(order_refs)
        while True:
            ib = self._ib()
            found = self._find_orders(ib, following)
            if nowhere := [ref for ref in following if ref not in found]:
                log.warning("IB shows no order, completed order or execution for %s in account %s",
                            ", ".join(nowhere), self.account_id)
                following = [ref for ref in following if ref in found]
            orders = [found[ref] for ref in following]
            remaining = deadline - time.monotonic()
            if all(o.status.is_terminal for o in orders) or remaining <= 0:
                return orders
            try:
                ib.sleep(min(remaining, POLL_SECONDS))
            except ConnectionError:
                log.warning("IB connection dropped while waiting for %s", ", ".join(following))

    def close(self) -> None:
        self._connection.close()

    # ------------------------------------------------------------ connection & account

    def _ib(self) -> Any:
        ib = self._connection.ib()
        if self._checked_generation != self._connection.generation:
            self._account = self._check_account(ib)
            self._checked_generation = self._connection.generation
        return ib

    def _on_ib_error(self, req_id: int, code: int, message: str, contract: Any) -> None:
        """TWS's own link to IB's servers: while it is down (1100) nothing is sent and no
        snapshot taken; orders are still followed and show their state once it is back."""
        if code == LINK_LOST:
            self._link_lost = message
            log.warning("TWS/IB Gateway lost its connection to IB (error %d): %s", code, message)
        elif code in (LINK_RESTORED, LINK_RESTORED_DATA_LOST):
            self._link_lost = None
            log.warning("TWS/IB Gateway connection to IB restored (error %d): %s", code, message)
            if code == LINK_RESTORED_DATA_LOST:
                self._resubscribe = True
                self._refs_generation = 0  # look at IB's orders and executions afresh

    def _forget_link_state(self) -> None:
        """A new connection starts: TWS tells it afresh whether its link to IB is down."""
        self._link_lost, self._resubscribe = None, False

    def _refuse_while_link_lost(self, action: str) -> None:
        if self._link_lost is not None:
            raise BrokerError(
                f"TWS/IB Gateway has lost its connection to IB's servers (error {LINK_LOST}: {self._link_lost}): "
                f"refusing to {action}; rerun once it reports the connection restored (error 1101 or 1102)"
            )

    def _check_account(self, ib: Any) -> str:
        accounts = list(ib.managedAccounts())
        wanted = self._configured_account
        if wanted is None:
            if len(accounts) != 1:
                self._connection.close()
                raise BrokerError(
                    f"This IB login manages {len(accounts)} accounts ({', '.join(accounts)}); "
                    "set account.account_id in trackrecord.yaml to the one trackrecord trades"
                )
            return accounts[0]
        if wanted not in accounts:
            self._connection.close()
            raise AccountMismatch(
                f"IB account {wanted} is not managed by this TWS/Gateway login "
                f"(it manages {', '.join(accounts) or 'no account'}): refusing to use another account; "
                "check account.account_id in trackrecord.yaml and which login is running"
            )
        if len(accounts) > 1:
            with self._translated(f"subscribing to account {wanted}"):
                ib.reqAccountUpdates(wanted)
        return wanted

    def _account_summary(self, ib: Any) -> list[Any]:
        """One-off account summary: request, wait for the end, cancel. (ib_async's
        ``accountSummary()`` keeps a subscription open and caches it; IB allows two.)"""
        client, wrapper = ib.client, ib.wrapper
        with self._translated("requesting the account summary"):
            req_id = client.getReqId()
            future = wrapper.startReq(req_id)
            client.reqAccountSummary(req_id, "All", SUMMARY_TAGS)
            try:
                ib.run(asyncio.wait_for(future, self._settings.request_timeout))
            finally:
                if client.isConnected():
                    client.cancelAccountSummary(req_id)
        return [v for v in wrapper.acctSummary.values() if v.account == self.account_id]

    def _refuse_if_read_only(self, action: str) -> None:
        if self._settings.read_only:
            raise BrokerError(f"Refusing to {action}: the IB connection is configured read-only")

    # ------------------------------------------------------------ orders

    def _qualified_line(self, symbol: str) -> _Line:
        line = self._lines.get(symbol)
        if line is None or line.instrument.ib.con_id is None:
            raise BrokerError(f"{symbol} has not been qualified at IB; call qualify() before placing orders")
        return line

    def _is_ours(self, trade: Any) -> bool:
        if trade.order.orderType in mapping.ORDER_TYPE:
            return True
        log.warning("Ignoring IB order %s of type %s: not one trackrecord sends", trade.order.permId, trade.order.orderType)
        return False

    def _latest_trade(self, ib: Any, order_ref: str) -> Any:
        matching = [
            t for t in ib.trades()
            if t.order.orderRef == order_ref and t.order.account in ("", self.account_id)
        ]
        if not matching:
            return None
        live = [t for t in matching if not t.isDone()]
        return (live or matching)[-1]

    def _already_sent(self, ib: Any, order_ref: str) -> bool:
        """Whether IB knows ``order_ref``: this connection's trades, and (looked up once per
        connection) the open and completed orders and the executions it started with."""
        if self._refs_generation != self._connection.generation:
            self._refresh_orders(ib)
            self._refs_at_connect = {t.order.orderRef for t in ib.trades() if t.order.account in ("", self.account_id)}
            self._refs_at_connect |= {f.execution.orderRef for f in self._account_fills(ib)}
            self._refs_generation = self._connection.generation
        return order_ref in self._refs_at_connect or self._latest_trade(ib, order_ref) is not None

    def _refreshed_trade(self, ib: Any, order_ref: str) -> Any:
        self._refresh_orders(ib)
        return self._latest_trade(ib, order_ref)

    def _refresh_orders(self, ib: Any) -> None:
        with self._translated("requesting open and completed orders"):
            ib.reqAllOpenOrders()
            ib.reqCompletedOrders(apiOnly=True)

    def _find_orders(self, ib: Any, order_refs: Sequence[str]) -> dict[str, BrokerOrder]:
        """Each order IB still knows, by ref: from this session's trades, else IB's open
        and completed orders, else (IB forgot it) rebuilt from its executions."""
        trades = {ref: self._latest_trade(ib, ref) for ref in order_refs}
        if any(t is None for t in trades.values()):
            self._refresh_orders(ib)
            trades = {ref: t if t is not None else self._latest_trade(ib, ref) for ref, t in trades.items()}
        found = {ref: self._to_broker_order(t) for ref, t in trades.items() if t is not None}
        if forgotten := {ref for ref in order_refs if ref not in found}:
            by_ref: dict[str, list[Any]] = {}
            for f in self._account_fills(ib):
                if f.execution.orderRef in forgotten:
                    by_ref.setdefault(f.execution.orderRef, []).append(f)
            for ref, fills in by_ref.items():
                symbol, _, divisor = self._identify(fills[0].contract)
                found[ref] = mapping.order_from_executions(ref, fills, symbol, divisor)
        return found

    def _account_fills(self, ib: Any) -> list[Any]:
        """This account's executions with their commission reports, fetched afresh.
        (ib.fills() is keyed by execId, so duplicates collapse, and holds the commission
        reports; the list reqExecutions returns carries blank reports for known fills.)"""
        from ib_async import ExecutionFilter

        with self._translated("requesting executions"):
            ib.reqExecutions(ExecutionFilter(acctCode=self.account_id))
        return [f for f in ib.fills() if f.execution.acctNumber == self.account_id]

    def _to_broker_order(self, trade: Any) -> BrokerOrder:
        symbol, _, divisor = self._identify(trade.contract)
        return mapping.to_broker_order(trade, symbol, divisor)

    def _identify(self, contract: Any) -> tuple[str, str, Decimal]:
        """IB contract -> (our symbol, our currency, quote divisor of IB prices)."""
        for line in self._lines.values():
            ib = line.instrument.ib
            if (ib.con_id and ib.con_id == contract.conId) or (
                ib.symbol == contract.symbol and ib.currency == contract.currency
            ):
                return line.instrument.symbol, line.instrument.currency, line.instrument.quote_divisor
        return contract.symbol, contract.currency, Decimal(1)

    def _lost_after_sending(self, order: OrderRequest) -> BrokerError:
        return BrokerError(
            f"Lost the IB connection after sending order {order.order_ref} ({order.side.value} "
            f"{order.quantity} {order.symbol}); IB may have accepted it. Do not resend: look it up "
            "with open_orders() and executions_since() once reconnected"
        )

    def _wait(self, ib: Any, is_done: Callable[[], bool], timeout: float) -> None:
        """Run ib_async's loop until ``is_done()`` or the timeout. Polls on purpose:
        ``ib.waitOnUpdate`` can miss an update that lands in its first loop turn and
        then sleeps its whole timeout."""
        deadline = time.monotonic() + timeout
        while not is_done() and (remaining := deadline - time.monotonic()) > 0:
            ib.sleep(min(remaining, POLL_SECONDS))

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        """IB failures -> BrokerError with IB's code in the message, ``from`` the original."""
        from ib_async import RequestError

        try:
            yield
        except RequestError as e:
            raise BrokerError(f"IB refused {doing}: error {e.code}: {e.message}") from e
        except (asyncio.TimeoutError, TimeoutError) as e:
            raise BrokerError(f"IB did not answer {doing} within {self._settings.request_timeout:g} s") from e
        except (ConnectionError, OSError) as e:
            raise BrokerError(f"IB connection failed while {doing}: {e}") from e
