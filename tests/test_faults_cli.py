"""Fault injection through the ``qwem`` command (issue 14.1, 14.4, labels; 14.7's CLI share).

Every case asserts the exit code, that the message names the input and says what to do,
and that nothing was lost or left half-written: no ``*.tmp`` left, earlier outputs in the
folder byte for byte as they were, no partial set of a run's files. A full disk is a
patched write (:class:`FullDisk`: every file the library writes goes through
``qwemlib._io``); Ctrl-C is a ``KeyboardInterrupt`` raised from the patched training step
(or a real SIGINT to a subprocess). The corpus is a tiny text file (V = 40, d = 3), so a
run takes well under a second once JAX has compiled.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from faults import FullDisk, Proxy

from qwemlib import _io, cli, experiments

ROOT = Path(__file__).resolve().parent.parent
fault = pytest.mark.fault


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    """30 articles of 300 tokens over 68 letter-only words."""
    rng = random.Random(0)
    words = ["".join(p) for p in itertools.product("abcdefgh", repeat=2)][:60]
    words += "king queen man woman paris france berlin germany".split()
    f = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    f.write_text("\n".join(" ".join(rng.choice(words) for _ in range(300)) for _ in range(30)) + "\n")
    return str(f)


def solve_args(tiny):
    return ["solve", "--corpus", tiny, "--vocab", "40", "--dim", "3", "--protocol", "original"]


def train_args(tiny, *more):
    return ["train", "--corpus", tiny, "--vocab", "40", "--dim", "3", "--steps", "120", "--batch", "64",
            "--loss", "qwem", *more]


@pytest.fixture
def qwem(capsys):
    """``qwem(*argv) -> (rc, out, err)``."""
    def run(*argv):
        rc = cli.main([str(a) for a in argv])
        got = capsys.readouterr()
        return rc, got.out, got.err
    return run


def tree(folder: Path) -> dict[str, bytes]:
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.exists() else {}


def no_tmp(*folders) -> None:
    for folder in folders:
        folder = Path(folder)
        left = [p for p in folder.rglob("*") if p.name.endswith(".tmp")] if folder.exists() else []
        assert not left, f"left behind: {left}"


def earlier_solve(qwem, tiny, out) -> dict[str, bytes]:
    rc, _, err = qwem(*solve_args(tiny), "--out", out)
    assert rc == 0, err
    return tree(out)


@pytest.fixture
def never(monkeypatch):
    """The compute must not start."""
    def boom(*a, **k):
        raise AssertionError("the compute started before the bad input was reported")
    monkeypatch.setattr(experiments, "closed_form_benchmark", boom)
    monkeypatch.setattr(experiments, "train_and_compare", boom)


# ---------------------------------------------------------------- input: usage errors, exit 2

USAGE = [
    (["solve", "--max-tokens", "0"], "--max-tokens"),
    (["solve", "--max-tokens", "-5"], "--max-tokens"),
    (["solve", "--vocab", "0"], "--vocab"),
    (["solve", "--vocab", "-3"], "--vocab"),
    (["solve", "--vocab", "abc"], "--vocab"),
    (["solve", "--dim", "0"], "--dim"),
    (["solve", "--vocab", "10", "--dim", "10"], "--dim"),
    (["solve", "--dim", "3000"], "--dim"),
    (["solve", "--window", "0"], "--window"),
    (["solve", "--min-article-tokens", "-1"], "--min-article-tokens"),
    (["solve", "--scale", "nope"], "--scale"),
    (["solve", "--protocol", "bogus"], "--protocol"),
    (["train", "--steps", "0"], "--steps"),
    (["train", "--steps", "-1"], "--steps"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--lr=-1e-3"], "--lr"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--batch", "0"], "--batch"),
    (["train", "--init-scale", "0"], "--init-scale"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["train", "--checkpoint-every", "500"], "--checkpoint-every"),
    (["train", "--dtype", "float16"], "--dtype"),
    (["train", "--vocab", "20", "--dim", "25"], "--dim"),
]


@fault("input")
@pytest.mark.parametrize("argv,option", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_bad_option_is_a_usage_error_naming_it(qwem, never, tmp_path, argv, option):
    out = tmp_path / "out"
    rc, _, err = qwem(*argv, "--out", out)
    assert rc == 2
    assert option in err and any(w in err for w in ("must be", "invalid choice", "choose N"))  # what to do
    assert not out.exists()


@fault("input")
def test_bad_QWEM_SCALE_is_a_usage_error(qwem, never, tmp_path, monkeypatch):
    monkeypatch.setenv("QWEM_SCALE", "huge")
    rc, _, err = qwem("solve", "--out", tmp_path / "out")
    assert rc == 2 and "QWEM_SCALE='huge'" in err and "choose one of" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- input: runtime errors, exit 1

BAD_CORPUS = {"missing": ("{corpus}", "nor an existing file or folder"),
              "empty": ("{corpus}", "check the source"),
              "too-few-words": ("V=10", "choose a smaller V")}


@fault("input")
@pytest.mark.parametrize("what", list(BAD_CORPUS))
def test_bad_corpus_is_one_line_and_leaves_no_folder(qwem, tmp_path, what):
    corpus = tmp_path / "c.txt"
    if what != "missing":
        corpus.write_text("" if what == "empty" else "alpha beta gamma\n")
    out = tmp_path / "a" / "out"
    rc, _, err = qwem("solve", "--corpus", corpus, "--vocab", "10", "--dim", "2", "--out", out)
    assert rc == 1 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    names, todo = BAD_CORPUS[what]
    assert line.startswith("qwem: error:") and names.format(corpus=corpus) in line and todo in line
    assert not (tmp_path / "a").exists()  # the folders made for the outputs are removed again


@fault("input")
def test_resume_without_checkpoint_says_so_and_keeps_outputs(qwem, tiny, tmp_path):
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    rc, _, err = qwem(*train_args(tiny), "--out", out, "--resume")
    assert rc == 1 and "no checkpoint in" in err and str(out / "checkpoints") in err
    assert "without --resume" in err
    assert tree(out) == before
    no_tmp(out)


@fault("input")
@pytest.mark.parametrize("damage", ["other-options", "garbage"])
def test_resume_from_a_foreign_or_damaged_checkpoint(qwem, tiny, tmp_path, monkeypatch, damage):
    out = tmp_path / "out"
    ck = out / "checkpoints" / "qwem.ckpt.npz"
    _interrupt_at(monkeypatch, 3)
    assert qwem(*train_args(tiny), "--out", out)[0] == 130
    monkeypatch.undo()
    if damage == "garbage":
        ck.write_bytes(b"PK\x03\x04 not really a zip")
    saved = ck.read_bytes()
    more = ["--lr", "1e-5"] if damage == "other-options" else []
    rc, _, err = qwem(*train_args(tiny, *more), "--out", out, "--resume")
    assert rc == 1 and str(ck) in err
    assert ("different config" in err and "same settings" in err) if damage == "other-options" \
        else ("corrupt" in err and "delete it and restart" in err)
    assert ck.read_bytes() == saved and sorted(tree(out)) == ["checkpoints/qwem.ckpt.npz"]
    no_tmp(out)


@fault("input")
def test_data_names_a_damaged_needed_file(qwem, monkeypatch):
    from qwemlib import data
    real = data.path

    def path(name, **kw):
        if name == "men":
            raise data.CorruptDataError("data file 'men' at /x/MEN has sha256 00ff, expected 4596; "
                                        "delete it and get a fresh copy")
        return real(name, **kw)
    monkeypatch.setattr(data, "path", path)
    rc, out, err = qwem("data", "--no-verify")
    assert rc == 1 and "men (needed by preset 'ci')" in err and "fresh copy" in err
    assert "MISSING (CorruptDataError)" in out


# ---------------------------------------------------------------- disk: checked before the compute

def _blocked(tmp_path, how):
    f = tmp_path / "afile"
    f.write_text("mine")
    return f if how == "is-a-file" else f / "sub" / "out"


@fault("disk")
@pytest.mark.parametrize("cmd", ["solve", "train"])
@pytest.mark.parametrize("how", ["is-a-file", "under-a-file"])
def test_blocked_output_path_fails_before_the_compute(qwem, never, tiny, tmp_path, cmd, how):
    out = _blocked(tmp_path, how)
    args = solve_args(tiny) if cmd == "solve" else train_args(tiny)
    rc, _, err = qwem(*args, "--out", out)
    assert rc == 1 and "Traceback" not in err
    assert str(tmp_path / "afile") in err and "is a file" in err and "--out" in err
    assert (tmp_path / "afile").read_text() == "mine"


@fault("disk")
@pytest.mark.parametrize("cmd", ["solve", "train"])
def test_blocked_output_path_fails_before_the_heavy_imports(tmp_path, cmd):
    """The check comes first: no JAX, scipy or corpus import (well under a second)."""
    f = tmp_path / "afile"
    f.write_text("mine")
    code = ("import sys; from qwemlib import cli; "
            f"rc = cli.main([{cmd!r}, '--out', {str(f / 'sub')!r}]); "
            "heavy = [m for m in ('jax', 'scipy', 'qwemlib.experiments', 'qwemlib.corpus') "
            "if m in sys.modules]; "
            "print(rc, heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.split("\n")[0] == "1 []", r.stdout + r.stderr
    assert f"{f} is a file" in r.stderr and "--out" in r.stderr and f.read_text() == "mine"


@fault("disk")
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("cmd", ["solve", "train"])
def test_read_only_folder_fails_before_the_compute(qwem, never, tiny, tmp_path, cmd):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "keep.txt").write_text("x")
    ro.chmod(0o500)
    try:
        args = solve_args(tiny) if cmd == "solve" else train_args(tiny)
        rc, _, err = qwem(*args, "--out", ro / "out")
    finally:
        ro.chmod(0o700)
    assert rc == 1 and "not writable" in err and str(ro) in err and "--out" in err
    assert [p.name for p in ro.iterdir()] == ["keep.txt"]


@fault("disk")
@pytest.mark.parametrize("cmd", ["solve", "train"])
@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_unwritable_file_system_fails_before_the_compute(qwem, never, tiny, tmp_path, monkeypatch, cmd, code):
    """A read-only mount (EROFS) or a refused write (EACCES, what root meets on some mounts)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.npz").write_bytes(b"earlier")

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(_io, "tempfile", Proxy(tempfile, mkstemp=refuse, mkdtemp=refuse))
    args = solve_args(tiny) if cmd == "solve" else train_args(tiny)
    rc, _, err = qwem(*args, "--out", out)
    assert rc == 1 and f"cannot write to output folder {out}" in err and os.strerror(code) in err
    assert "--out" in err and tree(out) == {"old.npz": b"earlier"}


