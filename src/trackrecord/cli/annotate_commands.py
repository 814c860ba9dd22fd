"""``annotate new|ID|list|monthly``: trade annotations and the monthly commentary, as ledger events."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Optional

import click
import typer
from typer.core import TyperGroup

from trackrecord.cli import context
from trackrecord.domain.annotations import Annotation, AnnotationContent, PostTrade, PreTrade
from trackrecord.engine.annotations import (
    add_pre_trade,
    commentary_path,
    freeze_commentary,
    post_trade_of,
    pre_trade_of,
    read_commentary,
    revise,
    with_post_trade,
    with_pre_trade,
)
from trackrecord.errors import UserError
from trackrecord.ledger.annotations import (
    annotation_by_id,
    annotation_document,
    annotations_in_month,
    checked_order_ref,
    checked_price,
    checked_symbol,
    checked_text,
    parse_month,
    recorded_annotations,
)
from trackrecord.ledger.canonical import format_timestamp

EDIT = "edit"
PRE_OPTIONS = ("--symbol", "--thesis", "--intended-entry", "--size-rationale", "--exit-plan", "--order-ref")
POST_OPTIONS = ("--outcome", "--matched/--not-matched", "--lesson")


class AnnotateGroup(TyperGroup):
    """``annotate ID ...`` is ``annotate edit ID ...``: an annotation's id in the command's place."""
    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [EDIT, *args]
        return super().resolve_command(ctx, args)


def _today(services: Any) -> date:
    """Today on the universe's exchange (``TRACKRECORD_NOW`` fixes the clock, as for every command)."""
    from trackrecord.bootstrap import record_calendar, wall_clock
    from trackrecord.engine.sessions import exchange_today

    return exchange_today(record_calendar(services), wall_clock())


def _refuse_outside_universe(services: Any, symbol: str) -> None:
    """A note is append-only: a mistyped symbol would stand in the record, so it is refused."""
    universe = [i.symbol for i in services.settings.universe.instruments]
    if symbol not in universe:
        raise UserError(f"--symbol {symbol}: not in the universe (trackrecord.yaml universe.instruments: "
                        f"{', '.join(universe)}); nothing was recorded")


