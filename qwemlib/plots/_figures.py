"""Line, spectrum, heat-map and parity figures (private)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ._base import _THEORY_STYLE, _as_2d, _base, mode_colors


def singular_values_vs_time(
    t,
    s,
    s_theory=None,
    *,
    caption: str,
    t_theory=None,
    title: str = "Singular values of W(t)",
    k_max: int | None = None,
    squared: bool = False,
    log_x: bool = False,
    time_label: str = "time t",
    measured_name: str = "gradient flow",
    height: int = 460,
) -> go.Figure:
    """Singular values ``s_k(t)`` of the embeddings, one line per mode, theory dashed on top.

    Args:
        t: times, shape ``(T,)``.
        s: measured singular values, shape ``(T, d)`` (descending in ``k``).
        s_theory: predicted singular values (eq. 11/13), shape ``(T', d)`` or ``None``.
        caption: provenance (``preset().caption()``).
        t_theory: times of ``s_theory`` (default: ``t``).
        k_max: draw only the first ``k_max`` modes.
        squared: plot ``s_k^2`` (which rises to ``lambda_k``) instead of ``s_k``.
        log_x: logarithmic time axis.

    Traces: ``k`` measured traces named ``"s_k"`` (``legendgroup="measured"``), then,
    if given, ``k`` theory traces (``legendgroup="theory"``), only the first in the legend.
    """
    t = np.asarray(t, dtype=float)
    s = _as_2d("s", s, len(t))
    k = s.shape[1] if k_max is None else min(k_max, s.shape[1])
    colors = mode_colors(k)
    power = 2 if squared else 1
    sym = "s<sub>{}</sub>" + ("²" if squared else "")
    fig = _base(
        caption, title, height,
        xaxis_title=time_label, yaxis_title="s<sub>k</sub>²" if squared else "s<sub>k</sub>",
        legend=dict(groupclick="toggleitem"),
    )
    for j in range(k):
        fig.add_trace(go.Scatter(
            x=t, y=s[:, j] ** power, mode="lines", name=sym.format(j + 1),
            line=dict(color=colors[j], width=2), legendgroup="measured",
            legendgrouptitle_text=measured_name if j == 0 else None,
            showlegend=k <= 12 or j == 0,
            hovertemplate=f"k={j + 1}<br>t=%{{x:.3g}}<br>value=%{{y:.4g}}<extra>{measured_name}</extra>",
        ))
    if s_theory is not None:
        tt = t if t_theory is None else np.asarray(t_theory, dtype=float)
        st = _as_2d("s_theory", s_theory, len(tt))
        for j in range(min(k, st.shape[1])):
            fig.add_trace(go.Scatter(
                x=tt, y=st[:, j] ** power, mode="lines", name="theory",
                line=_THEORY_STYLE, legendgroup="theory", showlegend=j == 0,
                hovertemplate=f"k={j + 1}<br>t=%{{x:.3g}}<br>theory=%{{y:.4g}}<extra></extra>",
            ))
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def loss_curve(
    t,
    loss,
    loss_theory=None,
    *,
    caption: str,
    t_theory=None,
    title: str = "Loss",
    log_x: bool = False,
    log_y: bool = False,
    time_label: str = "time t",
    measured_name: str = "gradient flow",
    y_label: str = "loss",
    height: int = 380,
) -> go.Figure:
    """Loss against time, measured (solid) and predicted (dashed). Traces: measured, theory."""
    t = np.asarray(t, dtype=float)
    loss = np.asarray(loss, dtype=float)
    if loss.shape != t.shape:
        raise ValueError(f"loss has shape {loss.shape} but t has shape {t.shape}; pass one value per time")
    fig = _base(caption, title, height, xaxis_title=time_label, yaxis_title=y_label)
    fig.add_trace(go.Scatter(x=t, y=loss, mode="lines", name=measured_name,
                             line=dict(color="#1f77b4", width=2.5)))
    if loss_theory is not None:
        tt = t if t_theory is None else np.asarray(t_theory, dtype=float)
        lt = np.asarray(loss_theory, dtype=float)
        if lt.shape != tt.shape:
            raise ValueError(f"loss_theory has shape {lt.shape} but its times have shape {tt.shape}")
        fig.add_trace(go.Scatter(x=tt, y=lt, mode="lines", name="theory", line=_THEORY_STYLE))
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def eigenvalue_spectrum(
    eigenvalues,
    *,
    caption: str,
    d: int | None = None,
    top: int | None = None,
    title: str = "Eigenvalues of M*",
    name: str = "λ<sub>k</sub>",
    log_y: bool = False,
    extra: dict | None = None,
    height: int = 400,
) -> go.Figure:
    """Eigenvalues in decreasing algebraic order against their rank ``k``.

    Args:
        eigenvalues: 1-D array (any order; sorted here, decreasing).
        d: if given, a vertical line after the ``d``-th eigenvalue (what a rank-d model keeps).
        top: draw only the ``top`` largest.
        log_y: log scale (only the positive eigenvalues are drawn then).
        extra: more spectra to overlay, ``{name: eigenvalues}``.

    Traces: the spectrum, then one per ``extra`` entry.
    """
    def prep(ev):
        ev = np.sort(np.asarray(ev, dtype=float).ravel())[::-1]
        if top is not None:
            ev = ev[:top]
        if log_y:
            ev = ev[ev > 0]
        return ev

    ev = prep(eigenvalues)
    if ev.size == 0:
        raise ValueError("no eigenvalues to plot (with log_y=True only positive ones are drawn)")
    fig = _base(caption, title, height, xaxis_title="rank k", yaxis_title="eigenvalue")
    fig.add_trace(go.Scatter(x=np.arange(1, ev.size + 1), y=ev, mode="lines+markers",
                             marker=dict(size=4), name=name))
    for label, other in (extra or {}).items():
        ov = prep(other)
        fig.add_trace(go.Scatter(x=np.arange(1, ov.size + 1), y=ov, mode="lines", name=label))
    if d is not None:
        fig.add_vline(x=d + 0.5, line=dict(color="gray", dash="dot"),
                      annotation_text=f"d = {d}", annotation_position="top right")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def heatmap(
    matrix,
    *,
    caption: str,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    title: str = "",
    colorscale: str = "RdBu_r",
    zmid: float | None = 0.0,
    colorbar_title: str = "",
    height: int = 560,
) -> go.Figure:
    """A labelled heatmap (rows = ``y_labels``, top row first). Trace: one ``go.Heatmap``."""
    z = np.asarray(matrix, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"matrix must be 2-D; got shape {z.shape}")
    for name, labels, n in (("x_labels", x_labels, z.shape[1]), ("y_labels", y_labels, z.shape[0])):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} entries but the matrix needs {n}")
    fig = _base(caption, title, height)
    fig.add_trace(go.Heatmap(
        z=z, x=list(x_labels) if x_labels is not None else None,
        y=list(y_labels) if y_labels is not None else None,
        colorscale=colorscale, zmid=zmid, colorbar=dict(title=dict(text=colorbar_title)),
    ))
    fig.update_yaxes(autorange="reversed")
    return fig


def parity_plot(
    x,
    y,
    *,
    caption: str,
    title: str = "",
    x_label: str = "x",
    y_label: str = "y",
    text: Sequence[str] | None = None,
    max_points: int = 5000,
    seed: int = 0,
    height: int = 460,
) -> go.Figure:
    """Scatter of ``y`` against ``x`` with the line ``y = x``; for "theory vs numerics" checks.

    At most ``max_points`` points are drawn (a fixed random subset, ``seed``), so the
    page stays small. Traces: the points, then the diagonal.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same number of entries; got {x.size} and {y.size}")
    idx = np.arange(x.size)
    if x.size > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(x.size, max_points, replace=False))
    fig = _base(caption, title, height, xaxis_title=x_label, yaxis_title=y_label)
    fig.add_trace(go.Scattergl(
        x=x[idx], y=y[idx], mode="markers", name="pairs", marker=dict(size=4, opacity=0.5),
        text=None if text is None else [text[i] for i in idx],
    ))
    lo = float(min(x[idx].min(), y[idx].min()))
    hi = float(max(x[idx].max(), y[idx].max()))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                             line=dict(color="black", dash="dash")))
    return fig
