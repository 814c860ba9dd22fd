"""``trackrecord dashboard --export DIR``: the dashboard as a static site (HTML, the vendored
JS and CSS, the JSON documents, the reports) that opens from ``file://`` with no server.
Every page carries the ledger head it was built from; ``manifest.json`` lists each file
with its sha256. Nothing is written into the workspace.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrecord.dashboard.documents import DashboardDocuments
from trackrecord.dashboard.pages import PAGES, STATIC, Links, Renderer
from trackrecord.errors import RuntimeFailure, UserError

if TYPE_CHECKING:
    from trackrecord.services import Services


@dataclass(frozen=True, slots=True)
class ExportedSite:
    root: Path
    pages: int
    documents: int
    reports: int
    head_seq: int


def _documents(docs: DashboardDocuments) -> dict[str, Callable[[], Any]]:
    built: dict[str, Callable[[], Any]] = {
        "summary": docs.summary, "trades": docs.trades, "slippage": docs.slippage, "orders": docs.orders,
        "orders-history": docs.order_history, "signals": docs.signals, "kill-switch": docs.kill_switch,
        "ledger": docs.ledger_overview, "verify": docs.verify, "reports": docs.reports,
        "annotations": docs.annotations, "series": docs.chart_series,
    }
    if docs.has_snapshots():
        built["stats"] = docs.stats
    return built


def export_site(services: "Services", target: Path, clock: Callable[[], datetime]) -> ExportedSite:
    """Write the site into ``target`` (a new or empty folder)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(f"--export {target}: expected a new or empty folder (nothing was written)")
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--export {target}: cannot make the folder ({exc.strerror or exc}); nothing was written") \
            from None
    try:
        return _write_site(services, target, clock)
    except BaseException as exc:  # a failure or Ctrl-C leaves no half-written site
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            _empty(target)
        if isinstance(exc, OSError):
            raise RuntimeFailure(f"--export {target}: could not write the site ({exc.strerror or exc}); "
                                 "nothing was kept") from None
        raise


def _empty(folder: Path) -> None:
    """The folder as it was found: empty (``export_site`` takes no other)."""
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _write_site(services: "Services", target: Path, clock: Callable[[], datetime]) -> ExportedSite:
    docs = DashboardDocuments(services, clock)
    head_seq, head_hash = docs.head()
    renderer = Renderer(docs, Links(exported=True))
    shutil.copytree(STATIC, target / "static")
    for name, _ in PAGES:
        extra = {"verify": True} if name == "ledger" else {}
        html = renderer.render(name, **extra)
        (target / ("index.html" if name == "overview" else f"{name}.html")).write_text(html, encoding="utf-8")
    api = target / "api"
    api.mkdir()
    built = _documents(docs)
    for name, build in built.items():
        (api / f"{name}.json").write_text(json.dumps(build(), ensure_ascii=False, indent=1, default=str) + "\n",
                                          encoding="utf-8")
    reports = docs.reports()["reports"]
    for report in reports:
        destination = target / "reports" / report["path"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(docs.report_file(report["path"]), destination)
    _manifest(target, head_seq, head_hash)
    return ExportedSite(target, len(PAGES), len(built), len(reports), head_seq)


def _manifest(target: Path, head_seq: int, head_hash: str) -> None:
    files = {path.relative_to(target).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted(target.rglob("*")) if path.is_file()}
    (target / "manifest.json").write_text(json.dumps({"ledger_head": {"seq": head_seq, "hash": head_hash},
                                                      "files": files}, indent=1) + "\n", encoding="utf-8")
