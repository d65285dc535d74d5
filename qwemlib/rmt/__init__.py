"""Task vectors and their random-matrix description (paper, Section 4 and Appendix A.6).

A *semantic binary* is a list of word pairs ``(a, b)`` such as ``(going, went)``. Its
task vectors are the rows ``W[b] - W[a]`` (``went - going``), stacked into ``R`` with
shape ``(N, d)``. The paper finds that the spectrum of the Gram matrix ``G = R R^T``
(``N x N``, *not* divided by ``d``) looks like a Marchenko-Pastur (MP) bulk plus one
outlier "spike" (a spiked covariance model), the spike carrying the mean task vector.

* ``_task``: :func:`task_vectors`, :func:`truncate` (Appendix A.6),
  :func:`gram_spectrum`, :func:`snr` (Section 4), :func:`signal_in_mean` (eq. 26),
  :func:`mean_localization` (Figure 4, top);
* ``_mp``: the MP law of eq. 24-25, :func:`mp_density`, :func:`mp_cdf`,
  :func:`mp_edges`, :func:`mp_atom`, :func:`ks_distance`;
* ``_fit`` (over ``_bulk``): :func:`fit_marchenko_pastur` returning :class:`MPFit`,
  :func:`paper_sigma2`;
* ``_synthetic``: :func:`spiked_wishart` and its BBP spike, :func:`spike_eigenvalue`.

Scaling (read this once). Eq. 24 is the law of the eigenvalues of ``d^{-1} Xi Xi^T``
for ``Xi`` of shape ``N x d`` with i.i.d. entries of variance ``sigma2`` and ``gamma =
N / d``. The paper plots the eigenvalues ``lambda`` of ``R R^T`` itself, so the law is
fitted to ``x = lambda / n_dims`` with ``n_dims`` the embedding dimension ``d`` of
``R``: ``sigma2`` is a per-entry variance (the paper's ``sigma2``, the population
variance of the centred ``R``, estimates the same number) and ``gamma = N / d_eff``
measures the *shape* of the bulk. :class:`MPFit`'s ``pdf``, ``cdf`` and ``edges`` are in
the units of the eigenvalues of ``R R^T``, ready to overlay on the paper's histograms
with no hand factor.

Used in: book/07_linear_structure.md; tools/make_results.py.
"""

from ._checks import EIG_RTOL as EIG_RTOL
from ._fit import TW1_Q99 as TW1_Q99
from ._fit import MPFit as MPFit
from ._fit import fit_marchenko_pastur as fit_marchenko_pastur
from ._fit import paper_sigma2 as paper_sigma2
from ._mp import ks_distance as ks_distance
from ._mp import mp_atom as mp_atom
from ._mp import mp_cdf as mp_cdf
from ._mp import mp_density as mp_density
from ._mp import mp_edges as mp_edges
from ._synthetic import spike_eigenvalue as spike_eigenvalue
from ._synthetic import spiked_wishart as spiked_wishart
from ._task import MeanLocalization as MeanLocalization
from ._task import gram_spectrum as gram_spectrum
from ._task import mean_localization as mean_localization
from ._task import signal_in_mean as signal_in_mean
from ._task import snr as snr
from ._task import task_vectors as task_vectors
from ._task import truncate as truncate

__all__ = [
    "MPFit",
    "MeanLocalization",
    "TW1_Q99",
    "EIG_RTOL",
    "task_vectors",
    "truncate",
    "gram_spectrum",
    "mp_edges",
    "mp_atom",
    "mp_density",
    "mp_cdf",
    "ks_distance",
    "paper_sigma2",
    "fit_marchenko_pastur",
    "snr",
    "signal_in_mean",
    "mean_localization",
    "spiked_wishart",
    "spike_eigenvalue",
]
