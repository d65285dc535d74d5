"""Tests for qwemlib.train: sampler unbiasedness, lr-to-time, resume, divergence, ci run.

Independent computations: P_ij by brute-force enumeration of (position, offset) pairs
(docs/CONVENTIONS.md), M* and the full-batch gradient with dense numpy, the gradient
flow with scipy's ODE solver.
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from train_helpers import L, V, brute_force_P, interrupt_and_resume, interrupt_at_record, tiny_corpus

from qwemlib import train as T


@pytest.fixture(scope="module")
def tiny():
    return tiny_corpus()


def M_star(P_ij, P_i):
    PP = np.outer(P_i, P_i)
    return (P_ij - PP) / (0.5 * (P_ij + PP))


def test_window_weights_follow_conventions_and_the_sampler_uses_stats(tiny):
    """The sampler's offset distribution is w_j / sum(w) with stats.window_weights (the one home)."""
    from qwemlib import stats

    w = stats.window_weights(16)
    assert np.allclose(w, (17 - np.arange(1, 17)) / 8.5)
    assert np.isclose(w.sum(), 16)  # total weight per side equals L
    ids, off = tiny
    P_i = np.bincount(ids, minlength=V) / len(ids)
    for wt in ("word2vec", "uniform"):
        w5 = stats.window_weights(5, wt)
        ref = (6 - np.arange(1, 6)) / 3.0 if wt == "word2vec" else np.ones(5)
        assert np.allclose(w5, ref)
        s = T.build_sampler(ids, off, P_i, T.TrainConfig(dim=3, window=5, weighting=wt))
        np.testing.assert_allclose(np.asarray(s.offset_cdf), np.cumsum(ref) / ref.sum(), rtol=1e-6)


def test_alias_table_is_exact():
    p = np.array([0.5, 0.25, 0.125, 0.0, 0.125])
    acc, al = T.alias_table(p)
    assert np.allclose(T.alias_distribution(acc, al), p, atol=1e-15)
    rng = np.random.default_rng(1)
    q = rng.random(300) ** 4
    acc, al = T.alias_table(q)
    assert np.allclose(T.alias_distribution(acc, al), q / q.sum(), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("weighting", ["word2vec", "uniform"])
def test_expected_sampled_gradient_equals_full_batch_gradient(tiny, weighting):
    """Exact expectation (enumerated) of the sampled QWEM gradient = (W W^T - M*) W."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L, weighting)
    cfg = T.TrainConfig(dim=3, window=L, weighting=weighting)
    W = np.random.default_rng(2).normal(size=(V, 3))
    g = T.expected_gradient(W, ids, off, P_ij, P_i, cfg)
    ref = (W @ W.T - M_star(P_ij, P_i)) @ W
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("negatives", ["uniform", "exact"])
@pytest.mark.parametrize("weighting", ["word2vec", "uniform"])
def test_low_variance_samplers_expected_gradient_equals_full_batch_gradient(tiny, negatives, weighting,
                                                                           monkeypatch):
    """negatives='uniform' / 'exact': the exact expectation (enumerating the device sampler's
    own tables in float64) of the sampled gradient = (W W^T - M*) W, and the tables hold the
    weights the estimators need (V^2 P_i P_j per cell; K P_ij / (P_ij + P_i P_j) per
    co-occurring cell), computed here from the brute-force P_ij."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L, weighting)
    cfg = T.TrainConfig(dim=3, window=L, weighting=weighting, negatives=negatives)
    W = np.random.default_rng(2).normal(size=(V, 3))
    g = T.expected_gradient(W, ids, off, P_ij, P_i, cfg)
    ref = (W @ W.T - M_star(P_ij, P_i)) @ W
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-10)
    with jax.enable_x64(True):
        s = T.build_sampler(ids, off, P_i, T.TrainConfig(**{**vars(cfg), "dtype": "float64"}), P_ij=P_ij)
        if negatives == "uniform":
            r = np.asarray(s.neg_scale)
            np.testing.assert_allclose(np.outer(r, r), V * V * np.outer(P_i, P_i), rtol=1e-14)
            assert s.cells is None
        else:
            nz = np.argwhere(P_ij > 0)
            K = len(nz)
            np.testing.assert_array_equal(np.asarray(s.cells), nz[:, 0] * V + nz[:, 1])
            p = P_ij[nz[:, 0], nz[:, 1]]
            np.testing.assert_allclose(np.asarray(s.cell_w), K * p / (p + P_i[nz[:, 0]] * P_i[nz[:, 1]]),
                                       rtol=1e-14)
            assert np.asarray(s.cell_w).max() <= K
    # a wrong weight is detected: the enumeration reads the sampler's table
    if negatives == "uniform":
        orig = T.uniform_negative_scale
        # patch the name where build_sampler looks it up (its own module)
        monkeypatch.setattr(sys.modules[T.build_sampler.__module__], "uniform_negative_scale",
                            lambda P: orig(P) * np.where(np.arange(V) == 3, 1.01, 1.0))
        bad = T.expected_gradient(W, ids, off, P_ij, P_i, cfg)
        monkeypatch.undo()
        assert np.abs(bad - ref).max() > 1e-3 * np.abs(ref).max()
        np.testing.assert_allclose(T.expected_gradient(W, ids, off, P_ij, P_i, cfg), ref, rtol=1e-10,
                                   atol=1e-10)


