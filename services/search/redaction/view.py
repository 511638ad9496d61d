"""The normalised view the recognisers read: one character of `norm` for each
character it came from, with `starts`/`ends` mapping back to the original text.

Folded: NFKC (full-width digits, letters, Ｘ, ＠, punctuation), traditional to
simplified characters (a 1:1 table drawn from OpenCC's t2s), invisible
characters dropped (zero-width spaces, soft hyphens, BOM), runs of Chinese
numerals read as digits (一三九零四一二五六七九), and `(at)`, `[at]`, `(dot)`
written as `@` and `.`. Separators inside digit runs are left in place: the
number recognisers join the groups of a run themselves (numbers.py), so two
numbers separated by a space are not glued into one.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.traditional import T2S

DATA = Path(__file__).resolve().parent.parent / "data"

INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f")


# Chinese numerals as digits, in runs long enough to be a number (a phone has 11)
# and not a date year (二〇二六) or a count (三十八).
# (and the financial forms 壹贰叁…, written on receipts and by some clerks)
_CN_DIGITS = str.maketrans("零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖", "001234567891123456789")
_CN_RUN = re.compile(r"[零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖](?:[\s\-－—.]?[零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖]){6,}")
_AT = re.compile(r"\s?[(\[{（【]\s*(?:at|AT|At)\s*[)\]}）】]\s?|\s(?:at|AT)\s(?=[A-Za-z0-9-]+\s?(?:\.|[(\[（]dot))")
_DOT = re.compile(r"\s?[(\[{（【]\s*(?:dot|DOT)\s*[)\]}）】]\s?")


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    if ch in INVISIBLE:
        return ""
    ch = T2S.get(ch, ch)
    if ch.isascii() or "\u4e00" <= ch <= "\u9fff":
        return ch
    folded = unicodedata.normalize("NFKC", ch)
    if folded in ("\u3000", "\xa0") or (folded.isspace() and folded not in "\n\r\t"):
        return " "
    return folded


@dataclass(frozen=True)
class View:
    original: str
    norm: str
    starts: tuple[int, ...] | None     # norm index -> first original index it came from (None: the same)
    ends: tuple[int, ...] | None       # norm index -> original index after it

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.starts is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


# Characters whose fold is not exactly one character (invisible ones, ligatures, ㈠…).
_NONUNIT: set[str] = set(INVISIBLE)


class _FoldTable(dict):
    def __missing__(self, code: int) -> str:
        out = fold_char(chr(code))
        if len(out) != 1:
            _NONUNIT.add(chr(code))
        self[code] = out
        return out


_FOLD = _FoldTable()


def build(text: str) -> View:
    norm = text.translate(_FOLD)
    if len(norm) == len(text) and not any(c in text for c in _NONUNIT) \
            and not _AT.search(norm) and not _DOT.search(norm):
        if any(c in norm for c in "零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"):
            chars = list(norm)
            for m in _CN_RUN.finditer(norm):
                chars[m.start():m.end()] = m.group().translate(_CN_DIGITS)
            norm = "".join(chars)
        return View(text, norm, None, None)
    return _build_mapped(text)


def _build_mapped(text: str) -> View:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        out = fold_char(ch)
        for o in out:
            chars.append(o)
            starts.append(i)
            ends.append(i + 1)
    norm = "".join(chars)
    # 1:1 replacements: Chinese numeral runs become digits.
    if any(c in norm for c in "零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"):
        for m in _CN_RUN.finditer(norm):
            digits = sum(1 for c in m.group() if c.isdigit() or c in "零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖")
            if digits >= 7:
                chars[m.start():m.end()] = m.group().translate(_CN_DIGITS)
        norm = "".join(chars)
    # Length-changing replacements: "(at)" → "@", "(dot)" → ".", spaces around.
    for pattern, repl in ((_AT, "@"), (_DOT, ".")):
        if pattern.search(norm):
            chars2, starts2, ends2, at = [], [], [], 0
            for m in pattern.finditer(norm):
                chars2 += chars[at:m.start()]
                starts2 += starts[at:m.start()]
                ends2 += ends[at:m.start()]
                chars2.append(repl)
                starts2.append(starts[m.start()])
                ends2.append(ends[m.end() - 1])
                at = m.end()
            chars, starts, ends = chars2 + chars[at:], starts2 + starts[at:], ends2 + ends[at:]
            norm = "".join(chars)
    return View(text, norm, tuple(starts), tuple(ends))


class Found(tuple):
    """An occurrence of a literal: start() and end() as a regex match has them."""
    def start(self) -> int:
        return self[0]

    def end(self) -> int:
        return self[1]


def find_all(needle: str, text: str) -> list:
    """Every non-overlapping occurrence of `needle`, left to right: what
    re.finditer(re.escape(needle), text) finds, without compiling a pattern for
    each party name or address (each decision has its own, so the regex cache
    never held them: about 1 ms a decision went into compiling)."""
    if not needle:
        return list(re.finditer("", text))
    out, at = [], text.find(needle)
    while at >= 0:
        out.append(Found((at, at + len(needle))))
        at = text.find(needle, at + len(needle))
    return out
