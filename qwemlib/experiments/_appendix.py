"""book/08's claims: Appendix A.4 (eq. 22), A.6 (normalisation) and D.1 (M* and PMI), judged.

The paper makes three empirical remarks in its appendices that the book can test on our
corpus: normalising only the candidate in 3CosAdd (eq. 22) gives nearly the accuracy of
normalising all four words (eq. 19-21, A.4); normalising the embeddings or the task
vectors does not change the task-vector results qualitatively (A.6); and ``M*`` is a very
close approximation to PMI (D.1, after eq. 78). Each has a :class:`Criterion` fixed here;
:func:`appendix_verdicts` measures them and :func:`measure_claims` does so for a preset.
The identities of D.1 (``PMI = 2 artanh(M*/2)``) and D.2 are not claims: the chapter
asserts them with tolerances.

Used in: book/08_appendix.md, tools/verdicts.py.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.stats

from .. import evaluate as ev
from .. import rmt
from ..config import Preset
from ..embeddings import Embeddings
from ..results import load_npz
from ..stats import pmi
from ._closed_forms import closed_forms
from ._register import Claim, Criterion, Verdict, judge

__all__ = ["CLAIMS", "MIN_FAMILIES", "MIN_PAIRS", "appendix_embeddings", "appendix_verdicts",
           "measure_claims", "normalisation_gap", "pmi_closeness", "snr_normalisation"]

_CH = "book/08_appendix.md"
#: A.6: families with at least this many word pairs enter; at least this many families to judge.
MIN_PAIRS, MIN_FAMILIES = 5, 6

CLAIMS = (
    Claim("a4-candidate-normalisation",
          "Normalising only the candidate word in 3CosAdd (eq. 22) gives nearly the same analogy "
          "accuracy as normalising all four words (eq. 19-21)", "eq. 22 (A.4)", "",
          Criterion("largest |accuracy(eq. 22) - accuracy(eq. 19-21)| over the models, "
                    "percentage points (Google analogies, pairs protocol)", "<=", 1.0), _CH),
    Claim("a6-normalisation-robust",
          "Normalising the word embeddings or the task vectors does not qualitatively change "
          "the task-vector results", "A.6", "",
          Criterion("smallest Spearman correlation across families between the spike strength "
                    "(SNR of the Gram matrix, svd(M*), d = D) with raw vectors and with unit "
                    "embeddings or unit task vectors", ">=", 0.8,
                    testable_if=f"at least {MIN_FAMILIES} families with >= {MIN_PAIRS} pairs"),
          _CH),
    Claim("d1-mstar-close-to-pmi",
          "M* is a very close approximation to the PMI matrix (the leading correction is third "
          "order)", "D.1 (eq. 78)", "",
          Criterion("||PMI - M*||_F / ||PMI||_F over the co-occurring pairs", "<=", 0.1), _CH),
)
_BY_KEY = {c.key: c for c in CLAIMS}


def normalisation_gap(embeddings: Mapping[str, Embeddings]) -> dict[str, tuple[float, float]]:
    """Model -> (accuracy with eq. 19-21, accuracy with eq. 22), Google analogies, pairs protocol.

    Used in: book/08_appendix.md (the A.4 claim).
    """
    out = {}
    for name, emb in embeddings.items():
        a = ev.evaluate_analogies(emb, protocol="pairs", dtype=np.float32).accuracy
        b = ev.evaluate_analogies(emb, protocol="pairs", dtype=np.float32,
                                  normalize="candidates").accuracy
        out[name] = (float(a), float(b))
    return out


def snr_normalisation(emb: Embeddings) -> dict[str, np.ndarray]:
    """Per-family spike strength (:func:`qwemlib.rmt.snr`) three ways: ``raw`` (the paper's
    choice, A.6), ``unit embeddings`` and ``unit task vectors``; families with at least
    :data:`MIN_PAIRS` pairs, in the analogy file's order (``families`` holds their names).

    Used in: book/08_appendix.md (the A.6 claim).
    """
    pairs = ev.analogy_pairs(ev.read_analogies("google-analogies"), emb)
    fams = [f for f, p in pairs.items() if len(p) >= MIN_PAIRS]
    index = {w: i for i, w in enumerate(emb.words)}
    W = np.asarray(emb.vectors, dtype=np.float64)
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    out = {"raw": [], "unit embeddings": [], "unit task vectors": []}
    for f in fams:
        R = rmt.task_vectors(W, pairs[f], index)
        out["raw"].append(rmt.snr(rmt.gram_spectrum(R)))
        out["unit embeddings"].append(rmt.snr(rmt.gram_spectrum(rmt.task_vectors(U, pairs[f],
                                                                                  index))))
        out["unit task vectors"].append(rmt.snr(rmt.gram_spectrum(
            R / np.linalg.norm(R, axis=1, keepdims=True))))
    return {"families": np.array(fams)} | {k: np.array(v) for k, v in out.items()}


def pmi_closeness(P_ij, P_i, M) -> tuple[float, float]:
    """``(||PMI - M*||_F / ||PMI||_F, fraction of pairs)`` over the co-occurring pairs (D.1).

    Used in: book/08_appendix.md.
    """
    seen = np.asarray(P_ij) > 0
    y = pmi(P_ij, P_i, unseen="-inf")[seen]
    x = np.asarray(M)[seen]
    return float(np.linalg.norm(y - x) / np.linalg.norm(y)), float(seen.mean())


def appendix_verdicts(st, embeddings: Mapping[str, Embeddings]) -> list[Verdict]:
    """The three claims of :data:`CLAIMS`, judged on corpus statistics and embeddings.

    Args:
        st: :class:`~qwemlib.pipeline.CorpusStatistics` (``P_ij``, ``P_i``, ``M``).
        embeddings: model -> embeddings; A.4 uses all of them, A.6 ``"svd(M*)"``.

    Used in: book/08_appendix.md.
    """
    if "svd(M*)" not in embeddings:
        raise ValueError("appendix_verdicts: embeddings must include 'svd(M*)' "
                         "(use appendix_embeddings(st, preset))")
    gaps = normalisation_gap(embeddings)
    diff = {m: 100 * abs(b - a) for m, (a, b) in gaps.items()}
    worst = max(diff, key=diff.get)
    v4 = judge(_BY_KEY["a4-candidate-normalisation"], diff[worst], detail="; ".join(
        f"{m}: {100 * a:.1f} % vs {100 * b:.1f} %" for m, (a, b) in gaps.items())
        + f" (largest gap: {worst})")
    s = snr_normalisation(embeddings["svd(M*)"])
    n = len(s["families"])
    rho = {k: float(scipy.stats.spearmanr(s["raw"], s[k])[0]) if n >= 3 else float("nan")
           for k in ("unit embeddings", "unit task vectors")}
    v6 = judge(_BY_KEY["a6-normalisation-robust"], min(rho.values()), testable=n >= MIN_FAMILIES,
               detail=f"{n} families; Spearman with raw: " + ", ".join(
                   f"{k} {r:.2f}" for k, r in rho.items()))
    rel, frac = pmi_closeness(st.P_ij, st.P_i, st.M)
    v1 = judge(_BY_KEY["d1-mstar-close-to-pmi"], rel,
               detail=f"{frac:.1%} of the pairs co-occur; the others have PMI = -inf, M* = -2")
    return [v4, v6, v1]


def appendix_embeddings(st, preset: Preset) -> dict[str, Embeddings]:
    """The models stored in ``data/results/<preset>/embeddings.npz`` (float16, read as float64),
    plus svd(M*) computed now (eq. 7) when it is not stored.

    Used in: book/08_appendix.md.
    """
    z = load_npz(preset, "embeddings.npz", missing_ok=True)
    out = {}
    if z is not None:
        words = [str(w) for w in z["words"]]
        out = {k: Embeddings(words, v.astype(np.float64)) for k, v in z.items() if k != "words"}
    if "svd(M*)" not in out:
        out["svd(M*)"] = closed_forms(st, preset, models=("svd(M*)",), log=lambda *a: None)[0][
            "svd(M*)"][0]
    return out


def measure_claims(preset: Preset | str) -> list[Verdict]:
    """:func:`appendix_verdicts` for a preset (its corpus statistics and embeddings).

    Used in: tools/verdicts.py.
    """
    from ..config import preset as get_preset
    from ..pipeline import corpus_statistics

    p = get_preset(preset) if not isinstance(preset, Preset) else preset
    st = corpus_statistics(p)
    return appendix_verdicts(st, appendix_embeddings(st, p))
