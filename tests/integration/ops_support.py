"""The paper workspace the scheduler, run-job and doctor tests start from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def paper_workspace(cli: Any, root: Path, heartbeat_seconds: int | None = None) -> Path:
    """``init --prices synthetic`` in ``mode: paper`` with prices from 2024-06-01 (none fetched yet)."""
    assert cli("init", root, "--prices", "synthetic").code == 0
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    text = text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"')
    if heartbeat_seconds is not None:
        text = text.replace("heartbeat_seconds: 30", f"heartbeat_seconds: {heartbeat_seconds}")
    config.write_text(text)
    return root
