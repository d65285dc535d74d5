"""The compiled CPU kernels of ``TrainConfig(backend="cpu-kernel")`` (numba; see :mod:`._cpu`).

Two kernels:

* :func:`_stream_steps` (QWEM with ``negatives="unigram"`` or ``"uniform"``, and SGNS), ``n``
  SGD steps in one call: a step
  is ``n_c`` centre positions of the token stream, taken in blocks of ``block`` consecutive
  positions that start at uniformly random places. For each centre ``p`` (word ``i``) the
  kernel copies ``W_i`` into a local row, walks its window (word2vec's shrinking window:
  ``b ~ U{1..L}`` and the offsets ``1 <= |o| <= b`` inside the article; ``b = L`` for the
  uniform weighting) and then ``n_negc`` negatives, updating each context row ``W_j`` at once
  and summing the centre's own update in a local buffer that is added to ``W_i`` at the end
  of the centre (word2vec's ``neu1e``), so the centre row is read once per centre. Uniform
  negatives (``QWEM_UNIFORM``) share one uniform row ``i2`` per centre, buffered the same way
  (``crow2``, ``acc2``), and draw their ``j`` uniformly: each pair is still uniform on the
  ``V x V`` cells (``i2`` and ``j`` independent and uniform), as in word2vec's negatives
  sharing their centre; 1.4x (1 thread) and 1.5x (2 threads) faster than a fresh row pair
  per negative at V = 10,000, d = 200, with the same gradient variance to 1 % (measured at
  a trained ``W`` of the local run, 24 draws).
* :func:`_exact_cells` and :func:`_exact_apply` (QWEM, ``negatives="exact"``), one step:
  ``n_cells`` co-occurring cells drawn uniformly from the cell table (records of cell and
  weight, :func:`qwemlib.train._cpu.cell_table`), in blocks shared out among the threads by
  a counter, then the exact terms ``W_s (W_s^T W_s) + 2 * 1 (1^T W_s)`` of the step's start
  ``W_s``, two matmuls that the caller computes with BLAS on a copy of ``W_s`` while the
  other threads run the cells (:func:`qwemlib.train._cpu._exact_steps`).

Both kernels know the rows they will touch a few pairs before they touch them and prefetch
them (:mod:`._prefetch`, hints only: the same arithmetic in the same order): the stream walk
the context row ``_ROWS_AHEAD`` pairs ahead, :func:`_exact_cells` its cell table
``_TABLE_AHEAD`` draws ahead and both rows of the cell ``_ROWS_AHEAD`` ahead, whose dot and
two updates it then does in one pass (:func:`_free_pair`). Against the same code without,
through :func:`qwemlib.train.train` at V = 10,000, d = 200 on the first local shard (2 cores,
three rounds, paired): ``"exact"`` 1.6-1.8x (3.6 -> 6.2 M pairs/s, 1 thread, B = 250k + 250k),
SGNS 1.6-2.0x, uniform 1.2-1.6x, the paper's sampler 1.0-1.4x (2 threads, B = 50k + 50k).

Every block draws its random numbers from its own splitmix64 stream seeded by
``(seed, step, block)``, so the draws of a step do not depend on the number of threads; the
blocks of a step run in parallel (``prange``, or the threads of :func:`_exact_cells`; Hogwild:
racy row updates, no locks). One thread gives a deterministic run.

``frozen=False``: sequential per-pair SGD on ``W`` (in place; ``G`` unused). ``frozen=True``:
``W`` is only read and the updates are added to ``G``: with a zero ``G`` and ``n = 1``, one
step's update with every pair's gradient taken at the fixed ``W`` (the tests' unbiasedness
check). The two are separate loops so that the in-place one vectorizes (a second array
argument that may alias ``W`` defeats LLVM's vectorizer).

Used in: :mod:`qwemlib.train._cpu` (the runner of :func:`qwemlib.train.train`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._atomic import fetch_add
from ._prefetch import prefetch_at, prefetch_row

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53

_TABLE_AHEAD = 16  # cells between a table prefetch and its load (_exact_cells)
_ROWS_AHEAD = 3  # cells (or pairs) between a row prefetch and its use

# loss kinds of _stream_steps
QWEM_UNIGRAM, QWEM_UNIFORM, SGNS = 0, 1, 2


@njit(inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always")
def _seed(seed, step, block):
    """The start state of block ``block`` of step ``step`` (independent of the thread count)."""
    s = _mix(np.uint64(seed) * _GOLD + np.uint64(0x5851F42D4C957F2D))
    s = _mix(s ^ (np.uint64(step) * _M1 + _GOLD))
    return _mix(s ^ (np.uint64(block) * _M2 + _GOLD))


@njit(inline="always")
def _uniform(s):
    """``(state, u)`` with ``u`` uniform on ``[0, 1)`` (53 bits; splitmix64)."""
    s = s + _GOLD
    return s, np.float64(_mix(s) >> np.uint64(11)) * _INV53


@njit(inline="always")
def _randint(s, n):
    s, u = _uniform(s)
    return s, min(np.int64(u * n), n - 1)


@njit(inline="always")
def _alias(s, accept, alias):
    """One draw from the Walker/Vose table ``(accept, alias)`` (as :mod:`._alias` on the device)."""
    s, k = _randint(s, accept.shape[0])
    s, u = _uniform(s)
    return s, (k if u < accept[k] else np.int64(alias[k]))


@njit(inline="always")
def _dot(a, W, j):
    x = a[0] * W[j, 0]
    for k in range(1, a.shape[0]):
        x += a[k] * W[j, k]
    return x


@njit(inline="always")
def _fprime(kind, sgn, x, w):
    """``(f(x), f'(x))`` of one pair: QWEM ``w (x^2/4 + sgn x)``; SGNS ``w softplus(sgn x)``."""
    if kind == SGNS:
        z = sgn * x
        e = np.exp(-abs(z))
        sp = max(z, 0.0) + np.log1p(e)
        sig = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)  # sigmoid(z)
        return w * sp, w * sgn * sig
    return w * (0.25 * x * x + sgn * x), w * (0.5 * x + sgn)


