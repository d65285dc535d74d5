"""Training throughput: qwemlib's JAX trainer (QWEM, SGNS) next to gensim Word2Vec.

Prints one table: pairs/s of ``qwemlib.train`` (compilation excluded) for QWEM and SGNS,
for both gradient paths (``grad_path="dense"``: per-pair scalar coefficients scattered into a
``(V, V)`` matrix and one matmul; ``"scatter"``: autodiff's row scatter-add) and for each
batch size in ``--batch``, on the ci corpus (V = 2,000, d = 50) and, with ``--local``, on the first shard of the
local sample (V = 10,000, d = 200), and gensim's words/s on the same tokens (sentences =
articles as lists of words; sg=1, negative=5, window=16, 2 workers). gensim's unit is
*words* (centre tokens): each word makes on average ~2 L' positive pairs (L' = the
shrinking window's mean half-width) plus ``negative`` negatives per positive, so the
table also shows gensim's implied pairs/s = words/s x (pairs per word).
If JAX sees a GPU, the local-sample measurement is run on it as well.

``--overlap-curve`` instead trains QWEM at ci with :data:`CI_CURVE_CONFIG` (the
configuration of tests/test_train.py's slow d = 50 test) and prints, at each record step,
the theory time, wall time, overlap of span(W) with the top-1/10/50 eigenvectors of M*
and the top singular values of W next to sqrt(lambda_k).

Usage:
    python bench/bench_train.py [--steps 20] [--batch 50000,250000] [--local] [--no-gensim]
    python bench/bench_train.py --overlap-curve [--curve-steps 800]
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


def bench_qwemlib(corpus, co, loss, dim, steps, batch, path):
    from qwemlib import train as T

    steps = max(3, min(steps, int(steps * 50_000 / batch))) if path == "scatter" else steps
    cfg = T.TrainConfig(loss=loss, dim=dim, window=co.window, steps=steps, lr=1e-6 if loss == "qwem" else 1e-2,
                        batch_pos=batch, batch_neg=batch, schedule="constant", init_scale=1e-2,
                        n_records=2, steps_per_call=steps, record_objective=False, grad_path=path)
    res = T.train(corpus.ids, corpus.article_offsets, co, cfg, progress=False)
    return res.pairs_per_second, res.compile_time, res.device


def overlap_curve(steps: int, records: int = 8):
    """Overlap with the top-k eigenvectors of M* and singular values vs theory time (ci)."""
    from qwemlib import stats as S
    from qwemlib import theory as TH
    from qwemlib import train as T

    st = S.corpus_statistics("ci")
    eig = TH.top_eigenpairs(st.M, 50)
    cfg = T.TrainConfig(**CI_CURVE_CONFIG, steps=steps, record_spacing="linear", n_records=records + 1,
                        steps_per_call=max(1, steps // records), record_objective=False)
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


def bench_gensim(corpus, dim, window, workers=2, epochs=1):
    from gensim.models import Word2Vec

    words = corpus.vocab.words
    sents = [[words[t] for t in a] for a in corpus.articles()]
    # gensim truncates sentences at 10,000 words; split long articles like word2vec.c does
    sents = [s[i:i + 10_000] for s in sents for i in range(0, len(s), 10_000)]
    n_words = sum(len(s) for s in sents)
    m = Word2Vec(vector_size=dim, window=window, sg=1, negative=5, min_count=1, workers=workers,
                 sample=1e-5, seed=0)
    m.build_vocab(sents)
    t = time.perf_counter()
    m.train(sents, total_examples=len(sents), epochs=epochs)
    dt = time.perf_counter() - t
    return n_words * epochs / dt, n_words


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", default="50000,250000",
                    help="comma-separated batch sizes (positive pairs = negative pairs per step)")
    ap.add_argument("--paths", default="dense,scatter", help="gradient paths to time")
    ap.add_argument("--overlap-curve", action="store_true",
                    help="print overlap/singular values vs time for the chosen ci configuration")
    ap.add_argument("--curve-steps", type=int, default=800)
    ap.add_argument("--local", action="store_true", help="also the first local-sample shard, V=10k, d=200")
    ap.add_argument("--no-gensim", action="store_true")
    args = ap.parse_args(argv)
    if args.overlap_curve:
        overlap_curve(args.curve_steps)
        return

    from qwemlib import corpus as C
    from qwemlib import stats as S

    plat, kind = _jax_device()
    print(f"JAX device: {plat} {kind}  (JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r}); "
          f"CPU cores: {os.cpu_count()}")
    runs = [("ci", "wikipedia/20150523.en-ci", 2000, 50, None)]
    if args.local or plat == "gpu":
        runs.append(("local shard 0", "wikipedia/20150523.en-sample", 10_000, 200, 1))

    rows = []
    for name, src, Vs, dim, shards in runs:
        corpus = C.load_corpus(src, Vs, max_shards=shards) if shards else C.load_corpus(src, Vs)
        co = S.count_cooccurrences(corpus.ids, corpus.article_offsets, Vs, window=16)
        for loss in ("qwem", "sgns"):
            for batch in (int(b) for b in args.batch.split(",")):
                for path in args.paths.split(","):
                    pps, comp, dev = bench_qwemlib(corpus, co, loss, dim, args.steps, batch, path)
                    rows.append((name, f"qwemlib {loss} {path} B={batch:,}+{batch:,}", dev,
                                 f"{pps:,.0f} pairs/s", f"{2 * batch / pps * 1e3:.0f} ms/step; "
                                 f"compile {comp:.1f} s"))
                    print(rows[-1])
        if not args.no_gensim:
            wps, n = bench_gensim(corpus, dim, 16)
            # pairs per centre word: 2 * mean shrinking half-width ((L+1)/2) positives, x(1+5) with negatives
            ppw = 2 * (16 + 1) / 2 * (1 + 5)
            rows.append((name, "gensim sg=1 neg=5 w=16 (2 workers)", "cpu",
                         f"{wps:,.0f} words/s", f"~{wps * ppw:,.0f} pairs/s implied ({n:,} words)"))
            print(rows[-1])

    print()
    print(f"| corpus | trainer | device | throughput | note |")
    print(f"|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
