"""qwemlib: the library behind the QWEM companion book.

Companion to Karkada, Simon, Bahri and DeWeese, *Closed-Form Training Dynamics
Reveal Learned Features and Linear Structure in Word2Vec-like Models*.

Modules (one job each; imported on first use so that ``import qwemlib`` stays cheap):

========== ==============================================================
config     scale presets, read from ``QWEM_SCALE`` in one place
data       registry of named data files: local search path, sha256, download
corpus     tokenizer, vocabulary, streaming sources, on-disk token cache
stats      co-occurrence counts, P_i, P_ij, M* (eq. 5), PMI, PPMI, G
theory     top-d eigenpairs, closed-form embeddings (eq. 7, 9) and dynamics (eq. 11, 13)
flow       full-batch gradient flow on M* (the ODE behind eq. 10-13)
train      JAX SGD trainer for QWEM (eq. 3) and word2vec SGNS (eq. 1)
evaluate   KeyedVectors-like embeddings, analogy and similarity benchmarks
rmt        task vectors, Marchenko-Pastur fits, SNR (section 4, A.6)
plots      plotly figure builders (book only)
widgets    ipywidgets controls (book only)
cli        the ``qwem`` command
========== ==============================================================
"""

from __future__ import annotations

import importlib

from .config import PRESETS, Preset, preset

__version__ = "0.1.0"
__all__ = ["PRESETS", "Preset", "preset", "__version__"]

_SUBMODULES = {
    "config", "data", "corpus", "stats", "theory", "flow", "train",
    "evaluate", "rmt", "plots", "widgets", "cli",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'qwemlib' has no attribute {name!r}")
