"""svd(PMI) under each convention: what the unseen pairs hold, which eigenpairs, which scale.

PMI (eq. 75) is ``-inf`` wherever a pair never co-occurs, so a factorization of it has
to choose a finite value there, and ``svd(M)`` (Figure 3's caption: the least-squares
rank-``d`` factor ``W W^T``) leaves two more choices open. The conventions compared:

* **unseen pairs** (:data:`UNSEEN`): ``"zero"`` (Levy and Goldberg's PMI_0, the book's
  svd(PMI)); ``"min"`` (the smallest PMI of a seen pair); ``"count"`` (as if the pair
  had been seen with the smallest positive ``P_ij``, i.e. one count of the lightest
  weight); ``"smoothed"`` (that smallest ``P_ij`` added to every cell, renormalised:
  add-one smoothing in count units); ``"paper"`` (``log(P_ij / (P_i P_j) + 1e-25)``,
  what the paper's own code computes: ``dkarkada/qwem``, notebooks/benchmarks.ipynb,
  so an unseen pair holds ``log 1e-25 = -57.6``).
* **spectrum** (:data:`SPECTRA`): ``"algebraic"``, the top-``d`` eigenpairs by value,
  negative ones clipped (the PSD minimizer of eq. 7, what the paper's code and the book
  use), or ``"magnitude"``, the top-``d`` by ``|lambda|`` (a truncated SVD, as a
  classic SVD of PMI does; negative modes kept).
* **scale** (:data:`SCALES`): ``"sqrt"``, ``W = V_d |Lambda_d|^{1/2}``, or ``"none"``,
  ``W = V_d`` (Levy et al.'s eigenvalue weight ``p = 0``).

:func:`pmi_conventions` scores every combination on the Google analogies by the
"pairs" protocol (that of the Figure 3b rows, :mod:`qwemlib.evaluate`);
``tools/store_pmi_conventions.py`` stores the table as ``pmi_conventions.json``
(:func:`save_pmi_conventions`) and :func:`pmi_convention_table` reads it or computes it.

Used in: book/06_qwem_vs_word2vec.md.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from itertools import product

import numpy as np
import scipy.sparse.linalg

from .. import config, results, stats
from .._validate import validate_symmetric
from ..eigen import top_eigenpairs
from ..embeddings import Embeddings
from ..evaluate import evaluate_analogies
from ..theory import closed_form_embeddings
from ._closed_forms import eigen_method

__all__ = ["UNSEEN", "SPECTRA", "SCALES", "PAPER_EPS", "PAPER_CONVENTION", "BOOK_CONVENTION",
           "PMIConvention", "CONVENTIONS", "PrefixStatistics", "pmi_matrix", "pmi_embeddings",
           "prefix_statistics", "pmi_conventions", "save_pmi_conventions",
           "pmi_convention_table", "pmi_convention_tables", "FILENAME", "conventions_frame", "size_frame",
           "conventions_summary"]

#: What an unseen pair (``P_ij = 0``) holds; see the module docstring.
UNSEEN = ("zero", "min", "count", "smoothed", "paper")
#: Which top-``d`` eigenpairs: by algebraic value (eq. 7) or by magnitude (a truncated SVD).
SPECTRA = ("algebraic", "magnitude")
#: ``W = V_d |Lambda_d|^{1/2}`` or ``W = V_d``.
SCALES = ("sqrt", "none")
#: The paper's code adds this to ``P_ij / (P_i P_j)`` before the log.
PAPER_EPS = 1e-25
#: The stored table's file name, under ``data/results/<preset>/``.
FILENAME = "pmi_conventions.json"


@dataclass(frozen=True)
class PMIConvention:
    """One way to turn the statistics into svd(PMI) embeddings (see the module docstring)."""

    unseen: str
    spectrum: str = "algebraic"
    scale: str = "sqrt"

    def __post_init__(self):
        for field, allowed in (("unseen", UNSEEN), ("spectrum", SPECTRA), ("scale", SCALES)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"PMIConvention.{field} must be one of {allowed}; "
                                 f"got {getattr(self, field)!r}")

    @property
    def label(self) -> str:
        return f"unseen={self.unseen}, {self.spectrum}, {self.scale}"


#: Every combination, unseen-pair convention outermost.
CONVENTIONS = tuple(PMIConvention(u, s, c) for u, s, c in product(UNSEEN, SPECTRA, SCALES))
#: The book's svd(PMI) (:mod:`qwemlib.experiments._closed_forms`).
BOOK_CONVENTION = PMIConvention("zero", "algebraic", "sqrt")
#: What the paper's code does (full ``eigh``, top ``d`` by value, ``sqrt``, ``+1e-25``).
PAPER_CONVENTION = PMIConvention("paper", "algebraic", "sqrt")


def pmi_matrix(P_ij: np.ndarray, P_i: np.ndarray, unseen: str = "zero") -> np.ndarray:
    """PMI (eq. 75) with the unseen pairs filled by the convention ``unseen`` (:data:`UNSEEN`).

    Seen pairs hold ``log(P_ij / (P_i P_j))`` (:func:`qwemlib.stats.pmi`) except under
    ``"smoothed"``, where every cell is ``log((P_ij + p) / (1 + V^2 p) / (P_i P_j))``
    with ``p`` the smallest positive ``P_ij``, and ``"paper"``, where the ``1e-25`` of
    :data:`PAPER_EPS` is added to every ratio (negligible for a seen pair).

    Raises:
        ValueError: unknown ``unseen``, bad shapes, or no pair seen at all.
    """
    if unseen not in UNSEEN:
        raise ValueError(f"unseen must be one of {UNSEEN}; got {unseen!r}")
    seen = P_ij > 0
    if not seen.any():
        raise ValueError("P_ij has no positive entry: no pair was seen, PMI is undefined")
    if unseen == "zero":
        return stats.pmi(P_ij, P_i, unseen="zero")
    if unseen == "paper":
        return np.log(P_ij / np.outer(P_i, P_i) + PAPER_EPS)
    p = float(P_ij[seen].min())
    if unseen == "smoothed":
        return stats.pmi((P_ij + p) / (1.0 + P_ij.size * p), P_i, unseen="-inf")
    out = stats.pmi(P_ij, P_i, unseen="zero")
    if unseen == "min":
        out[~seen] = out[seen].min()
    else:  # "count": P_ij = p in the unseen cells
        out[~seen] = (np.log(p) - np.log(np.outer(P_i, P_i)))[~seen]
    return out


def _top_by_magnitude(M: np.ndarray, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ``d`` eigenpairs of largest ``|lambda|`` (ARPACK ``which="LM"``), largest first.

    For a symmetric matrix these are its top-``d`` singular triplets (``sigma = |lambda|``,
    left vector = eigenvector), so this is a truncated SVD.
    """
    v0 = np.random.default_rng(seed).standard_normal(M.shape[0])
    w, v = scipy.sparse.linalg.eigsh(M, k=d, which="LM", v0=v0, tol=1e-10)
    order = np.argsort(-np.abs(w), kind="stable")
    return w[order], v[:, order]


