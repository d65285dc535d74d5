"""Walker/Vose alias tables: exact O(1) draws from a discrete distribution on the device.

A table ``(accept, alias)`` is built once on the host (:func:`alias_table`); a draw is one
uniform integer ``k`` and one uniform float ``u``: ``k`` if ``u < accept[k]`` else ``alias[k]``
(:func:`_alias_draw`, jitted). The sampled distribution is exact up to the floating-point
precision of ``accept`` (:func:`alias_distribution` gives it, for tests and the oracle).

Used in: the negative pairs of :func:`qwemlib.train.sample_batch`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for the distribution ``p``: ``(accept (V,), alias (V,) int32)``.

    Draw ``k ~ U{0..V-1}``, ``u ~ U[0,1)``; return ``k`` if ``u < accept[k]`` else ``alias[k]``.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or np.any(p < 0) or not p.sum() > 0:
        raise ValueError("alias_table: need a 1-d non-negative array with a positive sum")
    V = p.size
    q = p * (V / p.sum())
    accept = np.ones(V)
    alias = np.arange(V, dtype=np.int32)
    small = [k for k in range(V) if q[k] < 1.0]
    large = [k for k in range(V) if q[k] >= 1.0]
    while small and large:
        s = small.pop()
        l = large.pop()
        accept[s] = q[s]
        alias[s] = l
        q[l] = (q[l] + q[s]) - 1.0
        (small if q[l] < 1.0 else large).append(l)
    for k in small + large:  # leftovers are 1 up to rounding
        accept[k] = 1.0
    return accept, alias


def alias_distribution(accept: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """The distribution an alias table samples (for tests)."""
    accept = np.asarray(accept, dtype=np.float64)
    V = accept.size
    out = accept.copy()
    np.add.at(out, np.asarray(alias), 1.0 - accept)
    return out / V


def _alias_draw(key, table, n, fdt):
    """``n`` draws from the device table ``(accept, alias)``; uniforms in float type ``fdt``."""
    accept, alias = table
    k1, k2 = jax.random.split(key)
    V = accept.shape[0]
    k = jax.random.randint(k1, (n,), 0, V, dtype=jnp.int32)
    u = jax.random.uniform(k2, (n,), dtype=fdt)
    return jnp.where(u < accept[k], k, alias[k])
