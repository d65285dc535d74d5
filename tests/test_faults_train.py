"""Fault injection for qwemlib.train (issue 14.3, 14.7): divergent runs on both backends and both
losses, NaN inputs, bad configs, unwritable checkpoints, foreign and truncated checkpoints.

Each case asserts the exception type, that the message names the input and says what to do,
and, where files are involved, that nothing was left half-written (no ``*.tmp``) and that an
existing checkpoint is intact. Runs use the 8-word corpus of tests/train_helpers.py (a few
hundred steps of 500 + 500 pairs: well under a second each once compiled).
"""

from __future__ import annotations

import errno
import os
import re

import numpy as np
import pytest
from train_helpers import L, brute_force_P, tiny_corpus

from qwemlib import train as T

fault = pytest.mark.fault


@pytest.fixture(scope="module")
def tiny():
    ids, off = tiny_corpus()
    return ids, off, brute_force_P(ids, off, L)


def _cfg(**kw):
    base = dict(dim=3, window=L, steps=200, batch_pos=500, batch_neg=500, schedule="constant",
                n_records=20, cpu_threads=1)
    return T.TrainConfig(**(base | kw))


def _no_tmp(folder):
    left = [p for p in os.listdir(folder) if p.endswith(".tmp") or ".tmp" in p]
    assert not left, left


def _advice(msg, lr):
    """The message gives the step, the learning rate as given and a smaller one to try."""
    assert re.search(r"diverged at step \d+ of \d+", msg), msg
    assert f"lr={lr:g}" in msg and "use a smaller learning rate, e.g. lr=" in msg, msg


# ----------------------------------------------------------------------------- divergence

LR_TOO_LARGE = {  # (loss, backend, extra config): each diverges within a few steps
    "qwem-jax": dict(loss="qwem", backend="jax", lr=3.0),
    "qwem-cpu": dict(loss="qwem", backend="cpu-kernel", lr=3.0),
    "qwem-uniform-jax": dict(loss="qwem", backend="jax", lr=3.0, negatives="uniform"),
    "qwem-exact-cpu": dict(loss="qwem", backend="cpu-kernel", lr=3.0, negatives="exact"),
    "sgns-jax": dict(loss="sgns", backend="jax", lr=500.0, subsample=None, init_scale=0.3),
    "sgns-cpu": dict(loss="sgns", backend="cpu-kernel", lr=500.0, subsample=None, init_scale=0.3),
}


@fault("divergence")
@pytest.mark.parametrize("case", sorted(LR_TOO_LARGE))
def test_learning_rate_too_large_stops_with_advice(tiny, case):
    ids, off, P = tiny
    kw = LR_TOO_LARGE[case]
    with pytest.raises(T.TrainingDiverged) as ei:
        T.train(ids, off, P, _cfg(**kw), progress=False)
    e = ei.value
    _advice(str(e), kw["lr"])
    assert e.rule in ("non-finite", "max_loss", "weights", "level", "rising")
    assert e.lr == kw["lr"] and e.suggested_lr == pytest.approx(kw["lr"] / 10)
    assert 0 < e.step < 200


@fault("divergence")
@pytest.mark.parametrize("backend", ["jax", "cpu-kernel"])
def test_weights_beyond_lambda_1_stop_before_any_nan(tiny, backend):
    """SGNS at lr = 50 (jax) / QWEM at lr = 0.7 (jax): s_1^2 passes 10 lambda_1 while every loss is
    finite and under max_loss; cpu: SGNS at lr = 500 reaches s_1 ~ 1e19 in one step."""
    ids, off, P = tiny
    kw = (dict(loss="qwem", lr=0.7) if backend == "jax"
          else dict(loss="sgns", lr=500.0, subsample=None, init_scale=0.3))
    with pytest.raises(T.TrainingDiverged, match="top singular value of W") as ei:
        T.train(ids, off, P, _cfg(backend=backend, **kw), progress=False)
    assert ei.value.rule == "weights" and ei.value.value > ei.value.bound
    _advice(str(ei.value), kw["lr"])


@fault("divergence")
@pytest.mark.parametrize("backend", ["jax", "cpu-kernel"])
def test_loss_rising_under_the_old_ceiling(tiny, backend):
    """The objective climbs past 3x its value at W = 0 while the batch losses stay finite and far
    under max_loss (jax: 12 steps of lr 0.8; cpu: 200 steps of lr 0.8, tripped at step ~149)."""
    ids, off, P = tiny
    kw = dict(steps=12, record_steps=tuple(range(13))) if backend == "jax" else dict(steps=200)
    cfg = _cfg(backend=backend, lr=0.8, **kw)
    with pytest.raises(T.TrainingDiverged, match=r"exact objective .*start level") as ei:
        T.train(ids, off, P, cfg, progress=False)
    assert ei.value.rule in ("level", "rising")
    _advice(str(ei.value), 0.8)


