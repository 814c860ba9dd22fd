"""The deflated Sharpe ratio against a case computed by hand (issue 15 item 4)."""

from __future__ import annotations

import math

import pytest

from trackrecord.analytics.deflated_sharpe import annual_turnover, deflated_sharpe, expected_max_sharpe
from trackrecord.analytics.metrics import Undefined

# Five trials' daily Sharpe ratios; the selected one is 0.08 over 1000 returns, skew -0.5, kurtosis 5.
TRIALS = [0.02, 0.05, 0.08, 0.03, 0.06]
# mean 0.048; squared deviations 0.000784 + 0.000004 + 0.001024 + 0.000324 + 0.000144 = 0.00228;
# V = 0.00228 / 4 = 0.00057, sqrt(V) = 0.0238746728
# Z^-1(1 - 1/5) = Z^-1(0.8) = 0.8416212336; Z^-1(1 - 1/(5e)) = Z^-1(0.9264241118) = 1.4496656592
# SR0 = 0.0238746728 * ((1 - 0.5772156649) * 0.8416212336 + 0.5772156649 * 1.4496656592) = 0.0284727915
# PSR denominator sqrt(1 - (-0.5)(0.08) + (5 - 1)/4 * 0.08^2) = sqrt(1.0464) = 1.0229369482
# DSR = Phi((0.08 - 0.0284727915) * sqrt(999) / 1.0229369482) = Phi(1.5921005541) = 0.9443189437
# PSR = Phi(0.08 * sqrt(999) / 1.0229369482) = Phi(2.4718599764) = 0.9932793924


def test_the_deflated_sharpe_ratio_matches_the_hand_computed_case() -> None:
    result = deflated_sharpe(0.08, 1000, -0.5, 5.0, TRIALS)
    assert result.trials == 5
    assert result.sharpe_variance == pytest.approx(0.00057, rel=1e-12)
    assert result.expected_max_sharpe == pytest.approx(0.0284727915, abs=1e-10)
    assert result.dsr == pytest.approx(0.9443189437, abs=1e-10)
    assert result.psr == pytest.approx(0.9932793924, abs=1e-10)


def test_more_trials_with_the_same_spread_deflate_more() -> None:
    few = expected_max_sharpe(5, 0.00057)
    many = expected_max_sharpe(100, 0.00057)
    assert isinstance(few, float) and isinstance(many, float) and many > few > 0
    assert expected_max_sharpe(1, 0.00057) == 0.0  # one trial: nothing was selected
    assert isinstance(expected_max_sharpe(0, 0.1), Undefined)


def test_a_trial_without_a_sharpe_ratio_still_counts_as_tried() -> None:
    counted = deflated_sharpe(0.08, 1000, -0.5, 5.0, TRIALS, n_trials=8)
    assert counted.trials == 8 and counted.dsr < deflated_sharpe(0.08, 1000, -0.5, 5.0, TRIALS).dsr


def test_turnover_is_one_way_a_year() -> None:
    # 2 years (504 daily returns), 400,000 traded both ways on a 100,000 portfolio: 1.0 a year
    assert annual_turnover(400_000.0, 100_000.0, 504, 252) == pytest.approx(1.0)
    assert isinstance(annual_turnover(1.0, 0.0, 10, 252), Undefined)
    assert math.isclose(annual_turnover(0.0, 5.0, 10, 252), 0.0)
