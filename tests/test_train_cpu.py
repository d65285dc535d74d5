"""Tests for ``TrainConfig(backend="cpu-kernel")``: the compiled stream walk of qwemlib.train.

Independent computations: the exact expected gradient by enumeration of the JAX sampler's
outcomes (train.expected_gradient), the SGNS gradient in dense numpy, the gradient flow with
scipy's ODE solver, and at ci the closed form's half-rise times (theory.ClosedFormDynamics).
"""

from __future__ import annotations

import numpy as np
import pytest
from train_helpers import L, V, brute_force_P, interrupt_and_resume, tiny_corpus

from qwemlib import train as T
from qwemlib.train._cpu import cell_table

ESTIMATORS = ["unigram", "uniform", "exact"]


@pytest.fixture(scope="module")
def tiny():
    return tiny_corpus()


def mean_and_se(samples):
    s = np.asarray(samples)
    return s.mean(0), s.std(0, ddof=1) / np.sqrt(len(s))


def z2(mean, se, ref):
    """Mean squared z-score of ``mean`` against ``ref``: ~1 for an unbiased estimate."""
    return float(np.mean(((mean - ref) / se) ** 2))


def kernel_gradients(W, sampler, weights, cfg, R):
    """``R`` one-step stochastic gradients of the kernel at the fixed ``W`` (lr = 1)."""
    return [-T.kernel_update(W, sampler, weights, cfg, step=k)[1] for k in range(R)]


def test_backend_option_is_validated(tiny):
    assert T.TrainConfig().backend == "jax"
    with pytest.raises(ValueError, match="backend.*'cpu-kernel'"):
        T.TrainConfig(backend="numba")
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="cpu_threads"):
            T.TrainConfig(cpu_threads=bad)
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    with pytest.raises(ValueError, match="cpu_threads=4096.*NUMBA_NUM_THREADS"):
        T.train(ids, off, P, T.TrainConfig(dim=3, window=L, steps=2, backend="cpu-kernel",
                                           cpu_threads=4096), progress=False)
    with pytest.raises(ValueError, match="needs P_ij"):
        T.build_cpu_sampler(ids, off, P[1], T.TrainConfig(dim=3, window=L, negatives="exact"))


