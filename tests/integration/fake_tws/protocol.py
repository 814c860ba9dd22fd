"""The TWS socket protocol, server side, at one pinned server version.

Wire format (both directions after the handshake): a 4-byte big-endian length, then
NUL-terminated ASCII fields. The client opens with ``API\\0`` followed by one framed
``v<min>..<max>`` string; the server answers with one framed message of two fields
(server version, connection time) and then expects ``startApi`` (msg 71).

Field orders follow ib_async 2.1.0's ``decoder.py`` for ``SERVER_VERSION`` = 178,
which is ib_async's ``Client.MaxClientVersion``: a current TWS or IB Gateway negotiates
exactly this version with ib_async 2.1.0, so the fake speaks what production speaks.
Consequences of 178 visible below: no version field in contractDetails (>= 164),
``advancedOrderRejectJson`` in errors (>= 166), no ``faProfile`` in orders (>= 177),
``pendingPriceRevision`` at the end of execDetails (>= 178).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

SERVER_VERSION = 178
UNSET_DOUBLE = "1.7976931348623157E308"  # what TWS writes for "no value" doubles
UNSET_INTEGER = "2147483647"


class In:
    """Message ids the client sends (ib_async ``client.py``)."""

    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCOUNT_UPDATES = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DETAILS = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_CURRENT_TIME = 49
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_COMPLETED_ORDERS = 99


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def encode(fields: Iterable[object]) -> bytes:
    """One framed message; every field is NUL-terminated."""
    return frame(b"".join(_text(f).encode() + b"\0" for f in fields))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def decode(payload: bytes) -> list[str]:
    fields = payload.decode(errors="backslashreplace").split("\0")
    return fields[:-1] if fields and fields[-1] == "" else fields


def parse_version_range(text: str) -> tuple[int, int]:
    """``v157..178`` (optionally followed by connect options) -> (157, 178)."""
    spec = text.split(" ", 1)[0].lstrip("v")
    low, _, high = spec.partition("..")
    return int(low), int(high or low)


def ib_time(moment: datetime, zone: str) -> str:
    """TWS datetime text ``YYYYMMDD HH:MM:SS Zone/Name`` as sent in execDetails."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%Y%m%d %H:%M:%S} {zone}"


# ---------------------------------------------------------------- value objects


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """A listing the fake knows: what reqContractDetails resolves to."""

    con_id: int
    symbol: str
    exchange: str
    primary_exchange: str
    currency: str
    long_name: str
    price: Decimal
    close_price: Decimal
    sec_type: str = "STK"
    local_symbol: str = ""
    trading_class: str = ""
    min_tick: str = "0.01"
    price_magnifier: int = 1
    order_types: str = (
        "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,"
        "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,LOC,MIT,MKT,MOC,MTL,NONALGO,"
        "OCA,PEGBENCH,REL,RELPCTOFS,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,"
        "TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
    )
    time_zone: str = "Europe/London"


def contract_fields(c: ContractSpec, exchange: str | None = None) -> list[object]:
    """conId..tradingClass as in execDetails, position and openOrder."""
    return [
        c.con_id, c.symbol, c.sec_type, "", "0", "", "",
        exchange if exchange is not None else c.exchange,
        c.currency, c.local_symbol or c.symbol, c.trading_class or c.symbol,
    ]


# ---------------------------------------------------------------- outgoing messages


def next_valid_id(order_id: int) -> bytes:
    return encode([9, 1, order_id])


def managed_accounts(accounts: Iterable[str]) -> bytes:
    return encode([15, 1, ",".join(accounts)])


def error(req_id: int, code: int, text: str, advanced_json: str = "") -> bytes:
    return encode([4, 2, req_id, code, text, advanced_json])


def current_time(epoch_seconds: int) -> bytes:
    return encode([49, 1, epoch_seconds])


def contract_details(req_id: int, c: ContractSpec) -> bytes:
    return encode([
        10, req_id, c.symbol, c.sec_type, "", "0", "", c.exchange, c.currency,
        c.local_symbol or c.symbol, c.trading_class or c.symbol, c.trading_class or c.symbol,
        c.con_id, c.min_tick,
        "",  # multiplier
        c.order_types,
        f"SMART,{c.primary_exchange},CHIXUK,BATEUK,TRQXUK",
        c.price_magnifier,
        0,  # underConId
        c.long_name,
        c.primary_exchange,
        "", "", "", "",  # contractMonth, industry, category, subcategory
        c.time_zone,
        "20240115:0800-20240115:1630;20240116:0800-20240116:1630",
        "20240115:0800-20240115:1630;20240116:0800-20240116:1630",
        "", "",  # evRule, evMultiplier
        1, "ISIN", f"IE00FAKE{c.con_id:04d}"[:12],  # numSecIds then tag/value pairs
        1, "", "", "26,26", "", "ETF",  # aggGroup..stockType
        "1", "1", "1",  # minSize, sizeIncrement, suggestedSizeIncrement
    ])