@fault("divergence")
def test_sgns_advice_is_in_the_callers_units(tiny):
    """qwemlib.experiments converts SGNS's lr (cfg.lr = 2 lr / mean G); the message gives the lr
    the user passed and a tenth of it, not the converted step."""
    ids, off, P = tiny
    cfg = _cfg(loss="sgns", lr=500.0, subsample=None, init_scale=0.3)
    with pytest.raises(T.TrainingDiverged) as ei:
        T.train(ids, off, P, cfg, progress=False, lr_as_given=2.5e-4)
    msg = str(ei.value)
    assert "lr=0.00025 as given (TrainConfig.lr=500" in msg and "e.g. lr=2e-05" in msg, msg
    assert ei.value.suggested_lr == 2e-5


@fault("divergence")
@pytest.mark.parametrize("backend", ["jax", "cpu-kernel"])
def test_divergence_keeps_the_last_good_checkpoint(tiny, tmp_path, backend):
    ids, off, P = tiny
    ck = tmp_path / "ck.npz"
    cfg = _cfg(backend=backend, lr=3.0, checkpoint_path=str(ck), checkpoint_every=1, steps_per_call=1)
    with pytest.raises(T.TrainingDiverged, match=re.escape(f"last good checkpoint {str(ck)!r} is kept")):
        T.train(ids, off, P, cfg, progress=False)
    got = T.load_checkpoint(str(ck))
    assert 0 < got["step"] < 200 and np.all(np.isfinite(got["W"]))
    _no_tmp(tmp_path)


# ----------------------------------------------------------------------------- inputs


def _with(P, which, value, idx=(1, 2)):
    Pij, Pi = P[0].copy(), P[1].copy()
    if which == "P_ij":
        Pij[idx] = value
    else:
        Pi[idx[0]] = value
    return Pij, Pi


@fault("input")
@pytest.mark.parametrize(("which", "value"), [("P_ij", np.nan), ("P_ij", np.inf), ("P_i", np.nan),
                                              ("P_ij", -1e-3)])
def test_bad_values_in_the_statistics_are_named(tiny, which, value):
    ids, off, P = tiny
    with pytest.raises(ValueError, match=rf"stats_or_P: {which} has 1 (non-finite|negative) .*recount"):
        T.train(ids, off, _with(P, which, value), _cfg(steps=2), progress=False)


@fault("input")
def test_nan_in_cooccurrence_counts_is_named(tiny):
    ids, off, P = tiny

    class Co:  # a Cooccurrence-like object with a NaN count
        counts, unigram, window, weighting = _with(P, "P_ij", np.nan)[0], P[1], L, "word2vec"

    with pytest.raises(ValueError, match=r"stats_or_P: counts has 1 non-finite .*index \(1, 2\).*recount"):
        T.train(ids, off, Co(), _cfg(steps=2), progress=False)


@fault("input")
@pytest.mark.parametrize("value", [-1e-3, float("nan")])
def test_bad_lr_as_given(tiny, value):
    ids, off, P = tiny
    with pytest.raises(ValueError, match="lr_as_given=.*positive finite"):
        T.train(ids, off, P, _cfg(steps=2), progress=False, lr_as_given=value)


BAD_CONFIGS = {
    "negative lr": (dict(lr=-1e-3), r"TrainConfig\.lr=-0\.001: must be a positive finite number"),
    "nan lr": (dict(lr=float("nan")), r"TrainConfig\.lr=nan: must be a positive"),
    "batch 0": (dict(batch_pos=0), r"TrainConfig\.batch_pos=0: must be a positive integer"),
    "fractional batch": (dict(batch_neg=2.5), r"TrainConfig\.batch_neg=2\.5: must be a positive integer"),
    "steps 0": (dict(steps=0), r"TrainConfig\.steps=0: must be a positive integer"),
    "dtype typo": (dict(dtype="flaot32"), r"TrainConfig\.dtype='flaot32': choose 'float32' or 'float64'"),
    "init scale 0": (dict(init_scale=0.0), r"TrainConfig\.init_scale=0\.0: must be > 0"),
    "init scale negative": (dict(init_scale=-0.1), r"TrainConfig\.init_scale=-0\.1: must be > 0"),
    "backend typo": (dict(backend="cpu"), r"TrainConfig\.backend='cpu': choose 'jax'"),
}


@fault("input")
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_names_the_field_and_the_choice(case):
    kw, pattern = BAD_CONFIGS[case]
    with pytest.raises(ValueError, match=pattern):
        _cfg(**kw)


@fault("input")
@pytest.mark.parametrize("kw", [dict(weight_factor=0), dict(rise_records=0), dict(level_factor=float("nan"))])
def test_bad_divergence_config(kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=rf"DivergenceConfig\.{name}=.*must be"):
        T.DivergenceConfig(**kw)


# ----------------------------------------------------------------------------- checkpoints


