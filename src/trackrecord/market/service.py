"""Market-data use cases: update and import prices, run the quality gates, each recorded
in the ledger (``prices.updated``, ``import.recorded``, ``quality.checked``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from trackrecord.domain import Instrument
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger import events as kinds
from trackrecord.market.base import PriceRow, PriceSource, PriceSourceError
from trackrecord.market.calendar import DEFAULT_START, ExchangeCalendar, open_calendar
from trackrecord.market.quality import QualityReport, check_quality
from trackrecord.market.store import last_stored_dates, load_prices, store_prices

if TYPE_CHECKING:
    from trackrecord.config import Settings
    from trackrecord.ledger.store import SqlLedger, Writer

ADJUSTMENT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class UpdateResult:
    source: str
    simulated: bool
    rows: int
    symbols: dict[str, tuple[int, date | None, date | None]]
    refetched: tuple[str, ...] = ()
    seq: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def calendar_for(settings: "Settings") -> ExchangeCalendar:
    """The universe's exchange calendar, from 1990 or the history start if earlier."""
    start = min(DEFAULT_START, date.fromisoformat(settings.prices.history_start))
    return open_calendar(settings.universe.calendar, start=start)


def build_price_source(settings: "Settings", workspace_root: Path, calendar: ExchangeCalendar) -> PriceSource:
    """The configured provider: yahoo, csv (``prices.csv_dir``, relative to the workspace) or synthetic."""
    from trackrecord.market.csv_source import CsvFolderSource
    from trackrecord.market.synthetic import SyntheticSource
    from trackrecord.market.yahoo_source import YahooSource

    kind = settings.prices.source
    if kind == "synthetic":
        start = date.fromisoformat(settings.prices.history_start)
        return SyntheticSource(settings.prices.synthetic_seed, calendar.sessions_between(start, calendar.last_session))
    if kind == "csv":
        if not settings.prices.csv_dir:
            raise UserError("prices.source is csv but prices.csv_dir is empty: set it, or use `prices import DIR`")
        return CsvFolderSource(workspace_root / Path(settings.prices.csv_dir).expanduser())
    return YahooSource()


def last_completed_session(calendar: ExchangeCalendar, now: datetime) -> date:
    """The latest session whose close is at or before ``now`` (timezone-aware)."""
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(calendar.timezone)).date()
    day = min(today, calendar.last_session)
    session = calendar.session_on_or_before(day)
    return session if calendar.close_time(session) <= now else calendar.previous_session(session)


def update_prices(ledger: "SqlLedger", settings: "Settings", source: PriceSource, calendar: ExchangeCalendar,
                  now: datetime) -> UpdateResult:
    """Fetch bars from the last stored date (inclusive) to the last completed session and store them.

    The overlapping bar is compared with the stored one: when the adjusted close moved (a
    new dividend or split adjusts the whole history), that symbol's full history is fetched
    again, so the stored adjusted series never mixes two adjustment bases.
    """
    instruments = settings.universe.domain_instruments()
    symbols = [i.symbol for i in instruments]
    end = last_completed_session(calendar, now)
    history_start = date.fromisoformat(settings.prices.history_start)
    stored = last_stored_dates(ledger.engine, symbols)
    starts = {s: stored.get(s, history_start) for s in symbols}
    rows = _fetch(source, instruments, starts, end)
    refetch = _readjusted(ledger, rows, stored)
    if refetch:
        rows = [r for r in rows if r.symbol not in refetch]
        rows += _fetch(source, [i for i in instruments if i.symbol in refetch], {s: history_start for s in refetch}, end)
    with ledger.writer() as writer:
        result = record_prices(writer, rows, source.name, source.simulated, now, symbols)
    return UpdateResult(source.name, source.simulated, result.rows, result.symbols, tuple(sorted(refetch)), result.seq,
                        tuple(f"{s}: no new bars up to {end}" for s in symbols if not result.symbols[s][0]))


def record_prices(writer: "Writer", rows: Sequence[PriceRow], source: str, simulated: bool, now: datetime,
                  symbols: Sequence[str], extra: Mapping[str, Any] | None = None) -> UpdateResult:
    """Store bars and append their ``prices.updated`` event inside an open writer (engine/demo entry point)."""
    count = store_prices(writer.conn, rows, source, now)
    summary = summarise(rows, symbols)
    event = writer.append(kinds.PRICES_UPDATED, {
        "source": source, "simulated": simulated, "fetched_at": now, "rows": count,
        "sha256": rows_sha256(rows), **_symbols_summary(summary), **(extra or {}),
    })
    return UpdateResult(source, simulated, count, summary, seq=event.seq)


def _symbols_summary(summary: Mapping[str, tuple[int, date | None, date | None]]) -> dict[str, Any]:
    """Per symbol (rows, first, last); when every symbol has the same, said once (a daily bar)."""
    ranges = set(summary.values())
    if len(ranges) == 1:
        n, first, last = next(iter(ranges))
        return {"symbols": list(summary), "rows_per_symbol": n, "first": first, "last": last}
    return {"symbols": [{"symbol": s, "rows": n, "first": first, "last": last}
                        for s, (n, first, last) in summary.items()]}


def summarise(rows: Iterable[PriceRow], symbols: Sequence[str]) -> dict[str, tuple[int, date | None, date | None]]:
    out: dict[str, tuple[int, date | None, date | None]] = {s: (0, None, None) for s in symbols}
    for row in rows:
        n, first, last = out.get(row.symbol, (0, None, None))
        out[row.symbol] = (n + 1, min(first or row.session_date, row.session_date),
                           max(last or row.session_date, row.session_date))
    return out


