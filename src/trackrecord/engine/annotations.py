"""Annotation use cases: a trader's pre-trade note, its later versions (a post-trade outcome, an
edited thesis), a month's commentary frozen into the ledger, and the engine's systematic note
for every planned order. The read side is ``trackrecord.ledger.annotations``.

Every input is checked before anything is written (one line naming the option, exit 2); a
version that would repeat the latest one, or a commentary already frozen with the same
content, records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from trackrecord.domain.annotations import (
    Annotation,
    AnnotationContent,
    Author,
    Commentary,
    PostTrade,
    PreTrade,
    SystematicReason,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.annotations import (
    CommentaryText,
    annotation_by_id,
    checked_price,
    checked_symbol,
    checked_text,
    commentary_payload,
    content_payload,
    monthly_commentary,
    read_commentary,
    recorded_order_symbol,
    revision_payload,
)

if TYPE_CHECKING:
    from trackrecord.domain import Mode
    from trackrecord.engine.planning import SessionPlan
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.strategy.planner import PlannedOrder


# -- what the trader typed ---------------------------------------------------------------------------


def pre_trade_of(symbol: str | None, thesis: str | None, intended_entry: str | None, size_rationale: str | None,
                 exit_plan: str | None) -> PreTrade:
    return PreTrade(checked_symbol(symbol, "--symbol"), checked_text(thesis, "--thesis", required=True),
                    checked_price(intended_entry, "--intended-entry"),
                    checked_text(size_rationale, "--size-rationale"), checked_text(exit_plan, "--exit-plan"))


def post_trade_of(outcome: str | None, matched: bool | None, lesson: str | None) -> PostTrade:
    return PostTrade(checked_text(outcome, "--outcome", required=True), matched, checked_text(lesson, "--lesson"))


# -- the use cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What a command recorded: the annotation as it now reads; ``written`` False when the
    version asked for repeated the latest one."""

    annotation: Annotation
    written: bool


def add_pre_trade(ledger: "SqlLedger", pre_trade: PreTrade, order_ref: str | None, as_of: date) -> Recorded:
    """Record a trader's pre-trade note (a new annotation). An ``order_ref`` the ledger knows
    must be an order for the same symbol."""
    content = AnnotationContent(Author.TRADER, as_of, pre_trade, order_ref=order_ref)
    with ledger.writer() as writer:
        _check_order_symbol(writer.conn, order_ref, pre_trade.symbol)
        event = writer.append(kinds.ANNOTATION_ADDED, content_payload(content))
        created = annotation_by_id(writer.conn, event.seq)
    assert created is not None
    return Recorded(created, True)


def revise(ledger: "SqlLedger", ident: int, change: Callable[[AnnotationContent], AnnotationContent]) -> Recorded:
    """A new version of annotation ``ident``: ``change`` of its latest content."""
    with ledger.writer() as writer:
        found = annotation_by_id(writer.conn, ident)
        if found is None:
            raise UserError(f"annotation {ident}: no such annotation (`trackrecord annotate list` shows the ids)")
        content = change(found.content)
        if content == found.content:
            return Recorded(found, False)
        _check_order_symbol(writer.conn, content.order_ref, content.pre_trade.symbol)
        writer.append(kinds.ANNOTATION_REVISED, revision_payload(found, content))
        revised = annotation_by_id(writer.conn, ident)
    assert revised is not None
    return Recorded(revised, True)


def with_post_trade(post_trade: PostTrade) -> Callable[[AnnotationContent], AnnotationContent]:
    return lambda content: replace(content, post_trade=post_trade)


def with_pre_trade(pre_trade: PreTrade, order_ref: str | None) -> Callable[[AnnotationContent], AnnotationContent]:
    """The pre-trade part replaced; the order ref kept unless a new one is given."""
    return lambda content: replace(content, pre_trade=pre_trade, order_ref=order_ref or content.order_ref)


def _check_order_symbol(conn: Any, order_ref: str | None, symbol: str) -> None:
    recorded = recorded_order_symbol(conn, order_ref) if order_ref else None
    if recorded is not None and recorded != symbol:
        raise UserError(f"--order-ref {order_ref}: that order is for {recorded}, not {symbol}")


# -- monthly commentary ----------------------------------------------------------------------------


def commentary_path(workspace_root: Path, month: date) -> Path:
    return workspace_root / "annotations" / "monthly" / f"{month:%Y-%m}.md"


def freeze_commentary(ledger: "SqlLedger", month: date, commentary: CommentaryText) -> tuple[Commentary, bool]:
    """Freeze the month's commentary into the ledger by its content: (the month's latest
    commentary, whether this call wrote it). The same content again writes nothing; other
    content is a new version that supersedes."""
    with ledger.writer() as writer:
        latest = monthly_commentary(writer.conn, month)
        if latest is not None and latest.sha256 == commentary.sha256:
            return latest, False
        writer.append(kinds.COMMENTARY_RECORDED, commentary_payload(month, commentary.text, commentary.sha256,
                                                                    commentary.source, latest))
        frozen = monthly_commentary(writer.conn, month)
    assert frozen is not None
    return frozen, True


def freeze_month_commentary(ledger: "SqlLedger", workspace_root: Path, month: date) -> Commentary | None:
    """What making a report does: freeze ``annotations/monthly/YYYY-MM.md`` when it exists
    (an empty file is a template, not a commentary), and return the month's commentary (None
    when there is none at all)."""
    path = commentary_path(workspace_root, month)
    if path.is_file() and path.read_bytes().strip():
        return freeze_commentary(ledger, month, read_commentary(path, f"annotations/monthly/{month:%Y-%m}.md"))[0]
    from trackrecord.ledger.queries import reading

    with reading(ledger.engine) as conn:
        return monthly_commentary(conn, month)