@fault("disk")
def test_permission_denied_folder_fails_before_the_compute(qwem, never, tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "os", Proxy(os, access=lambda *a, **k: False))
    rc, _, err = qwem(*solve_args(tiny), "--out", tmp_path / "x" / "out")
    assert rc == 1 and "not writable" in err and "permission denied" in err and "--out" in err
    assert not (tmp_path / "x").exists()


@fault("disk")
def test_blocked_checkpoint_folder_fails_before_training(qwem, never, tiny, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoints").write_text("not a folder")
    rc, _, err = qwem(*train_args(tiny), "--out", out)
    assert rc == 1 and str(out / "checkpoints") in err and "is a file" in err
    assert tree(out) == {"checkpoints": b"not a folder"}
    no_tmp(out)


# ---------------------------------------------------------------- disk: full while writing

@fault("disk")
@pytest.mark.parametrize("skip_files", [0, 1, 2, 3, 4, 5], ids=["svd_mstar", "svd_ppmi", "svd_pmi",
                                                             "table.txt", "table.json", "manifest"])
def test_solve_on_a_full_disk_leaves_no_partial_set(qwem, tiny, tmp_path, monkeypatch, skip_files):
    """Issue 14: `solve --out` on a full disk failed after the compute, with a traceback,
    having saved one embedding of three."""
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    disk = FullDisk(monkeypatch, under=out, skip_files=skip_files)
    rc, _, err = qwem(*solve_args(tiny), "--vocab", "30", "--out", out)
    assert disk.hits >= 1  # (zipfile's clean-up writes again after the first ENOSPC)
    assert rc == 1 and "Traceback" not in err
    assert "No space left on device" in err and "free some space or choose another --out" in err
    assert "nothing of this run was kept" in err
    assert tree(out) == before  # the earlier run's set, untouched
    no_tmp(out)


@fault("disk")
@pytest.mark.parametrize("skip_files", [1, 2], ids=["npz", "html"])  # the first file: the checkpoint
def test_train_on_a_full_disk_leaves_no_truncated_file(qwem, tiny, tmp_path, monkeypatch, skip_files):
    """Issue 14: a truncated .npz (BadZipFile) and .html under their final names."""
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    disk = FullDisk(monkeypatch, under=out, skip_files=skip_files, budget=5000)
    rc, _, err = qwem(*train_args(tiny), "--out", out)
    assert disk.hits >= 1
    assert rc == 1 and "No space left on device" in err and "free some space" in err
    # the finished run's checkpoint is kept so that it need not train again
    assert "rerun with --resume" in err and str(out / "checkpoints") in err
    assert {k: v for k, v in tree(out).items() if not k.startswith("checkpoints/")} == before
    no_tmp(out)
    monkeypatch.undo()
    rc, _, err = qwem(*train_args(tiny), "--out", out, "--resume")
    assert rc == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["not_of_this_run"] == sorted(set(before) - {"manifest.json"})


@fault("disk")
def test_full_disk_during_a_checkpoint_keeps_the_previous_one(qwem, tiny, tmp_path, monkeypatch, reference):
    out = tmp_path / "out"
    FullDisk(monkeypatch, under=out / "checkpoints", skip_files=3)
    rc, _, err = qwem(*train_args(tiny, "--checkpoint-every", "7"), "--out", out)
    assert rc == 1 and "No space left on device" in err
    no_tmp(out)
    monkeypatch.undo()
    from qwemlib.train import load_checkpoint
    assert load_checkpoint(str(out / "checkpoints" / "qwem.ckpt.npz"))["step"] == 21  # the 3rd
    # space freed: the run resumes from it and ends as the uninterrupted run
    assert qwem(*train_args(tiny, "--checkpoint-every", "7"), "--out", out, "--resume")[0] == 0
    assert_same_records(out, reference)


@fault("cache")
def test_full_disk_for_the_optional_cache_is_a_warning(qwem, tiny, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("QWEM_CACHE_DIR", str(cache))
    disk = FullDisk(monkeypatch, under=cache)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="cache"):
        rc, _, err = qwem(*solve_args(tiny), "--out", out)
    assert disk.hits >= 1 and rc == 0, err
    assert json.loads((out / "manifest.json").read_text())["files"][0]["name"] == "svd_mstar.npz"
    no_tmp(cache, out)


# ---------------------------------------------------------------- interrupt

def _interrupt_at(monkeypatch, call: int, run_index: int = 1):
    """Ctrl-C during the ``call``-th chunk of SGD steps of the ``run_index``-th run (the step
    raises KeyboardInterrupt)."""
    from qwemlib.train import _loop
    real, made = _loop._make_runner, [0]

    def make(*a, **k):
        runner, n = real(*a, **k), [0]
        made[0] += 1
        mine = made[0] == run_index

        def run(W, key, step, nsteps, *rest):
            if int(nsteps) > 0 and mine:
                n[0] += 1
                if n[0] == call:
                    raise KeyboardInterrupt
            return runner(W, key, step, nsteps, *rest)
        return run
    monkeypatch.setattr(_loop, "_make_runner", make)


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """The uninterrupted run (--checkpoint-every 7) that every resumed run must equal."""
    out = tmp_path_factory.mktemp("reference")
    assert cli.main(train_args(tiny, "--checkpoint-every", "7") + ["--out", str(out)]) == 0
    assert not (out / "checkpoints").exists()  # a finished run's checkpoints are removed
    return out


def assert_same_records(out, reference, name="train-qwem.npz"):
    a, b = np.load(Path(reference) / name), np.load(Path(out) / name)
    assert a.files == b.files
    for k in a.files:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k], equal_nan=True), k


