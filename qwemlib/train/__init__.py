"""JAX SGD trainer for QWEM (eq. 3) and word2vec SGNS (eq. 1), with the sampler on the device.

Every step draws ``batch_pos`` positive pairs from the token stream and ``batch_neg``
negative pairs from the unigram distribution (by default; QWEM has two lower-variance
estimators, see below) *on the device* (``jax.random``), takes one SGD step on tied
embeddings ``W`` (shape ``(V, d)``, ``W' = W``), and many steps are fused in one jitted
``lax.while_loop`` so the host only wakes up at record and checkpoint steps.

Where each part lives (private modules, public names re-exported here):

* ``_config``: :class:`TrainConfig`, :class:`TrainResult`, the errors;
* ``_schedule``: the one learning-rate schedule :func:`learning_rate` (numpy and jax), the
  theory's clock ``t = 2 g sum(eta)`` (:func:`time_of_step`, derived in that module's
  docstring) and the record steps;
* ``_sampler`` (with ``_alias``): the device sampler, positive pairs ~ ``P_ij``, negatives;
* ``_losses``: the minibatch losses and :func:`batch_value_and_grad` (dense or scatter);
* ``_device``, ``_loop``, ``_checkpoint``: the fused device loop, :func:`train`, checkpoints;
* ``_divergence``: when a run counts as diverged (both losses, both backends) and what
  :class:`TrainingDiverged` says; the thresholds in :class:`DivergenceConfig`;
* ``_oracle``: :func:`expected_gradient`, the exact expectation the tests check against;
* ``_cpu`` (with ``_cpu_kernel``): ``TrainConfig(backend="cpu-kernel")``, a compiled numba
  stream walk like word2vec's (per-pair updates, the same estimators, weights and clock).
* ``_sharding``: ``TrainConfig(devices=...)``, data-parallel steps over several devices and
  hosts (``jax.sharding``; the same global batches as one device, docs/MULTI_DEVICE.md).

The full-batch objective ``(1/4)||W W^T - M*||^2`` is :func:`qwemlib.losses.factorization_loss`,
``M*`` :func:`qwemlib.stats.target_matrix` and Setting 1's ``Psi``
:func:`qwemlib.stats.psi_setting1` (also exported here as :func:`qwem_weights`).

Lower-variance estimators of the same QWEM loss (opt-in, ``TrainConfig.negatives``). The
paper's negatives (``"unigram"``, the default, unchanged) make an unbiased but noisy
gradient: a pair of rare words that never co-occur has ``Psi_ij = 1 / (P_i P_j)`` (up to
1.4e8 at the ci preset, V = 2,000), is drawn with probability ``P_i P_j`` and then moves two
embeddings 2.4e3 times further than the median sampled pair; 95 % of the gradient variance comes from
the negative half. Measured at ci (d = 50) at ``W = W*/2`` (half the closed-form minimizer,
as in book/05_training.md), relative error ``|g_batch - grad L| / |grad L|`` of one batch of
50k + 50k pairs, and of the average of 64 batches:

* ``"unigram"``: 10.07, 1.25 (64 batches);
* ``"uniform"``: negatives drawn uniformly from the ``V x V`` cells with weight
  ``V^2 P_i P_j`` (so the per-pair factor ``V^2 P_i P_j Psi_ij = V^2 P_i P_j / (P_ij + P_i P_j)``
  lies in ``(0, V^2]``: bounded, and ~``V^2`` for never-co-occurring pairs); positives from the
  token stream as before; still pure pair-sampling SGD of eq. 3: 3.72, 0.46 (the variance
  7.3x smaller). Drawing negatives from ``q_ij ~ P_i P_j Psi_ij`` (a ``V^2`` alias table,
  constant weight) was evaluated and gives only 3.51 (analytic), not worth the table;
* ``"exact"``: Setting 1's ``P_i P_j Psi_ij = 1 - P_ij Psi_ij`` rewrites eq. 3 exactly as
  ``(1/4)||W^T W||_F^2 + ||W^T 1||^2 - 2 sum_ij P_ij Psi_ij x_ij``; the first two terms are
  computed exactly (``O(V d^2)``) and only the linear term is sampled, from cells drawn
  uniformly among the ``K`` co-occurring ones (``P_ij > 0``) with weight ``K P_ij Psi_ij``
  in ``(0, K)`` (:func:`qwem_exact_batch_loss`): 1.24, 0.155 (the variance 66x smaller).
  This is **no longer pure pair-sampling SGD**: no negative pairs are drawn and the
  positives come from a ``(K,)`` cell table (``K = 1.65e6`` at ci), not the token stream.
  Sampling that term from the token stream instead gives 3.25 (analytic): the positives'
  own weights ``Psi_ij ~ 1 / P_ij`` for rare co-occurring pairs are then the noise.

All three have the same expected batch loss and gradient (exactly, checked by enumeration
in tests/test_train.py), so the time axis (:func:`time_of_step`) is the same; they differ in
the noise around the flow, which sets how far SGD at a given ``lr / B`` gets. At ci with the x0.1 step
schedule, lr = 2.5e-4, 800 steps of 250k + 250k pairs (t = 0.31), the final top-50 subspace
overlap with ``M*``'s eigenvectors is 0.459 (unigram), 0.861 (uniform) and 0.887 (exact),
against 0.888 for the noise-free flow at that ``t`` (full-batch steps of ``lr = 1e-4``). Top-50
overlap >= 0.95 needs ``t ~ 0.7`` of the flow (0.953 at 0.7, 0.980 at 1.2) *and* little noise:
cosine schedule, t = 1.2, ``"uniform"`` 0.960 with 2,400 steps of 250k + 250k pairs (lr 5e-4,
140-170 s on a shared 2-core CPU), ``"exact"`` 0.966 with 2,000 steps of 125k + 125k (lr 6e-4,
55-105 s); tests/test_train.py runs both. With ``"unigram"``, uniform's configuration diverges
and half its lr (t = 0.6, the same 1.2e9 pairs) ends at 0.817. For every estimator ``lr`` is
capped by ``M*``'s most negative eigenvalue (-2315 at ci, from the ``-2`` of never-co-occurring
cells): one step multiplies W's component along that eigenvector by ``1 + lr lambda``, stable
for ``lr < 2 / 2315 = 8.6e-4`` (measured: lr 1e-3 diverges, 6e-4 does not).

Used in: book/05_training.md (training on Wikipedia against the theory),
book/06_qwem_vs_word2vec.md and book/07_linear_structure.md (through qwemlib.experiments and
tools/make_results.py), qwemlib.cli, bench/bench_train.py.
"""