# -- the engine's systematic notes -------------------------------------------------------------------


def strategy_rule(planned: "SessionPlan") -> str:
    p = planned.signal.signal.params
    floor = "" if p.min_momentum is None else f", momentum above {p.min_momentum:+.1%}"
    skip = f"skipping the latest {p.skip_months}" if p.skip_months else "up to the last month end"
    return (f"{p.lookback_months}-{p.skip_months} momentum: each month, hold the top {p.top_n} by the return over "
            f"the last {p.lookback_months} months {skip}{floor}; a holding is kept "
            f"while it ranks in the top {p.exit_rank}")


def systematic_notes(planned: "SessionPlan", mode: "Mode", plan_seq: int) -> list[tuple[str, dict[str, Any]]]:
    """One ``annotation.added`` (author: engine) per planned order: the rule, the rank and
    momentum, the target weight and the decision price, so each trade carries its reason."""
    context = _NoteContext.of(planned)
    return [(kinds.ANNOTATION_ADDED, content_payload(context.note(order, mode, plan_seq)))
            for order in planned.plan.orders]


@dataclass(frozen=True)
class _NoteContext:
    """What every note of one plan shares: the rule's text and each symbol's rank, line and
    exclusion, looked up once a plan rather than once an order."""

    planned: "SessionPlan"
    rule: str
    ranked: dict[str, Any]
    lines: dict[str, Any]
    excluded: dict[str, str]

    @classmethod
    def of(cls, planned: "SessionPlan") -> "_NoteContext":
        signal = planned.signal.signal
        ranked: dict[str, Any] = {}
        for r in signal.ranks:
            ranked.setdefault(r.symbol, r)
        lines: dict[str, Any] = {}
        for x in planned.plan.lines:
            lines.setdefault(x.symbol, x)
        return cls(planned, strategy_rule(planned), ranked, lines, dict(signal.excluded))

    def note(self, order: "PlannedOrder", mode: "Mode", plan_seq: int) -> AnnotationContent:
        plan, outcome = self.planned.plan, self.planned.signal
        signal = outcome.signal
        ranked, line = self.ranked.get(order.symbol), self.lines.get(order.symbol)
        reason = SystematicReason(
            plan_id=plan.plan_id, plan_seq=plan_seq, signal_seq=outcome.seq, mode=mode.value,
            account_id=plan.account_id, session_date=plan.session_date, side=order.side.value,
            quantity=order.quantity, action=_action(line), rule=self.rule,
            reason=ranked.reason if ranked else self.excluded.get(order.symbol, "not ranked"),
            rank=ranked.rank if ranked else None, ranked=len(signal.ranks),
            momentum=Decimal(repr(ranked.momentum)) if ranked else None,
            target_weight=line.target_weight if line else Decimal(0), weight_before=line.weight if line else Decimal(0),
            decision_price=order.intended_price, currency=order.currency, order_type=plan.params.order_type.value,
            formation_start=signal.formation_start, formation_end=signal.formation_end,
            inputs_sha256=signal.inputs_sha256,
        )
        pre = PreTrade(order.symbol, _thesis(reason, signal.params.top_n, signal.params.exit_rank),
                       order.intended_price, _size_rationale(reason, plan.nav, plan.params.cash_buffer),
                       _exit_plan(reason, signal.params))
        return AnnotationContent(Author.ENGINE, plan.session_date, pre, order_ref=order.order_ref, systematic=reason)


def _action(line: Any) -> str:
    return line.action if line is not None else "exit"


def _thesis(r: SystematicReason, top_n: int, exit_rank: int) -> str:
    standing = (f"ranks {r.rank} of {r.ranked} on momentum ({float(r.momentum or 0):+.1%} from {r.formation_start} "
                f"to {r.formation_end})" if r.rank is not None else f"was not ranked ({r.reason})")
    if r.action == "entry":
        return f"Systematic entry: {standing}, inside the top {top_n}: target weight {r.target_weight:.1%}."
    if r.action == "exit":
        why = {"below min_momentum": "below the momentum floor", "not selected": f"outside the exit rank {exit_rank}"}
        return f"Systematic exit: {standing}, {why.get(r.reason, r.reason)}: no target weight, the holding is sold."
    if r.action == "trim":
        return (f"Systematic trim: {standing}; held at {r.weight_before:.1%} above its target "
                f"{r.target_weight:.1%}, trimmed to fund the month's entries.")
    return (f"Systematic rebalance: {standing}; held at {r.weight_before:.1%} against a target of "
            f"{r.target_weight:.1%}, beyond the drift band.")


def _size_rationale(r: SystematicReason, nav: Decimal, cash_buffer: Decimal) -> str:
    at = f"at the decision price {r.decision_price} {r.currency} (the last close before {r.session_date})"
    if r.action == "exit":
        return f"{r.side} all {r.quantity} {at}."
    return (f"{r.side} {r.quantity} {at}: {r.target_weight:.1%} of the NAV {nav:,.2f} less the {cash_buffer:.0%} "
            f"cash buffer, in whole shares; {r.order_type} order.")


def _exit_plan(r: SystematicReason, params: Any) -> str:
    if r.side == "SELL" and r.action == "exit":
        return f"Closed; bought again only when it ranks in the top {params.top_n} at a monthly rebalance."
    return (f"Held while it ranks in the top {params.exit_rank} at each monthly rebalance; sold at the first one "
            "it falls outside" + (" or below the momentum floor." if params.min_momentum is not None else "."))
