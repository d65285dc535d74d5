"""Scale presets: the one place where ``QWEM_SCALE`` is read.

Every chapter of the book and every command asks :func:`preset` for its sizes
instead of branching on the scale itself, so the full-scale run of the paper
(2 B tokens of Wikipedia, V = 10,000, d = 200, a window of 16 on each side;
paper, Appendix A) is one environment variable away from the quick one.

Used by: every chapter (``book/*.md``), ``qwem`` (:mod:`qwemlib.cli`), ``bench/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

__all__ = ["Preset", "PRESETS", "preset", "scale_name"]


@dataclass(frozen=True)
class Preset:
    """Sizes of one run of the pipeline.

    Attributes:
        name: preset name (``ci``, ``hub``, ``local``, ``full``).
        corpus: registry name of the corpus (see :mod:`qwemlib.data`).
        vocab: V, the number of most frequent words kept (paper: 10,000).
        dim: d, the embedding dimension (paper: 200).
        window: context half-width; the paper's "L = 32 neighbours" is 16 each side.
        min_article_tokens: articles shorter than this are dropped (paper: 500).
        max_tokens: stop reading the corpus after this many tokens (``None``: all).
        description: where the numbers come from, for figure captions.
    """

    name: str
    corpus: str
    vocab: int
    dim: int
    window: int = 16
    min_article_tokens: int = 0
    max_tokens: int | None = None
    description: str = ""

    def caption(self) -> str:
        """A short provenance string for figure captions."""
        return (
            f"preset '{self.name}': {self.corpus}, V = {self.vocab:,}, d = {self.dim}, "
            f"window {self.window} each side"
        )


#: The paper's article filter (Appendix A.1: articles with fewer than 500 tokens are
#: dropped) applies at ``local``, ``hub`` and ``full``. ``ci`` keeps its 229 articles
#: unfiltered: the filter would keep 175 of them and 98.8 % of their tokens, so it would
#: move every stored ci reference (data/results/ci) without bringing the smoke-test slice
#: closer to the paper; ``hub`` runs the filter at the ci sizes.
PAPER_MIN_ARTICLE_TOKENS = 500
#: The paper's sizes (Appendix A): V = 10,000, d = 200, and its article filter.
_PAPER_SIZES = dict(vocab=10_000, dim=200, min_article_tokens=PAPER_MIN_ARTICLE_TOKENS)

PRESETS: dict[str, Preset] = {
    "ci": Preset(
        name="ci",
        corpus="wikipedia/20150523.en-ci",
        vocab=2000,
        dim=50,
        description="229 articles of a May 2015 English Wikipedia dump (about 0.8 M tokens); "
        "for CI and quick local builds, not the paper's corpus",
    ),
    "local": Preset(
        name="local",
        corpus="wikipedia/20150523.en-sample",
        **_PAPER_SIZES,
        description="the articles with >= 500 tokens among the first 30,729 articles of a "
        "May 2015 English Wikipedia dump (about 65 M tokens before the filter); smaller and "
        "older than the paper's corpus",
    ),
    "full": Preset(
        name="full",
        corpus="wikimedia/wikipedia:20231101.en",
        **_PAPER_SIZES,
        max_tokens=2_000_000_000,
        description="English Wikipedia, November 2023 dump, articles with >= 500 tokens, "
        "2 B tokens: the paper's setting (Appendix A.1)",
    ),
}
#: The ci sizes on the paper's corpus (``full``'s source and article filter), streamed.
PRESETS["hub"] = replace(
    PRESETS["full"],
    name="hub",
    vocab=PRESETS["ci"].vocab,
    dim=PRESETS["ci"].dim,
    max_tokens=800_000,
    description="the first 0.8 M tokens (articles with >= 500 tokens) of the November "
    "2023 English Wikipedia, streamed from the Hugging Face Hub: the ci sizes for "
    "readers without the shared 2015 sample (Binder, Colab); needs the network",
)
PRESETS = {k: PRESETS[k] for k in ("ci", "local", "hub", "full")}  # smallest first


def scale_name() -> str:
    """The preset name selected by ``QWEM_SCALE`` (default ``ci``)."""
    name = os.environ.get("QWEM_SCALE", "ci").strip() or "ci"
    if name not in PRESETS:
        raise ValueError(
            f"QWEM_SCALE={name!r} is not a preset; choose one of {sorted(PRESETS)}"
        )
    return name


def preset(name: str | None = None, **overrides) -> Preset:
    """Return the preset ``name`` (default: from ``QWEM_SCALE``), with field overrides.

    Example:
        >>> preset("ci").vocab
        2000
        >>> preset("ci", dim=20).dim
        20
    """
    if name is not None and name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    base = PRESETS[name if name is not None else scale_name()]
    return replace(base, **overrides) if overrides else base
