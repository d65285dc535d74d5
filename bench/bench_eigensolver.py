"""Benchmark qwemlib's top-d eigensolver against the peers a user would pick, interleaved.

The peers for "the top d of a dense symmetric V x V matrix by algebraic value":

* ``evr-f64``: ``scipy.linalg.eigh(M, subset_by_index=[V-d, V-1], driver="evr")`` (float64);
* ``evx-f32``: the same with ``driver="evx"`` on a float32 copy of ``M`` (the copy is made
  once, outside the timing);
* ``arpack``: ``scipy.sparse.linalg.eigsh(M, k=d, which="LA")`` (float64, default tolerance);
* ``jax`` (``--jax``): ``jax.numpy.linalg.eigh`` (full, jitted, no subset option) on JAX's
  default device, in JAX's default dtype; the first call (compilation) is not timed;
* ``chebyshev``: ``top_eigenpairs(method="chebyshev")``, qwemlib's solver before block
  Lanczos became ``"auto"``'s choice, kept so the change is measured in the same run;
* ``numpy-eigh``, ``lobpcg`` on request (``--peers``).

``qwemlib`` is the public ``qwemlib.eigen.top_eigenpairs(M, d)`` (validation included, the
float32 copy included). Every solver runs once per round, in the same order, for
``--repeats`` rounds (A B C A B C ...): the load of a shared machine hits them alike,
so the *ratios* (peer median / qwemlib median) mean something even where the absolute
seconds are inflated. The error column is ``max_j |lambda_j - lambda_j(ref)| / lambda_1``
against the float64 ``evr`` reference (computed once if ``evr-f64`` is not a peer). The
residual column, ``max_j ||M v_j - lambda_j v_j|| / lambda_1``, checks that each vector
belongs to its value (the subspace overlap sees only their span).

    .venv/bin/python bench/bench_eigensolver.py --local            # M* of the local preset
    .venv/bin/python bench/bench_eigensolver.py --load M.npy --repeats 3 --jax
    .venv/bin/python bench/bench_eigensolver.py --synthetic --V 2000 --d 50

The target (issue 15): qwemlib <= 6 s for the top 200 at V = 10,000 on 2 cores, every
eigenvalue within 1e-4 lambda_1. The seconds are judged on a quiet machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import scipy.sparse.linalg

from qwemlib import eigen, theory

PEERS = ("qwemlib", "chebyshev", "evr-f64", "evx-f32", "arpack", "jax", "numpy-eigh", "lobpcg")
DEFAULT_PEERS = "qwemlib,chebyshev,evr-f64,evx-f32,arpack"
TARGET_SECONDS, TARGET_ERROR = 6.0, 1e-4  # issue 15, at V = 10,000, d = 200 on 2 cores


def real_target(V: int, max_tokens: int, window: int = 16) -> np.ndarray:
    """M* of the first ``max_tokens`` tokens of the local sample (counted here)."""
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


def _subset(M, d, driver):
    V = M.shape[0]
    w, v = scipy.linalg.eigh(M, subset_by_index=[V - d, V - 1], driver=driver, check_finite=False)
    return w[::-1], v[:, ::-1]


def _arpack(M, d, seed):
    v0 = np.random.default_rng(seed).standard_normal(M.shape[0])
    w, v = scipy.sparse.linalg.eigsh(M, k=d, which="LA", v0=v0)
    return w[::-1], v[:, ::-1]


def _jax_solver(M, d):
    """``jnp.linalg.eigh`` on JAX's default device (compiled here, outside the timing)."""
    import jax
    import jax.numpy as jnp

    f = jax.jit(jnp.linalg.eigh)
    Mj = jax.device_put(jnp.asarray(M))  # JAX's default dtype: float32 unless x64 is on
    w, v = f(Mj)
    w.block_until_ready()

    def solve():
        w, v = f(Mj)
        v.block_until_ready()
        return np.asarray(w)[::-1][:d], np.asarray(v)[:, ::-1][:, :d]

    return solve, f"{Mj.dtype}, {jax.devices()[0].platform}"