def pmi_embeddings(M: np.ndarray, d: int, spectrum: str = "algebraic", *, method: str | None = None,
                   seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Both scalings of the top-``d`` eigenpairs of ``M`` chosen by ``spectrum`` (:data:`SPECTRA`).

    ``"algebraic"`` is :func:`qwemlib.theory.closed_form_embeddings` (eq. 7, negative top
    eigenvalues clipped to 0 with its warning) through :func:`qwemlib.eigen.top_eigenpairs`
    (``method``: ``None`` is :func:`eigen_method`, what the stored closed forms used);
    ``"magnitude"`` is ARPACK's largest-magnitude eigenpairs, ``W = V_d |Lambda_d|^{1/2}``.

    Returns:
        ``({"sqrt": W, "none": V_d}, eigenvalues)``, eigenvalues in the solver's order
        (decreasing value, or decreasing magnitude).
    """
    M = validate_symmetric(M, "M")
    if spectrum not in SPECTRA:
        raise ValueError(f"spectrum must be one of {SPECTRA}; got {spectrum!r}")
    if spectrum == "algebraic":
        eig = top_eigenpairs(M, d, method=method or eigen_method(M.shape[0]), seed=seed)
        return {"sqrt": closed_form_embeddings(M, d, eig=eig), "none": eig.vectors}, eig.values
    w, v = _top_by_magnitude(M, d, seed)
    return {"sqrt": v * np.sqrt(np.abs(w))[None, :], "none": v}, w


@dataclass(frozen=True)
class PrefixStatistics:
    """``P_ij`` and ``P_i`` of the first articles of a corpus (:func:`prefix_statistics`)."""

    P_ij: np.ndarray
    P_i: np.ndarray
    words: tuple[str, ...]
    n_tokens: int
    n_articles: int


def prefix_statistics(st, fraction: float) -> PrefixStatistics:
    """The statistics of the first ``fraction`` of ``st``'s articles: a smaller corpus with the
    same vocabulary, window and weighting (:func:`qwemlib.stats.count_cooccurrences`).

    Raises:
        ValueError: ``fraction`` outside (0, 1], or a vocabulary word absent from the prefix.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction!r}")
    corpus = st.corpus
    n = max(1, int(round(fraction * corpus.n_articles)))
    off = np.asarray(corpus.article_offsets[: n + 1])
    co = stats.count_cooccurrences(corpus.ids[: off[-1]], off, len(st.words), st.cooc.window,
                                   st.cooc.weighting)
    P_i = stats.unigram_distribution(co)
    if (P_i == 0).any():
        raise ValueError(f"{int((P_i == 0).sum())} vocabulary words do not occur in the first "
                         f"{n} articles; use a larger fraction than {fraction}")
    return PrefixStatistics(stats.skipgram_distribution(co), P_i, tuple(st.words), co.n_tokens, n)


