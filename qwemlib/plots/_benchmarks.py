"""Figures of book/06 (QWEM vs word2vec): the eigen-feature overlap heatmaps (Figure 5). Private."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._base import add_caption
from ._figures import heatmap


def _short(model: str) -> str:
    return model.split(" ")[0]


def overlap_heatmaps(overlaps: Mapping[tuple[str, str], np.ndarray], *, caption: str, detail: str = "",
                     height: int = 420) -> go.Figure:
    """One ``(d, d)`` heatmap of squared overlaps per model pair, side by side (Figure 5).

    Panel ``(a, b)`` shows ``O[k, k'] = (u_k^a . u_k'^b)^2`` (rows: components of ``a``,
    top first; columns: those of ``b``), grey scale on ``[0, 1]``, with one colour bar.
    A bright diagonal means the same features in the same order.

    Args:
        overlaps: ``{(row model, column model): O}``, e.g. from
            :meth:`qwemlib.experiments.FeatureSummary.overlap`; empty gives a figure
            that says there is nothing to show.
        caption: provenance (``preset().caption()``).
        detail: appended to the caption (e.g. where the overlaps come from, who plays word2vec).
        height: figure height in pixels.

    Used in: book/06_qwem_vs_word2vec.md.
    """
    title = "Do the models learn the same eigen-features?"
    note = (f"{caption}; {detail + '; ' if detail else ''}squared overlaps of the left singular "
            "vectors, component k of the row model against k' of the column model")
    if not overlaps:
        fig = go.Figure()
        fig.add_annotation(text="no stored embeddings or features at this preset: run tools/make_results.py",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(height=height, template="plotly_white")
        return add_caption(fig, note, title=title)
    n = len(overlaps)
    fig = make_subplots(rows=1, cols=n, horizontal_spacing=0.04,
                        subplot_titles=[f"{_short(a)} vs {_short(b)}" for a, b in overlaps])
    for c, ((a, b), O) in enumerate(overlaps.items(), start=1):
        d = np.asarray(O).shape[0]
        h = heatmap(O, caption=caption, colorscale="Greys", zmid=None).data[0]
        h.update(zmin=0, zmax=1, showscale=c == n, x=np.arange(1, d + 1), y=np.arange(1, d + 1))
        fig.add_trace(h, row=1, col=c)
        fig.update_xaxes(title_text=_short(b), row=1, col=c)
        fig.update_yaxes(title_text=_short(a), autorange="reversed", row=1, col=c,
                         scaleanchor=f"x{c if c > 1 else ''}")
    fig.update_layout(height=height, template="plotly_white")
    return add_caption(fig, note, title=title)
