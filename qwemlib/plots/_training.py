"""Figures of SGD runs against the closed form (book/05: Figures 1 and 2, the loss, analogies).

Each builder takes the records of :func:`qwemlib.experiments.load_training_runs` (``runs``:
key -> field -> array) and draws them; nothing here computes more than a projection.

Used in: book/05_training.md, qwemlib/cli.py (``qwem train``: :func:`stacked`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._base import add_caption
from ._figures import singular_values_vs_time

__all__ = ["sgd_vs_theory_grid", "all_modes_figure", "half_rise_ratio_figure", "excess_loss_figure",
           "embedding_moments_figure", "accuracy_overlap_figure", "training_runs_figure", "stacked"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _captioned(fig: go.Figure, caption: str | None, title: str | None, margin: dict) -> go.Figure:
    if caption is not None:
        add_caption(fig, caption, title=title)
        fig.update_layout(margin=margin)
    return fig


def sgd_vs_theory_grid(runs: dict, labels: dict, *, caption: str, k_max: int = 16,
                       subtitle: str | None = None, title: str | None = None) -> go.Figure:
    """A 2 x 2 grid: ``s_k(t)^2`` of each run (solid) and eq. 11 from its ``W(0)`` (dashed).

    ``caption`` goes on every panel's builder; ``subtitle`` (and ``title``) on the grid."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=[labels[k] for k in runs],
                        vertical_spacing=0.14, horizontal_spacing=0.08)
    for n, key in enumerate(runs):
        r = runs[key]
        sub = singular_values_vs_time(r["times"], r["singular_values"], np.sqrt(r["theory_s2"]),
                                      t_theory=r["theory_t"], squared=True, k_max=k_max,
                                      caption=caption, measured_name="SGD")
        for tr_ in sub.data:
            tr_.showlegend = n == 0 and tr_.showlegend
            fig.add_trace(tr_, row=n // 2 + 1, col=n % 2 + 1)
        fig.update_xaxes(title_text="t = 2 g Σ η", row=n // 2 + 1, col=n % 2 + 1)
    fig.update_yaxes(title_text="s_k²", col=1)
    fig.update_layout(height=780, template="plotly_white")
    return _captioned(fig, subtitle, title, dict(t=140))


#: largest change of ``s_k^2 / lambda_k`` that all_modes_figure's eq. 11 curves may skip
THEORY_TOL = 1e-3


def _thinned(y, tol: float) -> np.ndarray:
    """Indices of ``y`` to keep so that the polyline through them stays within ``2 tol`` of
    every dropped point: a point is kept when it differs from the last kept one by more than
    ``tol``, together with the point just before it (so a flat stretch keeps both ends);
    the first and last points are always kept."""
    keep = np.zeros(len(y), bool)
    keep[[0, -1]] = True
    last = y[0]
    for i in range(1, len(y) - 1):
        if not np.isfinite(y[i]):           # a gap: keep it and both its neighbours
            keep[i - 1] = keep[i] = True
            last = np.nan
        elif not np.isfinite(last):
            keep[i] = True
            last = y[i]
        elif abs(y[i] - last) > tol:
            keep[i] = keep[i - 1] = True
            last = y[i]
    return np.flatnonzero(keep)


def _joined(x, Y, tol: float = 0.0):
    """The columns of ``Y`` (``(T, n)``) against ``x`` as one polyline broken by NaNs, in
    float32, with the 1-based column number of each point (for one trace of ``n`` curves);
    with ``tol > 0`` each curve keeps only the points :func:`_thinned` keeps."""
    x = np.asarray(x, float)
    Y = np.asarray(Y, float)
    dtype = np.int16 if Y.shape[1] < 2**15 else np.int32
    xs, ys, ks = [], [], []
    for k in range(Y.shape[1]):
        idx = _thinned(Y[:, k], tol) if tol > 0 else np.arange(len(x))
        xs += [x[idx], [np.nan]]
        ys += [Y[idx, k], [np.nan]]
        ks.append(np.full(len(idx) + 1, k + 1, dtype))
    return (np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32),
            np.concatenate(ks))


def all_modes_figure(runs: dict, labels: dict, eigenvalues, *, caption: str | None = None,
                     title: str | None = None, groups: int = 10) -> go.Figure:
    """Every mode on one time axis, one panel per run: ``s_k(t)^2 / lambda_k`` of SGD (solid,
    coloured by ``k``) and of eq. 11 from the run's ``W(0)`` (dashed, black), Figure 2 for all
    ``d`` modes.

    The modes are drawn as ``groups`` SGD traces per panel (consecutive modes, one colour
    each; hovering names the mode) and one theory trace, the curves of a trace joined with
    NaN gaps, in float32: at ``d = 200`` one trace per curve made 800 traces and a 4 MB
    page that took 15 s to load (``bench/bench_pages.py``). The predictions are smooth and
    flat before and after their step, so each keeps only the points that move it by more
    than :data:`THEORY_TOL` (the line stays within twice that of every point dropped:
    under a pixel at the figure's height)."""
    lam = np.asarray(eigenvalues, float)
    d = len(lam)
    n_groups = max(1, min(int(groups), d))
    bounds = np.linspace(0, d, n_groups + 1).round().astype(int)
    fig = make_subplots(rows=len(runs), cols=1, subplot_titles=[labels[k] for k in runs],
                        vertical_spacing=0.1)
    palette = px_colors(n_groups)
    for row, r in enumerate(runs.values(), start=1):
        s2 = r["singular_values"] ** 2 / lam
        th = r["theory_s2"] / lam
        for g, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            x, y, k = _joined(r["times"], s2[:, lo:hi])
            name = f"SGD, mode {lo + 1}" if hi == lo + 1 else f"SGD, modes {lo + 1}-{hi}"
            fig.add_trace(go.Scatter(x=x, y=y, customdata=k + k.dtype.type(lo), mode="lines",
                                     line=dict(color=palette[g], width=1), name=name,
                                     legendgroup=name, showlegend=row == 1,
                                     hovertemplate="mode %{customdata}<br>t=%{x:.4f}<br>%{y:.3f}"
                                                   "<extra>SGD</extra>"),
                          row=row, col=1)
        x, y, _ = _joined(r["theory_t"], th, tol=THEORY_TOL)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", opacity=0.6, name="eq. 11, every mode",
                                 line=dict(color="black", width=1, dash="dash"), legendgroup="th",
                                 showlegend=row == 1, hoverinfo="skip"), row=row, col=1)
        fig.update_xaxes(title_text="t = 2 g Σ η", type="log", row=row, col=1)
        fig.update_yaxes(title_text="s_k² / λ_k", range=[0, 1.3], row=row, col=1)
    fig.update_layout(height=380 * len(runs), template="plotly_white")
    return _captioned(fig, caption, title, dict(t=130))


