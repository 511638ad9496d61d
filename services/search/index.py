"""The search index interface, the query language and snippets: what both
backends (tantivy_index.py: embedded Tantivy + jieba; elastic.py:
Elasticsearch) share.

Query language (the `q` of /v1/search and the search page): words separated
by spaces must all occur; "quoted phrases" must occur as written; a leading
minus excludes a word or phrase (-警告, -"通报批评"). Words match as
substrings of the text (so 罚 and 许可 find 行政处罚 and 行政许可), and
documents that use the query's words as words rank first. Text and queries
are folded alike (analysis.fold: 餐飲 = 餐饮, ＪＹ２２ = jy22), numbers match
by any part of 4 or more digits (045678) and with pasted separators, and a
code by its letters or digits alone (GB 13271 = GB13271). A query of
punctuation only is refused (422 naming `q`), not answered with everything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date
from html import escape
from typing import Callable, Iterable, Protocol

from services.search.analysis import char_tokens, fold
from shared.problems import invalid_field

KINDS = {"license": "行政许可", "penalty": "行政处罚", "other": "其他行政执法决定"}
SORTS = ("relevance", "date")
MAX_TERMS = 10
MAX_QUERY_CHARS = 200
# Results reachable by page number: deeper than this, narrow the search
# (or page with `after`, sorted by date).
MAX_WINDOW = 1000
SNIPPET_CHARS = 120

_TERM = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


@dataclass(frozen=True)
class IndexDoc:
    """What the index holds of a published decision (all of it already redacted)."""
    number: str
    kind: str
    title: str
    agency: str
    party: str
    decided_on: date
    publish_until: date
    body: str

    @property
    def year(self) -> int:
        return self.decided_on.year


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    exclude: bool = False


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[Term, ...] = ()
    kind: str | None = None
    agency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = 20
    after: tuple[str, str] | None = None    # (decided_on ISO, number) of the last hit seen, sort=date
    today: date | None = None               # decisions published until before this are not shown

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.exclude]

    @property
    def negative(self) -> list[Term]:
        return [t for t in self.terms if t.exclude]

    @property
    def offset(self) -> int:
        return 0 if self.after else (self.page - 1) * self.size

    @property
    def effective_sort(self) -> str:
        """Without words there is nothing to rank by: newest first."""
        return self.sort if self.positive else "date"


@dataclass
class Hit:
    number: str
    title: str
    kind: str
    agency: str
    party: str
    decided_on: date
    snippet: str        # HTML: escaped text with <mark> around matches

    def as_dict(self) -> dict:
        return {"number": self.number, "title": self.title, "kind": self.kind, "agency": self.agency,
                "party": self.party, "decided_on": self.decided_on.isoformat(), "snippet": self.snippet}


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)   # kind, agency, year → value → count
    # Both backends count and rank every match exactly; these stay in the API
    # (and the page's templates) for compatibility, always false / null.
    total_approximate: bool = False
    facets_approximate: bool = False
    ranked_within: int | None = None


class SearchIndex(Protocol):
    """A backend. Every method may be called from several threads."""
    name: str

    def upsert(self, docs: Iterable[IndexDoc], segmented: dict | None = None) -> int: ...
    # searchable within a second; segmented: number → (IndexDoc, fields) already computed
    def delete(self, number: str) -> None: ...
    def refresh(self, timeout: float = 30.0) -> None: ...        # wait until what was written is searchable
    def ensure(self, docs: Callable[[], Iterable[IndexDoc]], count: Callable[[], int]) -> None: ...
    # (on start: rebuild from the database when missing or of another schema version)
    def search(self, query: SearchQuery) -> SearchResult: ...
    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                workers: int = 1) -> int: ...
    def count(self) -> int: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


_QUOTES = str.maketrans({"“": '"', "”": '"', "＂": '"', "－": "-", "\u3000": " "})
# A number pasted in groups ("2210 3030 0456 78", an ID or a code) is one term
# when its digits are this many; "2024 2025" stays two.
_PASTED = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:[ \t-]+[0-9]+)+(?![0-9A-Za-z])")
PASTED_DIGITS = 10


def _join_pasted(q: str) -> str:
    def join(m: re.Match) -> str:
        digits = re.sub(r"[ \t-]+", "", m.group())
        return digits if len(digits) >= PASTED_DIGITS else m.group()
    return _PASTED.sub(join, q)


def parse_terms(q: str) -> tuple[Term, ...]:
    """The query string as terms; punctuation-only terms are dropped. A
    problem naming `q` when it is too long, has too many terms, or nothing
    but punctuation (it would otherwise match everything)."""
    q = q.strip()
    if len(q) > MAX_QUERY_CHARS:
        raise invalid_field("q", f"检索词不能超过 {MAX_QUERY_CHARS} 个字符。")
    terms = []
    for m in _TERM.finditer(_join_pasted(fold(q).translate(_QUOTES))):
        if m.group(2) is not None:
            exclude, text, phrase = m.group(1) == "-", m.group(2).strip(), True
        else:
            exclude, text, phrase = m.group(3) == "-", m.group(4), False
        if not char_tokens(text):       # 。，！ or *** : nothing to look for
            continue
        terms.append(Term(text, phrase, exclude))
    if q and not terms:
        raise invalid_field("q", "检索词只有标点符号，请输入要查找的文字、字母或数字，例如“餐饮”或许可证编号。")
    if len(terms) > MAX_TERMS:
        raise invalid_field("q", f"检索词不能超过 {MAX_TERMS} 个。")
    return tuple(terms)


def check_window(query: SearchQuery) -> None:
    if query.after is None and query.page * query.size > MAX_WINDOW:
        raise invalid_field("page", f"只能翻到前 {MAX_WINDOW} 条结果，请增加检索条件缩小范围。")


_SEPARATOR = r"[ \t\u00a0.\-—–_/]*"


def _needle_pattern(needle: str) -> str:
    """A folded needle as a regex over folded text: digits may have pasted separators between them."""
    out = []
    for i, ch in enumerate(needle):
        if i and ch.isdigit() and needle[i - 1].isdigit():
            out.append(_SEPARATOR)
        out.append(re.escape(ch))
    return "".join(out)


def _needles(terms: Iterable[Term]) -> list[str]:
    """What to mark in a snippet: each positive term (folded), its pieces when it has spaces."""
    found = []
    for t in terms:
        found.extend(p for p in re.split(r"\s+", fold(t.text)) if p and char_tokens(p))
    return sorted(set(found), key=len, reverse=True)


@lru_cache(maxsize=256)
def _pattern(terms: tuple[Term, ...]) -> re.Pattern | None:
    """One regex for every needle of a query (built once per query, not per hit)."""
    needles = _needles(terms)
    return re.compile("|".join(_needle_pattern(n) for n in needles)) if needles else None


def snippet(body: str, terms: Iterable[Term], width: int = SNIPPET_CHARS,
            boundaries: Callable[[str], list[int]] | None = None) -> str:
    """An escaped window of `body` around the first match, every match in
    <mark> (matched on the folded text: 餐飲 marks for 餐饮); the body's start
    when nothing matches. The window starts at a sentence or clause, else at a
    word: `boundaries` gives the word starts of a text (jieba), else the
    match itself."""
    pattern = _pattern(tuple(terms))
    text = re.sub(r"\s+", " ", body).strip()
    folded = fold(text)         # same length: offsets are the original's
    first_match = pattern.search(folded) if pattern else None
    first = first_match.start() if first_match else -1
    start = max(0, first - width // 4) if first >= 0 else 0
    if start > 0:       # begin at a sentence or clause rather than inside one
        for marks in ("。；;！？!?\n", "，,、：:"):
            cut = max(text.rfind(p, start, first) for p in marks)
            if cut >= 0:
                start = cut + 1
                break
        else:
            start = _word_start(text, start, first, boundaries)
    window, shown = text[start:start + width], folded[start:start + width]
    prefix, suffix = ("…" if start > 0 else ""), ("…" if start + width < len(text) else "")
    if not pattern:
        return escape(prefix + window + suffix)
    out, at = [], 0
    for m in pattern.finditer(shown):
        out.append(escape(window[at:m.start()]))
        out.append(f"<mark>{escape(window[m.start():m.end()])}</mark>")
        at = m.end()
    out.append(escape(window[at:]))
    return escape(prefix) + "".join(out) + escape(suffix)


def _word_start(text: str, start: int, first: int, boundaries: Callable[[str], list[int]] | None) -> int:
    """The first word start at or after `start` (and at most `first`, the match)."""
    if boundaries is None:
        return first
    # Segment from a little earlier, so that the word at `start` is cut as in the whole text.
    base = max(0, start - 8)
    for offset in boundaries(text[base:first + 1]):
        if start <= base + offset <= first:
            return base + offset
    return first
