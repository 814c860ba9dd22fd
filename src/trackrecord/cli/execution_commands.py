"""Execution commands: ``kill-switch`` (status | activate | deactivate).

``kill-switch status`` and ``activate`` usually answer through the stdlib-only fast path
(``trackrecord.cli.kill_switch_fast``) before Typer is imported; these are the same
commands on the normal path (PostgreSQL, ``--help``, anything the fast path leaves alone),
printing the same text and JSON.
"""

from __future__ import annotations

import sys

import typer

from trackrecord.cli import context
from trackrecord.cli.kill_switch_fast import change_document, render_change, render_status, status_document
from trackrecord.errors import UserError
from trackrecord.risk.killswitch import CONFIRMATION_WORD, KillSwitchRefusal, deactivation_state


def kill_switch_status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Show the kill switch: ACTIVE, REDUCING (reduce-only) or HALTED, since when and why."""
    from trackrecord.engine.kill_switch import read_status

    services = context.services(ctx)
    with services.engine.connect() as conn:
        status = read_status(conn)
    _show(status_document(status) if as_json else render_status(status), as_json)


def kill_switch_activate(
    ctx: typer.Context,
    reason: str = typer.Argument(..., help="why (kept in the ledger)"),
    reduce_only: bool = typer.Option(False, "--reduce-only", help="allow orders that shrink a position"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Stop trading now: HALTED refuses every new order; --reduce-only allows only shrinking ones."""
    from trackrecord.engine.kill_switch import activate

    services = context.services(ctx)
    status, previous = _refusals_as_user_errors(lambda: activate(services.ledger, reason, reduce_only))
    _show(change_document(status, previous) if as_json else render_change(status, previous), as_json)


def kill_switch_deactivate(
    ctx: typer.Context,
    reason: str = typer.Option("deactivated from the command line", "--reason", help="why (kept in the ledger)"),
    reduce_only: bool = typer.Option(False, "--reduce-only", help="loosen HALTED to reduce-only, not to ACTIVE"),
    yes: bool = typer.Option(False, "--yes", help="skip the typed confirmation"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Resume trading (asks you to type DEACTIVATE unless --yes)."""
    from trackrecord.engine.kill_switch import deactivate, read_status

    services = context.services(ctx)
    with services.engine.connect() as conn:
        current = read_status(conn)
    target = deactivation_state(current.state, reduce_only)
    if target is None:
        message = f"kill switch is already {current.state.value}: nothing to deactivate, nothing written"
        _show({**status_document(current), "changed": False} if as_json else message, as_json)
        return
    if not yes:
        _confirm(current.state.value, target.value)
    status, previous = deactivate(services.ledger, reason, reduce_only)
    if previous is None:  # changed by someone else while we asked: nothing written, show what is there
        _show({**status_document(status), "changed": False} if as_json else render_status(status), as_json)
        return
    _show(change_document(status, previous) if as_json else render_change(status, previous), as_json)


def _confirm(current: str, target: str) -> None:
    typer.echo(f"The kill switch is {current}. Deactivating moves it to {target}: the engine may send orders again.",
               err=True)
    sys.stderr.write(f"Type {CONFIRMATION_WORD} to confirm: ")
    sys.stderr.flush()
    answer = sys.stdin.readline()  # not typer.prompt: it writes to stdout, which --json keeps for the document
    if answer.strip() != CONFIRMATION_WORD:
        raise UserError(f"confirmation did not match {CONFIRMATION_WORD!r}: the kill switch stays {current}, "
                        "nothing was written")


def _refusals_as_user_errors(action):  # type: ignore[no-untyped-def]

    try:
        return action()
    except KillSwitchRefusal as exc:
        raise UserError(str(exc)) from None


def _show(document: object, as_json: bool) -> None:
    if as_json:
        context.print_json(document)
    else:
        typer.echo(str(document))


def register_kill_switch(app: typer.Typer) -> None:
    group = typer.Typer(help="Stop or restrict trading at once (checked before every order).", no_args_is_help=True)
    group.command("status")(kill_switch_status)
    group.command("activate")(kill_switch_activate)
    group.command("deactivate")(kill_switch_deactivate)
    app.add_typer(group, name="kill-switch")


def register(app: typer.Typer) -> None:
    register_kill_switch(app)