def make_solvers(M: np.ndarray, d: int, peers: list[str], seed: int = 0) -> dict:
    """``{name: (callable returning (values, vectors) descending, dtype note)}``."""
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise SystemExit(f"unknown peer(s) {unknown}; choose from {', '.join(PEERS)}")
    out = {}
    M32 = M.astype(np.float32) if {"evx-f32"} & set(peers) else None
    for p in peers:
        if p == "qwemlib":
            out[p] = (lambda: (lambda e: (e.values, e.vectors))(eigen.top_eigenpairs(M, d, seed=seed)),
                      "float32 block Lanczos, float64 T")
        elif p == "chebyshev":
            out[p] = (lambda: (lambda e: (e.values, e.vectors))(
                eigen.top_eigenpairs(M, d, method="chebyshev", seed=seed)),
                "float32 filter, float64 Rayleigh-Ritz (qwemlib's solver before block Lanczos)")
        elif p == "evr-f64":
            out[p] = (lambda: _subset(M, d, "evr"), "float64")
        elif p == "evx-f32":
            out[p] = (lambda: _subset(M32, d, "evx"), "float32")
        elif p == "arpack":
            out[p] = (lambda: _arpack(M, d, seed), "float64")
        elif p == "jax":
            out[p] = _jax_solver(M, d)
        elif p == "numpy-eigh":
            out[p] = (lambda: (lambda wv: (wv[0][::-1][:d], wv[1][:, ::-1][:, :d]))(np.linalg.eigh(M)),
                      "float64, full")
        elif p == "lobpcg":
            out[p] = (lambda: (lambda e: (e.values, e.vectors))(
                eigen.top_eigenpairs(M, d, method="lobpcg", seed=seed)), "float32, lobpcg")
    return out


def interleaved(solvers: dict, repeats: int, log=print) -> dict:
    """Run every solver once per round, ``repeats`` rounds; seconds and the last result.

    Returns ``{name: {"seconds": [...], "values": ..., "vectors": ...}}`` and logs the
    1-minute load average before and after each round.
    """
    out = {name: {"seconds": []} for name in solvers}
    loads = []
    for r in range(repeats):
        before = os.getloadavg()[0]
        for name, (fn, _) in solvers.items():
            t = time.perf_counter()
            w, v = fn()
            out[name]["seconds"].append(time.perf_counter() - t)
            out[name]["values"], out[name]["vectors"] = np.asarray(w, np.float64), np.asarray(v)
            log(f"#   round {r + 1}: {name} {out[name]['seconds'][-1]:.1f} s", flush=True)
        loads.append((before, os.getloadavg()[0]))
        log(f"#   round {r + 1}: load average {before:.1f} before, {loads[-1][1]:.1f} after", flush=True)
    out["_loads"] = loads
    return out


def table(M: np.ndarray, d: int, solvers: dict, res: dict, ref=None) -> tuple[str, dict]:
    """The markdown table and its rows: median seconds, ratio to qwemlib, errors."""
    if ref is None:
        ref = ((res["evr-f64"]["values"], res["evr-f64"]["vectors"]) if "evr-f64" in res
               else _subset(M, d, "evr"))
    w_ref, v_ref = ref
    lam1 = abs(float(w_ref[0]))
    base = statistics.median(res["qwemlib"]["seconds"]) if "qwemlib" in res else None
    lines = ["| solver | dtype | median s | runs (s) | peer / qwemlib | max abs eigenvalue error / lambda_1 "
             "| within 1e-4 | subspace overlap | max residual / lambda_1 |",
             "|---|---|---:|---|---:|---:|:---:|---:|---:|"]
    rows = {}
    for name, (_, note) in solvers.items():
        secs = res[name]["seconds"]
        med = statistics.median(secs)
        err = float(np.max(np.abs(res[name]["values"][:d] - w_ref[:d]))) / lam1
        vecs = np.asarray(res[name]["vectors"], np.float64)[:, :d]
        ov = theory.subspace_overlap(vecs, v_ref)
        # column by column: vector k must belong to value k (the overlap sees only the span)
        resid = float(np.max(np.linalg.norm(M @ vecs - vecs * res[name]["values"][:d], axis=0))) / lam1
        ratio = med / base if base else float("nan")
        rows[name] = {"dtype": note, "median_s": med, "seconds": secs, "ratio_to_qwemlib": ratio,
                      "max_rel_err": err, "subspace_overlap": ov, "max_rel_residual": resid}
        lines.append(f"| {name} | {note} | {med:.1f} | {', '.join(f'{s:.1f}' for s in secs)} | "
                     f"{'1 (base)' if name == 'qwemlib' else f'{ratio:.2f}'} | {err:.1e} | "
                     f"{'yes' if err <= TARGET_ERROR else 'NO'} | {ov:.6f} | {resid:.1e} |")
    return "\n".join(lines), rows


