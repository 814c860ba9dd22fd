"""CLI options with hostile values: `cashflow add`, `prices show`, `stats FROM TO`, `ledger log`."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, run_checked

HOSTILE_NUMBERS = ["1e400", "1e999999", "1e-999999", "1e99999999", "NaN", "-inf", "Infinity", "0E-999999", "",
                   " ", "1,000", "1_000", "0x10", "١٠٠", "--1", "1e", "9" * 400, "-0", "1e15", "999999999999999.99"]
numbers = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.decimals(allow_nan=True, allow_infinity=True).map(str),
                    st.floats().map(repr), st.text(max_size=30))
dates = st.one_of(st.dates().map(str), st.text(max_size=20),
                  st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31", "2026-1-5", "20260105", "today"]))
texts = st.text(max_size=300)


@FUZZ
@given(amount=numbers, day=dates, note=texts, currency=st.one_of(st.none(), st.text(max_size=5)))
@example(amount="1e99999999", day="2026-01-05", note="", currency=None)
def test_cashflow_add_options(paper: Path, cli, amount: str, day: str, note: str, currency: str | None) -> None:  # type: ignore[no-untyped-def]
    args = ["cashflow", "add", "--date", day, "--amount", amount, "--note", note, "--again"]
    if currency is not None:
        args += ["--currency", currency]
    result = run_checked(cli, paper, *_known_options(cli, args), allowed=(0, 2))
    if result.code == 0:
        assert "recorded" in result.out


def _known_options(cli, args: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """``--again`` only where this version of `cashflow add` has it (it asks for it on a repeat)."""
    if "--again" in args and "--again" not in cli("cashflow", "add", "--help").out:
        args.remove("--again")
    return args


@FUZZ
@given(symbol=st.one_of(st.sampled_from(["SXLK", "sxlk", "SPY", ""]), st.text(max_size=50)),
       last=st.one_of(st.integers(min_value=-10, max_value=10**30).map(str), st.text(max_size=10)))
def test_prices_show_options(paper: Path, cli, symbol: str, last: str) -> None:  # type: ignore[no-untyped-def]
    run_checked(cli, paper, "prices", "show", symbol, "--last", last)


@FUZZ
@given(start=dates, end=dates)
@example(start="2026-01-01", end="2025-01-01")
def test_stats_dates(paper: Path, cli, start: str, end: str) -> None:  # type: ignore[no-untyped-def]
    run_checked(cli, paper, "stats", start, end)


@FUZZ
@given(after=st.one_of(st.integers(min_value=-10**30, max_value=10**30).map(str), st.text(max_size=10)),
       limit=st.one_of(st.integers(min_value=-10**30, max_value=10**30).map(str), st.text(max_size=10)),
       kind=st.one_of(st.none(), st.text(max_size=20)))
def test_ledger_log_options(paper: Path, cli, after: str, limit: str, kind: str | None) -> None:  # type: ignore[no-untyped-def]
    args = ["ledger", "log", "--after", after, "--limit", limit, "--json"]
    if kind is not None:
        args += ["--kind", kind]
    run_checked(cli, paper, *args)
