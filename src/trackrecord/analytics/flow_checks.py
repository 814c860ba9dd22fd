"""Is each recorded cash flow visible in the NAV series? A pure check for ``cashflow add`` and ``stats``.

A flow ``F`` booked on snapshot ``t`` (the first snapshot on or after its date, as
``returns.flows_on_dates`` books it) should move the NAV by about ``F``:
``NAV_t - NAV_{t-1} = F + market move``. The check flags a flow when

* it is material: ``|F| >= MATERIAL_SHARE * NAV_{t-1}``, and
* less than half of it shows: ``|NAV_t - NAV_{t-1} - F| > |F| / 2``.

A deposit of 1,000,000 against a NAV of 100,000 that moved 0.2 % is flagged: the record
would read it as a loss of 90 %. Flows on or before the first snapshot (the base) and after
the last one are not checked: no NAV spans them.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Mapping, Sequence

MATERIAL_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class UnreflectedFlow:
    """A flow the NAV series does not show: booked between ``previous`` and ``booked_on``."""

    flow_date: date
    amount: float
    previous: date
    booked_on: date
    nav_before: float
    nav_after: float

    @property
    def nav_move(self) -> float:
        return self.nav_after - self.nav_before

    def message(self) -> str:
        kind = "deposit" if self.amount > 0 else "withdrawal"
        share = self.nav_move / self.nav_before if self.nav_before else float("nan")
        return (f"the {kind} of {self.amount:,.2f} on {self.flow_date} is not reflected in the NAV: it moved "
                f"{self.nav_move:+,.2f} ({share:+.2%}) from {self.nav_before:,.2f} on {self.previous} to "
                f"{self.nav_after:,.2f} on {self.booked_on}; check the flow's date and amount, or the snapshots")


def unreflected_flows(dates: Sequence[date], navs: Sequence[float],
                      flows: Mapping[date, float]) -> list[UnreflectedFlow]:
    """Flows (summed by date) that the NAV series does not show, oldest first."""
    if len(dates) < 2:
        return []
    found: list[UnreflectedFlow] = []
    for flow_date in sorted(flows):
        amount = float(flows[flow_date])
        index = bisect_left(dates, flow_date)
        if index == 0 or index >= len(dates) or amount == 0:
            continue
        before, after = float(navs[index - 1]), float(navs[index])
        material = abs(amount) >= MATERIAL_SHARE * abs(before)
        if material and abs(after - before - amount) > abs(amount) / 2:
            found.append(UnreflectedFlow(flow_date, amount, dates[index - 1], dates[index], before, after))
    return found


def trades_before_the_base(base: date, fill_dates: Sequence[date]) -> str | None:
    """A warning when the record's base snapshot was taken after trades of its own session
    (the first rebalance filled on the day of the deposit, say): their commissions and
    slippage are in the base NAV, so no return counts them. Fills of earlier sessions are
    simply before the record."""
    count = sum(1 for day in fill_dates if day == base)
    if not count:
        return None
    return (f"the record's base, the snapshot of {base}, was taken after {count} fill(s) of that session: "
            "their commissions and slippage are outside the returns, which start at its close; a snapshot "
            "before the first trade (an earlier session, with the deposit dated on or before it) counts them")