@njit(inline="always")
def _pair(W, G, frozen, crow, acc, j, g, gbuf):
    """``acc -= g W_j`` (the centre's buffered update) and ``W_j -= g c`` (``c`` the centre row)."""
    gbuf[0] = g
    gf = gbuf[0]
    if frozen:
        for k in range(crow.shape[0]):
            acc[k] -= gf * W[j, k]
            G[j, k] -= gf * crow[k]
    else:
        for k in range(crow.shape[0]):
            acc[k] -= gf * W[j, k]
            W[j, k] -= gf * crow[k]


@njit(inline="always")
def _free_pair(W, G, frozen, i, j, g, gbuf):
    """One pair without a centre row, ``x = W_i . W_j`` returned: ``W_i -= g W_j``, ``W_j -= g W_i``.

    The old rows on both sides (``i == j``: both updates, one after the other). In place the
    dot and the two updates are one pass over the rows (1.2x faster than a dot, then the
    update, at V = 10,000, d = 200); ``i == j`` apart, so that the pass vectorizes.
    """
    gbuf[0] = 0
    x = gbuf[0]  # the dot in W's dtype, as the pass's other arithmetic
    gbuf[0] = g
    gf = gbuf[0]
    if frozen:
        for k in range(W.shape[1]):
            x += W[i, k] * W[j, k]
            G[i, k] -= gf * W[j, k]
            G[j, k] -= gf * W[i, k]
    elif i == j:
        for k in range(W.shape[1]):
            ri = W[i, k]
            x += ri * ri
            t = ri - gf * ri
            W[i, k] = t - gf * ri
    else:
        for k in range(W.shape[1]):
            ri = W[i, k]
            rj = W[j, k]
            x += ri * rj
            W[i, k] = ri - gf * rj
            W[j, k] = rj - gf * ri
    return x


