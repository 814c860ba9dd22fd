"""``trackrecord backtest --grid``: the same backtest over every combination of strategy
parameters, and where the workspace's own (live) parameters rank among them.

Each trial is ``engine.backtest.run_backtest`` (the live engine on the simulated broker) into a
throw-away workspace of its own (no sync on commit), removed once its figures are read; trials
run in parallel processes when ``jobs > 1``. The live parameters are always one of the trials
(added when the grid does not contain them), so the deflated Sharpe ratio
(``analytics.deflated_sharpe``) counts every combination tried.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import shutil
import signal
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from pydantic import ValidationError

from trackrecord.analytics.deflated_sharpe import DeflatedSharpe, annual_turnover, deflated_sharpe
from trackrecord.analytics.metrics import Undefined
from trackrecord.config import Settings, StrategyConfig
from trackrecord.engine.backtest import (
    BacktestCosts,
    OpenBacktestWorkspace,
    PriceHistory,
    check_capital,
    history_start,
    run_backtest,
)
from trackrecord.errors import RuntimeFailure, TrackrecordError, UserError

INTEGER_KEYS = ("lookback_months", "skip_months", "top_n", "exit_rank")
FRACTION_KEYS = ("drift_band", "cash_buffer", "min_momentum")
GRID_KEYS = INTEGER_KEYS + FRACTION_KEYS
MAX_TRIALS = 500

Value = int | float


@dataclass(frozen=True, slots=True)
class GridAxis:
    """One strategy parameter and the values tried (in the order given)."""

    key: str
    values: tuple[Value, ...]


def parse_grid(specs: Sequence[str]) -> tuple[GridAxis, ...]:
    """``KEY=VALUES`` per spec, VALUES ``a..b`` (whole numbers, inclusive), ``a,b,c`` or one
    value; KEY one of ``GRID_KEYS`` (``strategy.*``). ``UserError`` naming the spec otherwise."""
    axes: dict[str, GridAxis] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not text.strip():
            raise UserError(f"--grid {spec!r}: expected KEY=VALUES, e.g. top_n=1..5 or lookback_months=6,9,12")
        if key not in GRID_KEYS:
            raise UserError(f"--grid {spec!r}: unknown parameter {key!r}; expected one of {', '.join(GRID_KEYS)}")
        if key in axes:
            raise UserError(f"--grid {spec!r}: {key} is given twice; give all its values in one --grid")
        values = _values(spec, key, text.strip())
        if len(set(values)) != len(values):
            raise UserError(f"--grid {spec!r}: a value is repeated")
        axes[key] = GridAxis(key, values)
    if not axes:
        raise UserError("--grid: give at least one KEY=VALUES")
    count = math.prod(len(a.values) for a in axes.values())
    if count > MAX_TRIALS:
        raise UserError(f"--grid: {count} combinations; at most {MAX_TRIALS} are run")
    return tuple(axes.values())


def _values(spec: str, key: str, text: str) -> tuple[Value, ...]:
    whole = key in INTEGER_KEYS
    if ".." in text:
        low, _, high = text.partition("..")
        if not whole:
            raise UserError(f"--grid {spec!r}: a range a..b is for whole-number parameters; list {key}'s values a,b,c")
        first, last = _number(spec, low, True), _number(spec, high, True)
        if last < first:
            raise UserError(f"--grid {spec!r}: the range {text} is empty (its end is below its start)")
        return tuple(range(int(first), int(last) + 1))
    return tuple(_number(spec, part, whole) for part in text.split(","))


def _number(spec: str, text: str, whole: bool) -> Value:
    text = text.strip()
    try:
        value: Value = int(text) if whole else float(text)
    except ValueError:
        raise UserError(f"--grid {spec!r}: {text!r} is not {'a whole number' if whole else 'a number'}") from None
    if not math.isfinite(value):
        raise UserError(f"--grid {spec!r}: {text!r} is not a finite number")
    return value


def combinations(axes: Sequence[GridAxis]) -> list[dict[str, Value]]:
    """Every combination, the first axis varying slowest."""
    return [dict(zip((a.key for a in axes), values)) for values in itertools.product(*(a.values for a in axes))]


def _field_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``key: reason`` (a rule across keys has no key of its own)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    key = ".".join(str(part) for part in error.get("loc", ()))
    return f"{key}: {message[0].lower()}{message[1:]}" if key else message


def strategy_for(settings: Settings, params: Mapping[str, Value]) -> Settings:
    """The settings with ``params`` in ``strategy``; ``UserError`` naming the combination when
    the strategy refuses it (e.g. skip_months not below lookback_months)."""
    try:
        strategy = StrategyConfig.model_validate({**settings.strategy.model_dump(), **params})
    except ValidationError as exc:
        reason = "; ".join(_field_error(e) for e in exc.errors())
        fixed = [key for key in INTEGER_KEYS if key not in params and key in reason]
        hint = (f" ({', '.join(f'{k} {getattr(settings.strategy, k)}' for k in fixed)} from trackrecord.yaml's "
                "strategy, as every key not on the grid): leave the combination out, or put "
                f"{' and '.join(fixed)} on the grid too") if fixed else ""
        raise UserError(f"--grid combination {_label(params)}: {reason}{hint}") from None
    updated = settings.model_copy(update={"strategy": strategy})  # a copy is not validated: the cross-section rule
    try:
        updated._cap_fits_target()  # noqa: SLF001 (Settings' own rule; risk would refuse every rebalance)
    except ValueError as exc:
        raise UserError(f"--grid combination {_label(params)}: {exc}; raise risk.max_position_weight in "
                        "trackrecord.yaml or leave the combination out") from None
    return updated


def earliest_history(settings: Settings, axes: Sequence[GridAxis], start: date) -> date:
    """The first bar the grid needs (its longest lookback); every combination is checked first."""
    return min(history_start(strategy_for(settings, c), start) for c in combinations(axes))


def _label(params: Mapping[str, Value]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


@dataclass(frozen=True, slots=True)
class Trial:
    """One combination's backtest: annual CAGR, Sharpe (annualised) and one-way turnover a
    year, max drawdown (negative fraction), and the return moments the DSR needs."""

    params: Mapping[str, Value]
    cagr: float | None
    sharpe: float | None
    max_drawdown: float | None
    turnover: float | None
    n_returns: int
    periods_per_year: int
    skew: float | None
    kurtosis: float | None  # excess
    final_nav: str | None
    refusals: int = 0  # sessions a safety rule refused (e.g. a weight above risk.max_position_weight)
    failed: str | None = None  # why the engine could not run it (e.g. no signal on the first session)

    @property
    def sharpe_per_period(self) -> float | None:
        return None if self.sharpe is None else self.sharpe / math.sqrt(self.periods_per_year)

    def document(self) -> dict[str, Any]:
        return {"params": dict(self.params), "cagr": self.cagr, "sharpe": self.sharpe,
                "max_drawdown": self.max_drawdown, "turnover": self.turnover, "n_returns": self.n_returns,
                "skew": self.skew, "kurtosis": self.kurtosis, "final_nav": self.final_nav,
                "refusals": self.refusals, "failed": self.failed}


@dataclass(frozen=True)
class GridRun:
    """What one worker needs: everything picklable (the calendar is reopened in the worker)."""

    settings: Settings
    history: PriceHistory
    costs: BacktestCosts
    start: date
    end: date
    cash: Decimal
    now: datetime
    open_workspace: OpenBacktestWorkspace
    calendar_start: date
    scratch: Path


@dataclass(frozen=True)
class GridResult:
    axes: tuple[GridAxis, ...]
    trials: tuple[Trial, ...]
    live: Trial
    live_added: bool
    deflated: DeflatedSharpe
    costs: BacktestCosts
    first_day: date  # as asked (--from, --to)
    last_day: date

    def rank(self, key: str) -> int:
        """The live trial's rank (1 = best) by ``key`` (sharpe or cagr; undefined ranks last)."""
        def score(t: Trial) -> float:
            value = getattr(t, key)
            return -math.inf if value is None else value

        ordered = sorted(self.trials, key=score, reverse=True)
        return 1 + sum(1 for t in ordered if score(t) > score(self.live))

    def document(self) -> dict[str, Any]:
        return {
            "simulated": True, "backtest": True, "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(), "costs": self.costs.document(),
            "grid": {a.key: list(a.values) for a in self.axes},
            "trials": [t.document() for t in self.trials],
            "live": {"params": dict(self.live.params), "added_to_grid": self.live_added,
                     "rank_sharpe": self.rank("sharpe"), "rank_cagr": self.rank("cagr"), "of": len(self.trials)},
            "deflated_sharpe": self.deflated.document(),
        }


