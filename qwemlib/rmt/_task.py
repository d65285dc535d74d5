"""Task vectors, their Gram spectrum and the paper's summary numbers (Section 4, Appendix A.6).

A semantic binary's task vectors ``W[b] - W[a]`` are stacked into ``R`` (``N x d``);
the paper studies the spectrum of ``G = R R^T`` (not divided by ``d``), its
signal-to-noise ratio (Section 4), the share of the spike carried by the mean task
vector (eq. 26), and how the mean spreads over the eigen-features (Figure 4, top).

Used in: book/07_linear_structure.md; tools/make_results.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._validate import validate_symmetric
from ._checks import EIG_RTOL, _as_eigs, _as_matrix


def task_vectors(W, pairs, index: Mapping[str, int] | None = None) -> np.ndarray:
    """Stack the task vectors of a semantic binary into ``R`` (Section 4).

    Row ``n`` is ``W[b_n] - W[a_n]`` for the pair ``(a_n, b_n)``: the *second*
    word minus the *first*. With pairs written as the analogy dataset writes them
    (``(going, went)``) this is the paper's ``went - going`` (Figure 4). The
    paper does not normalise embeddings or task vectors (Appendix A.6); neither
    does this function.

    Args:
        W: embeddings, shape ``(V, d)`` (one row per word).
        pairs: ``N`` pairs ``(a, b)``: an integer array of shape ``(N, 2)`` of
            row indices into ``W``, or a sequence of word pairs when ``index`` is
            given.
        index: optional mapping word -> row of ``W`` used when the pairs are words.

    Returns:
        ``R`` with shape ``(N, d)``.

    Raises:
        ValueError: if ``W`` is not a finite 2-D array, ``pairs`` is not ``N x 2``
            or an index is out of range / a word is missing from ``index``.

    Used in: book/07_linear_structure.md; ``qwemlib.experiments._linear`` (tools/make_results.py).
    """
    Wa = _as_matrix(W, "W")
    if index is not None:
        try:
            idx = np.array([[index[a], index[b]] for a, b in pairs], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"pairs contains the word {err.args[0]!r}, which is not in index; "
                "drop pairs with out-of-vocabulary words first"
            ) from None
    else:
        idx = np.asarray(pairs)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                "pairs must hold integer row indices of W (dtype "
                f"{idx.dtype}); pass index=... to use words"
            )
        idx = idx.astype(np.int64, copy=False)
    if idx.ndim != 2 or idx.shape[1] != 2 or idx.shape[0] < 1:
        raise ValueError(f"pairs must have shape (N, 2) with N >= 1, got {idx.shape}")
    V = Wa.shape[0]
    if idx.min() < -V or idx.max() >= V:
        raise ValueError(f"pairs holds an index outside W's {V} rows")
    return Wa[idx[:, 1]] - Wa[idx[:, 0]]


def truncate(W, d: int) -> np.ndarray:
    """Closed-form embeddings of a ``d``-dimensional model from a larger one (Appendix A.6).

    The closed-form embeddings (eq. 7) are stored with the identity as right
    singular matrix, so column ``k`` is the component on the ``k``-th
    eigen-feature of M* in decreasing eigenvalue order. The embeddings of a model
    of size ``d`` are then the first ``d`` columns; by the stepwise dynamics
    (eq. 13) they are also those of a larger model part-way through training.

    Args:
        W: closed-form embeddings, shape ``(V, d_max)``, columns in eigen-order.
        d: the smaller dimension, ``1 <= d <= d_max``.

    Returns:
        A contiguous copy of ``W[:, :d]``.

    Used in: tests/test_rmt_task.py only (``qwemlib.experiments._linear`` slices
    ``R[:, :d]`` directly).
    """
    Wa = _as_matrix(W, "W")
    if isinstance(d, bool) or int(d) != d or not 1 <= int(d) <= Wa.shape[1]:
        raise ValueError(f"d must be an integer in [1, {Wa.shape[1]}] (W's columns), got {d!r}")
    return np.ascontiguousarray(Wa[:, : int(d)])


def gram_spectrum(R) -> np.ndarray:
    """Eigenvalues of ``G = R R^T`` (``N x N``, not divided by ``d``), descending.

    Computed with ``eigvalsh`` on the smaller of ``R R^T`` and ``R^T R`` (they
    share their nonzero eigenvalues); when ``N > d`` the remaining ``N - d``
    eigenvalues are exact zeros. Round-off of size ``<= EIG_RTOL * lambda_max``
    is set to exactly 0 (a Gram matrix is positive semidefinite), so the result
    is nonnegative.

    Args:
        R: task vectors, shape ``(N, d)`` with ``N >= 2``.

    Returns:
        Array of ``N`` nonnegative eigenvalues, decreasing.

    Raises:
        ValueError: if ``R`` has fewer than 2 rows, or NaN/inf entries.

    Used in: book/07_linear_structure.md (Figure 4, left);
    ``qwemlib.experiments._linear`` (tools/make_results.py).
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    N, d = Ra.shape
    small = Ra @ Ra.T if N <= d else Ra.T @ Ra
    ev = np.linalg.eigvalsh(small)
    out = np.zeros(N)
    out[: ev.size] = ev[::-1]
    top = out[0]
    if top <= 0.0:
        return np.zeros(N)
    out[np.abs(out) <= EIG_RTOL * top] = 0.0
    return out


