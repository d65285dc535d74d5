"""book/07's linear-structure experiment: one computation, live or stored, and criteria that can fail.

Synthetic inputs feed each of the chapter's claims (qwemlib/experiments/_linear_claims.py)
a right and a deliberately wrong prediction (a family-independent rise time, a reversed or
shuffled order, random word pairs as "families", a bulk far from MP) and show that the
criterion accepts the first and rejects the second; at the ci preset (seconds) the same is
shown on the real families, and the chapter's printed numbers are pinned; the stored form
round-trips and the stored local file must load and re-export unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

import qwemlib
from qwemlib import experiments as ex
from qwemlib import results
from qwemlib.experiments._linear_claims import CLAIMS, measure_claims
from qwemlib.results import StoredResultError

# --------------------------------------------------------------------------- synthetic


def _fit(ks=0.1, n_outliers=1, d_eff=5.0):
    return SimpleNamespace(ks_distance=ks, n_outliers=n_outliers, d_eff=d_eff)


def _synthetic(d_rise=(3, 8, 13, 18), D=20, ks=0.1):
    """A LinearStructure whose families' accuracies rise at d = d_rise and, in the flow, at tau[d - 1]."""
    fams = [f"fam{j}" for j in range(len(d_rise))]
    tau = np.linspace(0.05, 0.3, D)
    grid = np.arange(2, D + 1)
    acc_grid = np.array([[0.4 if d >= dr else 0.0 for dr in d_rise] for d in grid])
    times = np.geomspace(0.03, 0.4, 60)
    acc_flow = np.array([[0.4 if t >= tau[dr - 1] else 0.0 for dr in d_rise] for t in times])
    pairs = {f: [(f"a{i}", f"b{i}") for i in range(6 + j)] for j, f in enumerate(fams)}
    Ns = {f: len(p) for f, p in pairs.items()}
    # every family's SNR: peak/final 2.5
    snr = {f: np.concatenate([np.linspace(1, 5, 8), np.linspace(5, 2, D - 8)]) for f in fams}
    return ex.LinearStructure(
        source="live", source_text="synthetic", V=100, D=D, eigenvalues=np.linspace(10, 1, D),
        pairs_all=pairs, fams=fams, rbar={f: np.ones(D) for f in fams},
        feature_words_pos=np.full((D, 8), "w"), feature_words_neg=np.full((D, 8), "v"),
        d_list=[4, 10, D], spectra={}, fits={(f, d): _fit(ks) for f in fams for d in (4, 10, D)},
        sim={(f, d): 0.95 for f in fams for d in (4, 10, D)}, null_ks={N: 0.1 for N in Ns.values()},
        snr_d=snr, base95={N: np.full(D, 3.0) for N in Ns.values()}, d_grid=grid, acc_grid=acc_grid,
        tau=tau, flow_times=times, acc_flow=acc_flow, flow_nsteps=10,
        base_fall={N: np.linspace(1.2, 1.8, 60) for N in Ns.values()})


def _sgd(ls, shift=1.0):
    """A stored-SGD stand-in whose families rise at ``shift`` times the flow's half-rise times."""
    return ex.LinearSGD(times=ls.flow_times * shift, acc=ls.acc_flow, tau_own_init=ls.tau,
                        config={}, provenance={}, wall_s=1.0)


def test_half_max_times_is_the_first_record_at_half_the_maximum():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 1, 30))
    acc = rng.uniform(0, 1, (30, 5))
    expected = [t[int(np.argmax(acc[:, j] >= 0.5 * acc[:, j].max()))] for j in range(5)]
    np.testing.assert_array_equal(ex.half_max_times(t, acc), expected)


def test_rise_times_accept_the_right_prediction():
    ls = _synthetic()
    rise = ex.rise_times(ls, _sgd(ls), "synthetic")
    assert [p["d_half"] for p in rise.pred.values()] == [3, 8, 13, 18]
    assert rise.n_close == 4 and abs(np.log(rise.ratio_med)) < np.log(1.1)
    assert rise.n_close_sgd == 4 and "4 of the 4 families" in rise.sgd_text
    rise = ex.rise_times(ls, None, "local")
    assert rise.ratio_sgd_med is None and "No SGD run is stored at the local preset" in rise.sgd_text


