"""A run builds the command line of its command's module alone (``COMMAND_OF``): the map
must name every top-level command and group where it is registered, and anything it does
not name builds the whole command line."""

from __future__ import annotations

import importlib

import typer

from trackrecord.cli.app import COMMAND_MODULES, COMMAND_OF, command_modules


def _registered(module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(module).register(app)
    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}  # type: ignore[union-attr]
    return commands | {g.name or g.typer_instance.info.name for g in app.registered_groups}  # type: ignore[misc]


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    registered = {name: module for module in COMMAND_MODULES for name in _registered(module)}
    assert COMMAND_OF == registered, "add the new command to trackrecord.cli.app.COMMAND_OF"


def test_a_run_builds_only_its_commands_module() -> None:
    backtest = ("trackrecord.cli.backtest_commands",)
    assert command_modules(["--home", "ws", "backtest", "--from", "2020-01-01"]) == backtest
    assert command_modules(["--home=ws", "-v", "backtest"]) == backtest
    assert command_modules(["--home", "stats", "-q", "backtest"]) == backtest  # a folder named like a command
    assert command_modules(["stats", "--json"]) == ("trackrecord.cli.analytics_commands",)
    assert command_modules(["prices", "update"]) == ("trackrecord.cli.market_commands",)


def test_help_version_and_unknown_commands_build_the_whole_command_line() -> None:
    for args in ([], ["--help"], ["--version"], ["--home", "ws"], ["-vq", "stats"], ["no-such-command"], ["--"]):
        assert command_modules(args) == COMMAND_MODULES, args