def _score(st, M, conv, dim, protocol, extra, Ws=None, lam=None):
    if Ws is None:
        Ws, lam = pmi_embeddings(M, dim, conv.spectrum)
    r = evaluate_analogies(Embeddings(st.words, Ws[conv.scale]), protocol=protocol)
    return dict(asdict(conv), accuracy=r.accuracy, covered=r.covered,
                n_negative=int((lam < 0).sum()), lambda_first=float(lam[0]),
                lambda_last=float(lam[-1]), **extra)


def pmi_conventions(st, preset, *, unseen=UNSEEN, sizes: tuple[float, ...] = (),
                    size_conventions=(BOOK_CONVENTION, PAPER_CONVENTION), protocol: str = "pairs",
                    log=print) -> dict:
    """Analogy accuracy of svd(PMI) under every convention (:data:`CONVENTIONS`) for one preset.

    Each unseen-pair matrix is built once and solved once per spectrum (two solves), and
    both scalings are scored on the Google analogies by ``protocol``. With ``sizes``, the
    ``size_conventions`` are also scored on the first ``fraction`` of the articles
    (:func:`prefix_statistics`) for each fraction: how the gap between them moves with the
    corpus size (the paper's corpus has 35 times the tokens of ``local``).

    Args:
        st: :class:`~qwemlib.pipeline.CorpusStatistics` (``P_ij``, ``P_i``, ``words``).
        preset: its :class:`~qwemlib.config.Preset` (``dim``, ``name``).
        unseen: the unseen-pair conventions to run (a subset of :data:`UNSEEN`).
        sizes: fractions of the articles, each below 1, for the corpus-size rows.
        protocol: analogy protocol (:func:`qwemlib.evaluate.evaluate_analogies`).
        log: a print-like function, one line per solve.

    Returns:
        ``{"rows": [...], "meta": {...}}``: per convention and corpus ``fraction`` (1 for
        the whole grid): ``unseen``, ``spectrum``, ``scale``, ``accuracy``, ``covered``,
        ``n_negative`` (negative eigenvalues among the ``d`` kept), ``lambda_first`` /
        ``lambda_last``, ``tokens``, ``unseen_fraction`` (of the V x V pairs);
        ``meta`` holds the preset, the protocol, each convention's unseen value range
        (``fill``) and the solve times.
    """
    rows, fill, secs = [], {}, {}
    seen = st.P_ij > 0
    full = dict(fraction=1.0, tokens=int(st.corpus.n_tokens),
                unseen_fraction=float(1.0 - seen.mean()))
    for u in unseen:
        M = pmi_matrix(st.P_ij, st.P_i, u)
        fill[u] = [float(M[~seen].min()), float(M[~seen].max())] if (~seen).any() else []
        for spectrum in SPECTRA:
            t = time.perf_counter()
            Ws, lam = pmi_embeddings(M, preset.dim, spectrum)
            secs[f"{u}, {spectrum}"] = time.perf_counter() - t
            for scale in SCALES:
                rows.append(_score(st, M, PMIConvention(u, spectrum, scale), preset.dim, protocol,
                                   full, Ws, lam))
            log(f"unseen={u}, {spectrum}: {secs[f'{u}, {spectrum}']:.1f} s; accuracy sqrt "
                f"{rows[-2]['accuracy']:.3f}, none {rows[-1]['accuracy']:.3f}")
        del M
    for f in sizes:
        sub = prefix_statistics(st, f)
        extra = dict(fraction=float(f), tokens=sub.n_tokens,
                     unseen_fraction=float((sub.P_ij == 0).mean()))
        for c in size_conventions:
            rows.append(_score(sub, pmi_matrix(sub.P_ij, sub.P_i, c.unseen), c, preset.dim,
                               protocol, extra))
            log(f"{f:g} of the articles ({sub.n_tokens:,} tokens), {c.label}: "
                f"{rows[-1]['accuracy']:.3f}")
    meta = {"preset": preset.name, "vocab": int(st.P_i.size), "dim": preset.dim,
            "protocol": protocol, "fill": fill, "paper_eps": PAPER_EPS, "seconds": secs}
    return {"rows": rows, "meta": meta}


