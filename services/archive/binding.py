"""Binding order (DOMAIN.md: conclusion before basis) and page ranges.

With a `procedure` (data/binding.json), the Liaoning 执法案卷 order: each
decision followed by its own 送达回证, then the procedure stage by stage in
time order (立案 → 调查取证 → 告知 → 陈述申辩/听证 → 法制审核 → 决定 → 送达 →
执行 → 结案), and the 副卷 (internal approval forms, 法制审核, 集体讨论)
after the 正卷. Without one, the older grouping by category.

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
class Stage:
    name: str
    types: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Procedure:
    decisions: tuple[str, ...]
    stages: tuple[Stage, ...]
    secondary_types: tuple[str, ...]
    secondary_categories: tuple[str, ...]

    def secondary(self, item) -> bool:
        if item.doc_type:
            return item.doc_type in self.secondary_types
        return item.category in self.secondary_categories

    def stage(self, item) -> int:
        for index, stage in enumerate(self.stages):
            if item.doc_type and item.doc_type in stage.types:
                return index
        for index, stage in enumerate(self.stages):
            if item.category in stage.categories and not (item.doc_type and _listed(self, item.doc_type)):
                return index
        return len(self.stages)

    def order(self, items: list) -> list:
        def by_time(item) -> tuple:
            return (self.stage(item), item.date or date.max, item.position)
        main = [i for i in items if not self.secondary(i)]
        secondary = sorted((i for i in items if self.secondary(i)), key=by_time)
        decisions = sorted((i for i in main if i.doc_type in self.decisions), key=lambda i: (i.date or date.max, i.position))
        first = []
        for decision in decisions:
            first.append(decision)
            key = _number_key(getattr(decision, "number", None))
            first += sorted((i for i in main if key and i not in first and i.doc_type == "service_receipt"
                             and _number_key(getattr(i, "refers_to", None)) == key),
                            key=lambda i: (i.date or date.max, i.position))
        rest = sorted((i for i in main if i not in first), key=by_time)
        return first + rest + secondary


def _listed(procedure: Procedure, doc_type: str) -> bool:
    return any(doc_type in stage.types for stage in procedure.stages)


def _number_key(number) -> str:
    """A document number as written anywhere: full/half width, spaces, 〔〕 or [] alike."""
    import unicodedata
    text = "".join(unicodedata.normalize("NFKC", str(number or "")).split())
    return text.translate(str.maketrans("[]()【】（）", "〔〕〔〕〔〕〔〕"))


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
    procedure: Procedure | None = None

    def volume(self, item) -> str:
        """正卷, or 副卷 for the internal papers the procedure sets apart."""
        return "副卷" if self.procedure and self.procedure.secondary(item) else "正卷"

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
        if self.procedure is not None:
            return self.procedure.order(list(items))
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
            procedure = None
            if "procedure" in spec:
                raw_procedure = spec["procedure"]
                procedure = Procedure(tuple(raw_procedure.get("decisions", ())),
                                      tuple(Stage(st["name"], tuple(st.get("types", ())), tuple(st.get("categories", ())))
                                            for st in raw_procedure["stages"]),
                                      tuple(raw_procedure.get("secondary", {}).get("types", ())),
                                      tuple(raw_procedure.get("secondary", {}).get("categories", ())))
            rules[case_type] = CaseTypeRules(case_type, spec["title"], groups,
                                             tuple(tuple(r) for r in spec.get("required", ())), variants, None,
                                             procedure)
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
