"""The dashboard's read model: the documents its pages and its JSON API show.

Each document is built by the function the CLI's ``--json`` calls (``stats``, ``trades``,
``slippage``, ``orders``, ``kill-switch status``, ``ledger log``, ``verify``), from the
database only (never Yahoo or IBKR), and cached by the ledger's head seq: while nothing new
is recorded, a request costs one indexed read of the head. A document that depends on
the day (the countdown to the next rebalance) is also keyed by the exchange's date.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrecord.analytics.wording import IB_PAPER, LIVE, SIMULATED, label_for, live_caveats, withhold_annualised
from trackrecord.dashboard.periods import period_changes
from trackrecord.domain import Mode, is_paper_account
from trackrecord.engine.kill_switch import read_status
from trackrecord.engine.performance import (
    benchmark_name,
    load_benchmark,
    load_performance_inputs,
    performance_stats,
    slippage_document,
    trades_document,
)
from trackrecord.engine.sessions import exchange_today
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.annotations import annotation_document, commentaries, recorded_annotations
from trackrecord.ledger.backtest_mark import is_backtest
from trackrecord.ledger.event_pages import event_page, head_of, kind_counts, latest_event, latest_events
from trackrecord.ledger.operations import verify_ledger
from trackrecord.ledger.queries import reading, recent_orders
from trackrecord.market.service import calendar_for, last_completed_session
from trackrecord.market.store import last_stored_dates

if TYPE_CHECKING:
    from trackrecord.services import Services

LABEL_LIVE, LABEL_PAPER, LABEL_SIMULATED = LIVE, IB_PAPER, SIMULATED
LIVE_ACCOUNT = "Live account at Interactive Brokers."
ORDER_KINDS = (kinds.ORDER_SUBMITTED, kinds.ORDER_STATUS, kinds.ORDER_DENIED)
SHOWN_SIGNALS = 120
SHOWN_ORDERS = 500
PAGE_LIMIT = 500
MAX_CACHED = 512
COMMITMENT_KINDS = (kinds.COMMITMENT_MADE,)
REPORT_GENERATED = kinds.REPORT_GENERATED


class NotRecorded(Exception):
    """The document needs something the workspace has not recorded yet (no snapshot)."""


def label_of(simulated: bool, paper: bool) -> str:
    """The account's banner (``analytics.wording.label_for``; BACKTEST is its own banner)."""
    return label_for(simulated, paper)


@dataclass
class _Cache:
    head: int = -1
    values: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    key_locks: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)


