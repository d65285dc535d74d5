"""Fault injection for qwemlib.data (issue 14.6, 14.7): the online paths, run for real.

A local HTTP server on 127.0.0.1 serves the evaluation sets in their canonical
published forms, built here from the real files in ../shared/data (MEN as
``MEN.tar.gz`` holding ``MEN/MEN_dataset_natural_form_full``, WordSim353 as
``wordsim353.zip`` with ``combined.csv`` at its top, SimLex-999 as ``SimLex-999.zip``
holding ``SimLex-999/SimLex-999.txt``, the Google analogies as plain text) and the
ci parquet shard. ``QWEM_DATA_MIRROR`` points the registry at it; the search path is
cut down to the download cache, so every file must come through the server. The
server counts requests and can drop a connection halfway, serve garbage or 404.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tarfile
import threading
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qwemlib import data

EVAL = ["google-analogies", "men", "wordsim353", "simlex999"]
SHARD = "wikipedia/20150523.en-ci/train-00000-of-00001.parquet"


def _published() -> dict[str, bytes]:
    """Mirror path -> bytes, in the published formats, from the real files."""
    real = {n: data.path(n) for n in [*EVAL, SHARD]}

    def tar_gz(members: dict[str, Path]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for arc, src in members.items():
                tar.add(src, arcname=arc)
        return buf.getvalue()

    def zip_of(members: dict[str, Path]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for arc, src in members.items():
                zf.write(src, arc)
        return buf.getvalue()

    men, ws, sl = real["men"].parent, real["wordsim353"].parent, real["simlex999"].parent
    return {
        "/eval/google-analogies/questions-words.txt": real["google-analogies"].read_bytes(),
        "/eval/men/MEN.tar.gz": tar_gz({"MEN/MEN_dataset_natural_form_full": real["men"],
                                        "MEN/instructions.txt": men / "instructions.txt",
                                        "MEN/licence.txt": men / "licence.txt"}),
        "/eval/wordsim353/wordsim353.zip": zip_of({"combined.csv": real["wordsim353"],
                                                   "instructions.txt": ws / "instructions.txt"}),
        "/eval/simlex999/SimLex-999.zip": zip_of({"SimLex-999/SimLex-999.txt": real["simlex999"],
                                                  "SimLex-999/README.txt": sl / "README.txt"}),
        f"/{SHARD}": real[SHARD].read_bytes(),
    }


class Mirror:
    """A threaded HTTP server with per-path request counts and injectable faults."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: Counter = Counter()
        self.drop = Counter()  # path -> how many more responses to cut off halfway
        self.ranges: list = []  # (path, first byte asked for) of each Range request
        self.served = Counter()  # path -> body bytes sent
        self.honour_range = True
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                mirror.requests[path] += 1
                body = mirror.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                if rng and mirror.honour_range:   # "bytes=N-": the rest of the file from byte N
                    first = int(rng.split("=")[1].split("-")[0])
                    mirror.ranges.append((path, first))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {first}-{len(body) - 1}/{len(body)}")
                    body = body[first:]
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mirror.drop[path] > 0:
                    mirror.drop[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    mirror.served[path] += len(body) // 2
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
                mirror.served[path] += len(body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def total(self) -> int:
        return sum(self.requests.values())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def published():
    return _published()


@pytest.fixture()
def mirror(published, tmp_path, monkeypatch):
    """The mirror, with the registry pointed at it and nothing else to find files in."""
    import pooch.core

    m = Mirror(published)
    monkeypatch.setenv("QWEM_DATA_MIRROR", m.url + "/")
    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QWEM_OFFLINE", "0")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("QWEM_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "search_dirs", lambda: [tmp_path / "nowhere", data.cache_dir() / "data"])
    monkeypatch.setattr(pooch.core.time, "sleep", lambda s: None)  # pooch's retry back-off
    yield m
    m.close()


def _no_debris(root: Path):
    """Nothing half-written: no temporary files anywhere under ``root``."""
    left = [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith("tmp")]
    assert not left, left


def read_only(folder, monkeypatch):
    """Make ``folder`` read-only: chmod 0o500, or as root (which ignores modes) refuse its temp files."""
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return lambda: folder.chmod(0o700)
    real = tempfile.mkstemp

    def denied(*a, dir=None, **k):
        if dir is not None and str(dir).startswith(str(folder)):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    return lambda: None


def _mirror_path(name: str) -> str:
    return "/" + data.download_url(name).split("/", 3)[3]


# --------------------------------------------------------------------------- downloads that work


@pytest.mark.fault("online")
@pytest.mark.parametrize("name", [*EVAL, SHARD])
def test_download_extract_verify_and_cache(mirror, name):
    """Fetched once in its published form, extracted, verified; the second call is served locally."""
    p = data.path(name)
    assert p == data.cache_dir() / "data" / data.REGISTRY[name].relpath
    assert data.sha256_of(p) == data.REGISTRY[name].sha256
    assert mirror.requests[_mirror_path(name)] == 1
    before = mirror.total()
    assert data.path(name) == p
    assert mirror.total() == before  # cached: the server is not asked again
    _no_debris(data.cache_dir())


@pytest.mark.fault("online")
@pytest.mark.parametrize("name", ["men", "google-analogies"])
def test_connection_dropped_halfway_once_is_retried(mirror, name):
    mirror.drop[_mirror_path(name)] = 1
    p = data.path(name)
    assert data.sha256_of(p) == data.REGISTRY[name].sha256
    assert mirror.requests[_mirror_path(name)] == 2
    _no_debris(data.cache_dir())


@pytest.mark.fault("online")
@pytest.mark.parametrize("honour_range", [True, False])
def test_a_dropped_download_resumes_where_it_stopped(mirror, published, honour_range):
    """The second try asks only for the bytes the first did not deliver (HTTP Range); a server
    that ignores Range (status 200) is read again from the start. No .part is left either way."""
    path = _mirror_path("men")
    mirror.drop[path], mirror.honour_range = 1, honour_range
    p = data.path("men")
    assert data.sha256_of(p) == data.REGISTRY["men"].sha256
    size = len(published[path])
    assert mirror.requests[path] == 2
    if honour_range:
        assert mirror.ranges == [(path, size // 2)] and mirror.served[path] == size
    else:
        assert mirror.ranges == [] and mirror.served[path] == size + size // 2
    assert not list(data.cache_dir().rglob("*.part"))
    _no_debris(data.cache_dir())


@pytest.mark.fault("online")
def test_leftover_truncated_archive_is_downloaded_again(mirror, published):
    store = data.cache_dir() / "downloads" / "eval" / "men"
    store.mkdir(parents=True)
    (store / "MEN.tar.gz").write_bytes(published["/eval/men/MEN.tar.gz"][:1000])  # an old partial copy
    with pytest.warns(UserWarning, match=r"MEN.tar.gz could not be unpacked.*downloading it again"):
        p = data.path("men")
    assert data.sha256_of(p) == data.REGISTRY["men"].sha256
    assert mirror.requests["/eval/men/MEN.tar.gz"] == 1


@pytest.mark.fault("online")
def test_leftover_truncated_plain_file_is_replaced(mirror, published):
    path = "/eval/google-analogies/questions-words.txt"
    store = data.cache_dir() / "downloads" / "eval" / "google-analogies"
    store.mkdir(parents=True)
    (store / "questions-words.txt").write_bytes(published[path][:500])
    p = data.path("google-analogies")
    assert data.sha256_of(p) == data.REGISTRY["google-analogies"].sha256
    assert mirror.requests[path] == 1


@pytest.mark.fault("online")
def test_corrupt_download_advice_works(mirror):
    """The old advice ("delete it and get a fresh copy") repeated the failure; now it works."""
    p = data.path("men")
    p.write_bytes(p.read_bytes() + b"tampered 1 1\n")
    with pytest.raises(data.CorruptDataError, match=r"Delete it and call again to download it afresh") as exc:
        data.path("men")
    assert str(p) in str(exc.value)
    p.unlink()
    assert data.sha256_of(data.path("men")) == data.REGISTRY["men"].sha256


# --------------------------------------------------------------------------- downloads that fail


def _fails(name, exc_type, *patterns):
    with pytest.raises(exc_type) as exc:
        data.path(name)
    msg = str(exc.value)
    assert repr(name) in msg
    for pat in patterns:
        assert pat in msg, (pat, msg)
    assert not (data.cache_dir() / "data" / data.REGISTRY[name].relpath).exists()
    _no_debris(data.cache_dir())
    return msg


@pytest.mark.fault("online")
@pytest.mark.parametrize("name", [*EVAL, SHARD])
def test_offline_never_touches_the_network(mirror, monkeypatch, name):
    monkeypatch.setenv("QWEM_OFFLINE", "1")
    _fails(name, data.MissingDataError, "QWEM_OFFLINE=1", "Unset QWEM_OFFLINE", "QWEM_DATA_DIR")
    assert mirror.total() == 0


@pytest.mark.fault("online")
def test_offline_hub_corpus_is_refused_at_once(monkeypatch):
    import sys
    import types

    from qwemlib import corpus

    calls = []
    fake = types.ModuleType("datasets")
    fake.load_dataset = lambda *a, **k: calls.append(a)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    monkeypatch.setenv("QWEM_OFFLINE", "1")
    with pytest.raises(corpus.CorpusError, match=r"QWEM_OFFLINE=1 forbids the network.*local sample"):
        corpus.load_corpus("wikimedia/wikipedia:20231101.en", 100, cache=False, progress=False)
    assert calls == []  # the Hub was never asked (it used to retry for 26 s)


@pytest.mark.fault("online")
def test_not_on_the_mirror(mirror):
    mirror.files.pop("/eval/simlex999/SimLex-999.zip")
    _fails("simlex999", data.MissingDataError, "404", "SimLex-999.zip", "QWEM_DATA_DIR")


@pytest.mark.fault("online")
def test_connection_always_dropped(mirror):
    mirror.drop["/eval/men/MEN.tar.gz"] = 99
    _fails("men", data.MissingDataError, "MEN.tar.gz", "failed", "Check the network")
    assert mirror.requests["/eval/men/MEN.tar.gz"] == 3  # pooch's retries, then a clear error


@pytest.mark.fault("online")
def test_no_server_at_all(mirror, monkeypatch):
    mirror.close()
    _fails("wordsim353", data.MissingDataError, "wordsim353.zip", "Check the network")


@pytest.mark.fault("online")
def test_plain_file_with_wrong_bytes(mirror):
    mirror.files["/eval/google-analogies/questions-words.txt"] = b": capital\nathens greece oslo norway\n"
    _fails("google-analogies", data.CorruptDataError, "does not match", "nothing was kept")


@pytest.mark.fault("online")
def test_archive_member_with_wrong_bytes(mirror, published, tmp_path):
    fake = tmp_path / "MEN_dataset_natural_form_full"
    fake.write_text("sun sunlight 50\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(fake, arcname="MEN/MEN_dataset_natural_form_full")
    mirror.files["/eval/men/MEN.tar.gz"] = buf.getvalue()
    _fails("men", data.CorruptDataError, "has sha256", "discarded")
    assert not (data.cache_dir() / "downloads" / "eval" / "men" / "MEN.tar.gz").exists()


@pytest.mark.fault("online")
def test_archive_without_the_member(mirror, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("SimLex-999/README.txt", "no data here\n")
    mirror.files["/eval/simlex999/SimLex-999.zip"] = buf.getvalue()
    _fails("simlex999", data.MissingDataError, "holds no 'SimLex-999/SimLex-999.txt'")


@pytest.mark.fault("online")
def test_error_page_instead_of_archive(mirror):
    mirror.files["/eval/men/MEN.tar.gz"] = b"<html>Moved</html>"
    with pytest.warns(UserWarning, match="could not be unpacked"):
        _fails("men", data.MissingDataError, "MEN.tar.gz", "failed")


@pytest.mark.fault("disk")
def test_disk_full_while_copying_the_download(mirror, monkeypatch):
    real = shutil.copyfileobj

    def full(src, dst, length=0):
        dst.write(src.read(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    _fails("men", data.MissingDataError, "No space left on device", "QWEM_DATA_DIR")
    monkeypatch.setattr(shutil, "copyfileobj", real)
    assert data.sha256_of(data.path("men")) == data.REGISTRY["men"].sha256  # the next call recovers


@pytest.mark.fault("disk")
def test_read_only_cache(mirror, monkeypatch, tmp_path):
    ro = tmp_path / "ro"
    restore = read_only(ro, monkeypatch)
    monkeypatch.setenv("QWEM_CACHE_DIR", str(ro))
    try:
        with pytest.raises(data.MissingDataError,
                           match=r"(?s)'men'.*(Permission denied|Cannot write).*QWEM_DATA_DIR"):
            data.path("men")
        assert not [p for p in ro.joinpath("data").rglob("*") if p.is_file()]  # nothing half-copied
    finally:
        restore()


# --------------------------------------------------------------------------- bad names and files


@pytest.mark.fault("input")
@pytest.mark.parametrize("name", ["no-such-file", "MEN", "eval/men/MEN_dataset_natural_form_full"])
def test_unknown_name_lists_the_registered_ones(name):
    with pytest.raises(KeyError, match="registered names: .*google-analogies"):
        data.path(name)


@pytest.mark.fault("input")
@pytest.mark.parametrize("name", ["wordsim353", SHARD])
def test_corrupt_local_file_names_it_and_the_remedy(tmp_path, monkeypatch, name):
    dst = tmp_path / data.REGISTRY[name].relpath
    dst.parent.mkdir(parents=True)
    shutil.copy(data.path(name), dst)
    with open(dst, "r+b") as fh:  # same size, one byte changed
        fh.seek(10)
        b = fh.read(1)
        fh.seek(10)
        fh.write(bytes([b[0] ^ 1]))
    monkeypatch.setenv("QWEM_DATA_DIR", str(tmp_path))
    with pytest.raises(data.CorruptDataError, match="sha256") as exc:
        data.path(name)
    assert str(dst) in str(exc.value) and ("QWEM_DATA_DIR" in str(exc.value) or "Replace" in str(exc.value)
                                           or "Delete" in str(exc.value))


@pytest.mark.fault("online")
def test_registered_corpus_through_the_mirror(mirror):
    """Without a local copy, the ci corpus's shard comes from the mirror, verified, then tokenized."""
    from qwemlib import corpus

    c = corpus.load_corpus("wikipedia/20150523.en-ci", 50, max_tokens=2000, progress=False)
    assert c.vocab.words[0] == "the" and c.n_raw_tokens >= 2000
    assert mirror.requests[f"/{SHARD}"] == 1
    again = corpus.load_corpus("wikipedia/20150523.en-ci", 50, max_tokens=2000, progress=False)
    assert again.n_tokens == c.n_tokens and mirror.total() == 1
