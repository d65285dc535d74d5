"""book/07's figures (qwemlib.plots._linear), built from the stored local results (no corpus needed)."""

from __future__ import annotations

import numpy as np
import pytest

import qwemlib
from qwemlib import experiments as ex
from qwemlib import plots
from qwemlib.results import stored_path

CAP = "test caption"


@pytest.fixture(scope="module")
def ls():
    if not stored_path("local", "linear_structure.npz").exists():
        pytest.skip("data/results/local/linear_structure.npz is not stored")
    return ex.linear_structure(qwemlib.preset("local"))


def _caption(fig):
    return fig.layout.meta[plots.CAPTION_NAME]


def test_mean_share_heatmap_has_one_row_per_family(ls):
    fig = plots.mean_share_heatmap(ls, caption=CAP)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (len(ls.fams), ls.D)
    np.testing.assert_allclose(z.sum(axis=1), 1.0)
    assert _caption(fig).startswith(CAP) and "N ≥ 5" in _caption(fig)


def test_gram_spectra_figure_draws_every_eigenvalue(ls):
    fig = plots.gram_spectra_figure(ls, caption=CAP)
    per_panel = sum(3 + (ls.fits[k].n_outliers > 0) for k in ls.fits)
    assert len(fig.data) == per_panel
    ticks = [t for t in fig.data if t.name == "bulk eigenvalue"]
    crosses = [t for t in fig.data if t.name == "outlier (spike)"]
    assert sum(len(t.x) for t in ticks) + sum(len(t.x) for t in crosses) == sum(
        len(ls.spectra[k]) for k in ls.spectra)


def test_snr_figure_and_scatter(ls):
    fig = plots.snr_figure(ls, caption=CAP)
    assert len(fig.data) == 2 * len(ls.fams)
    np.testing.assert_array_equal(fig.data[0].y, ls.snr_d[ls.fams[0]])
    assert "60 random word-pair families" in _caption(fig)
    corr = ex.snr_accuracy_correlation(ls)
    fig = plots.snr_accuracy_figure(ls, corr, caption=CAP)
    assert len(fig.data) == 2 and f"{corr['rho_raw']:+.2f}" in fig.layout.annotations[0].text


def test_rise_time_figure_with_and_without_sgd(ls):
    rise = ex.rise_times(ls, None, "local")
    fig = plots.rise_time_figure(ls, rise, None, caption=CAP)
    assert len(fig.data) == 2 * len(ls.fams) + 1
    assert "no SGD run stored at this preset" in _caption(fig) and "vs SGD" not in fig.layout.title.text
    sgd = ex.LinearSGD(times=ls.flow_times, acc=ls.acc_flow, tau_own_init=ls.tau, wall_s=1.0, provenance={},
                       config={"steps": 10, "batch_pos": 5, "batch_neg": 5, "lr": 1e-3})
    rise = ex.rise_times(ls, sgd, "local")
    fig = plots.rise_time_figure(ls, rise, sgd, caption=CAP)
    assert len(fig.data) == 3 * len(ls.fams) + 1
    assert "10 steps of 5+5 pairs" in _caption(fig) and fig.layout.title.text.endswith("vs SGD")
