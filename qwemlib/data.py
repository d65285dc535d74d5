"""Registry of the named data files the book and library read.

Every file is known by a short name, a path relative to a data directory, and
its sha256. :func:`path` looks for it, in order, in

1. ``$QWEM_DATA_DIR``,
2. ``../shared/data`` beside the project checkout (and beside the current
   working directory),
3. the download cache (``$QWEM_CACHE_DIR/data``, default ``~/.cache/qwem/data``),

verifies the checksum, and, if the file is nowhere and has a canonical online
home, downloads it into the cache (never when ``QWEM_OFFLINE=1``). A missing or
corrupt file raises an error naming the file, every place looked, and how to get it.
Downloads go through :mod:`pooch` (retries, temporary file, ``Untar``/``Unzip``; over
http(s) a dropped download resumes with a ``Range`` request, :mod:`qwemlib._download`):
each file is fetched in its published form (MEN as ``MEN.tar.gz``, WordSim353 and
SimLex-999 as zips) into ``$QWEM_CACHE_DIR/downloads/``, the registry's member is
extracted, checked against its sha256 and copied to ``$QWEM_CACHE_DIR/data/``.
``QWEM_DATA_MIRROR=<base url>`` fetches from a mirror instead, laid out as
``<base>/<folder of relpath>/<published name>`` (``<base>/eval/men/MEN.tar.gz``);
with a mirror the 2015 Wikipedia sample's shards can be downloaded too.

Corpora: ``wikipedia/20150523.en-ci`` and ``-sample`` are local parquet shards in
the Hugging Face ``wikimedia/wikipedia`` schema; ``wikimedia/wikipedia:20231101.en``
is the paper's corpus (Appendix A.1), streamed from the Hub by :mod:`qwemlib.corpus`.

Used by: :mod:`qwemlib.corpus`, :mod:`qwemlib.evaluate`, every chapter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import _io
from ._download import resuming_download

__all__ = [
    "DataFile", "RemoteCorpus", "REGISTRY", "CORPORA", "MissingDataError", "CorruptDataError",
    "search_dirs", "cache_dir", "path", "corpus_files", "is_remote_corpus", "sha256_of", "offline",
    "mirror", "download_url",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MissingDataError(FileNotFoundError):
    """A registered file was found in none of the search directories."""


class CorruptDataError(ValueError):
    """A registered file was found but its sha256 does not match the registry."""


@dataclass(frozen=True)
class DataFile:
    """One registered file.

    Attributes:
        name: registry name, e.g. ``"google-analogies"``.
        relpath: path relative to a data directory.
        sha256: expected checksum of the file's bytes.
        url: canonical download location, or ``None`` if it has none.
        member: for an archive download (``.tar.gz``, ``.zip``), the member to extract.
        how_to_get: a sentence for the error message when it cannot be found.
    """

    name: str
    relpath: str
    sha256: str
    url: str | None = None
    member: str | None = None
    how_to_get: str = ""


@dataclass(frozen=True)
class RemoteCorpus:
    """A corpus streamed with ``datasets.load_dataset`` (the paper's Wikipedia)."""

    name: str
    dataset: str
    config: str
    split: str = "train"


_CI = "wikipedia/20150523.en-ci"
_SAMPLE = "wikipedia/20150523.en-sample"
_SHARD_SHA = {f"{_CI}/train-00000-of-00001.parquet": "d748b5b6d84ee525088d5d01c6cba3bd7f99e6e3efa3484e2831"
                                                     "9dbed01babba"}
_SHARD_SHA.update({f"{_SAMPLE}/train-0000{i}-of-00006.parquet": sha for i, sha in enumerate((
    "ffa3d4f5a2f0a4631f6d010338cad9f3a4fbc181c9e5b9a5b6738bb3d8d61b7b",
    "8d1fd8c6e1c1e36444b65a194e42372b23d4bfcb054df4efa870a867a9817871",
    "4cc02613b7c85fd7192ae4f9d7b8c2c3afebc9050edb794b9db8d4aea18bc8d6",
    "3fd71e9e4646f20098e8a7ada8bda1bb9e7fcc903fe4b59b5c3a98ac6ab98e46",
    "fd8803081f15084e5b90b905ef063bb67f63bfc5edd70bff899c533f2ec0fe65",
    "9e0a6d10be68f5f5652e0647b47fd0fd0334197611032721f15dcefd70c81d4b",
))})
_SAMPLE_HOW = (
    "This 2015 Wikipedia sample is distributed with the project's shared data folder, "
    "not online: put that folder beside the checkout as ../shared/data or point "
    "QWEM_DATA_DIR at it. Online, use the paper's corpus from the Hugging Face Hub "
    "instead: QWEM_SCALE=hub (the ci sizes) or QWEM_SCALE=full (the paper's setting)."
)

REGISTRY: dict[str, DataFile] = {}
for _rel, _sha in _SHARD_SHA.items():
    REGISTRY[_rel] = DataFile(name=_rel, relpath=_rel, sha256=_sha, how_to_get=_SAMPLE_HOW)

#: The evaluation sets: name -> (relpath, sha256, url, zip member, how to get it).
_EVAL = {
    "google-analogies": (
        "eval/google-analogies/questions-words.txt",
        "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
        "https://raw.githubusercontent.com/tmikolov/word2vec/master/questions-words.txt",
        None,
        "Mikolov et al. (2013); also shipped in gensim's test data "
        "(gensim.test.utils.datapath('questions-words.txt')).",
    ),
    "men": (
        "eval/men/MEN_dataset_natural_form_full",
        "4596e169dd237228ca7701dde33585ca93263506ce7fca9de0f951aaab1aae36",
        "https://staff.fnwi.uva.nl/e.bruni/resources/MEN/MEN.tar.gz",
        "MEN/MEN_dataset_natural_form_full",
        "Bruni, Tran and Baroni (2014), http://clic.cimec.unitn.it/~elia.bruni/MEN "
        "(file MEN_dataset_natural_form_full).",
    ),
    "wordsim353": (
        "eval/wordsim353/combined.csv",
        "49ff6433ae68abe716fb66433fd870483e289a7a8c74531f59eca847d103fff3",
        "https://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/wordsim353.zip",
        "combined.csv",
        "Finkelstein et al. (2001), wordsim353.zip (file combined.csv).",
    ),
    "simlex999": (
        "eval/simlex999/SimLex-999.txt",
        "ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        "https://fh295.github.io/SimLex-999.zip",
        "SimLex-999/SimLex-999.txt",
        "Hill, Reichart and Korhonen (2015), SimLex-999.zip.",
    ),
}
for _name, (_rel, _sha, _url, _member, _how) in _EVAL.items():
    REGISTRY[_name] = DataFile(name=_name, relpath=_rel, sha256=_sha, url=_url, member=_member,
                               how_to_get=_how)

#: corpus name -> tuple of registry names (local shards) or a RemoteCorpus.
CORPORA: dict[str, tuple[str, ...] | RemoteCorpus] = {
    _CI: tuple(k for k in _SHARD_SHA if k.startswith(_CI + "/")),
    _SAMPLE: tuple(sorted(k for k in _SHARD_SHA if k.startswith(_SAMPLE + "/"))),
    "wikimedia/wikipedia:20231101.en": RemoteCorpus(
        name="wikimedia/wikipedia:20231101.en", dataset="wikimedia/wikipedia", config="20231101.en"
    ),
}


def cache_dir() -> Path:
    """Root of qwemlib's caches: ``$QWEM_CACHE_DIR`` or ``~/.cache/qwem``."""
    root = os.environ.get("QWEM_CACHE_DIR")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "qwem"


def offline() -> bool:
    """Whether ``QWEM_OFFLINE`` forbids every network access (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get("QWEM_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def mirror() -> str | None:
    """The base URL of ``$QWEM_DATA_MIRROR`` (no trailing slash), or ``None``."""
    base = os.environ.get("QWEM_DATA_MIRROR", "").strip().rstrip("/")
    return base or None


def search_dirs() -> list[Path]:
    """Directories searched for registered files, in order (see module docstring)."""
    dirs: list[Path] = []
    env = os.environ.get("QWEM_DATA_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    for base in (PROJECT_ROOT, Path.cwd()):
        cand = (base.parent / "shared" / "data").resolve()
        if cand not in dirs:
            dirs.append(cand)
    dirs.append(cache_dir() / "data")
    return dirs


_VERIFIED: dict[tuple, str] = {}


def sha256_of(file: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes.

    Memoised in the process on (path, device, inode, size, mtime_ns, ctime_ns): a
    rewrite changes the ctime even when size and mtime are kept, so it is hashed
    again. Nothing is memoised on disk: the 111 MB local sample hashes in ~0.3 s.
    """
    st = os.stat(file)
    key = (os.path.abspath(file), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = _io.sha256_file(file, chunk)
    return _VERIFIED[key]


def _published_name(entry: DataFile) -> str:
    return (entry.url or entry.relpath).rsplit("/", 1)[-1]


def download_url(name: str) -> str | None:
    """Where ``name`` is downloaded from: the mirror when ``QWEM_DATA_MIRROR`` is set, else its home.

    A mirror holds each file in its published form under the folder of its registry
    path (``<mirror>/eval/men/MEN.tar.gz``); without a mirror, a file with no online
    home (the 2015 Wikipedia sample) has no download URL.
    """
    entry = REGISTRY[name]
    base = mirror()
    if base:
        return f"{base}/{PurePosixPath(entry.relpath).parent}/{_published_name(entry)}"
    return entry.url


def _processor(entry: DataFile, fname: str):
    """pooch's extractor for the member of a ``.zip`` or (any other name) tar archive."""
    import pooch

    if entry.member is None:
        return None
    kind = pooch.Unzip if fname.endswith(".zip") else pooch.Untar
    return kind(members=[entry.member], extract_dir=fname + ".unpacked")


def _fetch(entry: DataFile, url: str) -> Path:
    """Download ``url`` with pooch into the download cache; the path of the (extracted) file."""
    import pooch

    store = cache_dir() / "downloads" / PurePosixPath(entry.relpath).parent
    fname = url.rsplit("/", 1)[-1] or _published_name(entry)
    # A plain file is checked by pooch against the registry; an archive's own checksum is not
    # pinned (the member inside is checked below, against the registry).
    known = None if entry.member is not None else entry.sha256
    fetcher = pooch.create(path=store, base_url="", registry={fname: known}, urls={fname: url},
                           retry_if_failed=2, allow_updates=True)
    progress = not os.environ.get("CI") and sys.stderr.isatty()
    for attempt in (1, 2):
        processor = _processor(entry, fname)
        try:
            got = fetcher.fetch(fname, processor=processor, progressbar=progress,
                                downloader=resuming_download if url.startswith("http") else None)
        except (OSError, EOFError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            if processor is None and not isinstance(exc, OSError):  # pooch: the hash does not match
                raise CorruptDataError(
                    f"data file {entry.name!r} downloaded from {url} does not match the registry's "
                    f"sha256 {entry.sha256}: the published file changed or the mirror serves another "
                    f"version; nothing was kept. {entry.how_to_get}") from exc
            # A leftover or truncated archive (or a damaged unpacked folder): start afresh once.
            if attempt == 2 or processor is None or not (store / fname).exists():
                raise
            warnings.warn(f"{store / fname} could not be unpacked ({type(exc).__name__}: {exc}); "
                          f"downloading it again from {url}", stacklevel=3)
            _discard(store, fname)
            continue
        if processor is None:
            return Path(got)
        hits = [Path(p) for p in got if Path(p).as_posix().endswith(entry.member)]
        if hits:
            return hits[0]
        _discard(store, fname)
        break
    raise MissingDataError(
        f"the archive downloaded from {url} holds no {entry.member!r} (data file {entry.name!r}); "
        f"the published archive changed or the mirror serves another file. Put "
        f"{entry.relpath} under QWEM_DATA_DIR by hand."
    )


def _discard(store: Path, fname: str) -> None:
    with contextlib.suppress(OSError):
        (store / fname).unlink()
    shutil.rmtree(store / (fname + ".unpacked"), ignore_errors=True)


def _download(entry: DataFile, url: str, dest: Path) -> None:
    """Fetch ``entry`` from ``url``, check the registry's sha256, copy it to ``dest`` atomically."""
    got = _fetch(entry, url)
    sha = sha256_of(got)
    if sha != entry.sha256:
        _discard(cache_dir() / "downloads" / PurePosixPath(entry.relpath).parent, url.rsplit("/", 1)[-1])
        raise CorruptDataError(
            f"data file {entry.name!r} downloaded from {url} has sha256 {sha}, expected "
            f"{entry.sha256}: the published file changed or the mirror serves another version. "
            f"The download was discarded. {entry.how_to_get}"
        )
    with open(got, "rb") as src, _io.atomic_write(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 22)


def _corrupt(name: str, entry: DataFile, cand: Path, got: str) -> CorruptDataError:
    url = download_url(name)
    where = (f"Delete it and call again to download it afresh from {url}." if url and not offline()
             else f"Replace it with the published file. {entry.how_to_get}")
    return CorruptDataError(f"data file {name!r} at {cand} is corrupt or a different version: "
                            f"sha256 {got} != expected {entry.sha256}. {where}")


def path(name: str, *, verify: bool = True, download: bool | None = None) -> Path:
    """Local path of the registered file ``name``, verified and downloaded if needed.

    Args:
        name: a key of :data:`REGISTRY` (e.g. ``"google-analogies"``).
        verify: check the sha256 (memoised, so repeated calls are cheap).
        download: allow a download when the file is found nowhere; default:
            allowed unless ``QWEM_OFFLINE=1`` (which no argument overrides).

    Raises:
        KeyError: ``name`` is not registered (the message lists the names).
        MissingDataError: the file is nowhere and cannot be downloaded.
        CorruptDataError: a found or downloaded file's checksum does not match.

    Example:
        >>> path("google-analogies").name
        'questions-words.txt'
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown data file {name!r}; registered names: {sorted(REGISTRY)}")
    entry = REGISTRY[name]
    looked = []
    for d in search_dirs():
        cand = d / entry.relpath
        looked.append(str(cand))
        if cand.is_file():
            if verify and (got := sha256_of(cand)) != entry.sha256:
                raise _corrupt(name, entry, cand, got)
            return cand
    url = download_url(name)
    if offline() and url:
        raise MissingDataError(
            f"data file {name!r} ({entry.relpath}) was not found (looked in: {', '.join(looked)}) "
            f"and QWEM_OFFLINE=1 forbids downloading it from {url}. Unset QWEM_OFFLINE to "
            f"download it, or set QWEM_DATA_DIR to a folder that contains {entry.relpath}."
        )
    if (download is None or download) and url:
        dest = cache_dir() / "data" / entry.relpath
        try:
            _download(entry, url, dest)
        except CorruptDataError:
            raise
        except Exception as exc:  # network errors, HTTP errors, bad archives, a full disk, ...
            raise MissingDataError(
                f"data file {name!r} was not found (looked in: {', '.join(looked)}) and "
                f"downloading it from {url} failed ({type(exc).__name__}: {exc}). {entry.how_to_get} "
                f"Check the network (or QWEM_DATA_MIRROR), or put {entry.relpath} under one of "
                f"those directories or under QWEM_DATA_DIR."
            ) from exc
        return path(name, verify=verify, download=False)
    raise MissingDataError(
        f"data file {name!r} ({entry.relpath}) was not found; looked in: {', '.join(looked)}. "
        f"{entry.how_to_get} Set QWEM_DATA_DIR to a folder that contains {entry.relpath}."
    )


def is_remote_corpus(name: str) -> bool:
    """Whether ``name`` is a corpus streamed from the Hugging Face Hub."""
    return isinstance(CORPORA.get(name), RemoteCorpus)


def corpus_files(name: str, *, verify: bool = True) -> list[Path]:
    """Local parquet shards of a registered corpus, in order.

    Raises:
        KeyError: unknown corpus (the message lists the known ones).
        ValueError: ``name`` is a remote corpus (stream it with :mod:`qwemlib.corpus`).
    """
    if name not in CORPORA:
        raise KeyError(f"unknown corpus {name!r}; known corpora: {sorted(CORPORA)}")
    spec = CORPORA[name]
    if isinstance(spec, RemoteCorpus):
        raise ValueError(f"corpus {name!r} is streamed from the Hub, it has no local files")
    return [path(n, verify=verify) for n in spec]
