"""What a report needs from outside the chain, frozen into it: ``report.inputs_recorded``.

A report must be rebuilt from events alone (``verify BUNDLE`` has no workspace), yet three
of its inputs live elsewhere: the settings that shape the figures (risk-free rate, flow
timing, benchmark, calendar, FX rates, the strategy's rules), the benchmark's closes
(the ``prices`` store) and the session closes that split a market-on-close fill's
slippage. Before building, ``trackrecord report`` appends what changed since the last
such event of the account:

* ``settings_json``: the settings subset as JSON text (floats keep their exact repr),
  only when it differs from the last one recorded;
* ``benchmark``: ``{"name", "reason", "replaces", "values": [[date, close or null], ...]}``:
  the benchmark close aligned at each snapshot date (the last close on or before it, as
  ``analytics.benchmark.align_closes`` gives it; the only way the figures read a
  benchmark), for the dates not recorded yet; ``replaces`` when an earlier value changed
  (a correction) or the benchmark changed, and the values are then all of them;
* ``closes``: ``[[symbol, date, close], ...]`` raw closes of market-on-close fills' sessions;
* ``model`` (monthly reports of a record with a model, i.e. executed plans with signals):
  ``{"closes": [[symbol, date, close], ...], "unavailable": text or null}``: the raw closes
  the model-vs-account attribution reads (every symbol the account or its model held, from
  the last close before the record's first snapshot to the month's end: the attribution
  since inception, whose months give the month's and the year's rows), new or corrected ones
  only; ``unavailable``: why the store cannot price the model (the words ``attribution``
  says), shown in the report instead of the table. Inputs recorded without this key (older
  reports) draw no table;
* ``sessions``: ``{"calendar", "timezone", "replaces", "dates"}``: the exchange calendar's
  sessions around the record (what its frequency and gaps are read from), new ones only
  unless one recorded before is no longer a session; so a newer calendar library cannot
  change a report already made.

``FrozenInputs.from_events`` reads them back, merged, for the rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent

SETTINGS_SECTIONS = ("mode", "account", "universe", "prices", "strategy", "risk", "performance")


@dataclass(frozen=True)
class FrozenInputs:
    """The report inputs recorded in the chain for one account, merged in seq order."""

    settings_json: str | None = None
    benchmark_name: str | None = None
    benchmark_reason: str | None = None
    benchmark_values: dict[str, float | None] = field(default_factory=dict)
    closes: dict[tuple[str, str], float] = field(default_factory=dict)
    sessions: tuple[str, ...] = ()
    timezone: str | None = None
    seen: bool = False
    model_closes: dict[tuple[str, str], float] = field(default_factory=dict)
    model_frozen: bool = False
    model_unavailable: str | None = None

    @classmethod
    def from_events(cls, events: Iterable[StoredEvent], account_id: str) -> "FrozenInputs":
        settings_json, name, reason, values, closes, seen = None, None, None, {}, {}, False
        sessions: set[str] = set()
        timezone = None
        model_closes: dict[tuple[str, str], float] = {}
        model_frozen, unavailable = False, None
        for event in events:
            if event.kind != kinds.REPORT_INPUTS_RECORDED:
                continue
            data = event.data()
            if data.get("account_id") != account_id:
                continue
            seen = True
            settings_json = data.get("settings_json", settings_json)
            bench = data.get("benchmark")
            if bench is not None:
                if bench.get("replaces"):
                    values = {}
                name, reason = bench.get("name"), bench.get("reason")
                values.update({day: None if v is None else float(v) for day, v in bench.get("values", [])})
            closes.update({(symbol, day): float(value) for symbol, day, value in data.get("closes", [])})
            calendar = data.get("sessions")
            if calendar is not None:
                sessions = set(calendar["dates"]) | (set() if calendar.get("replaces") else sessions)
                timezone = calendar.get("timezone")
            model = data.get("model")
            if model is not None:
                model_frozen, unavailable = True, model.get("unavailable")
                model_closes.update({(symbol, day): float(value) for symbol, day, value in model.get("closes", [])})
        return cls(settings_json, name, reason, values, closes, tuple(sorted(sessions)), timezone, seen,
                   model_closes, model_frozen, unavailable)

    def model_close_series(self) -> dict[str, dict[date, float]]:
        """The frozen model closes as ``symbol -> {date: close}`` (what ``attribute_record`` takes)."""
        out: dict[str, dict[date, float]] = {}
        for (symbol, day), value in self.model_closes.items():
            out.setdefault(symbol, {})[date.fromisoformat(day)] = value
        return out

    def session_array(self) -> Any:
        import numpy as np

        return np.array(self.sessions, dtype="datetime64[D]")

    def benchmark_until(self, last: date) -> tuple[tuple[Any, Any] | None, str | None]:
        """``(closes, reason)`` as ``engine.performance.performance_stats`` takes them."""
        import numpy as np

        if self.benchmark_name is None or self.benchmark_reason is not None and not self.benchmark_values:
            return None, self.benchmark_reason
        days = sorted(d for d in self.benchmark_values if d <= last.isoformat())
        values = [np.nan if self.benchmark_values[d] is None else self.benchmark_values[d] for d in days]
        return (np.array(days, dtype="datetime64[D]"), np.array(values, dtype=np.float64)), None


def settings_json(settings: Any) -> str:
    """The settings subset that shapes a report, as JSON text."""
    document = settings.model_dump(mode="json", include=set(SETTINGS_SECTIONS))
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def settings_from_json(text: str) -> Any:
    from trackrecord.config import Settings

    return Settings.model_validate(json.loads(text))


def inputs_payload(account_id: str, frozen: FrozenInputs, settings_text: str, benchmark_name: str | None,
                   reason: str | None, aligned: Mapping[str, float | None],
                   closes: Mapping[tuple[str, str], float], calendar: Any,
                   model: tuple[Mapping[tuple[str, str], float], str | None] | None = None) -> dict[str, Any] | None:
    """The ``report.inputs_recorded`` payload of what differs from ``frozen``; None when nothing
    does. ``model``: (the attribution's closes, why it is unavailable or None), None for a report
    without the attribution (a record with no model, a weekly report)."""
    payload: dict[str, Any] = {"account_id": account_id}
    if settings_text != frozen.settings_json:
        payload["settings_json"] = settings_text
    bench = _benchmark_delta(frozen, benchmark_name, reason, aligned)
    if bench is not None:
        payload["benchmark"] = bench
    new_closes = sorted((s, d, _exact(v)) for (s, d), v in closes.items() if frozen.closes.get((s, d)) != v)
    if new_closes:
        payload["closes"] = [list(row) for row in new_closes]
    sessions = _sessions_delta(frozen, calendar)
    if sessions is not None:
        payload["sessions"] = sessions
    if model is not None:
        delta = _model_delta(frozen, *model)
        if delta is not None:
            payload["model"] = delta
    return payload if len(payload) > 1 else None


def _model_delta(frozen: FrozenInputs, closes: Mapping[tuple[str, str], float],
                 unavailable: str | None) -> dict[str, Any] | None:
    new = sorted((s, d, _exact(v)) for (s, d), v in closes.items() if frozen.model_closes.get((s, d)) != v)
    if frozen.model_frozen and not new and unavailable == frozen.model_unavailable:
        return None
    return {"closes": [list(row) for row in new], "unavailable": unavailable}


def _sessions_delta(frozen: FrozenInputs, calendar: Any) -> dict[str, Any] | None:
    """``calendar``: an ``ExchangeCalendar`` covering the record (None: the recorded sessions cover it)."""
    if calendar is None:
        return None
    current = [str(d) for d in calendar.sessions.astype("datetime64[D]").astype(str).tolist()]
    known = set(frozen.sessions)
    lost = {d for d in known if current[0] <= d <= current[-1]} - set(current)
    replaces = bool(lost) or calendar.timezone != frozen.timezone and bool(known)
    dates = current if replaces else [d for d in current if d not in known]
    if not dates and not replaces:
        return None
    return {"calendar": calendar.code, "timezone": calendar.timezone, "replaces": replaces, "dates": dates}


def _benchmark_delta(frozen: FrozenInputs, name: str | None, reason: str | None,
                     aligned: Mapping[str, float | None]) -> dict[str, Any] | None:
    changed = name != frozen.benchmark_name or reason != frozen.benchmark_reason
    corrected = any(day in frozen.benchmark_values and not _same(frozen.benchmark_values[day], value)
                    for day, value in aligned.items())
    replaces = changed or corrected
    days = sorted(aligned) if replaces else sorted(d for d in aligned if d not in frozen.benchmark_values)
    if not replaces and not days:
        return None
    values = [[day, None if aligned[day] is None else _exact(aligned[day])] for day in days]
    return {"name": name, "reason": reason, "replaces": replaces, "values": values}


def aligned_benchmark(dates: Sequence[date], closes: tuple[Any, Any] | None) -> dict[str, float | None]:
    """date -> the benchmark close aligned at it (None where there is none yet)."""
    import math

    import numpy as np

    from trackrecord.analytics.benchmark import align_closes

    if closes is None or not dates:
        return {}
    days = np.array([d.isoformat() for d in dates], dtype="datetime64[D]")
    values = align_closes(days, closes[0], np.asarray(closes[1], dtype=np.float64))
    return {d.isoformat(): (None if not math.isfinite(v) else float(v)) for d, v in zip(dates, values.tolist())}


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is None and b is None)


def _exact(value: float) -> str:
    return repr(float(value))
