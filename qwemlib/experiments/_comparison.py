"""book/06's side-by-side of QWEM, word2vec and the closed forms (Figure 3b), from stored runs.

The SGD runs and gensim take longer than the chapter may run, so
``tools/make_results.py`` stores their benchmark rows (and, where small enough, the
embeddings; else the feature summary). :func:`model_comparison` reads whatever the
preset has stored, scores chapter 7's uniform-negatives QWEM run where its embeddings
are stored, decides which models play "word2vec" and "QWEM" on the page, and says all
of that in :meth:`ModelComparison.describe`. :func:`recheck_closed_form` recomputes
svd(M*) live where the preset is small enough and compares it with the stored rows.

Used in: book/06_qwem_vs_word2vec.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import config
from ..embeddings import Embeddings
from ..evaluate import benchmark_table, to_frame
from ..results import describe_source, load_npz, read_benchmark
from ._closed_forms import ARPACK_MAX_V, closed_forms
from ._features import FeatureSummary

__all__ = ["MODEL_ORDER", "QWEM_UNIFORM", "QWEM_EXACT", "SGD_RUN_MODELS", "PAPER_FIGURE_3B",
           "ModelComparison", "Recheck",
           "assign_roles", "model_comparison", "benchmark_frame", "paper_table", "side_by_side",
           "recheck_closed_form"]

#: The paper's five models, in the order of its Figure 3b (our names).
MODEL_ORDER = ["word2vec (SGNS)", "QWEM (SGD)", "svd(M*)", "svd(PPMI)", "svd(PMI)"]
#: Chapter 7's QWEM SGD run with uniform negatives (stored in ``linear_sgd.npz``).
QWEM_UNIFORM = "QWEM (SGD, uniform negatives)"
#: The local preset's variance-reduced QWEM SGD run (``negatives="exact"``, book/05's ``qwem-exact-small``).
QWEM_EXACT = "QWEM (SGD, exact terms)"
#: The SGD runs of ``train.npz`` whose final embeddings (``<run>/W_final``, where stored) play
#: each model of the benchmark table, first stored run first (book/05's runs, issue 12).
SGD_RUN_MODELS = {"word2vec (SGNS)": ("sgns-w2v", "sgns-small"), "QWEM (SGD)": ("qwem-small",),
                  QWEM_UNIFORM: ("qwem-uniform-small",), QWEM_EXACT: ("qwem-exact-small",)}
#: Karkada et al., Figure 3b, quoted (2 B tokens, V = 10,000, d = 200): per benchmark,
#: the values of :data:`MODEL_ORDER` (analogies in percent).
PAPER_FIGURE_3B = {"Google analogies": [68.0, 65.1, 66.3, 50.6, 8.4],
                   "MEN": [.744, .755, .755, .740, .448],
                   "WordSim353": [.698, .682, .683, .690, .221]}
_PAPER_NAMES = ["word2vec", "QWEM", "svd(M*)", "svd(PPMI)", "svd(PMI)"]
_OUR_BENCH = {"Google analogies": "Google analogies (pairs)", "MEN": "MEN", "WordSim353": "WordSim353"}
_SCALE = {"Google analogies": 100, "MEN": 1, "WordSim353": 1}


def _value(rows: Iterable[dict], model: str, bench: str) -> float:
    """The first stored value of ``model`` on ``bench``, NaN when there is none."""
    return next((float(r["value"]) for r in rows if r["model"] == model and r["benchmark"] == bench),
                np.nan)


def assign_roles(models: Iterable[str]) -> tuple[str, str]:
    """``(word2vec, qwem)``: who plays each role on the page, given the models present.

    word2vec: our SGNS run, else the first gensim model; QWEM: the variance-reduced (uniform
    negatives, else exact terms) SGD run, else the paper's-sampler run, else svd(M*) (what QWEM
    SGD converges to).
    """
    models = set(models)
    gensim = sorted(m for m in models if m.startswith("gensim"))
    w2v = "word2vec (SGNS)" if "word2vec (SGNS)" in models else (gensim[0] if gensim else "word2vec (SGNS)")
    qwem = next((m for m in (QWEM_UNIFORM, QWEM_EXACT, "QWEM (SGD)") if m in models), "svd(M*)")
    return w2v, qwem


@dataclass
class ModelComparison:
    """What book/06 compares at one preset, and where it came from.

    Attributes:
        preset: the preset.
        rows: benchmark rows (dicts: model, benchmark, metric, value, covered, total);
            empty when nothing is stored.
        meta: ``benchmark.json``'s provenance, or ``None``.
        embeddings: name -> :class:`~qwemlib.evaluate.Embeddings` (float64) where stored.
        features: :class:`FeatureSummary` (from the embeddings, from ``features.npz``, or empty).
        word2vec, qwem: the models that play these roles (:func:`assign_roles`).
        lines: what was read, for :meth:`describe`.
    """

    preset: config.Preset
    rows: list[dict]
    meta: dict | None
    embeddings: dict | None
    features: FeatureSummary
    word2vec: str
    qwem: str
    lines: list[str] = field(default_factory=list)

    @property
    def models(self) -> set[str]:
        """The models with benchmark rows."""
        return {r["model"] for r in self.rows}

    def value(self, model: str, bench: str) -> float:
        """The value of ``model`` on ``bench``, NaN when not stored."""
        return _value(self.rows, model, bench)

    def describe(self) -> str:
        """Where each number comes from, and the roles."""
        return "\n".join([*self.lines, f"roles on this page: word2vec = {self.word2vec}; QWEM = {self.qwem}"])

    def overlap_pairs(self) -> list[tuple[str, str]]:
        """The model pairs of Figure 5's heatmaps that :attr:`features` holds."""
        w, q = self.word2vec, self.qwem
        pairs = dict.fromkeys([(w, q), (w, "svd(M*)"), (w, "svd(PPMI)"), ("svd(M*)", "svd(PPMI)")])
        return [(a, b) for a, b in pairs if a in self.features and b in self.features
                and self.features.has_pair(a, b)]

    def feature_models(self) -> list[str]:
        """The models of the top-words table: word2vec, QWEM, svd(M*), svd(PPMI)."""
        return [m for m in dict.fromkeys((self.word2vec, self.qwem, "svd(M*)", "svd(PPMI)"))
                if m in self.features]

    def subspace_models(self) -> list[str]:
        """The models of the subspace-overlap table: :data:`MODEL_ORDER`, then gensim's."""
        stored = self.features.models
        return [m for m in MODEL_ORDER + [m for m in stored if m.startswith("gensim")] if m in stored]