def snr(G_or_eigs, rtol: float = EIG_RTOL) -> float:
    """Empirical signal-to-noise ratio ``lambda_max(G) rank(G) / Tr G`` (Section 4).

    The ratio of the largest eigenvalue to the mean *nonzero* eigenvalue.
    ``rank(G)`` counts eigenvalues above ``rtol * lambda_max`` (default
    :data:`EIG_RTOL` = 1e-10, far above double round-off and far below any
    eigenvalue of the paper's spectra). It lies in ``[1, rank(G)]``: 1 when all
    nonzero eigenvalues are equal (orthogonal task vectors of equal norm, or a
    rank-1 ``G``), ``rank(G)`` in the limit where one eigenvalue dominates the
    others.

    Args:
        G_or_eigs: the Gram matrix ``R R^T`` (square, symmetric) or its eigenvalues.
        rtol: relative tolerance of the numerical rank.

    Returns:
        The SNR, ``>= 1``.

    Used in: book/07_linear_structure.md (Figure 4, bottom; Figure 6); tools/make_results.py.
    """
    a = np.asarray(G_or_eigs, dtype=float)
    if a.ndim == 2:
        G = _as_matrix(a, "G", min_rows=2)
        if G.shape[0] != G.shape[1]:
            raise ValueError(f"G must be square (N x N), got shape {G.shape}; pass gram_spectrum(R)")
        # a Gram matrix R R^T is symmetric to round-off, far below 1e-10 relative
        a = np.linalg.eigvalsh(validate_symmetric(G, "G", rtol=1e-10))
        name = "G"
    else:
        name = "eigs"
    lam = _as_eigs(a, name=name, rtol=rtol)
    top = lam[0]
    rank = int(np.sum(lam > rtol * top))
    return float(top * rank / np.sum(lam))