def test_sampler_pair_frequencies_and_monte_carlo_gradient(tiny):
    """The jitted device sampler: positive pairs ~ P_ij, negatives ~ P_i P_j, gradient unbiased."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(dim=3, window=L)
    s = T.build_sampler(ids, off, P_i, cfg)
    B, reps = 100_000, 40
    W = jnp.asarray(np.random.default_rng(3).normal(size=(V, 3)) * 0.5, jnp.float32)
    psi = jnp.asarray(T.qwem_weights(P_ij, P_i), jnp.float32)

    @jax.jit
    def one(key):
        b = T.sample_batch(key, s, B, B)
        pi, pj, pw, ni, nj, nw = b
        pos = jnp.zeros((V, V)).at[pi, pj].add(pw)
        neg = jnp.zeros((V, V)).at[ni, nj].add(1.0)
        return pos, neg, jnp.mean(pw), jax.grad(T.qwem_batch_loss)(W, b, psi)

    pos, neg, mw, g = np.zeros((V, V)), np.zeros((V, V)), 0.0, np.zeros((V, 3))
    for r in range(reps):
        a, b, c, d = one(jax.random.PRNGKey(r))
        pos += np.asarray(a, np.float64)
        neg += np.asarray(b, np.float64)
        mw += float(c)
        g += np.asarray(d, np.float64)
    n = B * reps
    # E[c * valid] = 1; the weighted pair frequencies estimate P_ij.
    assert abs(mw / reps - 1) < 0.01
    tv_pos = 0.5 * np.abs(pos / n - P_ij).sum()
    tv_neg = 0.5 * np.abs(neg / n - np.outer(P_i, P_i)).sum()
    # 64 cells, 4e6 draws: TV of an exact sampler is ~ 0.5 * sum sqrt(p/n) < 0.003
    assert tv_pos < 0.006, tv_pos
    assert tv_neg < 0.005, tv_neg
    Wn = np.asarray(W, np.float64)
    ref = (Wn @ Wn.T - M_star(P_ij, P_i)) @ Wn
    err = np.linalg.norm(g / reps - ref) / np.linalg.norm(ref)
    assert err < 0.03, err


@pytest.mark.parametrize("negatives", ["uniform", "exact"])
def test_low_variance_device_samplers_draw_and_average_right(tiny, negatives):
    """The jitted device draws: 'uniform' negatives are uniform on the V x V cells with weight
    V^2 P_i P_j; 'exact' cells are uniform on the co-occurring cells with weight K P_ij Psi_ij
    and no negatives; the Monte Carlo mean of the trainer's dense-path gradient (and of the
    scatter path's) approaches (W W^T - M*) W."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(dim=3, window=L, negatives=negatives)
    s = T.build_sampler(ids, off, P_i, cfg, P_ij=P_ij)
    B, reps = 100_000, 40
    W = jnp.asarray(np.random.default_rng(3).normal(size=(V, 3)) * 0.5, jnp.float32)
    psi = jnp.asarray(T.qwem_weights(P_ij, P_i), jnp.float32)
    nz = P_ij > 0
    K = int(nz.sum())

    @jax.jit
    def one(key):
        b = T.sample_batch(key, s, B, B)
        pi, pj, pw, ni, nj, nw = b
        if negatives == "uniform":
            cnt = jnp.zeros((V, V)).at[ni, nj].add(1.0)
            ref_w = V * V * jnp.asarray(np.outer(P_i, P_i), jnp.float32)[ni, nj]
            werr = jnp.max(jnp.abs(nw - ref_w) / ref_w)
        else:
            cnt = jnp.zeros((V, V)).at[pi, pj].add(1.0)
            PP = jnp.asarray(np.outer(P_i, P_i), jnp.float32)
            Pj = jnp.asarray(P_ij, jnp.float32)
            ref_w = K * Pj[pi, pj] / (Pj[pi, pj] + PP[pi, pj])
            werr = jnp.max(jnp.abs(pw - ref_w) / ref_w)
        g_d = T.batch_value_and_grad(W, b, psi, loss="qwem", path="dense", negatives=negatives)[1]
        g_s = T.batch_value_and_grad(W, b, psi, loss="qwem", path="scatter", negatives=negatives)[1]
        return cnt, werr, g_d, g_s, pi.shape[0], ni.shape[0]

    cnt, g_d, g_s = np.zeros((V, V)), np.zeros((V, 3)), np.zeros((V, 3))
    for r in range(reps):
        c, werr, a, b, n_pos, n_neg = one(jax.random.PRNGKey(r))
        cnt += np.asarray(c, np.float64)
        g_d += np.asarray(a, np.float64)
        g_s += np.asarray(b, np.float64)
        assert float(werr) < 1e-5, float(werr)
    if negatives == "uniform":
        assert (n_pos, n_neg) == (B, B)
        target = np.full((V, V), 1.0 / (V * V))
    else:
        assert (n_pos, n_neg) == (2 * B, 0)  # all pairs are cells; no negative pairs
        target = nz / K
        assert cnt[~nz].sum() == 0
    tv = 0.5 * np.abs(cnt / cnt.sum() - target).sum()
    assert tv < 0.005, tv
    Wn = np.asarray(W, np.float64)
    ref = (Wn @ Wn.T - M_star(P_ij, P_i)) @ Wn
    for g in (g_d, g_s):
        err = np.linalg.norm(g / reps - ref) / np.linalg.norm(ref)
        assert err < 0.03, err


