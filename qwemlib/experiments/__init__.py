"""Experiments: each a function that both a chapter and ``tools/make_results.py`` call.

An experiment takes the corpus statistics (and a preset) and returns plain arrays and
dicts; it decides whether to read a stored result (:mod:`qwemlib.results`) or compute
live, and says which it did. Chapters show what it returns; ``tools/make_results.py``
stores it. Nothing here plots.

Used in: book/05_training.md, book/06_qwem_vs_word2vec.md, book/07_linear_structure.md.
"""

# Re-exports, one block per private module (``from ._x import name as name`` marks a
# public name).

# --- training against the theory (book/05): ._training

# --- the closed-form trio, the gensim peer and feature summaries (book/06): ._closed_forms, ._peer, ._features

# --- linear structure (book/07): ._linear
