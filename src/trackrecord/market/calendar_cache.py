"""Exchange calendars kept on disk, so that a command does not build one with
exchange_calendars (and import it and pandas: half a second or more) in every process.

One file per exchange and library version, ``calendar-<CODE>-<version>.bin`` in the cache
folder (``$TRACKRECORD_CACHE_DIR``, else ``$XDG_CACHE_HOME/trackrecord``, else
``~/.cache/trackrecord``): a JSON header line, then the sessions (int64 days since 1970) and
the closes (int64 UTC seconds). The header holds the key (exchange, exchange_calendars
version, the start the calendar was built from, the UTC date it was built on: the library's
horizon moves daily) and a SHA-256 over the key and the arrays. A file whose key does not
match, or that is unreadable, truncated or altered, is ignored and rebuilt; a folder we cannot
write just means no cache. Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

FORMAT = 1
CACHE_DIR_ENV = "TRACKRECORD_CACHE_DIR"
_PLAIN_CODE = re.compile(r"^[A-Za-z0-9_]{1,24}$")


@dataclass(frozen=True)
class CachedCalendar:
    """A calendar to the library's horizon, as stored: built from ``start``."""

    code: str
    start: date
    timezone: str
    sessions: np.ndarray  # datetime64[D]
    closes: np.ndarray  # datetime64[s] UTC


def cache_dir() -> Path:
    """Where trackrecord keeps files it can always rebuild."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "trackrecord"


def load(code: str) -> CachedCalendar | None:
    """The stored calendar of ``code`` built today (UTC) by the installed exchange_calendars,
    or None (no such file, another key, or a file that fails its checksum)."""
    key = _key(code)
    found = _read(code, key)
    if found is None or key is None:
        return None
    header, body = found
    if {k: header[k] for k in key} != key:
        return None
    try:
        count = header["sessions"]
        days = np.frombuffer(body, dtype="<i8", count=count)
        seconds = np.frombuffer(body, dtype="<i8", offset=8 * count)
        return CachedCalendar(code, date.fromisoformat(header["start"]), str(header["timezone"]),
                              days.astype("datetime64[D]"), seconds.astype("datetime64[s]"))
    except (ValueError, KeyError, TypeError):
        return None


def holds(code: str) -> bool:
    """True when a sound file of ``code`` from the installed exchange_calendars is stored
    (of any day): only a code the library knows was ever built, so it is a valid code."""
    key = _key(code)
    found = _read(code, key)
    return found is not None and key is not None and found[0].get("code") == code and \
        found[0].get("exchange_calendars") == key["exchange_calendars"]


def _read(code: str, key: dict[str, str] | None) -> tuple[dict, bytes] | None:  # type: ignore[type-arg]
    """(header, body) of the file of ``code``, if it is whole and unaltered."""
    path = _path(code, key)
    if path is None:
        return None
    try:
        head, _, body = path.read_bytes().partition(b"\n")
        header = json.loads(head)
        count = header["sessions"]
        if header.get("format") != FORMAT or not isinstance(count, int) or len(body) != 16 * count:
            return None
        if header["sha256"] != _digest(_signed_part(header), body):
            return None
        return header, body
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(calendar: CachedCalendar) -> None:
    """Write ``calendar`` atomically (a temporary file, then a rename); silently nothing
    when the cache folder cannot be written."""
    key = _key(calendar.code)
    path = _path(calendar.code, key)
    if key is None or path is None:
        return
    days = np.ascontiguousarray(calendar.sessions.astype("datetime64[D]").astype("<i8"))
    seconds = np.ascontiguousarray(calendar.closes.astype("datetime64[s]").astype("<i8"))
    body = days.tobytes() + seconds.tobytes()
    header: dict[str, object] = {"format": FORMAT, **key, "start": calendar.start.isoformat(),
                                 "timezone": calendar.timezone, "sessions": int(days.size)}
    header["sha256"] = _digest(_signed_part(header), body)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(json.dumps(header, sort_keys=True).encode() + b"\n" + body)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return


def _key(code: str) -> dict[str, str] | None:
    try:
        library = version("exchange_calendars")
    except PackageNotFoundError:
        return None
    return {"code": code, "exchange_calendars": library, "built_on": datetime.now(timezone.utc).date().isoformat()}


def _path(code: str, key: dict[str, str] | None) -> Path | None:
    if key is None:
        return None
    name = code if _PLAIN_CODE.match(code) else hashlib.sha256(code.encode()).hexdigest()[:16]
    library = re.sub(r"[^A-Za-z0-9_.+-]", "_", key["exchange_calendars"])
    return cache_dir() / f"calendar-{name}-{library}.bin"


def _signed_part(header: dict[str, object]) -> bytes:
    return json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode()


def _digest(head: bytes, body: bytes) -> str:
    return hashlib.sha256(head + b"\n" + body).hexdigest()