def test_exact_estimator_dense_scatter_and_numpy_agree(tiny):
    """negatives='exact': the dense path, autodiff of qwem_exact_batch_loss and a numpy
    formula (exact terms W W^T W + 2 * 1 1^T W, sampled term -2 pos_w / B per cell) agree,
    and the value is (1/4)||W^T W||^2 + ||W^T 1||^2 - 2 mean(pos_w x)."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(dim=4, window=L, dtype="float64", negatives="exact")
    with jax.enable_x64(True):
        s = T.build_sampler(ids, off, P_i, cfg, P_ij=P_ij)
        W = jnp.asarray(np.random.default_rng(5).normal(size=(V, 4)) * 0.6)
        batch = T.sample_batch(jax.random.PRNGKey(7), s, 3000, 2000)
        v_s, g_s = T.batch_value_and_grad(W, batch, None, path="scatter", negatives="exact")
        v_d, g_d = jax.jit(lambda W, b: T.batch_value_and_grad(W, b, None, path="dense", negatives="exact"))(
            W, batch)
    Wn = np.asarray(W)
    pi, pj, pw = (np.asarray(a) for a in batch[:3])
    x = np.sum(Wn[pi] * Wn[pj], axis=1)
    v_ref = 0.25 * np.sum((Wn.T @ Wn) ** 2) + np.sum(Wn.sum(0) ** 2) - 2 * np.mean(pw * x)
    g = Wn @ (Wn.T @ Wn) + 2 * np.ones((V, 1)) * Wn.sum(0)[None, :]
    c = -2 * pw / len(pi)
    np.add.at(g, pi, c[:, None] * Wn[pj])
    np.add.at(g, pj, c[:, None] * Wn[pi])
    for v_, g_ in ((v_s, g_s), (v_d, g_d)):
        np.testing.assert_allclose(float(v_), v_ref, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g_), g, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("loss", ["qwem", "sgns"])
def test_dense_and_scatter_gradient_paths_agree(tiny, loss):
    """The dense path ((V, V) matrix of per-pair scalar coefficients, one matmul) gives the
    same loss and gradient as autodiff of the batch loss (row gather / scatter), and both
    equal an explicit per-pair numpy loop."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(loss=loss, dim=4, window=L, dtype="float64", subsample=1e-2)
    with jax.enable_x64(True):
        s = T.build_sampler(ids, off, P_i, cfg)
        W = jnp.asarray(np.random.default_rng(5).normal(size=(V, 4)) * 0.6)
        if loss == "qwem":
            wts = jnp.asarray(T.qwem_weights(P_ij, P_i))
        else:
            r = 1e-2 / P_i
            wts = jnp.asarray(np.minimum(1, r + np.sqrt(r)))
        batch = T.sample_batch(jax.random.PRNGKey(7), s, 3000, 2000)
        v_s, g_s = T.batch_value_and_grad(W, batch, wts, loss=loss, path="scatter")
        v_d, g_d = jax.jit(lambda W, b, w: T.batch_value_and_grad(W, b, w, loss=loss, path="dense"))(
            W, batch, wts)
        np.testing.assert_allclose(float(v_d), float(v_s), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g_d), np.asarray(g_s), rtol=1e-11, atol=1e-12)
    # independent per-pair loop
    Wn = np.asarray(W)
    pi, pj, pw, ni, nj, nw = (np.asarray(a) for a in batch)
    wn = np.asarray(wts)
    g = np.zeros_like(Wn)
    for I, J, w, sgn, n in ((pi, pj, pw, -1.0, len(pi)), (ni, nj, nw, 1.0, len(ni))):
        x = np.sum(Wn[I] * Wn[J], axis=1)
        a = wn[I, J] if loss == "qwem" else wn[I] * wn[J]
        fp = 0.5 * x + sgn if loss == "qwem" else sgn / (1 + np.exp(-sgn * x))
        c = w * a * fp / n
        np.add.at(g, I, c[:, None] * Wn[J])
        np.add.at(g, J, c[:, None] * Wn[I])
    np.testing.assert_allclose(np.asarray(g_d), g, rtol=1e-10, atol=1e-12)