@fault("interrupt")
@pytest.mark.parametrize("call", [1, 5, 12])
def test_ctrl_c_saves_a_checkpoint_and_resume_is_bit_identical(qwem, tiny, tmp_path, monkeypatch,
                                                                reference, call):
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    argv = train_args(tiny, "--checkpoint-every", "7") + ["--out", str(out)]
    _interrupt_at(monkeypatch, call)
    rc, _, err = qwem(*argv)
    monkeypatch.undo()
    assert rc == 130 and "Traceback" not in err
    assert "interrupted at step" in err and "resume with:" in err
    assert "qwem " + shlex.join([*argv, "--resume"]) in err  # the exact command
    assert tree(out).keys() == before.keys() | {"checkpoints/qwem.ckpt.npz"}
    assert {k: v for k, v in tree(out).items() if k in before} == before
    no_tmp(out)
    from qwemlib.train import load_checkpoint
    ck = load_checkpoint(str(out / "checkpoints" / "qwem.ckpt.npz"))
    if call == 12:
        assert ck["loss_acc"][1] > 0  # stopped between two records: the partial loss is kept
    rc, _, err = qwem(*argv, "--resume")
    assert rc == 0, err
    assert_same_records(out, reference)
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"].endswith("--resume") and "svd_mstar.npz" in m["not_of_this_run"]


