"""Training throughput: qwemlib's trainers (JAX, and the compiled CPU kernel) next to gensim Word2Vec.

Prints one table: pairs/s of ``qwemlib.train`` (compilation excluded) for QWEM, with each
of its estimators ``TrainConfig.negatives`` side by side (``unigram``, the paper's sampler;
``uniform``; ``exact``, whose "pairs" are the sampled co-occurring cells), and SGNS, for both
gradient paths (``grad_path="dense"``: per-pair scalar coefficients scattered into a
``(V, V)`` matrix and one matmul; ``"scatter"``: autodiff's row scatter-add) and for each
batch size in ``--batch``, on the ci corpus (V = 2,000, d = 50) and, with ``--local``, on the
first shard of the local sample (V = 10,000, d = 200), and gensim's words/s on the same tokens
(sentences = articles as lists of words; sg=1, negative=5, window=16, 2 workers). gensim's unit is
*words* (centre tokens): each word makes on average ~2 L' positive pairs (L' = the
shrinking window's mean half-width) plus ``negative`` negatives per positive, so the
table also shows gensim's implied pairs/s = words/s x (pairs per word).
If JAX sees a GPU, the local-sample measurement is run on it as well.

``--backends jax,cpu-kernel`` (the default) also times ``TrainConfig(backend="cpu-kernel")``,
the numba stream walk (qwemlib.train._cpu: per-pair updates, the centre row reused across its
window, Hogwild over the cores), for QWEM with every estimator and SGNS; its pairs are the
ones it computed (in-article positives, negatives, cells). Every row gets its ratio to
gensim's implied pairs/s measured in the same run (the issue's yardstick), and its CPU
seconds per wall second (the machine is shared: the load average is printed at the start
and the end). gensim's *effective* pairs/s counts only the words its subsampling keeps
(``sample=1e-5``; its window then spans kept words): the work it really does. gensim is also
timed with ``sample=0`` (no subsampling: every word is a centre, as in our stream walk), where
words/s x (pairs per word) is its measured pair rate on the same work; each row gets its
ratio to that too (``--no-sample0`` skips it). ``--repeats N`` measures every row N times,
interleaved (all rows, then gensim, per round), and prints medians with their range: on a
shared machine one measurement can land in a slow spell (seen here: the same kernel at 6 and
at 15 M pairs/s minutes apart), and interleaving exposes every row to the same spells.

``--overlap-curve`` instead trains QWEM at ci with :data:`CI_CURVE_CONFIG` (the
configuration of tests/test_train.py's slow d = 50 test), once per estimator in
``--negatives`` (equal pair budgets), and prints, at each record step, the theory time, wall
time, overlap of span(W) with the top-1/10/50 eigenvectors of M* and the top singular values
of W next to sqrt(lambda_k). ``--reach-095`` uses instead each estimator's configuration of
:data:`CI_095_CONFIGS` (tests/test_train.py's ``CI_D50_095``, top-50 overlap >= 0.95).

Usage:
    python bench/bench_train.py [--steps 20] [--batch 50000,250000] [--negatives unigram,uniform]
                                [--local] [--no-gensim] [--backends jax,cpu-kernel] [--no-ci]
                                [--repeats 3] [--no-sample0] [--cpu-threads 1,2]
    python bench/bench_train.py --overlap-curve [--curve-steps 800] [--negatives unigram,uniform,exact]
    python bench/bench_train.py --overlap-curve --reach-095 [--negatives uniform,exact]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _jax_device():
    import jax

    d = jax.devices()[0]
    return d.platform, getattr(d, "device_kind", "")


# The ci configuration of the overlap curve (and of the slow d = 50 test): B = 250k + 250k,
# lr/B = 1e-9 (the largest stable ratio is ~2e-9), the paper's x0.1 at 75 %.
CI_CURVE_CONFIG = dict(dim=50, window=16, lr=2.5e-4, batch_pos=250_000, batch_neg=250_000,
                       schedule="step", init_scale=0.05, dtype="float32")

# Per estimator, a ci configuration that ends with top-50 overlap >= 0.95 (the same as
# tests/test_train.py's CI_D50_095): cosine schedule, t = lr * steps = 1.2.
CI_095_CONFIGS = {
    "uniform": dict(dim=50, window=16, lr=5e-4, batch_pos=250_000, batch_neg=250_000, steps=2400,
                    schedule="cosine", init_scale=0.05, dtype="float32"),
    "exact": dict(dim=50, window=16, lr=6e-4, batch_pos=125_000, batch_neg=125_000, steps=2000,
                  schedule="cosine", init_scale=0.05, dtype="float32"),
}


def bench_qwemlib(corpus, co, loss, dim, steps, batch, path, negatives="unigram", backend="jax", threads=0):
    """``(pairs/s, compile s, device, CPU seconds per wall second)`` of one short run."""
    from qwemlib import train as T

    steps = max(3, min(steps, int(steps * 50_000 / batch))) if path == "scatter" else steps
    if backend == "cpu-kernel":  # >= 3e7 pairs, so that the final record (an SVD) does not dominate
        steps = max(steps, int(np.ceil(3e7 / (2 * batch))))
    cfg = T.TrainConfig(loss=loss, dim=dim, window=co.window, steps=steps,
                        lr=1e-6 if loss == "qwem" else 1e-2,
                        batch_pos=batch, batch_neg=batch, schedule="constant", init_scale=1e-2,
                        n_records=2, steps_per_call=steps, record_objective=False, grad_path=path,
                        negatives=negatives, backend=backend, cpu_threads=threads)
    c0, t0 = time.process_time(), time.perf_counter()
    res = T.train(corpus.ids, corpus.article_offsets, co, cfg, progress=False)
    cpu = (time.process_time() - c0) / (time.perf_counter() - t0)
    return res.pairs_per_second, res.compile_time, res.device, cpu


def overlap_curve(steps: int, records: int = 8, negatives: str = "unigram", reach_095: bool = False,
                  st=None, eig=None):
    """Overlap with the top-k eigenvectors of M* and singular values vs theory time (ci)."""
    from qwemlib import pipeline as P
    from qwemlib import theory as TH
    from qwemlib import train as T

    st = st if st is not None else P.corpus_statistics("ci")
    eig = eig if eig is not None else TH.top_eigenpairs(st.M, 50)
    if reach_095:
        if negatives not in CI_095_CONFIGS:
            raise SystemExit(f"--reach-095: no configuration for negatives={negatives!r} (the paper's "
                             "sampler does not reach 0.95 on a CPU in minutes); choose from "
                             f"{list(CI_095_CONFIGS)}")
        base = dict(CI_095_CONFIGS[negatives])
        steps = base.pop("steps")
    else:
        base = CI_CURVE_CONFIG
    cfg = T.TrainConfig(**base, steps=steps, record_spacing="linear", n_records=records + 1,
                        steps_per_call=max(1, steps // records), record_objective=False,
                        negatives=negatives)
    t0 = time.perf_counter()
    rows = []

    def ev(W):
        rows.append((time.perf_counter() - t0,
                     [TH.subspace_overlap(W, eig.vectors[:, :k]) for k in (1, 10, 50)]))
        return rows[-1][1][2]

    res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False, evaluate_fn=ev)
    print(f"ci QWEM d=50: {cfg}")
    print(f"grad path {res.grad_path}, {res.pairs_per_second:,.0f} pairs/s, wall {res.wall_time:.0f} s")
    print("sqrt(lambda_k), k = 1, 10, 50: " + ", ".join(f"{np.sqrt(eig.values[k]):.2f}" for k in (0, 9, 49)))
    print("| step | t | wall s | overlap top-1 | top-10 | top-50 | s_1 | s_10 | s_50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s, t, (w, o), sv in zip(res.steps, res.times, rows, res.singular_values):
        print(f"| {s} | {t:.3f} | {w:.0f} | {o[0]:.3f} | {o[1]:.3f} | {o[2]:.3f} | "
              f"{sv[0]:.2f} | {sv[9]:.2f} | {sv[49]:.2f} |")


def bench_gensim(corpus, dim, window, workers=2, epochs=1, sample=1e-5):
    from gensim.models import Word2Vec

    words = corpus.vocab.words
    sents = [[words[t] for t in a] for a in corpus.articles()]
    # gensim truncates sentences at 10,000 words; split long articles like word2vec.c does
    sents = [s[i:i + 10_000] for s in sents for i in range(0, len(s), 10_000)]
    n_words = sum(len(s) for s in sents)
    m = Word2Vec(vector_size=dim, window=window, sg=1, negative=5, min_count=1, workers=workers,
                 sample=sample, seed=0)
    m.build_vocab(sents)
    t, c = time.perf_counter(), time.process_time()
    m.train(sents, total_examples=len(sents), epochs=epochs)
    dt = time.perf_counter() - t
    return n_words * epochs / dt, n_words, (time.process_time() - c) / dt


def _spread(m) -> str:
    """``"; N runs, min-max"`` of a row's pairs/s (first entry of each measurement), or ``""`` for one."""
    if len(m) < 2:
        return ""
    v = [x[0] for x in m]
    return f"; {len(v)} runs, {min(v) / 1e6:.1f}-{max(v) / 1e6:.1f} M"


