"""Market-data use cases: update and import prices, run the quality gates, each recorded
in the ledger (``prices.updated``, ``import.recorded``, ``quality.checked``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from trackrecord.domain import IbContract, Instrument
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import format_timestamp
from trackrecord.ledger.queries import recorded_imports
from trackrecord.market.base import PriceInputError, PriceRow, PriceSeries, PriceSource, PriceSourceError
from trackrecord.market.calendar import DEFAULT_START, ExchangeCalendar, open_calendar
from trackrecord.market.csv_source import CsvFolderSource, no_price_file, read_price_file
from trackrecord.market.store import last_stored_dates, load_prices, replaced_bars, store_prices
from trackrecord.market.synthetic import SyntheticSource
from trackrecord.market.yahoo_source import YahooSource

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
    held_back: tuple["HeldBack", ...] = ()
    no_file: dict[str, Path] = field(default_factory=dict)  # symbol -> the file a CSV folder lacks
    unsettled: str | None = None  # why the session that closed last is not fetched yet


def calendar_for(settings: "Settings") -> ExchangeCalendar:
    """The universe's exchange calendar, from 1990 or the history start if earlier."""
    start = min(DEFAULT_START, date.fromisoformat(settings.prices.history_start))
    return open_calendar(settings.universe.calendar, start=start)


def build_price_source(settings: "Settings", workspace_root: Path, calendar: ExchangeCalendar) -> PriceSource:
    """The configured provider: yahoo, csv (``prices.csv_dir``, relative to the workspace) or synthetic."""

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
    day = min(calendar.date_at(now), calendar.last_session)
    session = calendar.session_on_or_before(day)
    return session if calendar.close_time(session) <= now else calendar.previous_session(session)


def update_prices(ledger: "SqlLedger", settings: "Settings", source: PriceSource, calendar: ExchangeCalendar,
                  now: datetime) -> UpdateResult:
    """Fetch bars from the last stored date (inclusive) to the last completed session and store them.

    The overlapping bar is compared with the stored one: when the adjusted close moved (a
    new dividend or split adjusts the whole history), that symbol's full history is fetched
    again, so the stored adjusted series never mixes two adjustment bases. A re-adjustment
    moves adjusted closes only: a fetched bar whose *raw* close differs from the stored one
    means the source disagrees with the recorded history (another feed, another synthetic
    market, a vendor's correction), and silently rewriting it would revalue every past
    snapshot's marks. That is refused (UserError naming the bars, nothing stored): a real
    correction goes through ``prices import DIR --replace`` (``prices.corrected``).
    """
    instruments = [*settings.universe.domain_instruments(), *benchmark_instruments(settings)]
    symbols = [i.symbol for i in instruments]
    end = last_completed_session(calendar, now - source.close_settles)
    unsettled = _unsettled_session(source, calendar, now, end)
    history_start = date.fromisoformat(settings.prices.history_start)
    stored = last_stored_dates(ledger.engine, symbols)
    starts = {s: stored.get(s, history_start) for s in symbols}
    benchmarks = {i.symbol for i in benchmark_instruments(settings)}
    rows, held = _closed_bars_of(source, instruments, fetch_bars(source, instruments, starts, end), calendar, now,
                                 benchmarks)
    refetch = _readjusted(ledger, rows, stored)
    if refetch:
        rows = [r for r in rows if r.symbol not in refetch]
        again = [i for i in instruments if i.symbol in refetch]
        rows += _closed_bars_of(source, again, fetch_bars(source, again, {s: history_start for s in refetch}, end),
                                calendar, now, benchmarks)[0]
    conflicts = _raw_close_changes(ledger, rows)
    if conflicts:
        raise UserError(_update_refusal(source.name, conflicts))
    with ledger.writer() as writer:
        result = record_prices(writer, rows, source.name, source.simulated, now, symbols)
    return UpdateResult(source.name, source.simulated, result.rows, result.symbols, tuple(sorted(refetch)), result.seq,
                        tuple(f"{s}: no new bars up to {end}" for s in symbols if not result.symbols[s][0]),
                        tuple(held), _lacking_files(source, instruments), unsettled)


def _unsettled_session(source: PriceSource, calendar: ExchangeCalendar, now: datetime, end: date) -> str | None:
    """Why the session that closed last is not fetched yet, or None: its close settles at the source."""
    closed = last_completed_session(calendar, now)
    if closed == end:
        return None
    settled_at = calendar.close_time(closed) + source.close_settles
    minutes = int(source.close_settles.total_seconds() // 60)
    return (f"{closed} closed at {format_timestamp(calendar.close_time(closed))}: {source.name}'s bar for it holds "
            f"the last trade until the closing price replaces it, so it is not stored before "
            f"{format_timestamp(settled_at)} ({minutes} minutes after the close); update again then")


def _lacking_files(source: PriceSource, instruments: Sequence[Instrument]) -> dict[str, Path]:
    """A CSV folder's missing files by symbol: "no file", not "nothing new"."""
    if not isinstance(source, CsvFolderSource):
        return {}
    return {symbol: source.folder / f"{symbol}.csv" for symbol, path in source.files_for(instruments).items()
            if path is None}


def _closed_bars_of(source: PriceSource, instruments: Sequence[Instrument], rows: list[PriceRow],
                    calendar: ExchangeCalendar, now: datetime, benchmarks: set[str],
                    ) -> tuple[list[PriceRow], list["HeldBack"]]:
    """A CSV folder's rows less those of sessions that closed after their file was written
    (``prices.csv_dir`` refreshed during a session holds its intraday bar); other sources' as they are."""
    if not isinstance(source, CsvFolderSource):
        return rows, []
    by_symbol: dict[str, list[PriceRow]] = {}
    for row in rows:
        by_symbol.setdefault(row.symbol, []).append(row)
    kept: list[PriceRow] = []
    held: list[HeldBack] = []
    files = source.files_for(instruments)
    for instrument in instruments:
        path = files[instrument.symbol]
        if path is None or instrument.symbol not in by_symbol:
            continue
        closed, late = _closed_when_written(instrument.symbol, path, by_symbol[instrument.symbol], calendar, now,
                                            benchmark=instrument.symbol in benchmarks)
        kept += closed
        held += late
    return kept, held


def record_prices(writer: "Writer", rows: Sequence[PriceRow], source: str, simulated: bool, now: datetime,
                  symbols: Sequence[str], extra: Mapping[str, Any] | None = None) -> UpdateResult:
    """Store bars and append their ``prices.updated`` event inside an open writer (engine/demo
    entry point). The event lists the stored bars the batch replaced (``replaced``, with their
    old prices and stamps): what ``verify`` needs to hash an earlier batch overwritten in part."""
    replaced = replaced_bars(writer.conn, rows)
    count = store_prices(writer.conn, rows, source, now)
    summary = summarise(rows, symbols)
    event = writer.append(kinds.PRICES_UPDATED, {
        "source": source, "simulated": simulated, "fetched_at": now, "rows": count,
        "sha256": rows_sha256(rows), **_symbols_summary(summary), "replaced": replaced, **(extra or {}),
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
        day = row.session_date
        n, first, last = out.get(row.symbol, (0, None, None))
        out[row.symbol] = (n + 1, day if first is None or day < first else first,
                           day if last is None or day > last else last)
    return out


def rows_sha256(rows: Iterable[PriceRow]) -> str:
    """SHA-256 of ``SYMBOL,YYYY-MM-DD,repr(close),repr(adj_close)\\n`` lines, sorted."""
    days: dict[date, str] = {}  # a session's bars share their date: formatted once
    lines = []
    for r in rows:
        day = days.get(r.session_date)
        if day is None:
            day = days[r.session_date] = r.session_date.isoformat()
        lines.append(f"{r.symbol},{day},{r.close!r},{float(r.adj_close)!r}\n")
    lines.sort()
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def fetch_bars(source: PriceSource, instruments: Sequence[Instrument], starts: Mapping[str, date], end: date,
               what: str = "prices update") -> list[PriceRow]:
    """The source's bars; a file the user supplied that cannot be read is a ``UserError``
    (exit 2), a provider that failed (the network) a ``RuntimeFailure`` (exit 1)."""
    try:
        return source.fetch(instruments, starts, end)
    except PriceInputError as exc:
        raise UserError(f"{what} from {source.name}: nothing stored: {exc}") from None
    except PriceSourceError as exc:
        raise RuntimeFailure(f"{what} from {source.name} failed: {exc}") from exc


def _readjusted(ledger: "SqlLedger", rows: Sequence[PriceRow], stored: Mapping[str, date]) -> set[str]:
    overlap = {(r.symbol, r.session_date): r.adj_close for r in rows if stored.get(r.symbol) == r.session_date}
    if not overlap:
        return set()
    # each overlapping bar is its symbol's last stored one: only those are read
    series = load_prices(ledger.engine, sorted({s for s, _ in overlap}), since=min(day for _, day in overlap))
    changed = set()
    for (symbol, day), adj in overlap.items():
        old = series[symbol].adj_close[-1] if series[symbol].dates.size else adj
        if abs(adj / old - 1.0) > ADJUSTMENT_TOLERANCE:
            changed.add(symbol)
    return changed


def _raw_close_changes(ledger: "SqlLedger", rows: Sequence[PriceRow]) -> list[BarChange]:
    """Stored bars whose raw close the fetched ``rows`` would change (adjusted-only changes pass)."""
    by_symbol: dict[str, list[PriceRow]] = {}
    for row in rows:
        by_symbol.setdefault(row.symbol, []).append(row)
    if not rows:
        return []
    # only the fetched days can change: the stored bars from the first of them
    stored = load_prices(ledger.engine, sorted(by_symbol), since=min(row.session_date for row in rows))
    changes: list[BarChange] = []
    for symbol, fetched in sorted(by_symbol.items()):
        _, changed = _against_stored(fetched, stored[symbol])
        changes += [c for c in changed if c.old_close is not None and c.new_close is not None
                    and abs(c.new_close / c.old_close - 1.0) > ADJUSTMENT_TOLERANCE]
    return changes


def _update_refusal(source: str, changes: Sequence[BarChange], shown: int = 3) -> str:
    listed = "; ".join(c.describe() for c in changes[:shown])
    more = f"; and {len(changes) - shown} more" if len(changes) > shown else ""
    return (f"prices update from {source}: nothing stored: the source's raw closes disagree with {len(changes)} "
            f"stored bar(s) ({listed}{more}), which is no dividend adjustment; if the source is right, correct the "
            "history with `trackrecord prices import DIR --replace` (recorded as prices.corrected)")


@dataclass(frozen=True)
class BarChange:
    """A stored bar an import would change: old and new (close, adjusted close), currency units."""

    symbol: str
    session_date: date
    old_close: float | None
    old_adj_close: float
    new_close: float | None
    new_adj_close: float

    def describe(self) -> str:
        return (f"{self.symbol} {self.session_date}: adj close {self.old_adj_close:g} -> {self.new_adj_close:g}"
                + ("" if _same(self.old_close, self.new_close) else
                   f", close {_shown(self.old_close)} -> {_shown(self.new_close)}"))

    def document(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "session_date": self.session_date,
                "old": {"close": _exact(self.old_close), "adj_close": _exact(self.old_adj_close)},
                "new": {"close": _exact(self.new_close), "adj_close": _exact(self.new_adj_close)}}


@dataclass(frozen=True)
class ImportResult:
    folder: Path
    imported: dict[str, int]
    already: tuple[str, ...]
    missing: tuple[str, ...]
    ignored: tuple[str, ...]
    seq: int | None
    corrected: tuple[BarChange, ...] = ()
    benchmarks: tuple[str, ...] = ()
    held_back: tuple["HeldBack", ...] = ()


@dataclass(frozen=True)
class HeldBack:
    """A file's bars of sessions that had not closed when its content existed: an intraday or
    future bar is not a close, so it is not imported. ``seen`` is the earliest of now, the
    file's modification time and the first import of the same bytes; ``why`` names which."""

    symbol: str
    file: str
    first: date
    last: date
    count: int
    seen: datetime
    why: str  # "now" | "modified" | "imported" | "not a session"
    calendar: str = ""  # the universe's calendar, for "not a session"

    def describe(self, symbols: str | None = None, verb: str = "imported") -> str:
        bars = f"{self.count} bar" + ("" if self.count == 1 else "s") + \
            (f" ({self.first})" if self.count == 1 else f" ({self.first} .. {self.last})")
        subject = f"{self.symbol}: {bars} of {self.file}" if symbols is None else f"{symbols}: {bars} of each file"
        when = format_timestamp(self.seen)
        if self.why == NOT_A_SESSION:
            days = f"a day that is not an {self.calendar} session" if self.count == 1 else \
                f"days that are not {self.calendar} sessions"
            return (f"{subject} not {verb}: {days} (universe.calendar), so no close the universe trades at; a file "
                    "of another exchange's days?")
        if self.why == "now":
            return (f"{subject} not {verb}: that session has not closed yet (now {when}), so the bar is no close; "
                    f"{'import' if verb == 'imported' else 'update'} again after the close")
        source = "was last modified" if self.why == "modified" else "(the same bytes) was first imported"
        return (f"{subject} not {verb}: the file {source} at {when}, before that session's close, so the bar is "
                "intraday; download the file again after the close")

    def document(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "file": self.file, "first": self.first, "last": self.last,
                "count": self.count, "seen": self.seen, "why": self.why}


NOT_A_SESSION = "not a session"


def held_back_lines(held_back: Sequence[HeldBack], verb: str = "imported") -> list[str]:
    """One line per distinct reason: a folder downloaded during a session holds back the same
    bar of every file."""
    groups: dict[tuple[Any, ...], list[HeldBack]] = {}
    for held in held_back:
        groups.setdefault((held.first, held.last, held.count, held.seen, held.why), []).append(held)
    return [alike[0].describe(None if len(alike) == 1 else ", ".join(h.symbol for h in alike), verb)
            for alike in groups.values()]


def import_prices(ledger: "SqlLedger", settings: "Settings", folder: Path, now: datetime,
                  replace: bool = False) -> ImportResult:
    """Import ``<SYMBOL>.csv`` files (symbol or data symbol) for the universe and the benchmarks.

    Idempotent on the stored bars: bars equal to the stored ones add nothing; new bars are
    stored; a bar that would change a stored one is refused (UserError listing symbol,
    date, old -> new) unless ``replace``, which stores it and records a ``prices.corrected``
    event with the old and new values. Bad input writes nothing and raises UserError.
    """

    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of <SYMBOL>.csv files")
    source = CsvFolderSource(folder)
    instruments = [*settings.universe.domain_instruments(), *benchmark_instruments(settings)]
    benchmarks = {i.symbol for i in benchmark_instruments(settings)}
    files = source.files_for(instruments)
    found = {s: p for s, p in files.items() if p is not None}
    if not any(s not in benchmarks for s in found):  # a benchmark's file alone is no universe
        raise UserError(no_price_file(folder, [i for i in instruments if i.symbol not in benchmarks]))
    used = {p.name for p in found.values()}
    ignored = tuple(sorted(p.name for p in folder.glob("*.csv") if p.name not in used))
    by_symbol = {i.symbol: i for i in instruments}
    try:
        parsed = {s: read_price_file(p, by_symbol[s]) for s, p in sorted(found.items())}
    except PriceSourceError as exc:
        raise UserError(f"nothing imported: {exc}") from None
    hashes = {s: hashlib.sha256(p.read_bytes()).hexdigest() for s, p in found.items()}
    with ledger.writer() as writer:
        recorded = recorded_imports(writer.conn, list(hashes.values()))
        parsed, held_back = _closed_bars_only(parsed, found, hashes, calendar_for(settings), now, recorded, benchmarks)
        held_symbols = {h.symbol for h in held_back}
        stored = load_prices(writer.conn, sorted(parsed))
        new, changes = {}, []
        for symbol, rows in parsed.items():
            fresh, changed = _against_stored(rows, stored[symbol])
            new[symbol] = fresh
            changes += changed
        if changes and not replace:
            raise UserError(_refusal(changes))
        seq = _record_import(writer, parsed, new, changes, found, hashes, folder, now, held_symbols, set(recorded))
    return ImportResult(folder, {s: len(r) for s, r in new.items() if r},
                        tuple(s for s in sorted(parsed) if not new[s] and not any(c.symbol == s for c in changes)
                              and s not in held_symbols),
                        tuple(sorted(set(files) - set(found) - benchmarks)), ignored, seq, tuple(changes),
                        tuple(sorted(benchmarks & set(parsed))), tuple(held_back))


def _closed_bars_only(parsed: Mapping[str, list[PriceRow]], found: Mapping[str, Path], hashes: Mapping[str, str],
                      calendar: ExchangeCalendar, now: datetime, first_seen: Mapping[str, str | None],
                      benchmarks: set[str]) -> tuple[dict[str, list[PriceRow]], list[HeldBack]]:
    """Each file's bars of sessions closed when its bytes were first seen; the rest held back.

    A file downloaded during a session ends with that session's intraday bar (the shared
    data's XLB file did, committed at 13:14 New York). Imported then, or imported after the
    close from the same bytes, it would be stored as the close and mark the day's snapshot."""
    kept: dict[str, list[PriceRow]] = {}
    held: list[HeldBack] = []
    for symbol, rows in parsed.items():
        earlier = first_seen.get(hashes[symbol])
        kept[symbol], late = _closed_when_written(symbol, found[symbol], rows, calendar, now, earlier,
                                                  benchmark=symbol in benchmarks)
        held += late
    return kept, held


def _closed_when_written(symbol: str, path: Path, rows: list[PriceRow], calendar: ExchangeCalendar, now: datetime,
                         first_imported: str | None = None, benchmark: bool = False,
                         ) -> tuple[list[PriceRow], list[HeldBack]]:
    """(the rows of sessions closed before the file's bytes existed, what was held back): the
    earliest of now, the file's modification time and the first import of the same bytes. A
    universe instrument's bar on a day that is not a session is held back too; a benchmark's
    quotes are taken as they come (only their returns count)."""
    moments = [(now, "now"), (datetime.fromtimestamp(path.stat().st_mtime, timezone.utc), "modified")]
    if first_imported is not None:
        moments.append((datetime.fromisoformat(first_imported.replace("Z", "+00:00")), "imported"))
    seen, why = min(moments, key=lambda m: m[0])
    cutoff, today = last_completed_session(calendar, seen), calendar.date_at(now)
    # a bar on a day the exchange does not trade would be a close the simulated broker never
    # sees and the signal still ranks (a month end on a bank holiday of a file of another exchange's days)
    off = set() if benchmark else {r.session_date for r in rows if r.session_date <= today and
                                   calendar.first_session <= r.session_date and not calendar.is_session(r.session_date)}
    unclosed = [r.session_date for r in rows if r.session_date > today]  # a day to come: no file can hold its close
    late = [r.session_date for r in rows if cutoff < r.session_date <= today and r.session_date not in off]
    held = [HeldBack(symbol, path.name, min(days), max(days), len(days), moment, reason, calendar.code)
            for days, moment, reason in ((off, now, NOT_A_SESSION), (unclosed, now, "now"), (late, seen, why)) if days]
    if not held:
        return rows, []
    return [r for r in rows if r.session_date <= cutoff and r.session_date not in off], held


def benchmark_instruments(settings: "Settings") -> list[Instrument]:
    """The configured benchmark symbols outside the universe, as instruments whose prices are
    stored but never ranked or traded (quotes taken as they come: only their returns count)."""

    universe = {i.symbol for i in settings.universe.instruments}
    base = settings.account.base_currency
    return [Instrument(symbol, symbol, "Benchmark", base, base, settings.universe.calendar,
                       IbContract(symbol, "SMART", base))
            for symbol in settings.performance.benchmark_symbols() if symbol not in universe]


def _against_stored(rows: Sequence[PriceRow], stored: PriceSeries) -> tuple[list[PriceRow], list[BarChange]]:
    """(bars not stored yet, stored bars these rows would change)."""
    known = {d: (None if c != c else c, a)
             for d, a, c in zip(stored.dates.tolist(), stored.adj_close.tolist(), stored.close.tolist())}
    fresh, changed = [], []
    for row in rows:
        old = known.get(row.session_date)
        if old is None:
            fresh.append(row)
        elif not (_same(old[0], row.close) and _same(old[1], row.adj_close)):
            changed.append(BarChange(row.symbol, row.session_date, old[0], old[1], row.close, row.adj_close))
    return fresh, changed


def _record_import(writer: "Writer", parsed: Mapping[str, Sequence[PriceRow]], new: Mapping[str, list[PriceRow]],
                   changes: Sequence[BarChange], found: Mapping[str, Path], hashes: Mapping[str, str], folder: Path,
                   now: datetime, held_back: set[str], known: set[str]) -> int | None:
    """The import's events; a file with bars held back is recorded even when nothing else is
    new, so that the moment its bytes were first seen is known to a later import of them."""
    corrected = {(c.symbol, c.session_date) for c in changes}
    rows = [r for rs in new.values() for r in rs]
    rows += [r for rs in parsed.values() for r in rs if (r.symbol, r.session_date) in corrected]
    for symbol in sorted(parsed):
        if (new[symbol] or symbol in held_back or any(c.symbol == symbol for c in changes)) \
                and hashes[symbol] not in known:
            known.add(hashes[symbol])
            writer.append(kinds.IMPORT_RECORDED, {
                "content_hash": hashes[symbol], "kind": "prices", "source": str(found[symbol]),
                "rows": len(parsed[symbol]), "symbol": symbol, "imported_at": now,
            })
    if not rows:
        return None
    if changes:
        writer.append(kinds.PRICES_CORRECTED, {
            "source": "csv", "folder": str(folder), "corrected_at": now, "count": len(changes),
            "bars": [c.document() for c in changes],
        })
    symbols = sorted({r.symbol for r in rows})
    return record_prices(writer, rows, "csv", False, now, symbols, {"folder": str(folder)}).seq


def _refusal(changes: Sequence[BarChange], shown: int = 10) -> str:
    listed = "; ".join(c.describe() for c in changes[:shown])
    more = f"; and {len(changes) - shown} more" if len(changes) > shown else ""
    return (f"nothing imported: {len(changes)} stored bar(s) would change: {listed}{more}. "
            "If the file is the correction, run again with --replace (recorded as prices.corrected)")


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _exact(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value)))


def month_start_of(day: date, months_back: int = 0) -> date:
    number = day.year * 12 + day.month - 1 - months_back
    return date(number // 12, number % 12 + 1, 1)

