"""Full-batch gradient flow of QWEM on a target matrix (the ODE behind eq. 10-13).

Gradient flow ``dW/dt = -(1/2g) grad L = (1/2)(M - W W^T) W`` (the paper's Lemma; the
same time convention as :mod:`qwemlib.theory`). Two integrators:

* ``method="riccati"`` (default): exact-in-``W W^T`` exponential integrator in the
  eigenbasis of ``M``. The product ``X = W W^T`` obeys the matrix Riccati equation
  ``dX/dt = (MX + XM)/2 - X^2``, whose solution from any ``W_0`` is

      X(t) = e^{Mt/2} W_0 N(t)^{-1} W_0^T e^{Mt/2},   N(t) = I + W_0^T K(t) W_0,
      K(t) = int_0^t e^{Ms} ds = Q diag((e^{lambda t} - 1)/lambda) Q^T.

  So ``W(t) = e^{Mt/2} W_0 N(t)^{-1/2} R(t)`` with ``R(t)`` orthogonal (d x d). Each
  step applies this formula from the previous state (``lambda_max h <= 4``, to keep
  the dynamic range small), which makes ``W W^T`` -- hence the loss, the singular
  values and the column space -- exact up to rounding at every step, whatever the
  step size; the large negative eigenvalues of ``M*`` cause no stiffness. Only the
  rotation ``R(t)`` (invisible to the loss and to REquiv comparisons, eq. 4) is
  integrated numerically: classical RK4 on the ``d x d`` equation
  ``dB/ds = -(1/2) B B^T G(s) B``, ``G(s) = W_n^T e^{Ms} W_n`` (``W = e^{Ms/2} W_n B``),
  followed by the polar projection ``B -> N^{-1/2} polar(N^{1/2} B)``; its error is
  ``O(h^4)`` per unit time (``rtol`` sets the substep). Cost: one full ``eigh`` of
  ``M`` (cached, so a slider moving ``sigma``, ``d``, or the times reuses it), then
  ``O(V d^2)`` per step and ``O(V^2 d)`` per output snapshot.
* ``method="RK45" | "DOP853" | "LSODA" | ...``: :func:`scipy.integrate.solve_ivp` on the
  flattened ``W`` in the original basis (``O(V^2 d)`` per right-hand side; explicit
  methods are stiff-limited by ``|lambda_min|``); the reference for tests.

Used in: book/03_aligned_dynamics.md, book/04_stepwise.md, book/05_training.md.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.integrate

from .theory import validate_symmetric

__all__ = ["FlowResult", "Spectrum", "full_spectrum", "gradient_flow", "random_init", "loss"]


def random_init(V: int, d: int, sigma: float, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """Random initial embeddings ``W_ij(0) ~ N(0, sigma^2)`` (the Result, eq. 13).

    ``np.random.default_rng(seed).standard_normal((V, d)) * sigma``; the same
    ``(V, d, sigma, seed)`` gives the same matrix in
    :meth:`qwemlib.theory.ClosedFormDynamics.from_random_init`.
    """
    if int(V) < 1 or int(d) < 1:
        raise ValueError(f"V and d must be >= 1; got V = {V}, d = {d}")
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be finite and >= 0; got {sigma!r}")
    W = np.random.default_rng(seed).standard_normal((int(V), int(d)))
    return (W * sigma).astype(dtype, copy=False)


def loss(M, W) -> float:
    """``(1/4)||W W^T - M||_F^2`` (eq. 6 with g = 1, without the constant)."""
    M = np.asarray(M, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    C = W.T @ W
    return 0.25 * float(np.vdot(M, M) - 2.0 * np.vdot(W, M @ W) + np.vdot(C, C))


@dataclass(frozen=True)
class FlowResult:
    """Snapshots of a gradient-flow trajectory.

    Attributes:
        times: ``(T,)`` output times.
        W: ``(T, V, d)`` embeddings at those times.
        loss: ``(T,)`` exact ``(1/4)||W W^T - M||_F^2``.
        method: integrator used.
        nsteps: number of integrator steps (``riccati``) or right-hand sides (solve_ivp).
    """

    times: np.ndarray
    W: np.ndarray
    loss: np.ndarray
    method: str
    nsteps: int

    def singular_values(self) -> np.ndarray:
        """``(T, d)`` singular values of each snapshot, decreasing."""
        return np.linalg.svd(self.W, compute_uv=False)


@dataclass(frozen=True)
class Spectrum:
    """Full eigendecomposition ``M = Q diag(values) Q^T`` (ascending ``values``)."""

    values: np.ndarray
    vectors: np.ndarray
    frobenius_sq: float


_CACHE: "OrderedDict[tuple, Spectrum]" = OrderedDict()
_CACHE_SIZE = 2


def full_spectrum(M, *, cache: bool = True) -> Spectrum:
    """Full ``eigh`` of symmetric ``M``, cached by a hash of its bytes (2 entries).

    The hash (blake2b over the whole array) costs about 1/50 of the ``eigh``, so a
    matrix changed in place is recomputed, not served stale.
    """
    M = validate_symmetric(M, "M")
    M = np.ascontiguousarray(M, dtype=np.float64)
    key = None
    if cache:
        key = (M.shape, hashlib.blake2b(M.data, digest_size=16).hexdigest())
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    w, Q = np.linalg.eigh(M)
    spec = Spectrum(values=w, vectors=Q, frobenius_sq=float(np.vdot(M, M)))
    if cache:
        _CACHE[key] = spec
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return spec


def _check_times(times) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array; got shape {times.shape}")
    if not np.isfinite(times).all() or (times < 0).any():
        raise ValueError("times must be finite and >= 0")
    if (np.diff(times) < 0).any():
        raise ValueError("times must be sorted in increasing order (np.sort them)")
    return times


def _sym_pow(N: np.ndarray, p: float) -> np.ndarray:
    w, U = np.linalg.eigh(0.5 * (N + N.T))
    return (U * w[None, :] ** p) @ U.T


def _riccati_step(lam, A, h, nsub):
    """Advance the eigenbasis state ``A = Q^T W`` by ``h`` (see module docstring)."""
    d = A.shape[1]
    I = np.eye(d)
    lh = lam * h
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        phi = np.where(lh == 0, h, np.expm1(lh) / np.where(lam == 0, 1.0, lam))
    N = I + A.T @ (phi[:, None] * A)
    N = 0.5 * (N + N.T)
    wN, UN = np.linalg.eigh(N)
    wN = np.maximum(wN, 1.0)  # N >= I exactly; guard rounding
    N_mhalf = (UN / np.sqrt(wN)[None, :]) @ UN.T
    N_half = (UN * np.sqrt(wN)[None, :]) @ UN.T
    # rotation: RK4 on dB/ds = -(1/2) B B^T G(s) B, G(s) = A^T diag(e^{lam s}) A
    if nsub > 0:
        ds = h / nsub
        s_nodes = np.arange(2 * nsub + 1) * (ds / 2)  # every half substep
        AA = (A[:, :, None] * A[:, None, :]).reshape(A.shape[0], d * d)
        with np.errstate(under="ignore"):
            E = np.exp(lam[:, None] * s_nodes[None, :])
        Gall = (AA.T @ E).T.reshape(-1, d, d)  # G(s) = A^T diag(e^{lam s}) A at every node

        def f(B, Gx):
            return -0.5 * B @ (B.T @ Gx @ B)

        B = I.copy()
        for j in range(nsub):
            Gs, Gm, Ge = Gall[2 * j], Gall[2 * j + 1], Gall[2 * j + 2]
            k1 = f(B, Gs)
            k2 = f(B + 0.5 * ds * k1, Gm)
            k3 = f(B + 0.5 * ds * k2, Gm)
            k4 = f(B + ds * k3, Ge)
            B = B + (ds / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        P, _, Vt = np.linalg.svd(N_half @ B)
        R = P @ Vt
    else:
        R = I
    return (np.exp(lh / 2)[:, None] * A) @ (N_mhalf @ R)


def gradient_flow(
    M,
    W0,
    times,
    *,
    method: str = "riccati",
    rtol: float = 1e-6,
    atol: float | None = None,
    spectrum: Spectrum | None = None,
    max_lambda_step: float = 4.0,
) -> FlowResult:
    """Integrate ``dW/dt = (1/2)(M - W W^T) W`` from ``W0`` and return snapshots.

    Args:
        M: ``(V, V)`` symmetric target (``M*``).
        W0: ``(V, d)`` initial embeddings (e.g. :func:`random_init`).
        times: increasing output times ``>= 0`` (log-spaced times suit small inits:
            mode ``k`` turns on near ``tau_k = ln(lambda_k / s_k(0)^2) / lambda_k``).
        method: ``"riccati"`` (default; exact ``W W^T``, see module docstring) or a
            :func:`scipy.integrate.solve_ivp` method name (``"DOP853"``, ``"RK45"``, ...).
        rtol: ``riccati``: the rotation's RK4 substep is chosen so that
            ``(lambda_max ds)^4 / 120 <= rtol``; ``solve_ivp``: its ``rtol``.
        atol: ``solve_ivp``'s ``atol`` (default ``rtol * 1e-3 * max|W0|``-ish floor).
        spectrum: precomputed :func:`full_spectrum` of ``M`` (``riccati`` only).
        max_lambda_step: ``riccati`` step cap, ``lambda_max * h <= max_lambda_step``.

    Returns:
        :class:`FlowResult` with ``W`` of shape ``(len(times), V, d)``.

    Error: ``riccati``: ``W W^T`` exact to rounding (about ``1e-12`` relative);
    rotation error about ``rtol`` per unit of ``lambda_max t``. ``solve_ivp``:
    the solver's ``rtol``/``atol`` local error control.

    Used in: book/03_aligned_dynamics.md, book/04_stepwise.md.
    """
    W0 = np.asarray(W0, dtype=np.float64)
    times = _check_times(times)
    if method == "riccati":
        spec = spectrum if spectrum is not None else full_spectrum(M)
        V = spec.values.shape[0]
    else:
        M = validate_symmetric(M, "M")
        M = np.asarray(M, dtype=np.float64)
        V = M.shape[0]
    if W0.ndim != 2 or W0.shape[0] != V:
        raise ValueError(f"W0 must have shape (V, d) = ({V}, d); got {W0.shape}")
    if not np.isfinite(W0).all():
        raise ValueError("W0 has non-finite entries")
    T, d = times.size, W0.shape[1]
    out = np.empty((T, V, d))
    losses = np.empty(T)

    if method == "riccati":
        lam, Q = spec.values, spec.vectors
        lmax = max(float(np.max(np.abs(lam[lam > 0]))) if (lam > 0).any() else 0.0, 1e-300)
        hmax = max_lambda_step / lmax
        # RK4 substep for the rotation: (lmax*ds)^4/120 <= rtol
        ds_max = (120.0 * rtol) ** 0.25 / lmax
        A = Q.T @ W0
        t = 0.0
        nsteps = 0
        for i, ti in enumerate(times):
            while ti - t > 1e-15 * max(1.0, ti):
                h = min(hmax, ti - t)
                nsub = int(np.ceil(h / ds_max))
                A = _riccati_step(lam, A, h, nsub)
                t = ti if h == ti - t else t + h
                nsteps += 1
            out[i] = Q @ A
            C = A.T @ A
            losses[i] = 0.25 * (spec.frobenius_sq - 2.0 * float(np.sum(lam[:, None] * A * A)) + float(np.vdot(C, C)))
        return FlowResult(times=times, W=out, loss=losses, method=method, nsteps=nsteps)

    def rhs(_t, y):
        W = y.reshape(V, d)
        return (0.5 * (M @ W - W @ (W.T @ W))).ravel()

    if atol is None:
        atol = rtol * 1e-3 * max(float(np.abs(W0).max()), 1e-300)
    t_span = (0.0, float(times[-1]))
    if times[-1] == 0:
        sol_y = np.repeat(W0.ravel()[:, None], T, axis=1)
        nfev = 0
    else:
        sol = scipy.integrate.solve_ivp(
            rhs, t_span, W0.ravel(), method=method, t_eval=times, rtol=rtol, atol=atol
        )
        if not sol.success:
            raise RuntimeError(f"solve_ivp({method}) failed: {sol.message}")
        sol_y, nfev = sol.y, sol.nfev
    fro2 = float(np.vdot(M, M))
    for i in range(T):
        W = sol_y[:, i].reshape(V, d)
        out[i] = W
        C = W.T @ W
        losses[i] = 0.25 * (fro2 - 2.0 * float(np.vdot(W, M @ W)) + float(np.vdot(C, C)))
    return FlowResult(times=times, W=out, loss=losses, method=method, nsteps=int(nfev))
