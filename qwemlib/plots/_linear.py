"""Figures of book/07 (linear structure: task vectors, MP fits, SNR, rise times) (private).

Each builder takes the :class:`qwemlib.experiments.LinearStructure` (``ls``) that the
chapter shows, plus what the chapter computed from it (the rank correlation, the rise
times, the stored SGD record); none of them computes anything but array slices.

Used in: book/07_linear_structure.md.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..experiments import LINEAR_CONSTANTS as _C
from ._base import add_caption, mode_colors
from ._figures import heatmap

__all__ = ["mean_share_heatmap", "gram_spectra_figure", "snr_figure", "snr_accuracy_figure",
           "rise_time_figure"]


def _labels(ls, sep: str = "N=") -> list[str]:
    return [f"{ls.short[f]} ({sep}{ls.Ns[f]})" for f in ls.fams]


def mean_share_heatmap(ls, *, caption: str) -> go.Figure:
    """Share of each family's mean task vector on each eigen-feature (cf. paper Fig. 4, top)."""
    loc, n_min = ls.loc, _C["n_min"]
    fig = heatmap(
        np.array([loc[f].weights for f in ls.fams]), x_labels=[str(k) for k in range(1, ls.D + 1)],
        y_labels=_labels(ls), colorscale="Blues", zmid=None, colorbar_title="share",
        height=140 + 28 * len(ls.fams),
        caption=caption + f"; closed-form QWEM, d = {ls.D}; Google analogy families with N ≥ {n_min}",
        title="Share of each family's mean task vector on each eigen-feature (cf. paper Fig. 4, top)",
    )
    fig.update_xaxes(title="eigen-feature k (1 = largest eigenvalue)")
    return fig


def gram_spectra_figure(ls, *, caption: str) -> go.Figure:
    """Histogram of each family's Gram spectrum at each fitted ``d``, with the fitted MP bulk.

    Traces per panel: the histogram, the fitted density (scaled by the bulk's share), the bulk
    eigenvalues as ticks and, if any, the outliers as crosses (paper Figs. 4 left, 6).
    """
    fams, Ns, dl = ls.fams, ls.Ns, ls.d_list
    fig = make_subplots(rows=len(fams), cols=len(dl), vertical_spacing=0.5 / len(fams),
                        horizontal_spacing=0.06,
                        subplot_titles=[f"{ls.short[f]} (N={Ns[f]}), d={d}" for f in fams for d in dl])
    for i, f in enumerate(fams, start=1):
        for j, d in enumerate(dl, start=1):
            lam, fit = ls.spectra[f, d], ls.fits[f, d]
            k = fit.n_outliers
            first = i == 1 and j == 1
            fig.add_trace(go.Histogram(x=lam, histnorm="probability density", nbinsx=10,
                                       marker_color="#9ecae1", name="eigenvalues of G", showlegend=first,
                                       legendgroup="h"), row=i, col=j)
            lo, hi = fit.edges
            x = np.linspace(lo + 0.02 * (hi - lo), hi, 200)      # the density diverges at 0 when gamma = 1
            fig.add_trace(go.Scatter(x=x, y=fit.pdf(x) * (Ns[f] - k) / Ns[f], mode="lines",
                                     line=dict(color="darkorange", width=2), name="fitted MP bulk",
                                     showlegend=first, legendgroup="mp"), row=i, col=j)
            fig.add_trace(go.Scatter(x=lam[k:], y=np.zeros(Ns[f] - k), mode="markers",
                                     marker=dict(symbol="line-ns-open", size=10, color="gray"),
                                     name="bulk eigenvalue", showlegend=first, legendgroup="b"), row=i, col=j)
            if k:
                fig.add_trace(go.Scatter(x=lam[:k], y=np.zeros(k), mode="markers",
                                         marker=dict(symbol="x", size=10, color="crimson"),
                                         name="outlier (spike)", showlegend=first, legendgroup="o"),
                              row=i, col=j)
    fig.update_annotations(font_size=11)
    fig.update_layout(template="plotly_white", height=120 + 190 * len(fams), bargap=0.05,
                      legend=dict(orientation="h", y=-0.02, yanchor="top"))
    add_caption(fig, caption + f"; closed-form QWEM truncated to d; Google analogy families with "
                f"N ≥ {_C['n_min']}; x: eigenvalues of G = R Rᵀ, y: density",
                title="Gram spectra of task vectors with fitted Marchenko–Pastur bulk "
                "(cf. paper Figs. 4 left, 6)")
    fig.update_layout(margin=dict(t=140))
    return fig


