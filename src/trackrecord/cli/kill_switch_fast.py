"""The kill switch's fast path: ``kill-switch status`` and ``activate`` without Typer,
pydantic or SQLAlchemy (through ``trackrecord.ledger.kill_switch_sqlite``, stdlib ``sqlite3``
only), so they answer in a few tens of ms.

The console script (``trackrecord.cli.entry.main``) calls ``run_fast(argv)`` before
anything heavy is imported. It returns None whenever it is not sure it can do exactly
what the normal path does (another command, ``--help``, an unusual argument, a database
that is not a local SQLite file, an unmigrated database, trackrecord.yaml written in a
style it does not read): the caller then runs the normal Typer path, which gives the same
answers.

An ``activate`` here is the same ledger write as the normal path's, through the same
code: the event payload (``trackrecord.risk.killswitch.change_payload``), the ledger's one
append (``trackrecord.ledger.append``: canonical JSON, hash chain, the projector of
``trackrecord.ledger.projections``), a signed checkpoint of the new head, all in one
transaction under the same single-writer lock (``flock`` on ``trackrecord.db.lock``,
which is what ``filelock.FileLock`` takes on Unix).

The rendering functions at the end are shared with the normal path, so both print the
same text and JSON.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence

from trackrecord.cli.arguments import unreadable_argument
from trackrecord.domain.enums import TradingState
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger.kill_switch_sqlite import activate, read_status
from trackrecord.risk.killswitch import InvalidKillSwitchState, KillSwitchRefusal, KillSwitchStatus

CONFIG_FILE = "trackrecord.yaml"  # == trackrecord.config.CONFIG_FILE
DB_FILE = "trackrecord.db"  # == trackrecord.workspace.DB_FILE
HOME_ENV = "TRACKRECORD_HOME"  # == trackrecord.workspace.HOME_ENV
_GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")


@dataclass(frozen=True, slots=True)
class FastCommand:
    action: str  # "status" | "activate"
    home: str | None = None
    reason: str = ""
    reduce_only: bool = False
    as_json: bool = False


def run_fast(argv: Sequence[str], environ: Mapping[str, str] | None = None, cwd: str | None = None) -> int | None:
    """Run ``kill-switch status|activate`` and return its exit code, or None to let the
    normal command line handle ``argv``. Exit codes are the command line's
    (``trackrecord.errors``): 2 a refused change, 1 a run-time failure."""
    command = parse_argv(argv)
    if command is None or unreadable_argument(argv) is not None:  # the command line refuses it in one line
        return None
    environ = os.environ if environ is None else environ
    located = locate_workspace(command.home, environ, cwd or os.getcwd())
    if located is None:
        return None
    try:
        return _run(command, located)
    except KillSwitchRefusal as exc:
        return _fail(UserError(str(exc)))
    except (InvalidKillSwitchState, TimeoutError) as exc:
        return _fail(RuntimeFailure(str(exc)))


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def _fail(error: UserError | RuntimeFailure) -> int:
    sys.stderr.write(f"error: {error}\n")
    return error.exit_code


def _run(command: FastCommand, located: "LocatedWorkspace") -> int | None:
    if command.action == "status":
        status = read_status(located.database)
        if status is None:
            return None
        _print(status_document(status) if command.as_json else render_status(status), command.as_json)
        return 0
    changed = activate(located.root, located.database, command.reason, command.reduce_only,
                       datetime.now(timezone.utc), located.private_key, _warn)
    if changed is None:
        return None
    status, previous = changed
    _print(change_document(status, previous) if command.as_json else render_change(status, previous), command.as_json)
    return 0


def parse_argv(argv: Sequence[str]) -> FastCommand | None:
    """``[--home DIR] [-v|-q] kill-switch status [--json]`` or
    ``... kill-switch activate REASON [--reduce-only] [--json]``; anything else is None."""
    args = list(argv)
    home: str | None = None
    while args and args[0] != "kill-switch":
        head = args.pop(0)
        if head == "--home" and args:
            home = args.pop(0)
        elif head.startswith("--home="):
            home = head[len("--home="):]
        elif head not in _GLOBAL_FLAGS:
            return None
    if len(args) < 2 or args[1] not in ("status", "activate"):
        return None
    action, rest = args[1], args[2:]
    flags = {"--json"} | ({"--reduce-only"} if action == "activate" else set())
    positional = [item for item in rest if not item.startswith("-")]
    options = [item for item in rest if item.startswith("-")]
    if any(option not in flags for option in options) or len(options) != len(set(options)):
        return None
    if (action == "status" and positional) or (action == "activate" and len(positional) != 1):
        return None
    return FastCommand(action, home, positional[0] if positional else "", "--reduce-only" in options, "--json" in options)


@dataclass(frozen=True, slots=True)
class LocatedWorkspace:
    root: str
    database: str
    private_key: str | None  # signing.key_file, else None: keys/ledger.ed25519 in the workspace


def locate_workspace(home: str | None, environ: Mapping[str, str], cwd: str) -> LocatedWorkspace | None:
    """The workspace by the rules of ``trackrecord.workspace.locate``, its SQLite file and
    its signing key; None when the normal path must decide (no workspace, not SQLite, no
    database yet, a configuration this reader does not follow)."""
    where = home if home is not None else (environ.get(HOME_ENV) or cwd)
    root = os.path.realpath(os.path.join(cwd, os.path.expanduser(where)))
    config = os.path.join(root, CONFIG_FILE)
    if not os.path.isfile(config):
        return None
    try:
        with open(config, encoding="utf-8") as handle:
            values = config_values(handle.read())
    except (OSError, UnicodeDecodeError):
        return None
    if values is None:
        return None
    url, key_file = values.get(("database", "url")), values.get(("signing", "key_file"))
    if url is None:
        database = os.path.join(root, DB_FILE)
    elif url.startswith("sqlite:///") and "?" not in url and url != "sqlite:///:memory:":
        database = os.path.join(cwd, url[len("sqlite:///"):])
    else:
        return None
    if not os.path.isfile(database):
        return None
    private_key = os.path.join(root, os.path.expanduser(key_file)) if key_file else None
    return LocatedWorkspace(root, database, private_key)


def database_url(text: str) -> tuple[bool, str | None]:
    """``database.url`` from trackrecord.yaml: (understood, url)."""
    values = config_values(text)
    return (False, None) if values is None else (True, values.get(("database", "url")))


_READ_KEYS = {"database": ("url",), "signing": ("key_file",)}


def config_values(text: str) -> dict[tuple[str, str], str | None] | None:
    """``database.url`` and ``signing.key_file`` from trackrecord.yaml as ``trackrecord
    init`` writes it (block style, scalar values), keyed by (section, key). None means
    "not understood: ask the normal path", which parses the YAML properly."""
    section: str | None = None
    values: dict[tuple[str, str], str | None] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("---", "...", "%")) or "\t" in line[: len(line) - len(line.lstrip())]:
            return None
        if not line[0].isspace():
            key, _, value = stripped.partition(":")
            key = key.strip().strip("\"'")
            if not key.replace("_", "").replace("-", "").isalnum():
                return None
            section = key if key in _READ_KEYS else None
            if section is not None and _scalar(value) is not _EMPTY:
                return None
            continue
        if section is not None:
            key, _, value = stripped.partition(":")
            key = key.strip().strip("\"'")
            parsed = _scalar(value)
            if key not in _READ_KEYS[section] or parsed is _UNKNOWN or parsed is _EMPTY:
                return None
            if (section, key) in values:  # a repeated key: the normal path refuses or decides
                return None
            values[(section, key)] = parsed  # type: ignore[assignment]
    return values


_EMPTY = object()
_UNKNOWN = object()


def _scalar(value: str) -> object:
    """A YAML scalar after ``key:``: None for null, a str, _EMPTY, or _UNKNOWN."""
    value = value.strip()
    if value.startswith("#") or not value:
        return _EMPTY
    if value[0] == '"':
        end = value.find('"', 1)
        while end > 0 and value[end - 1] == "\\":
            end = value.find('"', end + 1)
        if end < 0 or value[end + 1:].strip()[:1] not in ("", "#"):
            return _UNKNOWN
        try:
            return json.loads(value[: end + 1])
        except ValueError:
            return _UNKNOWN
    if value[0] == "'":
        end = value.find("'", 1)
        if end < 0 or "''" in value or value[end + 1:].strip()[:1] not in ("", "#"):
            return _UNKNOWN
        return value[1:end]
    plain = value.split(" #", 1)[0].strip()
    if plain in ("null", "~", "Null", "NULL"):
        return None
    if plain[0] in "{[&*!|>@`" or ": " in plain:
        return _UNKNOWN
    return plain


# ---------------------------------------------------------------------------------------
# Rendering, shared with the normal path (trackrecord.cli.execution_commands)

_CONSEQUENCE = {
    TradingState.ACTIVE: "orders are sent as planned",
    TradingState.REDUCING: "only orders that shrink a position are sent; `trackrecord kill-switch deactivate` to resume",
    TradingState.HALTED: "every new order is refused; `trackrecord kill-switch deactivate` to resume",
}


def _label(state: TradingState) -> str:
    return "REDUCING (reduce-only)" if state is TradingState.REDUCING else state.value


def status_document(status: KillSwitchStatus) -> dict:
    return status.document()


def change_document(status: KillSwitchStatus, previous: TradingState) -> dict:
    return {**status.document(), "previous_state": previous.value}


def render_status(status: KillSwitchStatus) -> str:
    if status.seq is None:
        return f"kill switch {_label(status.state)}: never changed; {_CONSEQUENCE[status.state]}"
    why = f": {status.reason}" if status.reason else ""
    return (f"kill switch {_label(status.state)} since {status.changed_at} (seq {status.seq}){why}\n"
            f"  {_CONSEQUENCE[status.state]}")


def render_change(status: KillSwitchStatus, previous: TradingState) -> str:
    why = f": {status.reason}" if status.reason else ""
    return (f"kill switch {_label(status.state)} (was {previous.value}), seq {status.seq}{why}\n"
            f"  {_CONSEQUENCE[status.state]}")


def _print(document: object, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(f"{document}\n")
