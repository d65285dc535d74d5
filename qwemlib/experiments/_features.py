"""Feature summaries of several embeddings: top words per component, overlaps (Figures 3a, 5).

Write ``W = U S V^T`` (no centring). The ``k``-th principal direction of a model is
``v_k``; the words closest to it say what feature it carries
(:func:`qwemlib.evaluate.top_words_per_component`). Two models over the same words
are compared through their left singular vectors: the ``(d, d)`` squared overlaps
``O[k, k'] = (u_k^a . u_k'^b)^2`` (:func:`qwemlib.evaluate.component_overlap`) and the
subspace overlap of the top-``k`` spans (:func:`qwemlib.theory.subspace_overlap`).

:class:`FeatureSummary` gives the same three things either computed from embeddings
(the ``ci`` preset, whose embeddings are stored) or read from ``features.npz``, which
:func:`feature_summary` writes when the embeddings are too large to store (``local``);
:meth:`FeatureSummary.from_stored` can add models known only by their embeddings (SGD
runs stored after ``features.npz`` was written): pairs among those are computed, pairs
of such a model with a stored-only one are unavailable (:meth:`FeatureSummary.has_pair`).

Used in: book/06_qwem_vs_word2vec.md, ``tools/make_results.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..evaluate import top_words_per_component
from ..theory import subspace_overlap

__all__ = ["FEATURE_TOPN", "FeatureSummary", "feature_summary", "subspace_ks", "shown_components",
           "component_table", "subspace_table"]

FEATURE_TOPN = 6               # words per principal component in features.npz (book/06 shows 6)


def subspace_ks(d: int) -> list[int]:
    """The span sizes ``k`` of the stored subspace overlaps: 5, 10 and ``d`` (those <= d)."""
    return sorted({5, 10, d} & set(range(1, d + 1)))


def shown_components(d: int) -> list[int]:
    """Components shown in book/06's table (0-based): the top three, the paper's 11-13
    (or three in the middle when ``d <= 15``) and the last three."""
    mid = [10, 11, 12] if d > 15 else [d // 2 - 1, d // 2, d // 2 + 1]
    return [0, 1, 2, *mid, d - 3, d - 2, d - 1]


class FeatureSummary:
    """Top words, overlap matrices and subspace overlaps of a set of models.

    Build it with :meth:`from_embeddings` (computed, float64) or :meth:`from_stored`
    (``features.npz``); :meth:`empty` has no model (no stored results). ``source``
    says which (``"stored embeddings"``, ``"stored overlaps"`` or ``"no stored embeddings or features"``).
    """

    def __init__(self, d: int, models: Sequence[str], source: str, *, embeddings: Mapping | None = None,
                 stored: Mapping[str, np.ndarray] | None = None, topn: int = FEATURE_TOPN):
        self.d, self.models, self.source, self.topn = int(d), list(models), source, topn
        self._emb, self._z = embeddings, stored
        self._U: dict[str, np.ndarray] = {}
        self._comps: dict[str, list] = {}

    @classmethod
    def from_embeddings(cls, embs: Mapping, d: int, *, topn: int = FEATURE_TOPN) -> FeatureSummary:
        """From ``{name: Embeddings}`` over the same words."""
        return cls(d, list(embs), "stored embeddings", embeddings=embs, topn=topn)

    @classmethod
    def from_stored(cls, z: Mapping[str, np.ndarray], extra: Mapping | None = None) -> FeatureSummary:
        """From the arrays of a ``features.npz`` written by :func:`feature_summary`, plus
        ``extra`` ``{name: Embeddings}`` of models it does not hold (over the same words)."""
        stored = [str(m) for m in z["models"]]
        extra = {m: e for m, e in (extra or {}).items() if m not in stored}
        source = "stored overlaps" + (f" (+ {', '.join(extra)} from stored embeddings)" if extra else "")
        return cls(int(z["d"]), stored + list(extra), source, stored=z, embeddings=extra or None,
                   topn=z[f"words/{z['models'][0]}"].shape[1] if len(z["models"]) else FEATURE_TOPN)

    @classmethod
    def empty(cls, d: int) -> FeatureSummary:
        """No model: nothing stored at this preset."""
        return cls(d, [], "no stored embeddings or features")

    def __bool__(self) -> bool:
        return bool(self.models)

    def __contains__(self, model: str) -> bool:
        return model in self.models

    def _computed(self, m: str) -> bool:
        return self._emb is not None and m in self._emb

    def has_pair(self, a: str, b: str) -> bool:
        """Whether the overlaps of ``a`` and ``b`` are available (computed or stored)."""
        if self._computed(a) and self._computed(b):
            return True
        return self._z is not None and (f"overlap/{a} | {b}" in self._z or f"overlap/{b} | {a}" in self._z)

    def _require_pair(self, a: str, b: str) -> None:
        if not self.has_pair(a, b):
            raise KeyError(f"no overlaps of {a!r} and {b!r} in this summary ({self.source}): one is "
                           "only in features.npz, the other only as embeddings; rerun "
                           "tools/make_results.py so that features.npz holds both")

    def left_vectors(self, m: str) -> np.ndarray:
        """``U[:, :d]`` of model ``m`` (float64; from embeddings only)."""
        if m not in self._U:
            self._U[m] = np.linalg.svd(np.asarray(self._emb[m].vectors, np.float64),
                                       full_matrices=False)[0][:, :self.d]
        return self._U[m]

    def components(self, m: str) -> list:
        """:class:`~qwemlib.evaluate.ComponentWords` of the ``d`` components of ``m`` (embeddings only)."""
        if m not in self._comps:
            self._comps[m] = top_words_per_component(self._emb[m], k=self.d, topn=self.topn)
        return self._comps[m]

    def top_words(self, m: str) -> list[tuple[str, ...]]:
        """The ``topn`` words closest to each of the ``d`` principal components of ``m``."""
        if self._computed(m):
            return [c.words for c in self.components(m)]
        return [tuple(map(str, w)) for w in self._z[f"words/{m}"][:self.d]]

    def overlap(self, a: str, b: str) -> np.ndarray:
        """``(d, d)`` squared overlaps of the left singular vectors, rows ``a``, columns ``b``."""
        self._require_pair(a, b)
        if self._computed(a) and self._computed(b):
            Ua, Ub = self.left_vectors(a), self.left_vectors(b)
            return (Ua.T @ Ub) ** 2
        if f"overlap/{a} | {b}" in self._z:
            return self._z[f"overlap/{a} | {b}"].astype(np.float64)
        return self._z[f"overlap/{b} | {a}"].astype(np.float64).T

    def subspace(self, a: str, b: str, k: int) -> float:
        """Subspace overlap of the top-``k`` spans of ``a`` and ``b`` (symmetric)."""
        self._require_pair(a, b)
        if self._computed(a) and self._computed(b):
            return subspace_overlap(self.left_vectors(a)[:, :k], self.left_vectors(b)[:, :k])
        key = f"subspace/{a} | {b}" if f"subspace/{a} | {b}" in self._z else f"subspace/{b} | {a}"
        return float(self._z[key][list(self._z["subspace_k"]).index(k)])

    def to_npz(self, log=print) -> dict[str, np.ndarray]:
        """The arrays of ``features.npz`` (every model, every pair in the order of ``models``)."""
        d, models = self.d, self.models
        ks = np.array(subspace_ks(d))
        for m in models:
            self.left_vectors(m)
        out = {"models": np.array(models), "subspace_k": ks, "d": np.int64(d)}
        for m in models:
            tw = self.components(m)
            out[f"words/{m}"] = np.array([c.words for c in tw])
            out[f"sign/{m}"] = np.array([c.sign for c in tw], np.int8)
            out[f"cosines/{m}"] = np.array([c.cosines for c in tw], np.float32)
            out[f"singular_values/{m}"] = np.array([c.singular_value for c in tw])
        for i, a in enumerate(models):
            for b in models[i + 1:]:
                out[f"overlap/{a} | {b}"] = self.overlap(a, b).astype(np.float32)
                sub = out[f"subspace/{a} | {b}"] = np.array([self.subspace(a, b, k) for k in ks])
                log(f"overlap {a} | {b}: top-{ks[1] if len(ks) > 1 else ks[0]} "
                    f"{sub[min(1, len(ks) - 1)]:.3f}, top-{d} {sub[-1]:.3f}")
        return out


def feature_summary(embs: Mapping, d: int, *, topn: int = FEATURE_TOPN, log=print) -> dict:
    """What book/06 derives from embeddings (Figures 3a and 5), for every model and pair.

    ``words/<m>``, ``sign/<m>``, ``cosines/<m>``, ``singular_values/<m>``: the ``topn`` words
    closest to each of the ``d`` principal components of model ``m``
    (``evaluate.top_words_per_component``); ``overlap/<a> | <b>``: the ``(d, d)`` squared
    overlaps of the left singular vectors, ``O[k, k'] = (u_k^a . u_k'^b)^2``
    (``evaluate.component_overlap``), for each pair in the order of ``models``;
    ``subspace/<a> | <b>``: ``theory.subspace_overlap`` of the top-k spans, ``k`` in
    ``subspace_k``. Read back with :meth:`FeatureSummary.from_stored`.
    """
    return FeatureSummary.from_embeddings(embs, d, topn=topn).to_npz(log=log)


def component_table(feats: FeatureSummary, ref: str, models: Sequence[str],
                    show: Sequence[int] | None = None):
    """book/06's Figure 3a table: per component ``k`` of ``ref``, each model's matched component.

    For each shown component ``k`` of ``ref`` and each other model, the component ``k'``
    whose left singular vector has the largest squared overlap with ``ref``'s ``u_k``
    ("up to reordering"); a cell is ``[k'] words (overlap)``. Models not in ``feats``
    are left out; an empty summary gives an empty table.

    Returns:
        :class:`pandas.DataFrame`, one row per shown component of ``ref``.
    """
    import pandas as pd

    models = [m for m in dict.fromkeys(models) if m in feats and (m == ref or feats.has_pair(ref, m))]
    if not models or ref not in feats:
        return pd.DataFrame()
    show = shown_components(feats.d) if show is None else show
    tops = {m: feats.top_words(m) for m in models}
    overlap = {m: feats.overlap(ref, m) for m in models if m != ref}
    table = {}
    for k in show:
        row = {}
        for m in models:
            kk = k if m == ref else int(np.argmax(overlap[m][k]))
            tail = "" if m == ref else f"  ({overlap[m][k, kk]:.2f})"
            row[m] = f"[{kk + 1}] " + " ".join(tops[m][kk]) + tail
        table[f"w2v component {k + 1}"] = row
    return pd.DataFrame(table).T


def subspace_table(feats: FeatureSummary, models: Sequence[str], ks: Sequence[int] | None = None):
    """Top-``k`` subspace overlaps of every pair of ``models`` (in that order), ``k`` in ``ks``.

    Returns:
        :class:`pandas.DataFrame`, index ``"<a> | <b>"``, columns ``top-<k>``; pairs whose
        overlaps are not available (:meth:`FeatureSummary.has_pair`) are left out.
    """
    import pandas as pd

    models = [m for m in models if m in feats]
    ks = subspace_ks(feats.d) if ks is None else ks
    sub: dict[str, dict[str, float]] = {}
    for k in ks:
        for i, a in enumerate(models):
            for b in (b for b in models[i + 1:] if feats.has_pair(a, b)):
                sub.setdefault(f"{a} | {b}", {})[f"top-{k}"] = feats.subspace(a, b, k)
    return pd.DataFrame(sub).T
