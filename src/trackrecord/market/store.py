"""The price store: the ``prices`` table with provenance (source, fetched at).

Prices sit outside the hash chain; what a signal used is hashed into its event, and every
batch written is summarised by a ``prices.updated`` event (see market.service). A later
fetch of the same (symbol, session date) replaces the stored bar.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from trackrecord.ledger.canonical import format_timestamp
from trackrecord.ledger.schema import prices
from trackrecord.ledger.sql import execute_many, fetch_all, param, positional_insert_sql
from trackrecord.market.base import PriceRow, PriceSeries

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def store_prices(conn: "Connection", rows: Iterable[PriceRow], source: str, fetched_at: datetime) -> int:
    """Insert or replace bars inside the caller's transaction; returns how many were written.

    ``fetched_at`` must be timezone-aware. Refuses a NaN or infinite adjusted close (a
    source must drop such bars; the quality gates then see the hole).
    """

    stamp = format_timestamp(fetched_at)
    isfinite = math.isfinite
    records = []
    last: dict[str, str] = {}
    days: dict[date, str] = {}  # a session's bars share their date: formatted once
    for row in rows:
        adj = row.adj_close
        if not isfinite(adj):
            raise ValueError(f"{row.symbol} {row.session_date}: adjusted close {adj!r} cannot be stored")
        close = row.close
        day = days.get(row.session_date)
        if day is None:
            day = days[row.session_date] = row.session_date.isoformat()
        records.append((row.symbol, day, None if close is None or not isfinite(close) else float(close), float(adj),
                        source, stamp))
        if day > last.get(row.symbol, ""):
            last[row.symbol] = day
    if not records:
        return 0

    statement = _upsert_bars_sql(conn.dialect.name)
    for offset in range(0, len(records), 5000):
        execute_many(conn, statement, records[offset:offset + 5000])  # type: ignore[arg-type]
    _stored_through(conn, last)
    return len(records)


@lru_cache(maxsize=4)
def _upsert_bars_sql(dialect: str) -> str:
    """The bars' upsert with positional parameters (a tuple a bar: cheaper than a dict)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in _PRICE_COLUMNS[2:])
    return (f"{positional_insert_sql(dialect, prices.name, _PRICE_COLUMNS)} "
            f"ON CONFLICT (symbol, session_date) DO UPDATE SET {updates}")


_PRICE_COLUMNS = ("symbol", "session_date", "close", "adj_close", "source", "fetched_at")
_LAST_STORED = "trackrecord.prices.last_stored"  # Connection.info: (transaction, symbol -> last stored day)


def _known_last_stored(conn: "Connection", symbols: Iterable[str]) -> dict[str, str]:
    """Each symbol's last stored session (ISO text, "" when none) as the open transaction
    knows it: read once per transaction and symbol, then kept by ``store_prices``. Sound
    because every bar is written under the single-writer lock the transaction holds."""
    transaction = conn.get_transaction()
    held = conn.info.get(_LAST_STORED)
    if transaction is None:  # no transaction to scope what is known to: read every time
        held = (None, {})
    elif held is None or held[0] is not transaction:
        held = (transaction, {})
        conn.info[_LAST_STORED] = held
    known: dict[str, str] = held[1]
    missing = [s for s in symbols if s not in known]
    if missing:
        found = last_stored_dates(conn, sorted(set(missing)))
        known.update({s: found[s].isoformat() if s in found else "" for s in missing})
    return known


def _stored_through(conn: "Connection", last: dict[str, str]) -> None:
    """Keep the open transaction's last stored sessions (only of symbols it has read)."""
    held = conn.info.get(_LAST_STORED)
    if held is None or held[0] is None or held[0] is not conn.get_transaction():
        return
    known = held[1]
    for symbol, day in last.items():
        if symbol in known and day > known[symbol]:
            known[symbol] = day


def replaced_bars(conn: "Connection", rows: Sequence[PriceRow]) -> list[dict[str, Any]]:
    """The stored bars that writing ``rows`` will replace, each with its stamp (source,
    fetched_at) and its prices as exact text (``repr``): the ``replaced`` list of the new
    ``prices.updated`` event, so ``verify`` can still hash a batch a later one overwrote
    in part (``trackrecord.ledger.stores_check``)."""
    earliest: dict[str, date] = {}
    for row in rows:
        day = earliest.get(row.symbol)
        if day is None or row.session_date < day:
            earliest[row.symbol] = row.session_date
    if not earliest:
        return []
    last = _known_last_stored(conn, earliest)
    if all(day.isoformat() > last[symbol] for symbol, day in earliest.items()):
        return []  # every bar after its symbol's last stored one: none to replace
    keys = {(r.symbol, r.session_date.isoformat()) for r in rows}
    symbols = sorted(earliest)
    days = sorted(day for _, day in keys)
    dialect = conn.dialect.name
    params: dict[str, Any] = {f"s{i}": symbol for i, symbol in enumerate(symbols)} | {"first": days[0], "last": days[-1]}
    sql = (f"SELECT symbol, session_date, close, adj_close, source, fetched_at FROM {prices.name} "
           f"WHERE symbol IN ({', '.join(param(dialect, f's{i}') for i in range(len(symbols)))}) "
           f"AND session_date >= {param(dialect, 'first')} AND session_date <= {param(dialect, 'last')} "
           "ORDER BY symbol, session_date")
    _, found = fetch_all(conn, sql, params)  # the driver's own cursor: one per replayed session, kept cheap
    return [{"symbol": symbol, "session_date": day, "close": None if close is None else repr(float(close)),
             "adj_close": repr(float(adj)), "source": source, "fetched_at": fetched_at}
            for symbol, day, close, adj, source, fetched_at in found if (symbol, day) in keys]


