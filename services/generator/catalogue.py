"""The catalogue of document types: Word template, JSON Schema and example per type.

Everything lives in templates/: the Word templates (the source of truth,
edited by clerks; tools/templates drafts new ones), each type's schema, which
refers to the shared data vocabulary (vocabulary.schema.json), its example,
and catalogue.json with each type's metadata.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

TEMPLATES_DIR = Path(__file__).parent / "templates"
VOCABULARY_FILE = "vocabulary.schema.json"


def load_vocabulary(directory: Path) -> dict:
    return json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))


def _vocabulary_refs(node, found: set[str], prefix: str) -> None:
    """Names of the vocabulary's $defs that `node` refers to (refs starting with `prefix`)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref[len(prefix):])
        for value in node.values():
            _vocabulary_refs(value, found, prefix)
    elif isinstance(node, list):
        for value in node:
            _vocabulary_refs(value, found, prefix)


def _localise(node):
    """The same schema with vocabulary refs pointing into its own $defs."""
    if isinstance(node, dict):
        return {k: (("#" + v.split("#", 1)[1]) if k == "$ref" and isinstance(v, str)
                    and v.startswith(VOCABULARY_FILE + "#") else _localise(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_localise(v) for v in node]
    return node


def bundle(schema: dict, vocabulary: dict) -> dict:
    """A self-contained copy of a type's schema: the vocabulary entries it uses
    (and those they use) copied under its own $defs, refs made local."""
    defs = vocabulary.get("$defs", {})
    used: set[str] = set()
    _vocabulary_refs(schema, used, f"{VOCABULARY_FILE}#/$defs/")
    pending = set(used)
    while pending:
        found: set[str] = set()
        _vocabulary_refs([defs[name] for name in pending if name in defs], found, "#/$defs/")
        pending = found - used
        used |= found
    own = schema.get("$defs", {})
    clash = used & set(own)
    if clash:
        raise ValueError(f"$defs {sorted(clash)} are defined both in the schema and the vocabulary")
    out = _localise(copy.deepcopy(schema))
    out["$defs"] = {**own, **{name: copy.deepcopy(defs[name]) for name in sorted(used) if name in defs}}
    return out


@dataclass(frozen=True)
class DocumentType:
    type: str
    title: str
    flow: str              # license | penalty | common
    version: str
    number_kind: str       # e.g. 许准字
    seal: str              # license | agency | none
    remedy: bool           # carries the remedy clause (can be challenged)
    party_writes: bool     # party's statements/choices are handwritten (plan item 7)
    deadlines: tuple[str, ...]
    directory: Path

    @property
    def template_path(self) -> Path:
        return self.directory / f"{self.type}.docx"

    @cached_property
    def source_schema(self) -> dict:
        """The schema as written: refers to vocabulary.schema.json."""
        return json.loads((self.directory / f"{self.type}.schema.json").read_text(encoding="utf-8"))

    @cached_property
    def vocabulary(self) -> dict:
        return load_vocabulary(self.directory)

    @cached_property
    def schema(self) -> dict:
        """The self-contained schema clients get (GET /v1/templates/{type})."""
        return bundle(self.source_schema, self.vocabulary)

    @cached_property
    def example(self) -> dict:
        return json.loads((self.directory / f"{self.type}.example.json").read_text(encoding="utf-8"))

    @cached_property
    def validator(self) -> Draft202012Validator:
        registry = Registry().with_resource(VOCABULARY_FILE, Resource.from_contents(self.vocabulary))
        return Draft202012Validator(self.source_schema, registry=registry,
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)

    def summary(self) -> dict:
        return {"type": self.type, "title": self.title, "flow": self.flow, "version": self.version}


class Catalogue:
    def __init__(self, directory: Path = TEMPLATES_DIR):
        if not (directory / VOCABULARY_FILE).is_file():   # e.g. a clerk's copy made before it existed
            raise ValueError(f"{directory} lacks {VOCABULARY_FILE}, the shared data vocabulary the schemas "
                             f"refer to: copy it from {TEMPLATES_DIR}")
        entries = json.loads((directory / "catalogue.json").read_text(encoding="utf-8"))
        self._types = {
            e["type"]: DocumentType(type=e["type"], title=e["title"], flow=e["flow"], version=e["version"],
                                    number_kind=e["number_kind"], seal=e["seal"], remedy=bool(e["remedy"]),
                                    party_writes=bool(e["party_writes"]), deadlines=tuple(e["deadlines"]),
                                    directory=directory)
            for e in entries
        }

    def __iter__(self):
        return iter(self._types.values())

    def __contains__(self, doc_type: str) -> bool:
        return doc_type in self._types

    def get(self, doc_type: str) -> DocumentType | None:
        return self._types.get(doc_type)
