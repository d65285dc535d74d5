"""Tests for qwemlib.results: locating, reading, writing stored results, and provenance."""

import json

import numpy as np
import pytest

from qwemlib import results


def test_missing_file_is_a_clear_error_naming_the_command(tmp_path):
    with pytest.raises(results.StoredResultError, match=r"does not exist: run `python tools/make_results.py "
                                                         r"--scale ci`"):
        results.load_npz("ci", "train.npz", folder=tmp_path)
    assert results.load_npz("ci", "train.npz", folder=tmp_path, missing_ok=True) is None
    assert results.read_benchmark("ci", folder=tmp_path) == (None, None)


def test_a_file_without_a_required_key_is_an_error(tmp_path):
    results.save_npz(tmp_path / "x.npz", a=np.arange(3))
    assert set(results.load_npz("ci", "x.npz", ["a"], folder=tmp_path)) == {"a"}
    with pytest.raises(results.StoredResultError, match=r"lacks \['b'\].*--scale ci"):
        results.load_npz("ci", "x.npz", ["a", "b"], folder=tmp_path)


def test_the_declared_schema_is_checked_by_default(tmp_path):
    keys = results.required_keys("train.npz")
    assert "eigenvalues" in keys and "g_sgns" in keys
    runs = results.train_keys(results.TRAIN_RUNS)
    assert "qwem-small/singular_values" in runs and "sgns-w2v/pc" in runs
    results.save_npz(tmp_path / "train.npz", eigenvalues=np.ones(2))
    with pytest.raises(results.StoredResultError, match="lacks"):
        results.load_npz("ci", "train.npz", folder=tmp_path)


def test_the_stored_ci_runs_hold_the_declared_keys():
    z = results.load_npz("ci", "train.npz", missing_ok=True)
    if z is None:
        pytest.skip("no stored ci results in this checkout")
    assert set(results.required_keys("train.npz")) <= set(z)


def test_damaged_files_are_errors(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(results.StoredResultError, match="damaged"):
        results.load_npz("ci", "x.npz", folder=tmp_path)
    (tmp_path / "benchmark.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(results.StoredResultError, match=r"lacks \['meta'\]"):
        results.read_benchmark("ci", folder=tmp_path)


def test_benchmark_round_trip(tmp_path):
    results.save_benchmark(tmp_path / "benchmark.json", [{"model": "m", "value": 1.0}], {"commit": "abc"})
    rows, meta = results.read_benchmark("ci", folder=tmp_path)
    assert rows == [{"model": "m", "value": 1.0}] and meta == {"commit": "abc"}


def test_provenance_has_commit_dirty_machine_date():
    p = results.provenance("python tools/make_results.py --scale ci")
    assert {"commit", "dirty", "machine", "date_utc", "command"} <= set(p)
    assert isinstance(p["dirty"], bool) and p["date_utc"].endswith("UTC")
    assert {"cpu_count", "platform", "jax_device", "loadavg_start"} <= set(p["machine"])
    m = results.stored_meta("cmd")
    assert list(m)[:3] == ["command", "commit", results.DIRTY_KEY]
    assert results.is_modified(m) == p["dirty"] and results.is_modified({"dirty": True})
    text = results.describe_source(m | {results.DIRTY_KEY: True}, "ci")
    assert "data/results/ci/" in text and "(modified)" in text and "command: cmd" in text


def test_git_helpers_outside_a_checkout(tmp_path):
    assert results.git_commit(tmp_path) == "unknown"
    assert results.git_dirty(root=tmp_path) is False


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "x.npz"
    results.save_npz(path, a=np.arange(3))
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted while writing")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(RuntimeError):
        results.save_npz(path, a=np.arange(5))
    assert path.read_bytes() == before                       # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]  # no temporary left behind
    results.write_text(tmp_path / "README.md", "hello\n")
    assert (tmp_path / "README.md").read_text() == "hello\n"


def test_make_results_keeps_other_tools_readme_sections_and_remakes_its_own(tmp_path):
    import importlib.util

    path = results.PROJECT_ROOT / "tools" / "make_results.py"
    spec = importlib.util.spec_from_file_location("make_results", path)
    mr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mr)
    readme = tmp_path / "README.md"
    assert mr._kept_sections(readme, ("linear", "linear-sgd")) == []
    readme.write_text("# head\n\nold\n\n"
                      "## Appended by `python tools/make_results.py --scale ci --only linear-sgd`\n\n"
                      "- mine\n\n"
                      "## Appended by `python tools/make_results.py --scale local --only linear`\n\n"
                      "- the linear file's\n\n"
                      "## Appended by `python tools/store_pmi_conventions.py --scale ci`\n\n- theirs\n")
    kept = "\n".join(mr._kept_sections(readme, ("linear", "linear-sgd")))  # a full run remakes both
    assert "store_pmi_conventions" in kept and "- theirs" in kept
    assert "linear-sgd" not in kept and "- mine" not in kept and "the linear file's" not in kept
    # --only train leaves linear_structure.npz as it was: its section stays (it was dropped once)
    kept = "\n".join(mr._kept_sections(readme, ()))
    assert "--only linear`" in kept and "- the linear file's" in kept and "- theirs" in kept
    kept = "\n".join(mr._kept_sections(readme, ("linear-sgd",)))
    assert "- mine" not in kept and "- the linear file's" in kept


def test_merge_train_meta_keeps_the_full_runs_provenance_and_records_its_own():
    old = {"command": "full", "commit": "a", "timings_s": {"linear structure": 5.0, "sgd": 1.0},
           "sgd": {"x": 1}}
    new = {"command": "only train", "commit": "b", results.DIRTY_KEY: False, "date_utc": "d",
           "machine": {"processor": "p", "cpu_count": 2, "loadavg_start": 1.0}, "timings_s": {"sgd": 9.0},
           "sgd": {"y": 2}}
    meta, note = results.merge_train_meta(old, new)
    assert meta["command"] == "full" and meta["train_run"]["command"] == "only train"
    assert meta["sgd"] == {"y": 2} and meta["timings_s"] == {"linear structure": 5.0, "sgd": 9.0}
    assert "only train" in note and "commit `b`" in note
    assert results.merge_train_meta(None, new)[0] is new
