"""Linear structure of the closed-form embeddings (paper Section 4; book/07), computed or read.

One analysis, two sources: :func:`compute_linear_structure` runs it on the corpus
statistics (task vectors of the Google analogy families, Gram spectra and their
Marchenko-Pastur fits, signal in mean, SNR against model size with a random-pair
baseline, per-family accuracy over ``d``, and QWEM gradient flow from a small random
start); ``tools/make_results.py`` stores it from :meth:`LinearStructure.to_arrays`, and
:func:`._linear_store.linear_structure` decides, from the preset, whether to compute it live
or to read that file. Either way it is one :class:`LinearStructure` whose ``source`` says
which it did.

Used in: book/07_linear_structure.md, tools/make_results.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import evaluate as ev
from .. import rmt
from ..eigen import Eigenpairs, full_spectrum
from ..flow import gradient_flow
from ..theory import ClosedFormDynamics, closed_form_embeddings, random_init

__all__ = ["LINEAR_CONSTANTS", "LIVE_MAX_V", "LinearStructure", "compute_linear_structure",
           "linear_structure_arrays", "short_name"]

#: book/07's constants, stored beside the results as ``const/<name>`` (and checked on reading):
#: ``n_min`` pairs per kept family, ``n_null`` pure-noise fits per N, ``n_base`` random-pair
#: families per N, ``rng_seed`` of both, ``feature_words`` words kept per side of a feature,
#: ``n_d_grid`` model sizes of the accuracy grid, and the gradient flow's ``sigma``, ``seed``,
#: number of snapshots and ``rtol``.
LINEAR_CONSTANTS = dict(n_min=5, n_null=12, n_base=60, rng_seed=0, feature_words=8, n_d_grid=18,
          flow_sigma=1e-4, flow_seed=0, flow_times=26, flow_rtol=1e-2)
_C = LINEAR_CONSTANTS

#: Up to this vocabulary size :func:`linear_structure` computes live (seconds at ci); above
#: it (the local preset: a quarter of an hour on two cores) it reads the stored results.
LIVE_MAX_V = 4000

FILENAME = "linear_structure.npz"


def short_name(family: str) -> str:
    """``gram6-nationality-adjective`` -> ``nationality-adjective`` (figure labels)."""
    return family.replace("gram", "g").split("-", 1)[-1] if family.startswith("gram") else family


def d_list(D: int) -> list[int]:
    """The three model sizes of the Gram-spectrum fits: a fifth, a half and all of ``D``."""
    return sorted({max(2, D // 5), D // 2, D})


def d_grid(D: int) -> np.ndarray:
    """The log-spaced model sizes of the accuracy-versus-``d`` curves."""
    return np.unique(np.round(np.geomspace(2, D, _C["n_d_grid"])).astype(int))


@dataclass
class LinearStructure:
    """book/07's measurements, live or stored (``source``), with the chapter's derived summaries.

    Dicts are keyed by family (``fits``, ``spectra`` and ``sim`` by ``(family, d)``; ``null_ks``,
    ``base95`` and ``base_fall`` by ``N``). ``W`` and ``words`` exist only when computed live; the
    flow arrays are ``None`` when it was skipped (``make_results --no-flow``), ``base_fall`` (each
    random-pair draw's peak-to-final SNR) and ``base_pr`` (the participation ratio of each draw's
mean difference vector: the null of localization) when the stored file predates them.
    """

    source: str
    source_text: str
    V: int
    D: int
    eigenvalues: np.ndarray
    pairs_all: dict
    fams: list
    rbar: dict
    feature_words_pos: np.ndarray
    feature_words_neg: np.ndarray
    d_list: list
    spectra: dict
    fits: dict
    sim: dict
    null_ks: dict
    snr_d: dict
    base95: dict
    d_grid: np.ndarray
    acc_grid: np.ndarray
    tau: np.ndarray
    flow_times: np.ndarray | None = None
    acc_flow: np.ndarray | None = None
    flow_nsteps: int | None = None
    flow_loss: np.ndarray | None = None
    base_fall: dict | None = None
    base_pr: dict | None = None
    W: np.ndarray | None = None
    words: list | None = None
    seconds: dict = field(default_factory=dict)

    # ---- the chapter's derived quantities (one definition each)
    @property
    def Ns(self) -> dict:
        return {f: len(self.pairs_all[f]) for f in self.fams}

    @property
    def fam_pairs(self) -> dict:
        return {f: self.pairs_all[f] for f in self.fams}

    @property
    def short(self) -> dict:
        return {f: short_name(f) for f in self.fams}

    @property
    def d_all(self) -> np.ndarray:
        return np.arange(1, self.D + 1)

    @property
    def loc(self) -> dict:
        """``rmt.mean_localization`` of each family's mean task vector (top 3 features)."""
        return {f: rmt.mean_localization(self.rbar[f][None, :], top_k=3) for f in self.fams}

    @property
    def excess(self) -> dict:
        """SNR over the random-pair 95th percentile at the same ``N`` and ``d``."""
        return {f: self.snr_d[f] / self.base95[self.Ns[f]] for f in self.fams}

    @property
    def peak_d(self) -> dict:
        return {f: int(self.d_all[np.argmax(self.snr_d[f])]) for f in self.fams}

    @property
    def snr_max(self) -> dict:
        return {f: float(self.snr_d[f].max()) for f in self.fams}

    @property
    def excess_max(self) -> dict:
        return {f: float(v.max()) for f, v in self.excess.items()}

    @property
    def acc_final(self) -> dict:
        return dict(zip(self.fams, self.acc_grid[-1]))

    def feature_words(self, k: int, sign: float, n: int = 6) -> str:
        """The ``n`` words closest to ``+e_k`` (``sign >= 0``) or ``-e_k``: what feature ``k`` means."""
        if n > self.feature_words_pos.shape[1]:
            raise ValueError(f"n = {n}: only {self.feature_words_pos.shape[1]} words are kept per feature")
        table = self.feature_words_pos if sign >= 0 else self.feature_words_neg
        return ", ".join(str(w) for w in table[k][:n])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``linear_structure.npz`` (keys as in its README)."""
        fams, D = self.fams, self.D
        out = {f"const/{k}": np.asarray(v) for k, v in LINEAR_CONSTANTS.items()}
        out |= {"families": np.array(list(self.pairs_all)), "kept": np.array(fams),
                "eigenvalues": self.eigenvalues, "V": np.int64(self.V), "D": np.int64(D),
                "rbar": np.array([self.rbar[f] for f in fams])}
        for f, p in self.pairs_all.items():
            out[f"pairs/{f}"] = np.array(p, dtype=str).reshape(len(p), 2)
        out["feature_words_pos"], out["feature_words_neg"] = self.feature_words_pos, self.feature_words_neg
        out["d_list"] = np.array(self.d_list)
        for f in fams:
            for d in self.d_list:
                fit = self.fits[f, d]
                out[f"spectrum/{f}/{d}"] = self.spectra[f, d]
                out[f"fit/{f}/{d}"] = np.array([fit.sigma2, fit.gamma, fit.d_eff, fit.ks_distance,
                                                fit.n_outliers])
        out["sim"] = np.array([[self.sim[f, d] for d in self.d_list] for f in fams])
        out["null_ks_N"], out["null_ks"] = np.array(list(self.null_ks)), np.array(list(self.null_ks.values()))
        out["snr_d"] = np.array([self.snr_d[f] for f in fams])
        out["base95_N"], out["base95"] = np.array(list(self.base95)), np.array(list(self.base95.values()))
        if self.base_fall is not None:
            out["base_fall_N"] = np.array(list(self.base_fall))
            out["base_fall"] = np.array(list(self.base_fall.values()))
        if self.base_pr is not None:
            out["base_pr_N"] = np.array(list(self.base_pr))
            out["base_pr"] = np.array(list(self.base_pr.values()))
        out["d_grid"], out["acc_grid"], out["tau"] = self.d_grid, self.acc_grid, self.tau
        if self.acc_flow is not None:
            out |= {"flow_times": self.flow_times, "acc_flow": self.acc_flow,
                    "flow_nsteps": np.int64(self.flow_nsteps), "flow_loss": self.flow_loss}
        return out


def compute_linear_structure(st, eig: Eigenpairs | None = None, *, flow: bool = True,
                             log=None) -> LinearStructure:
    """book/07's analysis of the closed-form embeddings svd(M*) (paper Section 4, App. A.6).

    Args:
        st: :class:`qwemlib.pipeline.CorpusStatistics` (``words``, ``M``, ``preset``).
        eig: top-``d`` eigenpairs of ``M*``; ``None`` (the chapter's live path): one dense
            ``eigh`` (:func:`qwemlib.eigen.full_spectrum`), reused by the gradient flow.
        flow: also run QWEM gradient flow from ``N(0, sigma^2)`` (eq. 13's check).
        log: ``print``-like callable for progress lines (``None``: quiet).

    Returns:
        A :class:`LinearStructure` with ``source="live"``. The random stream (``_C["rng_seed"]``)
        feeds the pure-noise fits first and the random-pair baseline second, as stored.
    """
    log = log or (lambda *a, **k: None)
    secs, spec = {}, None
    t = time.perf_counter()
    if eig is None:
        spec = full_spectrum(st.M)
        eig = spec.top(st.preset.dim)
        secs["full eigh of M*"] = time.perf_counter() - t
        t = time.perf_counter()
    words = list(st.words)
    index = {w: i for i, w in enumerate(words)}
    D = eig.d
    W = closed_form_embeddings(st.M, D, eig=eig)      # (V, D): column k = eigen-feature k
    V = W.shape[0]
    pairs_all = ev.analogy_pairs(ev.read_analogies("google-analogies"), ev.Embeddings(words, W))
    fams = [f for f, p in pairs_all.items() if len(p) >= _C["n_min"]]
    Ns = {f: len(pairs_all[f]) for f in fams}
    R_full = {f: rmt.task_vectors(W, pairs_all[f], index) for f in fams}
    cos_feat = W / np.linalg.norm(W, axis=1, keepdims=True)   # cosine of each word with each feature
    n = _C["feature_words"]
    fw_pos = np.array([[words[i] for i in np.argsort(-cos_feat[:, k])[:n]] for k in range(D)])
    fw_neg = np.array([[words[i] for i in np.argsort(cos_feat[:, k])[:n]] for k in range(D)])

    # Gram spectra at three sizes, their MP fits, signal in mean; the same fit on pure noise
    dl = d_list(D)
    spectra, fits, sim = {}, {}, {}
    for f in fams:
        for d in dl:
            R = R_full[f][:, :d]                       # = task vectors of the d-dim model
            spectra[f, d] = rmt.gram_spectrum(R)
            fits[f, d] = rmt.fit_marchenko_pastur(spectra[f, d], R=R)
            sim[f, d] = rmt.signal_in_mean(R)
    rng = np.random.default_rng(_C["rng_seed"])
    null_N = sorted(set(Ns.values()))
    null_ks = {}
    for N in null_N:
        ks = []
        for _ in range(_C["n_null"]):
            Rn = rmt.spiked_wishart(N, D, 1.0, 0.0, seed=int(rng.integers(1 << 31)))
            ks.append(rmt.fit_marchenko_pastur(rmt.gram_spectrum(Rn), R=Rn).ks_distance)
        null_ks[N] = float(np.median(ks))
    secs["spectra, fits on noise"] = time.perf_counter() - t
    log(f"linear structure: {len(fams)} families with N >= {_C['n_min']} (N {min(Ns.values())}.."
        f"{max(Ns.values())}); spectra and null fits {secs['spectra, fits on noise']:.0f} s")

    # SNR over every d, and the random-pair baseline (the same random stream, continued)
    t = time.perf_counter()
    d_all = np.arange(1, D + 1)
    snr_d = {f: np.array([rmt.snr(rmt.gram_spectrum(R_full[f][:, :d])) for d in d_all]) for f in fams}
    base95, base_fall, base_pr = {}, {}, {}
    for N in null_N:
        nb = _C["n_base"]
        ij = np.array([rng.choice(V, size=2, replace=False) for _ in range(nb * N)]).reshape(nb, N, 2)
        Rb = W[ij[..., 1]] - W[ij[..., 0]]             # (n_base, N, D)
        vals = np.array([[rmt.snr(rmt.gram_spectrum(Rb[b, :, :d])) for d in d_all] for b in range(nb)])
        base95[N] = np.percentile(vals, 95, axis=0)
        base_fall[N] = vals.max(axis=1) / vals[:, -1]   # each draw's peak-to-final SNR (the fall's null)
        base_pr[N] = np.array([rmt.mean_localization(Rb[b]).effective_number for b in range(nb)])
    secs["snr and random-pair baseline"] = time.perf_counter() - t
    log(f"   SNR and baseline: {secs['snr and random-pair baseline']:.0f} s")

    # per-family accuracy (3CosAdd, pairs protocol) over a grid of d
    t = time.perf_counter()
    fam_pairs = {f: pairs_all[f] for f in fams}
    grid = d_grid(D)
    acc_grid = np.array([ev.family_accuracy(ev.Embeddings(words, W[:, :d]), fam_pairs) for d in grid])
    secs["accuracy over d"] = time.perf_counter() - t
    log(f"   accuracy over {len(grid)} values of d: {secs['accuracy over d']:.0f} s")

    out = LinearStructure(
        source="live", source_text=f"source: computed live in this chapter from {st.preset.corpus}", V=V, D=D,
        eigenvalues=eig.values[:D].copy(), pairs_all=pairs_all, fams=fams,
        rbar={f: R_full[f].mean(axis=0) for f in fams}, feature_words_pos=fw_pos, feature_words_neg=fw_neg,
        d_list=dl, spectra=spectra, fits=fits, sim=sim, null_ks=null_ks, snr_d=snr_d, base95=base95,
        base_fall=base_fall, base_pr=base_pr, d_grid=grid, acc_grid=acc_grid, W=W, words=words, seconds=secs,
        tau=ClosedFormDynamics.from_random_init(eig, _C["flow_sigma"], seed=_C["flow_seed"],
                                                start="projected").tau)
    if flow:
        _run_flow(out, st, spec, fam_pairs, log)
    return out


def _run_flow(out: LinearStructure, st, spec, fam_pairs, log) -> None:
    """QWEM gradient flow on the full ``M*`` from ``N(0, sigma^2)``; per-family accuracy over time."""
    if spec is None:
        t = time.perf_counter()
        spec = full_spectrum(st.M, cache=False)
        out.seconds["full eigh of M* (flow)"] = time.perf_counter() - t
        log(f"   full eigh of M*: {out.seconds['full eigh of M* (flow)']:.0f} s")
    t = time.perf_counter()
    tau = out.tau
    times = np.geomspace(0.6 * tau[0], 1.3 * tau[-1], _C["flow_times"])
    fr = gradient_flow(st.M, random_init(out.V, out.D, _C["flow_sigma"], _C["flow_seed"]), times,
                       spectrum=spec, rtol=_C["flow_rtol"])
    out.flow_times = times
    out.acc_flow = np.array([ev.family_accuracy(ev.Embeddings(out.words, Wt), fam_pairs) for Wt in fr.W])
    out.flow_nsteps, out.flow_loss = int(fr.nsteps), fr.loss
    out.seconds["gradient flow and its accuracy"] = time.perf_counter() - t
    log(f"   gradient flow ({len(times)} snapshots): {out.seconds['gradient flow and its accuracy']:.0f} s")


def linear_structure_arrays(st, eig: Eigenpairs, *, flow: bool = True, log=print) -> tuple[dict, dict]:
    """What ``tools/make_results.py`` stores: the arrays of ``linear_structure.npz`` and wall times."""
    res = compute_linear_structure(st, eig, flow=flow, log=log)
    return res.to_arrays(), res.seconds