def contract_details_end(req_id: int) -> bytes:
    return encode([52, 1, req_id])


def position(account: str, c: ContractSpec, quantity: Decimal, avg_cost: Decimal) -> bytes:
    return encode([61, 3, account, *contract_fields(c), quantity, avg_cost])


def position_end() -> bytes:
    return encode([62, 1])


def account_value(tag: str, value: object, currency: str, account: str) -> bytes:
    return encode([6, 2, tag, value, currency, account])


def portfolio_value(
    account: str, c: ContractSpec, quantity: Decimal, price: Decimal, value: Decimal, avg_cost: Decimal,
    shown: Mapping[str, str] | None = None,
) -> bytes:
    """``shown`` replaces fields' text as sent (keys ``quantity``, ``market_price``,
    ``market_value``, ``average_cost``): a gateway sending garbage."""
    unrealized = value - quantity * avg_cost
    text = {"quantity": quantity, "market_price": price, "market_value": value, "average_cost": avg_cost,
            **(shown or {})}
    return encode([
        7, 8, c.con_id, c.symbol, c.sec_type, "", "0", "", "", c.primary_exchange,
        c.currency, c.local_symbol or c.symbol, c.trading_class or c.symbol,
        text["quantity"], text["market_price"], text["market_value"], text["average_cost"], unrealized, "0", account,
    ])


def account_time(hh_mm: str) -> bytes:
    return encode([8, 1, hh_mm])


def account_download_end(account: str) -> bytes:
    return encode([54, 1, account])


def account_update_multi(req_id: int, account: str, tag: str, value: object, currency: str) -> bytes:
    return encode([73, 1, req_id, account, "", tag, value, currency])


def account_update_multi_end(req_id: int) -> bytes:
    return encode([74, 1, req_id])


def account_summary(req_id: int, account: str, tag: str, value: object, currency: str) -> bytes:
    return encode([63, 1, req_id, account, tag, value, currency])


def account_summary_end(req_id: int) -> bytes:
    return encode([64, 1, req_id])


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    account: str
    side: str  # BOT / SLD
    shares: Decimal
    price: Decimal
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    time_text: str
    exchange: str


def exec_details(req_id: int, c: ContractSpec, e: ExecutionRow) -> bytes:
    return encode([
        11, req_id, e.order_id, *contract_fields(c),
        e.exec_id, e.time_text, e.account, e.exchange, e.side, e.shares, e.price,
        e.perm_id, e.client_id, 0, e.cum_qty, e.avg_price, e.order_ref,
        "", "", "",  # evRule, evMultiplier, modelCode
        2,  # lastLiquidity: removed liquidity
        0,  # pendingPriceRevision (server >= 178)
    ])


def exec_details_end(req_id: int) -> bytes:
    return encode([55, 1, req_id])


def commission_report(exec_id: str, commission: Decimal | str, currency: str) -> bytes:
    return encode([59, 1, exec_id, commission, currency, UNSET_DOUBLE, UNSET_DOUBLE, ""])


def order_status(
    order_id: int, status: str, filled: Decimal, remaining: Decimal, avg_price: Decimal,
    perm_id: int, last_price: Decimal, client_id: int, why_held: str = "",
) -> bytes:
    return encode([
        3, order_id, status, filled, remaining, avg_price, perm_id, 0, last_price,
        client_id, why_held, "0",
    ])


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: int
    client_id: int
    perm_id: int
    account: str
    action: str
    quantity: Decimal
    order_type: str
    limit_price: str  # already a protocol string (UNSET_DOUBLE when none)
    tif: str
    order_ref: str
    status: str
    filled: Decimal
    completed_time: str = ""
    completed_status: str = ""


