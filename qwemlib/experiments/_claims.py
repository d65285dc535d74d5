"""book/06's claims: the paper's statements about QWEM and word2vec, judged on our numbers.

Every statement of Figure 3b, Figure 5 and Section 3.3 that chapter 6 tests is a
:class:`~qwemlib.experiments.Claim` of :data:`CLAIMS`, its criterion fixed here in
code, and is judged "both ways": with our SGNS trainer and with gensim's Word2Vec in
word2vec's role, and with the paper's-sampler QWEM SGD run, the uniform-negatives run
and svd(M*) (what QWEM SGD converges to, Theorem 1) in QWEM's. A pairing whose models
are not stored at a preset is "not testable" there; stored later, it is judged
without a change here. :func:`judge_claims` measures them on a
:class:`~qwemlib.experiments.ModelComparison`; :meth:`ChapterClaims.check` asserts
the live svd(M*) re-check (an identity: same eigensolver, same statistics) within
:data:`LIVE_TOLERANCE` and that every criterion was evaluated, never that a claim
holds. :func:`measure_claims` is the register's hook (``tools/verdicts.py``).

Used in: book/06_qwem_vs_word2vec.md, tools/verdicts.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._comparison import QWEM_EXACT, QWEM_UNIFORM, ModelComparison, model_comparison
from ._register import VERDICTS, Claim, Criterion, Verdict, judge, verdict_table

__all__ = ["CLAIMS", "CLOSE_POINTS", "LIVE_TOLERANCE", "WORD2VEC_ROLES", "QWEM_ROLES",
           "ChapterClaims", "judge_claims", "measure_claims"]

#: Largest accepted |live - stored| of the svd(M*) rows (same eigensolver, same statistics).
LIVE_TOLERANCE = 0.002
#: "Within a few points" on analogies: the paper's own QWEM-word2vec gap, 68.0 - 65.1 = 2.9,
#: rounded up (Figure 3b).
CLOSE_POINTS = 3.0
#: Who plays word2vec: tag -> model ("gensim": the first stored gensim model).
WORD2VEC_ROLES = {"sgns": "word2vec (SGNS)", "gensim": "gensim Word2Vec"}
#: Who plays QWEM: tag -> model.
QWEM_ROLES = {"qwem-sgd": "QWEM (SGD)", "qwem-vr": "variance-reduced QWEM (SGD)", "svd-mstar": "svd(M*)"}
#: The stored models that can play the variance-reduced QWEM (ci: chapter 7's uniform-negatives
#: run; local: book/05's exact-terms run), first stored first.
QWEM_VR_MODELS = (QWEM_UNIFORM, QWEM_EXACT)
_CHAPTER = "book/06_qwem_vs_word2vec.md"
_ANALOGIES = "Google analogies (pairs)"
_ROWS = "rows of both models stored at this preset"
_SPANS = "overlaps of both pairs available at this preset"
_PAPER_ACC = {"word2vec": 68.0, "QWEM (SGD)": 65.1, QWEM_ROLES["qwem-vr"]: 65.1, "svd(M*)": 66.3,
              "svd(PPMI)": 50.6, "svd(PMI)": 8.4}
_SPAN_KS = (10, "d")


def _claim(key, statement, where, paper, metric, op, threshold, testable_if) -> Claim:
    return Claim(key, statement, where, paper, Criterion(metric, op, threshold, testable_if), _CHAPTER)


def _paper_gap(a: str, b: str) -> str:
    pa, pb = _PAPER_ACC[a], _PAPER_ACC[b]
    return f"{pa:.1f} % vs {pb:.1f} % ({abs(pa - pb):.1f} points)"


def _build() -> tuple[tuple[Claim, ...], dict[str, tuple]]:
    """The claims and, per key, what to measure: ("gap" | "diff", a, b) on analogies in
    points, or ("span", word2vec, qwem, k)."""
    claims, spec = [], {}

    def add(claim, how):
        claims.append(claim)
        spec[claim.key] = how

    for q_tag, q in QWEM_ROLES.items():
        for w_tag, w in WORD2VEC_ROLES.items():
            add(_claim(f"fig3b-near-w2v/{q_tag}/{w_tag}",
                       f"{q} scores within {CLOSE_POINTS:g} points of {w} on analogies",
                       "Figure 3b; Section 3.3", _paper_gap(q, "word2vec"),
                       f"|acc({w}) - acc({q})|, {_ANALOGIES}, points", "<=", CLOSE_POINTS, _ROWS),
                ("gap", w, q))
    for q_tag in ("qwem-sgd", "qwem-vr"):
        q = QWEM_ROLES[q_tag]
        add(_claim(f"fig3b-mstar-near-qwem/{q_tag}",
                   f"svd(M*) scores within {CLOSE_POINTS:g} points of {q} on analogies",
                   "Figure 3b", _paper_gap("svd(M*)", q),
                   f"|acc(svd(M*)) - acc({q})|, {_ANALOGIES}, points", "<=", CLOSE_POINTS, _ROWS),
            ("gap", "svd(M*)", q))
    for key, other, op, threshold, words in (
            ("fig3b-mstar-vs-pmi", "svd(PMI)", ">=", 0.0, "at least as well as"),
            ("fig3b-mstar-well-above-pmi", "svd(PMI)", ">=", 10.0, "at least 10 points above"),
            ("fig3b-mstar-above-ppmi", "svd(PPMI)", ">", 0.0, "better than")):
        add(_claim(key, f"svd(M*) scores {words} {other} on analogies", "Figure 3b",
                   f"{_PAPER_ACC['svd(M*)']:.1f} % vs {_PAPER_ACC[other]:.1f} %",
                   f"acc(svd(M*)) - acc({other}), {_ANALOGIES}, points", op, threshold, _ROWS),
            ("diff", "svd(M*)", other))
    for q_tag, q in QWEM_ROLES.items():
        for w_tag, w in WORD2VEC_ROLES.items():
            for k in _SPAN_KS:
                add(_claim(f"fig5-w2v-closer-to-qwem/{q_tag}/{w_tag}/top-{k}",
                           f"{w}'s top-{k} features overlap more with {q}'s than with svd(PPMI)'s",
                           "Figure 5; Figure 3a", "",
                           f"top-{k} subspace overlap({w}, {q}) - overlap({w}, svd(PPMI))", ">", 0.0,
                           _SPANS),
                    ("span", w, q, k))
    return tuple(claims), spec


#: The claims chapter 6 judges (Figure 3b, Figure 5, Section 3.3), fixed before any result.
CLAIMS, _HOW = _build()


def _model(cmp: ModelComparison, name: str) -> str | None:
    """The stored model playing ``name`` (a gensim name matches its first stored model)."""
    names = sorted(cmp.models | set(cmp.features.models))
    if name in names:
        return name
    if name == WORD2VEC_ROLES["gensim"]:
        return next((m for m in names if m.startswith("gensim")), None)
    if name == QWEM_ROLES["qwem-vr"]:
        return next((m for m in QWEM_VR_MODELS if m in names), None)
    return None


def _accuracy_verdict(claim: Claim, how: tuple, cmp: ModelComparison) -> Verdict:
    kind, a, b = how
    ma, mb = _model(cmp, a), _model(cmp, b)
    acc = {m: 100 * cmp.value(m, _ANALOGIES) for m in (ma, mb) if m is not None}
    if ma is None or mb is None or any(np.isnan(v) for v in acc.values()):
        missing = [x for x, m in ((a, ma), (b, mb)) if m is None or np.isnan(acc.get(m, np.nan))]
        return judge(claim, np.nan, testable=False, detail=f"no analogy rows of {', '.join(missing)}")
    diff = acc[ma] - acc[mb]
    value = abs(diff) if kind == "gap" else diff
    return judge(claim, value, detail=f"{ma} {acc[ma]:.1f} % vs {mb} {acc[mb]:.1f} % ({diff:+.1f} points)")


def _span_verdict(claim: Claim, how: tuple, cmp: ModelComparison) -> Verdict:
    _, w, q, k = how
    feats = cmp.features
    mw, mq = _model(cmp, w), _model(cmp, q)
    k = feats.d if k == "d" else k
    pairs = [(mw, mq), (mw, "svd(PPMI)")]
    if any(a not in feats or b not in feats or not feats.has_pair(a, b) for a, b in pairs):
        return judge(claim, np.nan, testable=False,
                     detail=f"no overlaps of {w} with {q} and svd(PPMI) at this preset")
    near, ppmi = feats.subspace(mw, mq, k), feats.subspace(mw, "svd(PPMI)", k)
    return judge(claim, near - ppmi,
                 detail=f"top-{k}: {mw} | {mq} {near:.3f} vs {mw} | svd(PPMI) {ppmi:.3f}")


def measure(cmp: ModelComparison) -> list[Verdict]:
    """One :class:`~qwemlib.experiments.Verdict` per claim of :data:`CLAIMS`, in order."""
    return [(_span_verdict if _HOW[c.key][0] == "span" else _accuracy_verdict)(c, _HOW[c.key], cmp)
            for c in CLAIMS]


_WORDS = {"holds": "holds", "fails": "does not hold on our corpus",
          "not testable": "cannot be judged at this preset (a model is not stored)"}


@dataclass(frozen=True)
class ChapterClaims:
    """book/06's verdicts at one preset, and the live re-check.

    Attributes:
        preset: the preset's name.
        verdicts: one per claim of :data:`CLAIMS`, in order.
        live_diff: the live svd(M*) re-check's largest difference (NaN when not computed).
        roles: each model of :data:`WORD2VEC_ROLES` and :data:`QWEM_ROLES` -> the stored
            model playing it (``None`` when not stored), for the prose.
    """

    preset: str
    verdicts: tuple[Verdict, ...]
    live_diff: float
    roles: dict

    def __getitem__(self, key: str) -> Verdict:
        return next(v for v in self.verdicts if v.claim.key == key)

    def check(self, claims=CLAIMS) -> list[str]:
        """Assert the live re-check and that every claim's criterion was evaluated.

        Returns the keys judged. Never asserts that a claim holds.

        Raises:
            AssertionError: the live svd(M*) rows differ from the stored ones by
                :data:`LIVE_TOLERANCE` or more; a claim of ``claims`` was not judged (or
                twice); a verdict is not one of :data:`~qwemlib.experiments.VERDICTS`.
        """
        if not (np.isnan(self.live_diff) or self.live_diff < LIVE_TOLERANCE):
            raise AssertionError(f"live svd(M*) rows differ from the stored ones by {self.live_diff:.3g} "
                                 f"(tolerance {LIVE_TOLERANCE})")
        keys = [v.claim.key for v in self.verdicts]
        unjudged = [c.key for c in claims if keys.count(c.key) != 1]
        if unjudged:
            raise AssertionError(f"claims {unjudged} were not judged exactly once")
        odd = [(v.claim.key, v.verdict) for v in self.verdicts if v.verdict not in VERDICTS]
        if odd:
            raise AssertionError(f"verdicts outside {VERDICTS}: {odd}")
        return keys

    def table(self):
        """:func:`~qwemlib.experiments.verdict_table` of the verdicts, with their detail."""
        t = verdict_table(self.verdicts)
        t["measured here"] = [v.detail for v in self.verdicts]
        return t

    def counts(self) -> dict[str, int]:
        """How many claims got each verdict."""
        return {w: sum(v.verdict == w for v in self.verdicts) for w in VERDICTS}

    def glue(self) -> dict[str, str]:
        """Prose from the computed verdicts: ``ch6_v_<key>`` (the verdict in words) and
        ``ch6_m_<key>`` (the numbers it rests on), keys with ``/`` and ``-`` as ``_``."""
        out = {}
        for v in self.verdicts:
            tag = v.claim.key.replace("/", "_").replace("-", "_")
            out[f"ch6_v_{tag}"] = _WORDS[v.verdict]
            out[f"ch6_m_{tag}"] = v.detail
        c = self.counts()
        out["ch6_counts"] = (f"{c['holds']} hold, {c['fails']} do not, {c['not testable']} cannot be "
                             f"judged at this preset")
        out["ch6_roles"] = "; ".join(f"{m or r + ' (not stored)'}" for r, m in self.roles.items())
        return out


def judge_claims(cmp: ModelComparison, live_diff: float = np.nan) -> ChapterClaims:
    """Judge :data:`CLAIMS` on ``cmp`` (book/06's check); ``live_diff`` from the re-check."""
    roles = {m: _model(cmp, m) for m in (*WORD2VEC_ROLES.values(), *QWEM_ROLES.values())}
    return ChapterClaims(cmp.preset.name, tuple(measure(cmp)), float(live_diff), roles)


def measure_claims(preset) -> list[Verdict]:
    """The register's hook: :data:`CLAIMS` judged from the preset's stored results alone.

    Used in: tools/verdicts.py.
    """
    return list(judge_claims(model_comparison(preset)).verdicts)
