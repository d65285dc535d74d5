"""book/07's stored linear structure: read, checked, remade; and the live-or-stored front end.

:func:`linear_structure` computes the analysis live (:func:`._linear.compute_linear_structure`)
up to :data:`._linear.LIVE_MAX_V` words and otherwise reads
``data/results/<preset>/linear_structure.npz`` (:func:`load_linear_structure`), checking
that the file was made with this library's constants and selections;
:func:`run_linear_structure` (``tools/make_results.py --only linear``) remakes that file alone.

Used in: book/07_linear_structure.md, tools/make_results.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import rmt
from ..config import Preset
from ..results import (
    StoredResultError,
    load_npz,
    read_benchmark,
    replace_readme_section,
    results_dir,
    save_benchmark,
    save_npz,
    stored_meta,
    stored_path,
)
from ._linear import (
    _C,
    FILENAME,
    LINEAR_CONSTANTS,
    LIVE_MAX_V,
    LinearStructure,
    compute_linear_structure,
    d_grid,
    d_list,
)

__all__ = ["check_const", "linear_structure", "load_linear_structure", "run_linear_structure"]


def check_const(S: dict, name: str, value, filename: str = FILENAME, preset: str = "<preset>") -> None:
    """A stored file must have been made with the library's constant ``name = value``.

    Raises:
        StoredResultError: naming both values and the command that remakes the file.
    """
    got = S[f"const/{name}"].item()
    if got != value:
        raise StoredResultError(f"{filename} was made with {name} = {got}, the library uses {value}: "
                                f"rerun `python tools/make_results.py --scale {preset}`")


def _source_text(preset: Preset) -> str:
    """Where the stored numbers come from: ``results.describe_source`` plus corpus and wall times."""
    from ..results import describe_source

    _, meta = read_benchmark(preset)
    if meta is None:
        return f"source: stored results {stored_path(preset, FILENAME)} (no benchmark.json beside it)"
    lines = describe_source(meta, preset).splitlines()
    lines[0] = f"source: stored results data/results/{preset.name}/{FILENAME} (see the README.md beside it)"
    c = meta.get("corpus")
    if c:
        lines.append(f"  corpus read: {c['kept_tokens']:,} tokens kept of {c['raw_tokens']:,}, "
                     f"{c['articles']:,} articles")
    walls = [f"{k.replace('linear structure: ', '')} {v:.0f} s" for k, v in meta.get("timings_s", {}).items()
             if k.startswith("linear structure:")]
    if walls:
        lines.append("  wall times: " + ", ".join(walls))
    return "\n".join(lines)


def load_linear_structure(preset: Preset) -> LinearStructure:
    """``data/results/<preset>/linear_structure.npz`` as a :class:`LinearStructure` (``source="stored"``).

    The file must match the library: its ``const/*`` equal :data:`LINEAR_CONSTANTS`, its kept families,
    model sizes and accuracy grid are the ones this code would choose, and the MP fits refitted
    here from the stored spectra reproduce the stored fits (``rtol`` 1e-9).
    """
    S = load_npz(preset, FILENAME, required=["families", "kept", "snr_d", "acc_grid", "tau"])
    for name, value in LINEAR_CONSTANTS.items():
        if f"const/{name}" in S:
            check_const(S, name, value, preset=preset.name)
    V, D = int(S["V"]), int(S["D"])
    pairs_all = {str(f): [tuple(p) for p in S[f"pairs/{f}"].tolist()] for f in S["families"]}
    fams = [f for f, p in pairs_all.items() if len(p) >= _C["n_min"]]
    if [str(f) for f in S["kept"]] != fams:
        raise StoredResultError(f"{FILENAME}: stored families differ from this library's selection")
    dl = d_list(D)
    if S["d_list"].tolist() != dl or S["d_grid"].tolist() != d_grid(D).tolist():
        raise StoredResultError(f"{FILENAME}: stored d_list/d_grid differ from this library's")
    spectra, fits, sim = {}, {}, {}
    for i, f in enumerate(fams):
        for j, d in enumerate(dl):
            spectra[f, d] = S[f"spectrum/{f}/{d}"]
            fits[f, d] = fs = rmt.fit_marchenko_pastur(spectra[f, d], n_dims=d)   # R would only set n_dims
            sim[f, d] = float(S["sim"][i, j])
            if not np.allclose([fs.sigma2, fs.gamma, fs.d_eff, fs.ks_distance, fs.n_outliers],
                               S[f"fit/{f}/{d}"], rtol=1e-9):
                raise StoredResultError(f"{FILENAME}: refitting {f} at d = {d} differs from the stored fit")
    has_flow = "acc_flow" in S
    return LinearStructure(
        source="stored", source_text=_source_text(preset), V=V, D=D, eigenvalues=S["eigenvalues"],
        pairs_all=pairs_all, fams=fams, rbar=dict(zip(fams, S["rbar"])),
        feature_words_pos=S["feature_words_pos"], feature_words_neg=S["feature_words_neg"],
        d_list=dl, spectra=spectra, fits=fits, sim=sim,
        null_ks=dict(zip(S["null_ks_N"].tolist(), S["null_ks"].tolist())),
        snr_d=dict(zip(fams, S["snr_d"])), base95=dict(zip(S["base95_N"].tolist(), S["base95"])),
        base_fall=dict(zip(S["base_fall_N"].tolist(), S["base_fall"])) if "base_fall" in S else None,
        base_pr=dict(zip(S["base_pr_N"].tolist(), S["base_pr"])) if "base_pr" in S else None,
        d_grid=S["d_grid"], acc_grid=S["acc_grid"], tau=S["tau"],
        flow_times=S["flow_times"] if has_flow else None, acc_flow=S["acc_flow"] if has_flow else None,
        flow_nsteps=int(S["flow_nsteps"]) if has_flow else None,
        flow_loss=S["flow_loss"] if has_flow else None)


def linear_structure(preset: Preset, st=None) -> LinearStructure:
    """book/07's analysis for ``preset``: live up to :data:`LIVE_MAX_V` words, else the stored file.

    Live, it uses ``st`` (or :func:`qwemlib.pipeline.corpus_statistics` of the preset) and
    the dense path of :func:`compute_linear_structure`; stored, :func:`load_linear_structure`
    (a missing file raises :class:`~qwemlib.results.StoredResultError` with the command that
    makes it). ``.source`` and ``.source_text`` say which it did.

    Used in: book/07_linear_structure.md.
    """
    if preset.vocab > LIVE_MAX_V:
        return load_linear_structure(preset)
    if st is None:
        from ..pipeline import corpus_statistics

        st = corpus_statistics(preset)
    return compute_linear_structure(st)


def run_linear_structure(preset: Preset, command: str, out_dir: str | Path | None = None, *,
                         flow: bool = True, log=print) -> Path:
    """``tools/make_results.py --only linear``: ``linear_structure.npz`` alone, with its provenance.

    Statistics, the top-``d`` eigenpairs of ``M*`` and :func:`compute_linear_structure` (with the
    gradient flow unless ``flow=False``); the file is written atomically, its wall times replace
    the ``linear structure:`` entries of ``benchmark.json``'s meta (which the chapter's source line
    reads; ``meta["linear_run"]`` records this run), and the README gets (or has replaced) a
    section naming this run. The other stored files are left untouched.
    """
    from ..eigen import top_eigenpairs
    from ..pipeline import corpus_statistics

    t_all = time.perf_counter()
    prov = stored_meta(command)
    st = corpus_statistics(preset)
    eig = top_eigenpairs(st.M, preset.dim)
    res = compute_linear_structure(st, eig, flow=flow, log=log)
    out_dir = Path(out_dir) if out_dir is not None else results_dir(preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_npz(out_dir / FILENAME, **res.to_arrays())
    total = time.perf_counter() - t_all
    rows, meta = read_benchmark(preset, folder=out_dir)
    if meta is not None:
        timings = {k: v for k, v in meta.get("timings_s", {}).items() if not k.startswith("linear structure")}
        meta["timings_s"] = timings | {f"linear structure: {k}": v for k, v in res.seconds.items()}
        meta["linear_run"] = {k: v for k, v in prov.items() if k != "machine"}
        save_benchmark(out_dir / "benchmark.json", rows, meta)
    walls = "; ".join(f"{k} {v:.0f} s" for k, v in res.seconds.items())
    section = (f"\n## Appended by `{command}`\n\n- `{FILENAME}` was remade by this command at commit "
               f"`{prov['commit']}`, {prov['date_utc']}; its wall times (which replace "
               f"the `linear structure:` entries above): {walls}; total {total:.0f} s, 1-min load average "
               f"{os.getloadavg()[0]:.1f} at end (shared machine). It adds `base_pr_N`/`base_pr` (the "
               "participation ratio of each random-pair draw's mean difference vector, the null of "
               "localization) and `base_fall` where the earlier file lacked them.\n")
    replace_readme_section(out_dir, "--only linear", section)
    log(f"wrote {out_dir / FILENAME} in {total:.0f} s", flush=True)
    return out_dir / FILENAME
