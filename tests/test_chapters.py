"""The chapters read goal -> derivation -> short calls -> figure -> check (issue 11).

``tools/chapter_stats.py --check``: no ``def``/``class`` in any chapter's code cells,
code-cell median at most 15 lines, no cell over 30 lines, no code line over 88 characters.
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


def test_the_check_catches_a_wide_code_line_and_nothing_else(tmp_path, monkeypatch, capsys):
    ch = tmp_path / "ch.md"
    prose = "p" * 120   # prose and fenced non-cell blocks may be wide
    ch.write_text(f"# t\n\n{prose}\n\n```python\n{prose}\n```\n\n```{{code-cell}} ipython3\n"
                  f"x = 1\ny = '{'y' * 82}'\nz = '{'z' * 83}'\n```\n")
    assert chapter_stats.wide_lines(ch) == [(12, 89)]      # 'z' line: 89 characters; 'y': 88
    s = chapter_stats.stats(ch, width=80)
    assert [n for _, n in s["wide"]] == [88, 89] and s["cells"] == 1
    monkeypatch.setattr(chapter_stats, "chapters", lambda root=None: [ch])
    monkeypatch.setattr(chapter_stats, "ROOT", tmp_path)
    assert chapter_stats.main(["--check"]) == 1
    assert "ch.md:12: code line of 89 characters" in capsys.readouterr().err
    assert chapter_stats.main(["--check", "--width", "89"]) == 0
