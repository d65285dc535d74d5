"""Pack what a GPU run needs into one folder, and the Python steps of ``tools/gpu_run.sh``.

A GPU machine here has no network, and the code, the data and any missing wheels travel
with it in at most 64 MiB (docs/GPU.md). The local sample's parquet shards (111 MB) do not
fit, so the bundle carries the token caches that :func:`qwemlib.corpus.load_corpus` would
build from them: token ids (uint16, xz-compressed, ~8.7 bits a token), article offsets,
vocabulary and counts, for

* the training corpus: the preset's corpus with its article filter, either whole or its
  first K shards (``max_tokens`` = the filtered raw tokens of those shards, so that the
  prefix ends exactly at the end of shard K; recorded in the manifest), as many as fit;
* the throughput bench's corpus (``bench/bench_train.py --local``: local shard 0, no filter);
* the evaluation sets (analogies, MEN, WS353, SimLex; registry files, ~0.2 MB as tar.xz).

The co-occurrence counts (800 MB at V = 10,000) are recounted on the GPU machine.

Subcommands:
    pack     build the bundle (default ``.gpu_bundle/``, git-ignored, carried by the run tool)
    unpack   check the bundle's checksums, write the caches under ``$QWEM_CACHE_DIR`` and the
             evaluation files under ``$QWEM_DATA_DIR``, and load each corpus back to check it
    env      print the bundle's preset, max_tokens and bench flag as shell assignments
    eigh     time ``jax.numpy.linalg.eigh`` of the training corpus's M* (JSON out)
    summary  collect stages, bench table, eigh timing, manifest and provenance into one JSON

Usage:
    python tools/gpu_pack.py pack [--preset local] [--shards auto|K] [--max-tokens N] [--no-bench]
    bash tools/gpu_run.sh .gpu_bundle          # on the GPU machine (OUT=... for the results)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qwemlib import _io, config, corpus, data  # noqa: E402  (after the sys.path line)

FORMAT = 1
MIB = 1 << 20
#: What the run tool carries in one call: working tree + carried paths (device README).
CARRY_LIMIT = 64 * MIB
#: Left free under the limit (files other sessions add before the GPU call, the manifest).
MARGIN = 1 * MIB
#: xz settings for token ids: LZMA2 with 2-byte alignment (lp=1, pb=1, lc=0) reads uint16
#: symbols; 8.63 bits a token on 5 M local tokens against 8.67 for preset 6 alone.
XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "lc": 0, "lp": 1, "pb": 1}]
#: Planning figures for choosing K before compressing (checked after): compressed bits per
#: kept token, and kept tokens per raw token (local: 56.6 M of 63.4 M).
BITS_PER_TOKEN, KEPT_PER_RAW = 8.9, 0.9
EVAL_FILES = ("google-analogies", "men", "wordsim353", "simlex999")


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def tree_bytes(root: Path = ROOT, exclude: str = ".gpu_bundle") -> int:
    """Bytes of the working tree that travels besides the bundle (tracked + untracked, not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, check=True).stdout
    files = {f for f in out.decode().split("\0") if f and not f.startswith(exclude + "/")}
    return sum((root / f).stat().st_size for f in files if (root / f).is_file())


# --------------------------------------------------------------------------- pack


def _cache_file(spec: dict) -> Path:
    return corpus.cache_root(spec["source"], max_shards=spec["max_shards"],
                             min_article_tokens=spec["min_article_tokens"],
                             max_tokens=spec["max_tokens"]) / f"ids-V{spec['vocab']}.npz"


def _load(spec: dict):
    return corpus.load_corpus(spec["source"], spec["vocab"], max_shards=spec["max_shards"],
                              min_article_tokens=spec["min_article_tokens"],
                              max_tokens=spec["max_tokens"], progress=False)


def pack_corpus(spec: dict, dest: Path, tag: str) -> dict:
    """Write one corpus cache as ``<tag>.ids.xz`` + ``<tag>.rest.npz``; return its manifest entry."""
    c = _load(spec)  # builds the cache when it is missing
    with np.load(_cache_file(spec)) as z:
        arrays = {k: z[k] for k in z.files}
    ids = np.ascontiguousarray(arrays.pop("ids"))
    raw = ids.tobytes()
    t = time.perf_counter()
    (dest / f"{tag}.ids.xz").write_bytes(lzma.compress(raw, format=lzma.FORMAT_XZ, filters=XZ_FILTERS))
    secs = time.perf_counter() - t
    _io.atomic_savez(dest / f"{tag}.rest.npz", compressed=True, **arrays)
    return spec | {
        "key": _cache_file(spec).parent.name, "dtype": str(ids.dtype), "n_tokens": int(ids.size),
        "n_raw_tokens": int(c.n_raw_tokens), "n_articles": int(c.n_articles),
        "ids_sha256": sha256_bytes(raw), "offsets_sha256": sha256_bytes(arrays["offsets"].tobytes()),
        "xz_seconds": round(secs, 1),
        "bits_per_token": round((dest / f"{tag}.ids.xz").stat().st_size * 8 / max(ids.size, 1), 3)}


