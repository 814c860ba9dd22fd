"""The faster CSV reader (plain lines split at commas, remembered date cells, one float()
per price) returns exactly the rows of the reader it replaced, and refuses exactly what it
refused, with the same one line: checked against that reader, kept here as the reference."""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackrecord.config import UniverseConfig, us_sector_instruments
from trackrecord.market.base import PriceInputError, PriceRow, to_currency
from trackrecord.market.csv_source import CsvFolderSource, read_price_file

US = {i.symbol: i.to_domain("XNYS") for i in us_sector_instruments()}
UK = {i.symbol: i for i in UniverseConfig().domain_instruments()}


def _reference(path: Path, instrument) -> list[PriceRow]:  # type: ignore[no-untyped-def]
    """The reader before the speed work (csv.reader on every line, _number on every cell)."""
    from trackrecord.market import csv_source as cs

    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(text.splitlines())
    try:
        header = [cs._column(name) for name in next(reader, [])]
        date_at, close_at, adj_at = cs._layout(path, header)
        bars: dict[date, PriceRow] = {}
        for line, record in enumerate(reader, start=2):
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) < len(header):
                raise PriceInputError(f"{path}:{line}: expected {len(header)} fields ({','.join(header)}), "
                                      f"found {len(record)}")
            day = cs._date(path, line, record[date_at])
            adj = _old_number(path, line, record, adj_at)
            raw = _old_number(path, line, record, close_at) if close_at is not None else None
            if adj is None:
                continue
            row = PriceRow(instrument.symbol, day, None if raw is None else to_currency(raw, instrument),
                           to_currency(adj, instrument))
            if day in bars and bars[day] != row:
                raise PriceInputError(f"{path}:{line}: {day} appears twice with different prices")
            bars[day] = row
        return [bars[d] for d in sorted(bars)]
    except csv.Error as exc:
        raise PriceInputError(f"{path}:{reader.line_num}: unreadable CSV: {exc}") from None


def _old_number(path: Path, line: int, record: list[str], index: int) -> float | None:
    from trackrecord.market.csv_source import MAX_PRICE, MISSING, _short

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


def _outcome(read, path: Path, instrument):  # type: ignore[no-untyped-def]
    try:
        return [(r.symbol, r.session_date, r.close, r.adj_close) for r in read(path, instrument)]
    except PriceInputError as exc:
        return f"refused: {exc}"


HEADERS = ["Date,Open,High,Low,Close,Adj Close,Volume", "date,adj_open,adj_high,adj_low,adj_close,volume",
           "date,close", "date,close,close", "when,close", "", "date,adj_close,close"]
CELLS = st.sampled_from(["", " ", "1", "2.5", " 3.25 ", "1e3", "0", "-1", "inf", "nan", "NaN", "null", "-",
                         "n/a", "abc", "1e16", '"4.5"', '"a,b"', "2026-01-30", "20260202", " 2026-02-03",
                         "2026-02-03T00:00", "2026-13-01", "1_000", "\x00"])
LINES = st.lists(CELLS, min_size=0, max_size=8).map(",".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(HEADERS), lines=st.lists(LINES, max_size=8), pence=st.booleans(),
       ending=st.sampled_from(["\n", "\r\n"]))
def test_the_fast_reader_returns_the_same_rows_and_refusals_as_the_old_one(tmp_path: Path, header: str,
                                                                           lines: list[str], pence: bool,
                                                                           ending: str) -> None:
    path = tmp_path / "SXLK.csv"
    path.write_bytes((ending.join([header, *lines]) + ending).encode())
    instrument = UK["SXLK"] if pence else US["XLK"]
    assert _outcome(read_price_file, path, instrument) == _outcome(_reference, path, instrument)


def test_the_fast_reader_reads_the_shared_history_as_the_old_one(shared_data: Path) -> None:
    folder = shared_data / "prices"
    for path in sorted(folder.glob("*.csv")):
        instrument = US.get(path.stem) or US["XLK"]
        assert _outcome(read_price_file, path, instrument) == _outcome(_reference, path, instrument), path.name


def test_the_files_of_one_folder_share_their_parsed_dates(tmp_path: Path) -> None:
    for symbol in ("XLK", "XLF"):
        (tmp_path / f"{symbol}.csv").write_text("date,close\n2026-01-30,10\n20260202,11\n")
    rows = CsvFolderSource(tmp_path).fetch([US["XLK"], US["XLF"]], {}, date(2026, 12, 31))
    assert [(r.symbol, r.session_date, r.adj_close) for r in rows] == [
        ("XLK", date(2026, 1, 30), 10.0), ("XLK", date(2026, 2, 2), 11.0),
        ("XLF", date(2026, 1, 30), 10.0), ("XLF", date(2026, 2, 2), 11.0)]


@pytest.mark.parametrize("cell, message", [
    (" ", None), ("abc", "price 'abc' is not a number"), ("0", "price '0': expected a positive finite price"),
    ("inf", "price 'inf': expected a positive"), (" nan ", None)])
def test_one_price_cell_is_read_or_refused_as_before(tmp_path: Path, cell: str, message: str | None) -> None:
    path = tmp_path / "XLK.csv"
    path.write_text(f"date,close\n2026-01-30,{cell}\n")
    assert _outcome(read_price_file, path, US["XLK"]) == _outcome(_reference, path, US["XLK"])
    if message is not None:
        with pytest.raises(PriceInputError, match=f"XLK.csv:2: {message}"):
            read_price_file(path, US["XLK"])


