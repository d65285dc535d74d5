"""book/06's check: the paper's claims about QWEM and word2vec, judged on our numbers.

:func:`judge_claims` states, claim by claim, whether it holds at this preset, with
the numbers it rests on and the paper's (quoted); :meth:`Claims.check` asserts the
live re-check of svd(M*) and, at ``ci``, the claims that held on the stored ``ci``
results when the chapter was written, so that a change that breaks them fails.

Used in: book/06_qwem_vs_word2vec.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._comparison import ModelComparison

__all__ = ["LIVE_TOLERANCE", "Claims", "judge_claims"]

#: Largest accepted |live - stored| of the svd(M*) rows (same eigensolver, same statistics).
LIVE_TOLERANCE = 0.002
_PAPER_COLUMN = "paper (2 B tokens, quoted)"
_FIG5 = "Figure 5: word2vec aligns very closely with QWEM, less with PPMI"


@dataclass
class Claims:
    """Verdicts on the paper's claims at one preset.

    Attributes:
        preset: the preset's name.
        word2vec, qwem: the models that played these roles.
        live_diff: the live re-check's largest difference (NaN when not computed).
        items: one dict per judged claim (claim, paper, detail, holds).
        lines: the printed report.
    """

    preset: str
    word2vec: str
    qwem: str
    live_diff: float
    items: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, paper: str = "") -> None:
        """Record the verdict on claim ``name``."""
        self.items.append({"claim": name, "paper": paper, "detail": detail, "holds": bool(ok)})
        self.lines.append(f"[{'holds' if ok else 'does NOT hold at this preset'}] {name}: {detail}")

    @property
    def verdicts(self) -> dict[str, bool]:
        """Claim -> whether it holds."""
        return {c["claim"]: c["holds"] for c in self.items}

    def report(self) -> str:
        """The verdicts, one line each, after the live re-check."""
        return "\n".join(self.lines)

    def check(self, held_at_ci: Iterable[str]) -> list[str]:
        """Assert what must hold; returns the claims asserted.

        The live svd(M*) rows must match the stored ones within :data:`LIVE_TOLERANCE`
        (where recomputed). At ``ci``, with stored results, every claim in
        ``held_at_ci`` must have been judged and must hold; at other presets (and
        without stored results) the verdicts are reported only.

        Raises:
            AssertionError: naming the failed check.
        """
        if not (np.isnan(self.live_diff) or self.live_diff < LIVE_TOLERANCE):
            raise AssertionError(f"live svd(M*) rows differ from the stored ones by {self.live_diff}")
        if self.preset != "ci" or not self.items:
            return []
        held = set(held_at_ci)
        unjudged = sorted(held - set(self.verdicts))
        if unjudged:
            raise AssertionError(f"claims {unjudged} held on the stored ci results and were not judged now")
        failed = sorted(n for n in held if not self.verdicts[n])
        if failed:
            raise AssertionError(f"{failed} held on the stored ci results and fail now")
        return sorted(held)

    def summary(self) -> str:
        """How many claims hold, and who played which role."""
        out = f"{sum(c['holds'] for c in self.items)} of {len(self.items)} claims hold at this preset " \
              f"(word2vec = {self.word2vec}, QWEM = {self.qwem})"
        if not self.items:
            out = (f"no claim can be judged at preset {self.preset!r} without its stored results "
                   f"(python tools/make_results.py --scale {self.preset})\n" + out)
        return out

    def table(self):
        """The verdicts as a :class:`pandas.DataFrame` (claim, paper, measured here, verdict)."""
        import pandas as pd

        here = f"measured here ({self.preset})"
        rows = [{"claim": c["claim"], _PAPER_COLUMN: c["paper"], here: c["detail"],
                 "verdict": "holds" if c["holds"] else "does not hold at this preset"} for c in self.items]
        return pd.DataFrame(rows, columns=["claim", _PAPER_COLUMN, here, "verdict"])


def _analogy_claims(claims: Claims, cmp: ModelComparison) -> None:
    w2v, qwem = cmp.word2vec, cmp.qwem
    models = {"svd(M*)", "svd(PPMI)", "svd(PMI)", w2v, qwem}
    acc = {m: cmp.value(m, "Google analogies (pairs)") for m in models}

    def pc(m):
        return f"{100 * acc[m]:.1f} %"

    m_star, pmi = acc["svd(M*)"], acc["svd(PMI)"]
    claims.add("svd(M*) >= svd(PMI) on analogies", m_star >= pmi,
               f"{pc('svd(M*)')} vs {pc('svd(PMI)')}", "66.3 % vs 8.4 %")
    claims.add("svd(M*) at least 10 points above svd(PMI) on analogies", m_star - pmi >= 0.10,
               f"{pc('svd(M*)')} vs {pc('svd(PMI)')} ({100 * (m_star - pmi):+.1f} points)",
               "66.3 % vs 8.4 % (+57.9 points)")
    claims.add("svd(M*) > svd(PPMI) on analogies", m_star > acc["svd(PPMI)"],
               f"{pc('svd(M*)')} vs {pc('svd(PPMI)')}", "66.3 % vs 50.6 %")
    close = [(qwem, "QWEM 65.1 % (svd(M*) 66.3 %) vs word2vec 68.0 %" if qwem == "svd(M*)"
              else "QWEM 65.1 % vs word2vec 68.0 %")]
    close += [("svd(M*)", "svd(M*) 66.3 % vs word2vec 68.0 %")] if qwem != "svd(M*)" else []
    for q, paper in close:
        if np.isnan(acc[q]) or np.isnan(acc[w2v]):
            continue
        gap = 100 * abs(acc[w2v] - acc[q])
        claims.add(f"{'QWEM' if q == qwem else q} within 3 points of word2vec on analogies", gap <= 3,
                   f"{q} {pc(q)} vs {w2v} {pc(w2v)} ({gap:.1f} points apart)", paper)


def _feature_claims(claims: Claims, cmp: ModelComparison) -> None:
    w2v, qwem, feats = cmp.word2vec, cmp.qwem, cmp.features
    d = feats.d
    for k in sorted({10 if d >= 10 else d, d}):
        tag = f"top-{k}" + (" (all d)" if k == d else "")
        w_q, w_p = feats.subspace(w2v, qwem, k), feats.subspace(w2v, "svd(PPMI)", k)
        q_p = feats.subspace(qwem, "svd(PPMI)", k)
        claims.add(f"{tag}: word2vec closer to QWEM than to PPMI", w_q > w_p,
                   f"{w2v} | {qwem} {w_q:.3f} vs {w2v} | svd(PPMI) {w_p:.3f}", _FIG5)
        if qwem != "svd(M*)":
            w_m = feats.subspace(w2v, "svd(M*)", k)
            claims.add(f"{tag}: word2vec closer to svd(M*) than to PPMI", w_m > w_p,
                       f"{w2v} | svd(M*) {w_m:.3f} vs {w2v} | svd(PPMI) {w_p:.3f}", _FIG5)
        claims.add(f"{tag}: QWEM closer to word2vec than to PPMI", w_q > q_p,
                   f"{qwem} | {w2v} {w_q:.3f} vs {qwem} | svd(PPMI) {q_p:.3f}", _FIG5)


def judge_claims(cmp: ModelComparison, live_diff: float = np.nan) -> Claims:
    """Judge the paper's claims on a :class:`ModelComparison` (book/06's check).

    1. the live svd(M*) rows match the stored ones (``live_diff``, see :meth:`Claims.check`);
    2. svd(M*) >= svd(PMI) on analogies, by at least 10 points, and > svd(PPMI);
    3. QWEM (and svd(M*)) within 3 points of word2vec on analogies (paper: 65.1 % vs 68.0 %);
    4. word2vec's top-k span closer to QWEM's (and svd(M*)'s) than to PPMI's, and QWEM's
       closer to word2vec's than to PPMI's (Figure 5), for k = 10 and k = d.

    Analogy claims need stored rows, span claims stored embeddings or features; claims
    that cannot be judged are left out.
    """
    claims = Claims(cmp.preset.name, cmp.word2vec, cmp.qwem, float(live_diff))
    claims.lines.append(f"1. live svd(M*) rows vs stored: largest difference {live_diff:.2g}")
    if cmp.rows:
        _analogy_claims(claims, cmp)
    if cmp.features:
        _feature_claims(claims, cmp)
    return claims
