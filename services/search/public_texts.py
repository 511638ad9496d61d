"""One redaction pass over everything of a decision that the public sees.

Every free text a page, the API, the 双公示 export or the index shows is
listed here once (`public_texts`), redacted once, and the redacted body is
what the rest of the service derives its columns, the 双公示 fields and the
index from. Nothing is redacted twice, so the export's 违法事实 is the page's.

The publisher may adjust the automatic result in the preview: hide a span the
rules missed, or keep one they hid, with a reason. The preview answers a
digest of the exact result; publishing with that digest refuses to publish
anything else (the text or the rules changed in between), so what goes out
is what was previewed. Adjustments are recorded in the audit log.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field

from services.search.redaction import RULES, Context, Redacted, Redactor, Span, hidden, pseudonym
from shared.problems import FieldError, Problem, invalid

# Free texts of a decision as published, by JSON-pointer-like path. Identity fields (the party,
# the legal representative of an organisation, numbers, dates, the agency) are public by rule and
# are passed to the redactor as values to keep, not redacted.
TEXT_FIELDS = ("title", "summary", "content", "text", "violation_type", "revoked_license")
LICENSE_TEXT_FIELDS = ("certificate_name",)

ADJUSTMENTS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "hide": {"type": "array", "maxItems": 200, "items": {
            "type": "object", "additionalProperties": False, "required": ["field", "start", "end", "rule"],
            "properties": {"field": {"type": "string", "maxLength": 60},
                           "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 1},
                           "rule": {"enum": list(RULES)}, "reason": {"type": "string", "maxLength": 500}}}},
        "keep": {"type": "array", "maxItems": 200, "items": {
            "type": "object", "additionalProperties": False, "required": ["field", "start", "end", "reason"],
            "properties": {"field": {"type": "string", "maxLength": 60},
                           "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 1},
                           "reason": {"type": "string", "minLength": 2, "maxLength": 500}}}},
    },
}


def public_texts(body: dict) -> dict[str, str]:
    """Every free text of the decision that the public sees, by path."""
    texts = {name: body.get(name) or "" for name in TEXT_FIELDS}
    for i, basis in enumerate(body.get("legal_basis") or []):
        texts[f"legal_basis/{i}"] = basis
    license_ = body.get("license") or {}
    for name in LICENSE_TEXT_FIELDS:
        if license_.get(name):
            texts[f"license/{name}"] = license_[name]
    return texts


def _with_texts(body: dict, texts: dict[str, str]) -> dict:
    out = copy.deepcopy(body)
    for path, value in texts.items():
        head, _, tail = path.partition("/")
        if not tail:
            out[head] = value
        elif head == "legal_basis":
            out[head][int(tail)] = value
        else:
            out[head][tail] = value
    return out


def kept_values(body: dict) -> tuple[str, ...]:
    """Public values the redactor must never touch, wherever they appear."""
    party, license_ = body.get("party") or {}, body.get("license") or {}
    values = [body.get("number"), body.get("agency"), body.get("agency_credit_code"), body.get("source_unit"),
              license_.get("number"), party.get("credit_code")]
    return tuple(v for v in values if v)


def context_of(body: dict) -> Context:
    party = body.get("party") or {}
    person = party.get("kind") == "person"
    return Context(
        party_name=party.get("name", ""), party_is_person=person,
        visible_names=() if person else tuple(n for n in [party.get("legal_representative")] if n),
        hidden_names=tuple(body.get("persons") or ()),
        hidden_addresses=tuple(a for a in [party.get("address")] if a and person),
        kept_values=kept_values(body))


@dataclass
class Outcome:
    """The redacted body and how each text was redacted."""
    body: dict                                   # the decision with every public text redacted
    results: dict[str, Redacted]                 # path → result (spans in the original text)
    originals: dict[str, str]
    adjusted: list[dict] = field(default_factory=list)    # what the publisher changed (for the audit)
    digest: str = ""

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results.values():
            for s in result.spans:
                counts[s.rule] = counts.get(s.rule, 0) + 1
        return counts


def _replacement(rule: str, original: str) -> str:
    return pseudonym(original) if rule == "person_name" else hidden(rule)


def _digest(results: dict[str, Redacted]) -> str:
    canonical = {path: {"text": r.text, "spans": [[s.start, s.end, s.rule, s.replacement] for s in r.spans]}
                 for path, r in sorted(results.items())}
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def redact_decision(redactor: Redactor, body: dict, adjustments: dict | None = None) -> Outcome:
    """Redact every public text of `body` once, with the publisher's adjustments."""
    adjustments = adjustments or {}
    context = context_of(body)
    originals = public_texts(body)
    spans = {path: list(redactor.detect(text, context)) if text else [] for path, text in originals.items()}
    errors: list[FieldError] = []
    adjusted: list[dict] = []
    for i, keep in enumerate(adjustments.get("keep") or []):
        found = [s for s in spans.get(keep["field"], []) if (s.start, s.end) == (keep["start"], keep["end"])]
        if not found:
            errors.append(FieldError(f"redaction/keep/{i}", "该位置没有自动隐去的内容，请重新预览后再选择。"))
            continue
        spans[keep["field"]].remove(found[0])
        adjusted.append({"action": "keep", "field": keep["field"], "start": keep["start"], "end": keep["end"],
                         "rule": found[0].rule, "shown": originals[keep["field"]][keep["start"]:keep["end"]],
                         "reason": keep["reason"]})
    for i, hide in enumerate(adjustments.get("hide") or []):
        text = originals.get(hide["field"])
        if text is None:
            errors.append(FieldError(f"redaction/hide/{i}/field", "没有这个公开字段。"))
            continue
        start, end = hide["start"], hide["end"]
        if not start < end <= len(text):
            errors.append(FieldError(f"redaction/hide/{i}", f"隐去范围应在 0 至 {len(text)} 之间且起点小于终点。"))
            continue
        # A publisher's span swallows any automatic span it overlaps.
        overlapping = [s for s in spans[hide["field"]] if s.start < end and start < s.end]
        start = min([start, *(s.start for s in overlapping)])
        end = max([end, *(s.end for s in overlapping)])
        for s in overlapping:
            spans[hide["field"]].remove(s)
        spans[hide["field"]].append(Span(start, end, hide["rule"], _replacement(hide["rule"], text[start:end])))
        adjusted.append({"action": "hide", "field": hide["field"], "start": start, "end": end,
                         "rule": hide["rule"], "reason": hide.get("reason", "")})
    if errors:
        raise invalid(errors)
    results = {path: redactor.apply(originals[path], sorted(spans[path], key=lambda s: s.start))
               for path in originals}
    outcome = Outcome(_with_texts(body, {p: r.text for p, r in results.items()}), results, originals, adjusted,
                      _digest(results))
    expected = adjustments.get("digest")
    if expected and expected != outcome.digest:
        raise Problem(409, "preview-stale", "公示内容与预览不一致",
                      "预览之后决定的内容或隐去规则已有变化，请重新预览并确认后再发布。",
                      [FieldError("redaction/digest", "与本次隐去结果不符。")])
    return outcome


def redact_note(redactor: Redactor, note: str, party_name: str, party_is_person: bool,
                visible_names: tuple[str, ...] = ()) -> str:
    """A short public note (a withdrawal reason) redacted with the decision's party kept."""
    context = Context(party_name=party_name, party_is_person=party_is_person, visible_names=visible_names)
    return redactor.redact(note, context).text