def run_grid(run: GridRun, axes: Sequence[GridAxis], jobs: int,
             progress: Callable[[int, int], None] | None = None) -> GridResult:
    """Every combination of ``axes`` (plus the live parameters when missing) through
    ``run_backtest``; ``jobs`` processes at once. Bad combinations are refused before any runs."""
    combos = combinations(axes)
    keys = [a.key for a in axes]
    live_params = {k: _live_value(run.settings.strategy, k) for k in keys}
    live_added = live_params not in combos
    if live_added:
        combos.append(live_params)
    runs = [(run, strategy_for(run.settings, c), c) for c in combos]
    for _, settings, _ in runs:
        check_capital(settings, run.cash)  # before any trial runs
    trials: list[Trial] = []
    if jobs <= 1 or len(runs) == 1:
        for item in runs:
            trials.append(_trial(item))
            if progress:
                progress(len(trials), len(runs))
    else:
        others = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(runs)), initializer=_leave_interrupts_to_the_parent)
        try:
            for trial in pool.map(_trial, runs):
                trials.append(trial)
                if progress:
                    progress(len(trials), len(runs))
        except BaseException:  # Ctrl-C, or a trial that raised: stop the others now, not after the queue
            pool.shutdown(wait=False, cancel_futures=True)
            for child in set(multiprocessing.active_children()) - others:  # the pool's workers
                child.terminate()
                child.join()
            raise
        pool.shutdown()
    live = trials[combos.index(live_params)]
    deflated = _deflated(live, trials)
    return GridResult(tuple(axes), tuple(trials), live, live_added, deflated, run.costs, run.start, run.end)


