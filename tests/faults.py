"""Fault-injection helpers shared by the tests/test_faults_*.py modules (issue 14.7).

:class:`FullDisk` makes the files :mod:`qwemlib._io` writes fail with ``ENOSPC`` (or a
``KeyboardInterrupt``) after a byte budget, so a full disk needs neither root nor a small
tmpfs; :class:`Proxy` stands in for a module with some attributes replaced.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from qwemlib import _io


class Proxy:
    def __init__(self, real, **override):
        self._real, self._override = real, override

    def __getattr__(self, name):
        return self._override.get(name) or getattr(self._real, name)


class _Limited:
    """A file object whose writes draw on a shared byte budget (then ENOSPC, or ``exc``)."""

    def __init__(self, fh, disk):
        self._fh, self._disk = fh, disk

    def write(self, data):
        n = len(data.encode() if isinstance(data, str) else data)
        if n > self._disk.left:
            self._disk.hits += 1
            raise self._disk.exc()
        self._disk.left -= n
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


class FullDisk:
    """Make the files ``qwemlib._io`` writes under ``under`` (all: ``None``) fail.

    The first ``skip_files`` such files are written in full; after them ``budget`` bytes
    in all, then every write raises ``OSError(ENOSPC)`` (or ``KeyboardInterrupt``).
    """

    def __init__(self, monkeypatch, *, budget=0, under=None, skip_files=0, interrupt=False):
        self.left, self.under, self.skip, self.hits = budget, under, skip_files, 0
        self.exc = KeyboardInterrupt if interrupt else (
            lambda: OSError(errno.ENOSPC, "No space left on device"))
        names = {}

        def mkstemp(*a, **k):
            fd, name = tempfile.mkstemp(*a, **k)
            names[fd] = name
            return fd, name

        def fdopen(fd, *a, **k):
            fh = os.fdopen(fd, *a, **k)
            name = Path(names.pop(fd, ""))
            if self.under is not None and Path(self.under).resolve() not in name.resolve().parents:
                return fh
            if self.skip > 0:
                self.skip -= 1
                return fh
            return _Limited(fh, self)

        monkeypatch.setattr(_io, "tempfile", Proxy(tempfile, mkstemp=mkstemp))
        monkeypatch.setattr(_io, "os", Proxy(os, fdopen=fdopen))
