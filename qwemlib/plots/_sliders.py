"""Precomputed plotly sliders: frames that work in a page with no kernel (private)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ._base import _TEMPLATE, add_caption


def _animate(name: str, label: str) -> dict:
    """A slider step that jumps (no transition) to the frame called ``name``."""
    return dict(method="animate", label=label,
                args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                   transition=dict(duration=0))])


def _styled(traces: Sequence[go.BaseTraceType], style: Sequence[dict] | None) -> list:
    """``traces`` with ``style[i]`` laid over trace ``i`` (frames then carry data only)."""
    if style is None:
        return list(traces)
    if len(style) != len(traces):
        raise ValueError(f"trace_style has {len(style)} entries but a frame has {len(traces)} traces")
    return [type(t)(t).update(**s) for t, s in zip(traces, style)]


def _restyle(traces: Sequence[go.BaseTraceType]) -> dict:
    """A ``restyle`` payload that sets every property the frame's traces carry."""
    data = [t.to_plotly_json() for t in traces]
    keys = sorted({k for d in data for k in d} - {"type"})
    # plain lists: plotly.js does not decode numpy's base64 arrays inside button arguments
    return {k: [_plain(d[k]) if isinstance(d.get(k), (list, tuple, np.ndarray))
                else d.get(k) for d in data] for k in keys}


def _plain(values) -> list:
    """``values`` as a JSON list; float32 entries by their shortest repr (``0.1``, not ``0.10000000149``)."""
    a = np.asarray(values)
    if a.dtype == np.float32:
        return [float(str(v)) for v in a.ravel()] if a.ndim == 1 else [_plain(r) for r in a]
    return a.tolist()


def slider_figure(
    frames: Sequence,
    values: Sequence,
    *,
    caption: str,
    label: str = "",
    title: str = "",
    layout: dict | None = None,
    active: int = 0,
    height: int = 480,
    buttons: Sequence | None = None,
    button_label: str = "",
    active_button: int = 0,
    trace_style: Sequence[dict] | None = None,
    button_layout: Sequence[dict] | None = None,
) -> go.Figure:
    """A figure with a slider over precomputed frames: the book's stand-in for a live widget.

    A published page has no kernel, so sliders in the rendered book cannot call Python;
    they switch between frames computed at build time.

    One parameter (``buttons=None``): ``frames[j]`` is the list of traces at slider value
    ``values[j]``. Two parameters (a grid, e.g. sigma x d in book/04_stepwise.md): pass
    ``buttons`` (the second parameter's values); then ``frames[b][j]`` holds the traces
    for button ``b`` and slider value ``j``, a row of buttons switches ``b`` (and resets
    the slider to ``active``), and the slider moves ``j`` within that row.

    Args:
        frames: per slider position (per button, then slider position, for a grid) a list
            of traces; every list must have the same number of traces (plotly animates
            trace ``i`` of one frame into trace ``i`` of the next).
        values: the slider value of each frame (shown on the slider).
        label: slider prefix, e.g. ``"σ = "``.
        layout: extra layout (axis titles, ranges: fix the ranges so frames are comparable).
        active: the slider position shown first.
        buttons: the values of the second parameter (grid only).
        button_label: the buttons' prefix, e.g. ``"d = "``; the slider then reads
            ``"d = 5,  σ = ..."``.
        active_button: the button shown first (grid only).
        trace_style: per-trace properties (names, colours, ``x``, ``x0``/``dx``, axes) given to
            the displayed traces only, so that the frames can carry just their data.
        button_layout: per button, layout that the button also sets (dotted paths, e.g.
            ``{"yaxis3.range": [0, 5]}``: axis ranges that depend on the second parameter);
            the active button's is applied to the initial figure.

    Used in: book/04_stepwise.md (through ``qwemlib.plots._dynamics``).
    """
    grid = buttons is not None
    rows = [list(r) for r in frames] if grid else [list(frames)]
    if not rows or any(len(r) == 0 for r in rows):
        raise ValueError("frames is empty; pass at least one list of traces")
    if grid and len(rows) != len(buttons):
        raise ValueError(f"got {len(rows)} rows of frames but {len(buttons)} button values; "
                         "pass one row per button")
    for r in rows:
        if len(r) != len(values):
            raise ValueError(f"got {len(r)} frames but {len(values)} slider values; "
                             "pass one value per frame")
    n = {len(f) for r in rows for f in r}
    if len(n) != 1:
        raise ValueError(f"every frame must have the same number of traces; got counts {sorted(n)}")
    if not 0 <= active < len(values):
        raise ValueError(f"active={active} is not a frame index (0..{len(values) - 1})")
    if not 0 <= active_button < len(rows):
        raise ValueError(f"active_button={active_button} is not a button index (0..{len(rows) - 1})")
    if button_layout is not None and (not grid or len(button_layout) != len(rows)):
        raise ValueError(f"button_layout needs one dict per button ({len(rows) if grid else 0}); "
                         f"got {len(button_layout)}")
    extra = [dict(b) for b in button_layout] if button_layout is not None else [{} for _ in rows]
    labels = [str(v) for v in values]
    if not grid:
        fig = go.Figure(data=_styled(rows[0][active], trace_style),
                        frames=[go.Frame(data=list(f), name=nm) for f, nm in zip(rows[0], labels)])
        fig.update_layout(template=_TEMPLATE, height=height, **(layout or {}))
        add_caption(fig, caption, title=title)
        fig.update_layout(sliders=[dict(
            active=active, currentvalue=dict(prefix=label, font=dict(size=13)), pad=dict(t=45),
            steps=[_animate(nm, nm) for nm in labels],
        )])
        return fig

    def slider(b: int) -> dict:
        return dict(active=active, currentvalue=dict(prefix=f"{button_label}{buttons[b]},  {label}"),
                    pad=dict(t=50), steps=[_animate(f"{b}-{j}", lab) for j, lab in enumerate(labels)])

    b0 = active_button
    # the initial state goes last: a page that auto-plays the frames on load ends where it started
    order = [(b, j) for b in range(len(rows)) for j in range(len(values)) if (b, j) != (b0, active)]
    order.append((b0, active))
    fig = go.Figure(data=_styled(rows[b0][active], trace_style),
                    frames=[go.Frame(data=rows[b][j], name=f"{b}-{j}") for b, j in order])
    fig.update_layout(
        template=_TEMPLATE, height=height, sliders=[slider(b0)], **(layout or {}),
        updatemenus=[dict(
            type="buttons", direction="right", x=0.0, xanchor="left", y=1.0, yanchor="bottom",
            pad=dict(b=8), showactive=True, active=b0,
            buttons=[dict(label=f"{button_label}{v}", method="update",
                          args=[_restyle(rows[b][active]), {"sliders": [slider(b)], **extra[b]}])
                     for b, v in enumerate(buttons)],
        )],
    )
    if extra[b0]:
        fig.update_layout(extra[b0])
    add_caption(fig, caption, title=title)
    fig.update_layout(margin=dict(t=140))  # room for the buttons above the plot
    return fig
