"""Precomputed plotly sliders: frames that work in a page with no kernel (private)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ._base import _TEMPLATE, add_caption


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
        raise ValueError(f"got {len(frames)} frames but {len(values)} slider values; "
                         "pass one value per frame")
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
