"""Chebyshev-filtered subspace iteration for the top of a symmetric spectrum (private).

The helpers behind ``top_eigenpairs(method="chebyshev")`` and ``method="lobpcg"``'s final
float64 Rayleigh-Ritz; see :func:`chebyshev`.
"""

from __future__ import annotations

import numpy as np


def rayleigh_ritz64(M, X, d, Mw=None):
    """Final float64 Rayleigh-Ritz of ``M`` on span(X); top ``d`` Ritz pairs.

    The basis is orthonormalized and the projected matrix diagonalized in float64. With
    ``Mw`` (a float32 copy of ``M``) the one product ``M Q`` is a float32 gemm (half the
    time of float64; the eigenvalues move by about ``1e-7 ||M||``, far below a ``1e-4
    lambda_1`` tolerance); without it the product is in ``M``'s own dtype.
    """
    Q = _orthonormalize(np.asarray(X, dtype=np.float64), np.float64)
    if Mw is not None:
        MQ = (Mw @ Q.astype(Mw.dtype)).astype(np.float64)
    else:
        MQ = (M if M.dtype == np.float64 else M.astype(np.float64)) @ Q
    H = Q.T @ MQ
    H = 0.5 * (H + H.T)
    th, Z = np.linalg.eigh(H)
    th, Z = th[::-1][:d], Z[:, ::-1][:, :d]
    return th, Q @ Z


def _orthonormalize(X, dtype, rng=None, against=None):
    """Orthonormal basis of span(X) by two passes of Gram-matrix eigendecomposition.

    All-gemm (unlike Householder QR, which is slow here when the cores are busy);
    the Gram matrix and its ``eigh`` are in float64. Directions lost to rounding
    (relative size below ~1e-7) are replaced by random ones (orthogonal to
    ``against`` and to the rest) when ``rng`` is given, so the block keeps its width.
    """
    k = X.shape[1]
    for _ in range(2):
        X64 = X.astype(np.float64, copy=False)
        G = X64.T @ X64
        g, Wg = np.linalg.eigh(0.5 * (G + G.T))
        keep = g > g[-1] * 1e-13
        Wg = Wg[:, keep] / np.sqrt(g[keep])[None, :]
        X = X @ Wg.astype(dtype)
    if rng is not None and X.shape[1] < k:
        R = rng.standard_normal((X.shape[0], k - X.shape[1])).astype(dtype)
        for _ in range(2):
            if against is not None and against.shape[1]:
                R -= against @ (against.T @ R)
            R -= X @ (X.T @ R)
        X = np.hstack([X, _orthonormalize(R, dtype)])
    return X


def _lanczos(Mw, steps, rng):
    """``steps`` Lanczos steps with full reorthogonalization.

    Returns Ritz values (ascending), their residual norms and Ritz vectors.
    """
    V = Mw.shape[0]
    steps = min(steps, V)
    Q = np.zeros((V, steps + 1), dtype=Mw.dtype)
    q = rng.standard_normal(V).astype(Mw.dtype)
    Q[:, 0] = q / np.linalg.norm(q)
    alpha = np.zeros(steps)
    beta = np.zeros(steps)
    for j in range(steps):
        w = Mw @ Q[:, j]
        alpha[j] = float(Q[:, j] @ w)
        for _ in range(2):
            w = w - Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)
        beta[j] = float(np.linalg.norm(w))
        if beta[j] <= 1e-10 * abs(alpha[: j + 1]).max():
            steps = j + 1
            break
        Q[:, j + 1] = w / beta[j]
    T = np.diag(alpha[:steps]) + np.diag(beta[: steps - 1], 1) + np.diag(beta[: steps - 1], -1)
    th, S = np.linalg.eigh(T)
    res = np.abs(beta[steps - 1] * S[-1, :])
    return th, res, Q[:, :steps] @ S.astype(Mw.dtype)