def blas_gflops(M: np.ndarray, k: int = 300) -> float:
    """The float32 gemm rate right now: how busy the cores are, in the units of the solver."""
    X = np.random.default_rng(0).standard_normal((M.shape[0], k)).astype(np.float32)
    M32 = M.astype(np.float32)
    t = time.perf_counter()
    M32 @ X
    return 2 * M.shape[0] ** 2 * k / (time.perf_counter() - t) / 1e9


def load_matrix(args) -> tuple[np.ndarray, str]:
    if args.load:
        return np.load(args.load), f"loaded from {args.load}"
    if args.local:
        from qwemlib import config, pipeline

        st = pipeline.corpus_statistics(config.preset("local"))
        return st.M, f"M* of the local preset ({st.corpus.n_tokens:,} tokens, window 16 each side)"
    if args.synthetic:
        return synthetic_target(args.V), "synthetic M* (Poisson co-occurrences, Zipfian latent model)"
    return (real_target(args.V, args.max_tokens),
            f"real M*: wikipedia/20150523.en-sample, {args.max_tokens:,} tokens, window 16 each side")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--V", type=int, default=10_000, help="vocabulary (--synthetic, default corpus)")
    ap.add_argument("--d", type=int, default=200, help="number of eigenpairs")
    ap.add_argument("--max-tokens", type=int, default=20_000_000, help="tokens of the default corpus M*")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--local", action="store_true", help="M* of the local preset (cached statistics)")
    src.add_argument("--synthetic", action="store_true", help="a synthetic M* (no corpus needed)")
    src.add_argument("--load", help="load M from this .npy")
    ap.add_argument("--save-matrix", type=Path, help="save M to this .npy (to iterate with --load)")
    ap.add_argument("--peers", default=DEFAULT_PEERS, help=f"comma list of: {', '.join(PEERS)}")
    ap.add_argument("--jax", action="store_true", help="add jax.numpy.linalg.eigh on JAX's default device")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (the median is reported)")
    ap.add_argument("--json", type=Path, help="write the rows, loads and provenance here")
    args = ap.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    if args.jax and "jax" not in peers:
        peers.append("jax")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    t0 = time.perf_counter()
    M, source = load_matrix(args)
    M = np.ascontiguousarray(M, dtype=np.float64)
    if args.save_matrix:
        np.save(args.save_matrix, M)
    V, d = M.shape[0], args.d
    print(f"# {source}; V = {V:,}, d = {d}; ready in {time.perf_counter() - t0:.1f} s")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, scipy {scipy.__version__}; fraction of entries = -2: "
          f"{float(np.mean(M == -2.0)):.3f}")
    print(f"# BLAS now: float32 (V x V) @ (V x 300) at {blas_gflops(M):.0f} GFLOP/s "
          "(about 200 on the 2-core machine when idle)")
    load_start = os.getloadavg()
    solvers = make_solvers(M, d, peers)
    res = interleaved(solvers, args.repeats)
    text, rows = table(M, d, solvers, res)
    load_end = os.getloadavg()
    print(f"\n# {args.repeats} interleaved round(s); 1-min load average {load_start[0]:.1f} at the start, "
          f"{load_end[0]:.1f} at the end, on {os.cpu_count()} cores\n")
    print(text)
    verdict = None
    if "qwemlib" in rows and (V, d) == (10_000, 200):
        q = rows["qwemlib"]
        verdict = {"seconds_met": q["median_s"] <= TARGET_SECONDS,
                   "error_met": q["max_rel_err"] <= TARGET_ERROR}
        secs = "met" if verdict["seconds_met"] else "not met"
        err = "met" if verdict["error_met"] else "NOT met"
        print(f"\n# target (V = 10,000, d = 200, 2 cores, quiet machine): <= {TARGET_SECONDS:g} s and "
              f"error <= {TARGET_ERROR:g}; here {q['median_s']:.1f} s ({secs} at this load), "
              f"error {q['max_rel_err']:.1e} ({err})")
    else:
        print("\n# the target (<= 6 s, error <= 1e-4) is stated for V = 10,000, d = 200 only")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"# process peak RSS {rss:.1f} GB (M: {M.nbytes / 1e9:.1f} GB)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "source": source, "V": V, "d": d, "repeats": args.repeats, "rows": rows, "verdict": verdict,
            "loadavg_start_end": [load_start, load_end], "round_loads": res["_loads"],
            "cpu_count": os.cpu_count(), "platform": platform.platform()}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
