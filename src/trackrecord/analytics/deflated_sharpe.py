"""Was this strategy the best of many tries? The deflated Sharpe ratio.

Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management
40(5). With ``N`` trials whose per-period Sharpe ratios have the sample variance ``V``
(ddof = 1), the Sharpe ratio the best of ``N`` unskilled trials is expected to reach is

    ``SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``

(``g`` the Euler-Mascheroni constant, ``Z^-1`` the standard normal quantile), and the
deflated Sharpe ratio of the selected trial is its probabilistic Sharpe ratio against it:
``DSR = PSR(SR0)`` (``significance.probabilistic_sharpe_ratio``: skewness and raw kurtosis
of its returns, ``n`` returns). Every Sharpe ratio here is per period (daily), not annualised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from trackrecord.analytics.metrics import Figure, Undefined
from trackrecord.analytics.significance import probabilistic_sharpe_ratio

EULER_MASCHERONI = 0.5772156649015329
_NORMAL = NormalDist()


def expected_max_sharpe(n_trials: int, variance: float) -> Figure:
    """``SR0``: the expected maximum of ``n_trials`` per-period Sharpe ratios drawn with
    ``variance`` around a true Sharpe of 0 (the module's formula). 0 for one trial."""
    if n_trials < 1:
        return Undefined("needs at least 1 trial")
    if variance < 0 or not math.isfinite(variance):
        return Undefined("the trials' Sharpe variance is not a finite non-negative number")
    if n_trials == 1:
        return 0.0
    gamma = EULER_MASCHERONI
    z = (1 - gamma) * _NORMAL.inv_cdf(1 - 1 / n_trials) + gamma * _NORMAL.inv_cdf(1 - 1 / (n_trials * math.e))
    return math.sqrt(variance) * z


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    """The selected trial against the best of ``trials`` unskilled ones (per-period Sharpe)."""

    trials: int
    sharpe_variance: float
    expected_max_sharpe: Figure
    psr: Figure  # against 0
    dsr: Figure  # against expected_max_sharpe

    def document(self) -> dict[str, object]:
        def value(figure: Figure) -> float | None:
            return None if isinstance(figure, Undefined) else figure

        return {"trials": self.trials, "sharpe_variance": self.sharpe_variance,
                "expected_max_sharpe": value(self.expected_max_sharpe), "psr": value(self.psr), "dsr": value(self.dsr),
                "undefined": {k: f.reason for k, f in (("expected_max_sharpe", self.expected_max_sharpe),
                                                        ("psr", self.psr), ("dsr", self.dsr))
                              if isinstance(f, Undefined)}}


def deflated_sharpe(sharpe: float, n_returns: int, skew: float, kurtosis: float,
                    trial_sharpes: Sequence[float], n_trials: int | None = None) -> DeflatedSharpe:
    """PSR (vs 0) and DSR of a trial with per-period ``sharpe`` over ``n_returns`` returns of
    ``skew`` and raw ``kurtosis`` (3 = normal), selected among ``trial_sharpes`` (the trials'
    per-period Sharpe ratios, the selected one included). ``n_trials``: how many were tried
    (default ``len(trial_sharpes)``; more when some trial has no Sharpe ratio: it still counts)."""
    trials = len(trial_sharpes) if n_trials is None else n_trials
    variance = _sample_variance(trial_sharpes)
    threshold = expected_max_sharpe(trials, variance)
    psr = probabilistic_sharpe_ratio(sharpe, n_returns, skew, kurtosis, 0.0)
    dsr = threshold if isinstance(threshold, Undefined) else \
        probabilistic_sharpe_ratio(sharpe, n_returns, skew, kurtosis, threshold)
    return DeflatedSharpe(trials, variance, threshold, psr, dsr)


def _sample_variance(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def annual_turnover(traded_value: float, mean_nav: float, n_returns: int, periods_per_year: int) -> Figure:
    """One-way turnover per year: ``(sum |q * price| / 2) / mean NAV / years``, years =
    ``n_returns / periods_per_year`` (0.5 = half the portfolio replaced a year)."""
    if n_returns < 1 or mean_nav <= 0:
        return Undefined("needs a positive mean NAV over at least 1 return")
    return traded_value / 2.0 / mean_nav / (n_returns / periods_per_year)
