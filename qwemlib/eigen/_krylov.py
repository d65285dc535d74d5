"""Block Lanczos with full reorthogonalization for the top of a symmetric spectrum (private).

The solver behind ``top_eigenpairs(method="lanczos")``; see :func:`block_lanczos`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ._chebyshev import _orthonormalize, rayleigh_ritz64


def _rate(D1, n1, D2, n2):
    """Per-step rate ``r`` of a geometric error ``e(k) = C r^k`` whose values fell by ``D1``
    over ``n1`` steps and then by ``D2`` over the next ``n2``; ``None`` if not geometric."""
    if not (D1 > 0 and D2 >= 0):
        return None
    target = D2 / D1

    def f(r):   # fall over the second interval / fall over the first, for rate r
        return r**n1 * (1 - r**n2) / (1 - r**n1)

    if target >= f(1 - 1e-9):
        return None
    lo, hi = 0.0, 1 - 1e-9
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def _symmetric_orthonormalize(X):
    """``X (X^T X)^{-1/2}`` (Lowdin): the orthonormal columns closest to ``X``'s, column by
    column, so each Ritz vector keeps its Ritz value (an arbitrary orthonormal basis of
    span(X), such as :func:`_orthonormalize` returns, would mix them)."""
    g, U = np.linalg.eigh(X.T @ X)
    return X @ ((U / np.sqrt(g)) @ U.T)


def _top_pairs(T, k):
    """The top ``k`` eigenpairs of the symmetric projected matrix ``T``, largest first.

    In float32 (LAPACK ``ssyevr`` on a subset: 0.21 s at 1,600 columns on 2 cores, against
    0.36 s in float64 and 0.24 s for float64 values alone); ``T`` holds float32 products
    already, so its eigenvalues are good to about ``1e-7 ||T||`` either way.
    """
    m = T.shape[0]
    th, S = scipy.linalg.eigh(T.astype(np.float32), subset_by_index=[m - k, m - 1],
                              driver="evr", check_finite=False)
    return th[::-1].astype(np.float64), S[:, ::-1]


def block_lanczos(M, d, seed, *, block=None, tol=1e-4, span=None, max_dim=None,
                  first_check=None, max_jump=None, reorth=1, refine=False, dtype=np.float32,
                  extra=10, stats=None):
    """Top ``d`` eigenpairs of ``M`` by block Lanczos (Golub & Underwood 1977).

    A block Krylov basis ``Q = [Q_0, Q_1, ...]`` of ``block`` columns per step is grown by
    ``M Q_j`` (one float32 ``gemm`` of ``M`` per step) and reorthogonalized against the
    whole basis (``reorth`` classical Gram-Schmidt passes, float32 ``gemm``), so the
    projected matrix ``T = Q^T M Q`` is block tridiagonal; it is kept in float64. One pass
    keeps the basis orthogonal to about ``2e-7`` at the local preset (two: ``6e-8``),
    enough for Ritz values good to float32 rounding, at three quarters of the time.
    Unlike Chebyshev filtering this needs no spectral bounds: ``M*``'s huge negative
    eigenvalue (about -11,000 at V = 10,000) costs nothing, because a Krylov space
    resolves both ends of the spectrum at once (deflating it first did not change the
    columns needed).

    Block size. At the local preset (V = 10,000, d = 200) a smaller block needs fewer
    columns for the same error but runs its product at a lower flop rate: an error of
    ``1e-4 lambda_1`` took about 1,150 columns at block 16, 1,340 at 32, 1,490 at 48,
    1,660 at 64, 1,900 at 100 and 2,500 at 200, while one float32 product cost 3.0, 2.9,
    2.0, 1.9, 2.1 and 1.8 ms per column on 2 cores (OpenBLAS, AVX2; 48 runs as fast as
    32). 48 gave the least time in all.

    Stopping rule. The top Ritz values of ``T`` rise monotonically towards the
    eigenvalues as the basis grows (Cauchy interlacing), and near convergence their error
    falls geometrically, by about half per 100 columns here and faster and faster. So the
    error left after a rise of ``R`` over ``span`` columns is at most ``R`` whenever the
    rate over ``span`` is at least a halving, and the rule stops when no top-``d`` Ritz
    value rose by more than ``tol |theta_1| / 2`` since the last check, at least ``span``
    columns back. At the local preset this rule's error estimate was never more than 1.8
    times too small over the whole run (block 48, checks every 96 columns). Each check
    costs one partial ``eigh`` of ``T`` (:func:`_top_pairs`), so checks start at ``first_check``
    columns (default ``5 d``) and, once two rises give a rate, jump to where the rate says
    the rule will hold (at most ``max_jump`` columns, default ``2 span``). The residual
    bound ``||r||^2 / gap`` is no use here: the gap to ``lambda_{d+1}`` is tiny (188.42
    against 188.38 at the local preset), while the error left comes from the far end of
    the spectrum; with it the Chebyshev-style rule stopped 25 % later than needed.

    With ``refine`` a float64 Rayleigh-Ritz of ``M`` on the top ``d + extra`` Ritz vectors
    (:func:`qwemlib.eigen._chebyshev.rayleigh_ritz64`) gives the result; without it the
    Ritz values of ``T`` are returned (off by about ``1e-7 ||M||`` from float32 products,
    far below ``tol``) with their Ritz vectors, orthonormalized in float64 column by column
    (:func:`_symmetric_orthonormalize`), so that vector ``k`` still belongs to value ``k``.

    Args:
        M: ``(V, V)`` symmetric.
        d: number of eigenpairs.
        seed: seed of the random starting block.
        block: columns per step (default ``min(48, max(4, d // 4))``: 48 at d = 200).
        tol: target of ``max_j |theta_j - lambda_j| / lambda_1``.
        span: fewest columns between the two checks the rule compares (default two
            blocks: 96 at d = 200).
        max_dim: largest basis (default ``min(V - block, 16 d + 8 block)``); stopping there
            before the rule holds warns.
        first_check: basis size of the first check (default ``5 d``).
        max_jump: most columns from one check to the next.
        reorth: Gram-Schmidt passes against the basis per step.
        refine: end with a float64 Rayleigh-Ritz of ``M`` (one more product).
        stats: a dict to receive ``dim`` (final basis size), ``checks``, ``rise`` (the last
            rise over ``|theta_1|``), ``converged`` and ``history`` (``(dim, theta)`` at
            each check).

    Used in: ``top_eigenpairs(method="lanczos")`` (``"auto"`` above ``AUTO_DENSE_MAX_V``),
    hence every chapter at the local and full presets.
    """
    V = M.shape[0]
    b = int(max(1, min(block or min(48, max(4, d // 4)), (V - 1) // 4)))
    m_max = int(min(V - b, max_dim or 16 * d + 8 * b))
    m_max = max(b * (m_max // b), b)
    need = min(d + extra, m_max)
    s = max(1, -(-int(span or 2 * b) // b))            # steps between compared checks
    jump = max(s, int(max_jump or 2 * s * b) // b)     # most steps from one check to the next
    rng = np.random.default_rng(seed)
    Mw = M if M.dtype == dtype else M.astype(dtype)
    # the basis is stored by rows, Qt[i] = q_i, so that every block is contiguous; M is
    # symmetric, so Qt_j M is (M Q_j)^T
    Qt = np.empty((m_max, V), dtype=dtype)
    Qt[:b] = _orthonormalize(rng.standard_normal((V, b)).astype(dtype), dtype, rng).T
    T = np.zeros((m_max, m_max))
    target = 0.5 * tol
    hist = []                                           # (step, top-d Ritz values)
    next_check = max(-(-int(first_check or 5 * d) // b), -(-need // b))
    rise, converged, pairs = np.inf, False, None
    step, hi = 1, b
    while True:
        lo = hi - b
        Wt = Qt[lo:hi] @ Mw
        A = (Wt @ Qt[lo:hi].T).astype(np.float64)
        T[lo:hi, lo:hi] = 0.5 * (A + A.T)
        last = hi + b > m_max
        if step >= next_check or last:
            pairs = _top_pairs(T[:hi, :hi], need)
            theta = pairs[0][:d]
            hist.append((step, theta))
            if stats is not None:
                stats.setdefault("history", []).append((hi, theta))
            nxt = s
            back = [h for h in hist[:-1] if h[0] <= step - s]   # checks a span or more back
            if back:
                s1, t1 = back[-1]
                rise = float(np.max(theta - t1)) / abs(theta[0])
                if rise <= target:
                    converged = True
                    break
                earlier = [h for h in hist if h[0] <= s1 - s]
                if earlier:   # jump to the check pair where the rate says the rule will hold
                    s0, t0 = earlier[-1]
                    r = _rate(float(np.max(t1 - t0)), s1 - s0, rise * abs(theta[0]), step - s1)
                    if r is not None:
                        e_now = rise / (r ** -(step - s1) - 1)
                        k = np.log(target / (e_now * (1 - r**s))) / np.log(r)
                        j = int(np.ceil(k))   # steps to the first check of the pair
                        nxt = int(np.clip(j, s, jump)) if j > 0 else s
            next_check = step + nxt
        if last:
            break
        for _ in range(reorth):
            Wt -= (Qt[:hi] @ Wt.T).T @ Qt[:hi]
        Qn = _orthonormalize(Wt.T, dtype, rng, Qt[:hi].T)
        Bn = (Wt @ Qn).astype(np.float64)    # (Q_{j+1}^T W)^T
        Qt[hi:hi + b] = Qn.T
        T[hi:hi + b, lo:hi] = Bn.T
        T[lo:hi, hi:hi + b] = Bn
        hi += b
        step += 1
    if not converged and hi < V:
        warnings.warn(f"block Lanczos stopped at its largest basis ({hi} columns) before its "
                      f"top {d} Ritz values settled (last rise {rise:.2g} lambda_1 > tol/2 = "
                      f"{target:g}); raise max_dim", RuntimeWarning, stacklevel=3)
    th, S = pairs
    if stats is not None:
        stats.update(dim=hi, checks=len(hist), rise=rise, converged=converged)
    if refine:
        return rayleigh_ritz64(M, (S.T.astype(dtype) @ Qt[:hi]).T, d, Mw)
    X = (S[:, :d].T.astype(dtype) @ Qt[:hi]).T.astype(np.float64)
    return th[:d], _symmetric_orthonormalize(X)