@njit(fastmath=True, parallel=True, cache=True, nogil=True)
def _stream_steps(W, G, frozen, ids, offsets, psi, acc_w, kind, etas, step0, seed, n_c, block, dyn, L,
                  pos_coef, n_negc, neg_coef, neg_i, neg_alias, neg_scale, lane_loss, lane_pairs):
    """``len(etas)`` steps of the stream walk on ``T = len(lane_loss)`` lanes (threads).

    Lane ``t`` runs the blocks ``t, t + T, ...`` of every step in turn, with no barrier
    between steps inside the call (Hogwild); ``lane_loss[t, s]`` and ``lane_pairs[t, s]`` get
    its share of step ``s``'s loss and pair count. A lane stops at a non-finite loss.
    ``psi`` (V, V): QWEM's ``Psi`` (SGNS: unused); ``acc_w`` (V,): SGNS's ``Pacc`` (QWEM:
    unused). ``pos_coef = c / B+`` per positive pair, ``neg_coef = 1 / B-`` per negative pair
    (times ``neg_scale_i neg_scale_j`` for ``QWEM_UNIFORM``). Negatives: ``i`` the centre and
    ``j`` from the alias table ``(neg_i, neg_alias)`` (QWEM_UNIGRAM, SGNS), or ``i2`` uniform
    once per centre and each ``j`` uniform (QWEM_UNIFORM).
    """
    N = ids.shape[0]
    V = W.shape[0]
    d = W.shape[1]
    n_blocks = (n_c + block - 1) // block
    T = lane_loss.shape[0]
    for t in prange(T):
        crow = np.empty(d, W.dtype)
        acc = np.empty(d, W.dtype)
        crow2 = np.empty(d, W.dtype)
        acc2 = np.zeros(d, W.dtype)
        i2 = 0
        gbuf = np.empty(1, W.dtype)
        js = np.empty(2 * L + n_negc, np.int64)
        ws = np.empty(2 * L + n_negc, np.float64)
        for s in range(etas.shape[0]):
            eta = etas[s]
            step = step0 + s
            loss = 0.0
            pairs = 0.0
            for b in range(t, n_blocks, T):
                st = _seed(seed, step, b)
                st, p = _randint(st, N)
                a = np.searchsorted(offsets, p, side="right") - 1
                m = min(block, n_c - b * block)
                for _ in range(m):
                    while offsets[a + 1] <= p:
                        a += 1
                    lo = offsets[a]
                    hi = offsets[a + 1]
                    i = np.int64(ids[p])
                    for k in range(d):
                        crow[k] = W[i, k]
                        acc[k] = 0.0
                    bw = L
                    if dyn:
                        st, bw = _randint(st, L)
                        bw += 1
                    # first the pairs' indices and weights (their random loads overlap), then the updates
                    npos = 0
                    for o in range(-bw, bw + 1):
                        q = p + o
                        if o == 0 or q < lo or q >= hi:
                            continue
                        j = np.int64(ids[q])
                        js[npos] = j
                        ws[npos] = pos_coef * (acc_w[i] * acc_w[j] if kind == SGNS else psi[i, j])
                        npos += 1
                    nt = npos
                    if kind == QWEM_UNIFORM:  # one uniform row i2 for the centre's negatives, buffered
                        st, i2 = _randint(st, V)
                        for k in range(d):
                            crow2[k] = W[i2, k]
                            acc2[k] = 0.0
                    for _k in range(n_negc):
                        if kind == QWEM_UNIFORM:
                            st, j = _randint(st, V)
                            ws[nt] = neg_coef * neg_scale[i2] * neg_scale[j] * psi[i2, j]
                        else:
                            st, j = _alias(st, neg_i, neg_alias)
                            ws[nt] = neg_coef * (acc_w[i] * acc_w[j] if kind == SGNS else psi[i, j])
                        js[nt] = j
                        nt += 1
                    for u in range(nt):
                        j = js[u]
                        if u + _ROWS_AHEAD < nt:
                            prefetch_row(W, js[u + _ROWS_AHEAD])
                        if u >= npos and kind == QWEM_UNIFORM:
                            f, fp = _fprime(kind, 1.0, _dot(crow2, W, j), ws[u])
                            _pair(W, G, frozen, crow2, acc2, j, eta * fp, gbuf)
                        else:
                            f, fp = _fprime(kind, -1.0 if u < npos else 1.0, _dot(crow, W, j), ws[u])
                            _pair(W, G, frozen, crow, acc, j, eta * fp, gbuf)
                        loss += f
                    pairs += nt
                    for k in range(d):
                        if frozen:
                            G[i, k] += acc[k]
                        else:
                            W[i, k] += acc[k]
                    if kind == QWEM_UNIFORM:
                        for k in range(d):
                            if frozen:
                                G[i2, k] += acc2[k]
                            else:
                                W[i2, k] += acc2[k]
                    p += 1
                    if p == N:
                        p = 0
                        a = 0
            lane_loss[t, s] = loss
            lane_pairs[t, s] = pairs
            if not np.isfinite(loss):
                break