def shard_raw_tokens(preset: config.Preset, k: int) -> list[int]:
    """Raw tokens of the articles the preset's filter keeps, in each of the first ``k`` shards (cached)."""
    store = data.cache_dir() / "gpu_pack" / "shard-raw-tokens.json"
    known = json.loads(store.read_text()) if store.exists() else {}
    out = []
    for name in data.CORPORA[preset.corpus][:k]:
        key = f"{data.REGISTRY[name].sha256}:{preset.min_article_tokens}:{corpus.TOKENIZER_VERSION}"
        if key not in known:
            _, n_raw, _ = corpus.count_words(str(data.path(name)), progress=False,
                                             min_article_tokens=preset.min_article_tokens)
            known[key] = n_raw
            store.parent.mkdir(parents=True, exist_ok=True)
            _io.atomic_write_json(store, known)
        out.append(known[key])
    return out


def pick_shards(raw_per_shard: list[int], room: int) -> int:
    """The largest K whose first K shards' ids fit ``room`` bytes by the planning figures (0: none)."""
    est = np.cumsum(raw_per_shard) * KEPT_PER_RAW * BITS_PER_TOKEN / 8
    return int((est <= room).sum())


def train_spec(preset: config.Preset, shards: str, max_tokens: int | None, room: int) -> dict:
    """The training corpus: whole, its first K shards, or an explicit ``max_tokens`` prefix."""
    names = data.CORPORA[preset.corpus]
    spec = dict(source=preset.corpus, vocab=preset.vocab, min_article_tokens=preset.min_article_tokens,
                max_tokens=preset.max_tokens, max_shards=None, shards_total=len(names))
    if max_tokens is not None:
        return spec | dict(max_tokens=max_tokens, shards_used="a prefix of max_tokens raw tokens")
    raw = shard_raw_tokens(preset, len(names))
    k = pick_shards(raw, room) if shards == "auto" else int(shards)
    if not 1 <= k <= len(names):
        raise SystemExit(f"gpu_pack: {k} shards of {preset.corpus} fit in the {room / MIB:.1f} MiB "
                         f"left (raw tokens per shard after the filter: "
                         f"{[f'{r / 1e6:.1f} M' for r in raw]}): free space in the working tree, "
                         "pass --no-bench, or --max-tokens N")
    return spec | dict(max_tokens=None if k == len(names) else int(sum(raw[:k])),
                       shards_used=list(names[:k]), raw_tokens_per_shard=raw[:k])


def bench_spec(preset: config.Preset) -> dict:
    """The corpus bench/bench_train.py reads: local shard 0 unfiltered (``--local``), or the ci corpus."""
    if preset.name == "local":
        return dict(source=preset.corpus, vocab=preset.vocab, min_article_tokens=0, max_tokens=None,
                    max_shards=1, shards_total=len(data.CORPORA[preset.corpus]),
                    shards_used=list(data.CORPORA[preset.corpus][:1]))
    ci = config.preset("ci")
    return dict(source=ci.corpus, vocab=ci.vocab, min_article_tokens=0, max_tokens=None, max_shards=None,
                shards_total=1, shards_used=list(data.CORPORA[ci.corpus]))


_SAME = ("source", "vocab", "min_article_tokens", "max_tokens", "max_shards")