def px_colors(n: int) -> list[str]:
    """``n`` colours along a sequential scale (mode 1 dark, mode n light)."""
    from plotly.colors import sample_colorscale

    return sample_colorscale("Viridis", [i / max(n - 1, 1) for i in range(n)])


def half_rise_ratio_figure(ratios: dict, labels: dict, eigenvalues, *, band: float = 0.1,
                           caption: str | None = None, title: str | None = None) -> go.Figure:
    """Per run (``ratios``: key -> per-mode ``t_half(SGD) / t_half(eq. 11)``), the ratio of every
    mode against its eigenvalue, with the band ``1 +- band``."""
    lam = np.asarray(eigenvalues, float)
    fig = go.Figure()
    for key, color in zip(ratios, _COLORS):
        r = np.asarray(ratios[key], float)
        fig.add_trace(go.Scatter(x=lam, y=r, mode="markers", name=labels[key],
                                 marker=dict(size=5, color=color),
                                 text=[f"mode {k + 1}" for k in range(len(r))]))
    fig.add_hrect(y0=1 - band, y1=1 + band, fillcolor="grey", opacity=0.15, line_width=0)
    fig.add_hline(y=1, line=dict(color="black", width=1))
    fig.update_layout(template="plotly_white", height=420, xaxis_title="λ_k (mode k's eigenvalue)",
                      yaxis_title="t_half(SGD) / t_half(eq. 11)", xaxis_type="log")
    return _captioned(fig, caption, title, dict(t=120))


def excess_loss_figure(curves: dict, runs: dict, labels: dict, *, caption: str | None = None,
                       title: str | None = None) -> go.Figure:
    """Per run: predicted, aligned-part and exact excess loss (``curves``: key ->
    :func:`qwemlib.experiments.excess_losses`)."""
    fig = go.Figure()
    for key, color in zip(curves, _COLORS):
        r, c = runs[key], curves[key]
        fig.add_trace(go.Scatter(x=r["theory_t"], y=c["theory"], mode="lines", name=f"{labels[key]}: theory",
                                 line=dict(color=color, dash="dash")))
        fig.add_trace(go.Scatter(x=r["times"], y=c["aligned"], mode="lines+markers", marker=dict(size=4),
                                 name=f"{labels[key]}: SGD, aligned part", line=dict(color=color)))
        fig.add_trace(go.Scatter(x=r["times"], y=c["exact"], mode="lines", opacity=0.6,
                                 name=f"{labels[key]}: SGD, exact", line=dict(color=color, dash="dot")))
    fig.update_layout(template="plotly_white", height=440, xaxis_title="t = 2 Σ η",
                      yaxis_title="excess loss over the rank-d floor")
    return _captioned(fig, caption, title, dict(t=120))


