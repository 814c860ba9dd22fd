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
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence

from trackrecord.domain import Instrument
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import read_utf8
from trackrecord.market.base import PriceInputError, PriceRow, to_currency

MISSING = {"", "null", "nan", "none", "n/a", "-"}
MAX_PRICE = 1e15


class CsvFolderSource:
    """A PriceSource over a folder of CSV files; provenance ``csv``."""

    simulated = False

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.name = "csv"

    def file_for(self, instrument: Instrument) -> Path | None:
        if not self.folder.is_dir():
            raise PriceInputError(f"price folder {self.folder} does not exist")
        by_name = {p.name.lower(): p for p in self.folder.iterdir() if p.is_file()}
        for stem in (instrument.symbol, instrument.data_symbol):
            found = by_name.get(f"{stem}.csv".lower())
            if found is not None:
                return found
        return None

    def fetch(self, instruments: Sequence[Instrument], start: Mapping[str, date], end: date) -> list[PriceRow]:
        rows: list[PriceRow] = []
        for instrument in instruments:
            path = self.file_for(instrument)
            if path is None:
                continue
            since = start.get(instrument.symbol, date.min)
            rows += [r for r in read_price_file(path, instrument) if since <= r.session_date <= end]
        return rows


def read_price_file(path: Path, instrument: Instrument) -> list[PriceRow]:
    """Every bar of one file, ascending, converted to the instrument's currency.

    Refused with the file and line: text that is not UTF-8, a header naming a column twice,
    a row with fewer fields than the header (a date alone), a price that is not a positive
    finite number below 1e15, one date with two different bars.
    """
    try:
        text, _ = read_utf8(path, "a CSV of daily prices")
    except UserError as exc:
        raise PriceInputError(str(exc)) from None
    reader = csv.reader(text.splitlines())
    try:
        return _bars(path, reader, instrument)
    except csv.Error as exc:
        raise PriceInputError(f"{path}:{reader.line_num}: unreadable CSV: {exc}") from None


def _bars(path: Path, reader: Any, instrument: Instrument) -> list[PriceRow]:
    header = [_column(name) for name in next(reader, [])]
    date_at, close_at, adj_at = _layout(path, header)
    bars: dict[date, PriceRow] = {}
    for line, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) < len(header):
            raise PriceInputError(f"{path}:{line}: expected {len(header)} fields ({','.join(header)}), "
                                   f"found {len(record)}")
        day = _date(path, line, record[date_at])
        adj = _number(path, line, record, adj_at)
        raw = _number(path, line, record, close_at) if close_at is not None else None
        if adj is None:
            continue
        row = PriceRow(instrument.symbol, day, None if raw is None else to_currency(raw, instrument),
                       to_currency(adj, instrument))
        if day in bars and bars[day] != row:
            raise PriceInputError(f"{path}:{line}: {day} appears twice with different prices")
        bars[day] = row
    return [bars[d] for d in sorted(bars)]


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


def _number(path: Path, line: int, record: list[str], index: int) -> float | None:
    text = record[index].strip() if index < len(record) else ""
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
