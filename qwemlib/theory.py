"""Closed-form QWEM solutions: top-d eigenpairs, embeddings and training dynamics.

The paper's theory (section 3) reduces QWEM under Setting 1 to the symmetric matrix
factorization ``L(W) = (g/4) ||W W^T - M*||_F^2 + const`` (eq. 6). Everything here is a
function of the top-``d`` eigenpairs of ``M*`` *by algebraic value* (eq. 7), which is
why :func:`top_eigenpairs` is careful about the indefinite spectrum of ``M*``.

Time convention (used throughout this module and :mod:`qwemlib.flow`): gradient flow
``dW/dt = -(1/2g) grad L = (1/2) (M* - W W^T) W`` (the paper's Lemma). In the eigenbasis
of ``M*`` with aligned initialization each squared singular value ``u_k = s_k^2`` obeys
the logistic equation ``du_k/dt = lambda_k u_k - u_k^2``, whose solution is exactly
eq. 11, ``s_k(t) = s_k(0) (e^{-lambda_k t} + s_k(0)^2 (1 - e^{-lambda_k t}) / lambda_k)^{-1/2}``,
so the paper's eq. 11 and its Lemma use the same time scale (checked by finite
differences in ``tests/test_theory.py``). ``u_k`` passes half its final value at
``t ~= tau_k = ln(lambda_k / s_k(0)^2) / lambda_k``.

Used in: book/02_qwem_matrix_factorization.md, book/03_aligned_dynamics.md,
book/04_stepwise.md, book/05_training.md, book/06_qwem_vs_word2vec.md.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

__all__ = [
    "Eigenpairs",
    "ClosedFormDynamics",
    "METHODS",
    "top_eigenpairs",
    "closed_form_embeddings",
    "weighted_closed_form",
    "subspace_overlap",
    "align_rotation",
    "requiv_distance",
    "validate_symmetric",
    "first_crossing",
    "half_rise_times",
]

#: Eigensolvers accepted by :func:`top_eigenpairs` (``"auto"`` picks one of them).
METHODS = ("dense", "dense-evx", "arpack", "chebyshev", "lobpcg")

#: Up to this size ``method="auto"`` uses dense ``eigh`` (exact; a few seconds at
#: V = 2,500 on 2 cores), above it the Chebyshev block method (see
#: ``bench/bench_eigensolver.py``; the crossover was not measured precisely).
AUTO_DENSE_MAX_V = 2500


# --------------------------------------------------------------------------- validation


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


def _check_d(d, V: int) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise ValueError(f"d must be an integer; got {d!r}")
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be >= 1; got d = {d}")
    if d >= V:
        raise ValueError(
            f"d must be < V (the rank-constrained, under-parameterized regime d < V); "
            f"got d = {d} and V = {V}"
        )
    return d


# --------------------------------------------------------------------------- eigenpairs


@dataclass(frozen=True)
class Eigenpairs:
    """Top-``d`` eigenpairs of a symmetric matrix, largest *algebraic* value first.

    Attributes:
        values: ``(d,)`` eigenvalues ``lambda_1 >= ... >= lambda_d`` (may be negative).
        vectors: ``(V, d)`` orthonormal eigenvectors, column ``k`` for ``values[k]``;
            each column's sign is fixed so that its largest-magnitude entry is positive.
        method: the solver that produced them.
        frobenius_sq: ``||M||_F^2``, so that losses are exact (not up to a constant).
        seconds: wall time of the solve.
    """

    values: np.ndarray
    vectors: np.ndarray
    method: str
    frobenius_sq: float | None = None
    seconds: float = field(default=float("nan"), compare=False)

    @property
    def d(self) -> int:
        return int(self.values.shape[0])

    @property
    def V(self) -> int:
        return int(self.vectors.shape[0])


def _fix_signs(vecs: np.ndarray) -> np.ndarray:
    idx = np.argmax(np.abs(vecs), axis=0)
    sgn = np.sign(vecs[idx, np.arange(vecs.shape[1])])
    sgn[sgn == 0] = 1.0
    return vecs * sgn


def _dense(M, d, driver):
    V = M.shape[0]
    w, v = scipy.linalg.eigh(
        M, subset_by_index=[V - d, V - 1], driver=driver, overwrite_a=False, check_finite=False
    )
    return w[::-1], v[:, ::-1]


def _arpack(M, d, seed):
    V = M.shape[0]
    v0 = np.random.default_rng(seed).standard_normal(V)
    w, v = scipy.sparse.linalg.eigsh(M, k=d, which="LA", v0=v0, tol=1e-10)
    order = np.argsort(w)[::-1]
    return w[order], v[:, order]


def _lobpcg(M, d, seed, tol=1e-6, maxiter=400):
    V = M.shape[0]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((V, d + max(10, d // 5)))
    Mw = M.astype(np.float32) if M.dtype == np.float64 else M
    op = scipy.sparse.linalg.LinearOperator(
        (V, V), matvec=lambda x: Mw @ x.astype(np.float32), matmat=lambda X: (Mw @ X.astype(np.float32)).astype(np.float64),
        dtype=np.float64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, v = scipy.sparse.linalg.lobpcg(op, X, largest=True, tol=tol, maxiter=maxiter)
    return _rayleigh_ritz64(M, v, d)


def _rayleigh_ritz64(M, X, d):
    """Final float64 Rayleigh-Ritz of ``M`` on span(X); top ``d`` Ritz pairs."""
    Q = _orthonormalize(np.asarray(X, dtype=np.float64), np.float64)
    M64 = M if M.dtype == np.float64 else M.astype(np.float64)
    H = Q.T @ (M64 @ Q)
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


def _chebyshev(
    M,
    d,
    seed,
    *,
    guard=None,
    degree=6,
    tol=1e-4,
    maxiter=40,
    deflate=True,
    lanczos_steps=30,
    dtype=np.float32,
    verbose=False,
):
    """Chebyshev-filtered subspace iteration (Zhou & Saad 2007) for the top ``d``.

    1. ``lanczos_steps`` Lanczos steps bound the spectrum. Converged bottom Ritz
       pairs below ``-2 lambda_max`` (``M*``'s one huge negative eigenvalue, about
       -13,000 at V = 10,000) are *deflated*: the iteration runs on
       ``P M P``, ``P = I - U U^T``. This shrinks the unwanted interval from
       ``[lambda_min, b]`` to about ``[-560, b]`` and speeds convergence about 4x.
    2. A block of ``k = d + guard`` vectors is multiplied by ``p(PMP)``, the
       degree-``degree`` Chebyshev polynomial bounded by 1 on the unwanted interval
       ``[a, b]`` (``b``: the block's smallest Ritz value) and growing fast above it,
       then orthonormalized and Rayleigh-Ritz'ed. Converged leading Ritz pairs are
       locked (no longer filtered). Every product is a BLAS-3 ``gemm`` in ``dtype``
       (float32 by default: about 3x the float64 flop rate here).
    3. Stop when every top-``d`` Ritz pair has ``||r_j||^2 <= (tol/4) |theta_1| (theta_j - b)``
       (the residual bound ``||r||^2 / gap`` on the eigenvalue error, with the gap
       estimated by ``theta_j - b`` and a safety factor 4 because that estimate is
       optimistic when a dense bulk sits right below ``lambda_d``); a final
       Rayleigh-Ritz in float64 against the original ``M`` gives the result.
    """
    V = M.shape[0]
    rng = np.random.default_rng(seed)
    if guard is None:
        guard = max(20, d // 2)
    k = min(V - 1, d + guard)
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

    def op(X):
        if q:
            X = X - U @ (U.T @ X)
            Y = Mw @ X
            return Y - U @ (U.T @ Y)
        return Mw @ X

    X = rng.standard_normal((V, k)).astype(dtype)
    if q:
        X -= U @ (U.T @ X)
    X = _orthonormalize(X, dtype)
    Y = op(X)
    L = np.zeros((V, 0), dtype=dtype)  # locked Ritz vectors
    Lth = np.zeros(0)
    tol_abs = tol * abs(top)
    for it in range(maxiter):
        H = X.T.astype(np.float64) @ Y.astype(np.float64)
        th, Z = np.linalg.eigh(0.5 * (H + H.T))
        th, Z = th[::-1], Z[:, ::-1]
        Zw = Z.astype(dtype)
        X = X @ Zw
        Y = Y @ Zw
        b = float(th[-1])
        R = np.linalg.norm((Y - X * th.astype(dtype)[None, :]).astype(np.float64), axis=0)
        need = d - L.shape[1]
        ok = R[:need] ** 2 <= 0.25 * tol_abs * np.maximum(th[:need] - b, 0.0)
        if verbose:
            print(f"it {it}: locked {L.shape[1]} ok {ok.sum()}/{need} theta_need {th[need-1]:.4f} b {b:.3f} maxR {R[:need].max():.3g}")
        if ok.all():
            break
        nlock = int(np.argmin(ok)) if not ok.all() else need
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
        for _ in range(2, degree + 1):
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
    return _rayleigh_ritz64(M, np.hstack([L, X[:, : d - L.shape[1] + min(guard, 10)]]), d)


def top_eigenpairs(M, d: int, *, method: str = "auto", seed: int = 0, **options) -> Eigenpairs:
    """Top-``d`` eigenpairs of a symmetric matrix by *algebraic* value (eq. 7).

    ``M*`` is indefinite with large negative eigenvalues (DESIGN.md: about -13,000
    against lambda_1 ~ 2,200 at V = 10,000), so a largest-*magnitude* solver
    (randomized SVD, plain subspace iteration, ``eigsh(which="LM")``) returns the
    wrong subspace. Every method here targets the largest algebraic values.

    Methods (timings in ``bench/bench_eigensolver.py``):

    * ``"dense"``: ``scipy.linalg.eigh(M, subset_by_index=[V-d, V-1], driver="evr")``;
      exact; O(V^3), about a minute and a half at V = 10,000 on 2 cores.
    * ``"dense-evx"``: the same with LAPACK's ``syevx`` driver.
    * ``"arpack"``: ``scipy.sparse.linalg.eigsh(M, k=d, which="LA")``; one
      matrix-vector product at a time, memory-bound.
    * ``"chebyshev"``: Chebyshev-filtered subspace iteration, float32 BLAS-3 products,
      float64 Rayleigh-Ritz at the end (options: ``guard``, ``degree``, ``tol``,
      ``maxiter``).
    * ``"lobpcg"``: ``scipy.sparse.linalg.lobpcg`` (float32 products, float64
      Rayleigh-Ritz at the end); for comparison only.
    * ``"auto"``: ``"dense"`` for ``V <= AUTO_DENSE_MAX_V``, else ``"chebyshev"``.

    Args:
        M: ``(V, V)`` real symmetric matrix (e.g. ``M*``, eq. 5).
        d: number of eigenpairs, ``1 <= d < V``.
        method: one of :data:`METHODS` or ``"auto"``.
        seed: seed of the random start of the iterative methods.
        **options: passed to the solver (``"chebyshev"`` only).

    Returns:
        :class:`Eigenpairs`, values in decreasing algebraic order.

    Raises:
        ValueError: bad ``M`` (non-square, non-symmetric, NaN/inf), bad ``d``
            (``d < 1`` or ``d >= V``), or unknown ``method``.

    Used in: book/02_qwem_matrix_factorization.md, book/04_stepwise.md, book/06_qwem_vs_word2vec.md.
    """
    M = validate_symmetric(M, "M")
    V = M.shape[0]
    d = _check_d(d, V)
    if method == "auto":
        method = "dense" if V <= AUTO_DENSE_MAX_V else "chebyshev"
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {('auto',) + METHODS}")
    if options and method != "chebyshev":
        raise ValueError(f"options {sorted(options)} apply to method='chebyshev' only")
    t0 = time.perf_counter()
    if method == "dense":
        w, v = _dense(M, d, "evr")
    elif method == "dense-evx":
        w, v = _dense(M, d, "evx")
    elif method == "arpack":
        w, v = _arpack(M, d, seed)
    elif method == "lobpcg":
        w, v = _lobpcg(M, d, seed)
    else:
        w, v = _chebyshev(M, d, seed, **options)
    secs = time.perf_counter() - t0
    fro2 = float(np.vdot(M, M)) if M.flags.c_contiguous or M.flags.f_contiguous else float((M * M).sum())
    w = np.asarray(w, dtype=np.float64)
    v = _fix_signs(np.asarray(v, dtype=np.float64))
    return Eigenpairs(values=w, vectors=v, method=method, frobenius_sq=fro2, seconds=secs)


# --------------------------------------------------------------------------- closed forms


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

    Used in: book/02_qwem_matrix_factorization.md, book/06_qwem_vs_word2vec.md.
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


# --------------------------------------------------------------------------- dynamics


def _phi(lam: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(1 - e^{-lam t}) / lam``, with the limit ``t`` at ``lam = 0``; shapes broadcast."""
    lt = lam * t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = -np.expm1(-lt) / lam
    return np.where(lam == 0, t * np.ones_like(lt), out)


@dataclass(frozen=True)
class ClosedFormDynamics:
    """Closed-form singular-value dynamics of QWEM gradient flow (eq. 10-13).

    Built once from top-``d`` eigenpairs and initial singular values ``s(0)``; every
    method then costs O(len(t) * d) (``W(t)``: O(len(t) * V * d)), so sliders are
    cheap. Time convention: ``dW/dt = (1/2)(M* - W W^T) W`` (module docstring).

    Attributes:
        values: ``(d,)`` eigenvalues ``lambda_k``, decreasing.
        vectors: ``(V, d)`` eigenvectors ``V*_[:, :d]``.
        s0: ``(d,)`` initial singular values ``s_k(0) > 0``, paired with ``lambda_k``.
        frobenius_sq: ``||M*||_F^2`` (makes :meth:`loss` exact); ``None``: loss up to
            the constant ``||M*||_F^2 - sum_k lambda_k^2``.
    """

    values: np.ndarray
    vectors: np.ndarray
    s0: np.ndarray
    frobenius_sq: float | None = None

    # ----------------------------------------------------------------- factories
    @classmethod
    def aligned(cls, eig: Eigenpairs, s0) -> "ClosedFormDynamics":
        """Aligned initialization ``W(0) = V*_[:, :d] diag(s0)`` (the Lemma, eq. 10-12).

        Args:
            eig: top-``d`` eigenpairs.
            s0: scalar or ``(d,)`` initial singular values, all ``> 0``.
        """
        s0 = np.broadcast_to(np.asarray(s0, dtype=np.float64), (eig.d,)).copy()
        if not np.isfinite(s0).all() or (s0 <= 0).any():
            raise ValueError(f"s0 must be finite and > 0; got min {s0.min():.3g}")
        return cls(np.asarray(eig.values, float), eig.vectors, s0, eig.frobenius_sq)

    @classmethod
    def from_random_init(
        cls, eig: Eigenpairs, sigma: float, V: int | None = None, seed: int = 0, *, s0: str = "svd"
    ) -> "ClosedFormDynamics":
        """Vanishing random initialization ``W_ij(0) ~ N(0, sigma^2)`` (the Result, eq. 13).

        The paper's prediction is the aligned trajectory started from
        ``W*(0) = V*_[:, :d] S(0)``. ``s0`` says what ``S(0)`` is:

        * ``"svd"`` (default, the paper's statement of eq. 13): the singular values
          of the actual ``W(0) = flow.random_init(V, d, sigma, seed)``, largest paired
          with ``lambda_1``.
        * ``"projected"``: ``|R_kk|`` of the QR factorization of ``(V*_d^T W(0))^T``,
          i.e. the part of ``W(0)`` along ``v_k`` orthogonal (in embedding space) to
          the modes learned before it; this is the effective initial size of mode
          ``k`` in the paper's QR derivation (Appendix C) and matches gradient flow
          at finite ``sigma`` much better (the ``"svd"`` choice starts each mode at
          ``~sigma sqrt(V)`` instead of ``~sigma sqrt(d)``, a time shift of
          ``ln(V/d)/lambda_k`` that only vanishes in rescaled time ``t / tau_1``).
        * ``"expected"``: ``sigma * sqrt(V)`` for every mode (no sample needed).

        Args:
            eig: top-``d`` eigenpairs.
            sigma: initialization scale, ``> 0``.
            V: vocabulary size (default and must equal ``eig.V``).
            seed: seed of ``flow.random_init`` (same seed -> same ``W(0)``).
            s0: ``"svd"``, ``"projected"`` or ``"expected"``.
        """
        if not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"sigma must be finite and > 0; got {sigma!r}")
        Vn = eig.V
        if V is not None and int(V) != Vn:
            raise ValueError(f"V = {V} does not match the eigenvectors' V = {Vn}")
        if s0 == "expected":
            s = np.full(eig.d, sigma * np.sqrt(Vn))
        elif s0 in ("svd", "projected"):
            from .flow import random_init

            W0 = random_init(Vn, eig.d, sigma, seed)
            if s0 == "svd":
                s = np.linalg.svd(W0, compute_uv=False)
            else:
                A = eig.vectors.T @ W0  # (d, d): row k = v_k^T W0
                s = np.abs(np.diag(np.linalg.qr(A.T, mode="r")))
        else:
            raise ValueError(f"s0 must be 'svd', 'projected' or 'expected'; got {s0!r}")
        return cls.aligned(eig, s)

    @classmethod
    def from_initial(cls, eig: Eigenpairs, W0, *, s0: str = "projected") -> "ClosedFormDynamics":
        """The prediction for a run that started from the given ``W0`` (shape ``(V, d)``).

        Like :meth:`from_random_init`, but with the actual initial embeddings of a
        run (for example an SGD run of :mod:`qwemlib.train`), so theory and
        experiment share ``S(0)``: ``"projected"`` uses ``|R_kk|`` of the QR
        factorization of ``(V*_d^T W0)^T``, ``"svd"`` the singular values of ``W0``.

        Used in: ``qwem train`` (:mod:`qwemlib.cli`), book/05_training.md.
        """
        W0 = np.asarray(W0, dtype=float)
        if W0.ndim != 2 or W0.shape[0] != eig.V:
            raise ValueError(f"W0 must have shape (V={eig.V}, d); got {W0.shape}")
        if W0.shape[1] < eig.d:
            raise ValueError(f"W0 has {W0.shape[1]} columns but the eigenpairs have d={eig.d}")
        W0 = W0[:, : eig.d] if W0.shape[1] > eig.d else W0
        if s0 == "svd":
            s = np.linalg.svd(W0, compute_uv=False)
        elif s0 == "projected":
            A = eig.vectors.T @ W0
            s = np.abs(np.diag(np.linalg.qr(A.T, mode="r")))
        else:
            raise ValueError(f"s0 must be 'projected' or 'svd'; got {s0!r}")
        return cls.aligned(eig, s)

    @classmethod
    def from_matrix(cls, M, d: int, *, s0=None, sigma=None, seed: int = 0, init: str = "svd", **kw):
        """Eigendecompose ``M`` once and build the dynamics: aligned (``s0``) or random (``sigma``)."""
        if (s0 is None) == (sigma is None):
            raise ValueError("give exactly one of s0 (aligned init) or sigma (random init)")
        eig = top_eigenpairs(M, d, **kw)
        if s0 is not None:
            return cls.aligned(eig, s0)
        return cls.from_random_init(eig, sigma, seed=seed, s0=init)

    # ----------------------------------------------------------------- evaluation
    @property
    def d(self) -> int:
        return int(self.values.shape[0])

    @staticmethod
    def _times(t) -> tuple[np.ndarray, bool]:
        t = np.asarray(t, dtype=np.float64)
        scalar = t.ndim == 0
        t = np.atleast_1d(t)
        if t.ndim != 1:
            raise ValueError(f"t must be a scalar or 1-D array; got shape {t.shape}")
        if not np.isfinite(t).all() or (t < 0).any():
            raise ValueError("t must be finite and >= 0")
        return t, scalar

    def s2(self, t) -> np.ndarray:
        """Squared singular values ``u_k(t) = s_k(t)^2`` (eq. 11); shape ``(len(t), d)``."""
        t, scalar = self._times(t)
        lam = self.values[None, :]
        u0 = (self.s0 ** 2)[None, :]
        tt = t[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            den = np.exp(-lam * tt) + u0 * _phi(lam, tt)
            u = u0 / den
        u = np.where(np.isfinite(den), u, 0.0)
        return u[0] if scalar else u

    def s(self, t) -> np.ndarray:
        """Singular values ``s_k(t)`` (eq. 11); shape ``(len(t), d)`` (``(d,)`` for scalar t)."""
        return np.sqrt(self.s2(t))

    def W(self, t) -> np.ndarray:
        """Embeddings ``W*(t) = V*_[:, :d] S(t)`` (eq. 10-12); ``(V, d)`` or ``(len(t), V, d)``."""
        s = self.s(t)
        if s.ndim == 1:
            return self.vectors * s[None, :]
        return self.vectors[None, :, :] * s[:, None, :]

    def loss(self, t) -> np.ndarray:
        """``(1/4)||W(t) W(t)^T - M*||_F^2`` along the aligned trajectory.

        Equals ``(1/4)[sum_k (s_k^2 - lambda_k)^2 + ||M*||_F^2 - sum_k lambda_k^2]``;
        exact when ``frobenius_sq`` is known, else without the constant term.
        """
        u = self.s2(t)
        const = 0.0 if self.frobenius_sq is None else self.frobenius_sq - float(np.sum(self.values ** 2))
        return 0.25 * (np.sum((u - self.values) ** 2, axis=-1) + const)

    @property
    def tau(self) -> np.ndarray:
        """``tau_k = ln(lambda_k / s_k(0)^2) / lambda_k`` (section 3.2); ``inf`` if ``lambda_k <= 0``."""
        lam = self.values
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(lam / self.s0 ** 2) / lam
        return np.where(lam > 0, out, np.inf)

    def effective_rank(self, t, *, kind: str = "half") -> np.ndarray:
        """Effective rank of ``W(t)``.

        * ``"half"`` (default): the number of modes past half their final value,
          ``#{k : lambda_k > 0 and s_k(t)^2 >= lambda_k / 2}``; mode ``k`` crosses at
          ``~tau_k``, so this counts learned modes (an integer staircase).
        * ``"entropy"``: ``exp(H(p))`` with ``p_k = s_k(t) / sum_j s_j(t)`` (Roy and
          Vetterli 2007): smooth, between 1 and ``d``.
        """
        u = self.s2(t)
        if kind == "half":
            return np.sum((self.values > 0) & (u >= self.values / 2), axis=-1)
        if kind == "entropy":
            s = np.sqrt(u)
            p = s / np.sum(s, axis=-1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)
            return np.exp(h)
        raise ValueError(f"kind must be 'half' or 'entropy'; got {kind!r}")


# --------------------------------------------------------------------------- comparisons


def _orth(A: np.ndarray, name: str) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D (V, k); got shape {A.shape}")
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        raise ValueError(f"{name} has rank 0: its column space is empty")
    r = int(np.sum(s > s[0] * max(A.shape) * np.finfo(float).eps))
    return U[:, :r]


def subspace_overlap(A, B) -> float:
    """Mean squared cosine of the principal angles between the column spaces of A and B.

    ``||Q_A^T Q_B||_F^2 / min(rank A, rank B)``: 1 when one space contains the other,
    0 when they are orthogonal; invariant under REquiv (eq. 4).

    Used in: book/04_stepwise.md, book/06_qwem_vs_word2vec.md.
    """
    Qa, Qb = _orth(A, "A"), _orth(B, "B")
    if Qa.shape[0] != Qb.shape[0]:
        raise ValueError(f"A and B must have the same number of rows; got {Qa.shape[0]} and {Qb.shape[0]}")
    c = np.linalg.svd(Qa.T @ Qb, compute_uv=False)
    return float(np.clip(np.sum(c ** 2) / min(Qa.shape[1], Qb.shape[1]), 0.0, 1.0))


def align_rotation(W, W_ref) -> np.ndarray:
    """Orthogonal ``U`` (d x d) minimizing ``||W U - W_ref||_F`` (Procrustes over REquiv, eq. 4).

    ``U = P Q^T`` from the SVD ``W^T W_ref = P Sigma Q^T``; ``W @ U`` is the member of
    ``REquiv(W)`` closest to ``W_ref``.
    """
    W = np.asarray(W, dtype=np.float64)
    W_ref = np.asarray(W_ref, dtype=np.float64)
    if W.shape != W_ref.shape or W.ndim != 2:
        raise ValueError(f"W and W_ref must have the same (V, d) shape; got {W.shape} and {W_ref.shape}")
    P, _, Qt = np.linalg.svd(W.T @ W_ref)
    return P @ Qt


def requiv_distance(W, W_ref, *, relative: bool = False) -> float:
    """``min_U ||W U - W_ref||_F`` over orthogonal ``U`` (the distance in eq. 13).

    With ``relative=True``, divided by ``||W_ref||_F``.
    """
    U = align_rotation(W, W_ref)
    dist = float(np.linalg.norm(np.asarray(W) @ U - W_ref))
    return dist / float(np.linalg.norm(W_ref)) if relative else dist


# --------------------------------------------------------------------------- rise times


def first_crossing(t, y, level, *, interpolate: bool = True):
    """First time a recorded curve ``y(t)`` reaches ``level``.

    The one definition of the "half-rise" time used across the book (chapters 4, 5,
    7 and the intro): ``y`` may carry trailing axes (one curve per column) and
    ``level`` broadcasts against ``y[0]``.

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
