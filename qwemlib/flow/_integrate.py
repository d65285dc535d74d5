"""Gradient flow ``dW/dt = (1/2)(M - W W^T) W`` and its snapshots (private; see :mod:`qwemlib.flow`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.integrate

from .. import eigen
from .._validate import validate_symmetric
from ..theory import subspace_overlap

__all__ = ["FlowResult", "gradient_flow"]

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

    @cached_property
    def _gram(self) -> tuple[np.ndarray, np.ndarray]:
        w, R = np.linalg.eigh(np.einsum("tvi,tvj->tij", self.W, self.W))
        return np.sqrt(np.clip(w[:, ::-1], 0.0, None)), R[:, :, ::-1]

    def gram_svd(self) -> tuple[np.ndarray, np.ndarray]:
        """Singular values ``(T, d)`` (decreasing) and right singular vectors ``(T, d, d)``.

        From each snapshot's ``d x d`` Gram matrix ``W^T W`` (cheaper than
        :meth:`singular_values` when ``V >> d``); computed once and cached.

        Used in: book/04_stepwise.md.
        """
        return self._gram

    def top_directions(self, i: int, k: int) -> np.ndarray:
        """``(V, k)`` columns spanning the top-``k`` left singular vectors of ``W(t_i)``.

        ``W(t_i)`` times its top-``k`` right singular vectors (:meth:`gram_svd`).

        Used in: book/04_stepwise.md.
        """
        return self.W[i] @ self._gram[1][i][:, :k]

    def alignment(self, vectors, k: int) -> np.ndarray:
        """``(T,)`` overlap of the top-``k`` directions of each ``W(t)`` with ``vectors[:, :k]``.

        :func:`qwemlib.theory.subspace_overlap` of :meth:`top_directions` with the
        top-``k`` eigenvectors: it reaches 1 while ``W`` is still small in "silent
        alignment" (the first phase behind eq. 13).

        Used in: book/04_stepwise.md.
        """
        return np.array([subspace_overlap(self.top_directions(i, k), vectors[:, :k])
                         for i in range(len(self.times))])


def _check_times(times) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array; got shape {times.shape}")
    if not np.isfinite(times).all() or (times < 0).any():
        raise ValueError("times must be finite and >= 0")
    if (np.diff(times) < 0).any():
        raise ValueError("times must be sorted in increasing order (np.sort them)")
    return times


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
    spectrum: eigen.Spectrum | None = None,
    max_lambda_step: float = 4.0,
    rotation: bool = True,
) -> FlowResult:
    """Integrate ``dW/dt = (1/2)(M - W W^T) W`` from ``W0`` and return snapshots.

    Args:
        M: ``(V, V)`` symmetric target (``M*``).
        W0: ``(V, d)`` initial embeddings (e.g. :func:`qwemlib.theory.random_init`).
        times: increasing output times ``>= 0`` (log-spaced times suit small inits:
            mode ``k`` turns on near ``tau_k = ln(lambda_k / s_k(0)^2) / lambda_k``).
        method: ``"riccati"`` (default; exact ``W W^T``, see module docstring) or a
            :func:`scipy.integrate.solve_ivp` method name (``"DOP853"``, ``"RK45"``, ...).
        rtol: ``riccati``: the rotation's RK4 substep is chosen so that
            ``(lambda_max ds)^4 / 120 <= rtol``; ``solve_ivp``: its ``rtol``.
        atol: ``solve_ivp``'s ``atol`` (default ``rtol * 1e-3 * max|W0|``-ish floor).
        spectrum: precomputed :func:`qwemlib.eigen.full_spectrum` of ``M`` (``riccati`` only).
        max_lambda_step: ``riccati`` step cap, ``lambda_max * h <= max_lambda_step``.
        rotation: ``riccati`` only; ``False`` skips the rotation ``R(t)``: ``W W^T``, the loss,
            the singular values and the column space stay exact, ``W`` is off by a ``d x d``
            orthogonal factor, and a step costs ``O(V d^2)`` instead of building a ``(V, d^2)``
            table (3.2 GB at V = 10,000, d = 200; tools/flow_overlap.py).

    Returns:
        :class:`FlowResult` with ``W`` of shape ``(len(times), V, d)``.

    Error: ``riccati``: ``W W^T`` exact to rounding (about ``1e-12`` relative);
    rotation error about ``rtol`` per unit of ``lambda_max t``. ``solve_ivp``:
    the solver's ``rtol``/``atol`` local error control.

    Used in: book/intro.md, book/03_aligned_dynamics.md, book/04_stepwise.md,
    book/07_linear_structure.md.
    """
    W0 = np.asarray(W0, dtype=np.float64)
    times = _check_times(times)
    if method == "riccati":
        spec = spectrum if spectrum is not None else eigen.full_spectrum(M)
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
        # eigh's ascending order (the Spectrum is a reversed view of it): the sums below
        # run in the order the stored results were made with, bit for bit
        lam, Q = spec.values[::-1], spec.vectors[:, ::-1]
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
                nsub = int(np.ceil(h / ds_max)) if rotation else 0
                A = _riccati_step(lam, A, h, nsub)
                t = ti if h == ti - t else t + h
                nsteps += 1
            out[i] = Q @ A
            C = A.T @ A
            quad = float(np.sum(lam[:, None] * A * A))
            losses[i] = 0.25 * (spec.frobenius_sq - 2.0 * quad + float(np.vdot(C, C)))
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
