"""Input checks shared by the numerical layers (private; the bottom layer).

Bad input raises :class:`ValueError` whose message names the input and says what to
do (docs/CONVENTIONS.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["validate_symmetric"]


def validate_symmetric(M, name: str = "M", *, rtol: float = 1e-8) -> np.ndarray:
    """Check that ``M`` is a finite, real, square, symmetric 2-D array and return it.

    The check runs in row blocks so that it needs no ``V x V`` temporary.

    Args:
        M: the matrix.
        name: what to call it in error messages.
        rtol: allowed ``max |M - M^T|`` relative to ``max |M|``.

    Returns:
        ``M`` as a floating-point ndarray (not copied when it already is one).

    Raises:
        ValueError: not 2-D, not square, empty, non-finite, or not symmetric; the
            message names the worst asymmetric entry.
    """
    M = np.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"{name} must be a 2-D square matrix; got shape {M.shape}")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be square; got shape {M.shape}")
    if M.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if np.iscomplexobj(M):
        raise ValueError(f"{name} must be real; got dtype {M.dtype}")
    if not np.issubdtype(M.dtype, np.floating):
        M = M.astype(np.float64)
    V = M.shape[0]
    scale = 0.0
    worst, where = 0.0, (0, 0)
    step = max(1, min(V, 2_000_000 // V))
    for i0 in range(0, V, step):
        i1 = min(V, i0 + step)
        blk = M[i0:i1]
        if not np.isfinite(blk).all():
            bad = np.argwhere(~np.isfinite(blk))[0]
            raise ValueError(
                f"{name} has non-finite entries (first at [{i0 + bad[0]}, {bad[1]}] = "
                f"{blk[bad[0], bad[1]]}); remove NaN/inf before solving"
            )
        scale = max(scale, float(np.abs(blk).max()))
        diff = np.abs(blk - M[:, i0:i1].T)
        k = int(np.argmax(diff))
        if diff.flat[k] > worst:
            worst = float(diff.flat[k])
            where = (i0 + k // V, k % V)
    if worst > rtol * max(scale, np.finfo(float).tiny):
        i, j = where
        raise ValueError(
            f"{name} is not symmetric: |{name}[{i},{j}] - {name}[{j},{i}]| = {worst:.3g} "
            f"({name}[{i},{j}] = {M[i, j]:.6g}, {name}[{j},{i}] = {M[j, i]:.6g}); "
            f"symmetrize it, e.g. ({name} + {name}.T) / 2"
        )
    return M