def embedding_moments_figure(runs: dict, picks: dict, labels: dict, words, *, caption: str | None = None,
                             title: str | None = None) -> go.Figure:
    """3-D scatters of the words on the final model's top-3 principal directions, one row per
    run in ``picks`` (key -> record indices), same axes in a row."""
    show = list(picks)
    ncol = max(len(p) for p in picks.values())
    titles = [f"{labels[key].split(',')[0]}, t = {runs[key]['times'][picks[key][c]]:.3f}"
              if c < len(picks[key]) else "" for key in show for c in range(ncol)]
    fig = make_subplots(rows=len(show), cols=ncol, specs=[[{"type": "scene"}] * ncol] * len(show),
                        subplot_titles=titles, vertical_spacing=0.06, horizontal_spacing=0.01)
    for row, key in enumerate(show, start=1):
        pc = runs[key]["pc"].astype(np.float64)
        lim = float(np.abs(pc[-1]).max())
        for col, i in enumerate(picks[key], start=1):
            fig.add_trace(go.Scatter3d(x=pc[i, :, 0], y=pc[i, :, 1], z=pc[i, :, 2], mode="markers",
                                       marker=dict(size=2, color=np.arange(pc.shape[1]),
                                                   colorscale="Viridis"),
                                       text=list(words), hoverinfo="text", showlegend=False),
                          row=row, col=col)
            ax = dict(range=[-lim, lim], showticklabels=False, title="")
            fig.update_scenes(xaxis=ax | dict(title="PC1"), yaxis=ax | dict(title="PC2"),
                              zaxis=ax | dict(title="PC3"), aspectmode="cube", row=row, col=col)
    fig.update_layout(height=600, template="plotly_white")
    return _captioned(fig, caption, title, dict(l=0, r=0, t=120, b=20))


def accuracy_overlap_figure(runs: dict, labels: dict, *, caption: str | None = None,
                            title: str | None = None) -> go.Figure:
    """Left: analogy accuracy over training; right: overlap with M*'s top-k eigenvectors."""
    ks = [int(k) for k in next(iter(runs.values()))["overlap_k"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("analogy accuracy",
                                                        f"overlap with M*'s top-k eigenvectors, k = {ks}"))
    colors = dict(zip(runs, _COLORS))
    for key, r in runs.items():
        name = labels[key]
        fig.add_trace(go.Scatter(x=r["times"], y=100 * r["analogy_accuracy"], name=name, mode="lines",
                                 line=dict(color=colors[key])), row=1, col=1)
        for j, k in enumerate(ks):
            fig.add_trace(go.Scatter(x=r["times"], y=r["overlap"][:, j], mode="lines", showlegend=False,
                                     name=f"{name}, k={k}", line=dict(color=colors[key], width=1 + j,
                                     dash=["dot", "dashdot", "dash", "solid"][j % 4])), row=1, col=2)
    fig.update_xaxes(title_text="t = 2 g Σ η")
    fig.update_yaxes(title_text="accuracy (%)", row=1, col=1)
    fig.update_yaxes(title_text="overlap", range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=430, template="plotly_white")
    if caption is not None:
        add_caption(fig, caption, title=title)
    return fig


def training_runs_figure(tr: dict, *, caption: str) -> go.Figure:
    """``qwem train``'s figure: per run of :func:`qwemlib.experiments.train_and_compare`,
    ``s_k(t)^2`` against eq. 11 from that run's ``W(0)``, stacked (:func:`stacked`)."""
    figs = []
    for r in tr["runs"].values():
        cfg = r["cfg"]
        name = ("QWEM SGD" if cfg.loss == "qwem"
                else f"word2vec (SGNS) SGD, g = mean G = {tr['g_sgns']:.3g}")
        figs.append(singular_values_vs_time(
            r["times"], r["res"].singular_values, np.sqrt(r["theory_s2"]), t_theory=r["theory_t"],
            squared=True, measured_name=name, time_label="theory time t = 2 g sum(lr)",
            caption=f"{caption}; {name}, {cfg.steps} steps, batch {cfg.batch_pos:,}+{cfg.batch_neg:,}, "
                    f"lr {cfg.lr:g}, init scale {cfg.init_scale:g}; theory: eq. 11 from this run's W(0)",
            title=f"{name}: s_k(t)^2 against the closed form"))
    return stacked(figs)


def stacked(figs: list[go.Figure]) -> go.Figure:
    """The figures' traces one above the other (one row each, their titles and axis labels kept)."""
    if len(figs) == 1:
        return figs[0]
    fig = make_subplots(rows=len(figs), cols=1, subplot_titles=[f.layout.title.text for f in figs],
                        vertical_spacing=0.12)
    for i, src in enumerate(figs, start=1):
        for tr_ in src.data:
            fig.add_trace(tr_, row=i, col=1)
        fig.update_xaxes(title_text=src.layout.xaxis.title.text, row=i, col=1)
        fig.update_yaxes(title_text=src.layout.yaxis.title.text, row=i, col=1)
    fig.update_layout(height=450 * len(figs), showlegend=False)
    return fig