def signal_in_mean(R) -> float:
    """Fraction of the spike carried by the mean task vector, eq. 26.

    ``1^T R R^T 1 / (N lambda_max(R R^T)) = N |mean task vector|^2 /
    lambda_max``, which is ``<= 1`` (a Rayleigh quotient of ``G`` at the unit
    vector ``1 / sqrt N``). It is 1 exactly when ``1`` is a top eigenvector of
    ``G``, e.g. when all task vectors are equal.

    Args:
        R: task vectors, shape ``(N, d)``, ``N >= 2``, not all zero.

    Returns:
        The ratio in ``[0, 1]``.

    Used in: book/07_linear_structure.md; ``qwemlib.experiments._linear`` (tools/make_results.py).
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    top = float(np.linalg.svd(Ra, compute_uv=False)[0] ** 2)
    if top == 0.0:
        raise ValueError("R is all zeros: the task vectors are all zero")
    s = Ra.sum(axis=0)
    return float(s @ s / (Ra.shape[0] * top))


@dataclass(frozen=True, eq=False)
class MeanLocalization:
    """Result of :func:`mean_localization`.

    Attributes:
        weights: squared components of the mean task vector on each
            eigen-feature, normalised to sum 1, shape ``(k,)``.
        top: indices of the ``top_k`` features by weight, decreasing.
        top_weights: their weights.
        captured: ``|B^T r|^2 / |r|^2``, the fraction of the mean's squared norm
            inside the span of the basis (1 for a complete basis).
        effective_number: participation ratio ``1 / sum(weights^2)``, between 1
            (one feature) and ``k`` (spread evenly).
    """

    weights: np.ndarray
    top: np.ndarray
    top_weights: np.ndarray
    captured: float
    effective_number: float


def _components(r: np.ndarray, W_or_basis) -> np.ndarray:
    """Components of ``r`` (length ``d``) on a ``(d, k)`` orthonormal basis or on the
    right singular vectors of embeddings ``(V, d)``."""
    d = r.size
    B = _as_matrix(W_or_basis, "W_or_basis")
    # orthonormal up to round-off (1e-8 is far above it and far below any real departure)
    if B.shape[0] == d and B.shape[1] <= d and np.allclose(B.T @ B, np.eye(B.shape[1]), atol=1e-8):
        return B.T @ r
    if B.shape[1] == d:
        _, _, Vt = np.linalg.svd(B, full_matrices=False)
        return Vt @ r
    raise ValueError(
        f"W_or_basis has shape {B.shape}: expected a (d, k) orthonormal basis or "
        f"embeddings (V, d) with d = {d} (R's columns)"
    )


def mean_localization(R, W_or_basis=None, top_k: int = 10) -> MeanLocalization:
    """How the mean task vector spreads over the eigen-features (Section 4, Figure 4 top).

    The mean task vector ``r = R.mean(0)`` is expressed in an orthonormal basis
    of eigen-features and its squared components are normalised to sum 1.

    * ``W_or_basis=None``: the canonical basis. For the closed-form embeddings
      (and :func:`truncate`) column ``k`` *is* the ``k``-th eigen-feature
      (Appendix A.6), so the components are ``r`` itself.
    * a ``(d, k)`` array with orthonormal columns (``k <= d``): that basis.
    * any other array with ``d`` columns: embeddings ``W`` (``V x d``, e.g. a
      trained model); the eigen-features are its right singular vectors, ordered
      by decreasing singular value (the model's principal directions, uncentred).

    A ``(d, d)`` array with orthonormal columns is read as a basis.

    Args:
        R: task vectors ``(N, d)`` expressed in the same coordinates as ``W``.
        W_or_basis: ``None``, a basis or embeddings, as above.
        top_k: number of dominant features to report.

    Returns:
        :class:`MeanLocalization`.

    Used in: book/07_linear_structure.md (Figure 4, top).
    """
    Ra = _as_matrix(R, "R", min_rows=1)
    r = Ra.mean(axis=0)
    norm2 = float(r @ r)
    if norm2 == 0.0:
        raise ValueError("R: the mean task vector is zero, so it has no localization")
    comps = r if W_or_basis is None else _components(r, W_or_basis)
    sq = comps**2
    total = float(sq.sum())
    if total == 0.0:
        raise ValueError("W_or_basis: the mean task vector is orthogonal to every basis vector")
    w = sq / total
    k = int(min(max(int(top_k), 1), w.size))
    order = np.argsort(-w, kind="stable")[:k]
    return MeanLocalization(
        weights=w,
        top=order,
        top_weights=w[order],
        captured=total / norm2,
        effective_number=float(1.0 / np.sum(w**2)),
    )