@fault("interrupt")
def test_a_real_sigint_mid_chunk_is_deferred_to_the_chunk_end(qwem, tiny, tmp_path, monkeypatch, reference,
                                                               request):
    """SIGINT while the device runs a chunk: the chunk finishes, then the checkpoint is written.

    Under Python's default SIGINT handler, whatever the launcher left: a shell without job
    control starts background commands (``bash .ci/run &``) with SIGINT ignored, which Python
    keeps, so the signal would never arrive (seen: rc 0 under a backgrounded ``.ci/run``)."""
    from qwemlib.train import _loop, load_checkpoint
    real, seen = _loop._make_runner, []
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    def make(*a, **k):
        runner = real(*a, **k)

        def run(W, key, step, nsteps, *rest):
            if int(nsteps) > 0 and len(seen) < 1 and int(step) == 14:
                seen.append(int(step) + int(nsteps))
                os.kill(os.getpid(), signal.SIGINT)  # arrives "during" this chunk
            return runner(W, key, step, nsteps, *rest)
        return run
    monkeypatch.setattr(_loop, "_make_runner", make)
    out = tmp_path / "out"
    argv = train_args(tiny, "--checkpoint-every", "7") + ["--out", str(out)]
    rc, _, err = qwem(*argv)
    monkeypatch.undo()
    assert rc == 130 and "resume with:" in err and "Traceback" not in err
    assert load_checkpoint(str(out / "checkpoints" / "qwem.ckpt.npz"))["step"] == seen[0]  # 18, not 14
    assert qwem(*argv, "--resume")[0] == 0
    assert_same_records(out, reference)