def test_grad_path_auto_choice_and_training_agree(tiny):
    assert T.TrainConfig().resolved_grad_path(2000) == "dense"
    assert T.TrainConfig().resolved_grad_path(10_000) == "scatter"
    assert T.TrainConfig(grad_path="scatter").resolved_grad_path(8) == "scatter"
    assert T.TrainConfig(dense_max_cells=63).resolved_grad_path(8) == "scatter"
    with pytest.raises(ValueError, match="grad_path"):
        T.TrainConfig(grad_path="sparse")
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    kw = dict(dim=3, window=L, steps=40, lr=2e-3, batch_pos=2000, batch_neg=2000,
              init_scale=0.1, dtype="float64", n_records=3)
    rd = T.train(ids, off, P, T.TrainConfig(**kw, grad_path="dense"), progress=False)
    rs = T.train(ids, off, P, T.TrainConfig(**kw, grad_path="scatter"), progress=False)
    assert (rd.grad_path, rs.grad_path) == ("dense", "scatter")
    np.testing.assert_allclose(rd.W, rs.W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rd.objective, rs.objective, rtol=1e-9)


def test_time_of_step_sums_the_schedule():
    for sched in ("constant", "step", "cosine"):
        for loss, k in (("qwem", 2.0), ("sgns", 1.0)):
            cfg = T.TrainConfig(loss=loss, steps=1001, lr=0.01, schedule=sched)
            s = np.arange(0, 1002)
            ref = k * np.concatenate([[0.0], np.cumsum(T.lr_at_step(cfg, np.arange(1001)))])
            np.testing.assert_allclose(T.time_of_step(cfg, s), ref, rtol=1e-12, atol=1e-12)
    cfg = T.TrainConfig(steps=100, lr=0.1, schedule="step")
    assert T.lr_at_step(cfg, 74) == 0.1 and np.isclose(T.lr_at_step(cfg, 75), 0.01)


def test_one_schedule_for_numpy_and_the_device_loop():
    """learning_rate gives the same eta_k on jax (traced, as the device loop calls it) as on
    numpy (lr_at_step), bit for bit in float64; the step schedule switches at 75 % to x0.1."""
    assert (T.STEP_DECAY_AT, T.STEP_DECAY_FACTOR) == (0.75, 0.1)
    assert T.step_decay_start(1001) == 750
    for sched in ("constant", "step", "cosine"):
        for steps in (1, 7, 1001):  # steps=0 is not a config (TrainConfig: steps >= 1)
            cfg = T.TrainConfig(steps=steps, lr=0.0123, schedule=sched)
            k = np.arange(0, steps + 1)
            with jax.enable_x64(True):
                dev = jax.jit(jax.vmap(partial(T.learning_rate, sched, xp=jnp), in_axes=(0, None, None)))
                on_dev = np.asarray(dev(jnp.asarray(k, jnp.int32), jnp.float64(cfg.lr), jnp.int32(steps)))
            if sched == "cosine":  # XLA's cos and numpy's differ in the last bit (1 + cos ~ 0: atol)
                np.testing.assert_allclose(on_dev, T.lr_at_step(cfg, k), rtol=1e-13, atol=1e-16 * cfg.lr)
            else:
                np.testing.assert_array_equal(on_dev, T.lr_at_step(cfg, k))
    eta = T.lr_at_step(T.TrainConfig(steps=8, lr=1.0, schedule="step"), np.arange(8))
    np.testing.assert_array_equal(eta, [1, 1, 1, 1, 1, 1, 0.1, 0.1])


def test_recorded_objective_is_the_factorization_loss(tiny):
    """TrainResult.objective is qwemlib.losses.factorization_loss(W, M*) (eq. 6, g = 1)."""
    from qwemlib import losses

    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(dim=3, window=L, steps=10, lr=2e-3, batch_pos=500, batch_neg=500,
                        init_scale=0.1, dtype="float64", n_records=2)
    res = T.train(ids, off, (P_ij, P_i), cfg, progress=False)
    np.testing.assert_allclose(res.objective[-1], losses.factorization_loss(res.W, M_star(P_ij, P_i)),
                               rtol=1e-12)