@njit(fastmath=True, cache=True, nogil=True)
def _exact_apply(W, G, frozen, D, col, eta):
    """The exact terms' update of ``"exact"``'s step: ``W -= eta (D + 2 * 1 col)`` (or into ``G``).

    ``D = W_s (W_s^T W_s)`` and ``col = 1^T W_s`` at the step's start ``W_s``
    (:func:`qwemlib.train._cpu.exact_terms`), applied after the step's cells.
    """
    for r in range(W.shape[0]):  # explicit loops: G is a (1, 1) dummy unless frozen
        for k in range(W.shape[1]):
            u = eta * (D[r, k] + 2.0 * col[k])
            if frozen:
                G[r, k] -= u
            else:
                W[r, k] -= u


@njit(fastmath=True, cache=True, nogil=True)
def _exact_cells(W, G, frozen, table, eta, step, seed, n_cells, block, counter):
    """The sampled part of one ``"exact"`` step, run by each of the step's threads at once.

    The ``n_cells`` cells come in blocks of ``block``; a thread takes the next block from
    ``counter[0]`` (:func:`._atomic.fetch_add`, zeroed by the caller) until none is left, so
    the threads share the step however fast each runs (Hogwild, as the stream walk). Block
    ``b`` draws its cells ``k ~ U{0..K-1}`` from its own stream ``(seed, step, b)``, in the
    record table (``table[k].cell``, ``table[k].w``: :func:`qwemlib.train._cpu.cell_table`,
    one cache line per draw), each the pair ``(cell // V, cell % V)`` with the linear term's
    per-pair gradient ``-2 w / n_cells``. Returns this thread's part of ``-2 mean(w x)``, the
    sampled term of the loss ``(1/4)||W^T W||^2 + ||W^T 1||^2 - 2 mean(w x)``.
    """
    V = W.shape[0]
    K = table.shape[0]
    n_blocks = (n_cells + block - 1) // block
    coef = -2.0 / n_cells
    gbuf = np.empty(1, W.dtype)
    ks = np.empty(block, np.int64)
    cs = np.empty(block, np.int64)
    cw = np.empty(block, np.float64)
    loss = 0.0
    while True:
        b = fetch_add(counter, 0, 1)
        if b >= n_blocks:
            break
        st = _seed(seed, step, b)
        m = min(block, n_cells - b * block)
        for u in range(m):  # the draws, then their table loads, prefetched _TABLE_AHEAD ahead
            st, k = _randint(st, K)
            ks[u] = k
        for u in range(m):
            if u + _TABLE_AHEAD < m:
                prefetch_at(table, ks[u + _TABLE_AHEAD])
            rec = table[ks[u]]
            cs[u] = rec.cell
            cw[u] = coef * rec.w
        part = 0.0
        for u in range(m):
            i = cs[u] // V
            j = cs[u] - i * V
            if u + _ROWS_AHEAD < m:  # the rows of the cell _ROWS_AHEAD ahead start loading now
                i1 = cs[u + _ROWS_AHEAD] // V
                prefetch_row(W, i1)
                prefetch_row(W, cs[u + _ROWS_AHEAD] - i1 * V)
            part += cw[u] * _free_pair(W, G, frozen, i, j, eta * cw[u], gbuf)
        loss += part
    return loss
