"""plots.overlap_heatmaps (book/06, Figure 5)."""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import plots

CAP = "preset 'test': synthetic"


def test_overlap_heatmaps_one_panel_per_pair():
    rng = np.random.default_rng(0)
    O = {("word2vec (SGNS)", "svd(M*)"): rng.random((5, 5)), ("svd(M*)", "svd(PPMI)"): np.eye(5)}
    fig = plots.overlap_heatmaps(O, caption=CAP, detail="stored embeddings; word2vec = word2vec (SGNS)")
    assert len(fig.data) == 2 and all(t.type == "heatmap" for t in fig.data)
    assert [t.showscale for t in fig.data] == [False, True]          # one colour bar
    assert all((t.zmin, t.zmax) == (0, 1) for t in fig.data)
    np.testing.assert_array_equal(fig.data[1].z, np.eye(5))
    np.testing.assert_array_equal(fig.data[0].x, np.arange(1, 6))
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["word2vec vs svd(M*)", "svd(M*) vs svd(PPMI)"]
    sub = fig.layout.title.subtitle.text.replace("<br>", " ")
    assert sub.startswith(CAP) and "stored embeddings; word2vec = word2vec (SGNS); squared overlaps" in sub
    assert fig.layout.yaxis.autorange == "reversed"


def test_overlap_heatmaps_without_data_says_so():
    fig = plots.overlap_heatmaps({}, caption=CAP)
    assert len(fig.data) == 0
    assert "no stored embeddings or features" in fig.layout.annotations[0].text


def test_overlap_heatmaps_needs_a_caption():
    with pytest.raises(ValueError, match="caption"):
        plots.overlap_heatmaps({("a", "b"): np.eye(2)}, caption="")
