"""Binding order (DOMAIN.md: conclusion before basis) and page ranges.

The rules per case type come from data/binding.json (or ZHIFA_BINDING_FILE):
groups of categories in binding order, each listing generator document
types in order; uploaded items join the group their category names. Pure
functions on anything with `category`, `doc_type`, `date`, `position` and
`pages` attributes, so they are tested without a database.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Iterable, Protocol, Sequence

DEFAULT_RULES = Path(__file__).parent / "data" / "binding.json"
UPLOAD_FORMATS_MEDIA = frozenset({"mp3", "wav", "m4a", "ogg", "flac", "mp4", "mov", "avi", "mkv", "webm"})


class Bindable(Protocol):
    category: str
    doc_type: str | None
    date: date | None
    position: int
    pages: int


@dataclass(frozen=True)
class Group:
    category: str
    name: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One flow of a case type (a licence not accepted, a penalty after a hearing…) and what it requires."""
    name: str
    label: str
    when: tuple[str, ...]                       # document types whose presence selects it
    required: tuple[tuple[str, ...], ...]
    explicit: bool = False                      # only when the case file names it


@dataclass(frozen=True)
class CaseTypeRules:
    case_type: str
    title: str
    groups: tuple[Group, ...]
    required: tuple[tuple[str, ...], ...]
    variants: tuple[Variant, ...] = ()
    variant: Variant | None = None              # set by for_file()

    def variant_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants)

    def for_file(self, doc_types: Iterable[str | None], chosen: str | None = None) -> CaseTypeRules:
        """These rules with `required` of the file's flow: the variant named, else the first whose
        documents are present, else the case type's own."""
        present = {t for t in doc_types if t}
        for variant in self.variants:
            if variant.name == chosen or (chosen is None and not variant.explicit and present & set(variant.when)):
                return replace(self, required=variant.required, variant=variant)
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(g.category for g in self.groups)

    def category_of(self, doc_type: str) -> str:
        """The group a generated document joins; an unlisted type joins the notices."""
        for group in self.groups:
            if doc_type in group.types:
                return group.category
        return "notice"

    def sort_key(self, item: Bindable) -> tuple:
        index = {g.category: i for i, g in enumerate(self.groups)}
        group_index = index.get(item.category, len(self.groups))
        group = self.groups[group_index] if group_index < len(self.groups) else None
        # Listed generated types first, in the listed order; then the rest by date.
        type_rank = group.types.index(item.doc_type) if group and item.doc_type in group.types else len(group.types if group else ())
        return (group_index, type_rank, item.date or date.max, item.position)

    def order(self, items: Iterable[Bindable]) -> list:
        return sorted(items, key=self.sort_key)


class BindingRules:
    def __init__(self, rules: dict[str, CaseTypeRules]):
        self._rules = rules

    @classmethod
    def load(cls, path: Path | None = None) -> BindingRules:
        raw = json.loads(Path(path or DEFAULT_RULES).read_text(encoding="utf-8"))
        rules = {}
        for case_type, spec in raw.items():
            if case_type.startswith("_"):
                continue
            groups = tuple(Group(g["category"], g["name"], tuple(g.get("types", ()))) for g in spec["groups"])
            if len({g.category for g in groups}) != len(groups):
                raise ValueError(f"binding rules for {case_type}: a category appears twice")
            variants = tuple(Variant(v["name"], v["label"], tuple(v.get("when", ())),
                                     tuple(tuple(r) for r in v["required"]), bool(v.get("explicit")))
                             for v in spec.get("variants", ()))
            rules[case_type] = CaseTypeRules(case_type, spec["title"], groups,
                                             tuple(tuple(r) for r in spec.get("required", ())), variants)
        return cls(rules)

    def case_types(self) -> list[str]:
        return list(self._rules)

    def get(self, case_type: str) -> CaseTypeRules | None:
        return self._rules.get(case_type)


def default_category(kind: str, fmt: str) -> str:
    """Where an upload goes when the archivist names no category."""
    if kind == "document":
        return "approval"
    if fmt in UPLOAD_FORMATS_MEDIA:
        return "electronic"
    if fmt in ("jpeg", "png", "tiff"):
        return "photo"
    return "documentary"


def page_ranges(pages: Sequence[int], first: int = 1) -> list[tuple[int, int]]:
    """Page number ranges of consecutive items: [(first, last), ...]."""
    ranges, start = [], first
    for count in pages:
        if count < 1:
            raise ValueError("every item has at least one page")
        ranges.append((start, start + count - 1))
        start += count
    return ranges


def recto(page_number: int) -> bool:
    """Odd page numbers are rectos: the number goes top right; versos top left."""
    return page_number % 2 == 1
