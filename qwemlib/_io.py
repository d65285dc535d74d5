"""Atomic writes and tolerant reads of ``.npz`` and JSON files (private; the bottom layer).

Every file the library writes (token and co-occurrence caches, training checkpoints,
saved embeddings, stored results) goes through :func:`atomic_write`: the bytes are
written to a temporary file in the destination's folder and moved into place with
:func:`os.replace`, so a reader sees the old file or the new one, never half of one,
and an interrupted write leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

# The process umask, read once at import (reading it means setting it, briefly).
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success move it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_savez(path: str | os.PathLike, *, compressed: bool = False, **arrays) -> None:
    """Write ``arrays`` to ``path`` as an ``.npz`` archive, atomically."""
    save = np.savez_compressed if compressed else np.savez
    with atomic_write(path, "wb") as fh:
        save(fh, **arrays)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, atomically."""
    with atomic_write(path, "w") as fh:
        fh.write(text)


def atomic_write_json(path: str | os.PathLike, obj, *, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON to ``path``, atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def try_load_npz(path: str | os.PathLike, required: Sequence[str], *, what: str = "cache file",
                 rebuild: str = "it will be rebuilt") -> dict[str, np.ndarray] | None:
    """Load the arrays ``required`` from a cache archive, or ``None`` if it cannot serve.

    A missing file gives ``None`` silently. A damaged one (truncated, not a zip, a
    missing key) gives ``None`` with a warning that names it, and is deleted so that
    the caller's rebuild replaces it.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in required}
    except Exception as exc:  # truncated, not a zip, missing keys, ...
        warnings.warn(f"{what} {path} is damaged ({type(exc).__name__}: {exc}); {rebuild}",
                      stacklevel=3)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
