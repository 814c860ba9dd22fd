"""The workspace files the ledger vouches for: each Flex statement under ``statements/``
against its ``reconciliation.done`` sha256, each monthly and weekly report PDF under
``reports/`` against its ``report.generated`` sha256.

A file is judged against the latest event that names its path: a report rebuilt from a
later head overwrites its file and records the new hash. A missing file is a warning (it
can be rebuilt or restored; the ledger still holds its hash); a file whose bytes no longer
hash to the recorded sha256 is a problem naming the file and the event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent

CHECKED_FOLDERS = ("statements/", "reports/")


@dataclass(frozen=True)
class RecordedFile:
    path: str  # relative to the workspace, as the event recorded it
    sha256: str
    seq: int
    kind: str


@dataclass(frozen=True)
class FileFindings:
    checked: int
    problems: tuple[tuple[int, str], ...]  # (seq, message)
    warnings: tuple[str, ...]


class RecordedFiles:
    """The latest recorded hash of each statement and report file, by path, from the events
    ``see`` is shown in seq order (a witness of the one pass ``verify`` makes over the chain)."""

    def __init__(self) -> None:
        self._latest: dict[str, RecordedFile] = {}

    def see(self, event: StoredEvent) -> None:
        found = _named_file(event)
        if found is not None and found.path.startswith(CHECKED_FOLDERS) and ".." not in Path(found.path).parts:
            self._latest[found.path] = found

    def files(self) -> list[RecordedFile]:
        return [self._latest[path] for path in sorted(self._latest)]


def _named_file(event: StoredEvent) -> RecordedFile | None:
    if event.kind == kinds.RECONCILIATION_DONE:
        statement = json.loads(event.payload).get("statement")
        return _file_of(statement if isinstance(statement, dict) else {}, "file", event)
    if event.kind == kinds.REPORT_GENERATED:
        return _file_of(json.loads(event.payload), "path", event)
    return None


def _file_of(data: dict[str, Any], key: str, event: StoredEvent) -> RecordedFile | None:
    path, digest = data.get(key), data.get("sha256")
    if not (isinstance(path, str) and path and isinstance(digest, str)):
        return None
    return RecordedFile(path, digest, event.seq, event.kind)


def check_files(files: list[RecordedFile], root: Path) -> FileFindings:
    problems: list[tuple[int, str]] = []
    warnings: list[str] = []
    for recorded in files:
        try:
            content = (root / recorded.path).read_bytes()
        except FileNotFoundError:
            warnings.append(f"{recorded.path}: missing (recorded by {recorded.kind} seq {recorded.seq}); "
                            "restore it from a backup or rebuild it")
            continue
        except OSError as exc:
            problems.append((recorded.seq, f"{recorded.path}: cannot be read ({exc.strerror or exc})"))
            continue
        actual = hashlib.sha256(content).hexdigest()
        if actual != recorded.sha256:
            problems.append((recorded.seq, f"{recorded.path}: edited: its sha256 {actual[:16]}... is not the "
                             f"{recorded.sha256[:16]}... that {recorded.kind} seq {recorded.seq} recorded"))
    return FileFindings(len(files), tuple(problems), tuple(warnings))
