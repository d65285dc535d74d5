"""Experiments: each a function that both a chapter and ``tools/make_results.py`` call.

An experiment takes the corpus statistics (and a preset) and returns plain arrays and
dicts; it decides whether to read a stored result (:mod:`qwemlib.results`) or compute
live, and says which it did. Chapters show what it returns; ``tools/make_results.py``
stores it. Nothing here plots.

Used in: book/04_stepwise.md, book/05_training.md, book/06_qwem_vs_word2vec.md, book/07_linear_structure.md.
"""

# Re-exports (``from ._x import name as name`` marks a public name), sorted by module:
#   book/05, training against the theory: _training, _training_checks, _sampling
#   book/06, closed-form trio, gensim peer, features, claims: _closed_forms, _peer,
#            _features, _comparison, _claims, _pmi_conventions (svd(PMI) conventions)
#   book/07, linear structure, its claims: _linear, _linear_report, _linear_sgd, _linear_claims
#   book/04, the sigma x d slider's flows on one time grid: _stepwise_grid
#   the claims register (every chapter): _register
import importlib as _importlib

from ._appendix import appendix_embeddings as appendix_embeddings
from ._appendix import appendix_verdicts as appendix_verdicts
from ._claims import CLOSE_POINTS as CLOSE_POINTS
from ._claims import LIVE_TOLERANCE as LIVE_TOLERANCE
from ._claims import QWEM_ROLES as QWEM_ROLES
from ._claims import WORD2VEC_ROLES as WORD2VEC_ROLES
from ._claims import ChapterClaims as ChapterClaims
from ._claims import judge_claims as judge_claims
from ._closed_forms import ARPACK_MAX_V as ARPACK_MAX_V
from ._closed_forms import TRIO as TRIO
from ._closed_forms import closed_form_benchmark as closed_form_benchmark
from ._closed_forms import closed_forms as closed_forms
from ._closed_forms import eigen_method as eigen_method
from ._closed_forms import save_closed_forms as save_closed_forms
from ._comparison import MODEL_ORDER as MODEL_ORDER
from ._comparison import PAPER_FIGURE_3B as PAPER_FIGURE_3B
from ._comparison import QWEM_EXACT as QWEM_EXACT
from ._comparison import QWEM_UNIFORM as QWEM_UNIFORM
from ._comparison import SGD_RUN_MODELS as SGD_RUN_MODELS
from ._comparison import ModelComparison as ModelComparison
from ._comparison import Recheck as Recheck
from ._comparison import assign_roles as assign_roles
from ._comparison import benchmark_frame as benchmark_frame
from ._comparison import model_comparison as model_comparison
from ._comparison import paper_table as paper_table
from ._comparison import recheck_closed_form as recheck_closed_form
from ._comparison import side_by_side as side_by_side
from ._features import FEATURE_TOPN as FEATURE_TOPN
from ._features import FeatureSummary as FeatureSummary
from ._features import component_table as component_table
from ._features import feature_summary as feature_summary
from ._features import shown_components as shown_components
from ._features import subspace_ks as subspace_ks
from ._features import subspace_table as subspace_table
from ._linear import LINEAR_CONSTANTS as LINEAR_CONSTANTS
from ._linear import LIVE_MAX_V as LIVE_MAX_V
from ._linear import LinearStructure as LinearStructure
from ._linear import compute_linear_structure as compute_linear_structure
from ._linear import linear_structure_arrays as linear_structure_arrays
from ._linear_claims import linear_verdicts as linear_verdicts
from ._linear_claims import verdict_summary as verdict_summary
from ._linear_report import RiseTimes as RiseTimes
from ._linear_report import check_signal_in_mean as check_signal_in_mean
from ._linear_report import emergence_scores as emergence_scores
from ._linear_report import family_pairs_table as family_pairs_table
from ._linear_report import family_summary_table as family_summary_table
from ._linear_report import half_max_times as half_max_times
from ._linear_report import localization_summary as localization_summary
from ._linear_report import localization_table as localization_table
from ._linear_report import mp_fit_summary as mp_fit_summary
from ._linear_report import rise_fall_fraction as rise_fall_fraction
from ._linear_report import rise_times as rise_times
from ._linear_report import snr_accuracy_correlation as snr_accuracy_correlation
from ._linear_report import snr_summary as snr_summary
from ._linear_report import spearman_greater as spearman_greater
from ._linear_sgd import LINEAR_SGD as LINEAR_SGD
from ._linear_sgd import LinearSGD as LinearSGD
from ._linear_sgd import linear_sgd as linear_sgd
from ._linear_sgd import linear_sgd_note as linear_sgd_note
from ._linear_sgd import run_linear_sgd as run_linear_sgd
from ._linear_sgd import sgd_source_text as sgd_source_text
from ._linear_sgd import stored_linear_sgd as stored_linear_sgd
from ._linear_store import check_const as check_const
from ._linear_store import linear_structure as linear_structure
from ._linear_store import load_linear_structure as load_linear_structure
from ._linear_store import run_linear_structure as run_linear_structure
from ._peer import GENSIM_EPOCHS as GENSIM_EPOCHS
from ._peer import GENSIM_EPOCHS_LARGE as GENSIM_EPOCHS_LARGE
from ._peer import GENSIM_PARAMS as GENSIM_PARAMS
from ._peer import gensim_embeddings as gensim_embeddings
from ._pmi_conventions import BOOK_CONVENTION as BOOK_CONVENTION
from ._pmi_conventions import CONVENTIONS as CONVENTIONS
from ._pmi_conventions import PAPER_CONVENTION as PAPER_CONVENTION
from ._pmi_conventions import PAPER_EPS as PAPER_EPS
from ._pmi_conventions import PMIConvention as PMIConvention
from ._pmi_conventions import conventions_frame as conventions_frame
from ._pmi_conventions import conventions_summary as conventions_summary
from ._pmi_conventions import pmi_convention_table as pmi_convention_table
from ._pmi_conventions import pmi_convention_tables as pmi_convention_tables
from ._pmi_conventions import pmi_conventions as pmi_conventions
from ._pmi_conventions import pmi_embeddings as pmi_embeddings
from ._pmi_conventions import pmi_matrix as pmi_matrix
from ._pmi_conventions import prefix_statistics as prefix_statistics
from ._pmi_conventions import save_pmi_conventions as save_pmi_conventions
from ._pmi_conventions import size_frame as size_frame
from ._register import VERDICTS as VERDICTS
from ._register import Claim as Claim
from ._register import Criterion as Criterion
from ._register import Verdict as Verdict
from ._register import collect_claims as collect_claims
from ._register import judge as judge
from ._register import verdict_table as verdict_table
from ._sampling import estimator_errors as estimator_errors
from ._sampling import gradient_errors as gradient_errors
from ._sampling import loglog_slope as loglog_slope
from ._stepwise_grid import StepwiseFrame as StepwiseFrame
from ._stepwise_grid import StepwiseFrames as StepwiseFrames
from ._stepwise_grid import grid_cells as grid_cells
from ._stepwise_grid import separating_grid as separating_grid
from ._stepwise_grid import step_time_grid as step_time_grid
from ._stepwise_grid import stepwise_frames as stepwise_frames
from ._training import N_PC_WORDS as N_PC_WORDS
from ._training import TrainingRecords as TrainingRecords
from ._training import config_rows as config_rows
from ._training import load_stored_runs as load_stored_runs
from ._training import load_training_runs as load_training_runs
from ._training import replay_first_steps as replay_first_steps
from ._training import run_configs as run_configs
from ._training import train_against_theory as train_against_theory
from ._training import train_and_compare as train_and_compare
from ._training import train_arrays as train_arrays
from ._training_checks import AGREEMENT as AGREEMENT
from ._training_checks import check_training as check_training
from ._training_checks import excess_losses as excess_losses
from ._training_checks import half_rise_rows as half_rise_rows
from ._training_checks import mode_agreement as mode_agreement
from ._training_checks import moments as moments
from ._training_checks import rank_d_floor as rank_d_floor
from ._training_checks import training_verdicts as training_verdicts
from ._training_plan import PLANS as PLANS
from ._training_plan import RUN_LABELS as RUN_LABELS
from ._training_plan import RUNS as RUNS
from ._training_plan import SGD as SGD
from ._training_plan import SMALL_INIT as SMALL_INIT
from ._training_plan import RunSpec as RunSpec
from ._training_plan import record_steps as record_steps
from ._training_plan import training_plan as training_plan

#: The modules (of this package) that declare ``CLAIMS``, one line each; a module that can
#: judge its claims from stored results also exposes ``measure_claims(preset) -> list[Verdict]``
#: (``tools/verdicts.py`` calls it).
CLAIM_MODULES: tuple[str, ...] = (
    "_appendix",         # book/08 (measure_claims)
    "_claims",           # book/06 (measure_claims)
    "_linear_claims",    # book/07 (measure_claims)
    "_training_checks",  # book/05 (measure_claims)
)

#: Every claim the book judges, by key (assembled from each module's ``CLAIMS``).
REGISTER = collect_claims(
    *(_importlib.import_module(f".{name}", __name__).CLAIMS for name in CLAIM_MODULES)
)