def _source_lines(meta: dict, preset) -> list[str]:
    lines = [describe_source(meta, preset)]
    if "from_bench" in meta:
        lines.append(f"  rows read from {meta['from_bench']['file']} (commit {meta['from_bench']['commit']})")
    if "corpus" in meta:
        c = meta["corpus"]
        lines.append(f"  corpus read: {c['kept_tokens']:,} tokens kept of {c['raw_tokens']:,}, "
                     f"{c['articles']:,} articles")
    if "gensim" in meta:
        lines.append(f"  gensim: {meta['gensim']['epochs']} epochs, {meta['timings_s']['gensim']:.0f} s")
    if "sgd" not in meta:
        lines.append("  no SGD run stored at this preset yet: no 'word2vec (SGNS)' or 'QWEM (SGD)' rows")
    return lines


def model_comparison(preset: config.Preset | str | None = None) -> ModelComparison:
    """Read the preset's stored results for book/06 and decide the roles.

    Stored embeddings (``embeddings.npz``) are read as float64; else ``features.npz``.
    Where chapter 7's uniform-negatives run stored its final embeddings
    (``linear_sgd.npz``), and where ``train.npz`` holds SGD runs' final embeddings
    (:data:`SGD_RUN_MODELS`) of models not read otherwise, they are added (to the
    features too) and, when ``benchmark.json`` has no rows for them, scored now on the
    same benchmarks. Nothing stored (e.g. the hub preset) gives empty rows and
    features, and says so.
    """
    preset = config.preset(preset) if not isinstance(preset, config.Preset) else preset
    name = preset.name
    rows, meta = read_benchmark(preset)
    emb, words, lines = None, None, []
    if rows is None:
        rows = []
        lines.append(f"no stored results for preset {name!r}: "
                     f"run `python tools/make_results.py --scale {name}`")
    else:
        lines += _source_lines(meta, preset)
        z = load_npz(preset, "embeddings.npz", missing_ok=True)
        if z is not None:
            words = [str(w) for w in z["words"]]
            emb = {k: Embeddings(words, v.astype(np.float64)) for k, v in z.items() if k != "words"}
            lines.append(f"  stored embeddings: {', '.join(emb)} ({len(words):,} words, float16)")
    feats = FeatureSummary.empty(preset.dim)
    fz = None
    if emb is None:
        fz = load_npz(preset, "features.npz", missing_ok=True)
        if fz is not None:
            feats = FeatureSummary.from_stored(fz)
            lines.append(f"  stored features (not embeddings) of: {', '.join(feats.models)}")
    # chapter 7's QWEM run with negatives="uniform" (the same expected gradient as the paper's
    # sampler, 7.5x less variance; chapter 5): its final embeddings, scored now
    z = load_npz(preset, "linear_sgd.npz", missing_ok=True)
    if rows and emb is not None and z is not None and "W_final" in z:
        path = f"data/results/{name}/linear_sgd.npz"
        if [str(w) for w in z["words"]] != words:
            raise ValueError(f"{path} is for another vocabulary")
        emb[QWEM_UNIFORM] = Embeddings(words, z["W_final"].astype(np.float64))
        c = json.loads(str(z["config"]))
        lines.append(f"  {QWEM_UNIFORM}: chapter 7's run in {path}, {c['steps']} steps of "
                     f"{c['batch_pos']:,}+{c['batch_neg']:,} pairs, lr {c['lr']:g} {c['schedule']}, "
                     f"{float(z['wall_s']):.0f} s; scored now from its stored float16 embeddings")
    sgd = _sgd_embeddings(preset, words, emb or {}, lines)
    if emb is not None:
        emb |= sgd
        feats = FeatureSummary.from_embeddings(emb, preset.dim)
    elif sgd:
        feats = (FeatureSummary.from_stored(fz, sgd) if fz is not None
                 else FeatureSummary.from_embeddings(sgd, preset.dim))
    scored = {m: e for m, e in (emb or sgd).items() if rows and m not in {r["model"] for r in rows}}
    if scored:
        rows = rows + [asdict(r) for r in benchmark_table(scored)]
    w2v, qwem = assign_roles(r["model"] for r in rows)
    return ModelComparison(preset, rows, meta, emb, feats, w2v, qwem, lines)