# --------------------------------------------------------------------------- the claims, right and wrong


def _verdicts(ls, sgd=None, **kw):
    return {v.claim.key: v for v in ex.linear_verdicts(ls, sgd, **kw)}


def test_claims_are_in_the_register_and_every_criterion_is_evaluated():
    ls = _synthetic()
    vs = ex.linear_verdicts(ls, _sgd(ls))
    assert [v.claim.key for v in vs] == [c.key for c in CLAIMS]
    assert all(ex.REGISTER[c.key] == c for c in CLAIMS)
    assert all(v.verdict in ex.VERDICTS for v in vs)
    assert all(v.claim.chapter == "book/07_linear_structure.md" for v in vs)


def test_spearman_greater_is_scipys_one_sided_test_and_a_constant_orders_nothing():
    from scipy import stats as sps

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=9), rng.normal(size=9)
    r = sps.spearmanr(x, y, alternative="greater")
    assert ex.spearman_greater(x, y) == pytest.approx((r.statistic, r.pvalue))
    assert ex.spearman_greater(x, -x)[1] > 0.99          # perfectly reversed: no support for rho > 0
    assert ex.spearman_greater(np.ones(9), y) == (0.0, 1.0)


def test_no_constant_beats_the_best_constant():
    rng = np.random.default_rng(4)
    t_obs = np.exp(rng.normal(size=11))
    best = ex.emergence_scores(np.full(11, 1.0), t_obs)["c"]
    for c in (best, best * 1.01, 0.3, 3.0):
        s = ex.emergence_scores(np.full(11, c), t_obs)
        assert s["ratio"] >= 1.0 - 1e-12 and s["p"] == 1.0
    assert ex.emergence_scores(t_obs, t_obs)["ratio"] == 0.0
    with pytest.raises(ValueError, match="positive"):
        ex.emergence_scores([1.0, -1.0], [1.0, 1.0])


@pytest.mark.parametrize("src", ["flow", "sgd"])
def test_rise_time_claims_hold_for_the_right_prediction_and_reject_wrong_ones(src):
    """A family-independent time, the reversed order and a uniform x3 shift must not pass as eq. 13."""
    ls = _synthetic(d_rise=(3, 6, 9, 12, 15, 18))
    sgd = _sgd(ls)
    order, err = f"ch7-rise-order-{src}", f"ch7-rise-error-{src}"
    right = _verdicts(ls, sgd)
    assert right[order].holds and right[err].holds
    t_pred = np.array([p["t_pred"] for p in ex.rise_times(ls, sgd).pred.values()])
    n = len(t_pred)
    wrong = {"tau_1": np.full(n, ls.tau[0]), "median": np.full(n, np.median(t_pred)),
             "reversed": t_pred[::-1]}
    for name, tp in wrong.items():
        v = _verdicts(ls, sgd, rise=ex.rise_times(ls, sgd, t_pred=tp))
        assert v[order].verdict == "fails" and v[err].verdict == "fails", name
    v = _verdicts(ls, sgd, rise=ex.rise_times(ls, sgd, t_pred=3 * t_pred))
    assert v[order].holds and v[err].verdict == "fails"     # the order alone is not the prediction


def test_sgd_claims_are_not_testable_without_a_run():
    v = _verdicts(_synthetic(), None)
    assert v["ch7-rise-order-sgd"].verdict == v["ch7-rise-error-sgd"].verdict == "not testable"
    assert v["ch7-rise-order-flow"].holds
    text = ex.verdict_summary(list(v.values())).glue
    assert text["sgd_follows"].startswith("SGD: not testable")
    assert text["flow_follows"].startswith("Gradient flow follows the prediction")


def test_rise_fall_holds_beyond_the_random_pair_null_and_fails_within_it():
    ls = _synthetic()                                   # peak/final 2.5 against a null of 1.2..1.8
    assert _verdicts(ls)["sec4-snr-rise-fall"].holds
    ls.base_fall = {N: np.linspace(2.0, 3.0, 60) for N in ls.base_fall}   # random pairs fall as much
    assert _verdicts(ls)["sec4-snr-rise-fall"].verdict == "fails"
    ls.base_fall = None                                 # a stored file that predates the null
    v = _verdicts(ls)["sec4-snr-rise-fall"]
    assert v.verdict == "not testable" and "rerun tools/make_results.py" in v.detail


