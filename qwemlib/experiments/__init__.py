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
from ._linear import LINEAR_CONSTANTS as LINEAR_CONSTANTS
from ._linear import LIVE_MAX_V as LIVE_MAX_V
from ._linear import LinearStructure as LinearStructure
from ._linear import check_const as check_const
from ._linear import compute_linear_structure as compute_linear_structure
from ._linear import linear_structure as linear_structure
from ._linear import linear_structure_arrays as linear_structure_arrays
from ._linear import load_linear_structure as load_linear_structure
from ._linear_report import RiseTimes as RiseTimes
from ._linear_report import check_best_family as check_best_family
from ._linear_report import check_flow_timing as check_flow_timing
from ._linear_report import check_mp_bulk as check_mp_bulk
from ._linear_report import check_sgd_timing as check_sgd_timing
from ._linear_report import check_signal_in_mean as check_signal_in_mean
from ._linear_report import correlation_verdict as correlation_verdict
from ._linear_report import family_pairs_table as family_pairs_table
from ._linear_report import family_summary_table as family_summary_table
from ._linear_report import half_max_times as half_max_times
from ._linear_report import linear_claims_table as linear_claims_table
from ._linear_report import localization_summary as localization_summary
from ._linear_report import localization_table as localization_table
from ._linear_report import mp_fit_summary as mp_fit_summary
from ._linear_report import rise_times as rise_times
from ._linear_report import snr_accuracy_correlation as snr_accuracy_correlation
from ._linear_report import snr_summary as snr_summary
from ._linear_report import verdict as verdict
from ._linear_sgd import LINEAR_SGD as LINEAR_SGD
from ._linear_sgd import LinearSGD as LinearSGD
from ._linear_sgd import linear_sgd as linear_sgd
from ._linear_sgd import linear_sgd_note as linear_sgd_note
from ._linear_sgd import no_sgd_text as no_sgd_text
from ._linear_sgd import run_linear_sgd as run_linear_sgd
from ._linear_sgd import stored_linear_sgd as stored_linear_sgd
