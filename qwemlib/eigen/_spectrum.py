"""The full eigendecomposition of a symmetric matrix, largest eigenvalue first (private)."""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .._io import atomic_savez, try_load_npz
from .._validate import validate_symmetric
from ..data import cache_dir
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

#: From this size on a spectrum is also cached on disk, under
#: ``$QWEM_CACHE_DIR/spectrum/`` (``eigh`` takes minutes at V = 10,000 on 2 cores, and the
#: chapters run in separate kernels: at the local preset the intro and chapter 2 both need
#: the spectrum of the same M*; the file is 0.8 GB there and loads in seconds).
DISK_CACHE_MIN_V = 4000


def _disk_file(V: int, digest: str):
    return cache_dir() / "spectrum" / f"V{V}-{digest}.npz"


def _from_disk(V: int, digest: str) -> Spectrum | None:
    z = try_load_npz(_disk_file(V, digest), ["w", "Q", "frobenius_sq"], what="spectrum cache file")
    if z is None or z["w"].shape != (V,) or z["Q"].shape != (V, V):
        return None
    w, Q = z["w"], z["Q"]
    return Spectrum(values=w[::-1], vectors=Q[:, ::-1], frobenius_sq=float(z["frobenius_sq"]))


def _to_disk(V: int, digest: str, w, Q, fro2: float) -> None:
    path = _disk_file(V, digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_savez(path, w=w, Q=Q, frobenius_sq=np.float64(fro2))
    except OSError as exc:   # a cache only: the result is returned all the same
        warnings.warn(f"could not write the spectrum cache {path} ({exc}); the spectrum is not "
                      "cached on disk (free space there or point QWEM_CACHE_DIR elsewhere)",
                      RuntimeWarning, stacklevel=3)


def full_spectrum(M, *, cache: bool = True) -> Spectrum:
    """Full ``eigh`` of symmetric ``M`` as a descending :class:`Spectrum`, cached (2 entries).

    The cache key is a hash of ``M``'s bytes (blake2b over the whole array, about 1/50
    of the ``eigh``), so a matrix changed in place is recomputed, not served stale. From
    ``V = DISK_CACHE_MIN_V`` on, the result is also kept on disk under that key
    (``$QWEM_CACHE_DIR/spectrum/``, written atomically; a damaged file warns and is
    recomputed, an unwritable folder warns), so another process (the next chapter's
    kernel) gets the same ``eigh`` output, bit for bit, without solving again.

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
    disk = cache and M.shape[0] >= DISK_CACHE_MIN_V
    spec = _from_disk(M.shape[0], key[1]) if disk else None
    if spec is None:
        w, Q = np.linalg.eigh(M)
        spec = Spectrum(values=w[::-1], vectors=Q[:, ::-1], frobenius_sq=float(np.vdot(M, M)))
        if disk:
            _to_disk(M.shape[0], key[1], w, Q, spec.frobenius_sq)
    if cache:
        _CACHE[key] = spec
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return spec
