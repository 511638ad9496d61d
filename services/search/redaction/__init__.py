"""Redaction: personal data found in a decision's text and hidden before
anything reaches the index, the database's public columns or a page.

Built like Microsoft Presidio's analyzer/anonymizer split: recognisers read a
normalised view of the text (view.py: NFKC, full-width, traditional
characters, Chinese numerals, invisible characters) and report hits with
their kind; public values are recognised too (credit codes, registration
numbers, hotlines, law citations, document and standard numbers, the
agency's own values, the party, officers) and protect their characters; a
resolver drops what overlaps a protection and merges the rest; `apply`
writes the markers into the ORIGINAL text. Markers (【…已隐去】) and
pseudonyms (张某) are protections themselves, so redacting twice changes
nothing. When in doubt the text is hidden: a hidden word costs a reader
little, a shown ID number cannot be taken back.
"""
from __future__ import annotations

import re
from datetime import date

import jieba.posseg

from services.search.analysis import Analyzer
from services.search.redaction import recognisers
from services.search.redaction.model import MARKER, RULES, Context, Redacted, Span, hidden
from services.search.redaction.names import COMPOUND_SURNAMES, SURNAMES, NameFinder, pseudonym
from services.search.redaction.numbers import (
    _ID_CHECK, _ID_WEIGHTS, birth_date, credit_code_ok, id18_checksum_ok, luhn_ok, normalise_id_number)
from services.search.redaction.recognisers import Hit
from services.search.redaction.view import build, find_all

__all__ = ["Context", "Redacted", "Redactor", "Span", "RULES", "birth_date", "hidden", "normalise_id_number",
           "minor_evidence", "pseudonym", "COMPOUND_SURNAMES", "SURNAMES", "MARKER", "credit_code_ok",
           "id18_checksum_ok", "luhn_ok", "_ID_CHECK", "_ID_WEIGHTS"]

MAX_TEXT = 200_000       # characters redacted at most in one call (a decision is a few thousand)
# Which kind wins when two hiding hits overlap: the more specific number first.
_PRIORITY = {"id_number": 0, "disability_card": 0, "bank_card": 1, "bank_account": 1, "mobile": 2, "landline": 2,
             "email": 2, "im_account": 3, "plate": 3, "birth_date": 4, "age": 4, "health": 4, "address": 5,
             "person_name": 6}


class Redactor:
    def __init__(self, analyzer: Analyzer):
        self.analyzer = analyzer

    def _names(self) -> NameFinder:
        finder = self.__dict__.get("_finder")
        if finder is None:
            tokenizer = self.analyzer.tokenizer
            freq, tags = tokenizer.FREQ, jieba.posseg.POSTokenizer(tokenizer).word_tag_tab
            finder = self.__dict__["_finder"] = NameFinder(lambda w: freq.get(w) or 0, lambda t: list(tokenizer.cut(t)),
                                                           tags.get)
        return finder

    def detect(self, text: str, context: Context | None = None) -> list[Span]:
        """Every span to hide, sorted and non-overlapping, in the original text."""
        context = context or Context()
        if len(text) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT} characters")
        if not text:
            return []
        view = build(text)
        protected = recognisers.public_hits(view, context)
        found = [*recognisers.number_hits(view, context), *recognisers.labelled_number_hits(view, context),
                 *recognisers.other_hits(view), *recognisers.address_hits(view, context)]
        protected += [h for h in found if h.action == "keep"]
        strong = _mask(len(view.norm), protected)
        hide = [h for h in found if h.action == "hide" and not _hits(strong, h)]
        taken = _mask(len(view.norm), protected + hide)
        names, keep_names = self._names().find(view, context, taken, _mask(len(view.norm), hide))
        blocked = _mask(len(view.norm), protected + hide + keep_names)
        hide += [h for h in names if not _hits(blocked, h)]
        return _resolve(view, hide)

    def apply(self, text: str, spans: list[Span] | tuple[Span, ...]) -> Redacted:
        out, at = [], 0
        for s in spans:
            out.append(text[at:s.start])
            out.append(s.replacement)
            at = s.end
        out.append(text[at:])
        return Redacted(len(text), "".join(out), tuple(spans))

    def redact(self, text: str, context: Context | None = None) -> Redacted:
        return self.apply(text, self.detect(text, context))