def test_qwem_needs_every_word_to_occur(tiny):
    """M* (eq. 5) and Setting 1's Psi need P_i > 0 (qwemlib.stats); an unseen word is an error."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    P_i0, P_ij0 = np.append(P_i, 0.0), np.pad(P_ij, ((0, 1), (0, 1)))
    with pytest.raises(ValueError, match="non-positive"):
        T.train(ids, off, (P_ij0, P_i0), T.TrainConfig(dim=3, window=L, steps=2), progress=False)


@pytest.mark.parametrize("negatives", ["unigram", "uniform", "exact"])
def test_sgd_follows_gradient_flow_on_the_time_axis(tiny, negatives):
    """Small-lr SGD lands on the ODE dW/dt = (1/2)(M* - W W^T) W at t = time_of_step, with
    every sampler (they share the expected gradient, hence the time axis)."""
    from scipy.integrate import solve_ivp

    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    M = M_star(P_ij, P_i)
    cfg = T.TrainConfig(dim=2, window=L, steps=600, lr=2e-3, batch_pos=20_000, batch_neg=20_000,
                        schedule="step", init_scale=0.3, dtype="float64", n_records=5,
                        steps_per_call=600, negatives=negatives)
    res = T.train(ids, off, (P_ij, P_i), cfg, progress=False)
    W0 = np.asarray(res.snapshots[0]) if len(res.snapshots) else None
    # rebuild the initial W exactly as train() does
    with jax.enable_x64(True):
        init_key, _ = jax.random.split(jax.random.PRNGKey(cfg.seed))
        W0 = np.asarray(cfg.init_scale * jax.random.normal(init_key, (V, 2), dtype=jnp.float64))
    t_end = T.time_of_step(cfg, cfg.steps)
    sol = solve_ivp(lambda t, w: (0.5 * (M - w.reshape(V, 2) @ w.reshape(V, 2).T) @ w.reshape(V, 2)).ravel(),
                    (0, t_end), W0.ravel(), rtol=1e-9, atol=1e-12)
    W_ode = sol.y[:, -1].reshape(V, 2)
    # compare the Gram matrices (right-rotation invariant)
    G1, G2 = res.W @ res.W.T, W_ode @ W_ode.T
    err = np.linalg.norm(G1 - G2) / np.linalg.norm(G2)
    assert err < 0.05, err
    # and the clock is not off by a factor 2 (that would give a much larger error)
    sol2 = solve_ivp(lambda t, w: (0.5 * (M - w.reshape(V, 2) @ w.reshape(V, 2).T) @ w.reshape(V, 2)).ravel(),
                     (0, t_end / 2), W0.ravel(), rtol=1e-9, atol=1e-12)
    W_half = sol2.y[:, -1].reshape(V, 2)
    assert np.linalg.norm(G1 - W_half @ W_half.T) / np.linalg.norm(G2) > 3 * err


@pytest.mark.parametrize("negatives", ["unigram", "uniform", "exact"])
def test_resume_reproduces_the_uninterrupted_run(tiny, tmp_path, negatives):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    ck = str(tmp_path / "ck.npz")
    base = dict(dim=3, window=L, steps=60, lr=2e-3, batch_pos=2000, batch_neg=2000,
                schedule="step", init_scale=0.1, record_steps=(10, 20, 40, 50), n_snapshots=3,
                steps_per_call=7, negatives=negatives)
    full = T.train(ids, off, P, T.TrainConfig(**base), progress=False)

    # resume with a different fusion length: the trajectory must not depend on it
    res = interrupt_and_resume(ids, off, P, base, ck)
    np.testing.assert_array_equal(res.W, full.W)
    np.testing.assert_array_equal(res.steps, full.steps)
    np.testing.assert_allclose(res.singular_values, full.singular_values, rtol=1e-6)
    assert T.load_checkpoint(ck)["step"] == 60
    # a different trajectory-relevant setting is refused, the sampler included
    with pytest.raises(T.CheckpointError, match="different config"):
        T.train(ids, off, P, T.TrainConfig(**{**base, "lr": 1e-3}), resume_from=ck, progress=False)
    other = "uniform" if negatives != "uniform" else "unigram"
    with pytest.raises(T.CheckpointError, match="negatives"):
        T.train(ids, off, P, T.TrainConfig(**{**base, "negatives": other}), resume_from=ck, progress=False)


def test_config_json_round_trip_and_checkpoints_without_negatives(tiny, tmp_path):
    """TrainConfig survives to_json; a checkpoint written before the ``negatives`` field existed
    resumes as the default sampler (and only as that), reaching the uninterrupted run's W."""
    import json

    for neg in ("unigram", "uniform", "exact"):
        cfg = T.TrainConfig(negatives=neg, record_steps=(3, 5))
        back = T.TrainConfig(**json.loads(cfg.to_json()))
        assert back == cfg and json.loads(cfg.to_json())["negatives"] == neg
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    ck = str(tmp_path / "old.npz")
    base = dict(dim=3, window=L, steps=20, lr=2e-3, batch_pos=500, batch_neg=500, init_scale=0.1,
                record_steps=(10, 15))
    full = T.train(ids, off, P, T.TrainConfig(**base), progress=False)
    cfg = T.TrainConfig(**base, checkpoint_path=ck, checkpoint_every=10)
    interrupt_at_record(ids, off, P, cfg, 3)   # the 3rd record, step 15, follows the checkpoint at 10
    with np.load(ck) as z:
        arrays = {k: z[k] for k in z.files}
    conf = json.loads(str(arrays["config"]))
    del conf["negatives"]  # as written by a qwemlib without the field
    arrays["config"] = np.array(json.dumps(conf, sort_keys=True))
    np.savez(ck, **arrays)
    assert T.load_checkpoint(ck)["step"] == 10
    with pytest.raises(T.CheckpointError, match="negatives"):
        T.train(ids, off, P, T.TrainConfig(**base, negatives="uniform"), resume_from=ck, progress=False)
    res = T.train(ids, off, P, cfg, resume_from=ck, progress=False)
    np.testing.assert_array_equal(res.W, full.W)


