"""Where each snapshot and fill of a record came from: the broker, an import, or a simulation.

A payload is ``simulated`` when it says so (the simulated broker's snapshots and fills);
else ``imported`` when its ``provenance.source`` is ``import`` or ``seed import`` (what
``trackrecord import`` records, with the file's sha256), or, for payloads recorded before
provenance existed, when its ``source`` starts with ``import``; else ``broker`` (recorded by
the engine from the account). Shares are by count of snapshots or fills.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

IMPORT_SOURCES = frozenset({"import", "seed import"})


class Origin(str, Enum):
    BROKER = "broker"
    IMPORTED = "imported"
    SIMULATED = "simulated"


def origin_of(payload: Mapping[str, Any]) -> Origin:
    """The origin of one snapshot or fill payload (see the module docstring)."""
    if payload.get("simulated"):
        return Origin.SIMULATED
    provenance = payload.get("provenance")
    declared = provenance.get("source") if isinstance(provenance, Mapping) else None
    if declared in IMPORT_SOURCES or str(payload.get("source") or "").startswith("import"):
        return Origin.IMPORTED
    return Origin.BROKER


def origin_shares(origins: Iterable[Origin]) -> dict[str, float]:
    """``{"broker": share, "imported": share, "simulated": share}``, shares summing to 1
    (all 0.0 when there is nothing)."""
    counts = Counter(origins)
    total = sum(counts.values())
    return {o.value: counts[o] / total if total else 0.0 for o in Origin}