class DashboardDocuments:
    """Documents of one workspace, cached by the ledger head. ``clock`` gives now (UTC)."""

    def __init__(self, services: "Services", clock: Callable[[], datetime]) -> None:
        self.services = services
        self.clock = clock
        self.settings = services.settings
        self.calendar = calendar_for(services.settings)
        self._cache = _Cache()
        self._sha_cache: dict[tuple[str, int, int], str] = {}

    # -- the head and the cache ----------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        with reading(self.services.engine) as conn:
            return head_of(conn)

    def cached(self, key: tuple[Any, ...], build: Callable[[], Any], head: int | None = None) -> Any:
        """``build()`` once per ledger head (and ``key``); errors are not cached."""
        seq = self.head()[0] if head is None else head
        cache = self._cache
        with cache.lock:
            if cache.head != seq:
                cache.head, cache.values, cache.key_locks = seq, {}, {}
            if key in cache.values:
                return cache.values[key]
            key_lock = cache.key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one build per key, however many requests wait for it
            with cache.lock:
                if cache.head == seq and key in cache.values:
                    return cache.values[key]
            value = build()
            with cache.lock:
                if cache.head == seq:
                    cache.values[key] = value
                    while len(cache.values) > MAX_CACHED:  # many distinct queries: the oldest go
                        evicted = next(iter(cache.values))
                        del cache.values[evicted]
                        cache.key_locks.pop(evicted, None)  # its own lock, not one a build may be holding
            return value

    def peek(self, key: tuple[Any, ...]) -> Any:
        """The cached value of ``key`` at the current head, or None (one read of the head)."""
        seq = self.head()[0]
        cache = self._cache
        with cache.lock:
            return cache.values.get(key) if cache.head == seq else None

    def cached_json(self, key: tuple[Any, ...], build: Callable[[], Any]) -> bytes:
        """The document as UTF-8 JSON bytes, serialised once per head."""
        return self.cached(("json", *key), lambda: json.dumps(build(), ensure_ascii=False, default=str).encode())

    # -- the CLI's documents -------------------------------------------------------------------

    def stats(self, period_from: date | None = None, period_to: date | None = None,
              benchmark: str | None = None) -> dict[str, Any]:
        """``stats [FROM] [TO] [--benchmark B] --json``. The whole record's is the series
        document without its series (``include_series`` only adds them): one computation."""
        if period_from is None and period_to is None and benchmark is None:
            return self.cached(("stats",), lambda: {k: v for k, v in self.stats_with_series().items() if k != "series"})
        return self.cached(("stats", period_from, period_to, benchmark),
                           lambda: self._stats(period_from, period_to, benchmark, False))

    def stats_with_series(self) -> dict[str, Any]:
        """The whole record's ``stats`` document with its series (TWR index, drawdown, rolling)."""
        return self.cached(("stats_series",), lambda: self._stats(None, None, None, True))

    def _stats(self, period_from: date | None, period_to: date | None, benchmark: str | None,
               series: bool) -> dict[str, Any]:
        if not self.has_snapshots():
            raise NotRecorded("no snapshots recorded yet")
        inputs = self.inputs()
        whole = period_from is None and period_to is None and benchmark is None
        return performance_stats(self.services, period_from, period_to, benchmark, include_series=series,
                                 inputs=inputs,
                                 frozen_benchmark=self._benchmark(inputs.dates[0], inputs.dates[-1]) if whole else None)

    def _benchmark(self, first: date, last: date) -> tuple[Any, str | None]:
        """``load_benchmark`` of the configured benchmark, once per head for the stats and the chart."""
        name = benchmark_name(None, self.settings)
        return self.cached(("benchmark", name, first, last),
                           lambda: load_benchmark(self.services.engine, self.settings, name, first, last))

    def inputs(self) -> Any:
        """The account's record as ``stats`` loads it, once per head for every period."""
        return self.cached(("inputs",), lambda: load_performance_inputs(self.services.engine, self.settings))

    def trades(self) -> dict[str, Any]:
        """``trades --json``, on the fills the stats matched at this head when they are loaded."""
        return self.cached(("trades",), lambda: trades_document(self.services, inputs=self.peek(("inputs",))))

    def slippage(self) -> dict[str, Any]:
        """``slippage --json``."""
        return self.cached(("slippage",), lambda: slippage_document(self.services))

    def orders(self, limit: int = 50) -> list[dict[str, Any]]:
        """``orders --limit N --json``."""
        def build() -> list[dict[str, Any]]:
            with reading(self.services.engine) as conn:
                return [r.document() for r in recent_orders(conn, limit)]
        return self.cached(("orders", limit), build)

    def kill_switch(self) -> dict[str, Any]:
        """``kill-switch status --json``."""
        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                return read_status(conn).document()
        return self.cached(("kill_switch",), build)

    def events(self, kind: str | None = None, before: int | None = None, limit: int = 100) -> dict[str, Any]:
        """A page of ``ledger log --json`` (newest first) and the seq to ask for the next one."""
        limit = max(1, min(limit, PAGE_LIMIT))

        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                page = event_page(conn, kind, before, limit)
            more = len(page) == limit and page[-1].seq > 1
            return {"kind": kind, "before": before, "limit": limit, "events": [e.document() for e in page],
                    "next_before": page[-1].seq if more else None}
        return self.cached(("events", kind, before, limit), build)

    def verify(self) -> dict[str, Any]:
        """``verify --json`` of the current head (computed once per head, when asked for)."""
        return self.cached(("verify",), lambda: verify_ledger(self.services.ledger,
                                                               self.services.workspace.public_key_path).document())

    # -- what only the dashboard shows ------------------------------------------------------------

    def has_snapshots(self) -> bool:
        return self.cached(("has_snapshots",), lambda: self._latest(kinds.SNAPSHOT_RECORDED) is not None)

    def _latest(self, kind: str) -> Any:
        with reading(self.services.engine) as conn:
            return latest_event(conn, kind)

    def label(self) -> str:
        """The banner: from the record when there is one, else from the configuration."""
        if self.has_snapshots():
            document = self.stats()
            return label_of(bool(document.get("simulated")), bool(document.get("paper")))
        configured = self.settings.account.account_id or ""
        return label_of(self.settings.simulated or self.settings.mode is not Mode.LIVE,
                        is_paper_account(configured))

    def live_banner(self) -> str:
        """The LIVE banner's words, with what the label cannot say alone
        (``analytics.wording.live_caveats``): imported snapshots, a placeholder account."""
        if not self.has_snapshots():
            return LIVE_ACCOUNT
        document = self.stats()
        settings = self.settings
        placeholder = settings.account.account_id is None and document.get("account") == settings.broker.sim.account_id
        caveats = live_caveats(document.get("provenance"), document.get("account") if placeholder else None)
        return " ".join(filter(None, ("Live record." if placeholder else LIVE_ACCOUNT, caveats)))

    def backtest(self) -> bool:
        """True for a workspace ``trackrecord backtest`` made (marked in its ``workspace.created``):
        its banner says BACKTEST, as ``stats`` and the reports do."""
        return self.cached(("backtest",), lambda: is_backtest(self.services.engine))

    def today(self) -> date:
        """The exchange's date now."""
        return exchange_today(self.calendar, self.clock())

    def summary(self) -> dict[str, Any]:
        """The overview: label, NAV, P&L by period, headline metrics, positions, the signal,
        the next rebalance, the kill switch and how fresh the data is."""
        today = self.today()
        return self.cached(("summary", today), lambda: self._summary(today))

    def _summary(self, today: date) -> dict[str, Any]:
        head_seq, head_hash = self.head()
        document: dict[str, Any] = {
            "ledger": {"head_seq": head_seq, "head_hash": head_hash},
            "label": self.label(), "backtest": self.backtest(), "mode": self.settings.mode.value,
            "empty": not self.has_snapshots(),
            "kill_switch": self.kill_switch(), "signal": self.latest_signal(),
            "next_rebalance": self._next_rebalance(today), "freshness": self.freshness(today),
            "account": None, "base_currency": self.settings.account.base_currency, "as_of": None, "nav": None,
            "cash": None, "periods": [], "metrics": None, "positions": [], "next_steps": self.next_steps(),
        }
        if document["empty"]:
            return document
        stats = withhold_annualised(self.stats())  # the overview shows what the stats table shows
        snapshot = self._latest(kinds.SNAPSHOT_RECORDED).data()
        inputs = self.inputs()
        changes = period_changes(inputs.dates, inputs.navs, inputs.flows, self.settings.performance.flow_timing)
        metrics = stats["metrics"]
        document.update({
            "account": stats["account"], "base_currency": stats.get("base_currency") or snapshot.get("base_currency"),
            "as_of": inputs.dates[-1].isoformat(), "nav": inputs.navs[-1],
            "cash": _number(snapshot.get("cash")) if snapshot.get("account_id") == stats["account"] else None,
            "periods": [c.document() for c in changes],
            "metrics": {k: metrics.get(k) for k in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown",
                                                     "ann_volatility", "n_returns")},
            "nonfinite": stats["nonfinite"], "benchmark_name": stats.get("benchmark_name"),
            "benchmark_total_return": (stats.get("benchmark") or {}).get("total_return"),
            "positions": self._positions(snapshot, inputs.navs[-1]),
        })
        return document

    def _positions(self, snapshot: dict[str, Any], nav: float) -> list[dict[str, Any]]:
        """The snapshot's positions with their weight of NAV and their unrealised P&L at the
        snapshot's prices against the broker's average cost."""
        out = []
        for p in snapshot.get("positions") or []:
            value = _number(p.get("market_value"))
            quantity, cost, price = _number(p.get("quantity")), _number(p.get("avg_cost")), _number(p.get("market_price"))
            out.append({"symbol": p.get("symbol"), "quantity": _number(p.get("quantity")),
                        "avg_cost": _number(p.get("avg_cost")), "market_price": _number(p.get("market_price")),
                        "market_value": value, "currency": p.get("currency"), "price_date": p.get("price_date"),
                        "weight": None if value is None or not nav else value / nav,
                        "unrealised_pnl": None if None in (quantity, cost, price) else (price - cost) * quantity})
        return sorted(out, key=lambda p: -(p["market_value"] or 0))

    def _next_rebalance(self, today: date) -> dict[str, Any] | None:
        if self.backtest():  # a replay ends with its last session: nothing comes next
            return None
        try:
            session = self.calendar.next_rebalance_session(today) if not self.calendar.is_session(today) or \
                self.calendar.rebalance_session(today) != today else today
        except (ValueError, KeyError, IndexError, UserError):  # beyond the calendar's horizon
            return None
        sessions = len(self.calendar.sessions_between(today, session)) - (1 if self.calendar.is_session(today) else 0)
        return {"session": session.isoformat(), "today": today.isoformat(), "sessions_away": max(sessions, 0),
                "days_away": (session - today).days, "close_at": self.calendar.close_time(session).isoformat(),
                "calendar": self.calendar.code}

    def freshness(self, today: date) -> dict[str, Any]:
        """When prices, the snapshot, the daily job and the checkpoint were last recorded, and
        a warning for each that is older than the last completed session (none for a backtest,
        which ends where its replay ended and is never brought up to date)."""
        expected = last_completed_session(self.calendar, self.clock())
        with reading(self.services.engine) as conn:
            snapshot = latest_event(conn, kinds.SNAPSHOT_RECORDED)
            checkpoint = latest_event(conn, kinds.CHECKPOINT_SIGNED)
            jobs = latest_events(conn, (kinds.JOB_FINISHED,), 100)
            daily = _last_daily_job(jobs, latest_events(conn, (kinds.QUALITY_CHECKED,), 50))
            fill = latest_event(conn, kinds.FILL_RECORDED)
            symbols = [i.symbol for i in self.settings.universe.instruments]
            prices = last_stored_dates(conn, symbols)
        last_price = min(prices.values()) if prices and len(prices) == len(symbols) else None
        snapshot_session = snapshot.data().get("session_date") if snapshot else None
        warnings = [] if self.backtest() else \
            _staleness(symbols, prices, last_price, snapshot_session, expected) + _failed_jobs_since(jobs, daily)
        return {"expected_session": expected.isoformat(), "today": today.isoformat(),
                "last_prices": None if last_price is None else last_price.isoformat(),
                "last_snapshot": snapshot_session, "last_snapshot_recorded_at": snapshot.recorded_at if snapshot else None,
                "last_daily_job": daily, "last_fill_recorded_at": fill.recorded_at if fill else None,
                "last_checkpoint": None if checkpoint is None else {"seq": checkpoint.seq,
                                                                    "recorded_at": checkpoint.recorded_at},
                "stale": bool(warnings), "warnings": warnings}

    def latest_signal(self) -> dict[str, Any] | None:
        """The latest recorded signal, as recorded (its plan and decision: ``signals``)."""
        def build() -> dict[str, Any] | None:
            event = self._latest(kinds.SIGNAL_COMPUTED)
            return None if event is None else {"seq": event.seq, "recorded_at": event.recorded_at, **event.data()}
        return self.cached(("latest_signal",), build)

    def signals(self) -> dict[str, Any]:
        """The recorded signals (newest first), each with its plan and risk decision: the
        ``signal.computed``, ``plan.created`` and ``risk.decided`` payloads as recorded."""
        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                signals = latest_events(conn, (kinds.SIGNAL_COMPUTED,), SHOWN_SIGNALS)
                plans = latest_events(conn, (kinds.PLAN_CREATED,), SHOWN_SIGNALS * 2)
                decisions = latest_events(conn, (kinds.RISK_DECIDED,), SHOWN_SIGNALS * 4)
            plans_by_hash: dict[str, dict[str, Any]] = {}
            for plan in reversed(plans):
                data = plan.data()
                plans_by_hash[data.get("inputs_sha256", "")] = {"seq": plan.seq, **data}
            decided: dict[tuple[str, str], dict[str, Any]] = {}
            for decision in reversed(decisions):  # a later decision of a plan supersedes
                data = decision.data()
                decided[(data.get("plan_id", ""), data.get("mode", ""))] = {"seq": decision.seq, **data}
            out = []
            for signal in signals:
                data = signal.data()
                plan = plans_by_hash.get(data.get("inputs_sha256", ""))
                decision = decided.get((plan.get("plan_id", ""), plan.get("mode", ""))) if plan else None
                out.append({"seq": signal.seq, "recorded_at": signal.recorded_at, **data, "plan": plan,
                            "risk": decision})
            return {"signals": out, "shown": len(out), "limit": SHOWN_SIGNALS}
        return self.cached(("signals",), build)

    def order_history(self) -> dict[str, Any]:
        """Every recorded order (newest first) with its status history from the events."""
        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                events = latest_events(conn, ORDER_KINDS, SHOWN_ORDERS * 4)
            orders: dict[str, dict[str, Any]] = {}
            for event in reversed(events):
                data = event.data()
                ref = data.get("order_ref") or f"seq-{event.seq}"
                order = orders.setdefault(ref, {"order_ref": ref, "history": []})
                if event.kind != kinds.ORDER_STATUS:
                    order.update({k: v for k, v in data.items() if k != "status"})
                order["status"] = "denied" if event.kind == kinds.ORDER_DENIED else data.get("status", order.get("status"))
                order["history"].append({"seq": event.seq, "recorded_at": event.recorded_at, "kind": event.kind,
                                         "status": order["status"], "message": data.get("message", ""),
                                         "filled_quantity": data.get("filled_quantity")})
            shown = sorted(orders.values(), key=lambda o: -o["history"][-1]["seq"])[:SHOWN_ORDERS]
            return {"orders": shown, "shown": len(shown)}
        return self.cached(("order_history",), build)

    def ledger_overview(self) -> dict[str, Any]:
        """Head, counts by kind, the latest checkpoints, commitments and reports recorded."""
        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                head = head_of(conn)
                counts = kind_counts(conn)
                checkpoints = latest_events(conn, (kinds.CHECKPOINT_SIGNED,), 20)
                commitments = latest_events(conn, COMMITMENT_KINDS, 20)
            return {"head_seq": head[0], "head_hash": head[1], "events": sum(counts.values()), "kinds": counts,
                    "checkpoints": [_public(e.document()) for e in checkpoints],
                    "commitments": [_public(e.document()) for e in commitments]}
        return self.cached(("ledger",), build)

    def annotations(self) -> dict[str, Any]:
        """``annotate list --json`` (newest first) and the months' frozen commentaries."""
        def build() -> dict[str, Any]:
            with reading(self.services.engine) as conn:
                found = recorded_annotations(conn)
                frozen = commentaries(conn)
            return {"annotations": [annotation_document(a) for a in reversed(found)],
                    "commentaries": [{"month": f"{c.month:%Y-%m}", "version": c.version, "seq": c.seq,
                                      "sha256": c.sha256, "source": c.source, "text": c.text}
                                     for _, c in sorted(frozen.items(), reverse=True)]}
        return self.cached(("annotations",), build)

    def reports(self) -> dict[str, Any]:
        """The PDFs under ``reports/`` with their sha256, and the ``report.generated`` events."""
        root = self.services.workspace.root / "reports"
        files = []
        for path in sorted(root.rglob("*.pdf")) if root.is_dir() else []:
            if path.is_symlink() or not path.is_file():
                continue
            stat = path.stat()
            files.append({"path": path.relative_to(root).as_posix(), "bytes": stat.st_size,
                          "sha256": self._sha256(path, stat.st_mtime_ns, stat.st_size),
                          "modified_at": datetime.fromtimestamp(stat.st_mtime).astimezone().isoformat()})
        generated = self.cached(("reports_generated",), self._generated)
        recorded = {g["payload"].get("sha256") for g in generated}
        for entry in files:
            entry["recorded"] = entry["sha256"] in recorded
        return {"reports": files, "generated": generated}

    def _generated(self) -> list[dict[str, Any]]:
        with reading(self.services.engine) as conn:
            return [e.document() for e in latest_events(conn, (REPORT_GENERATED,), 500)]

    def _sha256(self, path: Path, mtime: int, size: int) -> str:
        key = (str(path), mtime, size)
        if key not in self._sha_cache:
            self._sha_cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._sha_cache[key]

    def report_file(self, relative: str) -> Path:
        """The PDF ``relative`` under ``reports/``; ``UserError`` for anything else."""
        root = (self.services.workspace.root / "reports").resolve()
        path = (root / relative).resolve()
        if path.suffix != ".pdf" or root not in path.parents or not path.is_file():
            raise UserError(f"no report {relative!r} under reports/")
        return path

    def chart_series(self) -> dict[str, Any]:
        """The TWR index, the benchmark's (rebased to 1 on the base date), the drawdown and
        the rolling Sharpe, for the charts."""
        def build() -> dict[str, Any]:
            if not self.has_snapshots():
                return {"dates": []}
            document = self.stats_with_series()
            series = document["series"]
            return {"dates": series["dates"], "twr_index": series["twr_index"], "drawdown": series["drawdown"],
                    "rolling_sharpe": series["rolling"].get("sharpe_126"),
                    "benchmark": self._benchmark_index(series["dates"]), "benchmark_name": document.get("benchmark_name")}
        return self.cached(("series",), build)

    def _benchmark_index(self, dates: list[str]) -> list[float | None] | None:
        import numpy as np

        name = benchmark_name(None, self.settings)
        if name is None or not dates:
            return None
        closes, _ = self._benchmark(date.fromisoformat(dates[0]), date.fromisoformat(dates[-1]))
        if closes is None:
            return None
        when, values = np.asarray(closes[0], dtype="datetime64[D]"), np.asarray(closes[1], dtype=np.float64)
        at = np.searchsorted(when, np.asarray(dates, dtype="datetime64[D]"), side="right") - 1
        if at[0] < 0:
            return None
        aligned = values[np.clip(at, 0, None)]
        return [None if i < 0 else float(v / aligned[0]) for i, v in zip(at, aligned)]

    def drawdown_episodes(self, top: int = 5) -> list[dict[str, Any]]:
        """The deepest drawdowns of the whole record: peak, trough, recovery, depth."""
        series = self.chart_series()
        return _episodes(series["dates"], series.get("drawdown") or [], top)

    def next_steps(self) -> list[str]:
        """What to do next in a workspace that has not recorded much yet."""
        steps = []
        if not self.has_snapshots():
            steps += ["Import a record: trackrecord import snapshots FILE.csv (date,nav[,cash])",
                      "or run the daily pipeline after the close: trackrecord daily",
                      "or try the simulated demo: trackrecord demo DIR"]
        if self.latest_signal() is None:
            steps.append("Compute and record this month's signal: trackrecord signal")
        return steps

    def health(self) -> dict[str, Any]:
        """``/healthz``: database reachable, head, last successful daily job, freshness."""
        now = self.clock()
        try:
            seq, head_hash = self.head()
        except Exception as exc:  # an unreachable database is the answer, not a crash
            return {"status": "down", "database": {"reachable": False, "error": type(exc).__name__},
                    "checked_at": now.isoformat()}
        freshness = self.freshness(exchange_today(self.calendar, now))
        status = "stale" if freshness["stale"] else "ok"
        return {"status": status, "database": {"reachable": True, "dialect": self.services.engine.dialect.name},
                "ledger": {"head_seq": seq, "head_hash": head_hash}, "kill_switch": self.kill_switch()["state"],
                "last_daily_job": freshness["last_daily_job"], "freshness": freshness, "checked_at": now.isoformat()}


