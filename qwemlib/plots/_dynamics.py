"""Figures of the aligned and stepwise dynamics (eq. 10-13) for chapters 3 and 4 (private)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._base import _as_2d, _base, mode_colors
from ._sliders import slider_figure


def sigmoid_collapse(t, s2, values, tau, *, caption: str, title: str = "All modes on one sigmoid",
                     x_range: float = 12.0, height: int = 420) -> go.Figure:
    """Every mode rescaled onto the logistic curve: ``s_k(t)^2 / lambda_k`` against ``lambda_k (t - tau_k)``.

    Eq. 11 from an aligned start is ``lambda_k / (1 + e^{-lambda_k (t - tau'_k)})``, so
    each measured mode (markers) should fall on ``1 / (1 + e^{-x})`` (dashed).

    Args:
        t: ``(T,)`` times.
        s2: ``(T, d)`` measured squared singular values.
        values: ``(d,)`` eigenvalues ``lambda_k``.
        tau: ``(d,)`` time scales ``tau_k`` (:attr:`ClosedFormDynamics.tau`).

    Traces: one marker trace per mode, then the logistic curve.

    Used in: book/03_aligned_dynamics.md.
    """
    t = np.asarray(t, dtype=float)
    s2 = _as_2d("s2", s2, len(t))
    lam, tau = np.asarray(values, dtype=float), np.asarray(tau, dtype=float)
    d = s2.shape[1]
    if lam.shape != (d,) or tau.shape != (d,):
        raise ValueError(f"values and tau must have shape ({d},) to match s2; got {lam.shape}, {tau.shape}")
    fig = _base(caption, title, height, xaxis_title="λ_k (t − τ_k)", yaxis_title="s_k(t)² / λ_k",
                xaxis_range=[-x_range, x_range])
    colors = mode_colors(d)
    for k in range(d):
        fig.add_trace(go.Scatter(x=lam[k] * (t - tau[k]), y=s2[:, k] / lam[k], mode="markers",
                                 marker=dict(size=4, color=colors[k]), name=f"mode {k + 1}"))
    x = np.linspace(-x_range, x_range, 200)
    fig.add_trace(go.Scatter(x=x, y=1 / (1 + np.exp(-x)), mode="lines", name="1 / (1 + e^(-x))",
                             line=dict(color="black", dash="dash")))
    return fig


def alignment_figure(t, overlap: Mapping[int, np.ndarray], ratio, *, caption: str,
                     title: str = "Directions align (solid) before the singular values grow (dotted)",
                     height: int = 430) -> go.Figure:
    """Silent alignment: overlap of the top-``k`` directions (solid) against ``s_k^2 / lambda_k`` (dotted).

    Args:
        t: ``(T,)`` times.
        overlap: ``{k: (T,) overlaps}`` (:meth:`qwemlib.flow.FlowResult.alignment`).
        ratio: ``(T, d)`` measured ``s_k(t)^2 / lambda_k``; column ``k - 1`` is drawn for each ``k``.

    Traces: for each ``k`` in ``overlap``, its overlap, then its ratio.

    Used in: book/04_stepwise.md.
    """
    t = np.asarray(t, dtype=float)
    ratio = _as_2d("ratio", ratio, len(t))
    fig = _base(caption, title, height, xaxis_title="time t", yaxis_title="overlap or s_k²/λ_k")
    for c, k in zip(mode_colors(len(overlap)), overlap):
        fig.add_trace(go.Scatter(x=t, y=overlap[k], name=f"overlap, top {k}", line=dict(color=c, width=2.5)))
        fig.add_trace(go.Scatter(x=t, y=ratio[:, k - 1], name=f"s_{k}² / λ_{k}",
                                 line=dict(color=c, dash="dot")))
    return fig


def add_rank_axis(fig: go.Figure, t, rank, d: int, *, name: str = "rank learned (flow)") -> go.Figure:
    """Draw the number of learned modes (a staircase) on a right-hand axis from 0 to ``d``.

    Used in: book/04_stepwise.md (over :func:`loss_curve`).
    """
    fig.add_trace(go.Scatter(x=np.asarray(t, dtype=float), y=np.asarray(rank), name=name, yaxis="y2",
                             line=dict(color="firebrick", shape="hv")))
    fig.update_layout(yaxis2=dict(title="modes past half height", overlaying="y", side="right",
                                  range=[0, d + 0.5], showgrid=False))
    return fig


def _round_sig(a, digits: int = 4) -> np.ndarray:
    """``a`` rounded to ``digits`` significant digits, as float32 (far below a pixel; short in JSON)."""
    a = np.asarray(a, dtype=np.float64)
    mag = np.where(a == 0, 1.0, np.abs(a))
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(mag)))
    return (np.round(a * scale) / scale).astype(np.float32)


def stepwise_grid(frames, *, caption: str, title: str, active: int | None = None,
                  active_d: int | None = None, height: int = 860) -> go.Figure:
    """The sigma (slider) x d (buttons) figure of book/04: per frame, three panels on one time axis.

    Top: ``s_k(t)^2`` of gradient flow (solid, one colour per mode) and eq. 11/13 (dashed);
    middle: the loss ``(1/4)||W W^T - M*||^2`` (flow solid, eq. 13 dashed), a staircase
    that drops ``lambda_k^2/4`` at each step; bottom: the rank, modes past half height (flow
    solid, eq. 13 dashed). The x axis is the rescaled time ``t / tau_1`` (eq. 13), shared.

    Args:
        frames: a :class:`qwemlib.experiments.StepwiseFrames` (its grid ``x`` keeps every
            step of every frame in a cell of its own).
        active: the ``sigma`` index shown first (default: the middle one).
        active_d: the ``d`` index shown first (default: the last, the largest ``d``).

    Size: the grid ``x`` and the styles live on the displayed traces only; each frame holds
    ``2 max(d_grid) + 4`` traces of ``y`` (modes beyond ``d`` empty), float32 rounded to 4
    significant digits (the ranks int8), so the page stores each number in about 5 bytes.
    The loss and rank axes follow the button (their ranges depend on ``d``).

    Used in: book/04_stepwise.md.
    """
    d_grid, sigmas, x = list(frames.d_grid), list(frames.sigmas), np.asarray(frames.x)
    D = max(d_grid)
    colors = mode_colors(D)
    theory_line = dict(color="black", dash="dash", width=1)
    style = ([dict(name=f"flow, mode {k + 1}", line=dict(color=colors[k], width=2), legendgroup="flow",
                   showlegend=k == 0) for k in range(D)]
             + [dict(name=f"eq. 13, mode {k + 1}", line=theory_line, legendgroup="theory",
                     showlegend=k == 0) for k in range(D)]
             + [dict(name="loss, flow", line=dict(color="#1f77b4", width=2), xaxis="x2", yaxis="y2",
                     showlegend=False),
                dict(name="loss, eq. 13", line=theory_line, xaxis="x2", yaxis="y2", showlegend=False),
                dict(name="rank, flow", line=dict(color="firebrick", width=2, shape="hv"),
                     xaxis="x3", yaxis="y3", showlegend=False),
                dict(name="rank, eq. 13", line=dict(theory_line, shape="hv"), xaxis="x3", yaxis="y3",
                     showlegend=False)])
    style[0]["name"], style[D]["name"] = "gradient flow", "eq. 13 (closed form)"
    xs = _round_sig(x)
    for st in style:
        st.update(x=xs, mode="lines")

    def traces(f):
        modes = [_round_sig(f.s2[:, k]) if k < f.d else [] for k in range(D)]
        modes += [_round_sig(f.s2_theory[:, k]) if k < f.d else [] for k in range(D)]
        return [go.Scatter(y=y) for y in modes + [_round_sig(f.loss), _round_sig(f.loss_theory),
                                                  np.asarray(f.rank, np.int8),
                                                  np.asarray(f.rank_theory, np.int8)]]

    rows = [[traces(frames.frames[d, j]) for j in range(len(sigmas))] for d in d_grid]
    lam1 = max(float(f.values[0]) for f in frames.frames.values())
    button_layout = []
    for d in d_grid:
        lo = min(float(np.min(f.loss)) for (dd, _), f in frames.frames.items() if dd == d)
        hi = max(float(np.max(f.loss)) for (dd, _), f in frames.frames.items() if dd == d)
        pad = 0.05 * (hi - lo)
        button_layout.append({"yaxis2.range": [lo - pad, hi + pad], "yaxis3.range": [-0.4, d + 0.6],
                              "yaxis3.dtick": 5 if d > 10 else 1})
    grid = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                         row_heights=[0.5, 0.25, 0.25]).layout
    axes = {k: grid[k].to_plotly_json() for k in ("xaxis", "xaxis2", "xaxis3", "yaxis", "yaxis2", "yaxis3")}
    axes["xaxis3"].update(title="rescaled time t / τ₁", range=[0.0, float(x[-1])])
    axes["yaxis"].update(title="s_k(t)²", range=[0.0, 1.05 * lam1])
    axes["yaxis2"].update(title="loss ¼‖WWᵀ − M*‖²")
    axes["yaxis3"].update(title="rank (past ½ height)")
    return slider_figure(
        rows, [f"{s:.0e}" for s in sigmas], buttons=d_grid, caption=caption, title=title,
        label="σ = ", button_label="d = ", trace_style=style, height=height,
        active=len(sigmas) // 2 if active is None else active,
        active_button=len(d_grid) - 1 if active_d is None else active_d,
        button_layout=button_layout,
        # the legend sits level with the buttons, never over a curve
        layout=dict(**axes, legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom")),
    )
