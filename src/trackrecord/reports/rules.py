"""The strategy's rules a month of the record traded under, as its plans recorded them.

A report describes the rules that made the month's trades, not the ones the workspace is
configured with today: a trader who moves from 12-1 top 3 to 6-1 top 2 in January keeps a
record whose 2025 months were traded 12-1 top 3, and their reports must keep saying so.
Each executed plan (``plan.created``, not a preview, not dry-run) records its planning
parameters and the signal it was made from (``signal_seq``), whose event records the
ranking's parameters; the rules of a month are those of the account's last plan up to its end. Before
the first plan the configured rules are all there is (what will trade), and they are said
to be that.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping

from trackrecord.ledger import events as kinds

if TYPE_CHECKING:
    from trackrecord.ledger.chain import StoredEvent

_SIGNAL_RULES = ("lookback_months", "skip_months", "top_n", "exit_rank", "min_momentum")
_PLAN_RULES = ("drift_band", "cash_buffer", "order_type")


@dataclass(frozen=True, slots=True)
class StrategyRules:
    lookback_months: int
    skip_months: int
    top_n: int
    exit_rank: int
    min_momentum: float | None
    drift_band: float
    cash_buffer: float
    order_type: str
    universe: tuple[str, ...]  # the symbols ranked, in the configured universe's order

    @classmethod
    def of_settings(cls, strategy: Any, universe: Any) -> "StrategyRules":
        """The rules ``trackrecord.yaml``'s ``strategy`` and ``universe`` sections configure."""
        return cls(int(strategy.lookback_months), int(strategy.skip_months), int(strategy.top_n),
                   int(strategy.exit_rank), None if strategy.min_momentum is None else float(strategy.min_momentum),
                   float(strategy.drift_band), float(strategy.cash_buffer), str(strategy.order_type),
                   tuple(i.symbol for i in universe.instruments))

    def with_recorded(self, signal: Mapping[str, Any], plan_params: Mapping[str, Any]) -> "StrategyRules":
        """These rules with the values a plan and its signal (its payload) recorded: the
        ranking's parameters and the symbols it ranked (a key an older release did not
        record keeps its value here)."""
        signal_params = signal.get("params") or {}
        recorded = {key: signal_params[key] for key in _SIGNAL_RULES if key in signal_params}
        recorded |= {key: plan_params[key] for key in _PLAN_RULES if key in plan_params}
        ranked = {str(row["symbol"]) for row in [*(signal.get("ranks") or ()), *(signal.get("excluded") or ())]}
        universe = self.universe
        if ranked:  # the configured order for the symbols it knows, the others after them by name
            universe = (*(s for s in self.universe if s in ranked), *sorted(ranked - set(self.universe)))
        return replace(self, universe=universe, **{key: _CONVERT[key](value) for key, value in recorded.items()})

    def changes_from(self, earlier: "StrategyRules") -> list[str]:
        """What differs from ``earlier``, in words: ``top 2 held (was top 3 held)``,
        ``SXLC added to the universe``."""
        said = [f"{_WORDS[f.name](getattr(self, f.name))} (was {_WORDS[f.name](getattr(earlier, f.name))})"
                for f in fields(self) if f.name != "universe" and getattr(self, f.name) != getattr(earlier, f.name)]
        added = [s for s in self.universe if s not in earlier.universe]
        removed = [s for s in earlier.universe if s not in self.universe]
        if added:
            said.append(f"{', '.join(added)} added to the universe")
        if removed:
            said.append(f"{', '.join(removed)} taken out of the universe")
        return said


_WORDS = {
    "lookback_months": lambda v: f"a {v}-month lookback",
    "skip_months": lambda v: f"{v} month{'s' if v != 1 else ''} skipped",
    "top_n": lambda v: f"top {v} held",
    "exit_rank": lambda v: f"kept within the top {v}",
    "min_momentum": lambda v: "no momentum floor" if v is None else f"a momentum floor of {v:.0%}",
    "drift_band": lambda v: f"a drift band of {v:.0%}",
    "cash_buffer": lambda v: f"{v:.0%} kept in cash",
    "order_type": lambda v: "market-on-close orders" if v == "MOC" else "market orders",
}


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


_CONVERT = {"lookback_months": int, "skip_months": int, "top_n": int, "exit_rank": int,
            "min_momentum": _optional_float, "drift_band": float, "cash_buffer": float, "order_type": str}


@dataclass(frozen=True, slots=True)
class RulesInForce:
    """The rules of a month; ``recorded``: read from the record's plans (else configured,
    no plan made yet); ``changes``: (first session, what changed) of each change of rules
    between the record's plans up to the month's end, oldest first."""

    rules: StrategyRules
    recorded: bool
    changes: tuple[tuple[date, tuple[str, ...]], ...] = ()


def rules_in_force(events: "list[StoredEvent]", account_id: str, configured: StrategyRules,
                   last_day: date) -> RulesInForce:
    """The rules of ``account_id``'s last plan up to ``last_day`` among ``events``."""
    signals = {e.seq: e for e in events if e.kind == kinds.SIGNAL_COMPUTED}
    current: StrategyRules | None = None
    changes: list[tuple[date, tuple[str, ...]]] = []
    for event in events:
        if event.kind != kinds.PLAN_CREATED:
            continue
        plan = event.data()
        if plan.get("account_id") != account_id or plan.get("preview") or plan.get("mode") == "dry_run":
            continue
        session = date.fromisoformat(str(plan.get("session_date") or plan.get("rebalance_date")))
        if session > last_day:
            continue
        signal = signals.get(plan.get("signal_seq"))  # type: ignore[arg-type]
        rules = configured.with_recorded(signal.data() if signal else {}, plan.get("params") or {})
        if current is not None and rules != current:
            changes.append((session, tuple(rules.changes_from(current))))
        current = rules
    if current is None:
        return RulesInForce(configured, recorded=False)
    return RulesInForce(current, recorded=True, changes=tuple(changes))
