"""Benchmark the top-d eigensolvers of qwemlib.theory on a real M* (V = 10,000, d = 200).

Prints a table: method, seconds, max |eigenvalue error| / lambda_1 and subspace overlap
against dense LAPACK ``eigh`` (the peer, timed in the same run), and peak memory
(tracemalloc peak of numpy allocations during the call; process max RSS at the end).

    .venv/bin/python bench/bench_eigensolver.py                 # real M*, 20 M tokens
    .venv/bin/python bench/bench_eigensolver.py --synthetic     # no corpus needed
    .venv/bin/python bench/bench_eigensolver.py --methods chebyshev,arpack --V 5000 --d 100

Timings depend on the machine and on its load (BLAS threads compete with other
processes): run it on an idle machine and say which one.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc

import numpy as np
import scipy.linalg

from qwemlib import theory
from qwemlib.eigen import _chebyshev, _top  # the raw solvers, without validation


def real_target(V: int, max_tokens: int, window: int = 16) -> np.ndarray:
    from qwemlib import stats
    from qwemlib.corpus import load_corpus

    c = load_corpus("wikipedia/20150523.en-sample", vocab_size=V, max_tokens=max_tokens)
    co = stats.count_cooccurrences(c.ids, c.article_offsets, V, window=window)
    return stats.target_matrix(stats.skipgram_distribution(co), stats.unigram_distribution(co))


def synthetic_target(V: int, seed: int = 0, tokens: float = 2.2e7, rank: int = 60) -> np.ndarray:
    """M* (eq. 5, Setting 1) of Poisson co-occurrence counts from a Zipfian latent model.

    About half of its entries are exactly -2 (pairs that never co-occur) and it has
    one huge negative eigenvalue, like the real M*; its bulk is flatter.
    """
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(1, V + 1) + 2.7)
    p /= p.sum()
    U = rng.standard_normal((V, rank)) * 0.35
    rate = U @ U.T
    np.exp(rate, out=rate)
    rate *= 32 * tokens * np.outer(p, p)
    cnt = rng.poisson(np.triu(rate)).astype(np.float64)
    del rate
    cnt = np.triu(cnt) + np.triu(cnt, 1).T
    P = cnt / cnt.sum()
    Pi = P.sum(1)
    Q = np.outer(Pi, Pi)
    return (P - Q) / (0.5 * (P + Q))


def run(label, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    w, v = fn()
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return label, secs, np.asarray(w), np.asarray(v), peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--V", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--max-tokens", type=int, default=20_000_000)
    ap.add_argument("--synthetic", action="store_true", help="use a synthetic M* instead of the corpus")
    ap.add_argument("--load", help="load M from this .npy instead of building it")
    ap.add_argument(
        "--methods",
        default="chebyshev,dense,numpy-eigh,arpack",
        help="comma list of: chebyshev, dense, dense-evx, numpy-eigh, arpack, lobpcg",
    )
    args = ap.parse_args(argv)
    V, d = args.V, args.d

    t0 = time.perf_counter()
    if args.load:
        M, source = np.load(args.load), f"loaded from {args.load}"
    elif args.synthetic:
        M, source = synthetic_target(V), "synthetic M* (Poisson co-occurrences, Zipfian latent model)"
    else:
        M = real_target(V, args.max_tokens)
        source = f"real M*: wikipedia/20150523.en-sample, {args.max_tokens:,} tokens, window 16 each side"
    M = np.ascontiguousarray(M, dtype=np.float64)
    print(f"# {source}; V = {M.shape[0]:,}, d = {d}; built in {time.perf_counter() - t0:.1f} s")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, scipy {scipy.__version__}; load average {os.getloadavg()[0]:.1f}")
    X = np.random.default_rng(0).standard_normal((M.shape[0], 300)).astype(np.float32)
    M32 = M.astype(np.float32)
    t1 = time.perf_counter()
    M32 @ X
    g = 2 * M.shape[0] ** 2 * 300 / (time.perf_counter() - t1) / 1e9
    print(f"# BLAS calibration now: float32 (V x V) @ (V x 300) at {g:.0f} GFLOP/s "
          f"(about 200 on this 2-core machine when idle)")
    del M32, X
    frac = float(np.mean(M == -2.0))
    print(f"# fraction of entries equal to -2: {frac:.3f}")

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    solvers = {
        "chebyshev": lambda: _chebyshev.chebyshev(M, d, 0),
        "dense": lambda: _top._dense(M, d, "evr"),
        "dense-evx": lambda: _top._dense(M, d, "evx"),
        "arpack": lambda: _top._arpack(M, d, 0),
        "lobpcg": lambda: _top._lobpcg(M, d, 0),
        "numpy-eigh": lambda: (lambda wv: (wv[0][::-1][:d], wv[1][:, ::-1][:, :d]))(np.linalg.eigh(M)),
    }
    results = []
    for m in methods:
        label, secs, w, v, peak = run(m, solvers[m])
        results.append((label, secs, w, v, peak))
        print(f"#   {label}: {secs:.1f} s", flush=True)
    ref = next((r for r in results if r[0] in ("dense", "numpy-eigh", "dense-evx")), None)
    if ref is None:
        print("# no dense reference in --methods; computing scipy eigh(evr) for the errors")
        ref = run("dense", solvers["dense"])
    w_ref, v_ref = ref[2], ref[3]
    lam1 = abs(w_ref[0])
    print()
    print("| method | seconds | max abs eigenvalue error / lambda_1 | subspace overlap with dense "
          "| peak numpy memory (GB) |")
    print("|---|---:|---:|---:|---:|")
    for label, secs, w, v, peak in results:
        err = float(np.max(np.abs(w - w_ref))) / lam1
        ov = theory.subspace_overlap(v, v_ref)
        print(f"| {label} | {secs:.1f} | {err:.2e} | {ov:.6f} | {peak / 1e9:.2f} |")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"\n# process peak RSS: {rss:.1f} GB (includes M: {M.nbytes / 1e9:.1f} GB)")
    print(f"# lambda_1 = {w_ref[0]:.1f}, lambda_d = {w_ref[-1]:.2f}")


if __name__ == "__main__":
    main()