def test_corrupt_checkpoint_names_the_file(tiny, tmp_path):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file")
    with pytest.raises(T.CheckpointError, match="broken.npz"):
        T.train(ids, off, P, T.TrainConfig(dim=3, window=L, steps=5), resume_from=str(bad),
                progress=False)


def test_divergence_raises_and_keeps_last_good_checkpoint(tiny, tmp_path):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    ck = str(tmp_path / "ck.npz")
    cfg = T.TrainConfig(dim=3, window=L, steps=200, lr=0.5, batch_pos=500, batch_neg=500,
                        schedule="constant", init_scale=1e-3, checkpoint_path=ck,
                        checkpoint_every=1, steps_per_call=1)
    with pytest.raises(T.TrainingDiverged, match=r"lr=0\.5.*smaller learning rate"):
        T.train(ids, off, P, cfg, progress=False)
    got = T.load_checkpoint(ck)
    assert 0 < got["step"] < 200 and np.all(np.isfinite(got["W"]))
    assert issubclass(T.TrainingDiverged, ValueError)


def test_float64_tiny_init_does_not_underflow(tiny):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    kw = dict(dim=3, window=L, steps=300, lr=5e-3, batch_pos=2000, batch_neg=2000,
              schedule="constant", init_scale=1e-25, n_records=4)
    with pytest.raises(ValueError, match="float64"):
        T.train(ids, off, P, T.TrainConfig(**kw), progress=False)
    res = T.train(ids, off, P, T.TrainConfig(**kw, dtype="float64"), progress=False)
    assert res.W.dtype == np.float64
    s0 = res.singular_values[0]
    assert np.all(s0 > 1e-26) and np.all(s0 < 1e-22)  # ~ sigma sqrt(V)
    # the top direction grows (~exp(lambda_1 t / 2) ~ 10x here) from 1e-25, linear regime
    assert res.singular_values[-1][0] > 3 * s0[0]
    assert np.all(np.isfinite(res.W))
    assert not jax.config.jax_enable_x64  # switched on for the run only


def test_sgns_sampled_gradient_is_unbiased(tiny):
    """SGNS: E[batch gradient] = full gradient of eq. 1 with Psi = Pacc(i)Pacc(j), j- ~ P^0.75."""
    ids, off = tiny
    P_ij, P_i = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(loss="sgns", dim=3, window=L, subsample=1e-2)
    s = T.build_sampler(ids, off, P_i, cfg)
    r = 1e-2 / P_i
    acc = np.minimum(1, r + np.sqrt(r))
    q = P_i ** 0.75 / np.sum(P_i ** 0.75)
    W = np.random.default_rng(4).normal(size=(V, 3)) * 0.7
    X = W @ W.T
    sig = 1 / (1 + np.exp(-X))
    A = np.outer(acc, acc)
    Cm = P_ij * A * (-(1 - sig)) + np.outer(P_i, q) * A * sig
    ref = (Cm + Cm.T) @ W
    Wj, accj = jnp.asarray(W, jnp.float32), jnp.asarray(acc, jnp.float32)
    grad = jax.jit(lambda k: jax.grad(T.sgns_batch_loss)(Wj, T.sample_batch(k, s, 100_000, 100_000), accj))
    g = np.mean([np.asarray(grad(jax.random.PRNGKey(i)), np.float64) for i in range(30)], axis=0)
    err = np.linalg.norm(g - ref) / np.linalg.norm(ref)
    assert err < 0.02, err


