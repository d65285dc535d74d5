"""How close the noise-free gradient flow gets to M*'s top eigenvectors by a given time.

The reference for the stored SGD runs of book/05 (issue 12, item 2): SGD from small
initialization follows the flow ``dW/dt = (1/2)(M* - W W^T) W`` (the Lemma, eq. 10-12) plus
noise, so the flow's top-k subspace overlap at the run's final ``t`` is what SGD can reach
without noise. In M*'s eigenbasis the flow is the same ODE with ``M* = diag(lambda)``, and a
Gaussian start ``N(0, sigma^2)`` is again Gaussian there, so only the eigenvalues are needed
(``scipy.linalg.eigvalsh``, about a minute at V = 10,000 on 2 cores): the flow is
:func:`qwemlib.flow.gradient_flow` (``riccati``: the column space exact at every step;
``rotation=False``, since no overlap sees the rotation) and the overlap
:func:`qwemlib.theory.subspace_overlaps` against the coordinate axes.

    python tools/flow_overlap.py --scale local --times 0.125 0.25 0.5 1
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def flow_overlaps(lam: np.ndarray, d: int, sigma: float, times, ks, seed: int = 0) -> np.ndarray:
    """``(len(times), len(ks))`` top-k overlaps of the flow from ``N(0, sigma^2)`` with M*'s top
    eigenvectors, ``lam`` M*'s eigenvalues in decreasing order."""
    from qwemlib import eigen, flow, theory

    V = lam.size
    spec = eigen.Spectrum(values=lam, vectors=np.eye(V), frobenius_sq=float(np.sum(lam ** 2)))
    W0 = theory.random_init(V, d, sigma, seed)
    res = flow.gradient_flow(None, W0, np.asarray(times, float), spectrum=spec, rotation=False)
    axes = np.eye(V)[:, :max(ks)]
    return np.array([theory.subspace_overlaps(W, axes, ks) for W in res.W])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="local", help="preset (default: local)")
    ap.add_argument("--sigma", type=float, default=1e-3, help="initialization scale (default: 1e-3)")
    ap.add_argument("--times", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    args = ap.parse_args(argv)
    import scipy.linalg

    from qwemlib import config, pipeline

    preset = config.preset(args.scale)
    st = pipeline.corpus_statistics(preset)
    t0 = time.perf_counter()
    lam = scipy.linalg.eigvalsh(np.asarray(st.M, dtype=np.float64))[::-1].copy()
    print(f"{preset.name}: V = {lam.size:,}, eigvalsh {time.perf_counter() - t0:.0f} s; lambda_1 = "
          f"{lam[0]:.1f}, lambda_d = {lam[preset.dim - 1]:.2f}, lambda_d+1 = {lam[preset.dim]:.2f}, "
          f"lambda_min = {lam[-1]:.0f}")
    ks = sorted({1, 10, 50, preset.dim})
    ov = flow_overlaps(lam, preset.dim, args.sigma, args.times, ks)
    print("| t | " + " | ".join(f"top-{k}" for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    for t, row in zip(args.times, ov):
        print(f"| {t:g} | " + " | ".join(f"{v:.4f}" for v in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
