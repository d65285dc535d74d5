"""Closed-form minimizers of the QWEM factorization loss (eq. 7, 9) (private)."""

from __future__ import annotations

import warnings

import numpy as np

from .._validate import validate_symmetric
from ..eigen import Eigenpairs, top_eigenpairs

__all__ = ["closed_form_embeddings", "weighted_closed_form"]



def _sqrt_clipped(values: np.ndarray, what: str) -> np.ndarray:
    neg = values < 0
    if neg.any():
        warnings.warn(
            f"{int(neg.sum())} of the top-{values.size} eigenvalues of {what} are negative "
            f"(smallest {values.min():.6g}); the theorem assumes Lambda[:d,:d] is PSD. "
            f"Those modes are clipped to 0 in W (the rank-constrained minimizer sets them "
            f"to zero); use a smaller d to avoid this.",
            UserWarning,
            stacklevel=3,
        )
    return np.sqrt(np.clip(values, 0.0, None))


def closed_form_embeddings(M, d: int, *, eig: Eigenpairs | None = None, **kw) -> np.ndarray:
    """The global minimizer ``W = V_d Lambda_d^{1/2}`` of ``(1/4)||W W^T - M||_F^2`` (eq. 7).

    Columns are in eigen-order (the identity right singular matrix of the paper's
    Appendix A.6); any ``W @ U`` with ``U`` orthogonal is an equally good minimizer
    (REquiv, eq. 4).

    If some of the top-``d`` eigenvalues are negative (the theorem's PSD assumption
    fails), a ``UserWarning`` names how many and the smallest value, and those modes
    are clipped to 0 in ``W`` (so ``W`` has rank < d): that is the minimizer of the
    rank-``d`` PSD problem.

    Args:
        M: ``(V, V)`` symmetric target (``M*``).
        d: embedding dimension, ``1 <= d < V``.
        eig: precomputed :class:`Eigenpairs` (at least ``d``); skips the solve.
        **kw: passed to :func:`top_eigenpairs` (``method``, ``seed``, ...).

    Returns:
        ``(V, d)`` float64 embeddings.

    Used in: book/02_qwem_matrix_factorization.md, book/06_qwem_vs_word2vec.md (through
    ``qwemlib.experiments._closed_forms``).
    """
    if eig is None:
        eig = top_eigenpairs(M, d, **kw)
    elif eig.d < d:
        raise ValueError(f"eig holds {eig.d} eigenpairs but d = {d}; recompute with d >= {d}")
    vals = eig.values[:d]
    return eig.vectors[:, :d] * _sqrt_clipped(vals, "M")[None, :]


def weighted_closed_form(M, g, d: int, **kw) -> np.ndarray:
    """Minimizer of ``(1/4) sum_ij g_i g_j (W W^T - M)_ij^2`` (eq. 8-9, ``G = g g^T``).

    With ``Gamma = diag(g)^{1/2}`` the loss is ``(1/4)||Gamma W (Gamma W)^T - Gamma M Gamma||_F^2``,
    so ``Gamma W = V_Gamma,d Lambda_Gamma,d^{1/2}`` (top-``d`` eigenpairs of
    ``Gamma M Gamma``) and ``W = Gamma^{-1} V_Gamma,d Lambda_Gamma,d^{1/2}`` (eq. 9).
    Negative top eigenvalues are clipped to 0 with a ``UserWarning``, as in
    :func:`closed_form_embeddings`.

    Args:
        M: ``(V, V)`` symmetric target.
        g: ``(V,)`` weights; must be finite and strictly positive (``g_i = 0`` leaves
            word ``i`` unconstrained and ``Gamma^{-1}`` undefined).
        d: embedding dimension, ``1 <= d < V``.
        **kw: passed to :func:`top_eigenpairs`.

    Returns:
        ``(V, d)`` float64 embeddings.

    Used in: book/02_qwem_matrix_factorization.md, book/08_appendix.md.
    """
    M = validate_symmetric(M, "M")
    V = M.shape[0]
    g = np.asarray(g, dtype=np.float64)
    if g.shape != (V,):
        raise ValueError(f"g must have shape ({V},) to match M; got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("g has non-finite entries")
    if (g < 0).any():
        raise ValueError(f"g must be non-negative (eq. 9); min(g) = {g.min():.6g}")
    if (g == 0).any():
        raise ValueError(
            f"g has {int((g == 0).sum())} zero entries: Gamma^{{-1}} in eq. 9 is undefined "
            f"(those words are unconstrained); drop them or use g > 0"
        )
    r = np.sqrt(g)
    eig = top_eigenpairs(r[:, None] * M * r[None, :], d, **kw)
    return (eig.vectors * _sqrt_clipped(eig.values, "Gamma M Gamma")[None, :]) / r[:, None]
