"""The chapters read goal -> derivation -> short calls -> figure -> check (issue 11).

``tools/chapter_stats.py --check``: no ``def``/``class`` in any chapter's code cells,
code-cell median at most 15 lines, no cell over 30 lines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("chapter_stats", ROOT / "tools" / "chapter_stats.py")
chapter_stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chapter_stats)


def test_chapters_meet_the_cell_targets(capsys):
    rc = chapter_stats.main(["--check"])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err


def test_the_check_catches_a_definition_and_a_long_cell(tmp_path):
    ch = tmp_path / "ch.md"
    long_cell = "\n".join(f"x{i} = {i}" for i in range(31))
    ch.write_text("# t\n\n```{code-cell} ipython3\ndef f():\n    return 1\n```\n\n"
                  f"```{{code-cell}} ipython3\n:tags: [hide-input]\n{long_cell}\n```\n")
    s = chapter_stats.stats(ch)
    assert s["defs"] == ["f"] and s["longest"] == 31 and s["cells"] == 2
