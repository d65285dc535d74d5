"""Ctrl-C during training: stop at a consistent point, save a checkpoint, say where it is.

While :func:`qwemlib.train.train` runs in the main thread with Python's default SIGINT
handler, a first Ctrl-C only sets a flag (:class:`SigintDeferral`); the loop checks it
before each chunk of steps, where ``W``, the step, the records and the partial loss
accumulator agree, writes a checkpoint there (when ``TrainConfig.checkpoint_path`` is set)
and raises :class:`TrainingInterrupted`. A second Ctrl-C stops at once; the checkpoint is
then written only if the records are complete (else the last periodic one is kept).
Resuming from the checkpoint (``train(resume_from=...)``) gives the uninterrupted run's
``W`` and records bit for bit.

Used in: :func:`qwemlib.train.train`; ``qwem train`` (qwemlib/cli.py) turns
:class:`TrainingInterrupted` into the resume command and exit code 130.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np

from ._checkpoint import save_checkpoint


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C (a :class:`KeyboardInterrupt`).

    Attributes:
        step: the last completed step.
        steps: the run's total steps.
        checkpoint: the checkpoint to resume from (``None`` when none was written).
        checkpoint_step: the step that checkpoint holds (``None`` without one).
    """

    def __init__(self, message: str, *, step: int, steps: int, checkpoint: str | None,
                 checkpoint_step: int | None):
        super().__init__(message)
        self.step, self.steps = step, steps
        self.checkpoint, self.checkpoint_step = checkpoint, checkpoint_step

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SigintDeferral:
    """Turn the first SIGINT into a flag that :meth:`check` raises at a consistent point."""

    def __init__(self):
        self.hit = False
        self._old = None

    def install(self) -> SigintDeferral:
        # only the main thread may set handlers; a handler someone else installed stays theirs
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.hit:  # the second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.hit = True

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None


def interrupted(cfg, lead: bool, W, step: int, key_data, fp: str, recs, npdt, loss_acc: float,
                loss_n: int) -> TrainingInterrupted:
    """Write the checkpoint of the state at ``step`` (when consistent) and the exception to raise."""
    n = {len(recs.steps), len(recs.loss), len(recs.objective), len(recs.svals), len(recs.evals)}
    complete = len(n) == 1 and len(recs.snap_steps) == len(recs.snaps)
    if complete and recs.steps and recs.steps[-1] == step:
        loss_acc, loss_n = 0.0, 0  # stopped between a record and its accumulator reset
    path = cfg.checkpoint_path
    if lead and path is not None and complete:
        save_checkpoint(path, W, step, key_data, cfg, fp, recs, npdt, loss_acc=(loss_acc, loss_n))
    ck_step = None
    if path is not None and os.path.exists(path):
        with np.load(path, allow_pickle=False) as z:
            ck_step = int(z["step"])
    where = (f"checkpoint {path} holds step {ck_step}: resume with train(..., resume_from={path!r})"
             if ck_step is not None else
             "no checkpoint was written (set TrainConfig.checkpoint_path to get one)")
    return TrainingInterrupted(f"training interrupted at step {step} of {cfg.steps}; {where}",
                               step=step, steps=cfg.steps, checkpoint=path if ck_step is not None else None,
                               checkpoint_step=ck_step)
