"""Traditional → simplified Chinese, one character for one.

One table for the whole project (data/t2s_chars.txt, drawn from OpenCC's t2s
character by character): the search service folds indexed text and queries
with it, the redactor reads traditional text through it, and the generator
reads waivers in any script. One character for one, so offsets in a folded
text are offsets in the original.
"""
from __future__ import annotations

from pathlib import Path


def _load() -> dict[str, str]:
    table = {}
    for line in (Path(__file__).resolve().parent / "data" / "t2s_chars.txt").read_text(encoding="utf-8").splitlines():
        if len(line) == 2 and not line.startswith("#"):
            table[line[0]] = line[1]
    return table


T2S: dict[str, str] = _load()