def chebyshev(
    M,
    d,
    seed,
    *,
    guard=None,
    degree=6,
    tol=1e-4,
    maxiter=40,
    deflate=True,
    lanczos_steps=20,
    dtype=np.float32,
    cut=0.1,
    safety=0.25,
    rr32=True,
    start=None,
    first_degree=3,
):
    """Chebyshev-filtered subspace iteration (Zhou & Saad 2007) for the top ``d``.

    1. ``lanczos_steps`` Lanczos steps bound the spectrum. Converged bottom Ritz
       pairs below ``-2 lambda_max`` (``M*``'s one huge negative eigenvalue, about
       -13,000 at V = 10,000) are *deflated*: the iteration runs on
       ``P M P``, ``P = I - U U^T``. This shrinks the unwanted interval from
       ``[lambda_min, b]`` to about ``[-560, b]`` and speeds convergence about 4x.
       The unwanted interval's lower end is raised further to ``-cut * lambda_max``
       (``cut=None``: no raise): the few eigenvalues left below it (at the local
       preset, -660 to -288) are amplified by the filter as well, so ``r`` extra
       columns (twice the Lanczos Ritz values below it, plus 2) hold them and ``b``
       is taken at column ``d + guard``, above them; when the block shows as many
       Ritz values below the cut as reserved columns, the cut is dropped. It applies only
       when the spectrum left after deflation ends above ``-(1 + 2 cut) lambda_max``,
       where the filter still grows faster at ``lambda_max`` than anywhere below the
       cut (farther down, float32 loses the wanted vectors). At the local preset
       ``cut=0.1`` (``a = -271`` instead of ``-693``) cut the block products by 23 %.
    2. A block of ``k = d + guard + r`` vectors is multiplied by ``p(PMP)``, the
       degree-``degree`` Chebyshev polynomial bounded by 1 on the unwanted interval
       ``[a, b]`` (``b``: the block's smallest Ritz value above the ``r`` reserved
       columns) and growing fast above it,
       then orthonormalized and Rayleigh-Ritz'ed. Converged leading Ritz pairs are
       locked (no longer filtered). Every product is a BLAS-3 ``gemm`` in ``dtype``
       (float32 by default: about 3x the float64 flop rate here).
    3. Stop when every top-``d`` Ritz pair has ``||r_j||^2 <= safety tol |theta_1| (theta_j - b)``
       (the residual bound ``||r||^2 / gap`` on the eigenvalue error, with the gap
       estimated by ``theta_j - b`` (``b``: the largest so far) and a safety factor ``1/safety`` because that
       estimate is optimistic when a dense bulk sits right below ``lambda_d``); a final
       Rayleigh-Ritz in float64 against the original ``M`` gives the result (its one
       product ``M Q`` in ``dtype`` when ``rr32``, see :func:`rayleigh_ritz64`).

    The first filter has degree ``first_degree`` (its ``b`` comes from a random block, far
    below ``lambda_d``: a high degree there amplifies the whole bulk). At the local preset
    (V = 10,000, d = 200) these choices (``cut``, ``first_degree=3``, ``lanczos_steps=20``,
    ``rr32``) took the block products from 7,896 to about 5,600 columns.

    ``start``: a ``(V, j)`` array whose columns replace the first ``j`` random starting
    vectors (a warm start from the eigenvectors of a nearby matrix).
    """
    V = M.shape[0]
    rng = np.random.default_rng(seed)
    if guard is None:
        guard = max(20, d // 2)
    Mw = M if M.dtype == dtype else M.astype(dtype)
    th_l, res_l, Y_l = _lanczos(Mw, min(lanczos_steps, V - 1), rng)
    top = float(th_l[-1] + res_l[-1])
    U = np.zeros((V, 0), dtype=dtype)
    q = 0
    if deflate:
        while (
            q < th_l.size - 2
            and th_l[q] < -2.0 * abs(th_l[-1])
            and res_l[q] <= 1e-4 * abs(th_l[q])
        ):
            q += 1
        if q:
            U, _ = np.linalg.qr(Y_l[:, :q])
    a = float(th_l[q] - res_l[q])
    a -= 0.05 * abs(a)
    if q:
        a = min(a, 0.0)  # P M P has eigenvalue 0 on span(U)
    a_full, r = a, 0  # r: columns reserved for the eigenvalues below a
    # the cut only where no eigenvalue below it would outgrow p(top) = 1 (|lambda - c| <= top - c)
    if cut is not None and -(1 + 2 * cut) * abs(top) <= a < -cut * abs(top):
        a = -cut * abs(top)
        r = 2 * int(np.sum(th_l[q:] < a)) + 2
    k = min(V - 1, d + guard + r)
    r = max(0, min(r, k - d - 1))

    def op(X):
        if q:
            X = X - U @ (U.T @ X)
            Y = Mw @ X
            return Y - U @ (U.T @ Y)
        return Mw @ X

    X = rng.standard_normal((V, k)).astype(dtype)
    if start is not None:  # warm start: e.g. the eigenvectors of a nearby matrix
        S = np.asarray(start, dtype=dtype).reshape(V, -1)[:, :k]
        X[:, : S.shape[1]] = S
    if q:
        X -= U @ (U.T @ X)
    X = _orthonormalize(X, dtype)
    Y = op(X)
    L = np.zeros((V, 0), dtype=dtype)  # locked Ritz vectors
    Lth = np.zeros(0)
    tol_abs = tol * abs(top)
    b_gap = -np.inf
    for it in range(maxiter):
        # the iteration's Rayleigh-Ritz in dtype (its Ritz values move by ~1e-6 lambda_1 in
        # float32; the result's come from rayleigh_ritz64): no (V, k) float64 copies
        H = (X.T @ Y).astype(np.float64)
        th, Z = np.linalg.eigh(0.5 * (H + H.T))
        th, Z = th[::-1], Z[:, ::-1]
        Zw = Z.astype(dtype)
        X = X @ Zw
        Y = Y @ Zw
        if r and (np.sum(th < a) >= r or th[k - r - L.shape[1] - 1] < a):
            a, r = a_full, 0  # more eigenvalues below the cut than reserved: no cut
        b = float(th[k - r - L.shape[1] - 1])  # above the r columns kept for eigenvalues < a
        b_gap = max(b_gap, b)  # the gap estimate never widens (b rises as the block converges)
        Res = Y - X * th.astype(dtype)[None, :]
        R = np.sqrt(np.einsum("ij,ij->j", Res, Res).astype(np.float64))
        need = d - L.shape[1]
        ok = R[:need] ** 2 <= safety * tol_abs * np.maximum(th[:need] - b_gap, 0.0)
        if ok.all() and it:  # neither stop nor lock on the start block: its b says nothing of the gap
            break
        nlock = int(np.argmin(ok)) if it else 0  # leading converged pairs
        if nlock:
            L = np.hstack([L, X[:, :nlock]])
            Lth = np.concatenate([Lth, th[:nlock]])
            X, Y, th = X[:, nlock:], Y[:, nlock:], th[nlock:]
        e = (b - a) / 2.0
        c = (b + a) / 2.0
        if e <= 0:
            break
        # scaled three-term recurrence with p(top) = 1: no overflow
        sigma = e / (top - c)
        tau = 2.0 / sigma
        X0 = X
        X1 = (Y - c * X) * dtype(sigma / e)
        deg = (first_degree or degree) if it == 0 else degree
        for _ in range(2, deg + 1):
            sigma_new = 1.0 / (tau - sigma)
            Z1 = op(X1)
            if L.shape[1]:
                Z1 -= L @ (L.T @ Z1)
            X2 = (Z1 - c * X1) * dtype(2.0 * sigma_new / e) - dtype(sigma * sigma_new) * X0
            X0, X1 = X1, X2
            sigma = sigma_new
        if L.shape[1]:
            X1 -= L @ (L.T @ X1)
            X1 -= L @ (L.T @ X1)
        X = _orthonormalize(X1, dtype, rng, np.hstack([U, L]) if (q or L.shape[1]) else None)
        Y = op(X)
        if L.shape[1]:
            Y -= L @ (L.T @ Y)
    basis = np.hstack([L, X[:, : d - L.shape[1] + min(guard, 10)]])
    return rayleigh_ritz64(M, basis, d, Mw if rr32 else None)
