"""SimulatedBroker: a paper account persisted in the database, implementing ``Broker``.

Time only moves when the caller moves it: ``advance_to(moment)`` fills pending market
orders at the market's price at ``moment`` (the next price after they were placed) and
limit orders that the price crosses; ``on_session_close(session_date, closed_at)`` fills
market-on-close orders at the session's closing price, then market and limit orders
still open, and expires what is left (time in force DAY). ``wait_for_terminal`` does not
move time: it reports where the orders stand.

Rule: ``place_order`` accepts an ``order_ref`` once per account, ever (the database's
unique key enforces it too): a second order with the same ref raises ``OrderRejected``.

The account's state (open orders, positions, cash, executions) is loaded once at
construction and kept in memory; the database is written only when something changes
(an order placed, filled, cancelled; a deposit), so a replay of years costs little.

Rule (``follow_ledger``): the account's cash follows the ledger's flows. On start, before
it answers anything, the broker books every ``cashflow.recorded`` of its account that its
book has not booked yet, and un-books (a correcting booking) every booked flow that was
voided since, each keyed by the flow's seq (``flow:SEQ``, ``void:SEQ``): idempotent, and a
kill between the ledger's commit and the booking is mended on the next start.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from trackrecord.brokers.base import BrokerError, OrderRejected
from trackrecord.brokers.sim.costs import CommissionModel, SlippageModel
from trackrecord.brokers.sim.market import SimMarket
from trackrecord.brokers.sim.store import (
    DuplicateOrderRef,
    OpenTransaction,
    SimBookStore,
    WriteLock,
    decimal_or_none,
    parse_timestamp,
    stamp,
)
from trackrecord.ledger.cashflows import RecordedCashFlow
from trackrecord.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Instrument,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ZERO = Decimal(0)
DUPLICATE_ORDER_CODE = 103  # IB: "Duplicate order id"
UNKNOWN_ORDER_CODE = 10147  # IB: "OrderId ... that needs to be cancelled is not found"
REJECTED_ORDER_CODE = 201  # IB: "Order rejected - reason: ..."
FLOW_BOOKED_AT = time(8, 0)  # a ledger flow is booked at 08:00 exchange time of its session (or later)


class MissingFxRate(BrokerError):
    """A recorded flow in a currency the account has no rate for (``currency``): a setting
    to fix (``prices.fx_rates``), not a broker that failed."""

    def __init__(self, message: str, currency: str) -> None:
        super().__init__(message)
        self.currency = currency


@dataclass(slots=True)
class _Order:
    broker_order_id: int
    order_ref: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    currency: str
    placed_at: datetime
    status: OrderStatus = OrderStatus.SUBMITTED
    message: str = ""
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    fills: int = 0

    def view(self) -> BrokerOrder:
        return BrokerOrder(self.order_ref, str(self.broker_order_id), self.symbol, self.side, self.quantity,
                           self.order_type, self.status, self.filled_quantity, self.average_fill_price, self.message)


@dataclass(slots=True)
class _Holding:
    quantity: Decimal
    cost: Decimal  # quantity × average price paid, in the instrument's currency
    currency: str

    def apply(self, signed_quantity: Decimal, price: Decimal) -> None:
        after = self.quantity + signed_quantity
        if self.quantity == 0 or (self.quantity > 0) == (signed_quantity > 0):
            self.cost += signed_quantity * price
        elif after == 0 or (after > 0) == (self.quantity > 0):
            self.cost = self.cost * after / self.quantity
        else:  # through zero: what is left was opened at this price
            self.cost = after * price
        self.quantity = after

    @property
    def average_cost(self) -> Decimal:
        return self.cost / self.quantity if self.quantity else ZERO


class SimulatedBroker:
    """A simulated paper account (``is_paper`` True) behind the ``Broker`` port."""

    def __init__(
        self,
        engine: "Engine",
        market: SimMarket,
        *,
        account_id: str = "SIM0001",
        base_currency: str = "GBP",
        commission: CommissionModel | None = None,
        slippage: SlippageModel | None = None,
        fx_rates: Mapping[str, Decimal] | None = None,
        exchange_tz: tzinfo = timezone.utc,
        follow_ledger: bool = False,
        write_lock: WriteLock | None = None,
    ) -> None:
        self._market = market
        self._account_id = account_id
        self.base_currency = base_currency.upper()
        self.commission_model = commission or CommissionModel()
        self.slippage_model = slippage or SlippageModel()
        self._fx = {code.upper(): Decimal(rate) for code, rate in (fx_rates or {}).items()}
        self._fx[self.base_currency] = Decimal(1)
        self._tz = exchange_tz
        self._store = SimBookStore(engine, account_id, write_lock)
        self._orders: dict[str, _Order] = {}
        self._open: dict[int, _Order] = {}
        self._holdings: dict[str, _Holding] = {}
        self._held: list[tuple[str, _Holding]] | None = []  # the non-zero holdings by symbol; None: to sort again
        self._fills: list[Fill] = []
        self._fill_times: list[datetime] = []
        self._last_fill_price: dict[str, Decimal] = {}
        self._cash = ZERO
        self._now: datetime | None = None
        self._load()
        if follow_ledger:
            self._book_ledger_flows()

    @classmethod
    def from_config(
        cls,
        engine: "Engine",
        market: SimMarket,
        config: Any,
        base_currency: str,
        fx_rates: Mapping[str, Decimal] | None = None,
        exchange_tz: tzinfo = timezone.utc,
        write_lock: WriteLock | None = None,
    ) -> "SimulatedBroker":
        """From a ``SimBrokerConfig`` (account_id, seed, commission_rate, commission_min,
        slippage_bps): the workspace's paper account, following the ledger's flows."""
        return cls(
            engine, market, account_id=config.account_id, base_currency=base_currency,
            commission=CommissionModel(Decimal(config.commission_rate), Decimal(config.commission_min)),
            slippage=SlippageModel(Decimal(config.slippage_bps), int(config.seed)),
            fx_rates=fx_rates, exchange_tz=exchange_tz, follow_ledger=True, write_lock=write_lock,
        )

    # -- the Broker port ----------------------------------------------------------------

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def is_paper(self) -> bool:
        return True

    @property
    def now(self) -> datetime | None:
        """The simulated clock: the latest moment the broker was moved to."""
        return self._now

    @property
    def cash(self) -> Decimal:
        return self._cash

    def qualify(self, instruments: Sequence[Instrument]) -> dict[str, Instrument]:
        """Every instrument resolves; a missing contract id is pinned to a stable one."""
        qualified: dict[str, Instrument] = {}
        for instrument in instruments:
            con_id = instrument.ib.con_id or zlib.crc32(f"{instrument.symbol}:{instrument.currency}".encode()) or 1
            qualified[instrument.symbol] = replace(instrument, ib=replace(instrument.ib, con_id=con_id))
        return qualified

    def snapshot(self, as_of: datetime) -> AccountSnapshot:
        """The account as it stands, positions valued at the latest price at or before
        ``as_of`` (dated by the exchange session it is from; else the last fill price,
        undated), converted to base currency."""
        positions: list[Position] = []
        nav = self._cash
        last_mark, base = self._market.last_mark, self.base_currency
        dates: dict[datetime, date] = {}  # the positions' marks are mostly one close: its date found once
        held = self._held
        if held is None:
            held = self._held = sorted((s, h) for s, h in self._holdings.items() if h.quantity != 0)
        for symbol, holding in held:
            mark = last_mark(symbol, as_of)
            average_cost = holding.average_cost
            if mark:
                price, price_date = mark[1], dates.get(mark[0])
                if price_date is None:
                    price_date = dates[mark[0]] = mark[0].astimezone(self._tz).date()
            else:
                price, price_date = self._last_fill_price.get(symbol) or average_cost, None
            value = self._to_base(holding.quantity * price, holding.currency)
            positions.append(Position(symbol, holding.quantity, average_cost, price, value, holding.currency,
                                      price_date=price_date))
            nav += value
        return AccountSnapshot(self._account_id, True, as_of, as_of.astimezone(self._tz).date(), base,
                               nav, self._cash, tuple(positions))

    def executions_since(self, since: datetime) -> list[Fill]:
        """Fills executed at or after ``since``, oldest first, each with its commission."""
        return self._fills[bisect_left(self._fill_times, since):]

    def place_order(self, order: OrderRequest) -> BrokerOrder:
        existing = self._orders.get(order.order_ref)
        if existing is not None:
            raise OrderRejected(f"duplicate order_ref {order.order_ref}: already placed as order "
                                f"{existing.broker_order_id} ({existing.status.value}); not sent again",
                                DUPLICATE_ORDER_CODE)
        self._validate(order)
        record = _Order(self._next_order_id, order.order_ref, order.symbol, order.side, order.quantity,
                        order.order_type, order.limit_price, order.currency.upper(), self._clock())
        try:
            record.broker_order_id = self._store.insert_order(self._order_row(record))
        except DuplicateOrderRef as exc:
            raise OrderRejected(f"duplicate order_ref {order.order_ref}: the account's book has it already; "
                                "not sent again", DUPLICATE_ORDER_CODE) from exc
        self._next_order_id = record.broker_order_id + 1
        self._orders[record.order_ref] = record
        self._open[record.broker_order_id] = record
        return record.view()

    def open_orders(self) -> list[BrokerOrder]:
        return [record.view() for record in self._open.values()]

    def open_orders_placed(self) -> list[tuple[datetime, BrokerOrder]]:
        """The open orders with the moment each was placed (the simulated market settles
        each in its own session's auction)."""
        return [(record.placed_at, record.view()) for record in self._open.values()]

    def order(self, order_ref: str) -> BrokerOrder | None:
        record = self._orders.get(order_ref)
        return None if record is None else record.view()

    def cancel(self, order_ref: str) -> BrokerOrder:
        record = self._orders.get(order_ref)
        if record is None:
            raise OrderRejected(f"no order with order_ref {order_ref} to cancel", UNKNOWN_ORDER_CODE)
        if not record.status.is_terminal:
            self._close(record, OrderStatus.CANCELLED, "cancelled on request")
            self._store.record([], [(record.broker_order_id, record.status.value, record.message)])
        return record.view()

    def wait_for_terminal(self, order_refs: Sequence[str], timeout_seconds: float) -> list[BrokerOrder]:
        """Where the orders stand now: simulated time moves only with ``advance_to`` and
        ``on_session_close``, so there is nothing to wait for."""
        return [self._orders[ref].view() for ref in order_refs if ref in self._orders]

    def close(self) -> None:
        """Give back the database connection (the engine stays the caller's)."""
        self._store.close()

    def join_transaction(self, open_transaction: OpenTransaction) -> None:
        """Write the book inside the ledger writer's open transaction (``SimBookStore.join_transaction``):
        a backtest's, whose database is thrown away rather than recovered."""
        self._store.join_transaction(open_transaction)

    # -- cash ---------------------------------------------------------------------------

    def deposit(self, amount: Decimal, booked_at: datetime, note: str = "") -> Decimal:
        """Book an external flow in base currency (deposit > 0, withdrawal < 0); returns cash."""
        amount = Decimal(amount)
        if amount == 0:
            raise ValueError("a deposit or withdrawal of zero books nothing")
        if amount < 0 and -amount > self._cash:
            raise BrokerError(f"withdrawal of {-amount} {self.base_currency} exceeds the cash of {self._cash}")
        self._set_clock(booked_at)
        used = self._store.insert_cash({"id": self._next_cash_id, "amount": str(amount),
                                        "booked_at": stamp(booked_at), "note": note})
        self._next_cash_id = used + 1
        self._cash += amount
        return self._cash

    def withdraw(self, amount: Decimal, booked_at: datetime, note: str = "") -> Decimal:
        return self.deposit(-Decimal(amount), booked_at, note)

    def _book_ledger_flows(self) -> None:
        rows = self._store.book_ledger_flows(self._bookings)
        for row in rows:
            self._cash += Decimal(row["amount"])
            booked_at = parse_timestamp(row["booked_at"])
            self._now = booked_at if self._now is None else max(self._now, booked_at)
            self._next_cash_id = max(self._next_cash_id, int(row["id"]) + 1)

    def _bookings(self, flows: list[RecordedCashFlow], booked: set[str], next_id: int) -> list[dict[str, Any]]:
        """The ``sim_cash`` rows that bring the book in line with the ledger's flows."""
        rows: list[dict[str, Any]] = []
        now = self._now
        for recorded in flows:
            flow_key, void_key = f"flow:{recorded.seq}", f"void:{recorded.seq}"
            if recorded.voided:
                if flow_key not in booked or void_key in booked:
                    continue
                key, sign, note = void_key, -1, f"ledger flow {recorded.seq} voided by seq {recorded.voided_by}"
            elif flow_key not in booked:
                key, sign, note = flow_key, 1, f"ledger flow {recorded.seq}"
            else:
                continue
            flow = recorded.flow
            if flow.currency.upper() not in self._fx:
                raise MissingFxRate(f"ledger flow {recorded.seq} is in {flow.currency}, and the simulated account "
                                    f"{self._account_id} has no FX rate from it to {self.base_currency}",
                                    flow.currency.upper())
            opening = datetime.combine(flow.flow_date, FLOW_BOOKED_AT, tzinfo=self._tz).astimezone(timezone.utc)
            booked_at = opening if now is None else max(opening, now)
            rows.append({"id": next_id + len(rows), "amount": str(sign * self._to_base(flow.amount, flow.currency.upper())),
                         "booked_at": stamp(booked_at), "note": note, "flow_key": key})
        return rows

    # -- simulated time -------------------------------------------------------------------

    def advance_to(self, moment: datetime) -> list[Fill]:
        """Move the clock to ``moment``; fill market orders placed before it at the
        market's price at ``moment`` (plus slippage), and limit orders that price crosses."""
        self._set_clock(moment)
        if not self._open:
            return []
        fills: list[Fill] = []
        for record in list(self._open.values()):
            if record.placed_at >= moment or record.order_type is OrderType.MARKET_ON_CLOSE:
                continue
            price = self._market.last_price(record.symbol, moment)
            if price is not None:
                self._try_fill(record, price, moment, fills)
        self._persist(fills)
        return fills

    def on_session_close(self, session_date: date, closed_at: datetime) -> list[Fill]:
        """The closing auction of ``session_date`` at ``closed_at``: market-on-close orders
        fill at the close; market orders still open fill there too; limit orders fill if
        the close crosses them. What is left expires (DAY orders). Only orders placed by
        ``closed_at`` take part. An auction run late (its closing prices came after a cash
        flow the account booked later) leaves the clock where it is."""
        if self._now is None or closed_at >= self._now:
            self._set_clock(closed_at)
        if not self._open:
            return []
        fills: list[Fill] = []
        expired: list[_Order] = []
        for record in [r for r in self._open.values() if r.placed_at <= closed_at]:
            close = self._market.session_close(record.symbol, session_date)
            if close is not None:
                self._try_fill(record, close, closed_at, fills)
            if not record.status.is_terminal:
                why = "no closing price" if close is None else "not filled"
                self._close(record, OrderStatus.CANCELLED, f"expired at the close of {session_date} ({why}; DAY order)")
                expired.append(record)
        self._persist(fills, expired)
        return fills

    # -- internals ------------------------------------------------------------------------

    def _validate(self, order: OrderRequest) -> None:
        def refuse(why: str) -> OrderRejected:
            return OrderRejected(f"order {order.order_ref} rejected: {why}", REJECTED_ORDER_CODE)

        if order.quantity <= 0:
            raise refuse(f"quantity must be positive, got {order.quantity}")
        if order.order_type is OrderType.LIMIT and (order.limit_price is None or order.limit_price <= 0):
            raise refuse("a limit order needs a positive limit_price")
        if order.currency.upper() not in self._fx:
            raise refuse(f"no FX rate from {order.currency} to the base currency {self.base_currency}")

    def _clock(self) -> datetime:
        if self._now is None:
            raise BrokerError("the simulated broker's clock has not started: call advance_to(moment) first")
        return self._now

    def _set_clock(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: give it a timezone")
        if self._now is not None and moment < self._now:
            raise ValueError(f"simulated time cannot go back from {self._now.isoformat()} to {moment.isoformat()}")
        self._now = moment

    def _to_base(self, amount: Decimal, currency: str) -> Decimal:
        return amount if currency == self.base_currency else amount * self._fx[currency]

    def _try_fill(self, record: _Order, price: Decimal, at: datetime, fills: list[Fill]) -> None:
        number = record.fills + 1
        fill_price = self.slippage_model.fill_price(price, record.side, f"{self._account_id}:{record.broker_order_id}:{number}")
        if record.order_type is OrderType.LIMIT:
            assert record.limit_price is not None
            crossed = price <= record.limit_price if record.side is Side.BUY else price >= record.limit_price
            if not crossed:
                return
            bound = min if record.side is Side.BUY else max
            fill_price = bound(fill_price, record.limit_price)
        quantity = record.quantity - record.filled_quantity
        commission = self.commission_model.commission(self._to_base(quantity * fill_price, record.currency))
        fill = Fill(f"SIM-{record.broker_order_id}-{number}", record.order_ref, record.symbol, record.side, quantity,
                    fill_price, record.currency, at, commission, self.base_currency, None, self._account_id)
        self._book(fill)
        record.fills = number
        record.filled_quantity += quantity
        record.average_fill_price = fill_price
        self._close(record, OrderStatus.FILLED, "")
        fills.append(fill)

    def _book(self, fill: Fill) -> None:
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        holding = self._holdings.get(fill.symbol)
        if holding is None:
            holding = self._holdings[fill.symbol] = _Holding(ZERO, ZERO, fill.currency)
        holding.apply(signed, fill.price)
        self._held = None
        self._cash -= self._to_base(signed * fill.price, fill.currency) + (fill.commission or ZERO)
        self._last_fill_price[fill.symbol] = fill.price
        if self._fill_times and fill.executed_at < self._fill_times[-1]:  # an auction settled late
            at = bisect_right(self._fill_times, fill.executed_at)
            self._fills.insert(at, fill)
            self._fill_times.insert(at, fill.executed_at)
        else:
            self._fills.append(fill)
            self._fill_times.append(fill.executed_at)

    def _close(self, record: _Order, status: OrderStatus, message: str) -> None:
        record.status, record.message = status, message
        self._open.pop(record.broker_order_id, None)

    def _persist(self, fills: list[Fill], also_changed: Sequence[_Order] = ()) -> None:
        changed = {fill.order_ref: self._orders[fill.order_ref] for fill in fills}
        changed.update((record.order_ref, record) for record in also_changed)
        self._store.record(
            [self._execution_row(fill) for fill in fills],
            [(record.broker_order_id, record.status.value, record.message) for record in changed.values()],
        )

    @staticmethod
    def _order_row(record: _Order) -> dict[str, Any]:
        return {
            "broker_order_id": record.broker_order_id, "order_ref": record.order_ref, "symbol": record.symbol,
            "side": record.side.value, "quantity": str(record.quantity), "order_type": record.order_type.value,
            "limit_price": None if record.limit_price is None else str(record.limit_price),
            "currency": record.currency, "status": record.status.value, "placed_at": stamp(record.placed_at),
            "message": record.message,
        }

    def _execution_row(self, fill: Fill) -> dict[str, Any]:
        return {
            "exec_id": fill.exec_id, "broker_order_id": self._orders[fill.order_ref].broker_order_id,
            "order_ref": fill.order_ref, "symbol": fill.symbol, "side": fill.side.value,
            "quantity": str(fill.quantity), "price": str(fill.price), "currency": fill.currency,
            "commission": str(fill.commission), "executed_at": stamp(fill.executed_at),
        }

    def _load(self) -> None:
        rows = self._store.load()
        self._next_order_id, self._next_cash_id = rows.next_order_id, rows.next_cash_id
        moments: list[datetime] = []
        by_id: dict[int, _Order] = {}
        for row in rows.orders:
            record = _Order(
                int(row["broker_order_id"]), row["order_ref"], row["symbol"], Side(row["side"]),
                Decimal(row["quantity"]), OrderType(row["order_type"]), decimal_or_none(row["limit_price"]),
                row["currency"], parse_timestamp(row["placed_at"]), OrderStatus(row["status"]), row["message"],
            )
            by_id[record.broker_order_id] = record
            self._orders[record.order_ref] = record
            if not record.status.is_terminal:
                self._open[record.broker_order_id] = record
            moments.append(record.placed_at)
        fills = sorted(
            (Fill(row["exec_id"], row["order_ref"], row["symbol"], Side(row["side"]), Decimal(row["quantity"]),
                  Decimal(row["price"]), row["currency"], parse_timestamp(row["executed_at"]),
                  Decimal(row["commission"]), self.base_currency, None, self._account_id)
             for row in rows.executions),
            key=lambda fill: (fill.executed_at, fill.exec_id),
        )
        for row in rows.cash:
            self._cash += Decimal(row["amount"])
            moments.append(parse_timestamp(row["booked_at"]))
        for fill in fills:
            if fill.currency not in self._fx:
                raise BrokerError(f"simulated account {self._account_id} holds {fill.symbol} in {fill.currency} "
                                  "but no FX rate for it was given")
            self._book(fill)
            record = self._orders.get(fill.order_ref)
            if record is not None:
                record.fills += 1
                record.filled_quantity += fill.quantity
                record.average_fill_price = fill.price
            moments.append(fill.executed_at)
        self._now = max(moments) if moments else None
