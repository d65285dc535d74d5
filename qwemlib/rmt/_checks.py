"""Input checks shared by the random-matrix tools (paper, Section 4 and Appendix A.6).

Bad input raises :class:`ValueError` whose message names the input and says what to
do (docs/CONVENTIONS.md). The zero tolerance :data:`EIG_RTOL` is the one the whole
package uses to tell a round-off zero of a Gram spectrum from a true eigenvalue.
"""

from __future__ import annotations

import numpy as np

#: Relative tolerance below which an eigenvalue counts as zero (``|lambda| <=
#: EIG_RTOL * lambda_max``). Double-precision round-off in the spectrum of an
#: ``N x N`` Gram matrix is about ``N * 2.2e-16`` relative; 1e-10 is far above
#: that and far below any bulk eigenvalue of the paper's spectra. Eigenvalues
#: below ``-EIG_RTOL * lambda_max`` are not round-off and raise ``ValueError``.
EIG_RTOL = 1e-10


def _as_matrix(a, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Return ``a`` as a finite float 2-D array with at least ``min_rows`` rows."""
    arr = np.asarray(a, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows; at least {min_rows} are needed "
            "(a Gram spectrum needs N >= 2 task vectors)"
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; remove or fix those entries first")
    return arr


def _as_eigs(eigs, name: str = "eigs", rtol: float = EIG_RTOL) -> np.ndarray:
    """Validate a PSD spectrum; return it sorted descending with round-off zeros set to 0."""
    arr = np.asarray(eigs, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(
            f"{name} has {arr.size} eigenvalue(s); at least 2 are needed (N >= 2 task vectors)"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    top = float(np.max(np.abs(arr)))
    if top == 0.0:
        raise ValueError(f"{name} is all zeros: the task vectors are all zero")
    tol = rtol * top
    if np.min(arr) < -tol:
        raise ValueError(
            f"{name} has a negative eigenvalue {np.min(arr):.3g} beyond round-off "
            f"(tolerance {tol:.3g}); a Gram matrix R R^T is positive semidefinite: "
            "pass gram_spectrum(R)"
        )
    arr = np.where(np.abs(arr) <= tol, 0.0, arr)
    return np.sort(arr)[::-1]


def _check_params(sigma2, gamma) -> tuple[float, float]:
    """Return the Marchenko-Pastur parameters (eq. 24-25) as positive finite floats."""
    s, g = float(sigma2), float(gamma)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"sigma2 must be a positive finite number, got {sigma2!r}")
    if not (np.isfinite(g) and g > 0):
        raise ValueError(f"gamma must be a positive finite number (gamma = N/d), got {gamma!r}")
    return s, g


def _check_strength(spike_strength) -> None:
    """The norm of a spiked model's mean vector must be finite and >= 0."""
    if not (np.isfinite(spike_strength) and spike_strength >= 0):
        raise ValueError(f"spike_strength must be a finite number >= 0, got {spike_strength!r}")