def save_pmi_conventions(table: dict, command: str, folder=None) -> None:
    """Store a :func:`pmi_conventions` result as ``data/results/<preset>/pmi_conventions.json``
    with :func:`qwemlib.results.stored_meta` provenance."""
    meta = table["meta"] | results.stored_meta(command)
    path = results.stored_path(table["meta"]["preset"], FILENAME, folder)
    results.save_benchmark(path, table["rows"], meta)


def pmi_convention_table(preset, *, st=None, folder=None, log=print):
    """The conventions table of ``preset`` as a pandas frame, stored or live.

    Reads ``pmi_conventions.json`` when it is stored; else computes it
    (:func:`pmi_conventions`, on ``st`` or the preset's statistics). ``frame.attrs`` holds
    the table's ``meta`` and ``source`` (``"stored"`` or ``"live"``).
    """
    import pandas as pd

    preset = config.preset(preset) if isinstance(preset, str) else preset
    rows, meta = results.read_benchmark(preset, folder=folder, filename=FILENAME)
    source = "stored"
    if rows is None:
        if st is None:
            from ..pipeline import corpus_statistics

            st = corpus_statistics(preset)
        t = pmi_conventions(st, preset, log=log)
        rows, meta, source = t["rows"], t["meta"], "live"
    df = pd.DataFrame(rows)
    df.attrs.update(meta=meta, source=source)
    return df


def pmi_convention_tables(preset, presets=("ci", "local"), *, st=None, log=print) -> dict:
    """``{name: frame}`` for each of ``presets`` that is stored, plus ``preset`` itself.

    ``preset`` (the chapter's) is read when stored, else computed live
    (:func:`pmi_convention_table`); any other preset is read only where it is stored
    (it is left out, with a line through ``log``, where it is not).
    """
    preset = config.preset(preset) if isinstance(preset, str) else preset
    out = {}
    for name in dict.fromkeys((*presets, preset.name)):
        if name == preset.name:
            out[name] = pmi_convention_table(preset, st=st, log=log)
        elif results.read_benchmark(name, filename=FILENAME)[0] is not None:
            out[name] = pmi_convention_table(name, log=log)
        else:
            log(f"{FILENAME} is not stored at {name}: run tools/store_pmi_conventions.py "
                f"--scale {name}")
    return out


# --------------------------------------------------------------------------- what book/06 shows


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def conventions_frame(tables: dict):
    """Analogy accuracy (percent) per convention (rows) and preset (columns), whole corpus.

    Args:
        tables: ``{preset name: frame}`` of :func:`pmi_convention_table`.
    """
    import pandas as pd

    keys = ["unseen", "spectrum", "scale"]
    cols = {name: (df[df.fraction == 1.0].set_index(keys).accuracy * 100).round(1)
            for name, df in tables.items()}
    out = pd.DataFrame(cols)
    out.columns.name = "svd(PMI), analogies (%)"
    return out


