"""Tests for the spiked-Wishart generator and the BBP spike (qwemlib.rmt._synthetic; Section 4).

Independent reference: Monte-Carlo spectra of the generated task vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import rmt


def test_spiked_wishart_generator():
    R = rmt.spiked_wishart(3000, 50, sigma2=0.5, spike_strength=2.0, seed=4)
    assert R.shape == (3000, 50)
    np.testing.assert_array_equal(R, rmt.spiked_wishart(3000, 50, 0.5, 2.0, seed=4))
    assert np.linalg.norm(R.mean(0)) == pytest.approx(2.0, rel=0.02)
    assert rmt.paper_sigma2(R) == pytest.approx(0.5, rel=0.02)
    e = np.zeros(50)
    e[3] = 1.0
    R2 = rmt.spiked_wishart(20, 50, 1e-12, 1.0, seed=0, direction=e)
    np.testing.assert_allclose(R2.mean(0), e, atol=1e-5)


@pytest.mark.parametrize("N,d,m", [(400, 1600, 2.0), (600, 300, 1.5)])
def test_spike_eigenvalue_matches_simulation(N, d, m):
    tops = [rmt.gram_spectrum(rmt.spiked_wishart(N, d, 1.0, m, seed=s))[0] for s in range(2)]
    assert np.mean(tops) == pytest.approx(rmt.spike_eigenvalue(1.0, N / d, m, n_dims=d), rel=0.03)
    # below the BBP threshold (|m|^2 <= sigma2 / sqrt(gamma)) the prediction is the edge
    assert rmt.spike_eigenvalue(1.0, 0.25, 1.0, n_dims=d) == pytest.approx(d * 2.25)
