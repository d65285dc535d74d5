"""Stored results: where they live, how they are read and written, and their provenance.

Long computations (SGD runs, gensim's epochs, every eigensolve of the local preset)
are done once by ``tools/make_results.py`` and stored under
``data/results/<preset>/``; chapters read them through this module. It is the one
place that knows the folder layout, the one reader of stored files (with a clear
error when a file is missing or lacks a key) and the one maker of provenance
records (commit, dirty flag, machine, date).

Used in: book/05_training.md, book/06_qwem_vs_word2vec.md, book/07_linear_structure.md,
``tools/make_results.py`` (through :mod:`qwemlib.experiments`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _io
from .config import Preset
from .data import PROJECT_ROOT

__all__ = [
    "ROOT", "SCHEMA", "TRAIN_RUNS", "TRAIN_RUN_FIELDS", "TRAIN_RUN_OPTIONAL", "train_keys",
    "TRAIN_META_KEYS", "merge_train_meta", "StoredResultError", "results_dir", "stored_path",
    "required_keys", "load_npz", "save_npz", "read_benchmark", "save_benchmark", "write_text",
    "replace_readme_section",
    "provenance", "stored_meta", "is_modified", "DIRTY_KEY", "CODE_PATHS", "git_commit",
    "git_dirty", "machine", "describe_source"]

#: ``data/results/`` of this checkout.
ROOT = PROJECT_ROOT / "data" / "results"

#: What ``tools/make_results.py`` and the book consider the code behind a stored result.
CODE_PATHS = ("qwemlib", "tools/make_results.py")


#: The runs of the ci ``train.npz`` (book/05; written by
#: :func:`qwemlib.experiments.train_against_theory`); other presets store the runs of their
#: plan (:data:`qwemlib.experiments.PLANS`), listed in ``benchmark.json``'s ``meta["sgd"]``.
TRAIN_RUNS = ("qwem-small", "qwem-w2v", "sgns-small", "sgns-w2v")
#: What ``train.npz`` holds for each run, as ``<run>/<field>``.
TRAIN_RUN_FIELDS = ("steps", "times", "loss", "objective", "singular_values", "analogy_accuracy",
                    "overlap", "overlap_k", "theory_t", "theory_s2", "theory_loss", "tau", "s0", "pc", "lr")
#: Per run, written since the local runs (older files lack them): the final ``(V, d)``
#: embeddings, float16, whose vocabulary is the file's ``words``.
TRAIN_RUN_OPTIONAL = ("W_final",)


def train_keys(runs) -> tuple[str, ...]:
    """The keys a ``train.npz`` holding ``runs`` must have (:data:`TRAIN_RUN_FIELDS` per run)."""
    return ("eigenvalues", "g_sgns", "pc_words", *(f"{r}/{f}" for r in runs for f in TRAIN_RUN_FIELDS))


#: The keys each stored file must hold; :func:`load_npz` checks them when given no
#: ``required``. The owners of the other stored files (``embeddings.npz``,
#: ``features.npz``, ``linear_structure.npz``, ``linear_sgd.npz``) add their entries here.
SCHEMA: dict[str, tuple[str, ...]] = {
    "train.npz": ("eigenvalues", "g_sgns", "pc_words"),  # and train_keys(runs) of meta["sgd"]
    "benchmark.json": ("rows", "meta"),
    "pmi_conventions.json": ("rows", "meta"),  # book/06's svd(PMI) conventions
}

#: The name under which stored metadata (``benchmark.json``'s ``meta``, ``linear_sgd.npz``'s
#: ``provenance``) records :func:`git_dirty`; book/07 reads it.
DIRTY_KEY = "library_modified_since_commit"


class StoredResultError(FileNotFoundError):
    """A stored result is missing, unreadable or lacks a key; the message says how to remake it."""


def _name(preset: Preset | str) -> str:
    return preset if isinstance(preset, str) else preset.name


def results_dir(preset: Preset | str) -> Path:
    """``data/results/<preset>/``."""
    return ROOT / _name(preset)


def stored_path(preset: Preset | str, filename: str, folder: str | os.PathLike | None = None) -> Path:
    """``data/results/<preset>/<filename>``, or ``<folder>/<filename>`` (it may not exist)."""
    return (Path(folder) if folder is not None else results_dir(preset)) / filename


def _remake(preset) -> str:
    return f"run `python tools/make_results.py --scale {_name(preset)}`"


def required_keys(filename: str) -> tuple[str, ...]:
    """The keys :data:`SCHEMA` declares for ``filename`` (none for an undeclared file)."""
    return SCHEMA.get(filename, ())


def load_npz(preset: Preset | str, filename: str, required: Sequence[str] | None = None, *,
             missing_ok: bool = False, folder: str | os.PathLike | None = None
             ) -> dict[str, np.ndarray] | None:
    """All arrays of a stored ``.npz`` file, checked to hold ``required``.

    Args:
        preset: the preset whose ``data/results/<preset>/`` holds the file.
        filename: e.g. ``"train.npz"``.
        required: keys the file must hold; ``None`` (default) means :data:`SCHEMA`'s.
        missing_ok: return ``None`` when the file does not exist.
        folder: read ``<folder>/<filename>`` instead (``make_results.py --out``).

    Raises:
        StoredResultError: a missing file (unless ``missing_ok``), a damaged one or one
            without a required key; the message names the file and the command that
            remakes it.
    """
    required = required_keys(filename) if required is None else required
    path = stored_path(preset, filename, folder)
    if not path.exists():
        if missing_ok:
            return None
        raise StoredResultError(f"{path} does not exist: {_remake(preset)}")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as exc:
        raise StoredResultError(f"{path} is damaged ({type(exc).__name__}: {exc}): "
                                f"{_remake(preset)}") from exc
    lacking = [k for k in required if k not in out]
    if lacking:
        raise StoredResultError(f"{path} lacks {lacking} (made by an older tools/make_results.py?): "
                                f"{_remake(preset)}")
    return out


def save_npz(path: str | os.PathLike, *, compressed: bool = True, **arrays) -> None:
    """Write a stored ``.npz`` atomically (:func:`qwemlib._io.atomic_savez`), compressed by default
    (as every file under ``data/results/`` is)."""
    _io.atomic_savez(path, compressed=compressed, **arrays)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a stored text file (a README) atomically."""
    _io.atomic_write_text(path, text)


