"""Tests for qwemlib.config: the presets and QWEM_SCALE."""

import pytest

from qwemlib import config, data


def test_every_preset_names_a_registered_corpus():
    for p in config.PRESETS.values():
        assert p.corpus in data.CORPORA, p.name
        assert 0 < p.dim < p.vocab
        assert p.name in p.caption() and p.description


def test_hub_preset_is_ci_sizes_on_the_papers_corpus():
    ci, hub, full = config.preset("ci"), config.preset("hub"), config.preset("full")
    assert (hub.vocab, hub.dim, hub.window) == (ci.vocab, ci.dim, ci.window)
    assert hub.corpus == full.corpus and data.is_remote_corpus(hub.corpus)
    assert hub.min_article_tokens == full.min_article_tokens == 500   # paper, Appendix A.1
    assert hub.max_tokens == 800_000                                   # about the ci slice's size


def test_the_papers_article_filter_at_local_hub_and_full_not_ci():
    """Appendix A.1 drops articles under 500 tokens; ci is kept whole (see config.py)."""
    assert {n: p.min_article_tokens for n, p in config.PRESETS.items()} == {
        "ci": 0, "local": 500, "hub": 500, "full": 500}


def test_qwem_scale(monkeypatch):
    monkeypatch.delenv("QWEM_SCALE", raising=False)
    assert config.scale_name() == "ci"
    monkeypatch.setenv("QWEM_SCALE", " hub ")
    assert config.preset().name == "hub"
    monkeypatch.setenv("QWEM_SCALE", "huge")
    with pytest.raises(ValueError, match="QWEM_SCALE='huge' is not a preset; choose one of"):
        config.scale_name()


def test_overrides_and_unknown_names():
    assert config.preset("ci", dim=20).dim == 20
    assert config.preset("ci").dim == 50                       # presets are not mutated
    with pytest.raises(ValueError, match="unknown preset 'CI'"):
        config.preset("CI")


def test_binder_start_selects_the_hub_preset_unless_told_otherwise():
    import os
    import subprocess
    from pathlib import Path

    start = Path(__file__).resolve().parents[1] / "start"
    env = {k: v for k, v in os.environ.items() if k != "QWEM_SCALE"}
    run = lambda e: subprocess.run(["bash", str(start), "bash", "-c", "echo $QWEM_SCALE"],  # noqa: E731
                                   env=e, capture_output=True, text=True, check=True).stdout.strip()
    assert run(env) == "hub"
    assert run(dict(env, QWEM_SCALE="local")) == "local"
    assert run(env) in config.PRESETS