def test_per_family_claims_reject_wrong_inputs():
    ls = _synthetic()
    v = _verdicts(ls)
    for key in ("sec4-spike", "a6-mp-bulk-all", "a6-deff-low", "a6-signal-in-mean", "sec4-not-random"):
        assert v[key].holds, key
    assert v["a6-mp-bulk-big"].verdict == "not testable"            # no family with N >= 20
    ls.sim[ls.fams[0], ls.D] = 0.85                                  # one family below 0.9
    assert _verdicts(ls)["a6-signal-in-mean"].verdict == "fails"
    ls.fits = {k: _fit(n_outliers=0, d_eff=float(ls.D), ks=0.3) for k in ls.fits}
    ls.base95 = {N: np.full(ls.D, 6.0) for N in ls.base95}          # no family beats random pairs
    v = _verdicts(ls)
    for key in ("sec4-spike", "a6-mp-bulk-all", "a6-deff-low", "sec4-not-random"):
        assert v[key].verdict == "fails", key


def test_ks_bound_for_big_families():
    ls = _synthetic(ks=0.1)
    ls.pairs_all[ls.fams[0]] = [(f"a{i}", f"b{i}") for i in range(25)]
    ls.null_ks[25] = 0.1
    ls.base95[25], ls.base_fall[25] = np.full(ls.D, 3.0), np.linspace(1.2, 1.8, 60)
    assert _verdicts(ls)["a6-mp-bulk-big"].holds
    ls.fits[ls.fams[0], ls.D] = _fit(ks=0.2)                        # a big family 0.2 from MP
    assert _verdicts(ls)["a6-mp-bulk-big"].verdict == "fails"


def test_snr_accuracy_claim_rejects_a_reversed_order():
    ls = _synthetic(d_rise=(3, 6, 9, 12, 15, 18))
    snr = np.arange(1.0, 7.0)
    corr = {"rho_exc": 0.0, "p_exc": 1.0}
    rho, p = ex.spearman_greater(snr, snr)
    assert _verdicts(ls, corr=corr | {"rho_raw": rho, "p_raw": p})["sec4-snr-accuracy"].holds
    rho, p = ex.spearman_greater(snr, snr[::-1])
    assert _verdicts(ls, corr=corr | {"rho_raw": rho, "p_raw": p})["sec4-snr-accuracy"].verdict == "fails"


def test_feature_words_need_enough_stored_words():
    ls = _synthetic()
    assert ls.feature_words(0, +1, 3) == "w, w, w" and ls.feature_words(0, -1, 2) == "v, v"
    with pytest.raises(ValueError, match="only 8 words"):
        ls.feature_words(0, 1, 9)


# --------------------------------------------------------------------------- ci (live) and local (stored)


@pytest.fixture(scope="module")
def ci_linear(ci_stats):
    return ex.compute_linear_structure(ci_stats)


def test_ci_live_numbers_are_the_chapters(ci_linear):
    ls = ci_linear
    assert ls.source == "live" and (ls.V, ls.D) == (2000, 50)
    assert len(ls.fams) == 8 and max(ls.Ns.values()) == 14
    assert f"{ls.tau[0]:.4f} {ls.tau[-1]:.4f}" == "0.0434 0.2650"
    rise = ex.rise_times(ls, None)
    assert f"{rise.ratio_med:.2f}" == "0.99" and rise.n_close == 7
    v = _verdicts(ls, None, rise=rise)
    assert "ρ = +0.90 (one-sided p = 0.001)" in v["ch7-rise-order-flow"].detail
    assert v["a6-signal-in-mean"].detail.startswith("2 of 8 families")
    assert v["a6-mp-bulk-big"].verdict == "not testable"