def test_sgns_training_runs(tiny):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    cfg = T.TrainConfig(loss="sgns", dim=3, window=L, steps=50, lr=0.5, batch_pos=2000,
                        batch_neg=2000, init="word2vec", n_records=3)
    res = T.train(ids, off, P, cfg, progress=False)
    assert np.all(np.isfinite(res.W)) and np.isnan(res.objective).all()
    np.testing.assert_allclose(res.times, T.time_of_step(cfg, res.steps))


def test_bad_inputs_raise_valueerror(tiny):
    ids, off = tiny
    P = brute_force_P(ids, off, L)
    with pytest.raises(ValueError, match="loss"):
        T.TrainConfig(loss="glove")
    with pytest.raises(ValueError, match="negatives"):
        T.TrainConfig(negatives="unigram3/4")
    for neg in ("uniform", "exact"):
        with pytest.raises(ValueError, match="negatives.*qwem"):
            T.TrainConfig(loss="sgns", negatives=neg)
    with pytest.raises(ValueError, match="needs P_ij"):
        T.build_sampler(ids, off, P[1], T.TrainConfig(dim=3, window=L, negatives="exact"))
    P_i0 = np.append(P[1], 0.0)  # a ninth word that never occurs: G_ij = 0 in its cells
    P_ij0 = np.pad(P[0], ((0, 1), (0, 1)))
    with pytest.raises(ValueError, match="P_i > 0"):
        T.build_sampler(ids, off, P_i0, T.TrainConfig(dim=3, window=L, negatives="exact"), P_ij=P_ij0)
    with pytest.raises(ValueError, match="article_offsets"):
        T.train(ids, np.array([0, 10]), P, T.TrainConfig(dim=3, window=L, steps=1), progress=False)
    with pytest.raises(ValueError, match="window"):
        class Co:  # a Cooccurrence-like object counted with another window
            counts, unigram, window, weighting = P[0], P[1], 5, "word2vec"
        T.train(ids, off, Co(), T.TrainConfig(dim=3, window=L, steps=1), progress=False)


# --------------------------------------------------------------------------- ci preset


def _ci_stats():
    pipeline = pytest.importorskip("qwemlib.pipeline")
    try:
        return pipeline.corpus_statistics("ci")
    except Exception as e:  # data not available
        pytest.skip(f"ci corpus unavailable: {e}")


def _overlap(W, U):
    """Mean squared cosine between span(U) (orthonormal, (V, k)) and span(W)."""
    Q, _ = np.linalg.qr(W)
    return float(np.sum((U.T @ Q) ** 2) / U.shape[1])


@pytest.mark.slow  # ~45 s on 2 cores
def test_ci_qwem_learns_the_top_eigenvectors_of_M_star():
    """ci preset (V=2000, d=50, window 16), ~40 s of CPU SGD with the paper's sampler.

    What the budget reaches (measured; see the slow test for d = 50): the well-separated
    top eigenvectors are learned first (stepwise, the Result of eq. 13); the full d = 50
    subspace needs ~10x more pairs because the Setting-1 weights reach 1.4e8 for rare pairs
    and make the minibatch gradient noisy, so the stable learning rate is small.
    """
    st = _ci_stats()
    ev, U = np.linalg.eigh(st.M)
    o = np.argsort(ev)[::-1]
    ev, U = ev[o], U[:, o]
    cfg = T.TrainConfig(dim=50, window=16, steps=300, lr=6e-5, batch_pos=50_000,
                        batch_neg=50_000, schedule="step", init_scale=0.05, n_records=6,
                        steps_per_call=300)
    res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False)
    ov = {k: _overlap(res.W, U[:, :k]) for k in (1, 3, 50)}
    print(f"overlaps {ov}; pairs/s {res.pairs_per_second:.3g}")
    assert ov[1] >= 0.85  # measured 0.900 (t = 0.028; lambda_1 = 469 is well separated)
    assert ov[3] >= 0.75  # measured 0.818: still being learned (tau_3 = 0.013)
    assert res.objective[-1] < res.objective[0]


# The configuration of bench/bench_train.py --overlap-curve (CI_CURVE_CONFIG).
CI_D50 = dict(dim=50, window=16, lr=2.5e-4, batch_pos=250_000, batch_neg=250_000,
              schedule="step", init_scale=0.05, dtype="float32")


