"""What ``verify`` checks in the two stores outside the chain: the price store
(``prices``) and the simulated broker's book (``sim_orders``, ``sim_executions``).

Neither is a projection of events (the bars are too many to keep in the chain; the book
is the counterparty's state, like IB's servers), so each is checked against what the
events recorded about it:

- prices: every stored bar must come from a recorded batch (its ``fetched_at`` and
  ``source`` name a ``prices.updated`` event); a batch whose bars are all still stored must
  hash to the event's ``sha256``; every price point a ``signal.computed`` used must still
  be stored with the value the signal recorded, unless a later recorded batch re-fetched
  it (a re-adjusted history).
- the simulated book: every order and execution must belong to an ``order.submitted`` of
  the same symbol and side, executions adding up to no more than its quantity, and every
  simulated ``fill.recorded`` must equal its execution.

Not covered, and said so in docs/ledger.md: a bar of a batch that was partly overwritten
later and that no signal used; ``sim_cash`` (the simulated account's cash).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PriceBatch:
    seq: int
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class SignalPoint:
    seq: int
    recorded_at: str
    symbol: str
    session_date: str
    adj_close: float


@dataclass(frozen=True, slots=True)
class SubmittedOrder:
    seq: int
    symbol: str
    side: str
    quantity: Decimal


@dataclass
class StoreEvidence:
    """What the events say about the stores, collected as ``verify`` streams the chain."""

    batches: dict[tuple[str, str], list[PriceBatch]] = field(default_factory=lambda: defaultdict(list))
    signal_points: list[SignalPoint] = field(default_factory=list)
    orders: dict[str, SubmittedOrder] = field(default_factory=dict)
    fills: dict[str, tuple[int, Row]] = field(default_factory=dict)

    def see(self, event: StoredEvent) -> None:
        if event.kind == kinds.PRICES_UPDATED:
            data = json.loads(event.payload)
            key = (str(data.get("fetched_at")), str(data.get("source")))
            self.batches[key].append(PriceBatch(event.seq, int(data.get("rows", 0)), str(data.get("sha256", ""))))
        elif event.kind == kinds.SIGNAL_COMPUTED:
            for rank in json.loads(event.payload).get("ranks", []):
                for day, value in ((rank["start_date"], rank["start_close"]), (rank["end_date"], rank["end_close"])):
                    self.signal_points.append(SignalPoint(event.seq, event.recorded_at, rank["symbol"], day, float(value)))
        elif event.kind == kinds.ORDER_SUBMITTED:
            data = json.loads(event.payload)
            if data["order_ref"] not in self.orders:
                self.orders[data["order_ref"]] = SubmittedOrder(event.seq, data["symbol"], data["side"],
                                                                _decimal(data["quantity"]))
        elif event.kind == kinds.FILL_RECORDED:
            data = json.loads(event.payload)
            if data.get("simulated"):
                self.fills.setdefault(data["exec_id"], (event.seq, data))


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("NaN")


def bars_sha256(rows: list[Row]) -> str:
    """``trackrecord.market.service.rows_sha256`` over stored rows."""
    lines = sorted(f"{r['symbol']},{r['session_date']},{r['close']!r},{float(r['adj_close'])!r}\n" for r in rows)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def price_problems(evidence: StoreEvidence, prices: list[Row]) -> list[tuple[int | None, str]]:
    problems: list[tuple[int | None, str]] = []
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in prices:
        groups[(str(row["fetched_at"]), str(row["source"]))].append(row)
    for (fetched_at, source), rows in sorted(groups.items()):
        batches = evidence.batches.get((fetched_at, source))
        if not batches:
            first = min(rows, key=lambda r: (r["symbol"], r["session_date"]))
            problems.append((None, f"prices: {len(rows)} bar(s) (e.g. {first['symbol']} {first['session_date']}) "
                                   f"fetched_at {fetched_at} from {source} match no prices.updated event"))
            continue
        if len(batches) != 1:
            continue  # two batches in one instant: provenance only
        batch = batches[0]
        if len(rows) > batch.rows:
            problems.append((batch.seq, f"prices: {len(rows)} bars carry the stamp of prices.updated seq {batch.seq}, "
                                        f"which wrote {batch.rows}"))
        elif len(rows) == batch.rows and batch.sha256 and bars_sha256(rows) != batch.sha256:
            symbols = sorted({r["symbol"] for r in rows})
            problems.append((batch.seq, f"prices: the bars stored from prices.updated seq {batch.seq} "
                                        f"({', '.join(symbols[:5])}{'…' if len(symbols) > 5 else ''}) "
                                        "no longer hash to its sha256: the prices table was edited"))
    problems.extend(_signal_point_problems(evidence, prices))
    return problems


def _signal_point_problems(evidence: StoreEvidence, prices: list[Row]) -> list[tuple[int | None, str]]:
    stored = {(r["symbol"], r["session_date"]): r for r in prices}
    batch_seq = {key: max(b.seq for b in batches) for key, batches in evidence.batches.items()}
    problems: list[tuple[int | None, str]] = []
    for point in evidence.signal_points:
        row = stored.get((point.symbol, point.session_date))
        if row is None:
            problems.append((point.seq, f"prices: signal.computed seq {point.seq} used {point.symbol} "
                                        f"{point.session_date}, which is no longer stored"))
            continue
        if float(row["adj_close"]) == point.adj_close:
            continue
        refetched = batch_seq.get((str(row["fetched_at"]), str(row["source"])), 0) > point.seq
        if not refetched:
            problems.append((point.seq, f"prices: {point.symbol} {point.session_date} adj_close {row['adj_close']!r} "
                                        f"differs from {point.adj_close!r} that signal.computed seq {point.seq} used"))
    return problems


def book_problems(evidence: StoreEvidence, orders: list[Row], executions: list[Row]) -> list[tuple[int | None, str]]:
    problems: list[tuple[int | None, str]] = []
    for row in orders:
        submitted = evidence.orders.get(row["order_ref"])
        where = f"sim_orders broker_order_id {row['broker_order_id']} ({row['order_ref']})"
        if submitted is None:
            problems.append((None, f"{where}: no order.submitted event has this order_ref"))
        elif (row["symbol"], row["side"], _decimal(row["quantity"])) != (submitted.symbol, submitted.side,
                                                                           submitted.quantity):
            problems.append((submitted.seq, f"{where}: {row['side']} {row['quantity']} {row['symbol']} differs from "
                                            f"order.submitted seq {submitted.seq} ({submitted.side} "
                                            f"{submitted.quantity} {submitted.symbol})"))
    filled: dict[str, Decimal] = defaultdict(Decimal)
    executed: set[str] = set()
    for row in executions:
        executed.add(row["exec_id"])
        where = f"sim_executions {row['exec_id']} ({row['order_ref']})"
        submitted = evidence.orders.get(row["order_ref"])
        if submitted is None:
            problems.append((None, f"{where}: no order.submitted event has this order_ref"))
            continue
        filled[row["order_ref"]] += _decimal(row["quantity"])
        if (row["symbol"], row["side"]) != (submitted.symbol, submitted.side):
            problems.append((submitted.seq, f"{where}: {row['side']} {row['symbol']} differs from order.submitted "
                                            f"seq {submitted.seq} ({submitted.side} {submitted.symbol})"))
        recorded = evidence.fills.get(row["exec_id"])
        if recorded is not None:
            seq, data = recorded
            if (_decimal(row["quantity"]), _decimal(row["price"])) != (_decimal(data["quantity"]), _decimal(data["price"])):
                problems.append((seq, f"{where}: {row['quantity']} at {row['price']} differs from fill.recorded "
                                      f"seq {seq} ({data['quantity']} at {data['price']})"))
    for order_ref, quantity in sorted(filled.items()):
        submitted = evidence.orders[order_ref]
        if quantity > submitted.quantity:
            problems.append((submitted.seq, f"sim_executions of {order_ref}: {quantity} executed, more than the "
                                            f"{submitted.quantity} of order.submitted seq {submitted.seq}"))
    accounts = {row["account_id"] for row in executions} | {row["account_id"] for row in orders}
    for exec_id, (seq, data) in sorted(evidence.fills.items(), key=lambda item: item[1][0]):
        if data.get("account_id") in accounts and exec_id not in executed:
            problems.append((seq, f"fill.recorded seq {seq} ({exec_id}) is missing from sim_executions"))
    return problems
