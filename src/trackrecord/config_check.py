"""``config check``: every problem of ``trackrecord.yaml`` at once, each naming the file, the
line where known, the key, the value found and what was expected, plus warnings about
settings that are valid but probably not what the trader meant.

Commands that load the configuration stop at the first problem (``config.load_settings``);
this module collects them all for ``config check --json``, and its first error is the same
line those commands print.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trackrecord.config import (
    YAHOO_CLOSE_SETTLES_MINUTES,
    Settings,
    UniqueKeyLoader,
    check_references,
    explain_error,
    format_location,
    more_problems,
    top_level_message,
    yaml_error,
)
from trackrecord.domain import Mode
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import read_utf8

# A message that opens with a dotted key ("risk.max_position_weight 0.2 is below ...") names
# the key a cross-field rule is about; pydantic only knows the model it ran on.
_LEADING_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+|\[\d+\])+)")
_SECRET_KEYS = re.compile(r"^(database\.url|notifications\.webhooks\[\d+\]\.url)$")
_UNKNOWN_KEY = "no such key (a typo?): `trackrecord config show` lists the known keys with their values"


@dataclass(frozen=True)
class ConfigProblem:
    """One error or warning. ``key`` is dotted (``universe.instruments[0].currency``), None
    for the file as a whole; ``value`` is what the file holds there (None for a secret, a
    mapping or a list)."""

    file: str
    line: int | None
    key: str | None
    value: str | int | float | bool | None
    expected: str
    message: str

    def document(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "value": self.value,
                "expected": self.expected, "message": self.message}


@dataclass(frozen=True)
class ConfigCheck:
    file: str
    errors: tuple[ConfigProblem, ...]
    warnings: tuple[ConfigProblem, ...]
    settings: Settings | None

    @property
    def ok(self) -> bool:
        return not self.errors

    def first_error_line(self) -> str:
        """The one line every other command prints for this file (with how many more)."""
        return f"{self.errors[0].message}{more_problems(len(self.errors) - 1)}"

    def document(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "ok": self.ok, "file": self.file,
            "mode": settings.mode.value if settings else None,
            "instruments": len(settings.universe.instruments) if settings else None,
            "errors": [p.document() for p in self.errors],
            "warnings": [p.document() for p in self.warnings],
        }


def check_config_file(path: Path) -> ConfigCheck:
    """Read, parse and validate ``path``; never raises for a bad file (that is the result)."""
    source = str(path)
    try:
        text, _ = read_utf8(path, "the configuration")
    except UserError as exc:
        return _refused(source, _file_problem(source, str(exc)))
    try:
        root, data = _parsed(text)
    except yaml.YAMLError as exc:
        return _refused(source, _yaml_problem(source, exc))
    except RecursionError:
        return _refused(source, _file_problem(source, f"{source}: malformed YAML: nested too deeply"))
    lines = _key_lines(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return _refused(source, _file_problem(source, top_level_message(source, data)))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        return ConfigCheck(source, tuple(_validation_problem(source, e, data, lines) for e in exc.errors()),
                           (), None)
    try:
        check_references(settings, source)
    except UserError as exc:
        key = "universe.calendar"
        return ConfigCheck(source, (_keyed(source, lines, key, settings.universe.calendar, str(exc)),), (), None)
    return ConfigCheck(source, (), tuple(_warnings(source, settings, lines)), settings)


def _refused(source: str, problem: ConfigProblem) -> ConfigCheck:
    return ConfigCheck(source, (problem,), (), None)


def _file_problem(source: str, message: str) -> ConfigProblem:
    where = re.match(rf"^{re.escape(source)}:(\d+):", message)
    expected = re.sub(rf"^{re.escape(source)}:(\d+:)? ?", "", message)
    return ConfigProblem(source, int(where.group(1)) if where else None, None, None, expected, message)


def _parsed(text: str) -> tuple[Any, Any]:
    """(the node tree, for the keys' lines; the data) from one parse, as ``yaml.load`` builds it."""
    loader = UniqueKeyLoader(text)
    try:
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def _yaml_problem(source: str, exc: yaml.YAMLError) -> ConfigProblem:
    line, problem, message = yaml_error(source, exc)
    return ConfigProblem(source, line, None, None, problem, message)


def _validation_problem(source: str, error: Any, data: dict[str, Any],
                        lines: dict[str, int]) -> ConfigProblem:
    location = tuple(item for item in error.get("loc", ()) if item != "[key]")
    key = format_location(location) or None
    named = _LEADING_KEY.match(str(error.get("msg", "")).removeprefix("Value error, "))
    if named and (key is None or named.group(1).startswith(f"{key}.")):
        key = named.group(1)
    if error.get("type") == "extra_forbidden":
        expected = _UNKNOWN_KEY
    else:
        expected = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return ConfigProblem(source, _line_of(lines, key), key, _shown_value(key, _value_at(data, key)), expected,
                         f"{source}: {explain_error(error)}")


def _keyed(source: str, lines: dict[str, int], key: str, value: Any, message: str) -> ConfigProblem:
    expected = message.removeprefix(f"{source}: ").removeprefix(f"key '{key}': ")
    return ConfigProblem(source, _line_of(lines, key), key, _shown_value(key, value), expected, message)


def _warnings(source: str, settings: Settings, lines: dict[str, int]) -> list[ConfigProblem]:
    """Valid settings that quietly do less than the trader probably means."""
    found: list[ConfigProblem] = []

    def warn(key: str, value: Any, expected: str, what: str) -> None:
        found.append(ConfigProblem(source, _line_of(lines, key), key, _shown_value(key, value), expected,
                                   f"{source}: key '{key}': {what}"))

    if settings.mode is Mode.LIVE and not settings.account.account_id:
        warn("account.account_id", None, "the IB account trackrecord trades, e.g. U1234567",
             "mode is live but no account is named: orders go to whichever account the gateway is logged in to")
    if "flex" in settings.scheduler.jobs and settings.flex.query_id is None:
        warn("flex.query_id", None, "the Activity Flex query's id, a number such as 123456",
             "scheduler.jobs runs flex but flex.query_id is not set: the flex job skips every day")
    close_job = settings.scheduler.close_minutes_after_close
    if settings.prices.source == "yahoo" and close_job < YAHOO_CLOSE_SETTLES_MINUTES:
        warn("scheduler.close_minutes_after_close", close_job, f"{YAHOO_CLOSE_SETTLES_MINUTES} or more",
             f"Yahoo's bar of a session is fetched no sooner than {YAHOO_CLOSE_SETTLES_MINUTES} minutes after its "
             "close (until then it holds the last trade): a close job run sooner fails and waits for its retry")
    for index, hook in enumerate(settings.notifications.webhooks):
        if hook.url:
            warn(f"notifications.webhooks[{index}].url", hook.url, "url_env naming an environment variable",
                 "the webhook URL is written in trackrecord.yaml: for Slack and Discord it is a secret; "
                 "use url_env")
    return found


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Dotted key -> 1-based line of the key in the file (of the item, in a list)."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines.setdefault(key, key_node.start_mark.line + 1)
            lines.update({k: v for k, v in _key_lines(value_node, key).items() if k not in lines})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = f"{prefix}[{index}]"
            lines.setdefault(key, item.start_mark.line + 1)
            lines.update({k: v for k, v in _key_lines(item, key).items() if k not in lines})
    return lines


def _line_of(lines: dict[str, int], key: str | None) -> int | None:
    """The key's line, else its nearest parent's (a missing key's model, say)."""
    while key:
        if key in lines:
            return lines[key]
        key = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", key) if re.search(r"(\.[^.\[]+|\[\d+\])$", key) else ""
    return None


def _value_at(data: Any, key: str | None) -> Any:
    if key is None:
        return None
    current = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if part.startswith("[") and isinstance(current, list):
            index = int(part[1:-1])
            current = current[index] if index < len(current) else None
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def _shown_value(key: str | None, value: Any) -> str | int | float | bool | None:
    if key is not None and _SECRET_KEYS.match(key):
        return None if value is None else "***"
    if isinstance(value, (Decimal, date)) or (isinstance(value, float) and not math.isfinite(value)):
        return str(value)  # JSON has no NaN
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None