def replace_readme_section(folder: str | os.PathLike, option: str, section: str) -> None:
    """Append ``section`` (``"## Appended by `<command>`..."``) to ``<folder>/README.md``, first
    removing the section an earlier run of the same ``make_results`` ``option`` (e.g.
    ``--only linear``) appended: the README describes the stored files as they are."""
    readme = Path(folder) / "README.md"
    text = readme.read_text() if readme.exists() else ""
    own = r"\n## Appended by `[^`]*" + re.escape(option) + r"`\n.*?(?=\n## |\Z)"
    text = re.sub(own, "", text, flags=re.S)
    write_text(readme, text.rstrip("\n") + "\n" + section)


def save_benchmark(path: str | os.PathLike, rows: list[dict], meta: dict) -> None:
    """Write ``benchmark.json`` (``{"rows": ..., "meta": ...}``, indent 1) atomically."""
    _io.atomic_write_text(path, json.dumps({"rows": rows, "meta": meta}, indent=1, default=str))


def read_benchmark(preset: Preset | str, *, folder: str | os.PathLike | None = None,
                   filename: str = "benchmark.json") -> tuple[list[dict], dict] | tuple[None, None]:
    """``(rows, meta)`` of ``benchmark.json`` (or another rows-and-meta JSON file, such as
    ``pmi_conventions.json``), or ``(None, None)`` when it is not stored.

    Raises:
        StoredResultError: the file is not JSON or lacks ``rows`` or ``meta``.
    """
    path = stored_path(preset, filename, folder)
    if not path.exists():
        return None, None
    try:
        b = json.loads(path.read_text())
    except ValueError as exc:
        raise StoredResultError(f"{path} is damaged ({exc}): {_remake(preset)}") from exc
    lacking = [k for k in required_keys(filename) if k not in b]
    if lacking:
        raise StoredResultError(f"{path} lacks {lacking}: {_remake(preset)}")
    return b["rows"], b["meta"]


# --------------------------------------------------------------------------- provenance


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """The checkout's ``HEAD`` commit, or ``"unknown"`` outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:  # not a checkout, no git
        return "unknown"


def git_dirty(paths: Sequence[str] = CODE_PATHS, root: Path = PROJECT_ROOT) -> bool:
    """Whether ``paths`` have uncommitted changes (``False`` outside a checkout)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", *paths], cwd=root,
                             capture_output=True, text=True, check=True).stdout
        return bool(out.strip())
    except Exception:
        return False