@fault("interrupt")
def test_ctrl_c_in_the_second_run_resumes_only_that_one(qwem, tiny, tmp_path, monkeypatch):
    argv = [*train_args(tiny)[:-2], "--loss", "both", "--steps", "40"]
    ref = tmp_path / "ref"
    assert qwem(*argv, "--out", ref)[0] == 0
    out = tmp_path / "out"
    _interrupt_at(monkeypatch, 5, run_index=2)  # inside sgns, after qwem finished
    rc, _, err = qwem(*argv, "--out", out)
    monkeypatch.undo()
    assert rc == 130 and "qwem.ckpt.npz, sgns.ckpt.npz" in err
    assert qwem(*argv, "--out", out, "--resume")[0] == 0
    for name in ("train-qwem.npz", "train-sgns.npz"):
        assert_same_records(out, ref, name)


@fault("interrupt")
def test_ctrl_c_during_a_record_keeps_the_last_periodic_checkpoint(qwem, tiny, tmp_path, monkeypatch,
                                                                   reference):
    from qwemlib import theory
    real, n = theory.subspace_overlaps, [0]

    def overlaps(*a, **k):
        n[0] += 1
        if n[0] == 12:  # the record at step 18 (checkpoints at 7 and 14 exist)
            raise KeyboardInterrupt  # inside the trainer's record step, records half-made
        return real(*a, **k)
    monkeypatch.setattr(theory, "subspace_overlaps", overlaps)
    out = tmp_path / "out"
    argv = train_args(tiny, "--checkpoint-every", "7") + ["--out", str(out)]
    rc, _, err = qwem(*argv)
    monkeypatch.undo()
    assert rc == 130 and "resume with:" in err
    assert qwem(*argv, "--resume")[0] == 0
    assert_same_records(out, reference)


@fault("interrupt")
def test_ctrl_c_before_training_says_nothing_was_saved(qwem, tiny, tmp_path, monkeypatch):
    from qwemlib import pipeline

    def stop(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "corpus_statistics", stop)
    out = tmp_path / "new"
    rc, _, err = qwem(*train_args(tiny), "--out", out)
    assert rc == 130 and "no checkpoint was written" in err and "rerun the command" in err
    assert "Traceback" not in err and not any(p.is_file() for p in out.rglob("*"))


