"""Closed-form training dynamics (eq. 10-13) and the random start they predict (private)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import validate_int, validate_matrix
from ..eigen import Eigenpairs

__all__ = ["ClosedFormDynamics", "random_init"]


def random_init(V: int, d: int, sigma: float, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """Random initial embeddings ``W_ij(0) ~ N(0, sigma^2)`` (the Result, eq. 13).

    ``np.random.default_rng(seed).standard_normal((V, d)) * sigma``; the same
    ``(V, d, sigma, seed)`` gives the same matrix in
    :meth:`ClosedFormDynamics.from_random_init` and in a gradient-flow run.

    Used in: book/intro.md, book/04_stepwise.md, book/07_linear_structure.md,
    :mod:`qwemlib.flow`, :class:`qwemlib.widgets.FlowExplorer`.
    """
    V, d = validate_int(V, "V"), validate_int(d, "d")
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be finite and >= 0; got {sigma!r}")
    W = np.random.default_rng(seed).standard_normal((int(V), int(d)))
    return (W * sigma).astype(dtype, copy=False)


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
    cheap. Time convention: ``dW/dt = (1/2)(M* - W W^T) W`` (:mod:`qwemlib.theory`'s docstring).

    Attributes:
        values: ``(d,)`` eigenvalues ``lambda_k``, decreasing.
        vectors: ``(V, d)`` eigenvectors ``V*_[:, :d]``.
        s0: ``(d,)`` initial singular values ``s_k(0) > 0``, paired with ``lambda_k``.
        frobenius_sq: ``||M*||_F^2`` (makes :meth:`loss` exact); ``None``: loss up to
            the constant ``||M*||_F^2 - sum_k lambda_k^2``.

    Used in: book/intro.md, book/03_aligned_dynamics.md to book/07_linear_structure.md,
    :mod:`qwemlib.flow`, :mod:`qwemlib.experiments`, ``qwem train``.
    """

    values: np.ndarray
    vectors: np.ndarray
    s0: np.ndarray
    frobenius_sq: float | None = None

    # ----------------------------------------------------------------- factories
    @classmethod
    def aligned(cls, eig: Eigenpairs, s0) -> ClosedFormDynamics:
        """Aligned initialization ``W(0) = V*_[:, :d] diag(s0)`` (the Lemma, eq. 10-12).

        Args:
            eig: top-``d`` eigenpairs.
            s0: scalar or ``(d,)`` initial singular values, all ``> 0``.
        """
        s0 = np.asarray(s0, dtype=np.float64)
        if s0.shape not in ((), (eig.d,)):
            raise ValueError(f"s0 must be a scalar or have shape (d,) = ({eig.d},); got shape {s0.shape}")
        s0 = np.broadcast_to(s0, (eig.d,)).copy()
        if not np.isfinite(s0).all() or (s0 <= 0).any():
            raise ValueError(f"s0 must be finite and > 0; got min {s0.min():.3g}")
        return cls(np.asarray(eig.values, float), eig.vectors, s0, eig.frobenius_sq)

    @classmethod
    def from_random_init(
        cls, eig: Eigenpairs, sigma: float, V: int | None = None, seed: int = 0, *, start: str = "svd"
    ) -> ClosedFormDynamics:
        """Vanishing random initialization ``W_ij(0) ~ N(0, sigma^2)`` (the Result, eq. 13).

        The paper's prediction is the aligned trajectory started from
        ``W*(0) = V*_[:, :d] S(0)``. ``start`` says how ``S(0)`` is obtained:

        * ``"svd"`` (default, the paper's statement of eq. 13): the singular values
          of the actual ``W(0) = random_init(V, d, sigma, seed)``, largest paired
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
            seed: seed of :func:`random_init` (same seed -> same ``W(0)``).
            start: ``"svd"``, ``"projected"`` or ``"expected"``.

        Used in: book/intro.md, book/04_stepwise.md, book/07_linear_structure.md.
        """
        if not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"sigma must be finite and > 0; got {sigma!r}")
        if V is not None and int(V) != eig.V:
            raise ValueError(f"V = {V} does not match the eigenvectors' V = {eig.V}")
        if start == "expected":
            return cls.aligned(eig, np.full(eig.d, sigma * np.sqrt(eig.V)))
        if start not in ("svd", "projected"):
            raise ValueError(f"start must be 'svd', 'projected' or 'expected'; got {start!r}")
        return cls.from_initial(eig, random_init(eig.V, eig.d, sigma, seed), start=start)

    @classmethod
    def from_initial(cls, eig: Eigenpairs, W0, *, start: str = "projected") -> ClosedFormDynamics:
        """The prediction for a run that started from the given ``W0`` (shape ``(V, d)``).

        Like :meth:`from_random_init`, but with the actual initial embeddings of a
        run (for example an SGD run of :mod:`qwemlib.train`), so theory and
        experiment share ``S(0)``: ``start="projected"`` uses ``|R_kk|`` of the QR
        factorization of ``(V*_d^T W0)^T``, ``"svd"`` the singular values of ``W0``.

        Used in: ``qwem train`` (:mod:`qwemlib.cli`), book/05_training.md,
        ``qwemlib.experiments._linear_sgd``, ``qwemlib.experiments._training`` (tools/make_results.py).
        """
        W0 = validate_matrix(np.asarray(W0, dtype=float), "W0", rows=eig.V, what="(V, d)")
        if W0.shape[1] < eig.d:
            raise ValueError(f"W0 has {W0.shape[1]} columns but the eigenpairs have d={eig.d}")
        W0 = W0[:, : eig.d] if W0.shape[1] > eig.d else W0
        if start == "svd":
            s = np.linalg.svd(W0, compute_uv=False)
        elif start == "projected":
            A = eig.vectors.T @ W0  # (d, d): row k = v_k^T W0
            s = np.abs(np.diag(np.linalg.qr(A.T, mode="r")))
        else:
            raise ValueError(f"start must be 'projected' or 'svd'; got {start!r}")
        return cls.aligned(eig, s)

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
