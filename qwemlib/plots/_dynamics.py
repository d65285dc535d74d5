"""Figures of the aligned and stepwise dynamics (eq. 10-13) for chapters 3 and 4 (private)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

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


def stepwise_grid(grid: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]], sigmas: Sequence[float],
                  d_grid: Sequence[int], *, x_max: float, y_max: float, caption: str, title: str,
                  active: int | None = None, active_d: int | None = None, height: int = 520) -> go.Figure:
    """Squared singular values for a grid of ``sigma`` (slider) and ``d`` (buttons), theory dashed.

    Args:
        grid: ``{(d, j): (measured, theory)}`` for every ``d`` in ``d_grid`` and index ``j``
            of ``sigmas``; both ``(T, d)`` squared singular values at ``T`` times evenly
            spaced in rescaled time ``t / tau_1`` from 0 to ``x_max``.
        y_max: the fixed top of the y axis (e.g. ``1.05 lambda_1``).
        active: the ``sigma`` index shown first (default: the middle one).
        active_d: the ``d`` index shown first (default: the second, if there is one).

    Each frame holds ``2 max(d_grid)`` traces (measured, then theory; modes beyond ``d``
    empty) of data rounded to 2 decimals; colours and names live on the displayed traces.

    Used in: book/04_stepwise.md.
    """
    d_max = max(d_grid)
    n_t = next(iter(grid.values()))[0].shape[0]
    colors = mode_colors(d_max)
    style = [dict(x0=0.0, dx=x_max / (n_t - 1), mode="lines", showlegend=False,
                  name=f"{'flow' if i < d_max else 'theory'} k={i % d_max + 1}",
                  line=dict(color=colors[i % d_max], width=2) if i < d_max
                  else dict(color="black", dash="dash", width=1))
             for i in range(2 * d_max)]
    frames = [[[go.Scatter(y=np.round(vals[:, k], 2) if k < dd else [])
                for vals in grid[dd, j] for k in range(d_max)]
               for j in range(len(sigmas))] for dd in d_grid]
    return slider_figure(
        frames, [f"{s:.0e}" for s in sigmas], buttons=list(d_grid), caption=caption, title=title,
        label="σ = ", button_label="d = ", trace_style=style, height=height,
        active=len(sigmas) // 2 if active is None else active,
        active_button=min(1, len(d_grid) - 1) if active_d is None else active_d,
        layout=dict(xaxis=dict(title="rescaled time t / τ₁", range=[0, x_max]),
                    yaxis=dict(title="s_k(t)²", range=[0, y_max])),
    )
