"""qwemlib: the library behind the QWEM companion book.

Companion to Karkada, Simon, Bahri and DeWeese, *Closed-Form Training Dynamics
Reveal Learned Features and Linear Structure in Word2Vec-like Models*.

Modules, bottom layer first (one job each; a module imports only from the modules
listed before it, see docs/ARCHITECTURE.md; imported on first use so that
``import qwemlib`` stays cheap):

=========== ==============================================================
config      scale presets, read from ``QWEM_SCALE`` in one place
data        registry of named data files: local search path, sha256, download
corpus      tokenizer, vocabulary, streaming sources, on-disk token cache
stats       co-occurrence counts, P_i, P_ij, M* (eq. 5), PMI, PPMI, G, sgns_mean_G
losses      exact full-matrix losses: SGNS (eq. 1), QWEM (eq. 3), (g/4)||WW^T - M*||^2
pipeline    corpus_statistics(preset): corpus -> counts -> P, M*, cached on disk
eigen       top-d eigenpairs (algebraic order) and the full descending spectrum
theory      closed-form embeddings (eq. 7, 9) and dynamics (eq. 11, 13), rise times
flow        full-batch gradient flow on M* (the ODE behind eq. 10-13)
train       JAX SGD trainer for QWEM (eq. 3) and word2vec SGNS (eq. 1)
embeddings  the embeddings (vectors) object: load, save, nearest words
evaluate    analogy and similarity benchmarks, the benchmark table
rmt         task vectors, Marchenko-Pastur fits, SNR (section 4, A.6)
results     stored results under data/results: paths, reading, saving, provenance
experiments the experiments a chapter and tools/make_results.py both run
plots       plotly figure builders (book only)
widgets     ipywidgets controls (book only)
cli         the ``qwem`` command
=========== ==============================================================
"""

from __future__ import annotations

import importlib
import importlib.metadata

from .config import PRESETS, Preset, preset

try:
    __version__ = importlib.metadata.version("qwemlib")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PRESETS", "Preset", "preset", "__version__"]

_SUBMODULES = {
    "config", "data", "corpus", "stats", "losses", "pipeline", "eigen", "theory", "flow",
    "train", "embeddings", "evaluate", "rmt", "results", "experiments", "plots", "widgets",
    "cli",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'qwemlib' has no attribute {name!r}")
