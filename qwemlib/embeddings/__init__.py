"""The vectors object: ``V`` words and their embeddings ``W`` of shape ``(V, d)``.

:class:`Embeddings` answers to gensim 4's ``KeyedVectors`` names, with gensim's return
shapes (``get_vector``, ``get_index``, ``key_to_index``, ``index_to_key``, ``vectors``,
``get_normed_vectors``, ``most_similar``, ``similarity``, ``evaluate_word_analogies``,
``evaluate_word_pairs``, ``save_word2vec_format``/``load_word2vec_format``), plus our own
``save``/``load`` (``.npz``) and ``to_gensim``/``from_gensim`` (gensim is imported only
there). ``tests/test_gensim_compat.py`` runs every one of those calls on both objects.
The benchmarks of the book (both analogy protocols, the benchmark table) live in
:mod:`qwemlib.evaluate`, which re-exports the class.

Modules: ``_vectors`` (the class), ``_nearest`` (unit rows and the blocked 3CosAdd
argmax shared with :mod:`qwemlib.evaluate`), ``_gensim_eval`` (gensim's two evaluation
calls, by gensim's rules), ``_word2vec_format`` (the C tool's text and binary formats).

Used in: book/06_qwem_vs_word2vec.md, book/07_linear_structure.md,
tools/make_results.py, ``qwem`` (:mod:`qwemlib.cli`).
"""

from ._nearest import answer_3cosadd as answer_3cosadd
from ._nearest import case_variants as case_variants
from ._nearest import unit_rows as unit_rows
from ._vectors import Embeddings as Embeddings
from ._word2vec_format import read_word2vec_format as read_word2vec_format
from ._word2vec_format import write_word2vec_format as write_word2vec_format

__all__ = ["Embeddings", "answer_3cosadd", "case_variants", "unit_rows", "read_word2vec_format",
           "write_word2vec_format"]
