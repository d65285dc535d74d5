"""Atomic writes and tolerant reads of ``.npz`` and JSON files (private; the bottom layer).

Every file the library writes (token and co-occurrence caches, training checkpoints,
saved embeddings, stored results) goes through :func:`atomic_write`: the bytes are
written to a temporary file in the destination's folder, flushed to the disk
(``fsync``) and moved into place with :func:`os.replace`, so a reader sees the old file
or the new one, never half of one, and an interrupted or failed write (a full disk)
leaves nothing behind.

A command's outputs go through :class:`RunFolder`: the folder is checked for
writability before any compute (:func:`check_writable`), the files are written into a
staging folder inside it and moved into place together with a ``manifest.json`` that
lists them, so a failed run leaves the earlier outputs as they were and no partial set.

Used in: every module that writes a file; :mod:`qwemlib.cli` (``qwem solve``/``train``
outputs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
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

    The bytes are flushed and ``fsync``-ed before the rename, and the folder after it,
    so that a crash right after the call does not leave an empty file under ``path``.
    On any exception (a full disk, an interrupt) the temporary file is removed and
    ``path`` is left as it was. The parent folder is created if needed. An ``OSError``
    that names no file (a full disk: ``write`` raises ``ENOSPC`` without a filename) is
    raised again, of the same type and errno, naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid in the name: a temporary left by a killed process is recognised as stale
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, f"{exc.strerror or exc} while writing {path} (it was left "
                          "as it was; free space there or write elsewhere)", str(path)) from exc
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # makes the rename durable; not possible everywhere (some file systems, Windows): best effort
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


class OutputError(OSError):
    """An output folder cannot be written, or writing a run's outputs failed.

    The message names the folder or file, the cause, and what to do.
    """


_WHAT_TO_DO = "choose another output folder (--out) or fix its permissions"


def check_writable(folder: str | os.PathLike) -> list[Path]:
    """Fail now, before any compute, unless new files can be written in ``folder``.

    Creates ``folder`` (and missing parents) and writes and removes a probe file there:
    a read-only folder or file system, a path through a regular file, or ``folder`` itself
    being a file raise :class:`OutputError` at once. A full disk cannot be foreseen this way.

    Returns:
        The folders this call created (deepest last), so that a caller can remove them
        if its run fails.
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"cannot be created: {existing} is a file"
        raise OutputError(f"output folder {folder} {where}, not a folder; choose another output "
                          f"folder (--out) or move {existing} away")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable ({existing}: permission denied); "
                          + _WHAT_TO_DO)
    created = [p for p in reversed((folder, *folder.parents)) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".qwem-probe-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(f"cannot write to output folder {folder} ({exc.strerror or exc}); "
                          + _WHAT_TO_DO) from exc
    return created


def _remove_empty(folders: Sequence[Path]) -> None:
    for p in reversed(list(folders)):
        with contextlib.suppress(OSError):
            p.rmdir()


_STALE = re.compile(r"[.-](\d+)-[A-Za-z0-9_]+\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries (files and staging folders) that killed processes left in ``folder``.

    :func:`atomic_write` and :class:`RunFolder` put the writer's pid in their temporary
    names (``.<name>.<pid>-<random>.tmp``); those of a process that no longer runs on this
    machine (SIGKILL, a crash, a power cut) are removed. Returns what was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    for p in folder.iterdir():
        m = _STALE.search(p.name)
        if p.name.startswith(".") and m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class RunFolder:
    """One run's outputs in one folder, all or nothing, with a ``manifest.json``.

    ``with RunFolder(out) as run:`` checks ``out`` (:func:`check_writable`) and opens a
    staging folder ``out/.qwem-run-*.tmp``; the run writes its files to ``run.stage`` (each
    atomically); :meth:`commit` writes ``manifest.json`` (the caller's fields plus
    ``files``: name, bytes and sha256 of each file of this run, and ``not_of_this_run``:
    every other entry already in ``out``, e.g. from an earlier run with other options,
    which is left in place, never deleted) and moves everything into ``out``. A run that
    fails or is interrupted before :meth:`commit` leaves ``out`` as it was (the staging
    folder is removed, and ``out`` too if this run created it and it is empty).

    Args:
        out: the output folder.
        keep: names in ``out`` that are the tool's own working state (e.g. checkpoints),
            not listed as ``not_of_this_run``.
    """

    MANIFEST = "manifest.json"

    def __init__(self, out: str | os.PathLike, *, keep: Sequence[str] = ()):
        self.out = Path(out)
        self.keep = tuple(keep)
        self.stage: Path | None = None
        self.files: list[Path] = []
        self._created: list[Path] = []

    def __enter__(self) -> RunFolder:
        self._created = check_writable(self.out)
        for folder in (self.out, *(self.out / k for k in self.keep)):
            remove_stale_temporaries(folder)
        try:
            self.stage = Path(tempfile.mkdtemp(prefix=f".qwem-run-{os.getpid()}-", suffix=".tmp",
                                               dir=self.out))
        except OSError as exc:
            _remove_empty(self._created)
            raise OutputError(f"cannot write to output folder {self.out} ({exc.strerror or exc}); "
                              + _WHAT_TO_DO) from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.stage is not None and self.stage.exists():
            shutil.rmtree(self.stage, ignore_errors=True)
        if exc_type is not None:
            _remove_empty(self._created)

    def commit(self, manifest: dict) -> dict:
        """Write the manifest and move this run's files into ``out``; returns the manifest."""
        assert self.stage is not None, "RunFolder.commit outside its with-block"
        names = sorted(f.name for f in self.stage.iterdir() if f.is_file())
        files = [{"name": n, "bytes": (self.stage / n).stat().st_size,
                  "sha256": sha256_file(self.stage / n)} for n in names]
        mine = {*names, self.MANIFEST, self.stage.name, *self.keep}
        others = sorted(f.name for f in self.out.iterdir() if f.name not in mine)
        manifest = dict(manifest) | {"files": files, "not_of_this_run": others}
        atomic_write_json(self.stage / self.MANIFEST, manifest)
        moved = []
        try:
            for n in [*names, self.MANIFEST]:
                os.replace(self.stage / n, self.out / n)
                moved.append(n)
        except OSError as exc:  # a rename in one folder: practically never fails
            raise OutputError(f"moving the outputs into {self.out} failed after {moved} "
                              f"({exc.strerror or exc}); rerun the command") from exc
        _fsync_dir(self.out)
        self.files = [self.out / n for n in names]
        return manifest