from ..stats import psi_setting1 as qwem_weights
from ._alias import alias_distribution as alias_distribution
from ._alias import alias_table as alias_table
from ._checkpoint import load_checkpoint as load_checkpoint
from ._config import CheckpointError as CheckpointError
from ._config import TrainConfig as TrainConfig
from ._config import TrainingDiverged as TrainingDiverged
from ._config import TrainResult as TrainResult
from ._cpu import CpuSampler as CpuSampler
from ._cpu import build_cpu_sampler as build_cpu_sampler
from ._cpu import kernel_update as kernel_update
from ._divergence import DivergenceConfig as DivergenceConfig
from ._interrupt import TrainingInterrupted as TrainingInterrupted
from ._loop import train as train
from ._losses import batch_value_and_grad as batch_value_and_grad
from ._losses import full_batch_gradient as full_batch_gradient
from ._losses import qwem_batch_loss as qwem_batch_loss
from ._losses import qwem_exact_batch_loss as qwem_exact_batch_loss
from ._losses import sgns_batch_loss as sgns_batch_loss
from ._oracle import expected_gradient as expected_gradient
from ._sampler import Sampler as Sampler
from ._sampler import build_sampler as build_sampler
from ._sampler import cooccurrence_cells as cooccurrence_cells
from ._sampler import positive_pair_scale as positive_pair_scale
from ._sampler import sample_batch as sample_batch
from ._sampler import uniform_negative_scale as uniform_negative_scale
from ._schedule import STEP_DECAY_AT as STEP_DECAY_AT
from ._schedule import STEP_DECAY_FACTOR as STEP_DECAY_FACTOR
from ._schedule import learning_rate as learning_rate
from ._schedule import lr_at_step as lr_at_step
from ._schedule import record_schedule as record_schedule
from ._schedule import step_decay_start as step_decay_start
from ._schedule import time_of_step as time_of_step

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "TrainingInterrupted",
    "DivergenceConfig",
    "CheckpointError",
    "Sampler",
    "train",
    "learning_rate",
    "step_decay_start",
    "STEP_DECAY_AT",
    "STEP_DECAY_FACTOR",
    "time_of_step",
    "lr_at_step",
    "record_schedule",
    "positive_pair_scale",
    "alias_table",
    "alias_distribution",
    "uniform_negative_scale",
    "cooccurrence_cells",
    "build_sampler",
    "sample_batch",
    "qwem_weights",
    "qwem_batch_loss",
    "qwem_exact_batch_loss",
    "sgns_batch_loss",
    "batch_value_and_grad",
    "full_batch_gradient",
    "expected_gradient",
    "load_checkpoint",
    "CpuSampler",
    "build_cpu_sampler",
    "kernel_update",
]
