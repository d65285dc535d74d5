"""Shared by the training tests (tests/test_train.py, tests/test_train_cpu.py): a tiny corpus.

200 tokens, V = 8, 4 articles (one of length 10), window 3; and the brute-force
skip-gram distribution over it (docs/CONVENTIONS.md's positive-pair definition).
"""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import train as T

V, N, L = 8, 200, 3


def tiny_corpus():
    """``(ids, offsets)``: a skewed unigram law so the pair weights differ; every word occurs."""
    rng = np.random.default_rng(0)
    p = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])
    ids = rng.choice(V, size=N, p=p).astype(np.uint16)
    ids[:V] = np.arange(V)  # every word occurs
    off = np.array([0, 50, 60, 130, 200], dtype=np.int64)
    return ids, off


def brute_force_P(ids, off, window, weighting="word2vec"):
    """``(P_ij, P_i)`` by enumerating every (position, offset) pair inside each article."""
    j = np.arange(1, window + 1)
    w = (window + 1 - j) / ((window + 1) / 2) if weighting == "word2vec" else np.ones(window)
    C = np.zeros((V, V))
    for a in range(len(off) - 1):
        for p in range(off[a], off[a + 1]):
            for jj in range(1, window + 1):
                for q in (p - jj, p + jj):
                    if off[a] <= q < off[a + 1]:
                        C[ids[p], ids[q]] += w[jj - 1]
    return C / C.sum(), np.bincount(ids, minlength=V) / len(ids)


def interrupt_at_record(ids, off, P, cfg, n):
    """Train with checkpoints and stop with Ctrl-C (KeyboardInterrupt) at the ``n``-th record."""
    calls = []

    def interrupt(W):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return 0.0

    with pytest.raises(KeyboardInterrupt):
        T.train(ids, off, P, cfg, progress=False, evaluate_fn=interrupt)
    assert len(calls) == n


def interrupt_and_resume(ids, off, P, base: dict, ck: str):
    """Stop a checkpointed run by Ctrl-C at its 5th record (after the checkpoint at step 40),
    check that checkpoint, and resume it with another fusion length (``steps_per_call`` 13)."""
    interrupt_at_record(ids, off, P, T.TrainConfig(**base, checkpoint_path=ck, checkpoint_every=20), 5)
    assert T.load_checkpoint(ck)["step"] == 40
    return T.train(ids, off, P, T.TrainConfig(**{**base, "steps_per_call": 13}, checkpoint_path=ck,
                                              checkpoint_every=20), resume_from=ck, progress=False)
