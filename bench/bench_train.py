"""Training throughput: qwemlib's JAX trainer (QWEM, SGNS) next to gensim Word2Vec.

Prints one table: pairs/s of ``qwemlib.train`` (compilation excluded) for QWEM and SGNS
on the ci corpus (V = 2,000, d = 50) and, with ``--local``, on the first shard of the
local sample (V = 10,000, d = 200), and gensim's words/s on the same tokens (sentences =
articles as lists of words; sg=1, negative=5, window=16, 2 workers). gensim's unit is
*words* (centre tokens): each word makes on average ~2 L' positive pairs (L' = the
shrinking window's mean half-width) plus ``negative`` negatives per positive, so the
table also shows gensim's implied pairs/s = words/s x (pairs per word).
If JAX sees a GPU, the local-sample measurement is run on it as well.

Usage:
    python bench/bench_train.py [--steps 20] [--local] [--no-gensim]
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


def bench_qwemlib(corpus, co, loss, dim, steps, batch):
    from qwemlib import train as T

    cfg = T.TrainConfig(loss=loss, dim=dim, window=co.window, steps=steps, lr=1e-6 if loss == "qwem" else 1e-2,
                        batch_pos=batch, batch_neg=batch, schedule="constant", init_scale=1e-2,
                        n_records=2, steps_per_call=steps, record_objective=False)
    res = T.train(corpus.ids, corpus.article_offsets, co, cfg, progress=False)
    return res.pairs_per_second, res.compile_time, res.device


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
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--local", action="store_true", help="also the first local-sample shard, V=10k, d=200")
    ap.add_argument("--no-gensim", action="store_true")
    args = ap.parse_args(argv)

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
            pps, comp, dev = bench_qwemlib(corpus, co, loss, dim, args.steps, args.batch)
            rows.append((name, f"qwemlib {loss}", dev, f"{pps:,.0f} pairs/s", f"compile {comp:.1f} s"))
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
