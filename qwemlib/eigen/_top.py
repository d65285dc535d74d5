"""Top-``d`` eigenpairs by algebraic value: :class:`Eigenpairs` and its solvers (private).

``M*`` is indefinite (DESIGN.md: about -13,000 against lambda_1 ~ 2,200 at V = 10,000),
so everything here targets the largest *algebraic* eigenvalues (eq. 7).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from .._validate import validate_symmetric
from ._chebyshev import chebyshev, rayleigh_ritz64
from ._krylov import block_lanczos

__all__ = ["Eigenpairs", "METHODS", "AUTO_DENSE_MAX_V", "top_eigenpairs"]

#: Eigensolvers accepted by :func:`top_eigenpairs` (``"auto"`` picks one of them).
METHODS = ("dense", "dense-evx", "arpack", "lanczos", "chebyshev", "lobpcg")

#: Up to this size ``method="auto"`` uses dense ``eigh`` (exact; a few seconds at
#: V = 2,500 on 2 cores), above it block Lanczos (see ``bench/bench_eigensolver.py``;
#: the crossover was not measured precisely).
AUTO_DENSE_MAX_V = 2500


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
            :func:`top_eigenpairs` fixes each column's sign so that its largest-magnitude
            entry is positive (:meth:`Spectrum.top` keeps ``eigh``'s signs).
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
        (V, V), matvec=lambda x: Mw @ x.astype(np.float32),
        matmat=lambda X: (Mw @ X.astype(np.float32)).astype(np.float64), dtype=np.float64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, v = scipy.sparse.linalg.lobpcg(op, X, largest=True, tol=tol, maxiter=maxiter)
    return rayleigh_ritz64(M, v, d)



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
    * ``"lanczos"``: block Lanczos with full reorthogonalization, float32 BLAS-3
      products, stopped when the top ``d`` Ritz values no longer rise by more than
      ``tol / 2`` relative to ``lambda_1`` (options: ``block``, ``tol``, ``span``,
      ``max_dim``, ``first_check``, ``max_jump``, ``reorth``, ``refine``; see
      ``qwemlib.eigen._krylov.block_lanczos``). About 1,680 block-product columns at the
      local preset, against about 5,600 for ``"chebyshev"``.
    * ``"chebyshev"``: Chebyshev-filtered subspace iteration, float32 BLAS-3 products,
      float64 Rayleigh-Ritz at the end (options: ``guard``, ``degree``, ``tol``,
      ``maxiter``, ``cut``, ``safety``, ``rr32``, ``lanczos_steps``, ``start`` for a warm
      start; see ``qwemlib.eigen._chebyshev.chebyshev``). ``tol`` is the target of
      ``max_j |theta_j - lambda_j| / lambda_1`` (default ``1e-4``).
    * ``"lobpcg"``: ``scipy.sparse.linalg.lobpcg`` (float32 products, float64
      Rayleigh-Ritz at the end); for comparison only.
    * ``"auto"``: ``"dense"`` for ``V <= AUTO_DENSE_MAX_V``, else ``"lanczos"``.

    Args:
        M: ``(V, V)`` real symmetric matrix (e.g. ``M*``, eq. 5).
        d: number of eigenpairs, ``1 <= d < V``.
        method: one of :data:`METHODS` or ``"auto"``.
        seed: seed of the random start of the iterative methods.
        **options: passed to the solver (``"lanczos"`` and ``"chebyshev"`` only).

    Returns:
        :class:`Eigenpairs`, values in decreasing algebraic order.

    Raises:
        ValueError: bad ``M`` (non-square, non-symmetric, NaN/inf), bad ``d``
            (``d < 1`` or ``d >= V``), or unknown ``method``.

    Used in: book/02_qwem_matrix_factorization.md, book/03_aligned_dynamics.md,
    book/05_training.md, book/06_qwem_vs_word2vec.md (through
    ``qwemlib.experiments._closed_forms``), ``qwem train`` and
    ``qwemlib.experiments._closed_forms``, ``qwemlib.experiments._linear_sgd``,
    ``qwemlib.experiments._training`` (tools/make_results.py).
    """
    M = validate_symmetric(M, "M")
    V = M.shape[0]
    d = _check_d(d, V)
    if method == "auto":
        method = "dense" if V <= AUTO_DENSE_MAX_V else "lanczos"
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {('auto',) + METHODS}")
    if options and method not in ("lanczos", "chebyshev"):
        raise ValueError(f"options {sorted(options)} apply to method='lanczos' or "
                         f"method='chebyshev' only; got method={method!r}")
    t0 = time.perf_counter()
    if method == "dense":
        w, v = _dense(M, d, "evr")
    elif method == "dense-evx":
        w, v = _dense(M, d, "evx")
    elif method == "arpack":
        w, v = _arpack(M, d, seed)
    elif method == "lobpcg":
        w, v = _lobpcg(M, d, seed)
    elif method == "lanczos":
        w, v = block_lanczos(M, d, seed, **options)
    else:
        w, v = chebyshev(M, d, seed, **options)
    secs = time.perf_counter() - t0
    fro2 = float(np.vdot(M, M)) if M.flags.c_contiguous or M.flags.f_contiguous else float((M * M).sum())
    w = np.asarray(w, dtype=np.float64)
    v = _fix_signs(np.asarray(v, dtype=np.float64))
    return Eigenpairs(values=w, vectors=v, method=method, frobenius_sq=fro2, seconds=secs)