def _mask(length: int, hits: list[Hit]) -> bytearray:
    """One byte per character of the view: 1 where a hit lies."""
    mask = bytearray(length)
    for h in hits:
        mask[h.start:h.end] = b"\x01" * (h.end - h.start)
    return mask


def _hits(mask: bytearray, hit: Hit) -> bool:
    return mask.find(1, hit.start, hit.end) >= 0


def _resolve(view, hits: list[Hit]) -> list[Span]:
    """Earliest first, at one start the longest; overlapping hits merge into one span
    of the most specific kind (an address around a phone is one hidden address)."""
    merged: list[list] = []
    for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        rule = h.rule.split(":", 1)[0]
        if merged and h.start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], h.end)
            if _PRIORITY[rule] < _PRIORITY[last[2]] and (h.end - h.start) * 2 >= last[1] - last[0]:
                last[2], last[3] = rule, h.rule
            continue
        merged.append([h.start, h.end, rule, h.rule])
    spans = []
    for start, end, rule, full in merged:
        a, b = view.original_span(start, end)
        replacement = full.split(":", 1)[1] if ":" in full else hidden(rule)
        if rule == "person_name" and ":" not in full:
            replacement = hidden(rule)
        spans.append(Span(a, b, rule, replacement))
    return spans


_AGE_NEAR = re.compile(r"[（(,，\s]*(?:现年|年龄|今年|时年|年仅)?\s*[:：为]?\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*周?岁")
_CN_NUMBER = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _cn_int(value: str) -> int:
    if value.isdigit():
        return int(value)
    if value == "十":
        return 10
    if value.startswith("十"):
        return 10 + _CN_NUMBER.get(value[1], 0)
    if "十" in value:
        tens, _, ones = value.partition("十")
        return _CN_NUMBER.get(tens, 0) * 10 + (_CN_NUMBER.get(ones, 0) if ones else 0)
    return _CN_NUMBER.get(value, 99)


def _under_18(born: date, on: date) -> bool:
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:               # born on 29 February
        adult = date(born.year + 18, 3, 1)
    return adult > on


def minor_evidence(text: str, decided_on: date, party_name: str = "") -> str | None:
    """Why the text shows the party under 18 on `decided_on`, or None: an age next
    to the party (（16周岁）, 16岁) or an ID number of the party (any form)."""
    if not text:
        return None
    view = build(text[:MAX_TEXT])
    norm = view.norm
    party = build(party_name).norm.strip() if party_name else ""
    anchors = [m.end() for m in find_all(party, norm)] if party else []
    anchors += [m.end() for m in re.finditer(r"当事人(?!之)\s*[:：]?\s*", norm)]
    for at in anchors:
        # the party's own name after 当事人, then its age in the same sentence
        window = re.split(r"[。；;]|证人|员工|之妻|之子|之女|其妻|其子|其女|其父|其母", norm[at:at + 30])[0]
        m = _AGE_NEAR.search(window)
        if m:
            before = window[:m.start(1)]
            if not re.search(r"[满过超逾]\s*$", before) and _cn_int(m.group(1)) < 18:
                return f"文中载明当事人年龄为{m.group(1)}岁，系未成年人。"
    for h in recognisers.number_hits(view, Context()):
        if h.rule not in ("id_number", "disability_card"):
            continue
        value = re.sub(r"[^0-9A-Za-z]", "", norm[h.start:h.end])[:18]
        born = birth_date(value if len(value) == 18 else norm[h.start:h.end])
        if not born or not _under_18(born, decided_on):
            continue
        if not anchors or any(0 <= h.start - a <= 80 for a in anchors):
            return "文中当事人的身份证号码显示其未满十八周岁，系未成年人。"
    return None