def open_order(c: ContractSpec, o: OrderRow) -> bytes:
    return encode([
        5, o.order_id, *contract_fields(c, exchange="SMART"),
        o.action, o.quantity, o.order_type, o.limit_price, UNSET_DOUBLE, o.tif, "",
        o.account, "O", 0, o.order_ref, o.client_id, o.perm_id, 0, 0, "0", "",
        "",  # sharesAllocation (deprecated, skipped by the decoder)
        "", "", "",  # faGroup, faMethod, faPercentage (no faProfile at >= 177)
        "", "", "", UNSET_DOUBLE, "", 0, "", -1, 0,  # modelCode..auctionStrategy
        UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE,
        0, 0, 0, 0, UNSET_INTEGER, 0, 0, 0, UNSET_DOUBLE, 0, 0,  # displaySize..triggerMethod
        UNSET_DOUBLE, UNSET_INTEGER, "", UNSET_DOUBLE,  # volatility.., deltaNeutralOrderType empty
        0, UNSET_INTEGER, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_INTEGER, "",
        0, 0, 0,  # combo legs, order combo legs, smart combo routing params
        UNSET_INTEGER, UNSET_INTEGER, "",  # scale init/subs level, price increment empty
        "",  # hedgeType
        0, "", "", 0, 0,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, dnc
        "",  # algoStrategy
        0, 0, o.status, "", "", "", "", "", "", "", "", "",
        UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, "", "", 0, 0,
        0,  # conditions
        "", UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE,
        UNSET_DOUBLE, 0, "", "", "", UNSET_DOUBLE, 0, 0, 0, 0,
        UNSET_INTEGER, UNSET_INTEGER, 0,  # duration, postToAts, autoCancelParent
        UNSET_INTEGER, UNSET_INTEGER, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE,
    ])


def open_order_end() -> bytes:
    return encode([53, 1])


def completed_order(c: ContractSpec, o: OrderRow) -> bytes:
    return encode([
        101, *contract_fields(c, exchange="SMART"),
        o.action, o.quantity, o.order_type, o.limit_price, UNSET_DOUBLE, o.tif, "",
        o.account, "O", 0, o.order_ref, o.perm_id, 0, 0, "0", "",
        "", "", "",  # faGroup, faMethod, faPercentage
        "", "", "", UNSET_DOUBLE, "", 0, "", -1,  # modelCode..exemptCode
        UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE,
        0, 0, 0, UNSET_INTEGER, 0, 0,  # displaySize..triggerMethod
        UNSET_DOUBLE, UNSET_INTEGER, "", UNSET_DOUBLE,
        0, UNSET_INTEGER, UNSET_DOUBLE, UNSET_DOUBLE, "",
        0, 0, 0,
        UNSET_INTEGER, UNSET_INTEGER, "",
        "",  # hedgeType
        "", "", 0, 0,  # clearingAccount, clearingIntent, notHeld, dnc
        "",  # algoStrategy
        0, o.status, 0, 0,
        0,  # conditions
        UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, 0, 0, "", o.filled, 0, 0, "", 0, 0, 0,
        o.completed_time, o.completed_status,
        UNSET_INTEGER, UNSET_INTEGER, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE,
    ])


def completed_orders_end() -> bytes:
    return encode([102])


# ---------------------------------------------------------------- incoming requests


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: int
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    action: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    transmit: bool


def parse_place_order(f: list[str]) -> PlacedOrder:
    """Fields of msg 3: id, 12 contract fields, secIdType, secId, then the order."""
    return PlacedOrder(
        order_id=int(f[1]),
        con_id=int(f[2] or 0),
        symbol=f[3],
        sec_type=f[4],
        exchange=f[9],
        primary_exchange=f[10],
        currency=f[11],
        action=f[16],
        quantity=Decimal(f[17]),
        order_type=f[18],
        limit_price=Decimal(f[19]) if f[19] else None,
        tif=f[21],
        account=f[23],
        order_ref=f[26],
        transmit=f[27] != "0",
    )


@dataclass(frozen=True, slots=True)
class ContractQuery:
    req_id: int
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str


def parse_contract_query(f: list[str]) -> ContractQuery:
    """Fields of msg 9: version 8, reqId, then the 12 contract fields."""
    return ContractQuery(
        req_id=int(f[2]),
        con_id=int(f[3] or 0),
        symbol=f[4],
        sec_type=f[5],
        exchange=f[10],
        primary_exchange=f[11],
        currency=f[12],
    )


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str


def parse_execution_query(f: list[str]) -> ExecutionQuery:
    return ExecutionQuery(
        req_id=int(f[2]), client_id=int(f[3] or 0), account=f[4], time=f[5], symbol=f[6]
    )