def rows_sha256(rows: Iterable[PriceRow]) -> str:
    """SHA-256 of ``SYMBOL,YYYY-MM-DD,repr(close),repr(adj_close)\\n`` lines, sorted."""
    lines = sorted(f"{r.symbol},{r.session_date.isoformat()},{r.close!r},{float(r.adj_close)!r}\n" for r in rows)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def _fetch(source: PriceSource, instruments: Sequence[Instrument], starts: Mapping[str, date], end: date) -> list[PriceRow]:
    try:
        return source.fetch(instruments, starts, end)
    except PriceSourceError as exc:
        raise RuntimeFailure(f"prices update from {source.name} failed: {exc}") from exc


def _readjusted(ledger: "SqlLedger", rows: Sequence[PriceRow], stored: Mapping[str, date]) -> set[str]:
    overlap = {(r.symbol, r.session_date): r.adj_close for r in rows if stored.get(r.symbol) == r.session_date}
    if not overlap:
        return set()
    series = load_prices(ledger.engine, sorted({s for s, _ in overlap}))
    changed = set()
    for (symbol, day), adj in overlap.items():
        old = series[symbol].adj_close[-1] if series[symbol].dates.size else adj
        if abs(adj / old - 1.0) > ADJUSTMENT_TOLERANCE:
            changed.add(symbol)
    return changed


@dataclass(frozen=True)
class ImportResult:
    folder: Path
    imported: dict[str, int]
    already: tuple[str, ...]
    missing: tuple[str, ...]
    ignored: tuple[str, ...]
    seq: int | None


def import_prices(ledger: "SqlLedger", settings: "Settings", folder: Path, now: datetime) -> ImportResult:
    """Import ``<SYMBOL>.csv`` files (symbol or data symbol) for the configured instruments.

    Each file is an import identified by its content hash: a second import of the same file
    adds nothing and says so. Bad input (no folder, no matching file, an unreadable file)
    writes nothing and raises UserError.
    """
    from sqlalchemy import select

    from trackrecord.ledger.schema import imports
    from trackrecord.market.csv_source import CsvFolderSource, read_price_file

    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of <SYMBOL>.csv files")
    source = CsvFolderSource(folder)
    instruments = settings.universe.domain_instruments()
    files = {i.symbol: source.file_for(i) for i in instruments}
    found = {s: p for s, p in files.items() if p is not None}
    if not found:
        names = ", ".join(f"{i.symbol}.csv" for i in instruments[:3])
        raise UserError(f"{folder} holds no price file for the universe (expected e.g. {names})")
    used = {p.name for p in found.values()}
    ignored = tuple(sorted(p.name for p in folder.glob("*.csv") if p.name not in used))
    hashes = {s: hashlib.sha256(p.read_bytes()).hexdigest() for s, p in found.items()}
    with ledger.engine.connect() as conn:
        known = {h for (h,) in conn.execute(select(imports.c.content_hash).where(
            imports.c.content_hash.in_(list(hashes.values()))))}
    todo = {s: p for s, p in found.items() if hashes[s] not in known}
    by_symbol = {i.symbol: i for i in instruments}
    try:
        parsed = {s: read_price_file(p, by_symbol[s]) for s, p in sorted(todo.items())}
    except PriceSourceError as exc:
        raise UserError(f"nothing imported: {exc}") from None
    seq = None
    if parsed:
        with ledger.writer() as writer:
            for symbol, rows in parsed.items():
                writer.append(kinds.IMPORT_RECORDED, {
                    "content_hash": hashes[symbol], "kind": "prices", "source": str(todo[symbol]), "rows": len(rows),
                    "symbol": symbol, "imported_at": now,
                })
            all_rows = [r for rows in parsed.values() for r in rows]
            seq = record_prices(writer, all_rows, "csv", False, now, sorted(parsed),
                                {"folder": str(folder)}).seq
    return ImportResult(folder, {s: len(r) for s, r in parsed.items()},
                        tuple(sorted(set(found) - set(todo))), tuple(sorted(set(files) - set(found))), ignored, seq)


def run_quality_gates(ledger: "SqlLedger", settings: "Settings", calendar: ExchangeCalendar, window_start: date,
                      expected_last_session: date, purpose: str, as_of: date | None = None,
                      record: bool = True) -> QualityReport:
    """Gate the stored prices of the universe over the window; record one ``quality.checked`` event."""
    symbols = [i.symbol for i in settings.universe.instruments]
    series = load_prices(ledger.engine, symbols, until=as_of or expected_last_session)
    sessions = calendar.sessions_between(window_start, expected_last_session)
    report = check_quality(series, sessions, window_start, expected_last_session,
                           settings.prices.max_daily_move, settings.prices.max_gap_sessions)
    if record:
        ledger.append(kinds.QUALITY_CHECKED, {
            **report.document(), "purpose": purpose, "as_of": as_of, "calendar": calendar.code,
        })
    return report


def require_quality(report: QualityReport) -> None:
    """Raise RuntimeFailure (exit 1) naming gate, symbol and date when a gate failed."""
    if not report.passed:
        raise RuntimeFailure(f"price quality gates failed, signal blocked: {report.message()}. "
                             "Fix the data (prices update / prices import) and run again")


def month_start_of(day: date, months_back: int = 0) -> date:
    number = day.year * 12 + day.month - 1 - months_back
    return date(number // 12, number % 12 + 1, 1)