def _sgd_embeddings(preset, words, have: dict, lines: list[str]) -> dict:
    """The final embeddings of ``train.npz``'s SGD runs (:data:`SGD_RUN_MODELS`) that ``have``
    lacks, where stored (``<run>/W_final`` and ``words``); says which it read in ``lines``."""
    z = load_npz(preset, "train.npz", required=(), missing_ok=True)
    if z is None or "words" not in z:
        return {}
    path = f"data/results/{preset.name}/train.npz"
    if words is not None and [str(w) for w in z["words"]] != list(words):
        raise ValueError(f"{path} is for another vocabulary than the other stored results: "
                         f"rerun tools/make_results.py --scale {preset.name}")
    out = {}
    for model, runs in SGD_RUN_MODELS.items():
        run = next((r for r in runs if f"{r}/W_final" in z), None)
        if model not in have and run is not None:
            out[model] = Embeddings([str(w) for w in z["words"]], z[f"{run}/W_final"].astype(np.float64))
            lines.append(f"  {model}: run {run!r} of {path}, its stored float16 final embeddings")
    return out


def benchmark_frame(rows: list[dict]):
    """Figure 3b as a table: one row per benchmark, one column per model (:data:`MODEL_ORDER`
    first), cells ``value (covered/total)`` with accuracies in percent."""
    import pandas as pd

    if not rows:
        return pd.DataFrame()
    df = to_frame(rows)
    df["cell"] = [f"{100 * v:.1f} %" if m == "accuracy" else f"{v:.3f}" for v, m in zip(df.value, df.metric)]
    df["cell"] += [f" ({c:,}/{t:,})" for c, t in zip(df.covered, df.total)]
    models = [m for m in MODEL_ORDER if m in set(df.model)] + sorted(set(df.model) - set(MODEL_ORDER))
    return df.pivot(index="benchmark", columns="model", values="cell").reindex(
        columns=models, index=list(dict.fromkeys(df.benchmark)))


def paper_table():
    """:data:`PAPER_FIGURE_3B` as the paper prints it (percent, three places)."""
    import pandas as pd

    cells = {b: [f"{v:.1f} %" if _SCALE[b] == 100 else f"{v:.3f}" for v in vals]
             for b, vals in PAPER_FIGURE_3B.items()}
    df = pd.DataFrame(cells, index=_PAPER_NAMES).T
    df.columns.name = "Karkada et al., Figure 3b (2 B tokens, V = 10,000, d = 200)"
    return df


