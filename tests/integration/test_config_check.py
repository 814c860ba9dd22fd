"""`config check` (and every command that loads trackrecord.yaml) refuses what would fail later:
one line naming the key (and file/line where known), exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest


def _edit(root: Path, old: str, new: str) -> None:
    config = root / "trackrecord.yaml"
    text = config.read_text()
    assert old in text, old
    config.write_text(text.replace(old, new, 1))


def _refused(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result
    assert "Traceback" not in result.err + result.out
    for word in words:
        assert word in result.err, (word, result.err)


CASES = [
    ("base_currency_without_fx_rate", 'base_currency: "GBP"', 'base_currency: "GBP"', "us", ("prices.fx_rates", "USD")),
    ("csv_source_without_folder", 'source: "yahoo"', 'source: "csv"', "uk", ("prices.csv_dir",)),
    ("unknown_calendar", 'calendar: "XLON"', 'calendar: "XNYZ"', "uk", ("universe.calendar", "XNYZ")),
    ("history_start_month_31", 'history_start: "2015-01-01"', 'history_start: "2015-31-01"', "uk",
     ("prices.history_start", "2015-31-01")),
    ("history_start_word", 'history_start: "2015-01-01"', "history_start: sometime", "uk", ("prices.history_start",)),
    ("database_url_not_a_url", "url: null", 'url: "not a url"', "uk", ("database.url",)),
    ("database_url_mongodb", "url: null", 'url: "mongodb://trader:s3cret@db.example/track"', "uk",
     ("database.url", "mongodb")),
    ("nan_limit", "max_daily_move: 0.25", "max_daily_move: .nan", "uk", ("prices.max_daily_move", "finite")),
    ("infinite_limit", "daily_loss_limit: 0.05", "daily_loss_limit: .inf", "uk", ("risk.daily_loss_limit",)),
    ("huge_decimal_limit", 'max_order_value: "250000"', 'max_order_value: "1e400"', "uk", ("risk.max_order_value",)),
    ("unknown_price_unit", '"price_unit": "GBX"', '"price_unit": "pounds"', "uk", ("price_unit", "pounds")),
    ("non_ascii_currency", 'base_currency: "GBP"', 'base_currency: "ÉUR"', "uk", ("account.base_currency",)),
    ("two_letter_currency", '"currency": "GBP", "price_unit"', '"currency": "GB", "price_unit"', "uk",
     ("universe.instruments[0].currency",)),
    ("zero_fx_rate", "fx_rates: {}", "fx_rates: {USD: 0}", "uk", ("prices.fx_rates", "above zero")),
    ("negative_fx_rate", "fx_rates: {}", "fx_rates: {USD: '-0.8'}", "uk", ("prices.fx_rates", "above zero")),
    ("duplicate_mode_key", 'mode: "dry_run"', 'mode: "dry_run"\nmode: "live"', "uk", ("'mode' appears twice", "line 5")),
    # YAML reads yes/no, on/off as booleans: pydantic took `top_n: yes` for 1 and `max_orders_per_run: off` for 0
    ("top_n_yes", "top_n: 3 ", "top_n: yes ", "uk", ("strategy.top_n", "expected a number, not true")),
    ("max_orders_off", "max_orders_per_run: 20 ", "max_orders_per_run: off ", "uk",
     ("risk.max_orders_per_run", "expected a number, not false")),
    ("order_type_on", 'order_type: "MOC"', "order_type: on", "uk", ("strategy.order_type", "one of 'MOC', 'MKT'")),
    ("mode_no", 'mode: "dry_run"', "mode: no", "uk", ("key 'mode'", "not false")),
]


@pytest.mark.parametrize(("name", "old", "new", "universe", "words"), CASES, ids=[c[0] for c in CASES])
def test_config_check_refuses_what_fails_later(tmp_path: Path, cli, name: str, old: str, new: str, universe: str,
                                               words: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    extra = ("--universe", "us-sectors", "--base-currency", "USD") if universe == "us" else ()
    assert cli("init", root, *extra).code == 0
    if name == "base_currency_without_fx_rate":
        old, new = 'base_currency: "USD"', 'base_currency: "GBP"'
    assert cli("--home", root, "config", "check").code == 0
    _edit(root, old, new)
    _refused(cli("--home", root, "config", "check"), str(root / "trackrecord.yaml"), *words)
    if "mongodb" in new:
        assert "s3cret" not in cli("--home", root, "config", "check").err


def test_a_duplicate_mode_key_no_longer_silently_wins(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _edit(workspace, 'mode: "dry_run"', 'mode: "paper"\nmode: "dry_run"')
    _refused(cli("--home", workspace, "signal"), "'mode' appears twice")


@pytest.mark.parametrize("command", [("config", "check"), ("signal",), ("ledger", "log")])
@pytest.mark.parametrize("content", [b'mode: "caf\xe9"\n', bytes(range(256)) * 4], ids=["latin1", "binary"])
def test_a_latin1_or_binary_config_is_one_line_in_every_command(workspace: Path, cli, command: tuple[str, ...],
                                                                content: bytes) -> None:  # type: ignore[no-untyped-def]
    (workspace / "trackrecord.yaml").write_bytes(content)
    _refused(cli("--home", workspace, *command), "trackrecord.yaml", "UTF-8")


def test_gbp_pence_notation_means_pence_and_unknown_units_are_refused(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import json

    _edit(workspace, '"price_unit": "GBX"', '"price_unit": "GBp"')
    shown = cli("--home", workspace, "config", "show", "--json")
    assert shown.code == 0, shown
    assert json.loads(shown.out)["universe"]["instruments"][0]["price_unit"] == "GBX"  # pence, not pounds
    _edit(workspace, '"price_unit": "GBp"', '"price_unit": "USD"')
    _refused(cli("--home", workspace, "config", "check"), "price_unit", "USD")


def test_unquoted_history_start_date_is_accepted(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _edit(workspace, 'history_start: "2015-01-01"', "history_start: 2016-01-04")
    assert cli("--home", workspace, "config", "check").code == 0


def test_init_with_a_foreign_universe_needs_a_matching_base_currency(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _refused(cli("init", tmp_path / "us", "--universe", "us-sectors"), "use --base-currency USD",
             "or --universe uk-sectors")
    assert not (tmp_path / "us" / "trackrecord.yaml").exists()
    uk = cli("init", tmp_path / "uk", "--base-currency", "USD")  # it used to say "use --base-currency USD" here
    _refused(uk, "use --base-currency GBP", "or --universe us-sectors")
    assert "use --base-currency USD" not in uk.err and not (tmp_path / "uk").exists()
    assert cli("init", tmp_path / "csv", "--prices", "csv").code == 0
    assert cli("--home", tmp_path / "csv", "config", "check").code == 0


def test_a_switch_still_takes_yes_and_no(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _edit(workspace, "read_only: false", "read_only: no")
    _edit(workspace, "allow_initial_deployment: true", "allow_initial_deployment: yes")
    assert cli("--home", workspace, "config", "check").code == 0