def gensim_kept_fraction(unigram, sample=1e-5):
    """The fraction of the tokens gensim's subsampling keeps: ``min(1, (sqrt(f/s) + 1) s / f)``."""
    u = np.asarray(unigram, dtype=np.float64)
    f = u / u.sum()
    keep = np.minimum(1.0, (np.sqrt(f / sample) + 1) * sample / np.where(f > 0, f, 1.0))
    return float((u * keep).sum() / u.sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", default="50000,250000",
                    help="comma-separated batch sizes (positive pairs = negative pairs per step)")
    ap.add_argument("--paths", default="dense,scatter", help="gradient paths to time")
    ap.add_argument("--overlap-curve", action="store_true",
                    help="print overlap/singular values vs time for the chosen ci configuration")
    ap.add_argument("--curve-steps", type=int, default=800)
    ap.add_argument("--negatives", default=None,
                    help="comma-separated QWEM estimators (TrainConfig.negatives) to run; default "
                         "unigram,uniform,exact (with --reach-095: uniform,exact)")
    ap.add_argument("--reach-095", dest="reach_095", action="store_true",
                    help="--overlap-curve with each estimator's CI_095_CONFIGS configuration")
    ap.add_argument("--local", action="store_true", help="also the first local-sample shard, V=10k, d=200")
    ap.add_argument("--no-ci", dest="no_ci", action="store_true", help="skip the ci corpus (with --local)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="measure every row this many times, interleaved (all rows, then gensim, per "
                         "round); the table shows medians and the range")
    ap.add_argument("--no-sample0", dest="no_sample0", action="store_true",
                    help="skip gensim with sample=0 (its pair rate on every word)")
    ap.add_argument("--backends", default="jax,cpu-kernel",
                    help="comma-separated TrainConfig.backend values to time")
    ap.add_argument("--cpu-threads", dest="cpu_threads", default="1,2",
                    help="comma-separated TrainConfig.cpu_threads values for the cpu-kernel rows (0: all)")
    ap.add_argument("--no-gensim", action="store_true")
    args = ap.parse_args(argv)
    negs = (args.negatives or ("uniform,exact" if args.reach_095 else "unigram,uniform,exact")).split(",")
    if args.overlap_curve:
        from qwemlib import pipeline as P
        from qwemlib import theory as TH

        st = P.corpus_statistics("ci")
        eig = TH.top_eigenpairs(st.M, 50)
        for neg in negs:
            overlap_curve(args.curve_steps, negatives=neg, reach_095=args.reach_095, st=st, eig=eig)
            print()
        return

    from qwemlib import corpus as C
    from qwemlib import stats as S

    plat, kind = _jax_device()
    print(f"JAX device: {plat} {kind}  (JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r}); "
          f"CPU cores: {os.cpu_count()}; load average at start: {os.getloadavg()}")
    runs = [] if args.no_ci and args.local else [("ci", "wikipedia/20150523.en-ci", 2000, 50, None)]
    if args.local or plat == "gpu":
        runs.append(("local shard 0", "wikipedia/20150523.en-sample", 10_000, 200, 1))
    backends = args.backends.split(",")

    rows = []
    # pairs per centre word: 2 * mean shrinking half-width ((L+1)/2) positives, x(1+5) with negatives
    ppw = 2 * (16 + 1) / 2 * (1 + 5)
    for name, src, Vs, dim, shards in runs:
        corpus = C.load_corpus(src, Vs, max_shards=shards) if shards else C.load_corpus(src, Vs)
        co = S.count_cooccurrences(corpus.ids, corpus.article_offsets, Vs, window=16)
        specs = []  # (trainer label, bench_qwemlib arguments after corpus, co)
        for backend in backends:
            for loss in ("qwem", "sgns"):
                for batch in (int(b) for b in args.batch.split(",")):
                    # the kernel has one update rule; the JAX path two gradient paths
                    paths = (args.paths.split(",") if backend == "jax"
                             else [f"cpu-kernel threads={t}" for t in args.cpu_threads.split(",")])
                    for path in paths:
                        # QWEM's estimators side by side; SGNS has only word2vec's negatives
                        for neg in (negs if loss == "qwem" else ["unigram"]):
                            jax_path = backend == "jax"
                            label = f"qwemlib {loss}" + (f" negatives={neg}" if loss == "qwem" else "")
                            specs.append((f"{label} {path} B={batch:,}+{batch:,}",
                                          (loss, dim, args.steps, batch, path if jax_path else "auto", neg,
                                           backend, 0 if jax_path else int(path.split("=")[1]))))
        gensim_runs = [] if args.no_gensim else [1e-5] + ([] if args.no_sample0 else [0])
        meas = {label: [] for label, _ in specs}
        meas_g = {g: [] for g in gensim_runs}  # sample -> [(implied pairs/s, words, CPU s per s)]
        for rep in range(args.repeats):  # interleaved: a change of the machine's load hits every row
            for label, a in specs:
                meas[label].append(bench_qwemlib(corpus, co, *a))
                print(rep, label, meas[label][-1], flush=True)
            for g in gensim_runs:
                wps, n, cpu = bench_gensim(corpus, dim, 16, sample=g)
                meas_g[g].append((wps * ppw, n, cpu))
                print(rep, f"gensim sample={g}", meas_g[g][-1], flush=True)
        first = len(rows)
        for label, a in specs:
            m = meas[label]
            pps = float(np.median([x[0] for x in m]))
            rows.append(dict(corpus=name, trainer=label, device=m[0][2], pps=pps,
                             cpu=float(np.median([x[3] for x in m])),
                             note=f"{2 * a[3] / pps * 1e3:.0f} ms/step; compile {m[0][1]:.1f} s"
                                  + _spread(m)))
        if gensim_runs:
            m = meas_g[1e-5]
            gens, n = float(np.median([x[0] for x in m])), m[0][1]
            kept = gensim_kept_fraction(co.unigram)
            rows.append(dict(corpus=name, trainer="gensim sg=1 neg=5 w=16 (2 workers), implied",
                             device="cpu", pps=gens, cpu=float(np.median([x[2] for x in m])),
                             note=f"{gens / ppw:,.0f} words/s x {ppw:.0f} pairs/word ({n:,} words)"
                                  + _spread(m)))
            rows.append(dict(corpus=name, trainer="gensim, effective (kept words only)", device="cpu",
                             pps=gens * kept, cpu=rows[-1]["cpu"],
                             note=f"subsampling keeps {kept:.1%} of the words"))
            gens0 = None
            if 0 in meas_g:
                m = meas_g[0]
                gens0 = float(np.median([x[0] for x in m]))
                rows.append(dict(corpus=name, trainer="gensim sample=0 (2 workers): every word", device="cpu",
                                 pps=gens0, cpu=float(np.median([x[2] for x in m])),
                                 note=f"{gens0 / ppw:,.0f} words/s x {ppw:.0f} pairs/word, no subsampling"
                                      + _spread(m)))
            for r in rows[first:]:
                r["ratio"] = r["pps"] / gens
                if gens0:
                    r["ratio0"] = r["pps"] / gens0

    print()
    print(f"load average at the end: {os.getloadavg()} (the machine is shared with other jobs)")
    print(f"{args.repeats} round(s); pairs/s and CPU s per s are medians over them")
    print("| corpus | trainer | device | pairs/s | / gensim implied | / gensim sample=0 | CPU s per s "
          "| note |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
        ratio0 = f"{r['ratio0']:.2f}" if "ratio0" in r else "-"
        print(f"| {r['corpus']} | {r['trainer']} | {r['device']} | {r['pps']:,.0f} | {ratio} | {ratio0} | "
              f"{r['cpu']:.2f} | {r['note']} |")


if __name__ == "__main__":
    main()