def test_ci_flow_claims_reject_a_constant_and_a_shuffled_prediction(ci_linear):
    rise = ex.rise_times(ci_linear, None)
    t_pred = np.array([p["t_pred"] for p in rise.pred.values()])
    perm = np.random.default_rng(0).permutation(len(t_pred))
    for tp in (np.full(len(t_pred), ci_linear.tau[0]), np.full(len(t_pred), np.median(t_pred)), t_pred[perm]):
        v = _verdicts(ci_linear, None, rise=ex.rise_times(ci_linear, None, t_pred=tp))
        assert v["ch7-rise-order-flow"].verdict == v["ch7-rise-error-flow"].verdict == "fails", tp


def test_ci_random_pairs_as_families_fail_the_family_claims(ci_linear):
    """Random word pairs with each family's N replace the families: no spike claim may hold for them."""
    from qwemlib import rmt

    ls = copy.copy(ci_linear)
    rng = np.random.default_rng(7)
    ls.snr_d, ls.sim = dict(ls.snr_d), dict(ls.sim)
    for f in ls.fams:
        ij = np.array([rng.choice(ls.V, size=2, replace=False) for _ in range(ls.Ns[f])])
        R = ls.W[ij[:, 1]] - ls.W[ij[:, 0]]
        ls.snr_d[f] = np.array([rmt.snr(rmt.gram_spectrum(R[:, :d])) for d in ls.d_all])
        ls.sim[f, ls.D] = rmt.signal_in_mean(R)
    v = _verdicts(ls, None, rise=ex.rise_times(ci_linear, None))
    for key in ("sec4-snr-rise-fall", "a6-signal-in-mean", "sec4-not-random"):
        assert v[key].verdict == "fails", (key, v[key].detail)


def test_ci_localization_claims_tell_a_handful_from_one_feature_and_from_random_pairs(ci_linear):
    """sec4-localized / sec4-not-single on wrong inputs: every family's mean replaced by an even mix of
    4 features (both hold), by one feature (not-single fails), by the mean of random word pairs with
    the family's N (localized fails), and with the random-pair null missing (not testable)."""
    def judged(rbar, **kw):
        ls = dataclasses.replace(ci_linear, rbar=rbar, **kw)
        v = _verdicts(ls, None, rise=ex.rise_times(ci_linear, None))
        return v["sec4-localized"].verdict, v["sec4-not-single"].verdict

    four = np.r_[np.ones(4), np.zeros(ci_linear.D - 4)]
    assert judged({f: four for f in ci_linear.fams}) == ("holds", "holds")
    assert judged({f: np.eye(ci_linear.D)[3] for f in ci_linear.fams}) == ("holds", "fails")
    rng = np.random.default_rng(11)
    rand = {}
    for f in ci_linear.fams:
        ij = np.array([rng.choice(ci_linear.V, size=2, replace=False) for _ in range(ci_linear.Ns[f])])
        rand[f] = (ci_linear.W[ij[:, 1]] - ci_linear.W[ij[:, 0]]).mean(axis=0)
    assert judged(rand)[0] == "fails"
    assert judged(ci_linear.rbar, base_pr=None)[0] == "not testable"


def test_ci_stored_sgd_matches_the_chapter(ci_linear):
    sgd = ex.stored_linear_sgd(qwemlib.preset("ci"), ci_linear)
    if sgd is None:
        pytest.skip("data/results/ci/linear_sgd.npz is not stored")
    rise = ex.rise_times(ci_linear, sgd, "ci")
    assert f"{rise.ratio_sgd_med:.2f}" == "0.96" and rise.n_close_sgd == 7
    v = _verdicts(ci_linear, sgd, rise=rise)
    assert "ρ = +0.29 (one-sided p = 0.245)" in v["ch7-rise-order-sgd"].detail
    constant = ex.rise_times(ci_linear, sgd, t_pred=np.full(8, ci_linear.tau[0]))
    v = _verdicts(ci_linear, sgd, rise=constant)      # a family-independent t_pred fails on SGD too
    assert v["ch7-rise-order-sgd"].verdict == v["ch7-rise-error-sgd"].verdict == "fails"


