"""Eigenpairs of symmetric matrices, largest *algebraic* eigenvalue first (eq. 7).

The paper's theory is a function of the top-``d`` eigenpairs of ``M*`` by algebraic
value; ``M*`` is indefinite with large negative eigenvalues, so a largest-magnitude
solver finds the wrong subspace. Two entry points:

* :func:`top_eigenpairs`: the top ``d`` only (dense, ARPACK, LOBPCG or a Chebyshev
  block method; ``method="auto"`` picks dense up to :data:`AUTO_DENSE_MAX_V`).
* :func:`full_spectrum`: the whole (cached) ``eigh`` as a descending :class:`Spectrum`,
  whose :meth:`Spectrum.top` gives :class:`Eigenpairs` without a second solve; the
  gradient flow (:mod:`qwemlib.flow`) reuses it.

Used in: book/intro.md, book/02_qwem_matrix_factorization.md to book/07_linear_structure.md.
"""

from ._spectrum import Spectrum as Spectrum
from ._spectrum import full_spectrum as full_spectrum
from ._top import AUTO_DENSE_MAX_V as AUTO_DENSE_MAX_V
from ._top import METHODS as METHODS
from ._top import Eigenpairs as Eigenpairs
from ._top import top_eigenpairs as top_eigenpairs

__all__ = ["Eigenpairs", "METHODS", "AUTO_DENSE_MAX_V", "top_eigenpairs", "Spectrum", "full_spectrum"]