def size_frame(df):
    """The corpus-size rows of one table: tokens, unseen pairs and both conventions' accuracy."""
    import pandas as pd

    label = {BOOK_CONVENTION.unseen: "book (unseen = 0)", PAPER_CONVENTION.unseen: "paper's code"}
    rows = df[(df.spectrum == "algebraic") & (df.scale == "sqrt") & df.unseen.isin(list(label))]
    out = rows.pivot_table(index=["fraction", "tokens", "unseen_fraction"], columns="unseen",
                           values="accuracy").rename(columns=label) * 100
    out["gap (points)"] = out[label["zero"]] - out[label["paper"]]
    out = out.reset_index().round({"unseen_fraction": 3, label["zero"]: 1, label["paper"]: 1,
                                   "gap (points)": 1})
    return pd.DataFrame(out).sort_values("tokens").reset_index(drop=True)


def conventions_summary(tables: dict, paper_value: float = 8.4, min_step: float = 1.0,
                        paper_tokens: float = 2e9) -> dict[str, str]:
    """The numbers book/06's prose quotes, as strings keyed ``ch6_pmi_<preset>_<what>``.

    Per preset: the book's and the paper's-code convention, their gap, the lowest
    convention and the one closest to ``paper_value`` (percent, the paper's Figure 3b),
    the fraction of unseen pairs, whether any convention reaches ``paper_value``, the most
    negative seen PMI, ``paper_tokens`` over the table's tokens, whether the paper's fill
    scores lowest of the five fills (by value, ``sqrt``); for a table with
    corpus-size rows, whether the gap grows with the corpus (``..._trend``: "grows" when
    every larger corpus widens it by more than ``min_step`` points, 1.6 standard errors
    of one accuracy near 50 % over the 6,328 questions of ``local``; else "does not grow").
    """
    out = {}
    for name, df in tables.items():
        g, meta = df[df.fraction == 1.0], df.attrs.get("meta", {})
        best = g.loc[g.accuracy.idxmax(), ["unseen", "spectrum", "scale"]]
        pick = {c: g[(g.unseen == c.unseen) & (g.spectrum == c.spectrum) & (g.scale == c.scale)]
                .accuracy.iloc[0] for c in (BOOK_CONVENTION, PAPER_CONVENTION)}
        low = g.loc[g.accuracy.idxmin()]
        fills = g[(g.spectrum == "algebraic") & (g.scale == "sqrt")]
        paper_lowest = fills.accuracy.idxmin() == fills.index[fills.unseen == "paper"][0]
        near = g.loc[(g.accuracy * 100 - paper_value).abs().idxmin()]
        k = f"ch6_pmi_{name}_"
        out |= {k + "book": _pct(pick[BOOK_CONVENTION]), k + "paper": _pct(pick[PAPER_CONVENTION]),
                k + "gap": f"{100 * (pick[BOOK_CONVENTION] - pick[PAPER_CONVENTION]):.1f}",
                k + "lowest": PMIConvention(low.unseen, low.spectrum, low.scale).label,
                k + "lowest_acc": _pct(low.accuracy),
                k + "near": PMIConvention(near.unseen, near.spectrum, near.scale).label,
                k + "near_acc": _pct(near.accuracy),
                k + "unseen": _pct(g.unseen_fraction.iloc[0]),
                k + "mag_negative": str(int(g[(g.unseen == "paper") & (g.spectrum == "magnitude")]
                                            .n_negative.iloc[0])),
                k + "range": f"{100 * g.accuracy.min():.1f}–{100 * g.accuracy.max():.1f} %",
                k + "reach": ("No convention reaches" if 100 * g.accuracy.min() > paper_value
                              else "At least one convention reaches"),
                k + "seen_min": f"{meta.get('fill', {}).get('min', [np.nan])[0]:.1f}",
                k + "ratio": f"{paper_tokens / g.tokens.iloc[0]:.0f}",
                k + "paper_rank": "the lowest" if paper_lowest else "not the lowest",
                k + "best": f"{PMIConvention(*best).label} ({_pct(g.accuracy.max())})"}
        sizes = size_frame(df)
        if len(sizes) > 1:
            gaps = sizes["gap (points)"].to_numpy()
            grows = bool(np.all(np.diff(gaps) > min_step))
            out[k + "trend"] = "grows" if grows else "does not grow"
            out[k + "trend_note"] = (
                "so a larger corpus, such as the paper's, widens the distance between the "
                "two conventions" if grows else
                "so the corpus size does not account for the distance to the paper's number here")
            out[k + "gaps"] = ", ".join(f"{x:.1f}" for x in gaps)
            out[k + "tokens"] = ", ".join(f"{t / 1e6:.1f} M" for t in sizes.tokens)
    return out