def test_live_result_round_trips_through_the_stored_form(ci_linear, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ROOT", tmp_path)
    (tmp_path / "ci").mkdir()
    results.save_npz(tmp_path / "ci" / "linear_structure.npz", **ci_linear.to_arrays())
    back = ex.load_linear_structure(qwemlib.preset("ci"))
    assert back.source == "stored" and back.fams == ci_linear.fams
    for f in back.fams:
        np.testing.assert_array_equal(back.snr_d[f], ci_linear.snr_d[f])
    np.testing.assert_array_equal(back.acc_flow, ci_linear.acc_flow)
    assert back.base_fall.keys() == ci_linear.base_fall.keys()
    for N, b in back.base_fall.items():
        np.testing.assert_array_equal(b, ci_linear.base_fall[N])
    assert ex.family_summary_table(back).equals(ex.family_summary_table(ci_linear))


def _local_copy(tmp_path, monkeypatch):
    src = results.stored_path("local", "linear_structure.npz")
    if not src.exists():
        pytest.skip("data/results/local/linear_structure.npz is not stored")
    shutil.copytree(src.parent, tmp_path / "local")
    monkeypatch.setattr(results, "ROOT", tmp_path)
    return src


def test_stored_local_file_loads_and_re_exports_unchanged(tmp_path, monkeypatch):
    src = _local_copy(tmp_path, monkeypatch)
    ls = ex.linear_structure(qwemlib.preset("local"))
    assert ls.source == "stored" and ls.source_text.startswith("source: stored results")
    with np.load(src) as z:
        stored = {k: z[k] for k in z.files}
    arrays = ls.to_arrays()
    assert sorted(arrays) == sorted(stored)
    for k, v in stored.items():
        if k.startswith("fit/"):                # refitted from the stored spectra (rtol 1e-9)
            np.testing.assert_allclose(arrays[k], v, rtol=1e-9)
        else:
            np.testing.assert_array_equal(arrays[k], v, err_msg=k)


def test_stored_file_made_with_other_constants_is_refused(tmp_path, monkeypatch):
    src = _local_copy(tmp_path, monkeypatch)
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["const/n_base"] = np.asarray(30)
    results.save_npz(tmp_path / "local" / "linear_structure.npz", **arrays)
    with pytest.raises(StoredResultError, match="n_base = 30"):
        ex.linear_structure(qwemlib.preset("local"))


def test_missing_stored_file_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ROOT", tmp_path)
    with pytest.raises(StoredResultError, match="make_results.py --scale local"):
        ex.linear_structure(qwemlib.preset("local"))


def test_measure_claims_at_local_reads_the_stored_file(tmp_path, monkeypatch):
    _local_copy(tmp_path, monkeypatch)
    vs = measure_claims("local")
    assert [v.claim.key for v in vs] == [c.key for c in CLAIMS]
    assert all(v.verdict in ex.VERDICTS for v in vs)
    by = {v.claim.key: v for v in vs}
    assert by["a6-mp-bulk-big"].verdict != "not testable"           # local has families with N >= 20


def test_run_linear_structure_writes_its_file_and_replaces_its_readme_section(ci_stats, tmp_path):
    """``make_results --only linear`` (here at ci, without the flow): the file, the meta's
    ``linear structure:`` timings and one README section per rerun; other sections are kept."""
    (tmp_path / "README.md").write_text("# stored\n\n## Appended by `python tools/other.py`\n\n- kept\n")
    results.save_benchmark(tmp_path / "benchmark.json", [{"model": "x"}],
                           {"timings_s": {"linear structure: old": 1.0, "gensim": 2.0}})
    cmd = "python tools/make_results.py --scale ci --only linear"
    for _ in range(2):
        path = ex.run_linear_structure(qwemlib.preset("ci"), cmd, tmp_path, flow=False,
                                       log=lambda *a, **k: None)
    with np.load(path) as z:
        assert {"base_pr_N", "base_pr", "base_fall", "snr_d"} <= set(z.files) and "acc_flow" not in z.files
    text = (tmp_path / "README.md").read_text()
    assert text.count("--only linear`") == 1 and "- kept" in text
    rows, meta = results.read_benchmark("ci", folder=tmp_path)
    assert rows == [{"model": "x"}] and meta["linear_run"]["command"] == cmd
    assert "linear structure: old" not in meta["timings_s"] and meta["timings_s"]["gensim"] == 2.0
