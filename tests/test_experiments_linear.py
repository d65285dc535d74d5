"""book/07's linear-structure experiment: one computation, live or stored, and checks that can fail.

Synthetic inputs feed each check (and the half-rise rule) a wrong prediction and show it
fails; the ci preset (seconds) pins the chapter's printed numbers and shows that the
stored form round-trips; the stored local file must load and re-export unchanged.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

import qwemlib
from qwemlib import experiments as ex
from qwemlib import results
from qwemlib.results import StoredResultError

# --------------------------------------------------------------------------- synthetic


def _fit(ks=0.1, n_outliers=1, d_eff=10.0):
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
    snr = {f: np.concatenate([np.linspace(1, 5, 8), np.linspace(5, 2, D - 8)]) for f in fams}
    return ex.LinearStructure(
        source="live", source_text="synthetic", V=100, D=D, eigenvalues=np.linspace(10, 1, D),
        pairs_all=pairs, fams=fams, rbar={f: np.ones(D) for f in fams},
        feature_words_pos=np.full((D, 8), "w"), feature_words_neg=np.full((D, 8), "v"),
        d_list=[4, 10, D], spectra={}, fits={(f, d): _fit(ks) for f in fams for d in (4, 10, D)},
        sim={(f, d): 0.95 for f in fams for d in (4, 10, D)}, null_ks={N: 0.1 for N in Ns.values()},
        snr_d=snr, base95={N: np.full(D, 3.0) for N in Ns.values()}, d_grid=grid, acc_grid=acc_grid,
        tau=tau, flow_times=times, acc_flow=acc_flow, flow_nsteps=10)


def _sgd(ls, shift=1.0):
    """A stored-SGD stand-in whose families rise at ``shift`` times the flow's half-rise times."""
    return ex.LinearSGD(times=ls.flow_times * shift, acc=ls.acc_flow, tau_own_init=ls.tau,
                        config={}, provenance={}, wall_s=1.0)


def test_verdicts():
    assert ex.verdict([True, True]) == "holds"
    assert ex.verdict([False, False]) == "does not hold"
    assert ex.verdict([True, False, False]) == "partly (1 of 3)"
    assert ex.correlation_verdict(0.8, 0.01) == "holds"
    assert ex.correlation_verdict(0.3, 0.4) == "partly"
    assert ex.correlation_verdict(-0.3, 0.01) == "does not hold"


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
    assert "median t_flow / t_pred" in ex.check_flow_timing(rise, 2.0)
    assert "4 of 4 families" in ex.check_sgd_timing(rise, 1.5)


def test_rise_time_checks_fail_on_a_family_independent_prediction():
    """'Every family's analogies appear with the first mode' (t_pred = tau_1 for all) must fail."""
    ls = _synthetic()
    wrong = np.full(len(ls.fams), ls.tau[0])
    rise = ex.rise_times(ls, _sgd(ls), t_pred=wrong)
    with pytest.raises(AssertionError):
        ex.check_flow_timing(rise, 2.0)
    with pytest.raises(AssertionError):
        ex.check_sgd_timing(rise, 1.5)


def test_sgd_check_fails_on_a_late_run_and_is_skipped_without_one():
    ls = _synthetic()
    with pytest.raises(AssertionError):
        ex.check_sgd_timing(ex.rise_times(ls, _sgd(ls, shift=2.0)), 1.5)
    rise = ex.rise_times(ls, None, "local")
    assert rise.ratio_sgd_med is None and "No SGD run is stored at the local preset" in rise.sgd_text
    assert "not checked" in ex.check_sgd_timing(rise, 1.5, "local")


def test_bulk_best_family_and_signal_checks_fail_on_wrong_inputs():
    ls = _synthetic()
    ex.check_mp_bulk(ls, 0.15, 0.25)
    ex.check_best_family(ls)
    ex.check_signal_in_mean(ls)
    with pytest.raises(AssertionError):
        ex.check_mp_bulk(_synthetic(ks=0.3), 0.15, 0.25)        # every family too far from MP
    with pytest.raises(AssertionError):                          # N >= 20 families need KS < 0.15
        ex.check_mp_bulk(_synthetic(ks=0.2), 0.15, 0.25, n_big=5)
    ls.base95 = {N: np.full(ls.D, 6.0) for N in ls.base95}        # no family beats the baseline
    with pytest.raises(AssertionError):
        ex.check_best_family(ls)
    ls.sim[ls.fams[0], ls.D] = 1.2
    with pytest.raises(AssertionError):
        ex.check_signal_in_mean(ls)


def test_claims_judge_what_was_measured():
    ls = _synthetic()
    corr = {"rho_raw": -0.5, "p_raw": 0.3}
    table, counts = ex.linear_claims_table(ls, corr, "synthetic")
    v = dict(zip(table.iloc[:, 0], table["verdict"]))
    assert v["The Gram spectrum has an outlier beyond the MP bulk (Sec. 4)"] == "holds"
    assert v["Higher max SNR, higher analogy accuracy (Sec. 4, Fig. 4)"] == "does not hold"
    assert counts == {"n_spike": 4, "n_rise_fall": 4, "n_sim": 4, "n_above": 4}
    ls.fits = {k: _fit(n_outliers=0) for k in ls.fits}
    assert ex.linear_claims_table(ls, corr, "synthetic")[0]["verdict"].iloc[0] == "does not hold"


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
    assert "best family gram6-nationality-adjective: SNR 6.96 at d = 14" in ex.check_best_family(ls)


def test_ci_stored_sgd_matches_the_chapter(ci_linear):
    sgd = ex.stored_linear_sgd(qwemlib.preset("ci"), ci_linear)
    if sgd is None:
        pytest.skip("data/results/ci/linear_sgd.npz is not stored")
    rise = ex.rise_times(ci_linear, sgd, "ci")
    assert f"{rise.ratio_sgd_med:.2f}" == "0.96" and rise.n_close_sgd == 7
    assert "7 of 8 families" in ex.check_sgd_timing(rise, 1.5)
    with pytest.raises(AssertionError):     # a family-independent t_pred = tau_1 fails on SGD too
        ex.check_sgd_timing(ex.rise_times(ci_linear, sgd, t_pred=np.full(8, ci_linear.tau[0])), 1.5)


def test_live_result_round_trips_through_the_stored_form(ci_linear, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ROOT", tmp_path)
    (tmp_path / "ci").mkdir()
    results.save_npz(tmp_path / "ci" / "linear_structure.npz", **ci_linear.to_arrays())
    back = ex.load_linear_structure(qwemlib.preset("ci"))
    assert back.source == "stored" and back.fams == ci_linear.fams
    for f in back.fams:
        np.testing.assert_array_equal(back.snr_d[f], ci_linear.snr_d[f])
    np.testing.assert_array_equal(back.acc_flow, ci_linear.acc_flow)
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