def pack(args) -> int:
    preset = config.preset(args.preset)
    dest = args.out
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    limit = int(args.budget_mib * MIB)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for name in EVAL_FILES:
            tar.add(data.path(name), arcname=data.REGISTRY[name].relpath)
    (dest / "eval.tar.xz").write_bytes(buf.getvalue())
    m = {"format": FORMAT, "preset": preset.name,
         "command": "python tools/gpu_pack.py " + " ".join(args.argv),
         "commit": _git("rev-parse", "HEAD"),
         "dirty": bool(_git("status", "--porcelain", "qwemlib", "tools", "bench")),
         "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
         "eval": {n: {"relpath": data.REGISTRY[n].relpath, "sha256": data.REGISTRY[n].sha256}
                  for n in EVAL_FILES}, "bench": None}
    bench = bench_spec(preset) if args.bench else None
    if bench is not None and preset.name == "local":  # packed first: the training tokens get the rest
        m["bench"] = pack_corpus(bench, dest, "bench")
    room = limit - MARGIN - tree_bytes() - _size(dest)
    shards = args.shards
    while True:  # K is chosen by planning figures; one shard fewer when the real xz size is over
        spec = train_spec(preset, shards, args.max_tokens, room)
        m["train"] = pack_corpus(spec, dest, "train")
        over = (dest / "train.ids.xz").stat().st_size + (dest / "train.rest.npz").stat().st_size > room
        if not (over and args.shards == "auto" and isinstance(spec["shards_used"], list)
                and len(spec["shards_used"]) > 1):
            break
        shards = str(len(spec["shards_used"]) - 1)
    if "raw_tokens_per_shard" in spec and m["train"]["n_raw_tokens"] != sum(spec["raw_tokens_per_shard"]):
        raise SystemExit(f"gpu_pack: the {spec['max_tokens']:,}-token prefix read "
                         f"{m['train']['n_raw_tokens']:,} raw tokens, not the sum over shards "
                         f"{spec['shards_used']}: the shards were read in another order")
    if bench is not None and m["bench"] is None:
        same = all(bench[k] == m["train"][k] for k in _SAME)
        m["bench"] = bench | {"same_as": "train"} if same else pack_corpus(bench, dest, "bench")
    m["files"] = {f.name: {"bytes": f.stat().st_size, "sha256": sha256_bytes(f.read_bytes())}
                  for f in sorted(dest.iterdir())}
    m["bundle_bytes"], m["tree_bytes"] = _size(dest), tree_bytes()
    m["carried_bytes"] = m["bundle_bytes"] + m["tree_bytes"]
    _io.atomic_write_json(dest / "MANIFEST.json", m)
    total = m["carried_bytes"] + (dest / "MANIFEST.json").stat().st_size
    tr = m["train"]
    used = tr["shards_used"] if isinstance(tr["shards_used"], str) else f"{len(tr['shards_used'])} of " \
        f"{tr['shards_total']} shards"
    print(f"gpu_pack: {dest} holds {m['bundle_bytes'] / MIB:.1f} MiB; with the working tree "
          f"({m['tree_bytes'] / MIB:.1f} MiB) {total / MIB:.1f} MiB of {args.budget_mib:g} MiB; training "
          f"corpus: {used}, {tr['n_tokens']:,} tokens ({tr['bits_per_token']} bits a token)")
    if total > limit:
        raise SystemExit(f"gpu_pack: the bundle and the working tree need {total / MIB:.1f} MiB, over "
                         f"{args.budget_mib:g} MiB: pass --shards with fewer shards or --no-bench")
    return 0


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _git(*argv) -> str:
    try:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # no git, not a checkout (the GPU machine)
        return "unknown"


# --------------------------------------------------------------------------- unpack


def read_manifest(bundle: Path) -> dict:
    m = json.loads((bundle / "MANIFEST.json").read_text())
    if m.get("format") != FORMAT:
        raise SystemExit(f"gpu_pack: {bundle} has bundle format {m.get('format')}, this code reads "
                         f"{FORMAT}: pack it again with this checkout")
    return m


