"""tools/flow_overlap.py: the noise-free flow's overlap with M*'s top eigenvectors (book/05's
reference for the stored SGD runs), checked against a plain Euler integration of the same ODE."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import flow_overlap  # noqa: E402

from qwemlib import theory  # noqa: E402


def _euler(lam, d, sigma, t_end, dt=1e-4, seed=0):
    W = theory.random_init(lam.size, d, sigma, seed)
    for _ in range(int(round(t_end / dt))):
        W = W + 0.5 * dt * (lam[:, None] * W - W @ (W.T @ W))
    return W


def test_flow_overlaps_match_an_euler_integration_and_rise_with_time():
    rng = np.random.default_rng(0)
    lam = np.sort(np.concatenate([[60.0, 45.0, 40.0, 39.0], rng.uniform(-30, 30, 26)]))[::-1]
    ks = [1, 3, 4]
    times = [0.02, 0.6, 1.5]
    got = flow_overlap.flow_overlaps(lam, 4, 1e-3, times, ks)
    axes = np.eye(lam.size)[:, :4]
    ref = np.array([theory.subspace_overlaps(_euler(lam, 4, 1e-3, t), axes, ks) for t in times])
    assert np.allclose(got, ref, atol=2e-3), (got, ref)
    # it can fail: the overlap grows with t, and eigenvalues in the wrong order (the top four
    # last) leave the first four axes behind
    assert got[0, 2] < 0.9 < got[-1, 2]
    assert flow_overlap.flow_overlaps(lam[::-1].copy(), 4, 1e-3, times, ks)[-1, 2] < 0.1
