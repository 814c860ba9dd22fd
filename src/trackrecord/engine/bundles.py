"""Use cases of the export bundle: build one from a workspace, recompute its figures from
its events alone (``trackrecord.ledger.bundle`` is the format, ``bundle_verify`` the checks
of chain, signatures, manifest and commitments)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trackrecord.analytics.wording import LIVE, label_for, live_caveats
from trackrecord.config import Settings, parse_settings
from trackrecord.engine.performance import performance_stats, record_account
from trackrecord.errors import UserError
from trackrecord.ledger.bundle import (
    FIGURES_FILE, MANIFEST_FILE, SETTINGS_SECTIONS, BundleContents, attached_reports, attached_statements,
    bundle_files, zip_bytes,
)
from trackrecord.ledger.bundle_verify import (
    BundleResult, check_bundle, check_manifest_signature, parse_commitment_options, read_bundle,
)
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.operations import sign_new_head
from trackrecord.ledger.rebuilt import rebuilt_ledger
from trackrecord.ledger.signing import SigningKeyError, refuse_a_foreign_key, sign_message
from trackrecord.services import Services
from trackrecord.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class ExportedBundle:
    data: bytes
    manifest: dict[str, Any]
    signed_now: bool  # the head had unsigned events: export signed a checkpoint first
    warning: str | None
    label: str | None = None  # the record's (``figures_label``), None without snapshots
    caveats: str = ""


def figure_settings(settings: Settings) -> dict[str, Any]:
    """The settings the figures depend on, as the manifest records them."""
    chosen = {section: getattr(settings, section).model_dump(mode="json") for section in SETTINGS_SECTIONS}
    chosen["prices"] = {"fx_rates": settings.prices.model_dump(mode="json")["fx_rates"]}
    return chosen


def settings_from_manifest(recorded: Any) -> Settings:
    return parse_settings(recorded, "manifest.json settings")


def record_figures(services: Services, account: str | None) -> dict[str, Any]:
    """The figures a bundle carries: the account's ``stats`` document (no benchmark: the
    prices are not in the ledger) over the whole record, as JSON data."""
    if account is None:
        return {"account": None, "stats": None, "reason": "no snapshots recorded"}
    stats = performance_stats(services, None, None, "none", account_id=account)
    return json.loads(json.dumps({"account": account, "stats": stats}, default=str, allow_nan=False))


def figures_label(figures: dict[str, Any]) -> tuple[str | None, str]:
    """The label of the record a bundle's figures describe, and what a LIVE one cannot say
    alone (``analytics.wording``); (None, "") for a ledger with no snapshot."""
    stats = figures.get("stats")
    if not stats:
        return None, ""
    label = label_for(bool(stats.get("simulated")), bool(stats.get("paper")), bool(stats.get("backtest")))
    return label, live_caveats(stats.get("provenance"), None) if label == LIVE else ""


def export_bundle(services: Services, account: str | None = None, with_statements: bool = True) -> ExportedBundle:
    """The bundle of the whole chain, its figures, reports and statements for ``account``
    (default: the account ``stats`` shows; ``with_statements=False`` leaves the broker's
    statements out: they hold the account holder's name and address). When events after
    the last checkpoint are unsigned (a killed command), the head is signed first, so
    every event is covered."""
    chosen = record_account(services.engine, services.settings, account)
    signed_now, warning = False, None
    try:
        signed_now = sign_new_head(services.ledger, services.workspace.private_key_path, 0) is not None
    except SigningKeyError as exc:
        warning = f"the newest events are not signed ({exc}): verify will report them"
    public_key = _public_key(services.workspace.public_key_path)
    figures_services = Services(Workspace(services.workspace.root, _figure_only(services.settings)),
                                services.engine, services.ledger)
    events = list(services.ledger.events())
    contents = BundleContents(
        account=chosen, public_key=public_key, events=events,
        figures=record_figures(figures_services, chosen), settings=figure_settings(services.settings),
        reports=attached_reports(events, services.workspace.root, chosen),
        statements=attached_statements(events, services.workspace.root, chosen) if with_statements else [],
    )
    failures: list[str] = []

    def sign(message: bytes) -> str | None:
        try:
            signer, signature = sign_message(services.workspace.private_key_path, message)
            refuse_a_foreign_key(services.workspace.private_key_path, signer, public_key)
            return signature
        except SigningKeyError as exc:
            failures.append(f"the manifest is not signed ({exc}): verify will report it")
            return None

    files = bundle_files(contents, sign)
    manifest = json.loads(dict(files)[MANIFEST_FILE])
    return ExportedBundle(zip_bytes(files), manifest, signed_now, warning or (failures[0] if failures else None),
                          *figures_label(contents.figures))


def _figure_only(settings: Settings) -> Settings:
    """The workspace's settings as the verifier will rebuild them from the manifest."""
    return settings_from_manifest(figure_settings(settings))


def _public_key(path: "Path") -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        key = ""
    if not key:
        raise UserError(f"{path} is missing or unreadable: a bundle needs the public key; restore it from a copy")
    return key


def verify_bundle(data: bytes, source: str, commitment_lines: list[str]) -> BundleResult:
    """Every check of ``trackrecord verify BUNDLE.zip``: the manifest, the chain, every
    signature, the commitments (``ledger.bundle_verify``), then the figures recomputed from
    the events alone in a throw-away SQLite database the projector rebuilds. ``UserError``
    when ``data`` is not a bundle or a commitment line is malformed."""
    parse_commitment_options(commitment_lines)
    result = read_bundle(data, source)
    check_bundle(result, commitment_lines)
    if not result.chain_intact:
        if FIGURES_FILE in result.files:
            result.fail(FIGURES_FILE, None, "not recomputed: the chain is broken")
        check_manifest_signature(result)
        return result
    _check_figures(result)
    _check_reports(result)
    check_manifest_signature(result)
    return result


def _check_reports(result: BundleResult) -> None:
    """Rebuild each monthly report from the bundle's events as of the head its
    ``report.generated`` names (``reports.monthly.build_monthly_report``) and compare bytes."""
    from trackrecord.engine.reporting import first_differing_page
    from trackrecord.reports.monthly import build_monthly_report

    by_seq = {e.seq: e for e in result.events}
    for entry in result.manifest.get("reports", []):
        name, seqs = entry.get("file"), entry.get("seqs") or []
        content = result.files.get(name)
        event = by_seq.get(seqs[-1]) if seqs else None
        if content is None or event is None or any(p.file == name for p in result.problems):
            continue
        data = json.loads(event.payload)
        if data.get("kind") != "monthly":
            continue
        try:
            rebuilt = build_monthly_report(result.events, str(data["account_id"]), str(data["period"]),
                                           int(data["head_seq"]))
        except (UserError, KeyError, ValueError) as exc:
            result.fail(name, event.seq, f"cannot be rebuilt from the events: {exc}")
            continue
        if rebuilt != content:
            page = first_differing_page(content, rebuilt)
            where = f"page {page} differs" if page is not None else "the bytes differ"
            result.fail(name, event.seq, f"rebuilt from the events as of seq {data['head_seq']}: {where}")
        else:
            result.reports_rebuilt.append(name)


def _check_figures(result: BundleResult) -> None:
    import tempfile
    from pathlib import Path

    raw = result.files.get(FIGURES_FILE)
    if raw is None:
        result.fail(FIGURES_FILE, None, "missing from the bundle")
        return
    try:
        settings = settings_from_manifest(result.manifest.get("settings"))
        claimed = json.loads(raw)
    except (UserError, ValueError) as exc:
        result.fail(FIGURES_FILE if isinstance(exc, ValueError) else MANIFEST_FILE, None, str(exc))
        return
    with tempfile.TemporaryDirectory(prefix="trackrecord-verify-") as folder:
        services = rebuilt_services(Path(folder), settings, result.events)
        try:
            recomputed = record_figures(services, result.manifest.get("account"))
        except UserError as exc:
            result.fail(FIGURES_FILE, None, f"cannot be recomputed from the events: {exc}")
            return
        finally:
            services.close()
    result.label, result.caveats = figures_label(recomputed)  # from the events, not from what the bundle claims
    checked, difference = compare_figures(claimed, recomputed)
    result.figures_checked = checked
    if difference is not None:
        result.fail(FIGURES_FILE, None, difference)


def rebuilt_services(folder: "Path", settings: Settings, events: list[StoredEvent]) -> Services:
    """A throw-away SQLite database in ``folder`` holding ``events`` and the projections the
    projector (the code every append runs) derives from them."""
    ledger = rebuilt_ledger(folder / "rebuilt.db", events)
    return Services(Workspace(folder, settings), ledger.engine, ledger)


def compare_figures(claimed: Any, recomputed: Any, path: str = "") -> tuple[int, str | None]:
    """(figures compared, the first that differs as one line). Floats agree within a
    relative 1e-9 (another machine's libm may round the last digit differently)."""
    if isinstance(claimed, dict) and isinstance(recomputed, dict):
        count = 0
        for key in sorted(set(claimed) | set(recomputed)):
            where = f"{path}.{key}" if path else key
            if key not in claimed or key not in recomputed:
                side = "the bundle" if key not in claimed else "the events"
                return count, f"{where}: missing from {side}"
            done, difference = compare_figures(claimed[key], recomputed[key], where)
            count += done
            if difference is not None:
                return count, difference
        return count, None
    if isinstance(claimed, list) and isinstance(recomputed, list):
        if len(claimed) != len(recomputed):
            return 0, f"{path}: the bundle lists {len(claimed)} entries, the events give {len(recomputed)}"
        count = 0
        for index, (a, b) in enumerate(zip(claimed, recomputed)):
            done, difference = compare_figures(a, b, f"{path}[{index}]")
            count += done
            if difference is not None:
                return count, difference
        return count, None
    if _same_figure(claimed, recomputed):
        return 1, None
    return 0, f"{path}: the bundle says {claimed!r}, the events give {recomputed!r}"


def _same_figure(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return bool(a == b and type(a) is type(b))
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300) or a == b