def annotate_new(
    ctx: typer.Context,
    pre: bool = typer.Option(False, "--pre", help="a pre-trade note (what a new annotation is)"),
    symbol: Optional[str] = typer.Option(None, "--symbol", help="the instrument traded"),
    thesis: Optional[str] = typer.Option(None, "--thesis", help="why the trade"),
    intended_entry: Optional[str] = typer.Option(None, "--intended-entry", help="the price aimed at"),
    size_rationale: Optional[str] = typer.Option(None, "--size-rationale", help="why this size"),
    exit_plan: Optional[str] = typer.Option(None, "--exit-plan", help="how the trade ends"),
    order_ref: Optional[str] = typer.Option(None, "--order-ref", help="the order it is about (its orderRef)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Record a pre-trade note: `annotate new --pre --symbol S --thesis TEXT`."""
    if not pre:
        raise UserError("annotate new: a new annotation is a pre-trade note: pass --pre (a post-trade note goes on "
                        "an existing one: annotate ID --post --outcome TEXT)")
    if symbol is None:
        raise UserError("annotate new --pre: --symbol is required")
    pre_trade = pre_trade_of(symbol, thesis, intended_entry, size_rationale, exit_plan)
    ref = checked_order_ref(order_ref, "--order-ref")
    services = context.services(ctx)
    _refuse_outside_universe(services, pre_trade.symbol)
    recorded = add_pre_trade(services.ledger, pre_trade, ref, _today(services))
    _print(recorded.annotation, as_json, f"recorded annotation {recorded.annotation.id} (pre-trade, "
                                         f"{pre_trade.symbol})")


def annotate_edit(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="the annotation's id (`annotate list`)"),
    pre: bool = typer.Option(False, "--pre", help="revise the pre-trade note (options not given are kept)"),
    post: bool = typer.Option(False, "--post", help="record (or revise) the post-trade note"),
    symbol: Optional[str] = typer.Option(None, "--symbol"),
    thesis: Optional[str] = typer.Option(None, "--thesis"),
    intended_entry: Optional[str] = typer.Option(None, "--intended-entry"),
    size_rationale: Optional[str] = typer.Option(None, "--size-rationale"),
    exit_plan: Optional[str] = typer.Option(None, "--exit-plan"),
    order_ref: Optional[str] = typer.Option(None, "--order-ref"),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="what happened"),
    matched: Optional[bool] = typer.Option(None, "--matched/--not-matched", help="did it go as expected"),
    lesson: Optional[str] = typer.Option(None, "--lesson", help="what to keep from it"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """A new version of annotation ID: `annotate ID --post --outcome TEXT [--matched|--not-matched]
    [--lesson TEXT]`, or `annotate ID --pre --thesis TEXT ...`. It supersedes the latest."""
    number = _annotation_id(ident)
    if pre == post:
        raise UserError(f"annotate {ident}: pass exactly one of --pre (revise the pre-trade note) or --post "
                        "(the outcome)")
    given = {"--symbol": symbol, "--thesis": thesis, "--intended-entry": intended_entry,
             "--size-rationale": size_rationale, "--exit-plan": exit_plan, "--order-ref": order_ref,
             "--outcome": outcome, "--matched/--not-matched": matched, "--lesson": lesson}
    foreign = [name for name in (POST_OPTIONS if pre else PRE_OPTIONS) if given[name] is not None]
    if foreign:
        raise UserError(f"annotate {ident} {'--pre' if pre else '--post'}: {foreign[0]} goes with "
                        f"{'--post' if pre else '--pre'}")
    ref = checked_order_ref(order_ref, "--order-ref")
    services = context.services(ctx)
    with _reading(services) as conn:
        found = annotation_by_id(conn, number)
    if found is None:
        raise UserError(f"annotation {number}: no such annotation (`trackrecord annotate list` shows the ids)")
    if pre:
        pre_trade = _pre_edit(found.content, symbol, thesis, intended_entry, size_rationale, exit_plan)
        if symbol is not None:
            _refuse_outside_universe(services, pre_trade.symbol)
        change = with_pre_trade(pre_trade, ref)
    else:
        change = with_post_trade(_post_edit(found.content, outcome, matched, lesson))
    recorded = revise(services.ledger, number, change)
    latest = recorded.annotation.versions[-1]
    message = (f"recorded version {latest.version} of annotation {number} ({'pre' if pre else 'post'}-trade; "
               f"supersedes seq {latest.supersedes})") if recorded.written else \
        f"annotation {number} unchanged: it says that already (version {latest.version}); nothing recorded"
    _print(recorded.annotation, as_json, message)


def _annotation_id(text: str) -> int:
    if not text.strip().isdigit() or not text.strip().isascii() or len(text.strip()) > 18 or int(text) < 1:
        raise UserError(f"annotate {text!r}: expected new, list, monthly or an annotation's id (the number "
                        "`annotate list` shows)")
    return int(text)


def _pre_edit(current: AnnotationContent, symbol: str | None, thesis: str | None, intended_entry: str | None,
              size_rationale: str | None, exit_plan: str | None) -> PreTrade:
    pre = current.pre_trade
    if all(v is None for v in (symbol, thesis, intended_entry, size_rationale, exit_plan)):
        raise UserError("--pre: say what changes (--symbol, --thesis, --intended-entry, --size-rationale, "
                        "--exit-plan)")
    return replace(
        pre, symbol=pre.symbol if symbol is None else checked_symbol(symbol, "--symbol"),
        thesis=pre.thesis if thesis is None else checked_text(thesis, "--thesis", required=True),
        intended_entry=pre.intended_entry if intended_entry is None else checked_price(intended_entry,
                                                                                       "--intended-entry"),
        size_rationale=pre.size_rationale if size_rationale is None else checked_text(size_rationale,
                                                                                      "--size-rationale"),
        exit_plan=pre.exit_plan if exit_plan is None else checked_text(exit_plan, "--exit-plan"),
    )


def _post_edit(current: AnnotationContent, outcome: str | None, matched: bool | None, lesson: str | None) -> PostTrade:
    before = current.post_trade
    if before is None:
        return post_trade_of(outcome, matched, lesson)
    return post_trade_of(before.outcome if outcome is None else outcome,
                         before.matched_expectation if matched is None else matched,
                         before.lesson if lesson is None else lesson)


def annotate_list(
    ctx: typer.Context,
    month: Optional[str] = typer.Option(None, "--month", help="only those about, or written in, YYYY-MM"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (every version of each)"),
) -> None:
    """List annotations, each at its latest version."""
    chosen = None if month is None else parse_month(month, "--month")
    services = context.services(ctx)
    with _reading(services) as conn:
        found = recorded_annotations(conn) if chosen is None else annotations_in_month(conn, chosen)
    if as_json:
        context.print_json([annotation_document(a) for a in found])
        return
    _table(found)


def _table(found: list[Annotation]) -> None:
    from rich.table import Table

    table = Table("ID", "Date", "Symbol", "By", "Ver", "As expected", "Thesis / outcome", box=None)
    for a in found:
        content = a.content
        post = content.post_trade
        expected = "" if post is None or post.matched_expectation is None else \
            ("yes" if post.matched_expectation else "no")
        note = _short(content.pre_trade.thesis) + ("" if post is None else f" / {_short(post.outcome)}")
        table.add_row(str(a.id), content.as_of.isoformat(), content.pre_trade.symbol, content.author.value,
                      str(len(a.versions)), expected, note)
    context.console().print(table)
    typer.echo(f"{len(found)} annotation(s)")


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def annotate_monthly(
    ctx: typer.Context,
    month: str = typer.Argument(..., metavar="YYYY-MM", help="the month the commentary is about"),
    file: Optional[Path] = typer.Option(None, "--file", help="default: annotations/monthly/YYYY-MM.md"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Freeze the month's commentary into the ledger by its content (a changed file: a new version)."""
    chosen = parse_month(month, "annotate monthly")
    services = context.services(ctx)
    today = _today(services)
    if chosen > today.replace(day=1):
        raise UserError(f"annotate monthly {month}: that month has not begun (today is {today})")
    path, shown = (file, str(file)) if file is not None else \
        (commentary_path(services.workspace.root, chosen), f"annotations/monthly/{chosen:%Y-%m}.md")
    frozen, written = freeze_commentary(services.ledger, chosen, read_commentary(path, shown))
    if as_json:
        context.print_json({"month": f"{chosen:%Y-%m}", "seq": frozen.seq, "version": frozen.version,
                            "sha256": frozen.sha256, "source": frozen.source, "supersedes": frozen.supersedes,
                            "recorded_at": format_timestamp(frozen.recorded_at), "written": written})
        return
    if written:
        typer.echo(f"froze the commentary of {chosen:%Y-%m} from {shown} (seq {frozen.seq}, version {frozen.version}, "
                   f"sha256 {frozen.sha256[:12]})")
    else:
        typer.echo(f"the commentary of {chosen:%Y-%m} is frozen already with this content (seq {frozen.seq}); "
                   "nothing recorded")


def _reading(services: Any) -> Any:
    from trackrecord.ledger.queries import reading

    return reading(services.engine)


def _print(annotation: Annotation, as_json: bool, message: str) -> None:
    if as_json:
        context.print_json(annotation_document(annotation))
    else:
        typer.echo(message)


def register(app: typer.Typer) -> None:
    annotate_app = typer.Typer(cls=AnnotateGroup, no_args_is_help=True,
                               help="Trade annotations and the monthly commentary (ledger events; "
                                    "`annotate ID --post ...` revises annotation ID).")
    annotate_app.command("new")(annotate_new)
    annotate_app.command("list")(annotate_list)
    annotate_app.command("monthly")(annotate_monthly)
    annotate_app.command(EDIT)(annotate_edit)
    app.add_typer(annotate_app, name="annotate")
