"""qwemlib._io: atomic writes and tolerant cache reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qwemlib import _io


def test_atomic_savez_round_trip(tmp_path):
    p = tmp_path / "sub" / "a.npz"
    _io.atomic_savez(p, x=np.arange(3), y=np.eye(2))
    with np.load(p) as z:
        assert z["x"].tolist() == [0, 1, 2] and z["y"].shape == (2, 2)
    assert [f.name for f in p.parent.iterdir()] == ["a.npz"]  # no temporary left


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "r.json"
    _io.atomic_write_json(p, {"v": 1})
    with pytest.raises(RuntimeError, match="boom"):
        with _io.atomic_write(p, "w") as fh:
            fh.write('{"v": 2')
            raise RuntimeError("boom")
    assert json.loads(p.read_text()) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_try_load_npz_missing_damaged_and_good(tmp_path):
    p = tmp_path / "c.npz"
    assert _io.try_load_npz(p, ["x"]) is None
    p.write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="c.npz is damaged"):
        assert _io.try_load_npz(p, ["x"], what="token cache") is None
    assert not p.exists()  # deleted so that the rebuild replaces it
    _io.atomic_savez(p, x=np.ones(2))
    with pytest.warns(UserWarning, match="KeyError"):
        assert _io.try_load_npz(p, ["x", "missing"]) is None
    _io.atomic_savez(p, x=np.ones(2))
    assert _io.try_load_npz(p, ["x"])["x"].tolist() == [1.0, 1.0]


def test_written_files_get_the_usual_permissions(tmp_path):
    """mkstemp's 0600 would make a saved result unreadable to others: use the umask."""
    import os
    p = tmp_path / "x.json"
    _io.atomic_write_json(p, [1])
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_fsyncs_the_file_before_the_rename(tmp_path, monkeypatch):
    """Without fsync a crash after the rename can leave an empty file under the final name."""
    import os
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(_io.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(_io.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    _io.atomic_write_text(tmp_path / "a.txt", "x")
    assert calls[:2] == ["fsync", "replace"]


def test_failed_write_on_a_full_disk_removes_its_temporary(tmp_path):
    import errno
    p = tmp_path / "c.npz"
    _io.atomic_savez(p, x=np.ones(2))
    with pytest.raises(OSError, match="No space left"):
        with _io.atomic_write(p, "wb") as fh:
            fh.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert [f.name for f in tmp_path.iterdir()] == ["c.npz"]
    assert _io.try_load_npz(p, ["x"])["x"].tolist() == [1.0, 1.0]


def test_full_disk_error_names_the_file(tmp_path):
    """ENOSPC comes from write() with no filename; the error raised names the target, keeps
    its errno, and an error that already names a file passes through unchanged."""
    import errno
    p = tmp_path / "emb.npz"
    with pytest.raises(OSError) as info:
        with _io.atomic_write(p, "wb"):
            raise OSError(errno.ENOSPC, "No space left on device")
    err = info.value
    assert err.errno == errno.ENOSPC and err.filename == str(p)
    assert f"while writing {p}" in str(err) and "free space" in str(err)
    with pytest.raises(FileNotFoundError) as info:
        with _io.atomic_write(p, "wb"):
            open(tmp_path / "missing" / "x")
    assert info.value.filename == str(tmp_path / "missing" / "x")
    assert not p.exists()


def test_check_writable_creates_the_folder_and_reports_what_it_made(tmp_path):
    made = _io.check_writable(tmp_path / "a" / "b")
    assert made == [tmp_path / "a", tmp_path / "a" / "b"] and (tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe is gone
    assert _io.check_writable(tmp_path / "a" / "b") == []


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_check_writable_rejects_a_file_in_the_way(tmp_path, where):
    f = tmp_path / "f"
    f.write_text("keep")
    target = f if where == "file" else f / "sub"
    with pytest.raises(_io.OutputError, match=f"{f}.*is a file.*--out"):
        _io.check_writable(target)
    assert f.read_text() == "keep"


def test_run_folder_commits_all_files_with_a_manifest(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.npz").write_bytes(b"old")
    with _io.RunFolder(out) as run:
        _io.atomic_write_text(run.stage / "a.txt", "A")
        _io.atomic_write_text(run.stage / "old.npz", "new")
        m = run.commit({"command": "qwem x"})
    assert sorted(f.name for f in out.iterdir()) == ["a.txt", "manifest.json", "old.npz"]
    disk = json.loads((out / "manifest.json").read_text())
    assert disk == m and m["command"] == "qwem x" and m["not_of_this_run"] == []
    assert [f["name"] for f in m["files"]] == ["a.txt", "old.npz"]
    assert m["files"][0]["sha256"] == _io.sha256_file(out / "a.txt")
    assert (out / "old.npz").read_text() == "new"


def test_run_folder_marks_files_of_earlier_runs_and_keeps_them(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "train-sgns.npz").write_bytes(b"earlier run")
    (out / "checkpoints").mkdir()
    with _io.RunFolder(out, keep=("checkpoints",)) as run:
        _io.atomic_write_text(run.stage / "train-qwem.npz", "this run")
        m = run.commit({})
    assert m["not_of_this_run"] == ["train-sgns.npz"]
    assert (out / "train-sgns.npz").read_bytes() == b"earlier run"


def test_failed_run_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("earlier")
    with pytest.raises(RuntimeError, match="mid-run"):
        with _io.RunFolder(out) as run:
            _io.atomic_write_text(run.stage / "a.txt", "half of a set")
            raise RuntimeError("mid-run")
    assert [f.name for f in out.iterdir()] == ["a.txt"] and (out / "a.txt").read_text() == "earlier"
    fresh = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError):
        with _io.RunFolder(fresh):
            raise RuntimeError("before any output")
    assert not (tmp_path / "new").exists()  # the folders this run created are gone


def test_temporaries_of_killed_processes_are_removed_and_live_ones_kept(tmp_path):
    import os
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid that has exited
    (tmp_path / f".a.npz.{dead}-k3j_x9q.tmp").write_bytes(b"half")
    (tmp_path / f".qwem-run-{dead}-ab12cd.tmp").mkdir()
    (tmp_path / f".qwem-run-{dead}-ab12cd.tmp" / "svd_mstar.npz").write_bytes(b"one of three")
    mine = tmp_path / f".b.npz.{os.getpid()}-zz.tmp"
    mine.write_bytes(b"being written")
    keep = [tmp_path / "a.npz.1-x.tmp", tmp_path / "notes.tmp"]  # not ours: no leading dot / no pid
    for k in keep:
        k.write_text("user")
    gone = _io.remove_stale_temporaries(tmp_path)
    want = [f".a.npz.{dead}-k3j_x9q.tmp", f".qwem-run-{dead}-ab12cd.tmp"]
    assert sorted(p.name for p in gone) == sorted(want)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name] + [k.name for k in keep])


def test_run_folder_clears_what_a_killed_run_left(tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    out = tmp_path / "out"
    (out / "checkpoints").mkdir(parents=True)
    (out / f".qwem-run-{dead}-q.tmp").mkdir()
    (out / "checkpoints" / f".qwem.ckpt.npz.{dead}-r.tmp").write_bytes(b"cut")
    with _io.RunFolder(out, keep=("checkpoints",)) as run:
        m = run.commit({})
    assert m["not_of_this_run"] == [] and not list(out.rglob("*.tmp"))
