"""Chinese text analysis for the search service: folding (traditional →
simplified, full-width → half-width, case), jieba segmentation with a user
dictionary of legal terms, single-character terms and the parts of codes and
numbers, and person-name tagging for redaction.

One `Analyzer` per runtime (jieba's tokenizer loads its dictionary once,
about a second); the functions below it are pure.
"""
from __future__ import annotations

import logging
import re
import threading
from functools import cached_property
from pathlib import Path

import jieba
import jieba.posseg

from shared.traditional import T2S

jieba.setLogLevel(logging.WARNING)

LEGAL_TERMS = Path(__file__).parent / "data" / "legal_terms.txt"

# Han ideographs (BMP and the supplementary planes) are indexed one by one;
# runs of Latin letters and runs of digits each stay whole, so that a code
# finds its parts ("JY22103020012345" → "jy", "22103020012345"; "GB 13271" and
# "GB13271" give the same tokens).
_CHAR_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[0-9]+|[a-z]+")
# Separators inside a pasted number ("2210 3030-0456", "137.0412.5676"): the
# digits on both sides are one run.
_DIGIT_GAP = re.compile(r"(?<=[0-9])[ \t\u00a0.\-－—–_/]+(?=[0-9])")
# A digit run also matches from any of its digits (a tail such as 045678):
# every suffix this long or longer is indexed, and a query prefix-matches them.
MIN_TAIL = 4
MAX_RUN = 40            # longer digit runs are not split into tails (bounded cost per run)
_FOLD: dict[int, str] | None = None


_FOLD_LOCK = threading.Lock()


def _fold_table() -> dict[int, str]:
    """Per character: full-width ASCII → ASCII, ideographic space → space,
    upper → lower case, traditional → simplified (T2S: OpenCC's t2s of each Han
    character alone, the table the redactor folds with too). One character for
    one, so offsets in a folded text are offsets in the original (snippets mark
    the original)."""
    global _FOLD
    with _FOLD_LOCK:
        if _FOLD is None:
            table: dict[int, str] = {0x3000: " "}
            for cp in range(0xFF01, 0xFF5F):
                table[cp] = chr(cp - 0xFEE0).lower()
            for cp in range(ord("A"), ord("Z") + 1):
                table[cp] = chr(cp).lower()
            table.update({ord(traditional): simple for traditional, simple in T2S.items()})
            _FOLD = table
        return _FOLD


_FOLDABLE: re.Pattern | None = None


def _foldable() -> re.Pattern:
    """The characters `fold` changes, as one class: most text has few of them,
    and replacing only those is several times faster than translating every character."""
    global _FOLDABLE
    if _FOLDABLE is None:
        table = _fold_table()
        _FOLDABLE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(table)) + "]")
    return _FOLDABLE


def fold(text: str) -> str:
    """The text as the index sees it (same length as `text`): 餐飲 → 餐饮,
    ＪＹ２２ → jy22, Ａ → a, Ω → ω."""
    table = _FOLD or _fold_table()
    folded = (_FOLDABLE or _foldable()).sub(lambda m: table[ord(m.group())], text)
    if not folded.isascii() and not folded.islower():
        lower = folded.lower()      # other scripts' capitals; only when there are any
        if len(lower) == len(folded):       # lower() lengthens a few letters (İ): keep offsets
            folded = lower
    return folded


def join_digits(text: str) -> str:
    """Pasted numbers with separators as one run (after `fold`)."""
    return _DIGIT_GAP.sub("", text)


def tails(tokens: list[str]) -> list[str]:
    """Every suffix of at least MIN_TAIL digits of each digit run (the run included)."""
    out = []
    for t in tokens:
        if t.isdigit() and MIN_TAIL <= len(t) <= MAX_RUN:
            out.extend(t[i:] for i in range(len(t) - MIN_TAIL + 1))
    return out
_WORD_CHAR = re.compile(r"\w")
# jieba cuts a text block by block (runs of Han characters, Latin letters and
# digits, split at everything else), each on its own: segmenting block by block
# gives the same words as one call, and lets a cache skip the clauses that
# decisions repeat (legal bases, the remedy clause, set phrases).
_BLOCKS = jieba.re_han_default
BLOCK_CACHE = 50_000


def char_tokens(text: str) -> list[str]:
    """Every Han character alone, every Latin run and every digit run, folded
    (pasted numbers joined): what makes one- and two-character queries
    (罚, 许可), phrases and codes match."""
    return _CHAR_TOKEN.findall(join_digits(fold(text)))


class Analyzer:
    def __init__(self, user_dict: Path | None = LEGAL_TERMS):
        self.user_dict = user_dict
        self._lock = threading.Lock()
        self._blocks: dict[str, tuple[str, ...]] = {}

    @cached_property
    def tokenizer(self) -> jieba.Tokenizer:
        with self._lock:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            if self.user_dict:
                tokenizer.load_userdict(str(self.user_dict))
            return tokenizer

    @cached_property
    def _pos(self) -> jieba.posseg.POSTokenizer:
        return jieba.posseg.POSTokenizer(self.tokenizer)

    def words(self, text: str) -> list[str]:
        """Search-mode segmentation (long words and their parts) of the folded
        text, punctuation dropped: what ranks a document that uses the query's words."""
        out: list[str] = []
        for block in _BLOCKS.split(fold(text)):
            if block:
                out.extend(self._block_words(block))
        return out

    def _block_words(self, block: str) -> tuple[str, ...]:
        found = self._blocks.get(block)
        if found is None:
            found = tuple(w for w in self.tokenizer.cut_for_search(block) if _WORD_CHAR.search(w))
            if len(self._blocks) >= BLOCK_CACHE:
                self._blocks.clear()        # bounded; the hot clauses come back at once
            self._blocks[block] = found
        return found

    def query_words(self, text: str) -> list[str]:
        """Precise-mode segmentation of a (folded) query term."""
        return [w for w in self.tokenizer.cut(fold(text)) if _WORD_CHAR.search(w)]

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, part of speech) pairs; "nr" marks a person's name."""
        return [(p.word, p.flag) for p in self._pos.cut(text)]

    def warm(self) -> None:
        _fold_table()
        self.words("行政处罚")
        self.tagged("张三")
