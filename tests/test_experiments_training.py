"""Tests for qwemlib.experiments' training experiment (book/05) and its checks.

The checks are fed synthetic records in which SGD follows the closed form exactly,
then a deliberately wrong prediction: each check must fail on it.
"""

import numpy as np
import pytest

from qwemlib import experiments as ex
from qwemlib import results

LAM = np.array([40.0, 30.0, 20.0, 10.0])
KS = np.array([1, 3, 4])


def _s2(t, lam=LAM, s0=1e-4):
    """Eq. 11 for aligned modes from s_k(0)^2 = s0: a sigmoid from s0 to lambda_k."""
    e = np.exp(2 * lam * t[:, None])
    return lam * s0 * e / (lam + s0 * (e - 1))


def _records(source="stored", shift=1.0, overlap=0.99) -> ex.TrainingRecords:
    t = np.linspace(0, 1.0, 200)
    runs, configs = {}, {}
    for key in results.TRAIN_RUNS:
        sv2 = _s2(t / shift)            # SGD, with its steps at shift x the predicted times
        obj = 0.25 * np.sum((sv2 - LAM) ** 2, axis=1) + 5.0
        runs[key] = {"steps": np.arange(len(t)), "times": t, "loss": obj, "objective": obj,
                     "singular_values": np.sqrt(sv2), "analogy_accuracy": np.linspace(0, 0.3, len(t)),
                     "overlap": np.full((len(t), len(KS)), overlap), "overlap_k": KS,
                     "theory_t": t, "theory_s2": _s2(t), "theory_loss": obj, "tau": np.ones(4),
                     "s0": np.ones(4), "pc": np.zeros((len(t), 5, 3), np.float16), "lr": 1e-3}
        configs[key] = {"loss": key.split("-")[0], "init": "gaussian", "init_scale": 1e-3, "steps": 199,
                        "batch_pos": 10, "batch_neg": 10, "lr": 1e-3, "wall_s": 1.0, "device": "cpu:cpu"}
    return ex.TrainingRecords(runs, LAM, 2.0, ["a"] * 5, configs, source, f"source: {source}")


GOOD = dict(vocab=100, floor=5.0, live_err=0.0, slope=-0.5, errs={1: 10.0, 64: 1.25},
            est={"unigram": {"K = 1": 10.0, "K = 16": 2.5}, "uniform": {"K = 1": 3.6, "K = 16": 0.9},
                 "exact": {"K = 1": 1.2, "K = 16": 0.3}})


def test_record_steps_resolve_the_start_and_the_whole_run():
    r = ex.record_steps(600)
    assert r[0] == 0 and r[-1] == 600 and list(r) == sorted(set(r))
    assert {1, 2, 4, 30, 300} <= set(r) and len(r) == 34   # the stored ci runs' 34 records


def test_runs_are_the_declared_schema():
    assert tuple(ex.RUNS) == results.TRAIN_RUNS == tuple(ex.PLANS["ci"])
    for plan in ex.PLANS.values():
        assert set(plan) <= set(ex.RUN_LABELS)


def test_plans_reach_the_same_theory_time_and_overrides_apply():
    """The exact-terms and SGNS local runs reach t_end ~ 0.25 (step schedule: t = 2 lr steps
    (0.75 + 0.025)); the paper's sampler, at the stable per-pair step lr / B = 1e-11, a quarter."""
    local = ex.PLANS["local"]
    for key in ("qwem-exact-small", "sgns-small"):
        assert 2 * local[key].lr * local[key].steps * 0.775 == pytest.approx(0.25, rel=0.02)
    paper = local["qwem-small"]
    assert paper.negatives == "unigram" and paper.lr / paper.batch == pytest.approx(1e-11)
    assert 2 * paper.lr * paper.steps * 0.775 == pytest.approx(0.0625, rel=0.02)
    quick = ex.training_plan("local", steps=5, backend="jax")
    assert {r.steps for r in quick.values()} == {5} and {r.backend for r in quick.values()} == {"jax"}
    with pytest.raises(ValueError, match="no training plan"):
        ex.training_plan("nowhere")


def test_analogy_records_are_log_spaced_and_keep_the_ends():
    r = ex._training_plan.analogy_records(83, 16)
    assert 0 in r and 82 in r and len(r) <= 16
    assert ex._training_plan.analogy_records(10, None) == set(range(10))


