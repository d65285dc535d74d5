"""Divergence detection of a training run, for both losses: the rules, their thresholds, the message.

A run is stopped with :class:`~qwemlib.train.TrainingDiverged` when, at a chunk boundary
(every ``steps_per_call`` steps) or a record step, one of these trips (:class:`DivergenceConfig`
holds the thresholds):

* **non-finite**: a batch loss, the weights or a recorded value is NaN or infinite (the device
  loop and the CPU kernel stop at the first such step, :mod:`._device`, :mod:`._cpu`);
* **max_loss**: a batch loss reached ``TrainConfig.max_loss`` (checked at every step inside the
  fused loop; a coarse ceiling, ``1e3 (1 + ||M*||^2/4)`` for QWEM by default);
* **weights**: the top singular value of ``W`` is far beyond its theory scale,
  ``s_1^2 > weight_factor * max(scale, s_1(0)^2)``, ``s_1(0)`` the run's own start;
* **rising**: the record level (below) rose for ``rise_records`` consecutive records by more
  than ``rise_fraction`` of the run's start level in all;
* **level**: a record level (or a chunk's mean batch loss on the same axis) exceeds
  ``level_factor`` times the run's start level.

Scales, from the theory where it has one (eq. 3, 5, 11 under Setting 1):

* QWEM: the minimiser of eq. 3 has ``W W^T`` = the best rank-d approximation of ``M*`` on its
  positive eigenvalues, so ``s_k^2 -> lambda_k`` (eq. 11's limit) and ``||W||_2^2 = lambda_1``
  at the end; from small initialization ``s_1^2`` rises monotonically to ``lambda_1``. The
  weights' scale is ``lambda_1`` of ``M*``. The level is the exact objective
  ``(1/4)||W W^T - M*||^2`` when it is recorded, else the mean batch loss plus ``||M*||^2/4``
  (its expectation is the objective); the start level is ``max(||M*||^2/4, level at step 0)``,
  ``||M*||^2/4`` being the objective at ``W = 0``, which a healthy run only goes below.
* SGNS (eq. 1) has no closed form, but its per-cell minimiser does: a cell's loss
  ``P_ij softplus(-x) + P_i Q_j softplus(x)`` (``Q`` the negative distribution, ``P^{3/4}``
  normalized; the subsampling weights cancel) is smallest at ``x = ln(P_ij / (P_i Q_j))``, so a
  diagonal ``x_ii = |w_i|^2`` at most ``ln(P_ii / (P_i Q_i)) <= ln(1 / Q_i)`` (``P_ii <= P_i``).
  The weights' scale is therefore ``sum_i ln(1 / Q_i)``, which bounds ``||W||_F^2 >= ||W||_2^2``
  of that minimiser (a loose bound: 15,980 = 34 ``lambda_1`` at ci; by Jensen it is at least
  ``V ln V``, which exceeds ``2 V >= lambda_1`` (``|M*_ij| <= 2``) once ``V >= 8``; ``M*``'s
  ``lambda_1`` would be tighter, as SGNS's quadratic expansion shares ``M*``, but it needs a
  ``V x V`` matrix and an eigensolve an SGNS run otherwise never builds). The level is the mean
  batch loss, the start level the first record's (``~ln 2`` per unit weight at small ``W``):
  a diverging SGNS run's loss grows like ``|x|``, a healthy one falls a few per cent.

The defaults come from the size of the effect (the stored runs, data/results/ci/train.npz and
data/results/local/train.npz, checked offline by tests/test_train_divergence.py):

* ``weight_factor = 10``: healthy runs peak at ``s_1^2 / lambda_1`` = 1.04 (QWEM, ci), 1.00
  (QWEM exact terms, local), 1.20 and 1.03 (SGNS, ci and local, against ``M*``'s
  ``lambda_1``); divergent runs grow without bound (the issue's QWEM run: ``s_1`` 600x the
  theory's, ``s_1^2`` 3.6e5 x; the local paper's-sampler run reached weights of 1.3e10);
* ``rise_records = 3``, ``rise_fraction = 0.2``: a healthy SGD run's level does rise for several
  records in a row (the ci QWEM runs' objective for 6 records, the local exact-terms run's for
  9), but over any 3 consecutive rising records by at most 1.9 % of the start level (ci QWEM;
  1.8 % on its batch-loss level, 1.1 % local exact terms, 0.4 % local SGNS); a diverging run's
  rise is unbounded, so 20 % leaves a 10x margin;
* ``level_factor = 3``: a healthy run stays at or below its start level (the objective at
  ``W = 0``, the stored runs' maximum being the start itself; SGNS 1.02x with noise), and a
  QWEM run whose objective is 3x worse than ``W = 0`` has left the flow (on the 8-word test
  corpus, per-pair steps of lr = 1 end at 3.1x with ``s_1^2 = 4.5 lambda_1``); still ~300x
  under the old ``max_loss`` ceiling of QWEM;
* ``suggest_factor = 10``: the learning rate to try is a tenth of the one given, rounded down
  to one significant digit (per-pair SGD is stable only below ``2 / |lambda|`` of the largest
  eigenvalues of the per-pair Hessian, and a tenth clears a factor-of-a-few overshoot).

End to end at ci (``qwem train --scale ci``, V = 2,000): the defaults (lr 6e-5, 300 steps of
50k + 50k pairs) trip nothing; lr 3e-3 with 20k + 20k pairs stops QWEM at step 3 (objective
3.8x its start) and SGNS at step 6 (batch loss up 62 % in 3 records), where the NaN-only rule
let SGNS run to step 23 and a NaN.

Used in: :func:`qwemlib.train.train` (both backends), tests/test_train_divergence.py,
tests/test_faults_train.py; book/05_training.md through the stored runs' divergence messages.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ._config import TrainingDiverged


@dataclass(frozen=True)
class DivergenceConfig:
    """Thresholds of divergence detection (the module docstring gives each default's reasoning).

    Attributes:
        weight_factor: trip when ``s_1^2 > weight_factor * max(scale, s_1(0)^2)``.
        rise_records: consecutive rising records needed by the rising rule (``>= 1``).
        rise_fraction: their total rise, as a fraction of the start level.
        level_factor: trip when a level exceeds this many times the start level.
        suggest_factor: the suggested learning rate is the given one divided by this.
    """

    weight_factor: float = 10.0
    rise_records: int = 3
    rise_fraction: float = 0.2
    level_factor: float = 3.0
    suggest_factor: float = 10.0

    def __post_init__(self):
        for name in ("weight_factor", "rise_fraction", "level_factor", "suggest_factor"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0) or math.isnan(v):
                raise ValueError(f"DivergenceConfig.{name}={v!r}: must be a positive number (inf: rule off)")
        if isinstance(self.rise_records, bool) or int(self.rise_records) != self.rise_records \
                or self.rise_records < 1:
            raise ValueError(f"DivergenceConfig.rise_records={self.rise_records!r}: must be an integer >= 1")

    @classmethod
    def nan_only(cls) -> DivergenceConfig:
        """Only the non-finite and ``max_loss`` rules (the trainer's rule before issue 14)."""
        inf = float("inf")
        return cls(weight_factor=inf, rise_fraction=inf, level_factor=inf)


@dataclass(frozen=True)
class Scales:
    """What the rules compare against (:func:`theory_scales`).

    Attributes:
        loss: ``"qwem"`` or ``"sgns"``.
        weight_scale: the theory's scale of ``s_1^2`` (QWEM ``lambda_1`` of ``M*``, SGNS
            ``sum_i ln(1/Q_i)``).
        weight_name: how the message names it.
        zero_level: QWEM's objective at ``W = 0``, ``||M*||^2/4`` (``nan`` for SGNS).
    """

    loss: str
    weight_scale: float
    weight_name: str
    zero_level: float = float("nan")


def top_eigenvalue(M) -> float:
    """``lambda_1`` of the symmetric ``M`` (largest *algebraic*: ``M*`` has larger negative ones).

    ARPACK (``eigsh(which="LA")``, as :func:`qwemlib.eigen.top_eigenpairs`'s ``"arpack"``) to a
    relative 1e-4, all a threshold needs: 0.7 s at V = 2,000 here instead of 1.2 s to full accuracy.
    """
    from scipy.sparse.linalg import eigsh

    M = np.asarray(M, np.float64)
    if M.shape[0] <= 64:
        return float(np.linalg.eigvalsh(M)[-1])
    return float(eigsh(M, k=1, which="LA", tol=1e-4, v0=np.ones(M.shape[0]))[0][0])


def theory_scales(loss: str, P_i, M=None, *, lambda_1: float | None = None,
                  neg_power: float = 0.75) -> Scales:
    """The :class:`Scales` of a run: QWEM from ``M*`` (or a given ``lambda_1``), SGNS from ``P_i``."""
    if loss == "qwem":
        lam = float(lambda_1) if lambda_1 is not None else top_eigenvalue(M)
        zero = 0.25 * float(np.sum(np.square(M, dtype=np.float64))) if M is not None else float("nan")
        return Scales("qwem", max(lam, np.finfo(np.float64).tiny), "lambda_1 of M*", zero)
    q = np.asarray(P_i, np.float64) ** neg_power
    q = q[q > 0] / q.sum()
    return Scales("sgns", float(np.sum(-np.log(q))), "sum_i ln(1/Q_i) (SGNS's per-cell optimum)")


@dataclass(frozen=True)
class Trip:
    """One tripped rule: at ``step``, ``rule`` (a key of the module docstring's list) with its
    ``value`` against ``bound``, and ``what`` (the sentence of the message)."""

    step: int
    rule: str
    value: float
    bound: float
    what: str


def record_levels(scales: Scales, loss, objective) -> np.ndarray:
    """The level of each record (module docstring): QWEM objective, else loss (+ ``||M*||^2/4``)."""
    loss = np.asarray(loss, np.float64)
    obj = np.asarray(objective, np.float64)
    if scales.loss == "qwem" and obj.size and np.isfinite(obj[0]):  # recorded (a later nan: diverged)
        return obj
    return loss + (scales.zero_level if scales.loss == "qwem" else 0.0)


def _level_name(scales: Scales, objective) -> str:
    if scales.loss == "qwem" and np.size(objective) and np.isfinite(np.asarray(objective, float)[0]):
        return "exact objective (1/4)||W W^T - M*||^2"
    return "mean batch loss" + (" + ||M*||^2/4" if scales.loss == "qwem" else "")


def start_level(scales: Scales, levels) -> float:
    """The run's start level: QWEM ``max(||M*||^2/4, level 0)``; SGNS the first finite level."""
    lv = np.asarray(levels, np.float64)
    first = lv[np.isfinite(lv)][:1]
    if scales.loss == "qwem" and np.isfinite(scales.zero_level):
        return float(max(scales.zero_level, *first)) if first.size else scales.zero_level
    return float(first[0]) if first.size else float("nan")


def weight_bound(cfg: DivergenceConfig, scales: Scales, s1_start: float) -> float:
    """The largest healthy ``s_1^2``: ``weight_factor * max(scale, s_1(0)^2)``."""
    return cfg.weight_factor * max(scales.weight_scale, float(s1_start) ** 2)


def check_weights(cfg: DivergenceConfig, scales: Scales, step: int, s1: float,
                  s1_start: float) -> Trip | None:
    """The weights rule (and a non-finite ``s_1``) at one step."""
    if np.isnan(s1):  # an infinite s_1 (finite W whose Gram overflows) is the weights rule's
        return Trip(step, "non-finite", float(s1), float("nan"), "the weights W became non-finite")
    bound = weight_bound(cfg, scales, s1_start)
    if s1 * s1 > bound:
        return Trip(step, "weights", s1 * s1, bound,
                    f"the top singular value of W is {s1:.4g}: s_1^2 = {s1 * s1:.3g} exceeds "
                    f"{cfg.weight_factor:g} x max({scales.weight_name} = {scales.weight_scale:.4g}, "
                    f"s_1(0)^2 = {s1_start ** 2:.3g}) = {bound:.3g}")
    return None


def check_level(cfg: DivergenceConfig, step: int, value: float, start: float, name: str) -> Trip | None:
    """The level rule (and a non-finite value) for one level ``value`` against the start level."""
    if not np.isfinite(value):
        return Trip(step, "non-finite", float(value), float("nan"), f"the {name} became non-finite ({value})")
    bound = cfg.level_factor * abs(start)
    if np.isfinite(start) and value > bound:
        return Trip(step, "level", float(value), bound,
                    f"the {name} is {value:.4g}, more than {cfg.level_factor:g} x its start level "
                    f"{start:.4g}")
    return None


def check_records(cfg: DivergenceConfig, scales: Scales, steps, loss, objective, svals) -> Trip | None:
    """All rules on a run's records so far (the last record is the new one).

    ``steps``, ``loss``, ``objective``: ``(R,)``; ``svals``: ``(R, d)`` (record 0 = the start).
    Feeding every prefix of a stored run's records replays the detector offline.
    """
    steps = np.asarray(steps)
    svals = np.asarray(svals, np.float64).reshape(len(steps), -1)
    if not len(steps):
        return None
    step = int(steps[-1])
    trip = check_weights(cfg, scales, step, float(svals[-1, 0]), float(svals[0, 0]))
    if trip is not None:
        return trip
    levels = record_levels(scales, loss, objective)
    name = _level_name(scales, objective)
    start = start_level(scales, levels)
    if len(steps) > 1 or scales.loss == "qwem":
        last = levels[-1]
        if not (len(steps) == 1 and np.isnan(last)):  # record 0's batch loss is nan by definition
            trip = check_level(cfg, step, float(last), start, name)
            if trip is not None:
                return trip
    k = cfg.rise_records
    lv = levels[np.isfinite(levels)]
    if lv.size > k and np.isfinite(start) and np.all(np.diff(lv[-k - 1:]) > 0):
        rise = float(lv[-1] - lv[-k - 1])
        if rise > cfg.rise_fraction * abs(start):
            return Trip(step, "rising", rise, cfg.rise_fraction * abs(start),
                        f"the {name} rose for {k} consecutive records, from {lv[-k - 1]:.4g} to "
                        f"{lv[-1]:.4g}: by {rise / abs(start):.0%} of its start level {start:.4g} "
                        f"(more than {cfg.rise_fraction:.0%}; a healthy run's stay under 2 %)")
    return None


def suggested_lr(lr: float, factor: float = 10.0) -> float:
    """``lr / factor`` rounded down to one significant digit (2.5e-4 -> 2e-5)."""
    x = float(lr) / factor
    e = math.floor(math.log10(x))
    m = math.floor(x / 10.0 ** e + 1e-9)
    return float(f"{max(m, 1)}e{e}")


def diverged(trip: Trip, *, steps: int, loss: str, lr: float, lr_as_given: float | None = None,
             checkpoint: str | None = None, suggest_factor: float = 10.0) -> TrainingDiverged:
    """The :class:`TrainingDiverged` for ``trip``: step, rule, the learning rate in the caller's
    units (``lr_as_given`` when the caller converted it into ``TrainConfig.lr``) and a value to try."""
    given = lr if lr_as_given is None else float(lr_as_given)
    units = ("" if lr_as_given is None or np.isclose(given, lr, rtol=1e-12)
             else f" as given (TrainConfig.lr={lr:.4g} after the caller's conversion)")
    try_lr = suggested_lr(given, suggest_factor)
    kept = f"; the last good checkpoint {checkpoint!r} is kept" if checkpoint else ""
    msg = (f"training diverged at step {trip.step} of {steps} ({loss}): {trip.what}. "
           f"Learning rate lr={given:g}{units}: use a smaller learning rate, e.g. lr={try_lr:g}{kept}")
    return TrainingDiverged(msg, step=trip.step, rule=trip.rule, value=trip.value, bound=trip.bound,
                            lr=given, suggested_lr=try_lr)


class Guard:
    """One run's detector (:func:`qwemlib.train.train`): the rules above with the run's scales.

    ``setup`` once the statistics are known; ``chunk`` after every call of the device loop or
    the CPU kernel; ``record`` after every record; ``in_loop`` when they stopped early. Each
    raises (or returns) :class:`TrainingDiverged` built by :func:`diverged`.
    """

    def __init__(self, cfg, dcfg: DivergenceConfig, lr_as_given, lambda_1):
        self.cfg, self.dcfg, self.lr_as_given, self.lambda_1 = cfg, dcfg, lr_as_given, lambda_1
        self.scales = None

    def setup(self, P_i, M):
        self.scales = theory_scales(self.cfg.loss, P_i, M, lambda_1=self.lambda_1,
                                    neg_power=self.cfg.neg_power)

    def fail(self, trip: Trip) -> TrainingDiverged:
        cfg = self.cfg
        ck = cfg.checkpoint_path
        kept = ck if ck is not None and os.path.exists(ck) else None
        return diverged(trip, steps=cfg.steps, loss=cfg.loss, lr=cfg.lr, lr_as_given=self.lr_as_given,
                        checkpoint=kept, suggest_factor=self.dcfg.suggest_factor)

    def in_loop(self, step: int, last: float, max_loss: float) -> TrainingDiverged:
        """The device loop or kernel stopped at ``step``: a non-finite value or ``max_loss``."""
        if np.isfinite(last) and last >= max_loss:
            return self.fail(Trip(step, "max_loss", last, max_loss,
                                  f"the batch loss {last:.4g} reached max_loss={max_loss:.3g}"))
        return self.fail(Trip(step, "non-finite", last, float("nan"),
                              f"the batch loss ({last:.4g}) or the weights became non-finite"))

    def chunk(self, step: int, s1: float, mean_loss: float, recs) -> None:
        """At a chunk boundary: the weights rule and the level of the chunk's mean batch loss."""
        if not recs.steps:
            return
        trip = check_weights(self.dcfg, self.scales, step, s1, float(recs.svals[0][0]))
        if trip is None:
            levels = record_levels(self.scales, recs.loss, recs.objective)
            start = start_level(self.scales, levels)
            lv = mean_loss + (self.scales.zero_level if self.cfg.loss == "qwem" else 0.0)
            name = "mean batch loss" + (" + ||M*||^2/4" if self.cfg.loss == "qwem" else "")
            trip = check_level(self.dcfg, step, lv, start, name + " of the last steps")
        if trip is not None:
            raise self.fail(trip)

    def record(self, recs) -> None:
        trip = check_records(self.dcfg, self.scales, recs.steps, recs.loss, recs.objective, recs.svals)
        if trip is not None:
            raise self.fail(trip)