def side_by_side(cmp: ModelComparison):
    """Ours at this preset, ours at ``local`` where stored (when this is another preset), and
    the paper's (quoted), per benchmark and model; analogies by the "pairs" protocol, in percent."""
    import pandas as pd

    name = cmp.preset.name
    local_rows, local_meta = read_benchmark("local") if name != "local" else (None, None)
    local_rows = local_rows or []
    local = "ours (local, stored)"
    if local_meta is not None and "from_bench" in local_meta:
        tk = local_meta["from_bench"]["tokenize"]
        local = (f"ours (local sample, first {local_meta['from_bench']['args']['shards']} shards: "
                 f"{tk['kept_tokens'] / 1e6:.0f} M tokens; stored)")
    elif local_meta is not None and "corpus" in local_meta:
        local = f"ours (local sample: {local_meta['corpus']['kept_tokens'] / 1e6:.0f} M tokens; stored)"
    gensim = sorted({r["model"] for r in cmp.rows + local_rows if r["model"].startswith("gensim")})
    tokens = (cmp.meta or {}).get("corpus", {}).get("kept_tokens")
    here = f"ours ({name}: {tokens:,} tokens)" if tokens else f"ours ({name})"
    side = {}
    for b, paper_vals in PAPER_FIGURE_3B.items():
        extra = [(QWEM_UNIFORM, paper_vals[1])] if QWEM_UNIFORM in cmp.models else []  # the paper's QWEM
        for m, pv in list(zip(MODEL_ORDER, paper_vals)) + extra + [(g, np.nan) for g in gensim]:
            cols = {here: _SCALE[b] * cmp.value(m, _OUR_BENCH[b])}
            if name != "local":
                cols[local] = _SCALE[b] * _value(local_rows, m, _OUR_BENCH[b])
            side[(b, m)] = {**cols, "paper (2 B tokens, quoted)": pv}
    side = pd.DataFrame(side).T
    side.index.names = ["benchmark", "model"]
    return side


@dataclass
class Recheck:
    """The live re-check of the stored svd(M*) rows.

    Attributes:
        live: whether svd(M*) was recomputed (else the stored rows are the only source).
        live_diff: largest ``|live - stored|`` over the benchmarks (NaN when not computed).
        table: the rows compared (live and stored), or the stored ones.
        glue: ``ch6_tokens``, ``ch6_V``, ``ch6_an``, ``ch6_men``: corpus size, vocabulary and
            the coverage of the analogy and MEN benchmarks, as the prose quotes them.
        message: what was done.
    """

    live: bool
    live_diff: float
    table: object
    glue: dict[str, str]
    message: str


def recheck_closed_form(cmp: ModelComparison, *, max_vocab: int = ARPACK_MAX_V) -> Recheck:
    """Recompute svd(M*) and its rows (up to ``max_vocab`` words) and compare with the stored ones.

    Uses :func:`closed_forms` with the stored results' eigensolver, so on the same
    statistics the rows agree to rounding. Above ``max_vocab`` the statistics and the
    eigensolve take minutes: nothing is recomputed and the stored rows are shown.
    """
    preset = cmp.preset
    stored = to_frame([r for r in cmp.rows if r["model"] == "svd(M*)"])
    if preset.vocab <= max_vocab:
        from ..pipeline import corpus_statistics

        t0 = time.perf_counter()
        st = corpus_statistics(preset)
        cf, _ = closed_forms(st, preset, models=("svd(M*)",), log=lambda *a: None)
        emb = cf["svd(M*)"][0]
        live = to_frame(benchmark_table({"svd(M*)": emb}))
        both = live.merge(stored, on=["model", "benchmark", "metric"], suffixes=(" live", " stored"),
                          how="left")
        diff = float(np.nanmax(np.abs(both["value live"] - both["value stored"]))) if cmp.rows else np.nan
        msg = f"svd(M*) recomputed in {time.perf_counter() - t0:.1f} s; largest |live - stored| = {diff:.2g}"
        cov = live.set_index("benchmark")
        glue = {"ch6_tokens": f"{st.corpus.n_tokens:,}", "ch6_V": f"{len(st.words):,}"}
        table = both[["benchmark", "value live", "value stored", "covered live"]]
    elif cmp.rows:
        diff, meta = np.nan, cmp.meta
        msg = (f"live re-check skipped at V = {preset.vocab:,}: the stored rows above are the only source "
               f"(tools/make_results.py, {meta['date_utc']}, commit {meta['commit'][:10]})")
        cov = stored.set_index("benchmark")
        glue = {"ch6_tokens": f"{meta['corpus']['kept_tokens']:,}", "ch6_V": f"{preset.vocab:,}"}
        table = cov[["value", "covered", "total"]]
    else:
        msg = f"no live re-check at V = {preset.vocab:,} and no stored rows: nothing to compare"
        glue = {k: "n/a" for k in ("ch6_tokens", "ch6_V", "ch6_an", "ch6_men")}
        return Recheck(False, np.nan, stored, glue, msg)
    for key, bench in (("ch6_an", "Google analogies (original)"), ("ch6_men", "MEN")):
        glue[key] = f"{int(cov.loc[bench, 'covered']):,} of {int(cov.loc[bench, 'total']):,}"
    return Recheck(preset.vocab <= max_vocab, diff, table, glue, msg)
