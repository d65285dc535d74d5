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
           "PMIConvention", "CONVENTIONS", "pmi_matrix", "pmi_embeddings", "pmi_conventions",
           "save_pmi_conventions", "pmi_convention_table", "FILENAME"]

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


def pmi_conventions(st, preset, *, unseen=UNSEEN, protocol: str = "pairs", log=print) -> dict:
    """Analogy accuracy of svd(PMI) under every convention (:data:`CONVENTIONS`) for one preset.

    Each unseen-pair matrix is built once and solved once per spectrum (two solves), and
    both scalings are scored on the Google analogies by ``protocol``.

    Args:
        st: :class:`~qwemlib.pipeline.CorpusStatistics` (``P_ij``, ``P_i``, ``words``).
        preset: its :class:`~qwemlib.config.Preset` (``dim``, ``name``).
        unseen: the unseen-pair conventions to run (a subset of :data:`UNSEEN`).
        protocol: analogy protocol (:func:`qwemlib.evaluate.evaluate_analogies`).
        log: a print-like function, one line per solve.

    Returns:
        ``{"rows": [...], "meta": {...}}``: per convention ``unseen``, ``spectrum``,
        ``scale``, ``accuracy``, ``covered``, ``n_negative`` (negative eigenvalues among
        the ``d`` kept), ``lambda_first``/``lambda_last`` and ``seconds`` of the solve;
        ``meta`` holds the preset, the protocol, the fraction of unseen pairs and each
        convention's unseen value range (``fill``).
    """
    seen = st.P_ij > 0
    rows, fill = [], {}
    for u in unseen:
        M = pmi_matrix(st.P_ij, st.P_i, u)
        fill[u] = [float(M[~seen].min()), float(M[~seen].max())] if (~seen).any() else []
        for spectrum in SPECTRA:
            t = time.perf_counter()
            Ws, lam = pmi_embeddings(M, preset.dim, spectrum)
            secs = time.perf_counter() - t
            for scale, W in Ws.items():
                r = evaluate_analogies(Embeddings(st.words, W), protocol=protocol)
                rows.append(dict(asdict(PMIConvention(u, spectrum, scale)), accuracy=r.accuracy,
                                 covered=r.covered, n_negative=int((lam < 0).sum()),
                                 lambda_first=float(lam[0]), lambda_last=float(lam[-1]),
                                 seconds=secs))
            log(f"unseen={u}, {spectrum}: {secs:.1f} s; accuracy sqrt "
                f"{rows[-2]['accuracy']:.3f}, none {rows[-1]['accuracy']:.3f}")
        del M
    meta = {"preset": preset.name, "vocab": int(st.P_i.size), "dim": preset.dim,
            "protocol": protocol, "unseen_fraction": float(1.0 - seen.mean()), "fill": fill,
            "paper_eps": PAPER_EPS}
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