@fault("disk")
def test_checkpoint_in_a_missing_folder_fails_before_training(tiny, tmp_path, monkeypatch):
    ids, off, P = tiny
    monkeypatch.setattr(T._loop, "_train", lambda *a, **k: pytest.fail("trained before checking"))
    ck = tmp_path / "no-such-folder" / "ck.npz"
    with pytest.raises(ValueError, match=r"checkpoint_path=.*no-such-folder.*does not exist; create it"):
        T.train(ids, off, P, _cfg(checkpoint_path=str(ck)), progress=False)
    assert not ck.parent.exists()


@fault("disk")
def test_checkpoint_in_a_readonly_folder_fails_before_training(tiny, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ids, off, P = tiny
    monkeypatch.setattr(T._loop, "_train", lambda *a, **k: pytest.fail("trained before checking"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ValueError, match=r"checkpoint_path=.*cannot write in .*ro.*writable folder"):
            T.train(ids, off, P, _cfg(checkpoint_path=str(ro / "ck.npz")), progress=False)
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o700)


@fault("disk")
def test_checkpoint_on_a_readonly_file_system_fails_before_training(tiny, tmp_path, monkeypatch):
    """As root too: the write probe itself fails (EROFS), as on a read-only mount."""
    ids, off, P = tiny
    monkeypatch.setattr(T._loop, "_train", lambda *a, **k: pytest.fail("trained before checking"))

    def refuse(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(T._loop.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(ValueError, match=r"cannot write in .*Read-only file system.*writable"):
        T.train(ids, off, P, _cfg(checkpoint_path=str(tmp_path / "ck.npz")), progress=False)
    assert os.listdir(tmp_path) == []


@fault("disk")
def test_checkpoint_path_that_is_a_folder(tiny, tmp_path):
    ids, off, P = tiny
    with pytest.raises(ValueError, match=r"checkpoint_path=.* is a folder; give a file name"):
        T.train(ids, off, P, _cfg(checkpoint_path=str(tmp_path)), progress=False)


@pytest.fixture()
def checkpoint(tiny, tmp_path):
    """A good checkpoint of a 20-step run and its bytes."""
    ids, off, P = tiny
    ck = tmp_path / "run.npz"
    T.train(ids, off, P, _cfg(steps=20, lr=0.05, checkpoint_path=str(ck)), progress=False)
    return ck, ck.read_bytes()


@fault("cache")
@pytest.mark.parametrize(("change", "field"), [(dict(lr=0.01), "lr"), (dict(seed=3), "seed"),
                                               (dict(loss="sgns", subsample=None), "loss")])
def test_resume_from_another_configs_checkpoint(tiny, checkpoint, change, field):
    ids, off, P = tiny
    ck, before = checkpoint
    with pytest.raises(T.CheckpointError, match=rf"run\.npz.*different config .*'{field}'.*same settings"):
        T.train(ids, off, P, _cfg(**(dict(steps=20, lr=0.05) | change)), resume_from=str(ck), progress=False)
    assert ck.read_bytes() == before
    _no_tmp(ck.parent)


@fault("cache")
def test_resume_for_other_tokens(tiny, checkpoint):
    ids, off, P = tiny
    ck, before = checkpoint
    ids2 = ids.copy()
    ids2[50:60] = ids2[50:60][::-1]
    with pytest.raises(T.CheckpointError, match=r"run\.npz.*different tokens.*resume with that run's corpus"):
        T.train(ids2, off, P, _cfg(steps=20, lr=0.05), resume_from=str(ck), progress=False)
    assert ck.read_bytes() == before


@fault("cache")
@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_resume_from_a_truncated_checkpoint(tiny, checkpoint, keep):
    ids, off, P = tiny
    ck, before = checkpoint
    cut = ck.with_name("cut.npz")
    cut.write_bytes(before[: int(len(before) * keep)])
    with pytest.raises(T.CheckpointError, match=r"cut\.npz.*corrupt.*delete it and restart"):
        T.train(ids, off, P, _cfg(steps=20, lr=0.05), resume_from=str(cut), progress=False)
    assert ck.read_bytes() == before


@fault("cache")
def test_resume_from_a_missing_checkpoint(tiny, tmp_path):
    ids, off, P = tiny
    with pytest.raises(T.CheckpointError, match=r"gone\.npz.*does not exist"):
        T.train(ids, off, P, _cfg(steps=5), resume_from=str(tmp_path / "gone.npz"), progress=False)


@fault("cache")
def test_resume_from_a_checkpoint_with_nan_weights(tiny, checkpoint):
    """Not reported as a divergence ('use a smaller learning rate') but as a damaged checkpoint."""
    ids, off, P = tiny
    ck, before = checkpoint
    with np.load(ck) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["W"][0, 0] = np.nan
    bad = ck.with_name("nan.npz")
    np.savez(bad, **arrays)
    with pytest.raises(T.CheckpointError, match=r"nan\.npz.*1 non-finite weights.*delete it and restart"):
        T.train(ids, off, P, _cfg(steps=20, lr=0.05), resume_from=str(bad), progress=False)
    assert ck.read_bytes() == before
