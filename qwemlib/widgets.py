"""Live ipywidgets controls for JupyterLab (a kernel is needed; the static book uses
precomputed slider frames from :func:`qwemlib.plots.slider_figure` instead).

:class:`FlowExplorer` puts two sliders, the initial scale ``sigma`` and the embedding
dimension ``d``, over a real target ``M*``. Moving either re-runs gradient flow
(:func:`qwemlib.flow.random_start_flow`) from ``W_ij(0) ~ N(0, sigma^2)`` and redraws
the squared singular values with the closed-form prediction (eq. 11/13,
:class:`qwemlib.theory.ClosedFormDynamics`) dashed on top. The eigendecomposition of
``M*`` (:func:`qwemlib.eigen.full_spectrum`) is done once and shared by both sides, so
an update at ``V = 2,000`` takes a few seconds on two cores.

Example (in JupyterLab)::

    from qwemlib import preset, widgets
    from qwemlib.pipeline import corpus_statistics
    st = corpus_statistics(preset())
    widgets.FlowExplorer(st.M, caption=preset().caption())

Used in: book/intro.md ("how to run this book"), book/04_stepwise.md.
"""

from __future__ import annotations

import os
import time

from . import eigen, flow, plots

__all__ = ["FlowExplorer"]


class FlowExplorer:
    """Sliders for ``sigma`` and ``d`` that rerun gradient flow on ``M`` and redraw.

    Args:
        M: ``(V, V)`` symmetric target (``M*``).
        caption: provenance for the figure (``preset().caption()``).
        d: initial embedding dimension.
        d_max: largest ``d`` on the slider.
        log10_sigma: initial ``log10(sigma)``.
        n_times: number of output times (``0 .. horizon * max tau_k``).
        horizon: end time in units of the slowest predicted step ``max_k tau_k``.
        seed: seed of :func:`qwemlib.theory.random_init`.
        rtol: :func:`qwemlib.flow.gradient_flow`'s ``rtol`` (the rotation inside
            REquiv only; the singular values are exact at any ``rtol``).
        static: no widgets, only the figure for the initial ``sigma`` and ``d`` (default:
            when ``QWEM_BOOK_BUILD`` is set, i.e. while ``tools/build_book.py`` executes the
            chapters). A published page has no kernel behind its sliders, and any widget
            a chapter creates, displayed or not, makes its page load the widget manager
            (3.6 MB of JavaScript; the slider page then took seconds longer to load,
            ``bench/bench_pages.py``).

    Displaying the explorer (the object itself, as a cell's last expression) shows
    :attr:`widget`, or in ``static`` mode the figure with a line saying so.

    Attributes:
        widget: the ``ipywidgets.VBox`` to display (``None`` when ``static``).
        figure: the last figure drawn (a ``plotly.graph_objects.Figure``).
        result: the last :class:`qwemlib.flow.FlowResult`.
        dynamics: the last :class:`qwemlib.theory.ClosedFormDynamics`.
    """

    def __init__(
        self,
        M,
        *,
        caption: str,
        d: int = 6,
        d_max: int = 16,
        log10_sigma: float = -6.0,
        n_times: int = 150,
        horizon: float = 2.0,
        seed: int = 0,
        rtol: float = 1e-6,
        static: bool | None = None,
    ):
        if not caption:
            raise ValueError("caption is empty; pass preset().caption()")
        self.M = M
        self.caption = caption
        self.n_times = int(n_times)
        self.horizon = float(horizon)
        self.seed = int(seed)
        self.rtol = float(rtol)
        self.spectrum = eigen.full_spectrum(M)
        V = self.spectrum.V
        d_max = min(int(d_max), V - 1)
        if not 1 <= d <= d_max:
            raise ValueError(f"d must be between 1 and d_max = {d_max}; got {d}")
        self.static = bool(os.environ.get("QWEM_BOOK_BUILD")) if static is None else bool(static)
        self.figure = None
        self.result = None
        self.dynamics = None
        self.widget = None
        if self.static:
            self._sigma, self._d = float(10.0 ** log10_sigma), int(d)
            _, secs = self.compute(self._sigma, self._d)
            self.note = (f"σ = {self._sigma:.1e}, d = {self._d}: {len(self.result.times)} "
                         f"snapshots in {secs:.1f} s; the sliders need a running kernel")
            return
        import ipywidgets as w

        style = {"description_width": "initial"}
        self.sigma_slider = w.FloatSlider(
            value=log10_sigma, min=-9.0, max=-1.0, step=0.5, continuous_update=False,
            description="log₁₀ σ (initial scale)", style=style, layout=w.Layout(width="420px"),
        )
        self.d_slider = w.IntSlider(
            value=d, min=1, max=d_max, step=1, continuous_update=False,
            description="d (dimensions)", style=style, layout=w.Layout(width="420px"),
        )
        self.status = w.HTML()
        self.output = w.Output()
        self.widget = w.VBox([w.HBox([self.sigma_slider, self.d_slider]), self.status, self.output])
        self.sigma_slider.observe(self._on_change, names="value")
        self.d_slider.observe(self._on_change, names="value")
        self.update()

    @property
    def sigma(self) -> float:
        return self._sigma if self.static else float(10.0 ** self.sigma_slider.value)

    @property
    def d(self) -> int:
        return self._d if self.static else int(self.d_slider.value)

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if self.static:
            display(HTML(f"<p><i>{self.note}</i></p>"))
            display(self.figure)
        else:
            display(self.widget)

    def _on_change(self, _change) -> None:
        self.update()

    def compute(self, sigma: float, d: int):
        """Run gradient flow and the closed form for ``(sigma, d)``; return the figure."""
        t0 = time.perf_counter()
        run = flow.random_start_flow(self.M, d, sigma, spectrum=self.spectrum, seed=self.seed,
                                     n_times=self.n_times, horizon=self.horizon, rtol=self.rtol)
        times, res, pred = run.times, run.result, run.dynamics
        fig = plots.singular_values_vs_time(
            times, res.singular_values(), pred.s(times), squared=True,
            caption=f"{self.caption}; gradient flow with d = {d}, σ = {sigma:.1e}",
            title="Squared singular values: gradient flow (solid) vs closed form (dashed)",
        )
        self.result, self.dynamics, self.figure = res, pred, fig
        return fig, time.perf_counter() - t0

    def update(self) -> None:
        """Recompute for the current slider values and redraw."""
        from IPython.display import display

        if self.static:
            raise RuntimeError("this FlowExplorer is static (no sliders; QWEM_BOOK_BUILD is set "
                               "or static=True); call compute(sigma, d), or create it with "
                               "static=False in a running kernel")

        self.status.value = "<i>running gradient flow…</i>"
        fig, secs = self.compute(self.sigma, self.d)
        self.status.value = (
            f"σ = {self.sigma:.1e}, d = {self.d}: {len(self.result.times)} snapshots in {secs:.1f} s"
        )
        self.output.clear_output(wait=True)
        with self.output:
            display(fig)
