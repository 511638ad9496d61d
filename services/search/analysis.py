"""Chinese text analysis for the search service: jieba segmentation with a
user dictionary of legal terms, single-character terms, and person-name
tagging for redaction.

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

jieba.setLogLevel(logging.WARNING)

LEGAL_TERMS = Path(__file__).parent / "data" / "legal_terms.txt"

# Han ideographs (BMP and the supplementary planes) are indexed one by one;
# runs of Latin letters and digits stay whole ("2026", "jy2210302").
_CHAR_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[0-9a-z]+")
_WORD_CHAR = re.compile(r"\w")
# jieba cuts a text block by block (runs of Han characters, Latin letters and
# digits, split at everything else), each on its own: segmenting block by block
# gives the same words as one call, and lets a cache skip the clauses that
# decisions repeat (legal bases, the remedy clause, set phrases).
_BLOCKS = jieba.re_han_default
BLOCK_CACHE = 50_000


def char_tokens(text: str) -> list[str]:
    """Every Han character alone and every Latin/digit run, lowercased:
    what makes one- and two-character queries (罚, 许可) and phrases match."""
    return _CHAR_TOKEN.findall(text.lower())


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
        """Search-mode segmentation (long words and their parts), lowercased,
        punctuation dropped: what ranks a document that uses the query's words."""
        out: list[str] = []
        for block in _BLOCKS.split(text):
            if block:
                out.extend(self._block_words(block))
        return out

    def _block_words(self, block: str) -> tuple[str, ...]:
        found = self._blocks.get(block)
        if found is None:
            found = tuple(w.lower() for w in self.tokenizer.cut_for_search(block) if _WORD_CHAR.search(w))
            if len(self._blocks) >= BLOCK_CACHE:
                self._blocks.clear()        # bounded; the hot clauses come back at once
            self._blocks[block] = found
        return found

    def query_words(self, text: str) -> list[str]:
        """Precise-mode segmentation of a query term."""
        return [w.lower() for w in self.tokenizer.cut(text) if _WORD_CHAR.search(w)]

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, part of speech) pairs; "nr" marks a person's name."""
        return [(p.word, p.flag) for p in self._pos.cut(text)]

    def warm(self) -> None:
        self.words("行政处罚")
        self.tagged("张三")