def test_nominal_batch_and_the_shared_weights(tiny):
    """Each positive pair weighs c / B+ with the JAX sampler's c (positive_pair_scale) and
    B+ = n_c (L+1) (word2vec's window) or n_c 2L; the tables are the JAX path's."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    for wt, per in (("word2vec", L + 1), ("uniform", 2 * L)):
        cfg = T.TrainConfig(dim=3, window=L, weighting=wt, batch_pos=400, batch_neg=300)
        s = T.build_cpu_sampler(ids, off, P_i, cfg)
        assert s.n_c == round(400 / per) and s.batch_pos == s.n_c * per and s.per_centre == per
        assert s.n_negc == round(300 / s.n_c) and s.batch_neg == s.n_c * s.n_negc
        np.testing.assert_allclose(s.pos_coef * s.batch_pos, T.positive_pair_scale(off, L, wt))
        np.testing.assert_allclose(s.neg_accept, T.alias_table(P_i)[0])
    s = T.build_cpu_sampler(ids, off, P_i, T.TrainConfig(dim=3, window=L, negatives="uniform"))
    np.testing.assert_allclose(s.neg_scale, T.uniform_negative_scale(P_i), rtol=1e-6)
    s = T.build_cpu_sampler(ids, off, P_i, T.TrainConfig(dim=3, window=L, negatives="exact", dtype="float64"),
                            P_ij=P_ij)
    cells, w = T.cooccurrence_cells(P_ij, P_i)
    np.testing.assert_array_equal(s.cells, cells)
    np.testing.assert_array_equal(s.cell_w, w)
    # records of (cell, weight), one per draw, none straddling a 64-byte line
    assert s.table.dtype.itemsize == 16 and s.cell_w.dtype == np.float64
    t32 = cell_table(cells, w, np.float32)
    assert t32.dtype.itemsize == 8 and 64 % t32.dtype.itemsize == 0
    np.testing.assert_array_equal(t32["cell"], cells)
    np.testing.assert_array_equal(t32["w"], w.astype(np.float32))
    assert (s.batch_pos, s.batch_neg) == (100_000, 0)


@pytest.mark.parametrize("negatives", ESTIMATORS)
@pytest.mark.parametrize("weighting", ["word2vec", "uniform"])
def test_expected_update_is_the_exact_expected_gradient(tiny, negatives, weighting):
    """The mean of R one-step updates from a fixed W (every pair's gradient at W) equals
    -lr times train.expected_gradient (the JAX sampler's exact expectation, = (W W^T - M*) W)
    within the measured standard error: the mean squared z-score over the 24 entries is ~1
    (measured 0.8-1.2 with R = 3000), and a reference 3 % off is rejected (z^2 >> 10)."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L, weighting)
    cfg = T.TrainConfig(dim=3, window=L, weighting=weighting, lr=1.0, schedule="constant",
                        batch_pos=500, batch_neg=500, dtype="float64", backend="cpu-kernel",
                        negatives=negatives)
    W = np.random.default_rng(2).normal(size=(V, 3))
    ref = T.expected_gradient(W, ids, off, P_ij, P_i, cfg)
    s = T.build_cpu_sampler(ids, off, P_i, cfg, P_ij=P_ij)
    m, se = mean_and_se(kernel_gradients(W, s, T.qwem_weights(P_ij, P_i), cfg, 3000))
    assert z2(m, se, ref) < 2.0, z2(m, se, ref)
    assert np.max(np.abs(m - ref) / se) < 4.5
    assert np.linalg.norm(m - ref) / np.linalg.norm(ref) < 0.02
    assert z2(m, se, 1.03 * ref) > 10.0  # the test has the power to see a 3 % bias


def test_sgns_expected_update_is_the_sgns_gradient(tiny):
    """SGNS (eq. 1 with Psi = Pacc(i) Pacc(j), negatives j ~ P^0.75): the kernel's mean
    one-step update from a fixed W is -lr times the dense numpy gradient."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(loss="sgns", dim=3, window=L, subsample=1e-2, lr=1.0, schedule="constant",
                        batch_pos=500, batch_neg=500, dtype="float64", backend="cpu-kernel")
    r = 1e-2 / P_i
    acc = np.minimum(1, r + np.sqrt(r))
    q = T.alias_distribution(*T.alias_table(P_i ** 0.75))
    W = np.random.default_rng(4).normal(size=(V, 3)) * 0.7
    sig = 1 / (1 + np.exp(-W @ W.T))
    A = np.outer(acc, acc)
    Cm = P_ij * A * (-(1 - sig)) + np.outer(P_i, q) * A * sig
    ref = (Cm + Cm.T) @ W
    s = T.build_cpu_sampler(ids, off, P_i, cfg)
    m, se = mean_and_se(kernel_gradients(W, s, acc, cfg, 3000))
    assert z2(m, se, ref) < 2.0, z2(m, se, ref)
    assert z2(m, se, 1.03 * ref) > 10.0


@pytest.mark.parametrize("negatives", ESTIMATORS)
def test_per_pair_updates_equal_the_minibatch_step_to_first_order(tiny, negatives):
    """The clock's derivation (qwemlib.train._cpu): B sequential per-pair updates of lr / B
    differ from the minibatch step at fixed W (the same draws) by O(lr^2): dividing lr by 10
    divides the difference, relative to the step, by ~10."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    psi = T.qwem_weights(P_ij, P_i)
    W = np.random.default_rng(2).normal(size=(V, 3)) * 0.5
    rel = []
    for lr in (1e-3, 1e-4):
        cfg = T.TrainConfig(dim=3, window=L, lr=lr, schedule="constant", batch_pos=300, batch_neg=300,
                            dtype="float64", backend="cpu-kernel", negatives=negatives)
        s = T.build_cpu_sampler(ids, off, P_i, cfg, P_ij=P_ij)
        frozen = T.kernel_update(W, s, psi, cfg, step=3)[1]
        seq = T.kernel_update(W, s, psi, cfg, step=3, frozen=False)[1]
        rel.append(np.linalg.norm(seq - frozen) / np.linalg.norm(frozen))
    assert rel[0] < 0.2 and 5 < rel[0] / rel[1] < 20, rel


def _ode_W(M, W0, t_end):
    from scipy.integrate import solve_ivp

    d = W0.shape[1]
    sol = solve_ivp(lambda t, w: (0.5 * (M - w.reshape(V, d) @ w.reshape(V, d).T) @ w.reshape(V, d)).ravel(),
                    (0, t_end), W0.ravel(), rtol=1e-9, atol=1e-12)
    return sol.y[:, -1].reshape(V, d)


@pytest.mark.parametrize("negatives", ESTIMATORS)
def test_kernel_sgd_follows_gradient_flow_on_the_time_axis(tiny, negatives):
    """As tests/test_train.py for the JAX path: the kernel's run lands on the ODE
    dW/dt = (1/2)(M* - W W^T) W at t = time_of_step (and not at half of it)."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    PP = np.outer(P_i, P_i)
    M = (P_ij - PP) / (0.5 * (P_ij + PP))
    cfg = T.TrainConfig(dim=2, window=L, steps=600, lr=2e-3, batch_pos=2000, batch_neg=2000,
                        schedule="step", init_scale=0.3, dtype="float64", n_records=5, n_snapshots=1,
                        negatives=negatives, backend="cpu-kernel", cpu_threads=1)
    res = T.train(ids, off, (P_ij, P_i), cfg, progress=False)
    assert res.grad_path == "cpu-kernel" and res.device.startswith("cpu:numba")
    t_end = T.time_of_step(cfg, cfg.steps)
    G1 = res.W @ res.W.T
    W_ode = _ode_W(M, res.snapshots[0], t_end)
    err = np.linalg.norm(G1 - W_ode @ W_ode.T) / np.linalg.norm(W_ode @ W_ode.T)
    assert err < 0.05, err
    W_half = _ode_W(M, res.snapshots[0], t_end / 2)
    assert np.linalg.norm(G1 - W_half @ W_half.T) / np.linalg.norm(W_ode @ W_ode.T) > 3 * err


@pytest.mark.parametrize("negatives", ["unigram", "exact"])
def test_single_thread_is_deterministic_and_resumes_exactly(tiny, tmp_path, negatives):
    """cpu_threads=1: two runs agree bit for bit; a run resumed from its checkpoint reaches the
    uninterrupted W (step s draws from (seed, s)); the records are TrainResult's."""
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    ck = str(tmp_path / "ck.npz")
    base = dict(dim=3, window=L, steps=60, lr=2e-3, batch_pos=2000, batch_neg=2000, schedule="step",
                init_scale=0.1, record_steps=(10, 20, 40, 50), n_snapshots=3, steps_per_call=7,
                negatives=negatives, backend="cpu-kernel", cpu_threads=1)
    full = T.train(ids, off, P, T.TrainConfig(**base), progress=False)
    again = T.train(ids, off, P, T.TrainConfig(**base), progress=False)
    np.testing.assert_array_equal(full.W, again.W)
    assert full.singular_values.shape == (6, 3) and np.isfinite(full.objective).all()
    assert full.snapshots.shape == (3, V, 3) and np.all(np.diff(full.objective) < 0)
    res = interrupt_and_resume(ids, off, P, base, ck)
    np.testing.assert_array_equal(res.W, full.W)
    np.testing.assert_array_equal(res.steps, full.steps)
    with pytest.raises(T.CheckpointError, match="backend"):
        T.train(ids, off, P, T.TrainConfig(**{**base, "backend": "jax"}), resume_from=ck, progress=False)


def test_hogwild_threads_and_divergence(tiny):
    """Two threads (Hogwild) reach the single-thread run's objective up to the race noise;
    a too large lr raises TrainingDiverged as on the JAX path."""
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    base = dict(dim=3, window=L, steps=100, lr=2e-3, batch_pos=4000, batch_neg=4000, init_scale=0.1,
                n_records=2, dtype="float64", backend="cpu-kernel")
    one = T.train(ids, off, P, T.TrainConfig(**base, cpu_threads=1), progress=False)
    two = T.train(ids, off, P, T.TrainConfig(**base, cpu_threads=2), progress=False)
    np.testing.assert_allclose(two.objective, one.objective, rtol=1e-2)
    with pytest.raises(T.TrainingDiverged, match="smaller learning rate"):
        T.train(ids, off, P, T.TrainConfig(**{**base, "lr": 100.0, "init_scale": 1e-3, "schedule": "constant",
                                              "steps_per_call": 1}), progress=False)
    sg = T.train(ids, off, P, T.TrainConfig(**{**base, "loss": "sgns", "lr": 0.5, "init": "word2vec"}),
                 progress=False)
    assert np.all(np.isfinite(sg.W)) and np.isnan(sg.objective).all() and sg.loss[-1] < np.log(2) * 2


def test_exact_threads_share_out_every_block_once(tiny):
    """negatives="exact" on two threads (qwemlib.train._cpu._exact_steps): the blocks of cells
    go to the threads by a shared counter, each block to exactly one, while one thread also
    computes the exact terms. At a frozen W the batch loss is then the one-thread loss to
    rounding (a block skipped or done twice would move it by ~1/8, another seed's draws by
    more than 1e-3); a run on two threads reaches the one-thread objective up to race noise."""
    from qwemlib.train._cpu import _run

    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(dim=3, window=L, batch_pos=1000, batch_neg=1000, dtype="float64",
                        negatives="exact", backend="cpu-kernel")
    s = T.build_cpu_sampler(ids, off, P_i, cfg, P_ij=P_ij)
    W = np.random.default_rng(4).normal(size=(V, 3)) * 0.5
    eta = np.array([1e-3])

    def loss(lanes, seed=0):  # (the updates into G race between threads, Hogwild: not compared)
        return _run(W, np.zeros_like(W), s, None, None, eta, 3, seed, np.inf, lanes=lanes)[1][0]

    l1, l2 = loss(1), loss(2)
    assert abs(l2 - l1) < 1e-10 * abs(l1), (l1, l2)
    assert abs(loss(1, seed=1) - l1) > 1e-3 * abs(l1)
    P = (P_ij, P_i)
    base = dict(dim=3, window=L, steps=100, lr=2e-3, batch_pos=4000, batch_neg=4000, init_scale=0.1,
                n_records=2, dtype="float64", negatives="exact", backend="cpu-kernel")
    one = T.train(ids, off, P, T.TrainConfig(**base, cpu_threads=1), progress=False)
    two = T.train(ids, off, P, T.TrainConfig(**base, cpu_threads=2), progress=False)
    np.testing.assert_allclose(two.objective, one.objective, rtol=1e-2)


# --------------------------------------------------------------------------- ci preset


@pytest.mark.slow  # ~1-2 minutes on a shared 2-core CPU (two runs of 240 steps x 500k pairs)
def test_ci_half_rise_times_match_the_closed_form_like_the_jax_path():
    """At ci (V = 2000, d = 50), from small init: the first five modes' half-rise times of the
    kernel's run, on the clock t = 2 sum(eta), agree with the closed form (eq. 11, started from
    the run's own W(0)) as well as the JAX path's run of the same configuration does.

    Measured (shared 2-core CPU, load ~5): SGD / theory = 0.967, 0.973, 0.954, 0.971, 0.960 for
    the kernel and 1.045, 1.044, 1.037, 1.023, 1.023 for the JAX path (its Euler step grows a mode
    by 1 + lr lambda per step instead of exp(lr lambda): 5 % late at lr lambda_1 = 0.12; the
    per-pair steps of lr / B do not have that lag). A clock off by 2 would give ratios ~0.5 or 2."""
    pipeline = pytest.importorskip("qwemlib.pipeline")
    from qwemlib import theory as TH

    try:
        st = pipeline.corpus_statistics("ci")
    except Exception as e:  # data not available
        pytest.skip(f"ci corpus unavailable: {e}")
    eig = TH.top_eigenpairs(st.M, 50)
    n = 5
    ratios = {}
    for backend in ("cpu-kernel", "jax"):
        cfg = T.TrainConfig(dim=50, window=16, lr=2.5e-4, batch_pos=250_000, batch_neg=250_000, steps=240,
                            schedule="constant", init_scale=1e-3, negatives="uniform", n_records=40,
                            n_snapshots=1, record_objective=False, backend=backend)
        res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False)
        dyn = TH.ClosedFormDynamics.from_initial(eig, res.snapshots[0])
        t = np.linspace(0, res.times[-1], 2000)
        t_th = TH.half_rise_times(t, dyn.s2(t)[:, :n], eig.values[:n])
        t_sgd = TH.half_rise_times(res.times, res.singular_values[:, :n] ** 2, eig.values[:n])
        ratios[backend] = t_sgd / t_th
        print(backend, f"{res.pairs_per_second:.3g} pairs/s, t_half SGD / theory:", ratios[backend])
    assert np.all(np.isfinite(ratios["cpu-kernel"])), ratios
    assert np.all(np.abs(ratios["cpu-kernel"] - 1) < 0.1), ratios
    dev_k, dev_j = (np.abs(ratios[b] - 1).max() for b in ("cpu-kernel", "jax"))
    assert dev_k < dev_j + 0.05, ratios


def test_prefetch_hints_are_emitted_and_change_nothing():
    """The kernels' prefetches (qwemlib.train._prefetch) reach the machine code and are only hints."""
    from numba import njit
    from numba.core.errors import TypingError

    from qwemlib.train._prefetch import prefetch_at, prefetch_row

    @njit
    def rows_sum(W, rows, table, ks, hint):
        s = 0.0
        for u in range(rows.size):
            if hint and u + 2 < rows.size:
                prefetch_row(W, rows[u + 2])
                prefetch_at(table, ks[u + 2])
            s += W[rows[u]].sum() * table[ks[u]]
        return s

    rng = np.random.default_rng(0)
    W = rng.standard_normal((300, 37)).astype(np.float32)  # a row of 148 bytes: lines cross it
    table = rng.standard_normal(1000)
    rows, ks = rng.integers(0, 300, 500), rng.integers(0, 1000, 500)
    assert rows_sum(W, rows, table, ks, True) == rows_sum(W, rows, table, ks, False)
    asm = rows_sum.inspect_asm(rows_sum.signatures[0]).lower()
    assert "prefetchw" in asm and "prefetchnta" in asm  # the row (for writing), the table entry (no reuse)

    @njit
    def bad(x):
        prefetch_row(x, 0)

    with pytest.raises(TypingError):
        bad(np.zeros(3))  # a 1-D array has no rows
