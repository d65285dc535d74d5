"""Tests for the qwem command line (argument parsing over qwemlib.experiments)."""

import builtins
import json

import numpy as np
import pytest

from qwemlib import cli, evaluate


def test_solve_small_writes_table_and_embeddings(tmp_path, capsys):
    rc = cli.main(["solve", "--scale", "ci", "--vocab", "400", "--dim", "8", "--protocol", "original",
                   "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "svd(M*)" in out and "Google analogies (original)" in out and "MEN" in out
    table = json.loads((tmp_path / "table.json").read_text())
    assert table["preset"]["vocab"] == 400 and table["preset"]["dim"] == 8
    emb = evaluate.Embeddings.load(tmp_path / "svd_mstar.npz")
    assert emb.vectors.shape == (400, 8)
    assert {r["model"] for r in table["rows"]} == {"svd(M*)", "svd(PPMI)", "svd(PMI)"}


def test_solve_rejects_d_not_below_V(capsys):
    rc = cli.main(["solve", "--scale", "ci", "--vocab", "50", "--dim", "50"])
    assert rc == 2
    assert "must be smaller than the vocabulary size V=50" in capsys.readouterr().err


def test_solve_rejects_V_beyond_vocabulary(tmp_path, capsys):
    f = tmp_path / "tiny.txt"
    f.write_text("a b c d e f\n", encoding="utf-8")
    rc = cli.main(["solve", "--corpus", str(f), "--vocab", "100", "--dim", "2"])
    assert rc == 2
    assert "larger than the corpus's 6 distinct words" in capsys.readouterr().err


def test_preset_overrides_reach_the_preset():
    args = cli.build_parser().parse_args(["train", "--scale", "ci", "--vocab", "300", "--dim", "4",
                                          "--window", "3", "--max-tokens", "1000"])
    p = cli._preset_from_args(args)
    assert (p.name, p.vocab, p.dim, p.window, p.max_tokens) == ("ci", 300, 4, 3, 1000)
    assert cli.build_parser().parse_args(["solve"]).protocol is None   # both, decided at run time


def test_data_lists_registry(capsys):
    assert cli.main(["data", "--no-verify"]) == 0
    assert "google-analogies" in capsys.readouterr().out


def test_train_writes_records_and_figure(tmp_path, capsys):
    rc = cli.main(["train", "--scale", "ci", "--vocab", "300", "--dim", "4", "--steps", "12",
                   "--batch", "2000", "--out", str(tmp_path)])
    assert rc == 0
    for loss in ("qwem", "sgns"):
        z = np.load(tmp_path / f"train-{loss}.npz")
        assert z["singular_values"].shape[1] == 4 and np.all(np.isfinite(z["singular_values"]))
        assert z["times"][-1] > 0 and z["theory_s"].shape == (400, 4)
        assert z["W"].shape == (300, 4) and z["eigenvalues"].shape == (4,)
    assert (tmp_path / "singular_values.html").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "overlap" in out and "figure:" in out


def test_train_without_plotly_writes_records_and_says_why(tmp_path, capsys, monkeypatch):
    """plotly is in the `book` extra, not a dependency: `qwem train` must work without it."""
    import sys

    real_import = builtins.__import__

    def no_plotly(name, globals=None, locals=None, fromlist=(), level=0):
        if name.startswith("plotly") or (level and name == "" and "plots" in (fromlist or ())):
            raise ModuleNotFoundError("No module named 'plotly'", name="plotly")
        return real_import(name, globals, locals, fromlist, level)

    for mod in [m for m in sys.modules if m == "qwemlib.plots" or m.startswith("qwemlib.plots.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.delattr("qwemlib.plots", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_plotly)
    rc = cli.main(["train", "--scale", "ci", "--vocab", "300", "--dim", "4", "--steps", "6",
                   "--batch", "2000", "--loss", "qwem", "--out", str(tmp_path)])
    assert rc == 0
    assert (tmp_path / "train-qwem.npz").exists() and not (tmp_path / "singular_values.html").exists()
    assert "figure not written: plotly is not installed" in capsys.readouterr().out


@pytest.mark.parametrize("negatives", ["uniform", "exact"])
def test_train_negatives_flag_reaches_the_trainer(tmp_path, capsys, negatives):
    assert cli.build_parser().parse_args(["train"]).negatives == "unigram"
    rc = cli.main(["train", "--scale", "ci", "--vocab", "300", "--dim", "4", "--steps", "12",
                   "--batch", "2000", "--loss", "qwem", "--negatives", negatives, "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert f"negatives={negatives}" in out
    z = np.load(tmp_path / "train-qwem.npz")
    assert np.all(np.isfinite(z["singular_values"])) and z["times"][-1] > 0


def test_train_rejects_d_not_below_V(capsys):
    assert cli.main(["train", "--scale", "ci", "--vocab", "50", "--dim", "50"]) == 2
    assert "must be smaller than V=50" in capsys.readouterr().err