@pytest.mark.slow  # ~55-100 s on a shared 2-core CPU (800 steps x 500k pairs, dense path)
def test_ci_qwem_d50_subspace_overlap():
    """The paper's sampler at the ci preset, d = 50: what it reaches in ~1 minute.

    lr/B = 1e-9 (the stable limit is ~2e-9) plateaus at top-50 overlap 0.31 (top 1: 0.87)
    from t = 0.15 on, set by the gradient noise of the Setting-1 weights (Psi up to 1.4e8;
    per-step gradient variance ~ sum_ij Psi_ij^2 P_i P_j / B, 95 % of it from the negative
    pairs), not by the time axis: the noise-free flow from the same init reaches 0.89 at
    t = 0.3 and 0.95 at t = 0.65. The x0.1 phase (last 25 % of the steps) lifts it to
    0.99 / 0.91 / 0.46 (top 1 / 10 / 50) at t = 0.31. With the same pairs and steps,
    negatives="uniform" reaches 0.861 and negatives="exact" 0.887 (measured). The issue's
    check (top-50 >= 0.95) is test_ci_qwem_d50_subspace_overlap_reaches_0_95 below.
    """
    st = _ci_stats()
    from qwemlib import theory as TH

    eig = TH.top_eigenpairs(st.M, 50)
    cfg = T.TrainConfig(**CI_D50, steps=800, n_records=4, steps_per_call=200)
    res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False)
    ov = {k: TH.subspace_overlap(res.W, eig.vectors[:, :k]) for k in (1, 10, 50)}
    print(f"d=50 overlaps {ov}; wall {res.wall_time:.0f} s; {res.pairs_per_second:.3g} pairs/s")
    assert ov[1] >= 0.95   # measured 0.987
    assert ov[10] >= 0.85  # measured 0.911
    assert 0.40 <= ov[50] < 0.95  # measured 0.459: the noise floor, see the docstring


# Configurations that reach top-50 overlap >= 0.95 at ci with the lower-variance estimators
# (bench/bench_train.py --overlap-curve --negatives uniform,exact prints their curves).
# Cosine schedule, t = 2 sum(eta) = lr * steps = 1.2 (the noise-free flow: 0.953 at t = 0.7,
# 0.980 at t = 1.2); lr below 2 / |lambda_min(M*)| = 2 / 2315 = 8.6e-4 (stability of the
# flow's Euler step along M*'s most negative eigenvector).
CI_D50_095 = {
    # pure pair sampling, positives from the token stream: 1.2e9 pairs
    "uniform": dict(dim=50, window=16, lr=5e-4, batch_pos=250_000, batch_neg=250_000, steps=2400,
                    schedule="cosine", init_scale=0.05, dtype="float32", negatives="uniform"),
    # quartic and negative terms exact, linear term from co-occurring cells: 5e8 pairs
    "exact": dict(dim=50, window=16, lr=6e-4, batch_pos=125_000, batch_neg=125_000, steps=2000,
                  schedule="cosine", init_scale=0.05, dtype="float32", negatives="exact"),
}


@pytest.mark.slow  # uniform 140-170 s, exact 55-105 s on a shared 2-core CPU
@pytest.mark.parametrize("negatives", ["uniform", "exact"])
def test_ci_qwem_d50_subspace_overlap_reaches_0_95(negatives):
    """The issue's check: CPU SGD of QWEM at ci (V = 2000, d = 50) ends with the top-50
    subspace of W overlapping M*'s top-50 eigenvectors >= 0.95 (theory.subspace_overlap).

    Measured (seeded, float32, shared 2-core CPU): uniform 0.960 (top-1 0.999, top-10 0.997)
    in 140-170 s; exact 0.966 (1.000, 0.999) in 55-105 s; the noise-free flow at t = 1.2: 0.980.
    The paper's sampler with uniform's configuration diverges (step 59: lr/B = 2e-9 with
    weights up to 1.4e8); with half its lr (stable, t = 0.6) the same 1.2e9 pairs end at
    0.817. So the assertion fails with the paper's noise, and an estimator whose
    expectation were not (W W^T - M*) W would not approach M*'s top subspace at all.
    """
    st = _ci_stats()
    from qwemlib import theory as TH

    eig = TH.top_eigenpairs(st.M, 50)
    cfg = T.TrainConfig(**CI_D50_095[negatives], n_records=2, steps_per_call=200, record_objective=False)
    assert abs(T.time_of_step(cfg, cfg.steps) - 1.2) < 1e-3  # t = 2 sum(eta) = lr (steps + 1)
    res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False)
    ov = {k: TH.subspace_overlap(res.W, eig.vectors[:, :k]) for k in (1, 10, 50)}
    print(f"{negatives}: d=50 overlaps {ov}; wall {res.wall_time:.0f} s; {res.pairs_per_second:.3g} pairs/s")
    assert ov[1] >= 0.99
    assert ov[10] >= 0.99
    assert ov[50] >= 0.95
