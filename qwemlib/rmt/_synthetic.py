"""Synthetic task vectors from the spiked covariance model of Section 4, and its BBP spike.

The paper reads each family's Gram spectrum as a Marchenko-Pastur bulk plus one
outlier (Baik, Ben Arous and Peche 2005). :func:`spiked_wishart` draws task vectors
from that model, with a known answer, so the fit of Appendix A.6 can be checked
against it; :func:`spike_eigenvalue` predicts where the outlier sits.

Used in: book/07_linear_structure.md (the null KS distances); tools/make_results.py;
tests/test_rmt_synthetic.py.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_params, _check_strength


def spiked_wishart(
    N: int,
    d: int,
    sigma2: float = 1.0,
    spike_strength: float = 0.0,
    seed: int | None = 0,
    direction=None,
) -> np.ndarray:
    """Synthetic task vectors: Gaussian rows with a common mean, ``R = 1 m^T + sigma Z``.

    ``Z`` has i.i.d. standard normal entries and ``m`` is a vector of norm
    ``spike_strength`` (uniformly random direction unless ``direction`` is
    given). ``R R^T = sigma2 Z Z^T + (rank <= 2 terms)``, so its spectrum is the
    spiked model of Section 4: an MP bulk with ``sigma2`` and ``gamma = N / d``
    (after dividing by ``d``) and, when ``spike_strength^2 > sigma2 /
    sqrt(gamma)``, one outlier near :func:`spike_eigenvalue`.

    Args:
        N: number of task vectors, ``>= 2``.
        d: dimension, ``>= 1``.
        sigma2: noise variance per entry, > 0.
        spike_strength: norm of the mean vector ``m``, >= 0.
        seed: seed for ``numpy.random.default_rng``.
        direction: optional vector of length ``d`` giving the direction of ``m``.

    Returns:
        ``R`` with shape ``(N, d)``.

    Used in: book/07_linear_structure.md; ``qwemlib.experiments._linear`` (tools/make_results.py).
    """
    if isinstance(N, bool) or int(N) != N or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    if isinstance(d, bool) or int(d) != d or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    _check_params(sigma2, 1.0)
    _check_strength(spike_strength)
    rng = np.random.default_rng(seed)
    N, d = int(N), int(d)
    if direction is None:
        u = rng.standard_normal(d)
    else:
        u = np.asarray(direction, dtype=float)
        if u.shape != (d,) or not np.all(np.isfinite(u)) or not np.any(u):
            raise ValueError(f"direction must be a nonzero finite vector of length d = {d}")
    u = u / np.linalg.norm(u)
    Z = rng.standard_normal((N, d))
    return np.sqrt(sigma2) * Z + spike_strength * u[None, :]


def spike_eigenvalue(sigma2: float, gamma: float, spike_strength: float, n_dims: float = 1.0) -> float:
    """BBP prediction for the top eigenvalue of ``R R^T`` in :func:`spiked_wishart`.

    With ``t = spike_strength^2 / sigma2`` and ``gamma = N / d`` the outlier
    sits at ``n_dims * sigma2 (1 + t)(1 + gamma t) / t`` when ``t >
    1/sqrt(gamma)`` (Benaych-Georges and Nadakuditi 2012, rank-one
    information-plus-noise model; for large ``t`` this is ``N |m|^2``). Below the
    threshold the top eigenvalue sticks to the bulk edge and the edge
    ``n_dims * sigma2 (1 + sqrt(gamma))^2`` is returned.

    Args:
        sigma2: noise variance per entry.
        gamma: ``N / d``.
        spike_strength: norm of the common mean vector.
        n_dims: ``d``, to return the eigenvalue of ``R R^T`` (default 1: of
            ``R R^T / d``).

    Returns:
        The predicted top eigenvalue.

    Used in: tests/test_rmt_synthetic.py (the chapter's exercises point to it).
    """
    s, g = _check_params(sigma2, gamma)
    _check_strength(spike_strength)
    t = spike_strength**2 / s
    if t <= 1.0 / np.sqrt(g):
        return float(n_dims * s * (1.0 + np.sqrt(g)) ** 2)
    return float(n_dims * s * (1.0 + t) * (1.0 + g * t) / t)