# The column-by-column reader (_usual_bars) takes files in the usual shape: every line with the
# header's fields, every price readable, dates ascending. Files one change away from that shape
# must come out (rows or refusal) exactly as the reference reads them.
USUAL_HEADERS = ["Date,Open,High,Low,Close,Adj Close,Volume", "date,adj_open,adj_high,adj_low,adj_close,volume",
                 "date,close", "date,adj_close,close", "Date,Close,Adj Close"]
PRICES = st.one_of(st.floats(min_value=1e-6, max_value=9.99e14).map(repr),
                   st.integers(min_value=1, max_value=10**6).map(str),
                   st.sampled_from(["12.5", "1e3", " 7.25", "3.0 ", "1_000", "0.1", "99999999999999.9"]))
CHANGES = st.sampled_from(["none", "cell", "swap", "repeat", "repeat-other", "blank", "extra", "short",
                           "compact-date", "datetime"])


def _usual_file(header: str, gaps: list[int], prices: list[str]) -> list[str]:
    day = date(2000, 1, 3).toordinal()
    lines = [header]
    for gap, price in zip(gaps, prices):
        day += gap
        cells = [price] * len(header.split(","))
        cells[0] = date.fromordinal(day).isoformat()
        lines.append(",".join(cells))
    return lines


def _changed(lines: list[str], change: str, at: int, cell: str) -> list[str]:
    lines = list(lines)
    row = 1 + at % (len(lines) - 1)
    cells = lines[row].split(",")
    if change == "cell":
        cells[1 + at % (len(cells) - 1)] = cell
    elif change == "swap" and len(lines) > 2:
        other = 1 + (row % (len(lines) - 1))
        lines[row], lines[other] = lines[other], lines[row]
    elif change == "repeat":
        lines.insert(row, lines[row])
    elif change == "repeat-other":
        lines.insert(row, ",".join([cells[0]] + ["4.5"] * (len(cells) - 1)))
    elif change == "blank":
        lines.insert(row, "")
    elif change == "extra":
        cells.append("1")
    elif change == "short":
        cells.pop()
    elif change == "compact-date":
        cells[0] = cells[0].replace("-", "")
    elif change == "datetime":
        cells[0] += "T00:00"
    if change in ("cell", "extra", "short", "compact-date", "datetime"):
        lines[row] = ",".join(cells)
    return lines


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(USUAL_HEADERS), data=st.data(), pence=st.booleans(), change=CHANGES,
       at=st.integers(min_value=0, max_value=1000), cell=CELLS, ending=st.sampled_from(["\n", "\r\n"]))
def test_files_in_the_usual_shape_or_one_change_from_it_read_as_the_old_reader_reads_them(
        tmp_path: Path, header: str, data: st.DataObject, pence: bool, change: str, at: int, cell: str,
        ending: str) -> None:
    size = data.draw(st.integers(min_value=1, max_value=25))
    gaps = data.draw(st.lists(st.integers(min_value=1, max_value=5), min_size=size, max_size=size))
    prices = data.draw(st.lists(PRICES, min_size=size, max_size=size))
    path = tmp_path / "SXLK.csv"
    path.write_bytes((ending.join(_changed(_usual_file(header, gaps, prices), change, at, cell)) + ending).encode())
    instrument = UK["SXLK"] if pence else US["XLK"]
    assert _outcome(read_price_file, path, instrument) == _outcome(_reference, path, instrument)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gaps=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=30),
       since=st.integers(min_value=-5, max_value=120), span=st.integers(min_value=-3, max_value=120),
       change=st.sampled_from(["none", "swap", "repeat", "cell"]))
def test_a_folder_read_from_a_start_to_an_end_keeps_exactly_the_bars_in_between(
        tmp_path: Path, gaps: list[int], since: int, span: int, change: str) -> None:
    lines = _changed(_usual_file("date,close", gaps, ["10.5"] * len(gaps)), change, since, "null")
    (tmp_path / "XLK.csv").write_text("\n".join(lines) + "\n")
    start, end = date(2000, 1, 3) + timedelta(days=since), date(2000, 1, 3) + timedelta(days=since + span)
    expected = [r for r in _reference(tmp_path / "XLK.csv", US["XLK"]) if start <= r.session_date <= end]
    assert CsvFolderSource(tmp_path).fetch([US["XLK"]], {"XLK": start}, end) == expected


def test_the_shared_history_is_read_column_by_column(shared_data: Path) -> None:
    from trackrecord.market.csv_source import _usual_bars

    for path in sorted((shared_data / "prices").glob("*.csv")):
        lines = path.read_text().splitlines()
        rows = _usual_bars(path, lines, US.get(path.stem) or US["XLK"], {}, date.min, date.max)
        assert rows == read_price_file(path, US.get(path.stem) or US["XLK"]) and rows, path.name


def test_price_rows_filled_slot_by_slot_equal_the_ones_the_constructor_makes() -> None:
    from dataclasses import fields

    from trackrecord.market.csv_source import _price_rows

    assert not hasattr(PriceRow, "__post_init__"), "_price_rows would skip PriceRow's __post_init__"
    assert PriceRow.__slots__ == tuple(f.name for f in fields(PriceRow))
    days = [date(2026, 1, 30), date(2026, 2, 2)]
    built = _price_rows("XLK", days, [None, 2.5], [1.0, 2.0])
    assert built == [PriceRow("XLK", days[0], None, 1.0), PriceRow("XLK", days[1], 2.5, 2.0)]
    assert all(type(row) is PriceRow for row in built)
    assert hash(built[1]) == hash(PriceRow("XLK", days[1], 2.5, 2.0))
