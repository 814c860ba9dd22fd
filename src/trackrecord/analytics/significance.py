"""Is the Sharpe ratio real? Probabilistic Sharpe ratio and minimum track record length.

Bailey, D. H. & López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier",
Journal of Risk 15(2). With the per-period (non-annualised) Sharpe ratio ``SR``,
sample skewness ``g3`` and (non-excess) kurtosis ``g4`` of ``n`` returns:

* ``PSR(SR*) = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - g3*SR + (g4 - 1)/4 * SR^2))``
* ``MinTRL = 1 + (1 - g3*SR + (g4 - 1)/4 * SR^2) * (z_(1-alpha) / (SR - SR*))^2`` returns.

We feed the bias-corrected G1 and G2 + 3 (as QuantStats does); the paper's reference
code uses the biased moments, which differ by O(1/n).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from trackrecord.analytics.metrics import Figure, Undefined

_NORMAL = NormalDist()


def _moment_term(sharpe: float, skew: float, kurtosis: float) -> float:
    return 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe


def probabilistic_sharpe_ratio(
    sharpe: float, n_returns: int, skew: float, kurtosis: float, benchmark_sharpe: float = 0.0
) -> Figure:
    """Probability (0..1) that the true per-period Sharpe exceeds ``benchmark_sharpe``.

    ``sharpe`` and ``benchmark_sharpe`` are per period (daily, not annualised);
    ``kurtosis`` is the raw kurtosis (3 for a normal distribution).
    """
    if n_returns < 2:
        return Undefined("needs at least 2 returns")
    term = _moment_term(sharpe, skew, kurtosis)
    if term <= 0.0:
        return Undefined("skew and kurtosis give a non-positive Sharpe variance")
    return _NORMAL.cdf((sharpe - benchmark_sharpe) * math.sqrt(n_returns - 1) / math.sqrt(term))


def min_track_record_length(
    sharpe: float, skew: float, kurtosis: float, benchmark_sharpe: float = 0.0, confidence: float = 0.95
) -> Figure:
    """Returns needed (in periods: sessions for daily data) for the observed per-period
    Sharpe to exceed ``benchmark_sharpe`` at ``confidence``; defined only when
    ``sharpe > benchmark_sharpe``."""
    if sharpe <= benchmark_sharpe:
        return Undefined("Sharpe ratio not above the benchmark Sharpe (0)")
    term = _moment_term(sharpe, skew, kurtosis)
    if term <= 0.0:
        return Undefined("skew and kurtosis give a non-positive Sharpe variance")
    z = _NORMAL.inv_cdf(confidence)
    return 1.0 + term * (z / (sharpe - benchmark_sharpe)) ** 2
