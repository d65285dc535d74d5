"""Tests of qwemlib.plots (figure builders, book renderer) and qwemlib.widgets."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from qwemlib import plots

CAP = "preset 'ci': test corpus, V = 10, d = 2"


def _caption_of(fig):
    return fig.layout.meta[plots.CAPTION_NAME]


def test_singular_values_traces_carry_the_data():
    t = np.linspace(0, 1, 7)
    s = np.column_stack([np.linspace(0, 3, 7), np.linspace(0, 2, 7), np.linspace(0, 1, 7)])
    th = s + 0.1
    fig = plots.singular_values_vs_time(t, s, th, caption=CAP)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 6
    measured = [tr for tr in fig.data if tr.legendgroup == "measured"]
    theory = [tr for tr in fig.data if tr.legendgroup == "theory"]
    assert len(measured) == len(theory) == 3
    for k in range(3):
        np.testing.assert_array_equal(measured[k].x, t)
        np.testing.assert_array_equal(measured[k].y, s[:, k])
        np.testing.assert_array_equal(theory[k].y, th[:, k])
    assert [tr.showlegend for tr in theory] == [True, False, False]
    assert _caption_of(fig) == CAP
    assert CAP in fig.layout.title.subtitle.text.replace("<br>", " ")


def test_singular_values_squared_and_kmax():
    t = np.arange(4.0)
    s = np.full((4, 5), 2.0)
    fig = plots.singular_values_vs_time(t, s, caption=CAP, squared=True, k_max=2, log_x=True)
    assert len(fig.data) == 2
    np.testing.assert_array_equal(fig.data[0].y, np.full(4, 4.0))
    assert fig.layout.xaxis.type == "log"


def test_shape_errors_name_the_input():
    with pytest.raises(ValueError, match="s has 3 rows"):
        plots.singular_values_vs_time(np.arange(4.0), np.ones((3, 2)), caption=CAP)
    with pytest.raises(ValueError, match="loss has shape"):
        plots.loss_curve(np.arange(4.0), np.ones(3), caption=CAP)
    with pytest.raises(ValueError, match="caption is empty"):
        plots.loss_curve(np.arange(3.0), np.ones(3), caption=" ")


def test_loss_curve():
    t = np.linspace(0, 1, 5)
    fig = plots.loss_curve(t, t[::-1], t[::-1] + 1, caption=CAP, log_y=True)
    assert [tr.name for tr in fig.data] == ["gradient flow", "theory"]
    np.testing.assert_array_equal(fig.data[1].y, t[::-1] + 1)
    assert fig.layout.yaxis.type == "log"


def test_eigenvalue_spectrum_sorts_and_marks_d():
    ev = np.array([1.0, -3.0, 5.0, 2.0])
    fig = plots.eigenvalue_spectrum(ev, caption=CAP, d=2, extra={"other": [0.5, 4.0]})
    np.testing.assert_array_equal(fig.data[0].y, [5.0, 2.0, 1.0, -3.0])
    np.testing.assert_array_equal(fig.data[0].x, [1, 2, 3, 4])
    np.testing.assert_array_equal(fig.data[1].y, [4.0, 0.5])
    assert any(sh.x0 == 2.5 for sh in fig.layout.shapes)
    logfig = plots.eigenvalue_spectrum(ev, caption=CAP, log_y=True)
    np.testing.assert_array_equal(logfig.data[0].y, [5.0, 2.0, 1.0])


def test_heatmap_labels_and_checks():
    z = np.arange(6.0).reshape(2, 3)
    fig = plots.heatmap(z, caption=CAP, x_labels=list("abc"), y_labels=["r1", "r2"])
    hm = fig.data[0]
    assert isinstance(hm, go.Heatmap)
    np.testing.assert_array_equal(np.asarray(hm.z), z)
    assert list(hm.x) == ["a", "b", "c"] and list(hm.y) == ["r1", "r2"]
    with pytest.raises(ValueError, match="x_labels has 2 entries"):
        plots.heatmap(z, caption=CAP, x_labels=["a", "b"])


def test_parity_plot_subsamples_deterministically():
    x = np.arange(100.0)
    a = plots.parity_plot(x, 2 * x, caption=CAP, max_points=10, seed=3)
    b = plots.parity_plot(x, 2 * x, caption=CAP, max_points=10, seed=3)
    assert len(a.data[0].x) == 10
    np.testing.assert_array_equal(a.data[0].x, b.data[0].x)
    np.testing.assert_array_equal(a.data[0].y, 2 * np.asarray(a.data[0].x))
    assert a.data[1].name == "y = x"


def test_slider_figure_frames_and_steps():
    xs = np.arange(3.0)
    frames = [[go.Scatter(x=xs, y=xs * k, name="line")] for k in range(4)]
    fig = plots.slider_figure(frames, [0.1, 0.2, 0.3, 0.4], caption=CAP, label="σ = ", active=2)
    assert len(fig.frames) == 4
    np.testing.assert_array_equal(fig.data[0].y, xs * 2)
    np.testing.assert_array_equal(fig.frames[3].data[0].y, xs * 3)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0.1", "0.2", "0.3", "0.4"]
    assert list(steps[1].args[0]) == ["0.2"] and fig.layout.sliders[0].active == 2
    with pytest.raises(ValueError, match="same number of traces"):
        plots.slider_figure([[go.Scatter()], []], [1, 2], caption=CAP)
    with pytest.raises(ValueError, match="one value per frame"):
        plots.slider_figure(frames, [1], caption=CAP)


def test_slider_grid_buttons_switch_rows_and_frames_carry_data_only():
    """The two-parameter slider (sigma x d in book/04): buttons pick the row, the slider the frame."""
    xs = np.arange(3.0)
    rows = [[[go.Scatter(y=xs * (10 * b + j))] for j in range(3)] for b in range(2)]
    style = [dict(name="flow", line=dict(color="red"), x0=0.0, dx=0.5)]
    fig = plots.slider_figure(rows, ["1e-07", "1e-05", "1e-03"], buttons=[2, 5], caption=CAP,
                              label="σ = ", button_label="d = ", active=1, active_button=1,
                              trace_style=style)
    assert len(fig.frames) == 6 and fig.frames[-1].name == "1-1"   # the initial state plays last
    np.testing.assert_array_equal(fig.data[0].y, xs * 11)
    assert fig.data[0].name == "flow" and fig.data[0].dx == 0.5     # style on the shown traces...
    assert fig.frames[0].data[0].name is None                         # ...not in the frames
    slider = fig.layout.sliders[0]
    assert slider.currentvalue.prefix == "d = 5,  σ = " and slider.active == 1
    assert [list(s.args[0]) for s in slider.steps] == [["1-0"], ["1-1"], ["1-2"]]
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["d = 2", "d = 5"] and menu.active == 1
    restyle, relayout = menu.buttons[0].args
    assert restyle == {"y": [[0.0, 1.0, 2.0]]}                      # row 0 at the active sigma
    assert [list(s["args"][0]) for s in relayout["sliders"][0]["steps"]] == [["0-0"], ["0-1"], ["0-2"]]
    with pytest.raises(ValueError, match="one row per button"):
        plots.slider_figure(rows, [1, 2, 3], buttons=[2], caption=CAP)
    with pytest.raises(ValueError, match="trace_style"):
        plots.slider_figure(rows, [1, 2, 3], buttons=[2, 5], caption=CAP, trace_style=style * 2)


def _frames(d_grid=(1, 3), n_sigma=2, T=5):
    """A hand-made StepwiseFrames (no flow): frame (d, j) holds s2 = 1.23456 + j, loss 10 - t."""
    from qwemlib.experiments import StepwiseFrame, StepwiseFrames

    x = np.linspace(0.0, 4.0, T)
    frames = {}
    for d in d_grid:
        for j in range(n_sigma):
            lam = np.arange(d, 0, -1) * 3.0
            frames[d, j] = StepwiseFrame(
                d=d, sigma=10.0 ** -(j + 3), tau1=1.0, values=lam, step_times=np.linspace(1, 2, d),
                s2=np.full((T, d), 1.23456 + j), s2_theory=np.full((T, d), 2.0),
                loss=10.0 * d - x, loss_theory=10.0 * d - x + 0.5,
                rank=np.minimum(np.arange(T), d), rank_theory=np.minimum(np.arange(T), d))
    return StepwiseFrames(x=x, sigmas=tuple(10.0 ** -(j + 3) for j in range(n_sigma)),
                          d_grid=tuple(d_grid), frames=frames, added=0)


def test_stepwise_grid_three_panels_on_one_time_axis():
    """book/04's slider: s_k^2, loss and rank per frame, shared x, frames carry compact y only."""
    fr = _frames()
    fig = plots.stepwise_grid(fr, caption=CAP, title="g", active=0)
    D = 3
    assert len(fig.data) == 2 * D + 4 and len(fig.frames) == 4        # 2 max(d) + 4 traces a frame
    axes = [(tr.xaxis or "x", tr.yaxis or "y") for tr in fig.data]
    assert axes == [("x", "y")] * (2 * D) + [("x2", "y2")] * 2 + [("x3", "y3")] * 2
    assert fig.layout.xaxis.matches == fig.layout.xaxis2.matches == "x3"   # one time axis
    assert fig.layout.xaxis3.range == (0.0, 4.0) and fig.layout.yaxis.range == (0.0, 1.05 * 9.0)
    for tr in fig.data:                                             # the grid on every shown trace
        np.testing.assert_array_equal(tr.x, fr.x.astype(np.float32))
    # default button: the largest d; its frames' data, float32 rounded to 4 digits, ranks int8
    assert fig.layout.updatemenus[0].active == 1 and fig.frames[-1].name == "1-0"
    last = fig.frames[-1].data
    assert last[0].y.dtype == np.float32 and last[0].y[0] == np.float32(1.235)
    assert last[2 * D + 2].y.dtype == np.int8 and list(last[2 * D + 2].y) == [0, 1, 2, 3, 3]
    assert all(f.data[0].x is None and f.data[0].line.color is None for f in fig.frames)
    first_d = [f for f in fig.frames if f.name == "0-1"][0].data
    assert len(first_d[1].y) == 0 and len(first_d[D + 1].y) == 0        # d = 1: mode 2 is empty
    # the loss and rank axes follow the button; the initial layout is the active button's
    lo, hi = 30.0 - 4.0, 30.0
    np.testing.assert_allclose(fig.layout.yaxis2.range, [lo - 0.05 * 4, hi + 0.05 * 4])
    assert fig.layout.yaxis3.range == (-0.4, 3.6) and fig.layout.yaxis3.dtick == 1
    restyle, relayout = fig.layout.updatemenus[0].buttons[0].args
    assert relayout["yaxis3.range"] == [-0.4, 1.6] and relayout["yaxis3.dtick"] == 1
    assert restyle["y"][0] == [1.235] * 5                              # short plain lists
    assert restyle["y"][2 * D + 2] == [0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="button_layout"):
        plots.slider_figure([[[go.Scatter()]]], [1], buttons=[2], caption=CAP, button_layout=[{}, {}])


