"""The training plans of book/05: which SGD runs each preset stores, with which step sizes.

A plan (:data:`PLANS`) maps run keys to :class:`RunSpec`; :func:`training_plan` gives a
preset's, with ``tools/make_results.py``'s overrides. The step sizes of the local plan are
set by where per-pair SGD stays stable, as its comment says (measured on this machine's
sample; issue 12).

Used in: qwemlib.experiments._training (:func:`~qwemlib.experiments.train_against_theory`),
tools/make_results.py, book/05_training.md (through the stored runs' configurations).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import train as T

__all__ = ["SGD", "SMALL_INIT", "RUN_LABELS", "RunSpec", "PLANS", "RUNS", "training_plan", "record_steps",
           "analogy_records"]

#: The SGD configuration of the stored runs at ci: that of bench/bench_train.py CI_CURVE_CONFIG
#: and tests/test_train.py's slow d = 50 test (B = 250k + 250k, lr/B = 1e-9 for QWEM, the stable
#: limit being ~2e-9 because the Setting-1 weights reach ~1.4e8; the paper's x0.1 at 75 % of the
#: steps, A.2), with 600 instead of 800 steps so that the four runs fit in ~15 minutes on a shared
#: 2-core CPU.
SGD = dict(lr=2.5e-4, batch=250_000, steps=600, schedule="step")
#: The small initialization ``N(0, SMALL_INIT^2)`` (CI_CURVE_CONFIG uses 0.05): sharp steps.
SMALL_INIT = 1e-3
#: How book/05 names the runs.
RUN_LABELS = {"qwem-small": "QWEM, small init", "qwem-w2v": "QWEM, word2vec init",
              "qwem-exact-small": "QWEM (exact terms), small init",
              "sgns-small": "word2vec (SGNS), small init", "sgns-w2v": "word2vec (SGNS), word2vec init"}


@dataclass(frozen=True)
class RunSpec:
    """One SGD run of a preset's training plan (book/05; benchmark rows in book/06).

    Attributes:
        loss, init, negatives: :class:`~qwemlib.train.TrainConfig`'s (SGNS always samples
            word2vec's negatives).
        lr, batch, steps, schedule: QWEM's step size (an SGNS run gets ``2 lr / mean G``, the
            same nominal theory time per step, eq. 12), pairs per half-batch, steps, schedule.
        backend: ``"jax"`` or ``"cpu-kernel"`` (:attr:`~qwemlib.train.TrainConfig.backend`).
        n_log_records: log-spaced records (plus 21 on a linear grid, :func:`record_steps`).
        n_analogy_records: records at which the analogies are scored (log-spaced, the
            first and last included; ``None``: all; the others hold NaN).
        model: the name of its rows in the benchmark table (``""``: not scored).
    """

    loss: str
    init: str
    negatives: str = "unigram"
    lr: float = SGD["lr"]
    batch: int = SGD["batch"]
    steps: int = SGD["steps"]
    schedule: str = SGD["schedule"]
    backend: str = "jax"
    n_log_records: int = 16
    n_analogy_records: int | None = None
    model: str = ""

    def config(self, preset, *, lr: float, init_scale: float = SMALL_INIT, dtype: str = "float32",
               seed: int = 0) -> T.TrainConfig:
        """The run's :class:`~qwemlib.train.TrainConfig` (``lr``: this run's own step size)."""
        return T.TrainConfig(loss=self.loss, dim=preset.dim, steps=self.steps, lr=lr, batch_pos=self.batch,
                             batch_neg=self.batch, schedule=self.schedule, init=self.init,
                             init_scale=init_scale, dtype=dtype, seed=seed, window=preset.window,
                             negatives=self.negatives if self.loss == "qwem" else "unigram",
                             record_steps=record_steps(self.steps, self.n_log_records),
                             steps_per_call=100, record_objective=(self.loss == "qwem"),
                             backend=self.backend, cpu_threads=0)


_CI = dict(lr=SGD["lr"], batch=SGD["batch"], steps=SGD["steps"])
#: The local plan (V = 10,000, d = 200, 56.6 M tokens) on the compiled CPU path, with the
#: paper's x0.1 at 75 % of the steps. The stream runs' per-pair step ``lr / B`` is set by the
#: weights a pair can carry: with uniform negatives (weights up to V^2 = 1e8) ``1e-10`` diverged
#: at t = 0.15 and ``5e-10`` within two steps, and the paper's sampler (weights up to 1.3e10,
#: drawn rarely) diverged at ``4e-11`` (step 113 of 4,032), so it gets ``1e-11``: t_end = 0.06,
#: as far as 4,032 steps of 1 M + 1 M pairs go at a stable step. SGNS's per-pair step
#: ``2 lr / (B mean G)`` is 0.05 (word2vec's starting alpha is 0.025); t_end = 0.25.
#: ``"exact"`` runs to ``t_end = 0.25``, where the noise-free flow from the same start has
#: top-50 overlap 1.000 and top-200 0.926 (M*'s spectrum in its eigenbasis; lambda_200 -
#: lambda_201 = 0.04). Its noise per unit of t scales as ``lr / B``: 37,000 cells a step at lr
#: 3.7e-5 (0.22 s a step, mostly the fixed exact terms) ended at top-200 0.496, so each step now
#: draws 1.35 M cells at lr 5e-5 (0.6 s a step, 27x less noise per unit of t). The step is
#: limited by the exact terms, applied once per step before the sampled cells: at lr 7.4e-5
#: (2 M cells) the batch loss went to -inf at step 66; 5e-5 and 6e-5 ran 150 steps (1.35 M cells)
#: without trouble. At 5e-5, ``2 lr lambda_1 = 0.27`` and ``2 V lr = 1`` (the exact
#: ``||W^T 1||^2`` term's step along the all-ones direction).
_STREAM = dict(batch=1_000_000, backend="cpu-kernel", n_log_records=80, n_analogy_records=16)
#: preset -> run key -> :class:`RunSpec`; the keys are book/05's.
PLANS: dict[str, dict[str, RunSpec]] = {
    "ci": {"qwem-small": RunSpec("qwem", "gaussian", model="QWEM (SGD)", **_CI),
           "qwem-w2v": RunSpec("qwem", "word2vec", **_CI),
           "sgns-small": RunSpec("sgns", "gaussian", **_CI),
           "sgns-w2v": RunSpec("sgns", "word2vec", model="word2vec (SGNS)", **_CI)},
    "local": {"qwem-exact-small": RunSpec("qwem", "gaussian", "exact", lr=5e-5, batch=1_350_000, steps=3226,
                                          backend="cpu-kernel", n_log_records=80, n_analogy_records=16,
                                          model="QWEM (SGD, exact terms)"),
              "sgns-small": RunSpec("sgns", "gaussian", lr=5e-5, steps=3226, model="word2vec (SGNS)",
                                    **_STREAM),
              "qwem-small": RunSpec("qwem", "gaussian", lr=1e-5, steps=4032, model="QWEM (SGD)", **_STREAM)},
}
PLANS["full"] = PLANS["local"]
PLANS["hub"] = PLANS["ci"]  # the ci sizes, streamed (Binder)
#: The ci plan's runs (book/05's four: QWEM and SGNS from small and from word2vec's init).
RUNS = {k: (r.loss, r.init) for k, r in PLANS["ci"].items()}


def training_plan(preset, *, steps: int | None = None, lr: float | None = None, batch: int | None = None,
                  backend: str | None = None) -> dict[str, RunSpec]:
    """The runs of ``preset`` (:data:`PLANS`), each with the given fields replaced when not ``None``
    (``tools/make_results.py --steps/--lr/--batch/--backend``; ``--quick`` passes a few steps)."""
    name = getattr(preset, "name", preset)
    if name not in PLANS:
        raise ValueError(f"no training plan for preset {name!r}: choose one of {sorted(PLANS)}")
    over = {k: v for k, v in dict(steps=steps, lr=lr, batch=batch, backend=backend).items() if v is not None}
    return {k: replace(r, **over) for k, r in PLANS[name].items()}


def record_steps(steps: int, n_log: int = 16) -> tuple[int, ...]:
    """``n_log`` log-spaced records for the early steps plus a linear grid of 21, so both the
    first mode's rise and the whole run are resolved."""
    r = set(np.round(np.geomspace(1, max(steps, 1), n_log)).astype(int).tolist())
    r |= set(np.round(np.linspace(0, steps, 21)).astype(int).tolist())
    return tuple(sorted(r))


def analogy_records(n_records: int, n: int | None) -> set[int]:
    """Record indices at which the analogies are scored: all, or ``n`` log-spaced ones."""
    if n is None or n >= n_records:
        return set(range(n_records))
    return {0, *np.unique(np.round(np.geomspace(1, n_records - 1, n - 1)).astype(int)).tolist()}
