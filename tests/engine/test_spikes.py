"""The spike rule's Poisson tail against SciPy's (the reference implementation), and the rule's edges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from crashdesk.engine import spikes


@settings(max_examples=150, deadline=None)
@given(k=st.integers(0, 5000), lam=st.floats(1e-3, 3000, allow_nan=False))
def test_tail_matches_scipy(k, lam):
    want = poisson.sf(k - 1, lam)  # P(X >= k)
    got = spikes.poisson_tail(k, lam)
    if want < 1e-300:
        assert got < 1e-290
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_rule_edges():
    # a new signature: 3 crashes in a day is a spike, 2 are not (at least MIN_CRASHES)
    assert spikes.judge(3, 0).spike and not spikes.judge(2, 0).spike
    assert spikes.judge(2, 0).baseline == spikes.judge(2, 1).baseline == 1 / 7
    # 20 a day doubling is marked, a rise to 28 is not
    assert spikes.judge(40, 140).spike and not spikes.judge(28, 140).spike
    assert spikes.is_spike(40, 140) and not spikes.is_spike(None, 140) and not spikes.is_spike(0, 0)
    assert spikes.poisson_tail(0, 5.0) == 1.0 and spikes.poisson_tail(4, 0.0) == 0.0


def test_extreme_counts():
    # a huge count against a tiny rate: every term underflows, the sum is 0 (and the loop stops at once)
    assert spikes.poisson_tail(10**9, 0.1) == 0.0
    assert spikes.poisson_tail(10**6, 10**6) == pytest.approx(poisson.sf(10**6 - 1, 10**6), rel=1e-6)
