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
