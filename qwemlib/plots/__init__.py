"""Plotly figure builders for the book (the only module besides ``widgets`` that imports plotly).

Every builder returns a :class:`plotly.graph_objects.Figure` and takes a ``caption``:
a provenance string (normally ``qwemlib.preset().caption()``) that is drawn as the
figure's subtitle, so a figure copied out of the book still says which corpus and
preset produced it. Builders never compute anything expensive: they take arrays that
the library (``theory``, ``flow``, ``stats``) already produced.

Rendering in the built book: ``tools/build_book.py`` sets ``QWEM_BOOK_BUILD=1``; on
import this module then registers the ``qwem_book`` renderer (:func:`use_book_renderer`),
which writes each figure as a ``<div>`` plus a ``Plotly.newPlot`` call, with neither a
copy of plotly.js nor a CDN MathJax in it. The page loads the book's own plotly.js once
(``tools/qwem_sphinx.py``). In JupyterLab nothing changes: plotly's default renderer is used.

Used in: book/intro.md, book/01_word2vec_pmi.md, and the later chapters.
"""

from ._base import CAPTION_NAME as CAPTION_NAME
from ._base import TRACES_ATTR as TRACES_ATTR
from ._base import add_caption as add_caption
from ._base import mode_colors as mode_colors
from ._base import trace_types as trace_types
from ._base import use_book_renderer as use_book_renderer
from ._benchmarks import overlap_heatmaps as overlap_heatmaps
from ._dynamics import add_rank_axis as add_rank_axis
from ._dynamics import alignment_figure as alignment_figure
from ._dynamics import sigmoid_collapse as sigmoid_collapse
from ._dynamics import stepwise_grid as stepwise_grid
from ._figures import eigenvalue_spectrum as eigenvalue_spectrum
from ._figures import heatmap as heatmap
from ._figures import loss_curve as loss_curve
from ._figures import parity_plot as parity_plot
from ._figures import singular_values_vs_time as singular_values_vs_time
from ._linear import gram_spectra_figure as gram_spectra_figure
from ._linear import mean_share_heatmap as mean_share_heatmap
from ._linear import rise_time_figure as rise_time_figure
from ._linear import snr_accuracy_figure as snr_accuracy_figure
from ._linear import snr_figure as snr_figure
from ._sliders import slider_figure as slider_figure
from ._training import accuracy_overlap_figure as accuracy_overlap_figure
from ._training import all_modes_figure as all_modes_figure
from ._training import embedding_moments_figure as embedding_moments_figure
from ._training import excess_loss_figure as excess_loss_figure
from ._training import half_rise_ratio_figure as half_rise_ratio_figure
from ._training import sgd_vs_theory_grid as sgd_vs_theory_grid
from ._training import stacked as stacked
from ._training import training_runs_figure as training_runs_figure

__all__ = [
    "CAPTION_NAME",
    "use_book_renderer",
    "add_caption",
    "mode_colors",
    "singular_values_vs_time",
    "loss_curve",
    "eigenvalue_spectrum",
    "heatmap",
    "parity_plot",
    "slider_figure",
    "mean_share_heatmap",
    "gram_spectra_figure",
    "snr_figure",
    "snr_accuracy_figure",
    "rise_time_figure",
    "sigmoid_collapse",
    "alignment_figure",
    "add_rank_axis",
    "stepwise_grid",
    "overlap_heatmaps",
    "sgd_vs_theory_grid",
    "all_modes_figure",
    "half_rise_ratio_figure",
    "excess_loss_figure",
    "embedding_moments_figure",
    "accuracy_overlap_figure",
    "stacked",
    "training_runs_figure",
]
