"""Closed-form QWEM solutions: embeddings (eq. 7, 9) and training dynamics (eq. 10-13).

The paper's theory (section 3) reduces QWEM under Setting 1 to the symmetric matrix
factorization ``L(W) = (g/4) ||W W^T - M*||_F^2 + const`` (eq. 6). Everything here is a
function of the top-``d`` eigenpairs of ``M*`` *by algebraic value* (eq. 7), computed by
:mod:`qwemlib.eigen` (``top_eigenpairs``, or ``full_spectrum(M).top(d)``).

Time convention (used throughout this module and :mod:`qwemlib.flow`): gradient flow
``dW/dt = -(1/2g) grad L = (1/2) (M* - W W^T) W`` (the paper's Lemma). In the eigenbasis
of ``M*`` with aligned initialization each squared singular value ``u_k = s_k^2`` obeys
the logistic equation ``du_k/dt = lambda_k u_k - u_k^2``, whose solution is exactly
eq. 11, ``s_k(t) = s_k(0) (e^{-lambda_k t} + s_k(0)^2 (1 - e^{-lambda_k t}) / lambda_k)^{-1/2}``,
so the paper's eq. 11 and its Lemma use the same time scale (checked by finite
differences in ``tests/test_theory.py``). ``u_k`` passes half its final value at
``t ~= tau_k = ln(lambda_k / s_k(0)^2) / lambda_k``.

Used in: book/intro.md, book/02_qwem_matrix_factorization.md to book/07_linear_structure.md.
The private modules: ``_closed_form`` (eq. 7, 9), ``_dynamics`` (eq. 10-13,
:func:`random_init`), ``_compare`` (REquiv distances, overlaps, rise times).
"""

# Eigenpairs, top_eigenpairs and validate_symmetric are re-exported for callers written
# before qwemlib.eigen existed (chapters 5-6, cli, tools); new code imports them from
# qwemlib.eigen and qwemlib._validate.
from .._validate import validate_symmetric as validate_symmetric
from ..eigen import Eigenpairs as Eigenpairs
from ..eigen import top_eigenpairs as top_eigenpairs
from ._closed_form import closed_form_embeddings as closed_form_embeddings
from ._closed_form import weighted_closed_form as weighted_closed_form
from ._compare import align_rotation as align_rotation
from ._compare import first_crossing as first_crossing
from ._compare import half_rise_times as half_rise_times
from ._compare import mode_fractions as mode_fractions
from ._compare import requiv_distance as requiv_distance
from ._compare import step_time_tolerances as step_time_tolerances
from ._compare import subspace_overlap as subspace_overlap
from ._compare import subspace_overlaps as subspace_overlaps
from ._dynamics import ClosedFormDynamics as ClosedFormDynamics
from ._dynamics import random_init as random_init

__all__ = [
    "ClosedFormDynamics",
    "random_init",
    "closed_form_embeddings",
    "weighted_closed_form",
    "subspace_overlap",
    "subspace_overlaps",
    "align_rotation",
    "requiv_distance",
    "first_crossing",
    "half_rise_times",
    "mode_fractions",
]