def _ram_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None


def machine() -> dict:
    """Cores, RAM, platform, processor, JAX's devices and the 1-minute load average."""
    import jax

    devs = jax.devices()
    d = devs[0]
    return {"cpu_count": os.cpu_count(), "ram_gib": _ram_gib(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "jax_device": f"{d.platform}:{getattr(d, 'device_kind', '')}",
            "jax_devices": [f"{x.platform}:{getattr(x, 'device_kind', '')}" for x in devs],
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg()[0]}


def provenance(command: str | None = None, *, paths: Sequence[str] = CODE_PATHS) -> dict:
    """One provenance record: command, commit, dirty flag (of ``paths``), machine and UTC date.

    Used by ``tools/make_results.py`` (through :func:`stored_meta`) and book/status.md.
    """
    out = {"commit": git_commit(), "dirty": git_dirty(paths), "machine": machine(),
           "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if command is not None:
        out["command"] = command
    return out


def stored_meta(command: str) -> dict:
    """:func:`provenance` in the layout stored files use: ``command``, ``commit``,
    :data:`DIRTY_KEY`, ``date_utc``, ``machine`` (in that order, as ``benchmark.json``'s ``meta``)."""
    p = provenance()
    return {"command": command, "commit": p["commit"], DIRTY_KEY: p["dirty"],
            "date_utc": p["date_utc"], "machine": p["machine"]}


#: What ``tools/make_results.py --only train`` remakes in ``benchmark.json``'s ``meta`` (the rest,
#: e.g. book/07's linear-structure timings, stays that of the full run that wrote the other files).
TRAIN_META_KEYS = ("corpus", "statistics_cached", "eigensolver", "gensim", "g_sgns", "sgd", "sgd_diverged",
                   "preset")


def merge_train_meta(old: dict | None, new: dict) -> tuple[dict, str]:
    """``(meta, note)``: the stored ``meta`` after a ``--only train`` run, and the README note.

    ``old``'s provenance stays at the top (it made the files this run leaves alone, such as
    ``linear_structure.npz``); :data:`TRAIN_META_KEYS` and the timings of this run replace
    theirs, and ``meta["train_run"]`` records this run's own provenance. With no ``old``
    (a first run into an empty folder) the new meta is returned as it is.
    """
    if not old:
        return new, f"Made by `{new['command']}` alone (no earlier full run in this folder)."
    meta = dict(old) | {k: new[k] for k in TRAIN_META_KEYS if k in new}
    meta["timings_s"] = dict(old.get("timings_s", {})) | new["timings_s"]
    run = {k: new[k] for k in ("command", "commit", DIRTY_KEY, "date_utc", "machine")}
    meta["train_run"] = run
    m = run["machine"]
    note = (f"`train.npz`, `features.npz` and the rows of `benchmark.json` were remade by `{run['command']}` "
            f"at commit `{run['commit']}`" + (" (library or script modified since that commit)"
                                             if run[DIRTY_KEY] else "")
            + f", {run['date_utc']}, {m['processor']}, {m['cpu_count']} cores, 1-min load average "
            f"{m['loadavg_start']:.1f} at start and {m.get('loadavg_end', float('nan')):.1f} at end "
            f"(shared machine); its wall times: "
            + "; ".join(f"{k} {v:.0f} s" for k, v in new["timings_s"].items())
            + ". The other files are those of the command above.")
    return meta, note


def is_modified(meta: dict) -> bool:
    """Whether a provenance record says the code had uncommitted changes (either layout)."""
    return bool(meta.get("dirty", meta.get(DIRTY_KEY, False)))


def describe_source(meta: dict, preset: Preset | str) -> str:
    """The lines a chapter prints to say where its stored numbers come from."""
    m = meta.get("machine", {})
    lines = [f"source: stored results in data/results/{_name(preset)}/ (see its README.md)",
             f"  command: {meta.get('command', '?')}",
             f"  commit: {meta.get('commit', '?')}" + (" (modified)" if is_modified(meta) else ""),
             f"  date: {meta.get('date_utc', '?')}"]
    if m:
        lines.append(f"  machine: {m.get('processor', '?')}, {m.get('cpu_count', '?')} cores, "
                     f"JAX on {m.get('jax_device', '?')}")
    return "\n".join(lines)
