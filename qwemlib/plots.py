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

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

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
]

#: plotly ``meta`` key under which builders store the caption (tests read it back).
CAPTION_NAME = "qwem_caption"

_TEMPLATE = "plotly_white"
_THEORY_STYLE = dict(color="black", dash="dash", width=1.5)


# --------------------------------------------------------------------------- rendering
class _BookRenderer(pio.base_renderers.MimetypeRenderer):
    """``text/html`` for the static book: a div and a ``Plotly.newPlot`` call, nothing else.

    plotly's ``notebook`` renderer would embed 4.7 MB of plotly.js in every page and
    add a ``<script>`` for MathJax from a CDN to every figure; the book instead loads
    its vendored ``plotly.min.js`` in the page head (see ``tools/qwem_sphinx.py``).
    """

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=fig_dict.get("layout", {}).get("height") or 480,
            validate=False,
            auto_play=False,  # slider figures must open on their initial frame, not animate
            config={"displaylogo": False, "responsive": True},
        )
        return {"text/html": html}


def use_book_renderer() -> None:
    """Register the ``qwem_book`` renderer and make ``plotly_mimetype+qwem_book`` the default.

    The mime-type output keeps figures interactive when the executed notebook is
    opened in JupyterLab; the HTML output is what myst-nb puts into the page.
    """
    pio.renderers["qwem_book"] = _BookRenderer()
    pio.renderers.default = "plotly_mimetype+qwem_book"


if os.environ.get("QWEM_BOOK_BUILD"):
    use_book_renderer()


# --------------------------------------------------------------------------- helpers
def _wrap(text: str, width: int = 110) -> str:
    return "<br>".join(textwrap.wrap(text, width)) if text else ""


def add_caption(fig: go.Figure, caption: str, *, title: str | None = None) -> go.Figure:
    """Put ``caption`` (where the numbers come from) under the title of ``fig``.

    Args:
        fig: the figure; modified in place and returned.
        caption: provenance, normally ``preset().caption()``; must not be empty.
        title: optional title (kept from ``fig`` when ``None``).

    Raises:
        ValueError: if ``caption`` is empty: every figure in the book says where it
            comes from.
    """
    if not caption or not str(caption).strip():
        raise ValueError(
            "caption is empty; pass preset().caption() (or another provenance string) "
            "so the figure says which corpus and preset made it"
        )
    current = fig.layout.title.text if title is None else title
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(
        title=dict(
            text=current or "",
            subtitle=dict(text=_wrap(str(caption)), font=dict(size=11, color="#555")),
            x=0.0,
            xanchor="left",
            y=0.97,
            yanchor="top",
        ),
        margin=dict(t=95 if current else 70),
        meta={**meta, CAPTION_NAME: str(caption)},
    )
    return fig


def mode_colors(n: int, colorscale: str = "Viridis") -> list[str]:
    """``n`` colours along a sequential scale, mode 1 darkest (for ``s_1 ... s_n``)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return sample_colorscale(colorscale, list(np.linspace(0.0, 0.9, n)) if n > 1 else [0.0])


def _as_2d(name: str, a, n_rows: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (T, k); got shape {a.shape}")
    if n_rows is not None and a.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {a.shape[0]} rows but t has {n_rows} entries; pass one row per time"
        )
    return a


def _base(caption: str, title: str, height: int, **layout) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=_TEMPLATE, height=height, **layout)
    return add_caption(fig, caption, title=title)


# --------------------------------------------------------------------------- builders
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


def slider_figure(
    frames: Sequence[Sequence[go.BaseTraceType]],
    values: Sequence,
    *,
    caption: str,
    label: str = "",
    title: str = "",
    layout: dict | None = None,
    active: int = 0,
    height: int = 480,
) -> go.Figure:
    """A figure with a slider over precomputed frames: the book's stand-in for a live widget.

    A published page has no kernel, so sliders in the rendered book cannot call Python;
    they switch between frames computed at build time.

    Args:
        frames: one list of traces per slider position; every list must have the same
            number of traces (plotly animates trace ``i`` of one frame into trace ``i``
            of the next).
        values: the slider value of each frame (shown on the slider).
        label: slider prefix, e.g. ``"σ = "``.
        layout: extra layout (axis titles, ranges: fix the ranges so frames are comparable).
        active: the frame shown first.
    """
    if len(frames) == 0:
        raise ValueError("frames is empty; pass at least one list of traces")
    if len(frames) != len(values):
        raise ValueError(f"got {len(frames)} frames but {len(values)} slider values; pass one value per frame")
    n = {len(f) for f in frames}
    if len(n) != 1:
        raise ValueError(f"every frame must have the same number of traces; got counts {sorted(n)}")
    if not 0 <= active < len(frames):
        raise ValueError(f"active={active} is not a frame index (0..{len(frames) - 1})")
    names = [str(v) for v in values]
    fig = go.Figure(
        data=list(frames[active]),
        frames=[go.Frame(data=list(f), name=nm) for f, nm in zip(frames, names)],
    )
    fig.update_layout(template=_TEMPLATE, height=height, **(layout or {}))
    add_caption(fig, caption, title=title)
    fig.update_layout(
        sliders=[dict(
            active=active,
            currentvalue=dict(prefix=label, font=dict(size=13)),
            pad=dict(t=45),
            steps=[dict(method="animate", label=nm,
                        args=[[nm], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                         transition=dict(duration=0))])
                   for nm in names],
        )],
    )
    return fig
