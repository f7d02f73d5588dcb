"""The spike rule: is a signature's last day far above its own recent baseline?

A signature's crashes per day are modelled as Poisson counts with the rate of its baseline: the
``BASELINE_DAYS`` days before the last day. The last day is a *spike* when at least ``MIN_CRASHES`` crashes
came in and a Poisson variable with that rate reaches the count with probability below ``P_SPIKE`` (one in a
thousand: with a few thousand signatures a day that leaves a few chance marks, and a signature doubling
from 20 a day to 40 is marked while 20 -> 28 is not). A signature absent from the baseline week counts as if
it had one crash that week (rate 1/7 a day), so a new signature with three or more crashes in a day is a
spike while one or two crashes are not.

Pure: counts in, verdicts out (the store layer counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BASELINE_DAYS = 7
MIN_CRASHES = 3
P_SPIKE = 0.001


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed from k upwards (no 1 - cdf cancellation)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total = 0.0
    i = k
    while True:
        term = math.exp(log_term)
        total += term
        i += 1
        log_term += math.log(lam) - math.log(i)
        # past the mode the terms fall geometrically; stop once they cannot change the sum
        if i > lam and term <= total * 1e-17:
            break
        if i - k > 100_000:
            break
    return min(1.0, total)


def baseline_rate(baseline_crashes: int, days: int = BASELINE_DAYS) -> float:
    """Crashes per day expected from the baseline days (at least one crash over them)."""
    return max(baseline_crashes, 1) / days


@dataclass(frozen=True)
class SpikeVerdict:
    last_day: int         # crashes on the last day
    baseline: float       # expected crashes a day from the baseline days
    p: float              # P(X >= last_day) under the baseline rate
    spike: bool


def judge(last_day: int, baseline_crashes: int, days: int = BASELINE_DAYS) -> SpikeVerdict:
    lam = baseline_rate(baseline_crashes, days)
    p = poisson_tail(last_day, lam)
    return SpikeVerdict(last_day, lam, p, last_day >= MIN_CRASHES and p < P_SPIKE)


def is_spike(last_day: int, baseline_crashes: int) -> bool:
    """The rule as one predicate (also registered as an SQL function for the ``trend:spike`` term)."""
    if last_day is None or last_day < MIN_CRASHES:
        return False
    return poisson_tail(int(last_day), baseline_rate(int(baseline_crashes or 0))) < P_SPIKE
