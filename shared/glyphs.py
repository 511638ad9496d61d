"""Characters the document fonts can draw.

A name with a rare character (生僻字) must print as that character, never as
an empty box or not at all. `unprintable_errors` refuses, naming the field,
any character that none of the faces a document can use (shared.fonts:
Noto Serif/Sans CJK SC, AR PL UKai, BabelStone Han for CJK Extension B+)
has a glyph for. The union of their character maps is read once per process.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from shared.fonts import document_font_faces
from shared.problems import FieldError
from shared.text import walk_strings

__all__ = ["printable_code_points", "unprintable_errors"]


@lru_cache(maxsize=1)
def printable_code_points() -> frozenset[int]:
    """Every code point some document face maps to a glyph (read once; ~1 s for the 51 MB BabelStone file)."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for path, index in document_font_faces():
        font = TTFont(str(path), fontNumber=index, lazy=True)
        try:
            points.update(font.getBestCmap() or {})
        finally:
            font.close()
    return frozenset(points)


def _needs_no_glyph(ch: str) -> bool:
    # Layout and invisible characters (tab, line break, spaces, variation
    # selectors kept after a Han character) are not drawn from the cmap.
    cp = ord(ch)
    return (ch in "\t\n\r" or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cf")
            or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF)


def unprintable_errors(value, path: str = "data") -> list[FieldError]:
    """Errors naming every string field under `value` holding a character no document font can draw."""
    known = printable_code_points()
    errors: list[FieldError] = []

    def visit(text: str, here: str, _is_key: bool) -> None:
        missing = [ch for ch in dict.fromkeys(text) if ord(ch) not in known and not _needs_no_glyph(ch)]
        if missing:
            shown = "、".join(f"“{ch}”（U+{ord(ch):04X}）" for ch in missing[:10])
            errors.append(FieldError(
                here, f"{shown}无法打印：文书所用字体中都没有该字符的字形，打印出来会是空框或缺字。"
                      "请核对是否录入有误，或联系管理员安装含该字的字体。"))

    walk_strings(value, path, visit)
    return errors
