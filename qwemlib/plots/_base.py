"""Rendering, captions, colours and shared layout of the book's figures (private)."""

from __future__ import annotations

import os
import textwrap

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

#: plotly ``meta`` key under which builders store the caption (tests read it back).
CAPTION_NAME = "qwem_caption"

_TEMPLATE = "plotly_white"
_THEORY_STYLE = dict(color="black", dash="dash", width=1.5)


# --------------------------------------------------------------------------- rendering
class _BookRenderer(pio.base_renderers.MimetypeRenderer):
    """``text/html`` for the static book: a div and a ``Plotly.newPlot`` call, nothing else.

    plotly's ``notebook`` renderer would embed 4.7 MB of plotly.js in every page and
    add a ``<script>`` for MathJax from a CDN to every figure; the book instead loads
    a vendored plotly.js in the page head (see ``tools/qwem_sphinx.py``). The figure's
    div carries ``data-qwem-traces``, the trace types of its data and frames
    (:func:`trace_types`), so that the page can load the smallest plotly.js bundle
    that draws them.
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
        marked = f'class="plotly-graph-div" {TRACES_ATTR}="{" ".join(trace_types(fig_dict))}"'
        return {"text/html": html.replace('class="plotly-graph-div"', marked, 1)}


#: attribute of a book figure's div that lists its trace types (read by tools/qwem_sphinx.py)
TRACES_ATTR = "data-qwem-traces"


def trace_types(fig_dict: dict) -> list[str]:
    """The sorted trace types of a figure dict, its frames' traces included.

    A trace without ``type`` is a ``scatter`` (plotly.js's default); a frame's trace
    without one restyles a trace of the figure and adds no type.
    """
    types = {t.get("type", "scatter") for t in fig_dict.get("data", [])}
    for frame in fig_dict.get("frames", []) or []:
        types |= {t["type"] for t in frame.get("data", []) or [] if t.get("type")}
    return sorted(types)


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