def snr_figure(ls, *, caption: str) -> go.Figure:
    """SNR against ``d`` per family (left) and divided by the random-pair 95th percentile (right)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["SNR of the family's Gram matrix",
                                        "SNR ÷ 95th percentile of random word pairs (same N, d)"])
    excess = ls.excess
    for c, f, label in zip(mode_colors(len(ls.fams), "Turbo"), ls.fams, _labels(ls)):
        fig.add_trace(go.Scatter(x=ls.d_all, y=ls.snr_d[f], name=label, legendgroup=f,
                                 line=dict(color=c)), row=1, col=1)
        fig.add_trace(go.Scatter(x=ls.d_all, y=excess[f], name=ls.short[f], legendgroup=f, showlegend=False,
                                 line=dict(color=c)), row=1, col=2)
    fig.add_hline(y=1.0, line=dict(color="gray", dash="dash"), row=1, col=2)
    fig.update_xaxes(title="model dimension d (≙ training time)", type="log")
    fig.update_layout(template="plotly_white", height=470)
    return add_caption(fig, caption + f"; closed-form QWEM truncated to d; baseline: {_C['n_base']} random "
                       "word-pair families per N",
                       title="Spike strength against model size (cf. paper Fig. 4, bottom)")


def snr_accuracy_figure(ls, corr: dict, *, caption: str) -> go.Figure:
    """Accuracy at full ``d`` against max SNR (left) and max SNR / baseline (right), one dot per family.

    ``corr`` is :func:`qwemlib.experiments.snr_accuracy_correlation`'s dict.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=[f"max SNR over d: Spearman ρ = {corr['rho_raw']:+.2f}",
                                        f"max SNR ÷ random baseline: ρ = {corr['rho_exc']:+.2f}"])
    labels = _labels(ls, sep="")
    for col, x in ((1, corr["x_raw"]), (2, corr["x_exc"])):
        fig.add_trace(go.Scatter(x=x, y=corr["y_acc"], mode="markers+text", text=labels,
                                 textposition="middle right", textfont=dict(size=10),
                                 marker=dict(size=9, color="steelblue"), showlegend=False), row=1, col=col)
        pad = 0.08 * (x.max() - x.min() + 1e-9)
        fig.update_xaxes(range=[x.min() - pad, x.max() + 4 * pad], row=1, col=col)
    fig.update_yaxes(title=f"analogy accuracy at d = {ls.D}", row=1, col=1)
    fig.update_xaxes(title="max over d of SNR", row=1, col=1)
    fig.update_xaxes(title="max over d of SNR / baseline", row=1, col=2)
    fig.update_layout(template="plotly_white", height=470)
    return add_caption(fig, caption + "; closed-form QWEM; accuracy: 3CosAdd, pairs protocol; "
                       "label: family (N)",
                       title="Does a stronger spike mean better analogies? (cf. paper Fig. 4, bottom)")


def rise_time_figure(ls, rise, sgd=None, *, caption: str, ncol: int = 4) -> go.Figure:
    """Per-family accuracy over training: gradient flow, the closed form at ``d = k`` placed at
    ``t = tau_k``, SGD (when ``sgd`` is a stored record) and the predicted half-rise time."""
    fams, tau, D = ls.fams, ls.tau, ls.D
    sigma, seed = _C["flow_sigma"], _C["flow_seed"]
    nrow = int(np.ceil(len(fams) / ncol))
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=_labels(ls),
                        vertical_spacing=0.5 / max(nrow, 2), horizontal_spacing=0.05)
    for j, f in enumerate(fams):
        r, c = j // ncol + 1, j % ncol + 1
        first = j == 0
        fig.add_trace(go.Scatter(x=ls.flow_times, y=ls.acc_flow[:, j], mode="lines+markers",
                                 marker=dict(size=4), line=dict(color="steelblue"), name="gradient flow",
                                 showlegend=first, legendgroup="flow"), row=r, col=c)
        fig.add_trace(go.Scatter(x=tau[ls.d_grid - 1], y=ls.acc_grid[:, j], mode="lines",
                                 line=dict(color="black", dash="dash", shape="hv"),
                                 name="closed form at d = k, placed at t = τ_k", showlegend=first,
                                 legendgroup="cf"), row=r, col=c)
        if sgd is not None:
            fig.add_trace(go.Scatter(x=sgd.times[1:], y=sgd.acc[1:, j], mode="lines+markers",
                                     marker=dict(size=3), line=dict(color="seagreen", width=1),
                                     name="SGD (negatives uniform, stored)", showlegend=first,
                                     legendgroup="sgd"), row=r, col=c)
        fig.add_vline(x=rise.pred[f]["t_pred"], line=dict(color="darkorange", dash="dot"), row=r, col=c)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="darkorange", dash="dot"),
                             name="predicted half-rise time t_pred"))
    fig.update_xaxes(type="log", title="time t")
    fig.update_yaxes(title="accuracy", col=1)
    fig.update_layout(template="plotly_white", height=160 + 280 * nrow,
                      legend=dict(orientation="h", y=-0.12, yanchor="top"))
    if sgd is not None:
        s = sgd.config
        sgd_cap = (f"; SGD: QWEM, negatives uniform, {s['steps']} steps of {s['batch_pos']:,}+"
                   f"{s['batch_neg']:,} pairs, lr {s['lr']:g} cosine, same σ and seed (JAX draw), t = 2Σηₛ")
    else:
        sgd_cap = "; no SGD run stored at this preset"
    return add_caption(fig, caption + f"; QWEM gradient flow on M* from N(0, σ²), σ = {sigma:g}, d = {D}, "
                       f"seed {seed}" + sgd_cap + "; accuracy: 3CosAdd, pairs protocol",
                       title="Per-family analogy accuracy during training: prediction from d ↔ t vs "
                       "gradient flow"
                       + (" vs SGD" if sgd is not None else ""))
