"""Tests for qwemlib.data: the registry finds, verifies and reports files."""

import shutil

import pytest

from qwemlib import data


def test_every_registered_file_is_found_and_verified():
    for name in data.REGISTRY:
        p = data.path(name)
        assert p.is_file()
        assert data.sha256_of(p) == data.REGISTRY[name].sha256


def test_corpus_files_in_order():
    files = data.corpus_files("wikipedia/20150523.en-sample")
    assert [f.name for f in files] == [f"train-0000{i}-of-00006.parquet" for i in range(6)]
    assert len(data.corpus_files("wikipedia/20150523.en-ci")) == 1


def test_unknown_name_lists_registered_names():
    with pytest.raises(KeyError, match="google-analogies"):
        data.path("no-such-file")


def test_remote_corpus_has_no_local_files():
    assert data.is_remote_corpus("wikimedia/wikipedia:20231101.en")
    with pytest.raises(ValueError, match="streamed"):
        data.corpus_files("wikimedia/wikipedia:20231101.en")


def test_missing_file_names_file_places_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "search_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(data.MissingDataError) as exc:
        data.path("simlex999", download=False)
    msg = str(exc.value)
    assert "simlex999" in msg and str(tmp_path / "a") in msg and "QWEM_DATA_DIR" in msg


def test_corrupt_file_is_reported(tmp_path, monkeypatch):
    src = data.path("men")
    dst = tmp_path / data.REGISTRY["men"].relpath
    dst.parent.mkdir(parents=True)
    shutil.copy(src, dst)
    with open(dst, "ab") as fh:
        fh.write(b"tampered 1 1\n")
    monkeypatch.setenv("QWEM_DATA_DIR", str(tmp_path))
    with pytest.raises(data.CorruptDataError, match="sha256"):
        data.path("men")


def test_qwem_data_dir_is_searched_first(tmp_path, monkeypatch):
    src = data.path("wordsim353")
    dst = tmp_path / data.REGISTRY["wordsim353"].relpath
    dst.parent.mkdir(parents=True)
    shutil.copy(src, dst)
    monkeypatch.setenv("QWEM_DATA_DIR", str(tmp_path))
    assert data.path("wordsim353") == dst


def test_real_urls_are_kept_for_users(monkeypatch):
    """Without a mirror each file comes from its published home, in its published form."""
    monkeypatch.delenv("QWEM_DATA_MIRROR", raising=False)
    assert data.download_url("men") == "https://staff.fnwi.uva.nl/e.bruni/resources/MEN/MEN.tar.gz"
    assert data.REGISTRY["men"].member == "MEN/MEN_dataset_natural_form_full"
    assert data.download_url("wordsim353").endswith("/wordsim353.zip")
    assert data.REGISTRY["simlex999"].member == "SimLex-999/SimLex-999.txt"
    assert data.download_url("google-analogies").endswith("/questions-words.txt")
    assert data.download_url("wikipedia/20150523.en-ci/train-00000-of-00001.parquet") is None


def test_mirror_layout(monkeypatch):
    monkeypatch.setenv("QWEM_DATA_MIRROR", "http://lab.example/qwem-data/")
    assert data.mirror() == "http://lab.example/qwem-data"
    assert data.download_url("men") == "http://lab.example/qwem-data/eval/men/MEN.tar.gz"
    assert data.download_url("simlex999") == "http://lab.example/qwem-data/eval/simlex999/SimLex-999.zip"
    shard = "wikipedia/20150523.en-sample/train-00003-of-00006.parquet"
    assert data.download_url(shard) == f"http://lab.example/qwem-data/{shard}"


@pytest.mark.parametrize("value, expect", [("1", True), ("true", True), ("YES", True), ("on", True),
                                           ("0", False), ("", False), ("no", False)])
def test_offline_switch(monkeypatch, value, expect):
    monkeypatch.setenv("QWEM_OFFLINE", value)
    assert data.offline() is expect


def test_sha256_sees_a_rewrite_with_the_same_size_and_mtime(tmp_path):
    import hashlib
    import os

    f = tmp_path / "x.txt"
    f.write_bytes(b"aaaa")
    first = data.sha256_of(f)
    st = f.stat()
    f.write_bytes(b"bbbb")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert data.sha256_of(f) == hashlib.sha256(b"bbbb").hexdigest() != first
