"""tools/gpu_pack.py and tools/gpu_run.sh (issue 12, item 5) on the CPU at the ci size.

The script runs in a copy of the code with no ``.git`` and no ``../shared`` beside it, as on
the GPU machine, so every corpus and evaluation file it reads must come from the bundle.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qwemlib import corpus, data

ROOT = Path(__file__).resolve().parents[1]
CI_CORPUS = "wikipedia/20150523.en-ci"
SAMPLE = "wikipedia/20150523.en-sample"
#: One small bench configuration (two compilations) instead of the GPU run's sixteen.
TINY_BENCH = "--backends jax --no-gensim --batch 20000 --paths scatter --negatives uniform --steps 3"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_pack", ROOT / "tools" / "gpu_pack.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gp = _module()


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("QWEM_DATA_DIR", "OUT")}
    return env | {"JAX_PLATFORMS": "cpu", "PYTHON": sys.executable, "CI": "1"} | extra


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    subprocess.run([sys.executable, "tools/gpu_pack.py", "pack", "--preset", "ci", "--out", str(out)],
                   cwd=ROOT, env=_env(), check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def device_copy(tmp_path_factory) -> Path:
    """The code as the GPU machine gets it: no .git, no ../shared/data beside it."""
    repo = tmp_path_factory.mktemp("device") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    for d in ("qwemlib", "tools", "bench"):
        shutil.copytree(ROOT / d, repo / d, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", repo)
    return repo


def _run(device_copy: Path, bundle: Path, out: Path, stages: str, **extra):
    return subprocess.run(["bash", "tools/gpu_run.sh", str(bundle)], cwd=device_copy, capture_output=True,
                          text=True, timeout=600,
                          env=_env(OUT=str(out), GPU_RUN_STAGES=stages, GPU_RUN_EIGH_DTYPES="float32",
                                   GPU_RUN_BENCH_ARGS=TINY_BENCH, GPU_RUN_WORK=str(out.parent / "work"),
                                   **extra))


def test_cache_key_needs_no_shards(monkeypatch):
    """A registered corpus's cache folder is found without its parquet shards (the bundle's case)."""
    keys = {(src, ms): corpus.cache_root(src, max_shards=ms, min_article_tokens=500)
            for src in (CI_CORPUS, SAMPLE) for ms in (None, 1)}

    def absent(name, verify=True):
        raise data.MissingDataError(f"{name}: shards absent in this test")

    monkeypatch.setattr(data, "corpus_files", absent)
    for (src, ms), root in keys.items():
        assert corpus.cache_root(src, max_shards=ms, min_article_tokens=500) == root
    assert keys[(SAMPLE, None)] != keys[(SAMPLE, 1)]


def test_pick_shards_and_train_spec(monkeypatch):
    """K is the largest prefix of shards that fits; the prefix is max_tokens = their raw tokens."""
    from qwemlib import config

    raw = [10_000_000, 11_000_000, 9_000_000, 10_500_000, 10_000_000, 12_000_000]
    one = raw[0] * gp.KEPT_PER_RAW * gp.BITS_PER_TOKEN / 8
    assert gp.pick_shards(raw, one) == 1
    assert gp.pick_shards(raw, one * 0.99) == 0
    assert gp.pick_shards(raw, 1e12) == 6
    monkeypatch.setattr(gp, "shard_raw_tokens", lambda preset, k: raw[:k])
    local = config.preset("local")
    four = sum(raw[:4]) * gp.KEPT_PER_RAW * gp.BITS_PER_TOKEN / 8
    spec = gp.train_spec(local, "auto", None, four)
    assert spec["max_tokens"] == sum(raw[:4]) and len(spec["shards_used"]) == 4
    assert gp.train_spec(local, "6", None, 0)["max_tokens"] is None  # the whole corpus: the preset itself
    with pytest.raises(SystemExit, match="0 shards"):
        gp.train_spec(local, "auto", None, one * 0.5)


def test_bundle_holds_the_ci_corpus(bundle):
    m = json.loads((bundle / "MANIFEST.json").read_text())
    c = corpus.load_corpus(CI_CORPUS, 2000, progress=False)
    tr = m["train"]
    assert tr["key"] == corpus.cache_root(CI_CORPUS).name
    assert tr["n_tokens"] == c.n_tokens and tr["ids_sha256"] == hashlib.sha256(c.ids.tobytes()).hexdigest()
    assert tr["shards_used"] == list(data.CORPORA[CI_CORPUS]) and tr["max_tokens"] is None
    assert m["bench"]["same_as"] == "train"  # bench_train.py's ci corpus is the preset's
    assert tr["bits_per_token"] < 10  # compressed: uint16 would be 16
    assert sorted(m["files"]) == ["eval.tar.xz", "train.ids.xz", "train.rest.npz"]
    assert m["carried_bytes"] < gp.CARRY_LIMIT and m["commit"] != "unknown"


def test_unpack_checks_the_bundle(bundle, tmp_path):
    env = _env(QWEM_CACHE_DIR=str(tmp_path / "cache"), QWEM_DATA_DIR=str(tmp_path / "data"))
    ok = subprocess.run([sys.executable, str(ROOT / "tools/gpu_pack.py"), "unpack", str(bundle)], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    rebuilt = np.load(tmp_path / "cache" / "corpus" / corpus.cache_root(CI_CORPUS).name / "ids-V2000.npz")
    assert np.array_equal(rebuilt["ids"], corpus.load_corpus(CI_CORPUS, 2000, progress=False).ids)
    bad = tmp_path / "bad"
    shutil.copytree(bundle, bad)
    blob = bytearray((bad / "train.ids.xz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (bad / "train.ids.xz").write_bytes(bytes(blob))
    got = subprocess.run([sys.executable, str(ROOT / "tools/gpu_pack.py"), "unpack", str(bad)], env=env,
                         capture_output=True, text=True)
    assert got.returncode != 0 and "train.ids.xz is damaged" in got.stderr


def test_pack_refuses_what_does_not_fit(tmp_path):
    got = subprocess.run([sys.executable, "tools/gpu_pack.py", "pack", "--preset", "ci", "--budget-mib", "2",
                          "--out", str(tmp_path / "b")], cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert got.returncode != 0 and "0 shards" in got.stderr


def test_summary_splits_large_files_and_reads_the_bench_table(bundle, tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out"
    (out / "results").mkdir(parents=True)
    work.mkdir()
    blob = os.urandom(2500)
    (out / "results" / "train.npz").write_bytes(blob)
    (work / "stages.tsv").write_text("unpack\t0\t1.5\nbench\t0\t9.0\n")
    (work / "bench.txt").write_text("x\n| corpus | trainer | device | pairs/s | note |\n"
                                    "|---|---|---|---|---|\n"
                                    "| local | qwemlib qwem B=1 | gpu:H200 | 312,000,000 | n |\n\nend\n")
    monkeypatch.setattr(gp, "PART_BYTES", 1000)
    monkeypatch.setattr(gp, "SPLIT_ABOVE", 2000)
    gp.summary(argparse.Namespace(bundle=bundle, work=work, out=out, command="test"))
    doc = json.loads((out / "gpu_run.json").read_text())
    parts = doc["split_files"]["train.npz"]["parts"]
    assert len(parts) == 3 and b"".join((out / "results" / p).read_bytes() for p in parts) == blob
    assert doc["bench"][0]["pairs/s"] == 312e6 and doc["ok"]
    assert doc["provenance"]["machine"]["jax_device"].startswith("cpu")


def _make_results_has_train() -> bool:
    text = subprocess.run([sys.executable, "tools/make_results.py", "--help"], cwd=ROOT, capture_output=True,
                          text=True).stdout
    return "train" in text.split("--only")[1].split("\n")[0] and "--backend" in text


def _check_common(out: Path, proc) -> dict:
    assert (out / "gpu_run.json").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "gpu_run.json").read_text())
    assert doc["ok"], proc.stdout[-3000:]
    assert proc.returncode == 0
    assert doc["bundle"]["train"]["key"] == corpus.cache_root(CI_CORPUS).name
    assert doc["provenance"]["machine"]["jax_device"].startswith("cpu")
    assert doc["provenance"]["commit"] == "unknown"  # the copy has no .git: the bundle's commit is kept
    assert doc["bundle"]["commit"] != "unknown"
    return doc


def test_gpu_run_bench_on_cpu(bundle, device_copy, tmp_path):
    """unpack, bench and summary, from the bundle alone (no shards reachable), in about 30 s."""
    out = tmp_path / "out"
    proc = _run(device_copy, bundle, out, "bench")
    doc = _check_common(out, proc)
    assert [s["stage"] for s in doc["stages"]] == ["unpack", "bench"]
    assert len(doc["bench"]) == 2 and all(r["pairs/s"] > 0 for r in doc["bench"])
    assert {r["trainer"].split()[1] for r in doc["bench"]} == {"qwem", "sgns"}


@pytest.mark.slow
def test_gpu_run_all_stages_on_cpu(bundle, device_copy, tmp_path):
    """Every stage at ci: eigh's timing and residual, and, once make_results has ``--only train``,
    the training runs' files under $OUT/results."""
    out = tmp_path / "out"
    train = _make_results_has_train()
    proc = _run(device_copy, bundle, out, "eigh,bench,train" if train else "eigh,bench",
                GPU_RUN_TRAIN_ARGS="--steps 20")
    doc = _check_common(out, proc)
    e = doc["eigh"]["solves"]["float32"]
    assert doc["eigh"]["V"] == 2000 and e["solve_s"] > 0
    assert e["max_relative_residual_top_d"] < 1e-4 and e["lambda_1"] > e["lambda_d"] > 0 > e["lambda_min"]
    if not train:
        pytest.skip("tools/make_results.py has no --only train / --backend yet: the train stage was not run")
    assert "results/train.npz" in doc["result_files"]
