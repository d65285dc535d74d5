"""tools/build_book.py: the execution-cache key and the repository the buttons open (no build)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402


def _tree(root: Path) -> Path:
    (root / "qwemlib").mkdir(parents=True)
    (root / "qwemlib" / "stats.py").write_text("X = 1\n")
    (root / "data" / "results" / "ci").mkdir(parents=True)
    (root / "data" / "results" / "ci" / "train.npz").write_bytes(b"\x00\x01")
    (root / "book").mkdir()
    (root / "book" / "01.md").write_text("# one\n")
    return root


def test_cache_key_follows_preset_library_and_stored_results(tmp_path):
    root = _tree(tmp_path)
    key = build_book.cache_key("ci", root)
    assert key == build_book.cache_key("ci", root)            # deterministic
    assert build_book.cache_key("local", root) != key         # preset

    (root / "book" / "01.md").write_text("# changed\n")       # the cache itself sees chapters
    assert build_book.cache_key("ci", root) == key

    (root / "data" / "results" / "ci" / "train.npz").write_bytes(b"\x00\x02")
    key2 = build_book.cache_key("ci", root)
    assert key2 != key                                        # a regenerated stored result

    (root / "data" / "results" / "local").mkdir()
    (root / "data" / "results" / "local" / "README.md").write_text("new\n")
    key3 = build_book.cache_key("ci", root)
    assert key3 != key2                                       # a new stored result

    (root / "qwemlib" / "stats.py").write_text("X = 2\n")
    key4 = build_book.cache_key("ci", root)
    assert key4 != key3                                       # the library

    # and its subpackages (qwemlib/eigen/, qwemlib/experiments/, ...): the key once globbed
    # qwemlib/*.py only, and a local build reused chapters run with an older eigensolver
    (root / "qwemlib" / "eigen").mkdir()
    (root / "qwemlib" / "eigen" / "_krylov.py").write_text("Y = 1\n")
    key5 = build_book.cache_key("ci", root)
    assert key5 != key4
    (root / "qwemlib" / "eigen" / "_krylov.py").write_text("Y = 2\n")
    assert build_book.cache_key("ci", root) != key5


def test_cache_key_covers_the_data_registry():
    # corpus shards and benchmark files are pinned by sha256 in qwemlib/data.py,
    # so that module must be one of the keyed sources
    keyed = {p.relative_to(ROOT).as_posix() for pat in build_book.KEYED for p in ROOT.glob(pat)}
    assert "qwemlib/data.py" in keyed
    assert any(k.startswith("data/results/ci/") for k in keyed)


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/ada/qwem-book.git", "https://github.com/ada/qwem-book"),
    ("https://github.com/ada/qwem-book", "https://github.com/ada/qwem-book"),
    ("git@github.com:ada/qwem.book.git\n", "https://github.com/ada/qwem.book"),
    ("ssh://git@github.com/ada/qwem-book.git", "https://github.com/ada/qwem-book"),
    ("https://gitlab.com/ada/qwem-book.git", None),
    ("/work/main", None),
    ("https://github.com/ada", None),
])
def test_github_url(remote, url):
    assert build_book.github_url(remote) == url


def test_repository_precedence(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.delenv("QWEM_REPO_URL", raising=False)
    assert build_book.repository(None, tmp_path) == (None, "_config.yml")     # no remote
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "git@github.com:ada/fork.git"], check=True)
    assert build_book.repository(None, tmp_path) == ("https://github.com/ada/fork",
                                                     "the git remote 'origin'")
    monkeypatch.setenv("QWEM_REPO_URL", "https://github.com/org/env/")
    assert build_book.repository(None, tmp_path) == ("https://github.com/org/env", "$QWEM_REPO_URL")
    assert build_book.repository("https://github.com/org/cli", tmp_path)[0] == "https://github.com/org/cli"


def test_kernel_channel_polls_in_slices(monkeypatch):
    """A missed asyncio wake-up can hide a waiting kernel reply for one slice at most,
    not for the whole cell timeout (the build stalls this works around)."""
    import asyncio
    import time
    from queue import Empty

    import qwem_sphinx
    from jupyter_client.channels import AsyncZMQSocketChannel

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", AsyncZMQSocketChannel.get_msg)
    qwem_sphinx.patch_kernel_channel_polling()
    clock = {"t": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: clock["t"])

    class MissesWakeups:
        """poll(ms) that, like a missed edge, reports a message only when its wait ends."""
        def __init__(self, arrives_at):
            self.arrives_at, self.waits = arrives_at, []

        async def poll(self, ms):
            self.waits.append(ms)
            clock["t"] += ms / 1000
            return int(self.arrives_at is not None and clock["t"] >= self.arrives_at)

    ch = AsyncZMQSocketChannel.__new__(AsyncZMQSocketChannel)

    async def recv():
        return {"msg_type": "execute_reply"}

    ch._recv = recv
    ch.socket = MissesWakeups(arrives_at=2.5)
    assert asyncio.run(ch.get_msg(timeout=300))["msg_type"] == "execute_reply"
    assert max(ch.socket.waits) <= 1000 and clock["t"] <= 2.5 + qwem_sphinx.POLL_SLICE

    clock["t"] = 0.0
    ch.socket = MissesWakeups(arrives_at=None)
    with pytest.raises(Empty):
        asyncio.run(ch.get_msg(timeout=2.2))
    assert abs(clock["t"] - 2.2) < 1e-9 and ch.socket.waits == [1000, 1000, 200]

    clock["t"] = 0.0
    ch.socket = MissesWakeups(arrives_at=None)
    with pytest.raises(Empty):
        asyncio.run(ch.get_msg(timeout=0))
    assert ch.socket.waits == [0]


@pytest.mark.parametrize("scale, override, expected", [
    ("ci", "", 300), ("hub", "", 300), ("local", "", 3600), ("full", "", 3600),
    ("ci", "45", 45), ("local", "7200", 7200),
])
def test_cell_timeout_follows_the_preset(monkeypatch, scale, override, expected):
    import types

    import qwem_sphinx

    monkeypatch.setenv("QWEM_SCALE", scale)
    monkeypatch.setenv("QWEM_CELL_TIMEOUT", override)
    config = types.SimpleNamespace(nb_execution_timeout=300)   # execute.timeout of _config.yml
    qwem_sphinx._timeout_for_preset(None, config)
    assert config.nb_execution_timeout == expected


@pytest.mark.parametrize("bad", ["30m", "-5", "0", "1.5"])
def test_bad_cell_timeout_is_a_clear_error(monkeypatch, bad):
    import types

    import qwem_sphinx

    monkeypatch.setenv("QWEM_CELL_TIMEOUT", bad)
    with pytest.raises(ValueError, match="QWEM_CELL_TIMEOUT=.*positive whole number of seconds"):
        qwem_sphinx._timeout_for_preset(None, types.SimpleNamespace(nb_execution_timeout=300))


def _figure_html(*traces, frames=()):
    import plotly.graph_objects as go

    from qwemlib.plots._base import _BookRenderer

    fig = go.Figure(data=list(traces), frames=[go.Frame(data=list(f)) for f in frames])
    return _BookRenderer().to_mimebundle(fig.to_dict())["text/html"]


def test_plotly_bundle_is_the_smallest_that_holds_the_page():
    """Each page gets the smallest partial bundle holding every trace type of its figures
    (frames included); a type no partial bundle has, or a figure that names no types,
    gets the full bundle; a page without figures gets none."""
    import plotly.graph_objects as go
    import qwem_sphinx as qs

    line, heat = go.Scatter(y=[1, 2]), go.Heatmap(z=[[1, 2]])
    gl, gl3 = go.Scattergl(y=[1]), go.Scatter3d(x=[1], y=[1], z=[1])
    pick = qs.plotly_bundle
    assert pick("<p>no figure</p>") is None
    assert pick(_figure_html(line)).endswith("plotly-basic.min.js")
    assert pick(_figure_html(line) + _figure_html(heat)).endswith("plotly-cartesian.min.js")
    assert pick(_figure_html(line, frames=[[heat]])).endswith("plotly-cartesian.min.js")
    assert pick(_figure_html(gl, line)).endswith("plotly-gl2d.min.js")
    assert pick(_figure_html(gl3)).endswith("plotly-gl3d.min.js")
    assert pick(_figure_html(gl) + _figure_html(heat)) == qs.PLOTLY_JS       # in no partial
    assert pick(_figure_html(go.Sankey())) == qs.PLOTLY_JS
    unnamed = _figure_html(line).replace(' data-qwem-traces="scatter"', "")
    assert pick(unnamed + _figure_html(line)) == qs.PLOTLY_JS                 # an old output
    other = '<div id="x" class="plotly-graph-div js-plotly-plot"></div>'      # another renderer
    assert pick(other) == qs.PLOTLY_JS and pick(other + _figure_html(line)) == qs.PLOTLY_JS


def test_plotly_bundles_list_their_packages_trace_modules():
    """PLOTLY_BUNDLES's trace lists are those the vendored packages say they contain."""
    import re

    import qwem_sphinx as qs

    node = ROOT / "node_modules"
    for path, modules in qs.PLOTLY_BUNDLES:
        name = Path(path).name.removesuffix(".min.js")             # plotly-cartesian
        readme = node / f"plotly.js-{name.removeprefix('plotly-')}-dist-min" / "README.md"
        if not readme.exists():
            pytest.skip(f"{readme} missing (npm ci not run)")
        line = re.search(r"Contains trace modules (.*)\.", readme.read_text()).group(1)
        assert set(re.findall(r"`(\w+)`", line)) == modules, name
        assert (readme.parent / Path(path).name).exists()
