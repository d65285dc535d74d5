"""Comparing embeddings up to rotation (eq. 4, 13) and reading rise times off curves (private)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes

from .._validate import validate_matrix

__all__ = ["subspace_overlap", "subspace_overlaps", "align_rotation", "requiv_distance", "first_crossing",
           "half_rise_times", "step_time_tolerances", "mode_fractions"]



def _orth(A: np.ndarray, name: str) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 1:
        A = A[:, None]
    validate_matrix(A, name, what="(V, k)")
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        raise ValueError(f"{name} has rank 0: its column space is empty")
    r = int(np.sum(s > s[0] * max(A.shape) * np.finfo(float).eps))
    return U[:, :r]


def subspace_overlap(A, B) -> float:
    """Mean squared cosine of the principal angles between the column spaces of A and B.

    ``||Q_A^T Q_B||_F^2 / min(rank A, rank B)``: 1 when one space contains the other,
    0 when they are orthogonal; invariant under REquiv (eq. 4).

    Used in: book/03_aligned_dynamics.md, book/04_stepwise.md, book/06_qwem_vs_word2vec.md.
    """
    Qa, Qb = _orth(A, "A"), _orth(B, "B")
    if Qa.shape[0] != Qb.shape[0]:
        raise ValueError(f"A and B must have the same number of rows; got {Qa.shape[0]} and {Qb.shape[0]}")
    c = np.linalg.svd(Qa.T @ Qb, compute_uv=False)
    return float(np.clip(np.sum(c ** 2) / min(Qa.shape[1], Qb.shape[1]), 0.0, 1.0))


def subspace_overlaps(A, B, ks) -> list[float]:
    """:func:`subspace_overlap` of ``A`` with ``B[:, :k]`` for every ``k`` in ``ks``, with one
    orthonormalization of each (``B`` of full column rank: its QR keeps the span of every
    prefix of columns). The training records call it at every record step (V = 10,000:
    two factorizations instead of two per ``k``).

    Used in: qwemlib.experiments._training (book/05's overlap records).
    """
    Qa = _orth(A, "A")
    B = validate_matrix(np.asarray(B, dtype=np.float64), "B", rows=Qa.shape[0], what="(V, k)")
    Qb = np.linalg.qr(B)[0]
    C = Qa.T @ Qb
    out = []
    for k in ks:
        if not 1 <= k <= B.shape[1]:
            raise ValueError(f"k = {k} must lie in 1..{B.shape[1]} (B's columns)")
        out.append(float(np.clip(np.sum(C[:, :k] ** 2) / min(Qa.shape[1], k), 0.0, 1.0)))
    return out


def align_rotation(W, W_ref) -> np.ndarray:
    """Orthogonal ``U`` (d x d) minimizing ``||W U - W_ref||_F`` (Procrustes over REquiv, eq. 4).

    ``U = P Q^T`` from the SVD ``W^T W_ref = P Sigma Q^T`` (``scipy.linalg.orthogonal_procrustes``);
    ``W @ U`` is the member of ``REquiv(W)`` closest to ``W_ref``.
    """
    W = np.asarray(W, dtype=np.float64)
    W_ref = np.asarray(W_ref, dtype=np.float64)
    if W.shape != W_ref.shape or W.ndim != 2:
        raise ValueError(f"W and W_ref must have the same (V, d) shape; got {W.shape} and {W_ref.shape}")
    validate_matrix(W, "W"), validate_matrix(W_ref, "W_ref")
    return orthogonal_procrustes(W, W_ref, check_finite=False)[0]


def requiv_distance(W, W_ref, *, relative: bool = False) -> float:
    """``min_U ||W U - W_ref||_F`` over orthogonal ``U`` (the distance in eq. 13).

    With ``relative=True``, divided by ``||W_ref||_F``.

    Used in: book/04_stepwise.md (through
    :meth:`qwemlib.flow.RandomStartFlow.requiv_error`).
    """
    U = align_rotation(W, W_ref)
    dist = float(np.linalg.norm(np.asarray(W) @ U - W_ref))
    return dist / float(np.linalg.norm(W_ref)) if relative else dist


# --------------------------------------------------------------------------- rise times


def first_crossing(t, y, level, *, interpolate: bool = True):
    """First time a recorded curve ``y(t)`` reaches ``level``.

    The one definition of the "half-rise" time used across the book (the intro,
    chapter 3, and chapters 5 and 7 through :mod:`qwemlib.experiments`): ``y`` may
    carry trailing axes (one curve per column) and ``level`` broadcasts against ``y[0]``.

    Args:
        t: ``(R,)`` record times (or grid values, e.g. the model sizes of a sweep).
        y: ``(R, ...)`` the curves at those records.
        level: the level to reach; scalar or shaped like ``y[0]``.
        interpolate: linear interpolation between the two records around the first
            crossing (default); ``False`` returns the first record at or above it.

    Returns:
        A float (or an array shaped like ``y[0]``); ``nan`` where ``y`` never reaches
        ``level``; ``t[0]`` where it starts there.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or y.shape[:1] != t.shape:
        raise ValueError(f"t must be 1-D and y must have len(t) = {t.shape[0] if t.ndim else 0} rows; "
                         f"got t {t.shape}, y {y.shape}")
    flat = y.reshape(len(t), -1)
    lev = np.broadcast_to(np.asarray(level, dtype=np.float64), y.shape[1:]).reshape(-1)
    out = np.full(flat.shape[1], np.nan)
    for j in range(flat.shape[1]):
        i = np.flatnonzero(flat[:, j] >= lev[j])
        if i.size == 0:
            continue
        i = int(i[0])
        if i == 0 or not interpolate:
            out[j] = t[i]
        else:
            out[j] = np.interp(lev[j], [flat[i - 1, j], flat[i, j]], [t[i - 1], t[i]])
    return float(out[0]) if y.ndim == 1 else out.reshape(y.shape[1:])


def half_rise_times(t, s2, values, *, interpolate: bool = True) -> np.ndarray:
    """First time each mode's ``s_k(t)^2`` reaches half its target ``lambda_k`` (eq. 13's step times).

    ``s2`` is ``(R, d)`` (from SGD records, the flow, or :meth:`ClosedFormDynamics.s2`),
    ``values`` the ``(d,)`` eigenvalues; see :func:`first_crossing`.
    """
    values = np.asarray(values, dtype=np.float64)
    return first_crossing(t, s2, values / 2, interpolate=interpolate)


def step_time_tolerances(t_pred, cap: float = 0.05) -> np.ndarray:
    """Per-mode relative tolerances for comparing step times with predicted ones ``t_pred``.

    Mode ``k``'s tolerance is half the relative gap between its predicted step time and
    the nearest other one, ``min_j |t_j - t_k| / (2 t_k)``, and at most ``cap``. A
    tolerance below half the gap is what lets the check fail when two neighbouring
    predictions are swapped (the swapped mode is then off by the whole gap), so it is set
    from the effect the check must detect rather than from what passed; ``cap`` keeps
    isolated steps from getting a loose one. At the local preset the intro's first modes
    are only 3.3 % apart (a fixed 5 % could not tell them apart); at ``ci``, 8.6-25 %.

    Used in: book/intro.md (its step-time check) and ``tests/test_theory.py``.
    """
    t = np.asarray(t_pred, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"t_pred must hold >= 2 finite positive step times; got {t!r}")
    gap = np.abs(t[:, None] - t[None, :]) / t[:, None]
    np.fill_diagonal(gap, np.inf)
    return np.minimum(cap, 0.5 * gap.min(axis=1))


def mode_fractions(W, vectors, values) -> np.ndarray:
    """``(d,)``: how much of each mode ``W`` has learned, ``v_k^T W W^T v_k / lambda_k``.

    1 for a learned mode (eq. 7: ``W W^T`` has ``lambda_k`` along ``v_k``), 0 for one that
    has not started; the loss ``(1/4)||W W^T - M*||^2`` carries ``(lambda_k^2/4)(1 - f_k)^2``
    from mode ``k``. Comparing the fractions of a run and of eq. 13's ``W*(t)`` checks the
    final state mode by mode (a single missing mode moves its fraction by 1).

    Used in: book/intro.md (its final-state check).
    """
    vectors = validate_matrix(np.asarray(vectors, dtype=np.float64), "vectors", what="(V, d)")
    W = validate_matrix(np.asarray(W, dtype=np.float64), "W", rows=vectors.shape[0], what="(V, k)")
    A, values = vectors.T @ W, np.asarray(values, dtype=np.float64)
    if A.shape[0] != values.shape[0]:
        raise ValueError(f"vectors has {A.shape[0]} columns but values has {values.shape[0]} entries")
    return np.sum(A * A, axis=1) / values
