"""The full eigendecomposition of a symmetric matrix, largest eigenvalue first (private)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .._validate import validate_symmetric
from ._top import Eigenpairs

__all__ = ["Spectrum", "full_spectrum"]


@dataclass(frozen=True)
class Spectrum:
    """Full eigendecomposition ``M = Q diag(values) Q^T``, largest *algebraic* value first.

    The same order as :class:`Eigenpairs` (docs/CONVENTIONS.md): ``values[0]`` is
    ``lambda_1`` and ``vectors[:, k]`` its eigenvector. ``values`` and ``vectors`` are
    reversed *views* of ``numpy.linalg.eigh``'s ascending output (no ``V x V`` copy).

    Attributes:
        values: ``(V,)`` eigenvalues, decreasing.
        vectors: ``(V, V)`` orthonormal eigenvectors, column ``k`` for ``values[k]``.
        frobenius_sq: ``||M||_F^2``.
    """

    values: np.ndarray
    vectors: np.ndarray
    frobenius_sq: float

    @property
    def V(self) -> int:
        return int(self.values.shape[0])

    def top(self, d: int) -> Eigenpairs:
        """The top-``d`` :class:`Eigenpairs` (copies), with ``frobenius_sq``: no second solve.

        The one way to build :class:`Eigenpairs` from a spectrum (eq. 7's ``V*_d``,
        ``Lambda_d``). Signs are ``eigh``'s, not :func:`top_eigenpairs`'s convention.

        Used in: book/intro.md, book/02_qwem_matrix_factorization.md, book/04_stepwise.md,
        book/07_linear_structure.md, :class:`qwemlib.widgets.FlowExplorer`.

        Raises:
            ValueError: unless ``1 <= d < V``.
        """
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= int(d) < self.V:
            raise ValueError(f"d must be an integer with 1 <= d < V = {self.V}; got {d!r}")
        d = int(d)
        return Eigenpairs(values=self.values[:d].copy(), vectors=self.vectors[:, :d].copy(),
                          method="eigh (full_spectrum)", frobenius_sq=self.frobenius_sq)


_CACHE: OrderedDict[tuple, Spectrum] = OrderedDict()
_CACHE_SIZE = 2


def full_spectrum(M, *, cache: bool = True) -> Spectrum:
    """Full ``eigh`` of symmetric ``M`` as a descending :class:`Spectrum`, cached (2 entries).

    The cache key is a hash of ``M``'s bytes (blake2b over the whole array, about 1/50
    of the ``eigh``), so a matrix changed in place is recomputed, not served stale.

    Used in: book/intro.md, book/02_qwem_matrix_factorization.md, book/04_stepwise.md,
    book/07_linear_structure.md (through ``qwemlib.experiments._linear``),
    :func:`qwemlib.flow.gradient_flow` (its ``riccati``
    integrator), :class:`qwemlib.widgets.FlowExplorer`.
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
    spec = Spectrum(values=w[::-1], vectors=Q[:, ::-1], frobenius_sq=float(np.vdot(M, M)))
    if cache:
        _CACHE[key] = spec
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return spec
