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

Used in: book/intro.md, book/03_aligned_dynamics.md, book/04_stepwise.md,
book/07_linear_structure.md, tools/make_results.py.

Private modules: ``_integrate`` (the integrators, :class:`FlowResult`), ``_random_start``
(:func:`random_start_flow` beside eq. 13's prediction, the checks of book/04:
:func:`result_sweep`, :meth:`RandomStartFlow.early_stopping`).
"""

from ._integrate import FlowResult as FlowResult
from ._integrate import gradient_flow as gradient_flow
from ._random_start import RATE_FLOOR as RATE_FLOOR
from ._random_start import STARTS as STARTS
from ._random_start import EarlyStopping as EarlyStopping
from ._random_start import RandomStartFlow as RandomStartFlow
from ._random_start import ResultSweep as ResultSweep
from ._random_start import early_stopping as early_stopping
from ._random_start import early_stopping_sigma as early_stopping_sigma
from ._random_start import random_start_flow as random_start_flow
from ._random_start import result_sweep as result_sweep

__all__ = ["RATE_FLOOR", "STARTS", "EarlyStopping", "FlowResult", "RandomStartFlow", "ResultSweep",
           "early_stopping", "early_stopping_sigma", "gradient_flow", "random_start_flow",
           "result_sweep"]
