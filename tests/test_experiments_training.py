"""Tests for qwemlib.experiments' training experiment (book/05) and its checks.

The checks are fed synthetic records in which SGD follows the closed form exactly,
then a deliberately wrong prediction: each check must fail on it.
"""

import numpy as np
import pytest

from qwemlib import experiments as ex
from qwemlib import results
from qwemlib import train as T

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
    assert tuple(ex.RUNS) == results.TRAIN_RUNS == tuple(ex.RUN_LABELS)


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
    assert ex.check_training(_records(), **GOOD) == []
    out = capsys.readouterr().out
    assert "source: stored" in out and "modes 1-3: [1. 1. 1.]" in out


@pytest.mark.parametrize("wrong, match", [
    (dict(rec=_records(shift=1.3)), "half-rise"),                  # the prediction is 30 % early
    (dict(rec=_records(overlap=0.5)), "final overlaps"),           # the eigenvectors are not learned
    (dict(slope=-0.1), "sampler slope"),                           # a biased estimator plateaus
    (dict(errs={1: 10.0, 64: 5.0}), "64 batches"),
    (dict(live_err=0.01), "live steps"),                           # the replay does not repeat the run
    (dict(est=GOOD["est"] | {"exact": {"K = 1": 3.6, "K = 16": 0.9}}), "exact less noisy"),
    (dict(floor=-1e9), "excess loss"),                             # a floor that no run approaches
])
def test_each_check_fails_on_a_wrong_prediction(wrong, match):
    kw = GOOD | {k: v for k, v in wrong.items() if k != "rec"}
    with pytest.raises(AssertionError, match=match):
        ex.check_training(wrong.get("rec", _records()), **kw)


def test_claims_of_the_stored_runs_are_reported_not_asserted_on_live_runs(capsys):
    unjudged = ex.check_training(_records(source="live (short)", shift=1.3), **GOOD)
    assert any("half-rise" in u for u in unjudged)
    assert "reported, not asserted on live (short) runs" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="sampler slope"):   # the live checks still hold
        ex.check_training(_records(source="live (short)"), **GOOD | {"slope": 0.0})


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


def test_load_or_train_falls_back_to_live_runs_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(results, "ROOT", tmp_path)   # no stored results for any preset
    calls = []

    def fake_train(st, eig, preset, *, steps, lr, log):
        calls.append(lr)
        if len(calls) < 3:
            raise T.TrainingDiverged("loss is nan at step 6: lower the learning rate")
        return "tr"

    monkeypatch.setattr(ex._training, "train_against_theory", fake_train)
    monkeypatch.setattr(ex._training, "train_arrays", lambda tr, eig, words: {})
    monkeypatch.setattr(ex._training.TrainingRecords, "from_arrays",
                        classmethod(lambda cls, z, c, source, d: cls({}, LAM, 1.0, [], {}, source, d)))
    monkeypatch.setattr(ex._training, "run_configs", lambda tr: {})
    rec = ex.load_or_train(type("St", (), {"words": []})(), None, _Preset())
    assert rec.source == "live (short)" and calls == pytest.approx([2.5e-4, 2.5e-5, 2.5e-6])
    out = capsys.readouterr().out
    assert "trying lr 2.5e-05" in out and "source: live short runs" in out and "--scale nowhere" in out


def test_train_live_gives_up_after_the_last_try(monkeypatch):
    def diverge(*a, **k):
        raise T.TrainingDiverged("nan")

    monkeypatch.setattr(ex._training, "train_against_theory", diverge)
    with pytest.raises(RuntimeError, match="no stable step size"):
        ex.train_live(None, None, _Preset(), tries=2, log=lambda *a: None)


def test_stored_runs_for_other_statistics_are_an_error(monkeypatch):
    monkeypatch.setattr(ex._training, "load_stored_runs", lambda preset: _records())
    eig = type("Eig", (), {"values": LAM * 1.01})()
    with pytest.raises(results.StoredResultError, match="other statistics"):
        ex.load_or_train(None, eig, _Preset())
