"""The labelled redaction corpus (redaction_corpus.jsonl) and its scoring.

Each case is a text as clerks write it, its context (the party, public values
the agency passes), the values that must be hidden (with their kind) and the
values that must stay. `load()` adds, for every short case, the forms the same
text takes when typed full-width, in traditional characters, or copied from a
PDF with a line break inside each number: the same labels must hold.

`score(redactor, cases)` returns per kind: recall (hidden values whose every
character is covered by a span), kept values left intact, and span precision
(spans that cover a labelled value: the corpus labels every personal value, so
a span elsewhere hid something public).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

CORPUS = Path(__file__).with_name("redaction_corpus.jsonl")
T2S = Path(__file__).resolve().parents[2] / "shared" / "data" / "t2s_chars.txt"

# kind in the corpus -> class scored
CLASSES = {"id_number": "id_number", "disability_card": "id_number", "bank_card": "bank", "bank_account": "bank"}
STRUCTURED = {"id_number", "mobile", "landline", "bank", "email", "plate", "im_account"}


@dataclass
class Case:
    id: str
    text: str
    context: dict
    hidden: list[tuple[str, str]]          # (value, kind)
    kept: list[tuple[str, str]]            # (value, kind)
    tags: list[str] = field(default_factory=list)


def _simplified_to_traditional() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in T2S.read_text(encoding="utf-8").splitlines():
        if len(line) == 2 and not line.startswith("#") and "\u4e00" <= line[0] <= "\u9fff":
            table.setdefault(line[1], line[0])
    return table


def _fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch


def _map_case(case: Case, fn, suffix: str) -> Case | None:
    text = "".join(fn(c) for c in case.text)
    if text == case.text:
        return None
    conv = lambda v: "".join(fn(c) for c in v)  # noqa: E731
    return replace(case, id=case.id + suffix, text=text, hidden=[(conv(v), k) for v, k in case.hidden],
                   kept=[(conv(v), k) for v, k in case.kept], tags=[*case.tags, suffix.strip("-")])


def _line_broken(case: Case) -> Case | None:
    """Each structured value of 10+ characters broken by a line break in its middle."""
    text, hidden, changed = case.text, [], False
    for value, kind in case.hidden:
        if CLASSES.get(kind, kind) in STRUCTURED - {"email", "plate", "im_account"} and len(value) >= 10 \
                and "\n" not in value:
            half = len(value) // 2
            broken = value[:half] + "\n" + value[half:]
            text = text.replace(value, broken)
            hidden.append((broken, kind))
            changed = True
        else:
            hidden.append((value, kind))
    if not changed or any(v not in text for v, _ in case.kept):
        return None
    return replace(case, id=case.id + "-br", text=text, hidden=hidden, tags=[*case.tags, "br"])


def base_cases() -> list[Case]:
    cases = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            cases.append(Case(d["id"], d["text"], d["context"], [tuple(x) for x in d["hidden"]],
                              [tuple(x) for x in d["kept"]], d.get("tags", [])))
    return cases


def load() -> list[Case]:
    s2t = _simplified_to_traditional()
    out = []
    for case in base_cases():
        out.append(case)
        if "decision" in case.tags:
            continue
        for variant in (_map_case(case, _fullwidth, "-fw"), _map_case(case, lambda c: s2t.get(c, c), "-tc"),
                        _line_broken(case)):
            if variant is not None:
                out.append(variant)
    return out


def context_of(case: Case):
    from services.search.redaction import Context
    c = dict(case.context)
    for name in ("visible_names", "hidden_names", "hidden_addresses", "kept_values"):
        if name in c:
            c[name] = tuple(c[name])
    return Context(**c)


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    found, at = [], text.find(value)
    while at >= 0:
        found.append((at, at + len(value)))
        at = text.find(value, at + 1)
    return found


@dataclass
class Score:
    hidden: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))     # class -> [covered, total]
    kept: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))       # kind -> [intact, total]
    spans: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))      # rule -> [on a label, total]
    misses: list = field(default_factory=list)
    damages: list = field(default_factory=list)
    strays: list = field(default_factory=list)

    def recall(self, cls: str) -> float:
        covered, total = self.hidden[cls]
        return covered / total if total else 1.0

    def intact(self) -> float:
        ok = sum(v[0] for v in self.kept.values())
        total = sum(v[1] for v in self.kept.values())
        return ok / total if total else 1.0

    def precision(self, rule: str | None = None) -> float:
        rows = [self.spans[rule]] if rule else list(self.spans.values())
        good, total = sum(r[0] for r in rows), sum(r[1] for r in rows)
        return good / total if total else 1.0


def score(redactor, cases: list[Case]) -> Score:
    result = Score()
    for case in cases:
        spans = redactor.detect(case.text, context_of(case))
        covered = bytearray(len(case.text))
        for s in spans:
            covered[s.start:s.end] = b"\x01" * (s.end - s.start)
        labelled = bytearray(len(case.text))
        hidden_at = [(s, e) for v, _ in case.hidden for s, e in _occurrences(case.text, v)]
        kept_at = [(s, e) for v, _ in case.kept for s, e in _occurrences(case.text, v)]
        inside = lambda s, e, others: any(a <= s and e <= b and b - a > e - s for a, b in others)  # noqa: E731
        for value, kind in case.hidden:
            cls = CLASSES.get(kind, kind)
            for start, end in _occurrences(case.text, value):
                if inside(start, end, kept_at):      # 高峰 inside the kept word 高峰期
                    continue
                labelled[start:end] = b"\x01" * (end - start)
                ok = all(covered[start:end])
                result.hidden[cls][0] += ok
                result.hidden[cls][1] += 1
                if not ok:
                    result.misses.append((case.id, kind, value))
        for value, kind in case.kept:
            for start, end in _occurrences(case.text, value):
                if inside(start, end, hidden_at):    # the party 张伟 inside another person's 张伟民
                    continue
                ok = covered.find(1, start, end) < 0
                result.kept[kind][0] += ok
                result.kept[kind][1] += 1
                if not ok:
                    result.damages.append((case.id, kind, value))
        for s in spans:
            on_label = labelled.find(1, s.start, s.end) >= 0
            result.spans[s.rule][0] += on_label
            result.spans[s.rule][1] += 1
            if not on_label:
                result.strays.append((case.id, s.rule, case.text[s.start:s.end]))
    return result
