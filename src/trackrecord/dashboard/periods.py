"""P&L and time-weighted return of the record for the day, month, year and since inception:
pure, over plain numbers (the same TWR arithmetic as ``trackrecord.analytics.returns``).

Each period's base is the snapshot before the period's first day, as ``stats FROM``
takes it: the month's figures equal ``stats YYYY-MM-01 --json`` (``metrics.pnl``,
``metrics.total_return``).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

import numpy as np

from trackrecord.analytics import returns as rt


@dataclass(frozen=True, slots=True)
class PeriodChange:
    """What the account made over one period: money (base currency) and TWR."""

    period: str
    base_date: date
    end_date: date
    pnl: float
    twr: float

    def document(self) -> dict[str, Any]:
        return {"period": self.period, "base_date": self.base_date.isoformat(), "end_date": self.end_date.isoformat(),
                "pnl": self.pnl, "return": self.twr}


def period_changes(dates: Sequence[date], navs: Sequence[float], flows_by_date: Mapping[date, float],
                   flow_weight: Any) -> list[PeriodChange]:
    """Day (since the previous snapshot), month to date, year to date and since inception,
    at the last snapshot. Empty for fewer than two snapshots."""
    if len(dates) < 2:
        return []
    day = np.asarray(dates, dtype="datetime64[D]")
    nav = np.asarray(navs, dtype=np.float64)
    flows = rt.flows_on_dates(day, flows_by_date)
    index = rt.twr_index(rt.twr_returns(nav, flows, flow_weight))
    last = len(dates) - 1
    end = dates[last]
    starts = {"day": last - 1,
              "month": max(bisect_left(dates, end.replace(day=1)) - 1, 0),
              "year": max(bisect_left(dates, end.replace(month=1, day=1)) - 1, 0),
              "inception": 0}
    return [PeriodChange(name, dates[base], end, rt.profit_and_loss(nav[base:], flows[base:]),
                         float(index[last] / index[base] - 1.0)) for name, base in starts.items()]