def test_dynamics_figures():
    t = np.linspace(0.0, 1.0, 5)
    lam, tau = np.array([4.0, 2.0]), np.array([0.5, 0.6])
    s2 = lam / (1 + np.exp(-lam * (t[:, None] - tau)))
    fig = plots.sigmoid_collapse(t, s2, lam, tau, caption=CAP)
    np.testing.assert_allclose(fig.data[1].y, 1 / (1 + np.exp(-np.asarray(fig.data[1].x))))
    with pytest.raises(ValueError, match="shape"):
        plots.sigmoid_collapse(t, s2, lam[:1], tau, caption=CAP)
    fig = plots.alignment_figure(t, {1: np.ones(5), 2: np.zeros(5)}, s2 / lam, caption=CAP)
    assert [tr.name for tr in fig.data] == ["overlap, top 1", "s_1² / λ_1", "overlap, top 2", "s_2² / λ_2"]
    fig = plots.add_rank_axis(plots.loss_curve(t, np.ones(5), caption=CAP), t, [0, 1, 1, 2, 2], 2)
    assert fig.data[-1].yaxis == "y2" and fig.layout.yaxis2.range == (0, 2.5)


def test_book_renderer_emits_no_plotlyjs_and_no_cdn():
    old = pio.renderers.default
    try:
        plots.use_book_renderer()
        fig = plots.loss_curve(np.arange(3.0), np.ones(3), caption=CAP)
        bundle = pio.renderers._build_mime_bundle(fig.to_dict())
    finally:
        pio.renderers.default = old
    html = bundle["text/html"]
    assert "application/vnd.plotly.v1+json" in bundle
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert len(html) < 50_000  # no embedded copy of plotly.js (4.7 MB)
    assert f'class="plotly-graph-div" {plots.TRACES_ATTR}="scatter"' in html