@fault("interrupt")
def test_ctrl_c_during_solve_keeps_the_earlier_outputs(qwem, tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    from qwemlib.experiments import _closed_forms

    def stop(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(_closed_forms, "benchmark_table", stop)
    rc, _, err = qwem(*solve_args(tiny), "--out", out)
    assert rc == 130 and "interrupted" in err and "no outputs were written" in err
    assert tree(out) == before
    no_tmp(out)


@fault("interrupt")
@pytest.mark.parametrize("skip_files", [1, 4])
def test_ctrl_c_while_writing_outputs_leaves_no_partial_set(qwem, tiny, tmp_path, monkeypatch, skip_files):
    out = tmp_path / "out"
    before = earlier_solve(qwem, tiny, out)
    FullDisk(monkeypatch, under=out, skip_files=skip_files, interrupt=True)
    rc, _, err = qwem(*solve_args(tiny), "--vocab", "30", "--out", out)
    assert rc == 130 and "no outputs were written" in err
    assert tree(out) == before
    no_tmp(out)


@fault("interrupt")
def test_ctrl_c_while_writing_a_checkpoint_keeps_the_previous_one(qwem, tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    disk = FullDisk(monkeypatch, under=out / "checkpoints", skip_files=2, interrupt=True)
    rc, _, err = qwem(*train_args(tiny, "--checkpoint-every", "7"), "--out", out)
    assert disk.hits >= 1 and rc == 130 and "resume with:" in err
    monkeypatch.undo()
    from qwemlib.train import load_checkpoint
    assert load_checkpoint(str(out / "checkpoints" / "qwem.ckpt.npz"))["step"] in (14, 21)
    no_tmp(out)


@fault("interrupt")
@pytest.mark.slow  # a fresh process: JAX import and compile, ~15 s of CPU
def test_real_sigint_exits_130_with_the_resume_command(tiny, tmp_path):
    out = tmp_path / "out"
    argv = ["train", "--corpus", tiny, "--vocab", "40", "--dim", "3", "--steps", "200000", "--batch", "64",
            "--loss", "qwem", "--checkpoint-every", "500", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "qwemlib.cli", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ck = out / "checkpoints" / "qwem.ckpt.npz"
    deadline = time.monotonic() + 180
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "resume with:" in err and "--resume" in err
    from qwemlib.train import load_checkpoint
    assert load_checkpoint(str(ck))["step"] > 0
    no_tmp(out)


_SLOW_CHUNKS = """
import sys, time
from qwemlib.train import _loop
real = _loop._make_runner
def make(*a, **k):
    runner = real(*a, **k)
    def run(*args):
        time.sleep(0.05)  # the same steps, slower: the kill lands mid-run
        return runner(*args)
    return run
_loop._make_runner = make
from qwemlib import cli
sys.exit(cli.main(sys.argv[1:]))
"""


@fault("interrupt")
@pytest.mark.slow  # a fresh process: JAX import and compile, ~15 s of CPU
def test_sigkill_mid_run_loses_nothing_and_the_run_resumes(qwem, tiny, tmp_path):
    """SIGKILL (no handler runs): no half-written file under a final name; the next run clears
    the killed run's temporaries and resumes from its last checkpoint to the same records."""
    out, ref = tmp_path / "out", tmp_path / "ref"
    argv = [*train_args(tiny)[:-4], "--steps", "3000", "--checkpoint-every", "100", "--loss", "qwem"]
    before = earlier_solve(qwem, tiny, out)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CHUNKS, *argv, "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ck = out / "checkpoints" / "qwem.ckpt.npz"
    deadline = time.monotonic() + 180
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert {k: v for k, v in tree(out).items() if k in before} == before  # earlier outputs intact
    assert [p.name for p in out.glob(".qwem-run-*.tmp")]  # the killed run's staging folder is left...
    from qwemlib.train import load_checkpoint
    assert load_checkpoint(str(ck))["step"] % 100 == 0  # ...but never a half-written checkpoint
    rc, _, err = qwem(*argv, "--out", out, "--resume")
    assert rc == 0, err
    no_tmp(out)  # ...and the next run removed it
    assert qwem(*argv, "--out", ref)[0] == 0
    assert_same_records(out, ref)


# ---------------------------------------------------------------- labels and manifests

@fault("label")
def test_corpus_override_gets_its_own_default_folder(qwem, tiny, tmp_path, monkeypatch):
    """Issue 14: `qwem solve --corpus my.txt` overwrote _build/embeddings/ci/."""
    monkeypatch.chdir(tmp_path)
    ci = tmp_path / "_build" / "embeddings" / "ci"
    ci.mkdir(parents=True)
    (ci / "svd_mstar.npz").write_bytes(b"the ci run")
    rc, out, _ = qwem(*solve_args(tiny))
    assert rc == 0 and "_build/embeddings/tiny/" in out
    assert tree(ci) == {"svd_mstar.npz": b"the ci run"}
    assert (tmp_path / "_build" / "embeddings" / "tiny" / "svd_mstar.npz").exists()


@fault("label")
def test_train_corpus_override_gets_its_own_default_folder(qwem, tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, _ = qwem(*train_args(tiny))
    assert rc == 0 and "_build/train/tiny/train-*.npz" in out
    assert not (tmp_path / "_build" / "train" / "ci").exists()


@fault("label")
@pytest.mark.parametrize("corpus,label", [("my.txt", "my"), ("/x/ci.txt", "corpus-ci"),
                                          ("data/folder/", "folder"), ("wikipedia/20150523.en-ci", "ci"),
                                          (None, "ci")])
def test_default_folder_names(corpus, label):
    argv = ["solve", "--scale", "ci"] + (["--corpus", corpus] if corpus else [])
    args = cli.build_parser().parse_args(argv)
    assert cli._label(args, cli._preset_from_args(args)) == label


@fault("label")
def test_table_and_header_do_not_call_a_user_corpus_the_wikipedia_run(qwem, tiny, tmp_path):
    out = tmp_path / "out"
    rc, stdout, _ = qwem(*solve_args(tiny), "--out", out)
    assert rc == 0
    header = stdout.split("\n\n")[0]
    assert tiny in header and "Wikipedia" not in header and "preset 'ci':" not in header
    table = json.loads((out / "table.json").read_text())
    assert table["preset"]["corpus"] == tiny and "Wikipedia" not in table["preset"]["description"]
    assert tiny in table["preset"]["description"]


@fault("label")
def test_manifest_names_command_config_commit_corpus_and_files(qwem, tiny, tmp_path):
    out = tmp_path / "out"
    argv = solve_args(tiny) + ["--out", str(out)]
    assert qwem(*argv)[0] == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == "qwem " + shlex.join(argv) and m["commit"] and "dirty" in m
    assert m["preset"]["vocab"] == 40 and m["options"]["protocol"] == ["original"]
    assert m["corpus_fingerprint"]["source"]["files"][0]["sha256"] == _io.sha256_file(tiny)
    assert {f["name"] for f in m["files"]} == {p.name for p in out.iterdir()} - {"manifest.json"}
    for f in m["files"]:
        assert _io.sha256_file(out / f["name"]) == f["sha256"]


@fault("label")
def test_files_of_an_earlier_run_are_marked_not_of_this_run(qwem, tiny, tmp_path):
    """Issue 14: a new file from this run next to stale ones, nothing marking them as mixed."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "train-sgns.npz").write_bytes(b"from an earlier --loss both run")
    assert qwem(*train_args(tiny), "--out", out)[0] == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["not_of_this_run"] == ["train-sgns.npz"]
    assert {f["name"] for f in m["files"]} == {"train-qwem.npz", "singular_values.html"}
    assert (out / "train-sgns.npz").read_bytes() == b"from an earlier --loss both run"


@fault("divergence")
def test_a_diverged_run_exits_1_and_is_in_the_manifest(qwem, tiny, tmp_path):
    out = tmp_path / "out"
    rc, _, err = qwem(*train_args(tiny), "--lr", "1e6", "--out", out)
    assert rc == 1 and "the qwem run diverged" in err and "lr" in err
    assert "qwem" in json.loads((out / "manifest.json").read_text())["diverged"]
    no_tmp(out)


def test_the_fake_full_disk_really_fails_writes(tmp_path, monkeypatch):
    """The fixture the disk cases rely on: the budget is honoured, then ENOSPC."""
    FullDisk(monkeypatch, budget=4)
    with pytest.raises(OSError) as e:
        _io.atomic_write_text(tmp_path / "a.txt", "12345")
    assert e.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []
