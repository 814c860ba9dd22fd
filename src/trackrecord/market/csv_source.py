"""Prices from a folder of ``<SYMBOL>.csv`` files (the instrument's symbol or data symbol).

Accepted layouts (header names are matched case-insensitively, spaces as underscores):

- Yahoo download: ``Date,Open,High,Low,Close,Adj Close,Volume``
- lower-case: ``date,open,high,low,close,adj_close,volume``
- adjusted only: ``date,adj_open,adj_high,adj_low,adj_close,volume`` (raw close = None)
- close only: ``date,...,close,...`` (a total-return series: adjusted = raw close)

Rows with an empty, ``null`` or ``NaN`` price are skipped (Yahoo writes them for days
without trading); anything else unreadable (a row holding only a date, a price that is
zero, negative, infinite or above 1e15, text that is not UTF-8) is an error naming the
file and line.
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_left, bisect_right
from collections import deque
from datetime import date, timedelta
from itertools import islice, repeat
from operator import lt
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from trackrecord.domain import Instrument
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import read_utf8
from trackrecord.market.base import PriceInputError, PriceRow

MISSING = {"", "null", "nan", "none", "n/a", "-"}
MAX_PRICE = 1e15


class CsvFolderSource:
    """A PriceSource over a folder of CSV files; provenance ``csv``."""

    simulated = False
    close_settles = timedelta(0)  # a file's own bars are held back by when it was written

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.name = "csv"

    def files_for(self, instruments: Sequence[Instrument]) -> dict[str, Path | None]:
        """symbol -> its file (named by the symbol or the data symbol, any case), the folder read once."""
        if not self.folder.is_dir():
            raise PriceInputError(f"price folder {self.folder} does not exist")
        by_name = {p.name.lower(): p for p in self.folder.iterdir() if p.is_file()}
        return {i.symbol: next((by_name[n] for n in (f"{i.symbol}.csv".lower(), f"{i.data_symbol}.csv".lower())
                                if n in by_name), None) for i in instruments}

    def fetch(self, instruments: Sequence[Instrument], start: Mapping[str, date], end: date) -> list[PriceRow]:
        rows: list[PriceRow] = []
        days: dict[str, date] = {}
        paths = self.files_for(instruments)
        if instruments and not any(paths.values()):  # a wrong or empty folder, not "nothing new"
            raise PriceInputError(no_price_file(self.folder, instruments))
        for instrument in instruments:
            path = paths[instrument.symbol]
            if path is None:
                continue
            rows += _read(path, instrument, days, start.get(instrument.symbol, date.min), end)
        return rows


def no_price_file(folder: Path, instruments: Sequence[Instrument]) -> str:
    """The refusal of a folder that holds no file for any of ``instruments``."""
    expected = ", ".join(f"{i.symbol}.csv" for i in instruments[:3])
    return f"price folder {folder} holds no file for any instrument: expected one <SYMBOL>.csv each ({expected}, ...)"


def read_price_file(path: Path, instrument: Instrument, days: dict[str, date] | None = None) -> list[PriceRow]:
    """Every bar of one file, ascending, converted to the instrument's currency.

    Refused with the file and line: text that is not UTF-8, a header naming a column twice,
    a row with fewer fields than the header (a date alone), a price that is not a positive
    finite number below 1e15, one date with two different bars. ``days`` remembers the
    date cells already parsed (shared by the files of one folder: they repeat the dates).
    """
    return _read(path, instrument, {} if days is None else days, date.min, date.max)


def _read(path: Path, instrument: Instrument, days: dict[str, date], since: date, end: date) -> list[PriceRow]:
    """The bars of ``read_price_file`` dated ``since`` .. ``end`` (every line is still checked)."""
    try:
        text, _ = read_utf8(path, "a CSV of daily prices")
    except UserError as exc:
        raise PriceInputError(str(exc)) from None
    lines = text.splitlines()
    plain = _is_plain(text, lines)
    if plain:
        rows = _usual_bars(path, lines, instrument, days, since, end)
        if rows is not None:
            return rows
    reader = _plain_records(lines) if plain else csv.reader(lines)
    try:
        bars = _bars(path, reader, instrument, days)
    except csv.Error as exc:
        raise PriceInputError(f"{path}:{reader.line_num}: unreadable CSV: {exc}") from None
    return [r for r in bars if since <= r.session_date <= end]


def _is_plain(text: str, lines: list[str]) -> bool:
    """No quoting, no NUL, no field over the csv module's limit: ``csv.reader`` would split
    each line at its commas and nothing else."""
    return '"' not in text and "\0" not in text and max(map(len, lines), default=0) < csv.field_size_limit()


def _plain_records(lines: list[str]) -> Iterator[list[str]]:
    """The records ``csv.reader`` gives for plain lines (see ``_is_plain``), faster."""
    return iter([line.split(",") if line else [] for line in lines])


def _usual_bars(path: Path, lines: list[str], instrument: Instrument, days: dict[str, date], since: date,
                end: date) -> list[PriceRow] | None:
    """The bars of a plain file in the usual shape, read column by column: each line has
    the header's fields exactly, every price is a positive finite number below 1e15 and
    the dates ascend strictly. None for any other file, which ``_bars`` reads line by line
    (it skips the rows without a price, orders the dates and names the line it refuses)."""
    if len(lines) < 2 or not lines[0]:
        return None
    header = [_column(name) for name in lines[0].split(",")]
    date_at, close_at, adj_at = _layout(path, header)
    width, body = len(header), lines[1:]
    if set(map(str.count, body, repeat(","))) != {width - 1}:
        return None
    cells = ",".join(body).split(",")
    adjs = _usual_prices(cells[adj_at::width])
    closes = adjs if close_at == adj_at or close_at is None else _usual_prices(cells[close_at::width])
    sessions = _usual_dates(path, cells[date_at::width], days)
    if adjs is None or closes is None or sessions is None:
        return None
    first, last = bisect_left(sessions, since), bisect_right(sessions, end)
    divisor = float(instrument.quote_divisor)
    adjs = _in_currency(adjs[first:last], divisor)
    raw = repeat(None) if close_at is None else adjs if closes is adjs else _in_currency(closes[first:last], divisor)
    return _price_rows(instrument.symbol, sessions[first:last], raw, adjs)


def _usual_prices(cells: list[str]) -> list[float] | None:
    """``_price`` of each cell when every one is a positive finite number below 1e15, else None."""
    try:
        values = list(map(float, cells))
    except ValueError:
        return None
    if not math.isfinite(sum(values)) or min(values) <= 0 or max(values) >= MAX_PRICE:  # a NaN makes the sum NaN
        return None
    return values


def _usual_dates(path: Path, cells: list[str], days: dict[str, date]) -> list[date] | None:
    """The dates of ``cells`` when every one is readable and they ascend strictly, else None."""
    for cell in set(cells).difference(days):
        try:
            days[cell] = _date(path, 0, cell)
        except PriceInputError:
            return None
    sessions = list(map(days.__getitem__, cells))
    return sessions if all(map(lt, sessions, islice(sessions, 1, None))) else None


_PRICE_ROW_SLOTS = tuple(getattr(PriceRow, name).__set__ for name in PriceRow.__slots__)


def _price_rows(symbol: str, sessions: list[date], closes: Iterable[float | None],
                adjs: list[float]) -> list[PriceRow]:
    # PriceRow(symbol, day, close, adj) for each day, filled one slot at a time over the whole
    # column: a frozen dataclass's __init__ calls object.__setattr__ per field, which is most of
    # the cost of a file. PriceRow has no __post_init__ to skip (tests/unit/market pin this).
    rows = list(map(object.__new__, repeat(PriceRow, len(sessions))))
    for fill, column in zip(_PRICE_ROW_SLOTS, (repeat(symbol), sessions, closes, adjs), strict=True):
        deque(map(fill, rows, column), maxlen=0)
    return rows


def _in_currency(quotes: list[float], divisor: float) -> list[float]:
    return quotes if divisor == 1.0 else [quote / divisor for quote in quotes]


def _bars(path: Path, reader: Any, instrument: Instrument, days: dict[str, date]) -> list[PriceRow]:
    header = [_column(name) for name in next(reader, [])]
    date_at, close_at, adj_at = _layout(path, header)
    width, symbol, divisor = len(header), instrument.symbol, float(instrument.quote_divisor)
    bars: dict[date, PriceRow] = {}
    for line, record in enumerate(reader, start=2):
        if len(record) < width or not record[date_at].strip():
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) < width:
                raise PriceInputError(f"{path}:{line}: expected {width} fields ({','.join(header)}), "
                                       f"found {len(record)}")
        cell = record[date_at]
        day = days.get(cell)
        if day is None:
            day = days[cell] = _date(path, line, cell)
        adj = _price(path, line, record[adj_at])
        if adj is None:
            if close_at is not None:
                _price(path, line, record[close_at])  # still refused when unreadable
            continue
        raw = adj if close_at == adj_at else (None if close_at is None else _price(path, line, record[close_at]))
        row = PriceRow(symbol, day, None if raw is None else raw / divisor, adj / divisor)
        if day in bars and bars[day] != row:
            raise PriceInputError(f"{path}:{line}: {day} appears twice with different prices")
        bars[day] = row
    return [bars[d] for d in sorted(bars)]


def _price(path: Path, line: int, text: str) -> float | None:
    """A price cell: None when missing (empty, null, NaN...), else a positive finite float
    below ``MAX_PRICE``, else refused naming the file and line."""
    try:
        value = float(text)  # the common case; float() ignores surrounding blanks like strip()
    except ValueError:
        return _number(path, line, text)
    if 0 < value < MAX_PRICE:
        return value
    return _number(path, line, text)


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("adjclose", "adj_close")


def _layout(path: Path, header: list[str]) -> tuple[int, int | None, int]:
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if repeated:
        raise PriceInputError(f"{path}:1: column(s) {', '.join(repeated)} appear more than once in the header")
    if "date" not in header:
        raise PriceInputError(f"{path}: no 'date' column in the header {','.join(header) or '(empty)'}")
    close = header.index("close") if "close" in header else None
    if "adj_close" in header:
        return header.index("date"), close, header.index("adj_close")
    if close is not None:
        return header.index("date"), close, close
    raise PriceInputError(f"{path}: expected an 'adj_close', 'Adj Close' or 'close' column, "
                           f"got {','.join(header)}")


def _date(path: Path, line: int, text: str) -> date:
    value = text.strip()[:10]
    try:
        if len(value) == 8 and value.isdigit():
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        return date.fromisoformat(value)
    except ValueError:
        raise PriceInputError(f"{path}:{line}: date {_short(text)} is not YYYY-MM-DD") from None


def _number(path: Path, line: int, cell: str) -> float | None:
    text = cell.strip()
    if text.lower() in MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PriceInputError(f"{path}:{line}: price {_short(text)} is not a number") from None
    if math.isnan(value):
        return None
    if not 0 < value < MAX_PRICE:
        raise PriceInputError(f"{path}:{line}: price {_short(text)}: expected a positive finite price below 1e15")
    return value


def _short(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"