def _staleness(symbols: list[str], prices: dict[str, date], last_price: date | None, snapshot_session: str | None,
               expected: date) -> list[str]:
    """What is older than the last completed session: the prices, the snapshot."""
    warnings = []
    if last_price is None:
        warnings.append("no stored prices for " + ", ".join(s for s in symbols if s not in prices))
    elif last_price < expected:
        warnings.append(f"prices end {last_price}, before the last completed session {expected}")
    if snapshot_session is None:
        warnings.append("no snapshot recorded")
    elif snapshot_session < expected.isoformat():
        warnings.append(f"the last snapshot is of {snapshot_session}, before the last completed session {expected}")
    return warnings


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _public(document: dict[str, Any]) -> dict[str, Any]:
    """An event document without anything that looks like a secret (never a private key)."""
    payload = {k: v for k, v in document["payload"].items() if "private" not in k and "secret" not in k}
    return {**document, "payload": payload}


def _last_daily_job(jobs: list[Any], quality_events: list[Any]) -> dict[str, Any] | None:
    """The latest successful daily (``close``) job the scheduler recorded (``job.finished``),
    else the latest ``trackrecord daily`` run by hand (its ``quality.checked``)."""
    for event in jobs:
        data = event.data()
        if data.get("job") == "close" and data.get("outcome") in ("succeeded", "caught_up"):
            return {"session": data.get("session"), "passed": True, "outcome": data.get("outcome"),
                    "seq": event.seq, "recorded_at": event.recorded_at, "source": "scheduler"}
    for event in quality_events:
        data = event.data()
        if data.get("purpose") == "daily":
            return {"session": data.get("session"), "passed": bool(data.get("passed")), "outcome": None,
                    "seq": event.seq, "recorded_at": event.recorded_at, "source": "trackrecord daily"}
    return None


