"""Tests for the qwem command line."""

import json

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


def test_data_lists_registry(capsys):
    assert cli.main(["data", "--no-verify"]) == 0
    assert "google-analogies" in capsys.readouterr().out
