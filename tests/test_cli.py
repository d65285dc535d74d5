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
    rc = cli.main(["solve", "--corpus", str(f), "--vocab", "100", "--dim", "2", "--out", str(tmp_path / "o")])
    assert rc == 1  # a runtime error (the corpus), not a usage error
    assert "larger than the corpus's 6 distinct words" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # the folder made for the outputs is removed again


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
    assert "--dim 50 must be smaller than the vocabulary size V=50" in capsys.readouterr().err


# --- issue 15.3: a conventional command line. Each test fails on the code before it (cli.py at
# 652e9f0): no --version, reStructuredText in --help, no defaults shown, runtime errors exit 2,
# `qwem data` exits 0 with files missing, options copied into each subcommand.

def _run(argv):
    """Exit code of ``qwem argv`` whether ``main`` returns it or argparse raises SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def test_conventional_version(capsys):
    import qwemlib
    assert _run(["--version"]) == 0
    assert qwemlib.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["solve", "--help"], ["train", "--help"], ["data", "--help"]])
def test_conventional_help_has_no_markup(capsys, argv):
    assert _run(argv) == 0
    text = capsys.readouterr().out
    assert "usage: qwem" in text
    for markup in ("``", ":func:", ":class:", ":meth:", ":mod:"):
        assert markup not in text, f"{markup} in qwem {' '.join(argv)}"


def test_conventional_help_shows_defaults(capsys):
    assert _run(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("SGD steps (default: 300)", "(default: 6e-05)", "(default: 50000)", "(default: both)",
                  "(default: float32)", "(default: unigram)"):
        assert shown in text
    assert "(default: None)" not in text  # preset overrides say "the preset's value" instead


def test_conventional_runtime_error_exits_1_with_one_line(tmp_path, capsys):
    f = tmp_path / "tiny.txt"
    f.write_text("a b c d e f\n", encoding="utf-8")
    argv = ["solve", "--corpus", str(f), "--vocab", "100", "--dim", "2", "--out", str(tmp_path / "o")]
    assert _run(argv) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("qwem")]
    assert len(err) == 1 and err[0].startswith("qwem: error: ") and "choose a smaller V" in err[0]


@pytest.mark.parametrize("argv", [["solve", "--vocab", "0"], ["solve", "--max-tokens", "0"],
                                  ["train", "--lr", "-1"], ["train", "--steps", "0"]])
def test_conventional_usage_error_exits_2_naming_the_option(capsys, monkeypatch, argv):
    from qwemlib import experiments

    def never(*a, **k):
        raise AssertionError("a bad option must stop before any compute")
    monkeypatch.setattr(experiments, "closed_form_benchmark", never)
    monkeypatch.setattr(experiments, "train_and_compare", never)
    assert _run(argv) == 2
    assert f"argument {argv[1]}" in capsys.readouterr().err


def test_conventional_data_exits_1_when_a_needed_file_is_missing(tmp_path, capsys, monkeypatch):
    from qwemlib import data
    monkeypatch.setattr(data, "search_dirs", lambda: [tmp_path])
    monkeypatch.setenv("QWEM_OFFLINE", "1")
    assert _run(["data", "--no-verify"]) == 1
    captured = capsys.readouterr()
    assert "google-analogies" in captured.err and "MISSING" in captured.out
    assert "QWEM_DATA_DIR" in captured.err  # what to do


def test_conventional_subcommands_share_one_parent_parser():
    """solve and train take their common options from one parent: the same action objects."""
    sub = next(a for a in cli.build_parser()._actions if a.dest == "cmd")
    def action(cmd, flag):
        return next(a for a in sub.choices[cmd]._actions if flag in a.option_strings)
    for flag in ("--scale", "--corpus", "--vocab", "--dim", "--window", "--max-tokens", "--out"):
        assert action("solve", flag) is action("train", flag), flag
    assert action("data", "--scale") is action("solve", "--scale")