def unpack(args) -> int:
    """Check every file's sha256, write the caches and evaluation files, and load each corpus back."""
    m = read_manifest(args.bundle)
    for name, f in m["files"].items():
        got = sha256_bytes((args.bundle / name).read_bytes())
        if got != f["sha256"]:
            raise SystemExit(f"gpu_pack: {args.bundle / name} is damaged (sha256 {got[:12]}... != "
                             f"{f['sha256'][:12]}... in MANIFEST.json): pack the bundle again")
    if data.cache_dir().resolve() != Path(os.environ.get("QWEM_CACHE_DIR", "~")).expanduser().resolve():
        raise SystemExit("gpu_pack unpack: set QWEM_CACHE_DIR (and QWEM_DATA_DIR) to where the caches go")
    with tarfile.open(args.bundle / "eval.tar.xz") as tar:
        tar.extractall(Path(os.environ["QWEM_DATA_DIR"]), filter="data")
    for name in m["eval"]:
        data.path(name, download=False)  # verifies the sha256 where QWEM_DATA_DIR points
    for tag in ("bench", "train"):
        spec = m[tag]
        if spec is None or "key" not in spec:
            continue
        target = _cache_file(spec)
        if target.parent.name != spec["key"]:
            raise SystemExit(f"gpu_pack: the {tag} corpus's cache key is {target.parent.name} here but "
                             f"{spec['key']} in the bundle (another tokenizer or registry): pack it again")
        blob = lzma.decompress((args.bundle / f"{tag}.ids.xz").read_bytes())
        ids = np.frombuffer(blob, dtype=spec["dtype"])
        with np.load(args.bundle / f"{tag}.rest.npz") as z:
            rest = {k: z[k] for k in z.files}
        target.parent.mkdir(parents=True, exist_ok=True)
        _io.atomic_savez(target, ids=ids, **rest)
        c = _load(spec)
        if sha256_bytes(c.ids.tobytes()) != spec["ids_sha256"] or c.n_tokens != spec["n_tokens"]:
            raise SystemExit(f"gpu_pack: the {tag} corpus read back from {target} differs from the bundle's")
        print(f"unpacked {tag}: {c.n_tokens:,} tokens, {c.n_articles:,} articles -> {target}")
    return 0


def env(args) -> int:
    """Shell assignments for tools/gpu_run.sh: PRESET, MAX_TOKENS (empty: whole), BENCH (0/1), BENCH_LOCAL."""
    m = read_manifest(args.bundle)
    mt = m["train"]["max_tokens"]
    print(f"PRESET={m['preset']}\nMAX_TOKENS={'' if mt is None else int(mt)}\n"
          f"BENCH={int(m['bench'] is not None)}\nBENCH_LOCAL={int(m['preset'] == 'local')}")
    return 0


# --------------------------------------------------------------------------- eigh, summary


def eigh(args) -> int:
    """Time ``jax.numpy.linalg.eigh`` (full, jitted) of the training corpus's M* on JAX's device.

    The statistics are counted here (and cached, so that make_results reads them); each dtype
    is solved twice: the first time includes compilation, the second is the solve alone.
    The residual ``max_k ||M v_k - lambda_k v_k|| / |lambda_1|`` over the top d shows the
    solve is right, beside lambda_1, lambda_d and the most negative eigenvalue.
    """
    from qwemlib import pipeline

    dtypes = args.dtypes.split(",")
    import jax

    if "float64" in dtypes:
        try:
            jax.config.update("jax_enable_x64", True)
        except Exception as exc:  # a JAX without the flag: float64 is then not solved
            print(f"gpu_pack eigh: no float64 ({exc!r})")
            dtypes = [d for d in dtypes if d != "float64"]
    import jax.numpy as jnp

    m = read_manifest(args.bundle)
    preset = config.preset(m["preset"], max_tokens=m["train"]["max_tokens"])
    t = time.perf_counter()
    st = pipeline.corpus_statistics(preset)
    out = {"V": int(st.M.shape[0]), "d": preset.dim, "statistics_s": time.perf_counter() - t,
           "device": str(jax.devices()[0]), "solves": {}}
    M64 = np.asarray(st.M, dtype=np.float64)
    f = jax.jit(jnp.linalg.eigh)
    for dt in dtypes:
        Mj = jax.device_put(jnp.asarray(M64, dtype=dt))
        if str(Mj.dtype) != dt:
            print(f"gpu_pack eigh: asked for {dt}, JAX gives {Mj.dtype}: skipped")
            continue
        times = []
        for _ in range(2):
            t = time.perf_counter()
            w, v = f(Mj)
            w.block_until_ready()
            v.block_until_ready()
            times.append(time.perf_counter() - t)
        w = np.asarray(w, dtype=np.float64)[::-1]
        v = np.asarray(v, dtype=np.float64)[:, ::-1][:, :preset.dim]
        res = np.linalg.norm(M64 @ v - v * w[:preset.dim], axis=0).max() / abs(w[0])
        out["solves"][dt] = {"first_call_s": times[0], "solve_s": times[1], "lambda_1": w[0],
                             "lambda_d": w[preset.dim - 1], "lambda_min": w[-1],
                             "max_relative_residual_top_d": float(res)}
        print(f"jnp.linalg.eigh {dt} ({out['V']:,} x {out['V']:,}) on {out['device']}: "
              f"{times[1]:.2f} s (first call, with compilation, {times[0]:.2f} s); "
              f"lambda_1 = {w[0]:.1f}, lambda_{preset.dim} = {w[preset.dim - 1]:.2f}, "
              f"min = {w[-1]:.1f}; residual {res:.1e}", flush=True)
    _io.atomic_write_json(args.out, json.loads(json.dumps(out, default=float)))
    return 0