def test_trace_types_cover_data_and_frames():
    fig = go.Figure([go.Scatter(y=[1]), go.Heatmap(z=[[1]])],
                    frames=[go.Frame(data=[go.Bar(y=[1])]), go.Frame(data=[{"y": [2]}])])
    assert plots.trace_types(fig.to_dict()) == ["bar", "heatmap", "scatter"]
    assert plots.trace_types({"data": [{"y": [1]}]}) == ["scatter"]   # plotly.js's default
    assert plots.trace_types({"data": []}) == []


def test_mode_colors():
    assert len(plots.mode_colors(5)) == 5
    with pytest.raises(ValueError):
        plots.mode_colors(0)


def _toy_target(V=40, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    lam = np.concatenate([[9.0, 6.0, 4.0, 3.0], rng.uniform(-2, 0.5, V - 4)])
    return (Q * lam) @ Q.T


def test_flow_explorer_recomputes_on_slider_change():
    pytest.importorskip("ipywidgets")
    from qwemlib import widgets

    M = _toy_target()
    ex = widgets.FlowExplorer(M, caption=CAP, d=2, d_max=4, log10_sigma=-4, n_times=40)
    assert len(ex.figure.data) == 4          # 2 measured + 2 theory
    ex.d_slider.value = 3                    # observer reruns the flow
    assert ex.result.W.shape == (40, 40, 3)
    assert len(ex.figure.data) == 6
    # the flow reaches the top eigenvalues, and the closed form agrees at the end
    s2_end = ex.result.singular_values()[-1] ** 2
    np.testing.assert_allclose(s2_end, [9.0, 6.0, 4.0], rtol=1e-2)
    np.testing.assert_allclose(ex.dynamics.s2(ex.result.times[-1]), s2_end, rtol=2e-2)
    assert ex.figure.layout.meta[plots.CAPTION_NAME].startswith(CAP)


def test_flow_explorer_static_creates_no_widget(monkeypatch):
    """In the book build the explorer shows its figure and creates no widget at all:
    nbclient stores the state of every widget a kernel creates, displayed or not, and
    any stored state makes the page load the 3.6 MB widget manager."""
    ipywidgets = pytest.importorskip("ipywidgets")
    from ipywidgets.widgets import widget as widget_module

    from qwemlib import widgets

    monkeypatch.setenv("QWEM_BOOK_BUILD", "1")
    before = set(widget_module._instances)   # every live widget model of this process
    ex = widgets.FlowExplorer(_toy_target(), caption=CAP, d=2, d_max=4, log10_sigma=-4,
                              n_times=40)
    assert ex.static and ex.widget is None and set(widget_module._instances) == before
    assert len(ex.figure.data) == 4 and (ex.sigma, ex.d) == (1e-4, 2)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    ex._ipython_display_()
    assert shown[1] is ex.figure and "need a running kernel" in shown[0].data
    with pytest.raises(RuntimeError, match="static"):
        ex.update()
    live = widgets.FlowExplorer(_toy_target(), caption=CAP, d=2, d_max=4, n_times=40,
                                static=False)
    assert isinstance(live.widget, ipywidgets.VBox)
    shown.clear()
    live._ipython_display_()
    assert shown == [live.widget]


def test_all_modes_figure_draws_every_mode_in_few_traces():
    """Every mode's curve is in the figure, point for point, in ``groups`` SGD traces and
    one theory trace per run; hovering names the mode."""
    rng = np.random.default_rng(0)
    T, d = 7, 25
    lam = np.linspace(5.0, 1.0, d)
    runs = {key: {"times": np.geomspace(1e-3, 1, T), "singular_values": rng.random((T, d)),
                  "theory_t": np.geomspace(1e-3, 1, T + 2), "theory_s2": rng.random((T + 2, d))}
            for key in ("a", "b")}
    fig = plots.all_modes_figure(runs, {"a": "A", "b": "B"}, lam, caption=CAP, groups=4)
    assert len(fig.data) == 2 * (4 + 1)
    sgd = [tr for tr in fig.data[:5] if tr.name.startswith("SGD")]
    assert [tr.name for tr in sgd] == ["SGD, modes 1-6", "SGD, modes 7-12", "SGD, modes 13-19",
                                       "SGD, modes 20-25"]
    x = np.concatenate([np.asarray(tr.x, float) for tr in sgd])
    y = np.concatenate([np.asarray(tr.y, float) for tr in sgd])
    k = np.concatenate([np.asarray(tr.customdata) for tr in sgd])
    keep = ~np.isnan(y)
    assert keep.sum() == T * d and np.isnan(x).sum() == d       # one gap after each curve
    want = runs["a"]["singular_values"] ** 2 / lam
    for mode in (1, 13, 25):
        np.testing.assert_allclose(y[keep & (k == mode)], want[:, mode - 1], rtol=1e-6)
        np.testing.assert_allclose(x[keep & (k == mode)], runs["a"]["times"], rtol=1e-6)
    th = fig.data[4]
    assert th.name == "eq. 11, every mode" and np.isfinite(np.asarray(th.y, float)).sum() == (T + 2) * d
    assert str(np.asarray(sgd[0].y).dtype) == "float32"
    few = {"a": {f: (v[:, :3] if v.ndim == 2 else v) for f, v in runs["a"].items()}}
    fig = plots.all_modes_figure(few, {"a": "A"}, lam[:3], caption=CAP)   # groups > d
    assert [tr.name for tr in fig.data] == ["SGD, mode 1", "SGD, mode 2", "SGD, mode 3",
                                            "eq. 11, every mode"]


@pytest.mark.parametrize("curve", ["sigmoid", "slow drift", "noisy", "nan"])
def test_thinned_curves_stay_within_twice_the_tolerance(curve):
    """The eq. 11 curves of all_modes_figure keep few points, and the line through them is
    within 2 tol of every point dropped (a drift of steps below tol included)."""
    from qwemlib.plots._training import _thinned

    t = np.geomspace(1e-3, 10, 300)
    y = {"sigmoid": 1 / (1 + np.exp(-(np.log(t) - 0.5) * 6)),
         "slow drift": np.linspace(0, 1, 300),
         "noisy": np.random.default_rng(1).random(300),
         "nan": np.where(np.arange(300) == 150, np.nan, np.sin(t))}[curve]
    tol = 1e-3
    idx = _thinned(y, tol)
    assert idx[0] == 0 and idx[-1] == len(y) - 1
    fine = np.isfinite(y)
    assert np.all(np.isin(np.flatnonzero(~fine), idx))          # a gap is never dropped
    keep = idx[fine[idx]]
    line = np.interp(np.log(t), np.log(t[keep]), y[keep])
    assert np.nanmax(np.abs(line - y)[fine]) <= 2 * tol + 1e-12
    if curve == "sigmoid":
        assert len(idx) < len(y) / 2                             # the flat ends are dropped
        # the bound has teeth: keeping every 30th point instead breaks it
        coarse = np.arange(0, len(y), 30)
        bad = np.interp(np.log(t), np.log(t[coarse]), y[coarse])
        assert np.max(np.abs(bad - y)) > 2 * tol