def test_half_rise_rows_follow_the_one_definition():
    rows = ex.half_rise_rows(_records(), keys=("qwem-small",), n_modes=4)
    assert [r["mode k"] for r in rows] == [1, 2, 3, 4]
    assert np.allclose([r["ratio"] for r in rows], 1.0)
    slow = ex.half_rise_rows(_records(shift=1.3), keys=("qwem-small",), n_modes=3)
    assert np.allclose([r["ratio"] for r in slow], 1.3, rtol=0.02)


def test_moments_are_start_half_rises_and_end():
    s = np.sqrt(_s2(np.linspace(0, 1, 50)))
    m = ex.moments(s, n_modes=2)
    assert m[0] == 0 and m[-1] == 49 and len(m) == 4
    assert s[m[1], 0] >= 0.5 * s[-1, 0] > s[m[1] - 1, 0]


def test_rank_d_floor_and_excess_losses():
    M = np.diag([3.0, 2.0, 1.0])
    assert ex.rank_d_floor(M, [3.0, 2.0]) == pytest.approx(0.25)
    r = _records().runs["qwem-small"]
    c = ex.excess_losses(r, LAM, 5.0)
    assert np.allclose(c["aligned"], c["exact"]) and np.allclose(c["theory"], c["aligned"])


def test_check_passes_on_records_that_follow_the_theory(capsys):
    verdicts = ex.check_training(_records(), **GOOD)
    v = {x.claim.key: x.verdict for x in verdicts}
    assert v["fig2-clock-paper"] == "holds" and v["thm1-sgd-subspace-paper"] == "holds"
    assert v["fig2-clock-variance-reduced"] == "not testable"   # no such run in these records
    assert "source: stored" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (dict(slope=-0.1), "sampler slope"),                           # a biased estimator plateaus
    (dict(errs={1: 10.0, 64: 5.0}), "64 batches"),
    (dict(live_err=0.01), "live steps"),                           # the replay does not repeat the run
    (dict(est=GOOD["est"] | {"exact": {"K = 1": 3.6, "K = 16": 0.9}}), "exact less noisy"),
])
def test_each_trainer_check_fails_on_a_wrong_input(wrong, match):
    with pytest.raises(AssertionError, match=match):
        ex.check_training(_records(), **GOOD | wrong)


def _verdict(rec, key, **kw):
    return next(v for v in ex.training_verdicts(rec, **kw) if v.claim.key == key)


def test_figure2_claim_fails_on_a_wrong_clock_or_a_constant_prediction():
    assert _verdict(_records(), "fig2-clock-paper").verdict == "holds"
    assert _verdict(_records(shift=1.3), "fig2-clock-paper").verdict == "fails"   # SGD 30 % late
    # t = 2 g sum(eta) without its 2
    assert _verdict(_records(shift=0.5), "fig2-clock-paper").verdict == "fails"
    # a prediction that ignores the eigenvalues: every mode at the median half-rise time
    t = ex.half_rise_rows(_records(), n_modes=None)
    const = np.full(len(LAM), np.median([r["t_half theory"] for r in t]))
    assert _verdict(_records(), "fig2-clock-paper", predicted={"qwem-small": const}).verdict == "fails"
    # shuffled predictions (the right times, the wrong modes)
    shuf = np.array([r["t_half theory"] for r in t])[::-1]
    assert _verdict(_records(), "fig2-clock-paper", predicted={"qwem-small": shuf}).verdict == "fails"


def test_convergence_claim_fails_when_the_subspace_is_not_learned():
    assert _verdict(_records(overlap=0.5), "thm1-sgd-subspace-paper").verdict == "fails"
    assert _verdict(None, "thm1-sgd-subspace-paper").verdict == "not testable"


def test_mode_agreement_reports_the_distribution():
    a = ex.mode_agreement([1.0, 2.1, np.nan], [1.0, 2.0, 3.0])
    assert a["n"] == 2 and a["median"] == pytest.approx(1.025) and a["worst"] == pytest.approx(1.05)
    assert a["within10"] == 1.0 and np.isnan(a["ratios"][2])
    assert ex.mode_agreement([np.nan], [1.0])["n"] == 0


