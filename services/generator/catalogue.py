"""The catalogue of document types: Word template, JSON Schema and example per type.

Everything lives in templates/ (see templates/build.py for how the files were
made); catalogue.json holds each type's metadata.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jsonschema import Draft202012Validator

TEMPLATES_DIR = Path(__file__).parent / "templates"


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
    def schema(self) -> dict:
        return json.loads((self.directory / f"{self.type}.schema.json").read_text(encoding="utf-8"))

    @cached_property
    def example(self) -> dict:
        return json.loads((self.directory / f"{self.type}.example.json").read_text(encoding="utf-8"))

    @cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def summary(self) -> dict:
        return {"type": self.type, "title": self.title, "flow": self.flow, "version": self.version}


class Catalogue:
    def __init__(self, directory: Path = TEMPLATES_DIR):
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