def _leave_interrupts_to_the_parent() -> None:
    """A worker ignores Ctrl-C (the terminal sends it to the whole process group): the
    parent stops the grid and ends its workers. A worker interrupted between two trials,
    unpickling the next, printed multiprocessing's traceback over the one-line message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _live_value(strategy: StrategyConfig, key: str) -> Value:
    value = getattr(strategy, key)
    return float(value) if key in FRACTION_KEYS and value is not None else value


def _deflated(live: Trial, trials: Sequence[Trial]) -> DeflatedSharpe:
    sharpes = [t.sharpe_per_period for t in trials if t.sharpe_per_period is not None]
    if live.sharpe_per_period is None or live.skew is None or live.kurtosis is None:
        return DeflatedSharpe(len(trials), 0.0, Undefined("the live parameters' Sharpe ratio is undefined"),
                              Undefined("the live parameters' Sharpe ratio is undefined"),
                              Undefined("the live parameters' Sharpe ratio is undefined"))
    return deflated_sharpe(live.sharpe_per_period, live.n_returns, live.skew, live.kurtosis + 3.0, sharpes,
                           n_trials=len(trials))


def _trial(item: tuple[GridRun, Settings, Mapping[str, Value]]) -> Trial:
    from trackrecord.market.calendar import open_calendar

    run, settings, params = item
    calendar = open_calendar(settings.universe.calendar, start=run.calendar_start)
    folder = Path(tempfile.mkdtemp(prefix="trial-", dir=run.scratch))
    try:
        result = run_backtest(settings, run.history, folder / "ws", run.costs, run.start, run.end, run.cash, run.now,
                              run.open_workspace, calendar, refuse_jumps=False)  # a gate that stops it: a failed trial
    except RuntimeFailure as exc:  # the engine could not run this combination: a trial that failed, still counted
        return Trial(dict(params), None, None, None, None, 0, 252, None, None, None, failed=str(exc))
    except TrackrecordError as exc:
        raise type(exc)(f"grid trial {_label(params)}: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    metrics = result.stats.get("metrics", {})
    periods = int(result.stats.get("periods_per_year") or 252)
    n_returns = int(metrics.get("n_returns") or 0)
    turnover = annual_turnover(result.traded, result.mean_nav, n_returns, periods)
    return Trial(dict(params), _number_or_none(metrics.get("cagr")), _number_or_none(metrics.get("sharpe")),
                 _number_or_none(metrics.get("max_drawdown")),
                 None if isinstance(turnover, Undefined) else turnover, n_returns, periods,
                 _number_or_none(metrics.get("skew")), _number_or_none(metrics.get("kurtosis")),
                 None if result.replay.final_nav is None else str(result.replay.final_nav),
                 len(result.replay.refusals))


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
