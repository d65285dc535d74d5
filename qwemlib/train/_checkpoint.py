"""Checkpoints of a training run: what is written, read back and checked before resuming.

A checkpoint holds ``W``, the step, the PRNG key, the config (JSON), a fingerprint of the
tokens and everything recorded so far (:class:`_Records`). Step ``s`` of a run draws its
batch from ``fold_in(step_key, s)``, so a run resumed from a checkpoint reaches exactly the
``W`` of an uninterrupted run. Files are written atomically (:func:`qwemlib._io.atomic_savez`):
an interrupted write leaves the previous checkpoint intact.

Used in: :func:`qwemlib.train.train` (``TrainConfig.checkpoint_path``, ``resume_from``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .._io import atomic_savez
from ._config import CheckpointError, TrainConfig

_KEYS = ("W", "step", "key", "config", "fingerprint", "rec_steps", "rec_loss", "rec_objective",
         "rec_svals", "rec_eval", "snap_steps", "snapshots")


def load_checkpoint(path: str) -> dict:
    """Read a checkpoint written by :func:`train`; a corrupt file raises :class:`CheckpointError`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in _KEYS}
            acc = z["loss_acc"] if "loss_acc" in z.files else None  # absent in older checkpoints
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except Exception as e:  # zipfile.BadZipFile, KeyError, ValueError, EOFError, ...
        raise CheckpointError(
            f"checkpoint {path!r} is corrupt or not a qwemlib checkpoint ({type(e).__name__}: {e}); "
            "delete it and restart, or resume from an older copy"
        ) from e
    out["step"] = int(out["step"])
    # the partial loss accumulator since the last record: (sum, count)
    out["loss_acc"] = (0.0, 0) if acc is None else (float(acc[0]), int(acc[1]))
    out["config"] = json.loads(str(out["config"]))
    out["fingerprint"] = str(out["fingerprint"])
    return out


def _fingerprint(ids, off, V):
    # cheap but content-dependent: sizes plus a strided sample of the ids
    stride = max(1, ids.size // 4096)
    sample = ids[::stride].astype(np.int64)
    return json.dumps([int(ids.size), int(off.size - 1), int(V),
                       int((sample * np.arange(1, sample.size + 1)).sum() % (2**61 - 1))])


@dataclass
class _Records:
    """What a run has recorded so far (one entry per record step), as host lists."""

    steps: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    objective: list = field(default_factory=list)
    svals: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    snap_steps: list = field(default_factory=list)
    snaps: list = field(default_factory=list)

    @classmethod
    def from_checkpoint(cls, ck: dict) -> _Records:
        return cls(ck["rec_steps"].tolist(), ck["rec_loss"].tolist(), ck["rec_objective"].tolist(),
                   list(ck["rec_svals"]), ck["rec_eval"].tolist(), ck["snap_steps"].tolist(),
                   list(ck["snapshots"]))

    def singular_values(self) -> np.ndarray:
        return np.array(self.svals, np.float64).reshape(len(self.svals), -1)

    def snapshots(self, shape, dtype) -> np.ndarray:
        return np.array(self.snaps) if self.snaps else np.zeros((0, *shape), dtype)


def check_resumable(ck: dict, path: str, cfg: TrainConfig, fingerprint: str, shape) -> None:
    """Raise :class:`CheckpointError` unless ``ck`` continues this run (config, tokens, shape)."""
    mine = json.loads(cfg.to_json())
    # a field the checkpoint predates had its default value then (e.g. ``negatives``)
    defaults = json.loads(TrainConfig().to_json())
    diff = [k for k in mine if k not in TrainConfig._NON_TRAJECTORY
            and ck["config"].get(k, defaults[k]) != mine[k]]
    if diff:
        raise CheckpointError(f"checkpoint {path!r} was written with a different config "
                              f"(fields {diff}); resume with the same settings")
    if ck["fingerprint"] != fingerprint:
        raise CheckpointError(f"checkpoint {path!r} was written for different tokens "
                              "or vocabulary size; resume with that run's corpus and V, or start "
                              "afresh without resume_from")
    if ck["W"].shape != tuple(shape):
        raise CheckpointError(f"checkpoint {path!r} has W of shape {ck['W'].shape}, "
                              f"expected {tuple(shape)}")
    bad = int(np.sum(~np.isfinite(ck["W"])))
    if bad:  # a diverged run never writes one (its last good checkpoint is kept): a damaged file
        raise CheckpointError(f"checkpoint {path!r} holds {bad} non-finite weights (NaN or inf); "
                              "delete it and restart, or resume from an older copy")


def save_checkpoint(path: str, W, step: int, key_data, cfg: TrainConfig, fingerprint: str,
                    rec: _Records, dtype, *, loss_acc: tuple[float, int] = (0.0, 0)) -> None:
    """Write a checkpoint atomically; ``key_data`` is ``jax.random.key_data`` of the run's key.

    ``loss_acc`` is the sum of the batch losses since the last record and their count, so
    that a run resumed between two records gives the same mean loss at the next one.
    """
    atomic_savez(
        path, W=np.asarray(W), step=np.int64(step), key=np.asarray(key_data),
        loss_acc=np.array(loss_acc, np.float64),
        config=np.array(cfg.to_json()), fingerprint=np.array(fingerprint),
        rec_steps=np.array(rec.steps, np.int64), rec_loss=np.array(rec.loss, np.float64),
        rec_objective=np.array(rec.objective, np.float64), rec_svals=rec.singular_values(),
        rec_eval=np.array(rec.evals, np.float64), snap_steps=np.array(rec.snap_steps, np.int64),
        snapshots=rec.snapshots(np.shape(W), dtype),
    )