def _failed_jobs_since(jobs: list[Any], success: dict[str, Any] | None) -> list[str]:
    """Jobs that failed or were refused after the last successful daily job, newest first."""
    since = success["seq"] if success else 0
    out = []
    for event in jobs:
        data = event.data()
        if event.seq > since and data.get("outcome") in ("failed", "refused"):
            out.append(f"the {data.get('job')} job of {data.get('session')} {data.get('outcome')}: "
                       f"{str(data.get('message', ''))[:200]}")
    return out


def _episodes(dates: list[str], drawdown: list[float], top: int) -> list[dict[str, Any]]:
    episodes, start = [], None
    for i, depth in enumerate(drawdown):
        if depth < -1e-12 and start is None:
            start = i
        if start is not None and (depth >= -1e-12 or i == len(drawdown) - 1):
            recovered = depth >= -1e-12
            segment = drawdown[start:i + (0 if recovered else 1)]
            trough = start + min(range(len(segment)), key=segment.__getitem__)
            episodes.append({"peak": dates[start - 1] if start else dates[0], "trough": dates[trough],
                             "recovery": dates[i] if recovered else None, "depth": drawdown[trough],
                             "sessions": (i if recovered else len(drawdown) - 1) - (start - 1)})
            start = None
    return sorted(episodes, key=lambda e: e["depth"])[:top]
