"""Evaluating word embeddings: analogies, word similarity, components, overlaps.

The vectors object is :class:`~qwemlib.embeddings.Embeddings` (re-exported here, so
``qwemlib.evaluate.Embeddings`` works). The benchmarks are those of the paper's
Appendix A.4:

* **Analogies** (eq. 18-21): the Google analogy set. A question ``a:b::c:?`` is
  answered by 3CosAdd, ``argmax_w  ŵ·(ĉ + b̂ - â)`` over the vocabulary without
  ``a, b, c`` (hats are unit vectors). Two protocols:

  - ``"original"``: the file's 19,544 questions as given, skipping any with an
    out-of-vocabulary word; this is gensim's ``evaluate_word_analogies`` (and
    word2vec's ``compute-accuracy``) and gives the same counts.
  - ``"pairs"``: the paper's own code (``AnalogyDataset`` in ``dkarkada/qwem``):
    per section, collect the distinct word pairs ``(a, b)`` with both words in
    the vocabulary, and ask every ordered pair of distinct pairs ``((a,b),(c,d))``
    as ``a:b::c:?``. This uses every in-vocabulary pair even when the file's own
    questions pair it with an out-of-vocabulary word, so it covers more of the set
    at small V. (The paper's code treats the word with id 0 as missing through a
    truthiness test; that slip is not reproduced here.)

* **Similarity** (eq. 23): MEN, WordSim353 and SimLex-999. The model's score of a
  pair is the cosine similarity of the two embeddings by default
  (``score="cosine"``, as gensim does); ``score="dot"`` uses the raw inner
  product, which is what the paper's text describes. The benchmark number is the
  Spearman rank correlation with the human scores (``scipy.stats.spearmanr``:
  average ranks for ties).

* **Components** (Figure 3a) and **subspace overlaps** (Figure 5).

Out-of-vocabulary items are skipped and counted, never fatal. Words are compared
case-insensitively (the benchmark files are lowercased, and a vocabulary word
matches in any case, the first of several case variants winning), as gensim does.

Modules: ``_readers`` (the files), ``_analogies``, ``_similarity``, ``_benchmark``
(the table of Figure 3b, as rows, text or a pandas frame), ``_geometry``.

Used in: book/06_qwem_vs_word2vec.md, book/07_linear_structure.md,
tools/make_results.py, ``qwem`` (:mod:`qwemlib.cli`).
"""

from ..embeddings import Embeddings as Embeddings
from ._analogies import AnalogyResult as AnalogyResult
from ._analogies import AnalogySectionResult as AnalogySectionResult
from ._analogies import evaluate_analogies as evaluate_analogies
from ._analogies import family_accuracy as family_accuracy
from ._benchmark import BenchmarkRow as BenchmarkRow
from ._benchmark import benchmark_table as benchmark_table
from ._benchmark import format_table as format_table
from ._benchmark import to_frame as to_frame
from ._geometry import ComponentWords as ComponentWords
from ._geometry import component_overlap as component_overlap
from ._geometry import top_words_per_component as top_words_per_component
from ._readers import DATASET_NAMES as DATASET_NAMES
from ._readers import AnalogySection as AnalogySection
from ._readers import analogy_pairs as analogy_pairs
from ._readers import read_analogies as read_analogies
from ._readers import read_similarity as read_similarity
from ._similarity import SimilarityResult as SimilarityResult
from ._similarity import evaluate_similarity as evaluate_similarity
from ._similarity import pearson as pearson
from ._similarity import spearman as spearman

__all__ = [
    "Embeddings",
    "AnalogySection",
    "AnalogySectionResult",
    "AnalogyResult",
    "SimilarityResult",
    "BenchmarkRow",
    "ComponentWords",
    "DATASET_NAMES",
    "read_analogies",
    "analogy_pairs",
    "evaluate_analogies",
    "family_accuracy",
    "read_similarity",
    "evaluate_similarity",
    "spearman",
    "pearson",
    "benchmark_table",
    "format_table",
    "to_frame",
    "top_words_per_component",
    "component_overlap",
]
