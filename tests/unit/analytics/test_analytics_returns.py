"""TWR, MWR and P&L: hand-computed fixtures and invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.returns import (
    as_dates,
    daily_risk_free,
    flows_on_dates,
    money_weighted_return,
    profit_and_loss,
    twr_index,
    twr_returns,
)

DAYS = as_dates(["2024-03-04", "2024-03-05", "2024-03-06"])


def test_deposit_twr_is_right_where_the_naive_equity_return_is_wildly_wrong() -> None:
    # Day 0: 100 000 base. Day 1: deposit 100 000, NAV 202 000: the money made 2 000 on a
    # capital of 100 000 + 1 * 100 000 (w = 1, the deposit works that day) -> +1 %.
    # Day 2: NAV 199 980, no flow: -20 / 2 020 -> -1 %.
    navs = np.array([100_000.0, 202_000.0, 199_980.0])
    flows = np.array([0.0, 100_000.0, 0.0])
    r = twr_returns(navs, flows, "start")
    assert r == pytest.approx([0.01, -0.01], abs=1e-15)
    assert twr_index(r)[-1] - 1.0 == pytest.approx(1.01 * 0.99 - 1.0, abs=1e-15)  # -0.01 %
    naive = navs[-1] / navs[0] - 1.0
    assert naive == pytest.approx(0.9998)  # "+99.98 %": the deposit, not performance
    assert profit_and_loss(navs, flows) == pytest.approx(-20.0)  # 199 980 - 100 000 - 100 000


def test_flow_weight_moves_the_deposit_in_the_capital_base() -> None:
    navs = np.array([100_000.0, 202_000.0])
    flows = np.array([0.0, 100_000.0])
    assert twr_returns(navs, flows, "end")[0] == pytest.approx(2_000 / 100_000)  # w = 0
    assert twr_returns(navs, flows, "mid")[0] == pytest.approx(2_000 / 150_000)  # w = 0.5
    assert twr_returns(navs, flows, 0.25)[0] == pytest.approx(2_000 / 125_000)


def test_withdrawal_twr_is_right_where_the_naive_equity_return_is_wildly_wrong() -> None:
    # Day 0: 200 000. Day 1: withdraw 150 000, NAV 49 000: P&L = 49 000 - 200 000 + 150 000
    # = -1 000 on 200 000 - 150 000 = 50 000 still invested (w = 1) -> -2 %.
    # Day 2: NAV 49 490 -> +490 / 49 000 = +1 %.
    navs = np.array([200_000.0, 49_000.0, 49_490.0])
    flows = np.array([0.0, -150_000.0, 0.0])
    r = twr_returns(navs, flows)
    assert r == pytest.approx([-0.02, 0.01], abs=1e-15)
    assert twr_index(r)[-1] - 1.0 == pytest.approx(0.98 * 1.01 - 1.0)  # -1.02 %
    assert navs[-1] / navs[0] - 1.0 == pytest.approx(-0.75255)  # naive: "-75 %"
    assert profit_and_loss(navs, flows) == pytest.approx(-510.0)
    assert twr_returns(navs, flows, "end")[0] == pytest.approx(-1_000 / 200_000)


def test_flow_on_the_base_day_is_part_of_the_opening_value() -> None:
    flows = flows_on_dates(DAYS, {date(2024, 3, 4): 50_000.0, date(2024, 3, 1): 7.0})
    assert flows.tolist() == [57.0 + 49_950.0, 0.0, 0.0]
    r = twr_returns(np.array([150_000.0, 151_500.0, 151_500.0]), flows)
    assert r[0] == pytest.approx(0.01)


def test_flow_between_sessions_is_booked_on_the_next_session_and_later_ones_dropped() -> None:
    dates = as_dates(["2024-03-08", "2024-03-11"])  # Friday, Monday
    flows = flows_on_dates(dates, {"2024-03-09": 10.0, "2024-03-11": 5.0, "2024-03-12": 99.0})
    assert flows.tolist() == [0.0, 15.0]


def test_empty_account_has_zero_return_and_pnl_on_nothing_is_refused() -> None:
    assert twr_returns(np.array([0.0, 0.0, 100.0]), np.array([0.0, 0.0, 100.0])).tolist() == [0.0, 0.0]
    assert twr_returns(np.array([100.0, 0.0]), np.array([0.0, -100.0]))[0] == 0.0  # full withdrawal
    with pytest.raises(AnalyticsInputError, match="capital base"):
        twr_returns(np.array([0.0, 10.0]), np.array([0.0, 0.0]))


def test_unordered_dates_and_bad_flow_weight_are_refused() -> None:
    with pytest.raises(AnalyticsInputError, match="strictly increasing"):
        as_dates(["2024-01-02", "2024-01-02"])
    with pytest.raises(AnalyticsInputError, match="flow_weight"):
        twr_returns(np.ones(2), np.zeros(2), "noon")  # type: ignore[arg-type]


def test_daily_risk_free_is_geometric() -> None:
    assert (1.0 + daily_risk_free(0.05)) ** 252 == pytest.approx(1.05, rel=1e-13)


def test_money_weighted_return_without_flows_is_the_calendar_growth_rate() -> None:
    dates = as_dates(["2020-01-01", "2021-01-01"])  # 366 days
    mwr = money_weighted_return(dates, np.array([100.0, 110.0]), np.zeros(2))
    assert mwr == pytest.approx(1.1 ** (365.25 / 366) - 1.0, abs=1e-12)


def test_money_weighted_return_solves_the_npv_equation_with_flows() -> None:
    dates = as_dates(["2020-01-01", "2020-07-01", "2021-06-30"])
    navs = np.array([100.0, 250.0, 240.0])
    flows = np.array([0.0, 150.0, 0.0])
    mwr = money_weighted_return(dates, navs, flows)
    assert mwr is not None
    years = (dates - dates[0]).astype(float) / 365.25
    cash = np.array([-100.0, -150.0, 240.0])
    assert np.sum(cash * (1 + mwr) ** -years) == pytest.approx(0.0, abs=1e-9)
    assert mwr < 0  # 250 paid in, 240 left


def test_money_weighted_return_needs_time() -> None:
    dates = as_dates(["2020-01-01"])
    assert money_weighted_return(dates, np.array([100.0]), np.zeros(1)) is None


flow_fraction = st.floats(min_value=-0.5, max_value=5.0, allow_nan=False)
daily_return = st.floats(min_value=-0.3, max_value=0.5, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(daily_return, flow_fraction, flow_fraction), min_size=1, max_size=30),
    weight=st.sampled_from(["start", "mid", "end"]),
    start=st.floats(min_value=1.0, max_value=1e9),
)
def test_twr_does_not_depend_on_the_size_of_flows(
    data: list[tuple[float, float, float]], weight: str, start: float
) -> None:
    w = {"start": 1.0, "mid": 0.5, "end": 0.0}[weight]
    returns = np.array([d[0] for d in data])

    def account(fractions: list[float]) -> tuple[np.ndarray, np.ndarray]:
        navs, flows = [start], [0.0]
        for r, f in zip(returns, fractions):
            flow = f * navs[-1]
            navs.append(navs[-1] + flow + r * (navs[-1] + w * flow))
            flows.append(flow)
        return np.array(navs), np.array(flows)

    small = twr_returns(*account([d[1] for d in data]), weight)  # type: ignore[arg-type]
    large = twr_returns(*account([d[2] for d in data]), weight)  # type: ignore[arg-type]
    np.testing.assert_allclose(small, returns, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(twr_index(large), twr_index(small), rtol=1e-9)


def test_date_objects_and_strings_give_the_same_dates() -> None:
    objects = as_dates([date(1969, 12, 31), date(2024, 3, 4)])
    assert objects.tolist() == as_dates(["1969-12-31", "2024-03-04"]).tolist()
