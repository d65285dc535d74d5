"""The compiled CPU path, ``TrainConfig(backend="cpu-kernel")``: word2vec's stream walk for QWEM and SGNS.

:func:`qwemlib.train.train` runs the same host loop (records, checkpoints, divergence) for
both backends; with ``backend="cpu-kernel"`` its device loop is replaced by
:class:`CpuRunner`, which calls the numba kernels of :mod:`._cpu_kernel`. Those walk the
token stream like word2vec: per centre word ``i`` its window of positive pairs, then its
negatives, with one SGD update per pair, the centre row read once per centre and its
update buffered (``neu1e``); the blocks of a step run on ``cpu_threads`` threads (Hogwild).

The same estimators with the same weights as the JAX path (one definition of each, shared):

* positives: a centre position ``p`` is uniform on the stream (blocks of consecutive
  centres at uniformly random starts). With ``weighting="word2vec"`` the kernel draws
  word2vec's window ``b ~ U{1..L}`` and uses the offsets ``1 <= |o| <= b`` inside the
  article: offset ``j`` is used with probability ``pi_j = (L+1-j)/L = w_j (L+1)/(2L)``, so
  the per-pair weight that makes the window sum unbiased for ``sum_{o} w_|o| f`` is the
  constant ``w_j / pi_j``; written as a mean over a nominal ``B+ = n_c (L+1)`` pairs per
  step (``n_c`` centres, ``2 E[b] = L+1`` offsets each, those crossing an article boundary
  counted with weight 0, as in the JAX sampler), it is exactly ``c / B+`` with the JAX
  sampler's ``c = 2 N sum(w) / Z`` (:func:`qwemlib.train.positive_pair_scale`), since
  ``sum(w) = L``. ``weighting="uniform"``: ``b = L``, ``B+ = 2 L n_c``, again ``c / B+``.
  Check: ``E = n_c (1/N) sum_{p,o} pi_|o| f c / (n_c (L+1)) = c Z E_P[f] / (2 N L) = E_P[f]``.
* negatives, ``n_negc`` per centre (``B- = n_c n_negc``), each with weight ``1 / B-``:
  ``"unigram"`` and SGNS: ``i`` is the centre word (its law over the stream is ``P_i``
  exactly) and ``j`` is drawn from the same alias table as on the device (``P_j``, or
  ``P_j^{3/4}`` for SGNS; :func:`qwemlib.train.alias_table`), so each negative pair has the
  law ``P_i P_j`` and weight 1 as in the JAX path; the pairs of one centre share ``i`` (as
  in word2vec), which changes the correlations, not the expectation. ``"uniform"``: ``i, j``
  uniform on ``0..V-1`` with weight ``V^2 P_i P_j`` (:func:`qwemlib.train.uniform_negative_scale`),
  the ``n_negc`` negatives of a centre sharing one uniform ``i`` (each pair is uniform on the
  ``V x V`` cells, so the expectation is unchanged; the JAX path draws ``i`` afresh per pair).
  ``"exact"``: ``B+ + B-`` cells uniform in :func:`qwemlib.train.cooccurrence_cells`'s table
  with its weights, no stream walk, then the exact terms with their gradient at the step's
  start (computed while the cells run: :func:`_exact_steps`).
* the per-pair weights: QWEM's ``Psi`` (:func:`qwemlib.stats.psi_setting1`) and SGNS's
  ``Pacc(i) Pacc(j)``: the arrays the host loop builds for the JAX path.

So a step's expected update, every pair's gradient taken at the step's ``W``, is exactly
``-eta`` times the expected gradient of the JAX step, ``(W W^T - M*) W`` for QWEM
(tests/test_train_cpu.py checks it against :func:`qwemlib.train.expected_gradient`).

The clock ``t = 2 g sum(eta)`` (:func:`qwemlib.train.time_of_step`) holds for the per-pair
rule. Derivation: a step is ``B`` pair updates ``W_p = W_{p-1} - eta (w_p / B) grad f_p(W_{p-1})``
(``w_p / B`` the pair's weight above, ``B`` its half's nominal size). Since
``W_{p-1} = W_0 + O(eta)``, ``grad f_p(W_{p-1}) = grad f_p(W_0) + O(eta)``, so
``W_B = W_0 - eta sum_p (w_p / B) grad f_p(W_0) + O(eta^2)``: to first order in ``eta`` the
step equals the minibatch step of ``eta`` on the mean loss over the same pairs, whose
expectation moves ``W`` by ``-eta grad L``, the displacement of the flow
``dW/dt = -(1/2g) grad L`` over ``dt = 2 g eta``. Each pair update is ``1/B`` of that step
and advances ``t`` by ``2 g eta / B`` (SGNS: ``eta / B``), ``B`` of them by ``2 g eta``. The
remainder, ``eta^2 sum_{p<q} (w_p w_q / B^2) Hess f_q grad f_p``, has expectation
``~(eta^2/2) Hess L grad L``: the second-order term of the flow itself over ``dt = 2 g eta``,
so the per-pair rule tracks the flow at least as closely as the minibatch step (whose
Euler error is of that order); the buffered centre row (read once per centre) only
changes the ``O(eta^2)`` part, as does ``"exact"``'s exact update (its gradient at ``W_0``,
applied after the cells: the step's other term, taken at the step's start as in a minibatch
step). Tested: a run from small initialization at ci reaches the
closed form's half-rise times (:func:`qwemlib.theory.half_rise_times`) like the JAX path.

Throughput (bench/bench_train.py --local --repeats 3, V = 10,000, d = 200, first local shard,
2-core machine, 2026-12-04 20:49 UTC, medians of three interleaved rounds; gensim at 330 k
words/s, 33.7 M implied pairs/s (words/s x 102 pairs per word), 8.5 M measured with
``sample=0``, every word a centre as here; data/bench/train-local-cpu-kernel.md): on two
threads QWEM unigram 18.1 M pairs/s (0.54 of gensim's implied rate), uniform 19.2 M (0.57),
SGNS 17.4 M (0.52), all at B = 50k + 50k, and ``"exact"`` 16.4 M at B = 250k + 250k (0.49).
The kernels prefetch the rows a few pairs ahead (:mod:`._prefetch`). ``"exact"``'s step has
two ``V x d x d`` matmuls (:func:`exact_terms`, ~15 ms on one core at any batch, run beside
the cells: :func:`_exact_steps`), so it needs the larger batch (0.18 at B = 50k + 50k), and
reads and writes two rows of ``W`` per cell, spread over the whole vocabulary (3.2 KB of
memory traffic per cell), where the stream walk reuses the centre row across its window.

Used in: :func:`qwemlib.train.train` (``TrainConfig.backend``), bench/bench_train.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from ..stats import window_weights
from ._alias import alias_table
from ._config import TrainConfig
from ._cpu_kernel import QWEM_UNIFORM, QWEM_UNIGRAM, SGNS, _exact_apply, _exact_cells, _stream_steps
from ._inputs import _check_corpus
from ._sampler import exact_cells, positive_pair_scale, uniform_negative_scale
from ._schedule import lr_at_step

BLOCK = 32
"""Consecutive centre positions per block (one random start, one random-number stream)."""

CELL_BLOCK = 256
"""Cells per block of ``negatives="exact"``."""


@dataclass(frozen=True)
class CpuSampler:
    """The host arrays the CPU kernels read (built by :func:`build_cpu_sampler`).

    Attributes:
        ids, offsets: the token stream and the ``(A+1,)`` article offsets (int64).
        kind: kernel mode (QWEM unigram / uniform, SGNS; ``None`` for ``"exact"``).
        n_c: centre positions per step; ``per_centre`` nominal positive offsets per centre
            (``L+1`` for word2vec's window, ``2L`` uniform); ``n_negc`` negatives per centre.
        batch_pos, batch_neg: the nominal ``B+ = n_c per_centre``, ``B- = n_c n_negc``
            (``"exact"``: ``B+ + B-`` cells and 0).
        pos_coef, neg_coef: ``c / B+`` and ``1 / B-``.
        neg_accept, neg_alias: the alias table of the negative context word.
        neg_scale: ``V P_i`` (``"uniform"``) or a dummy.
        table: the ``"exact"`` table as records ``(cell, w)`` (:func:`cell_table`; a dummy
            otherwise); :attr:`cells` and :attr:`cell_w` are views of its two fields.
    """

    ids: np.ndarray
    offsets: np.ndarray
    kind: int | None
    window: int
    dynamic: bool
    n_c: int
    per_centre: int
    n_negc: int
    batch_pos: int
    batch_neg: int
    pos_coef: float
    neg_coef: float
    neg_accept: np.ndarray
    neg_alias: np.ndarray
    neg_scale: np.ndarray
    table: np.ndarray

    @property
    def cells(self) -> np.ndarray:
        """The ``(K,)`` int32 flat cell indices ``i * V + j`` of :attr:`table` (a view)."""
        return self.table["cell"]

    @property
    def cell_w(self) -> np.ndarray:
        """The ``(K,)`` cell weights of :attr:`table` (a view)."""
        return self.table["w"]


def cell_table(cells, cell_w, dtype) -> np.ndarray:
    """The ``"exact"`` table for the CPU kernel: one record ``(cell int32, w dtype)`` per cell.

    The same cells and weights as :func:`qwemlib.train.cooccurrence_cells` (the JAX path's
    two arrays), stored side by side so that a uniform draw from the tens of millions of
    cells costs one cache miss instead of two (8 bytes per record in float32; float64
    padded to 16 so that no record straddles a 64-byte line). Measured at V = 10,000,
    d = 200 on the table of the first local shard (24.7 M cells, 2-core machine, 2026-12-04,
    500 k cells per step, the fastest of five steps in each of three paired rounds): the
    cell loop of :func:`._cpu_kernel._exact_cells` from 66-69 to 55-57 ns per cell on one
    thread (the same ``W`` bit for bit) and from 36-38 to 31-32 on two.
    """
    rec = np.dtype([("cell", np.int32), ("w", dtype)], align=True)
    table = np.empty(len(cells), rec)
    table["cell"], table["w"] = cells, cell_w
    return table


def build_cpu_sampler(tokens, article_offsets, P_i, cfg: TrainConfig, P_ij=None) -> CpuSampler:
    """The CPU kernels' tables for ``cfg`` (the same definitions as :func:`build_sampler`).

    ``n_c = max(1, round(batch_pos / per_centre))`` centres per step and
    ``n_negc = max(1, round(batch_neg / n_c))`` negatives per centre, so the nominal batch
    sizes are close to ``cfg.batch_pos`` and ``cfg.batch_neg`` (:attr:`CpuSampler.batch_pos`).
    """
    ids, off = _check_corpus(tokens, article_offsets, len(P_i))
    P_i = np.asarray(P_i, dtype=np.float64)
    fdt = np.float64 if cfg.dtype == "float64" else np.float32
    window_weights(cfg.window, cfg.weighting)  # validates window and weighting
    dyn = cfg.weighting == "word2vec"
    per_centre = cfg.window + 1 if dyn else 2 * cfg.window
    n_c = max(1, int(round(cfg.batch_pos / per_centre)))
    n_negc = max(1, int(round(cfg.batch_neg / n_c)))
    one = np.ones(1)
    cells, cell_w = np.zeros(1, np.int32), one
    neg_accept, neg_alias = one, np.zeros(1, np.int32)
    neg_scale = one
    if cfg.negatives == "exact":
        cells, cell_w = exact_cells(P_ij, P_i, "build_cpu_sampler")
        kind, bp, bn = None, cfg.batch_pos + cfg.batch_neg, 0
    else:
        kind = SGNS if cfg.loss == "sgns" else (QWEM_UNIFORM if cfg.negatives == "uniform" else QWEM_UNIGRAM)
        if kind == QWEM_UNIFORM:
            neg_scale = uniform_negative_scale(P_i)
        else:
            neg_accept, neg_alias = alias_table(P_i ** cfg.neg_power if cfg.loss == "sgns" else P_i)
        bp, bn = n_c * per_centre, n_c * n_negc
    c = positive_pair_scale(off, cfg.window, cfg.weighting)
    return CpuSampler(
        ids=ids, offsets=off, kind=kind, window=cfg.window, dynamic=dyn, n_c=n_c,
        per_centre=per_centre, n_negc=n_negc, batch_pos=bp, batch_neg=bn,
        pos_coef=c / (n_c * per_centre), neg_coef=1.0 / (n_c * n_negc),
        neg_accept=np.asarray(neg_accept, np.float64), neg_alias=np.asarray(neg_alias, np.int32),
        neg_scale=np.asarray(neg_scale, fdt), table=cell_table(cells, cell_w, fdt),
    )


def _threads(cfg: TrainConfig) -> int:
    limit = numba.config.NUMBA_NUM_THREADS
    T = cfg.cpu_threads or limit
    if T > limit:
        raise ValueError(f"TrainConfig.cpu_threads={cfg.cpu_threads}: numba allows at most {limit} "
                         "threads here (NUMBA_NUM_THREADS); choose fewer or 0 for all")
    return T


def _readonly(a, dtype):
    """A read-only C-contiguous view (no copy where possible): one compiled signature for all."""
    v = np.ascontiguousarray(a, dtype=dtype).view()
    v.flags.writeable = False
    return v


def _weights_np(weights, kind, fdt):
    """``(psi (V, V), acc (V,))`` for the kernel, from the host loop's weight array."""
    w = np.asarray(weights)
    dummy2, dummy1 = _readonly(np.zeros((1, 1)), fdt), _readonly(np.zeros(1), fdt)
    if kind is None:
        return dummy2, dummy1
    if kind == SGNS:
        return dummy2, _readonly(w, fdt)
    return _readonly(w, fdt), dummy1


def exact_terms(W) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W (W^T W), 1^T W, (1/4)||W^T W||_F^2 + ||W^T 1||^2)``: the exact part of ``"exact"``'s step.

    ``W^T W`` by numpy's ``W.T @ W``, which numpy hands to BLAS ``syrk`` itself (it sees the
    transpose) and returns exactly symmetric: 2.7 ms at V = 10,000, d = 200 on 2 cores,
    against 7.6 ms for ``scipy.linalg.blas.ssyrk`` on the same ``W`` (its f2py wrapper;
    this function's cost was half of a 100k-cell step with it), then one ``gemm``.
    """
    gram = W.T @ W
    col = W.sum(axis=0)
    g64, c64 = gram.astype(np.float64), col.astype(np.float64)
    return W @ gram, col, 0.25 * float(np.sum(g64 ** 2)) + float(np.sum(c64 ** 2))


def _exact_steps(W, G, frozen, sampler: CpuSampler, etas, step0, seed, max_loss, lanes):
    """The steps of ``negatives="exact"`` on ``lanes`` threads; returns the batch losses (NaN after a stop).

    Step ``s`` from ``W_s``: the cells (:func:`._cpu_kernel._exact_cells`) on every thread,
    updating ``W`` in place, and meanwhile, on one of the threads before it joins them, the
    exact terms of ``W_s`` (:func:`exact_terms`, on a copy of ``W_s``: the cells are changing
    ``W``); their update, whose gradient is taken at ``W_s``, is applied after the cells
    (:func:`._cpu_kernel._exact_apply`). On one thread the same in turn. The matmuls run
    BLAS on one thread while the other threads run cells; so the step costs about
    ``(matmuls + cells on one thread) / lanes`` instead of ``matmuls + cells / lanes``: at
    V = 10,000, d = 200 the matmuls take ~15 ms on one core, a step of 500 k cells ~17 ms on
    two (data/bench/train-local-cpu-kernel.md).
    """
    n = len(etas)
    loss = np.full(n, np.nan)
    counter = np.zeros(1, np.int64)
    table, n_cells = sampler.table, np.int64(sampler.batch_pos)

    def cells(eta, step):
        return _exact_cells(W, G, frozen, table, eta, np.int64(step), np.int64(seed), n_cells,
                            np.int64(CELL_BLOCK), counter)

    def terms_then_cells(Ws, eta, step):
        return exact_terms(Ws), cells(eta, step)

    # BLAS on one thread beside the cells' threads: OpenBLAS's idle threads spin for a while
    # after each call and would take the cores from the cells
    limit = threadpool_limits(limits=1, user_api="blas") if lanes > 1 else nullcontext()
    with limit, ThreadPoolExecutor(max_workers=max(lanes - 1, 1)) as pool:
        for s in range(n):
            counter[0] = 0
            eta, step = etas[s], step0 + s
            if lanes == 1:
                (D, col, exact_loss), part = exact_terms(W), cells(eta, step)
            else:
                Ws = W if frozen else W.copy()
                first = pool.submit(terms_then_cells, Ws, eta, step)
                rest = [pool.submit(cells, eta, step) for _ in range(lanes - 2)]
                part = cells(eta, step) + sum(f.result() for f in rest)
                (D, col, exact_loss), p0 = first.result()
                part += p0
            _exact_apply(W, G, frozen, D, col, eta)
            loss[s] = exact_loss + part
            if not (np.isfinite(loss[s]) and loss[s] < max_loss):
                break
    return loss


def _run(W, G, sampler: CpuSampler, psi, acc, etas, step0, seed, max_loss, lanes=1):
    """Run ``len(etas)`` steps; ``G=None``: in place on ``W``, else ``W`` frozen, updates into ``G``.

    Returns ``(k, losses (k,), pairs)``: the steps done (up to and including the first whose
    loss is non-finite or ``>= max_loss``), their batch losses and the pairs computed.
    """
    n = len(etas)
    frozen = G is not None
    G = G if frozen else np.zeros((1, 1), W.dtype)
    etas = np.asarray(etas, np.float64)
    if sampler.kind is None:
        loss = _exact_steps(W, G, frozen, sampler, etas, step0, seed, max_loss, lanes)
        pairs = np.full(n, float(sampler.batch_pos))
    else:
        lane_loss, lane_pairs = np.zeros((lanes, n)), np.zeros((lanes, n))
        _stream_steps(W, G, frozen, sampler.ids, sampler.offsets, psi, acc, np.int64(sampler.kind), etas,
                      np.int64(step0), np.int64(seed), np.int64(sampler.n_c), np.int64(BLOCK),
                      bool(sampler.dynamic), np.int64(sampler.window), float(sampler.pos_coef),
                      np.int64(sampler.n_negc), float(sampler.neg_coef), sampler.neg_accept,
                      sampler.neg_alias, sampler.neg_scale, lane_loss, lane_pairs)
        loss, pairs = lane_loss.sum(axis=0), lane_pairs.sum(axis=0)
    bad = np.flatnonzero(~(np.isfinite(loss) & (loss < max_loss)))
    k = int(bad[0]) + 1 if bad.size else n
    return k, loss[:k], float(pairs[:k].sum())


class CpuRunner:
    """The CPU replacement of the fused device loop, with the same call signature.

    ``runner(W, step_key, step0, n, lr, total, max_loss, sampler, weights)`` runs steps
    ``step0 .. step0 + n - 1`` on a copy of ``W`` and returns ``(W, k, loss sum, last
    loss, ok)``. The learning rates come from :func:`qwemlib.train.lr_at_step` (the one
    schedule); the random numbers of step ``s`` from ``(cfg.seed, s)`` (``step_key`` is not
    read), so resuming from a checkpoint continues the same draws. ``pairs_done`` counts
    the pairs the kernel computed (positives inside their article, negatives, cells).
    """

    def __init__(self, cfg: TrainConfig, sampler: CpuSampler):
        self.cfg = cfg
        self.threads = _threads(cfg)
        self.fdt = np.float64 if cfg.dtype == "float64" else np.float32
        self.pairs_done = 0.0
        self._w_id, self._w = None, None

    @property
    def device(self) -> str:
        return f"cpu:numba ({self.threads} thread{'s' if self.threads > 1 else ''})"

    def __call__(self, W, step_key, step0, n, lr, total, max_loss, sampler, weights):
        if self._w_id != id(weights):
            self._w_id, self._w = id(weights), _weights_np(weights, sampler.kind, self.fdt)
        W = np.array(W, dtype=self.fdt, order="C")
        step0, n = int(step0), int(n)
        etas = lr_at_step(self.cfg, np.arange(step0, step0 + n))
        prev = numba.get_num_threads()
        numba.set_num_threads(self.threads)
        try:
            k, loss, pairs = _run(W, None, sampler, *self._w, etas, step0, self.cfg.seed, float(max_loss),
                                  lanes=self.threads)
        finally:
            numba.set_num_threads(prev)
        self.pairs_done += pairs
        last = float(loss[-1]) if k else 0.0
        ok = bool(np.all(np.isfinite(loss)) and np.all(loss < float(max_loss)))
        return W, k, float(loss.sum()), last, ok and bool(np.all(np.isfinite(W)))


def kernel_update(W, sampler: CpuSampler, weights, cfg: TrainConfig, step: int = 0, *,
                  frozen: bool = True, seed: int | None = None) -> tuple[float, np.ndarray]:
    """One step of the CPU kernel from ``W``: ``(batch loss, update W_new - W)``; ``W`` is untouched.

    ``frozen=True``: every pair's gradient at the given ``W`` (the step's stochastic gradient
    times ``-eta_step``; its expectation over the draws is ``-eta`` times the exact expected
    gradient). ``frozen=False``: the sequential per-pair SGD updates the trainer makes.
    ``weights``: QWEM's ``(V, V)`` ``Psi`` (unused for ``"exact"``) or SGNS's ``(V,)``
    acceptance ``Pacc``; ``seed`` defaults to ``cfg.seed``; one thread (deterministic).

    Used in: tests/test_train_cpu.py (unbiasedness).
    """
    fdt = np.float64 if cfg.dtype == "float64" else np.float32
    Wr = np.array(W, dtype=fdt, order="C")
    psi, acc = _weights_np(np.zeros(()) if weights is None else weights, sampler.kind, fdt)
    eta = lr_at_step(cfg, np.array([step]))
    prev = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        seed = cfg.seed if seed is None else seed
        if frozen:
            Ww = np.zeros_like(Wr)
            return float(_run(Wr, Ww, sampler, psi, acc, eta, step, seed, np.inf)[1][0]), Ww
        W0 = Wr.copy()
        return float(_run(Wr, None, sampler, psi, acc, eta, step, seed, np.inf)[1][0]), Wr - W0
    finally:
        numba.set_num_threads(prev)
