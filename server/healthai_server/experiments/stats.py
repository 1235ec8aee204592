"""95% confidence intervals for the experiments report: Wilson for rates; for means of
latency and cost a seeded percentile bootstrap up to a few thousand calls (latency is skewed,
and a t interval can reach below zero on a short, skewed sample), Student's t beyond (where
the mean is near normal and resampling gets slow); the bootstrap for pooled F1 as well. Pure Python: the samples
are per-arm request counts, small enough that numpy would only add an import."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Z95 = 1.959963984540054
_T = TypeVar("_T")
# Two-sided 97.5% quantiles of Student's t for small samples; the normal value beyond 30.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
    11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
    20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
    29: 2.045, 30: 2.042,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int

    @classmethod
    def empty(cls) -> Estimate:
        return cls(0.0, 0.0, 0.0, 0)

    def render(self, fmt: str = "{:.3f}") -> str:
        if self.n == 0:
            return "-"
        return f"{fmt.format(self.value)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


def wilson(successes: int, n: int) -> Estimate:
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def t_mean(values: Sequence[float]) -> Estimate:
    n = len(values)
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    mean = statistics.fmean(values)
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    half = _T975.get(n - 1, Z95) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def bootstrap(
    items: Sequence[_T], statistic: Callable[[Sequence[_T]], float], *, resamples: int = 1000, seed: int = 7
) -> Estimate:
    """Percentile bootstrap over items (notes), seeded so a report is reproducible."""
    n = len(items)
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    value = statistic(items)
    rng = random.Random(seed)  # noqa: S311 - resampling, not secrecy
    draws = sorted(statistic([items[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    return Estimate(value, draws[int(0.025 * (resamples - 1))], draws[int(0.975 * (resamples - 1))], n)


BOOTSTRAP_MAX_N = 2000


def mean_ci(values: Sequence[float]) -> Estimate:
    """Mean with a 95% interval: bootstrap for small samples, t for large ones."""
    if len(values) > BOOTSTRAP_MAX_N:
        return t_mean(values)
    return bootstrap(values, statistics.fmean)