def test_claims_are_in_the_register():
    assert {c.key for c in ex._training_checks.CLAIMS} <= set(ex.REGISTER)


def test_stored_runs_round_trip_through_results(tmp_path, monkeypatch):
    rec = _records()
    arrays = {"eigenvalues": LAM, "g_sgns": np.float64(2.0), "pc_words": np.array(["a"] * 5)}
    arrays |= {f"{k}/{f}": np.asarray(v) for k, r in rec.runs.items() for f, v in r.items()}
    folder = tmp_path / "ci"
    results.save_npz(folder / "train.npz", **arrays)
    with pytest.raises(results.StoredResultError, match="benchmark.json"):
        ex.load_stored_runs("ci", folder=folder)
    results.save_benchmark(folder / "benchmark.json", [], {"sgd": rec.configs, "command": "c", "commit": "x"})
    back = ex.load_stored_runs("ci", folder=folder)
    assert back.source == "stored" and "command: c" in back.description
    assert np.array_equal(back.runs["sgns-w2v"]["theory_s2"], rec.runs["sgns-w2v"]["theory_s2"])
    assert ex.config_rows(back)["QWEM, small init"]["final t"] == "1.000"


class _Preset:
    name, dim, window = "nowhere", 4, 2


def test_no_stored_runs_is_an_error_that_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ROOT", tmp_path)   # no stored results for any preset
    with pytest.raises(results.StoredResultError, match="--scale nowhere --only train"):
        ex.load_training_runs(None, _Preset())


def test_stored_runs_for_other_statistics_are_an_error(monkeypatch):
    monkeypatch.setattr(ex._training, "load_stored_runs", lambda preset: _records())
    eig = type("Eig", (), {"values": LAM * 1.01})()
    with pytest.raises(results.StoredResultError, match="other statistics"):
        ex.load_training_runs(eig, _Preset())
    # another eigensolve of the same statistics (each within 1e-4 lambda_1) is accepted:
    # the stored local runs were compared with Chebyshev's eigenvalues, the book's with
    # block Lanczos's, 2.5e-5 lambda_1 apart
    rng = np.random.default_rng(0)
    other_solve = LAM + rng.uniform(-1e-4, 1e-4, LAM.shape) * abs(LAM[0])
    ex.load_training_runs(type("Eig", (), {"values": other_solve})(), _Preset(), log=lambda s: None)
    with pytest.raises(results.StoredResultError, match="other statistics"):   # fewer modes
        ex.load_training_runs(type("Eig", (), {"values": LAM[:-1]})(), _Preset())


def test_a_stored_file_lacking_a_run_listed_in_its_meta_is_an_error(tmp_path):
    rec = _records()
    arrays = {"eigenvalues": LAM, "g_sgns": np.float64(2.0), "pc_words": np.array(["a"] * 5)}
    kept = {k: r for k, r in rec.runs.items() if k != "sgns-w2v"}
    arrays |= {f"{k}/{f}": np.asarray(v) for k, r in kept.items() for f, v in r.items()}
    folder = tmp_path / "ci"
    results.save_npz(folder / "train.npz", **arrays)
    results.save_benchmark(folder / "benchmark.json", [], {"sgd": rec.configs, "command": "c", "commit": "x"})
    with pytest.raises(results.StoredResultError, match="sgns-w2v"):
        ex.load_stored_runs("ci", folder=folder)


@pytest.mark.parametrize("preset", ["ci", "local"])
def test_stored_runs_have_the_schema(preset):
    """The committed train.npz of each preset: every run of its meta with all fields, and
    (where written) the final embeddings as float16 on the file's vocabulary."""
    rec = ex.load_stored_runs(preset)
    if rec is None:
        pytest.skip(f"no train.npz stored at {preset}")
    z = results.load_npz(preset, "train.npz")
    V, d = len(z["words"]) if "words" in z else 0, len(rec.eigenvalues)
    for r in rec.runs.values():
        assert set(results.TRAIN_RUN_FIELDS) <= set(r)
        n = len(r["steps"])
        assert r["singular_values"].shape == (n, len(rec.eigenvalues)) and r["overlap"].shape[0] == n
        assert np.all(np.diff(r["times"]) > 0)
        if "W_final" in r:
            assert r["W_final"].dtype == np.float16 and r["W_final"].shape == (V, d)