#: The run tool returns at most 16 MiB a file and 8 files (docs/GPU.md): larger files are split.
SPLIT_ABOVE, PART_BYTES = 16 * MIB, 15 * MIB


def bench_table(text: str) -> list[dict]:
    """Rows of bench_train.py's closing table (after its ``| corpus | trainer |`` header)."""
    lines = text.splitlines()
    head = next((i for i, ln in enumerate(lines) if ln.startswith("| corpus | trainer |")), None)
    if head is None:
        return []
    cols = [c.strip() for c in lines[head].strip("|").split("|")]
    rows = []
    for ln in lines[head + 2:]:
        if not ln.startswith("|"):
            break
        row = dict(zip(cols, (c.strip() for c in ln.strip("|").split("|"))))
        row["pairs/s"] = float(row["pairs/s"].replace(",", ""))
        rows.append(row)
    return rows


def summary(args) -> int:
    """``$OUT/gpu_run.json``: stages, bench rows, eigh timing, result files, manifest, provenance."""
    from qwemlib import results

    work, out = args.work, args.out
    stages = []
    if (work / "stages.tsv").exists():
        for ln in (work / "stages.tsv").read_text().splitlines():
            name, rc, secs = ln.split("\t")
            stages.append({"stage": name, "rc": int(rc), "seconds": float(secs)})
    bench = bench_table((work / "bench.txt").read_text()) if (work / "bench.txt").exists() else []
    eig = json.loads((work / "eigh.json").read_text()) if (work / "eigh.json").exists() else None
    parts = {}
    for f in sorted(out.rglob("*")):
        if f.is_file() and f.stat().st_size > SPLIT_ABOVE:
            blob = f.read_bytes()
            parts[f.name] = {"sha256": sha256_bytes(blob), "parts": []}
            for i in range(0, len(blob), PART_BYTES):
                part = f.with_name(f"{f.name}.part{i // PART_BYTES:02d}")
                part.write_bytes(blob[i:i + PART_BYTES])
                parts[f.name]["parts"].append(part.name)
            f.unlink()
    files = {str(f.relative_to(out)): f.stat().st_size for f in sorted(out.rglob("*")) if f.is_file()}
    doc = {"stages": stages, "ok": bool(stages) and all(s["rc"] == 0 for s in stages),
           "bench": bench, "eigh": eig, "result_files": files, "split_files": parts,
           "bundle": read_manifest(args.bundle), "provenance": results.provenance(args.command)}
    _io.atomic_write_json(out / "gpu_run.json", doc)
    n = len(files) + 1
    print(f"gpu_run: {out}/gpu_run.json; stages "
          + ", ".join(f"{s['stage']} rc={s['rc']} {s['seconds']:.0f} s" for s in stages))
    for r in bench:
        print(f"  {r['trainer']} ({r['device']}): {r['pairs/s']:,.0f} pairs/s")
    if n > 8:
        print(f"gpu_run: warning: {n} files under {out}; the run tool returns 8 at most")
    for name, p in parts.items():
        print(f"gpu_run: {name} was split into {p['parts']}: `cat` them back (sha256 {p['sha256'][:12]}...)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="build the bundle")
    p.add_argument("--preset", default="local", choices=["ci", "local"])
    p.add_argument("--shards", default="auto",
                   help="training shards: 'auto' (as many as fit) or K (the first K)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="instead of whole shards: the first N raw tokens after the filter")
    p.add_argument("--no-bench", dest="bench", action="store_false",
                   help="leave out the bench's corpus (gives its ~11 MB to the training tokens)")
    p.add_argument("--budget-mib", type=float, default=CARRY_LIMIT / MIB,
                   help="the run tool's carry limit (working tree + bundle)")
    p.add_argument("--out", type=Path, default=ROOT / ".gpu_bundle")
    for name in ("unpack", "env"):
        q = sub.add_parser(name)
        q.add_argument("bundle", type=Path)
    q = sub.add_parser("eigh")
    q.add_argument("bundle", type=Path)
    q.add_argument("--dtypes", default="float32")
    q.add_argument("--out", type=Path, required=True)
    q = sub.add_parser("summary")
    q.add_argument("bundle", type=Path)
    q.add_argument("--work", type=Path, required=True)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--command", default="bash tools/gpu_run.sh")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return {"pack": pack, "unpack": unpack, "env": env, "eigh": eigh, "summary": summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