def load_prices(
    conn_or_engine: "Connection | Engine", symbols: Sequence[str], until: date | None = None,
    since: date | None = None,
) -> dict[str, PriceSeries]:
    """Stored bars per symbol (every symbol asked is a key; empty arrays when none),
    ``since <= session_date <= until`` for the bounds given, as numpy arrays (see PriceSeries)."""
    from sqlalchemy import select

    query = select(prices.c.symbol, prices.c.session_date, prices.c.adj_close, prices.c.close).where(
        prices.c.symbol.in_(list(symbols))).order_by(prices.c.symbol, prices.c.session_date)
    if until is not None:
        query = query.where(prices.c.session_date <= until.isoformat())
    if since is not None:
        query = query.where(prices.c.session_date >= since.isoformat())
    grouped: dict[str, list[tuple[str, float, float | None]]] = defaultdict(list)
    for symbol, day, adj, close in _rows(conn_or_engine, query):
        grouped[symbol].append((day, adj, close))
    return {symbol: _series(symbol, grouped.get(symbol, [])) for symbol in symbols}


def last_stored_dates(conn_or_engine: "Connection | Engine", symbols: Sequence[str]) -> dict[str, date]:
    """The last stored session per symbol (symbols without bars are absent)."""
    from sqlalchemy.engine import Engine

    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return last_stored_dates(conn, symbols)
    # a MAX a symbol is one seek down the primary key; a GROUP BY over them scans every bar
    sql = f"SELECT MAX(session_date) FROM {prices.name} WHERE symbol = {param(conn_or_engine.dialect.name, 'symbol')}"
    found = {symbol: fetch_all(conn_or_engine, sql, {"symbol": symbol})[1][0][0] for symbol in dict.fromkeys(symbols)}
    return {symbol: date.fromisoformat(day) for symbol, day in found.items() if day}


def stored_symbols(conn_or_engine: "Connection | Engine") -> list[str]:
    """Every symbol with at least one stored bar, sorted."""
    from sqlalchemy import select

    return [s for (s,) in _rows(conn_or_engine, select(prices.c.symbol).distinct().order_by(prices.c.symbol))]


def price_sources(conn_or_engine: "Connection | Engine", symbol: str) -> list[tuple[str, str, int]]:
    """(source, last fetched at, bars) for one symbol: its provenance."""
    from sqlalchemy import func, select

    query = select(prices.c.source, func.max(prices.c.fetched_at), func.count()).where(
        prices.c.symbol == symbol).group_by(prices.c.source)
    return [(s, f, int(n)) for s, f, n in _rows(conn_or_engine, query)]


def any_synthetic(conn_or_engine: "Connection | Engine", symbols: Sequence[str]) -> bool:
    """Whether any stored bar of the symbols came from the synthetic market."""
    from sqlalchemy import select

    query = select(prices.c.symbol).where(prices.c.symbol.in_(list(symbols)), prices.c.source == "synthetic").limit(1)
    return bool(_rows(conn_or_engine, query))


def _rows(conn_or_engine: "Connection | Engine", query: Any) -> list[Any]:
    from sqlalchemy.engine import Engine

    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return list(conn.execute(query).all())
    return list(conn_or_engine.execute(query).all())


def _series(symbol: str, rows: list[tuple[str, float, float | None]]) -> PriceSeries:
    dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
    adj = np.array([r[1] for r in rows], dtype=np.float64)
    close = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64)
    return PriceSeries(symbol, dates, adj, close)


def adjusted_closes(conn: "Connection", symbols: list[str], end: date) -> dict[str, tuple[Any, Any]]:
    """symbol -> (session dates as ``datetime64[D]``, adjusted closes), oldest first, up to
    ``end``; a symbol with no stored bar is left out. One driver-level read a symbol (the
    primary key's order; a 25-year universe is ~60,000 bars)."""
    dialect = conn.dialect.name
    sql = (f"SELECT session_date, adj_close FROM {prices.name} WHERE symbol = {param(dialect, 'symbol')} "
           f"AND session_date <= {param(dialect, 'end')} ORDER BY session_date")
    out: dict[str, tuple[Any, Any]] = {}
    for symbol in sorted(set(symbols)):
        rows = fetch_all(conn, sql, {"symbol": symbol, "end": end.isoformat()})[1]
        if rows:
            days, closes = zip(*rows)
            out[symbol] = (np.array(days, dtype="datetime64[D]"), np.array(closes, dtype=np.float64))
    return out


def raw_closes(conn: "Connection", symbols: Sequence[str], days: Iterable[str]) -> list[tuple[str, str, float]]:
    """(symbol, session date text, raw close) of the stored bars of ``symbols`` on ``days``
    (ISO dates) that have a raw close: a lighter read than ``load_prices`` for a caller
    that wants a few closes (no adjusted closes, no arrays, no other sessions)."""
    wanted = sorted(set(days))
    if not symbols or not wanted:
        return []
    dialect = conn.dialect.name
    names = {f"s{i}": symbol for i, symbol in enumerate(symbols)}
    out: list[tuple[str, str, float]] = []
    for offset in range(0, len(wanted), 500):  # well inside every driver's limit on bound parameters
        chunk = {f"d{i}": day for i, day in enumerate(wanted[offset:offset + 500])}
        sql = (f"SELECT symbol, session_date, close FROM {prices.name} "
               f"WHERE symbol IN ({', '.join(param(dialect, name) for name in names)}) "
               f"AND session_date IN ({', '.join(param(dialect, name) for name in chunk)}) AND close IS NOT NULL")
        out += [(symbol, day, float(close)) for symbol, day, close in fetch_all(conn, sql, names | chunk)[1]]
    return out
