"""Write the templates, schemas, examples, vocabulary and catalogue."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tools.templates import common_flow, license_flow, penalty_flow  # noqa: F401  (register the types)
from tools.templates.spec import SPECS, Spec
from tools.templates.vocabulary import VOCABULARY_FILE, vocabulary_schema

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "services" / "generator" / "templates"


FLOW_ORDER = ("license", "penalty", "common")   # catalogue order: by flow, then as written


def ordered_specs() -> list[Spec]:
    return sorted(SPECS, key=lambda s: FLOW_ORDER.index(s.flow))


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def check_example(spec: Spec, schema: dict, vocabulary: dict) -> None:
    Draft202012Validator.check_schema(schema)
    registry = Registry().with_resource(VOCABULARY_FILE, Resource.from_contents(vocabulary))
    validator = Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(spec.example), key=str)
    if errors:
        raise ValueError(f"{spec.type}: example is invalid at {list(errors[0].absolute_path)}: {errors[0].message}")


def build(out_dir: Path = OUT_DIR, only: set[str] | None = None) -> list[Path]:
    """Write every (or only the named) type's files, the vocabulary and the catalogue."""
    vocabulary = vocabulary_schema()
    Draft202012Validator.check_schema(vocabulary)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / VOCABULARY_FILE]
    _write_json(written[0], vocabulary)
    for spec in ordered_specs():
        if only and spec.type not in only:
            continue
        schema = spec.schema()
        check_example(spec, schema, vocabulary)
        paths = [out_dir / f"{spec.type}.docx", out_dir / f"{spec.type}.schema.json",
                 out_dir / f"{spec.type}.example.json"]
        spec.document().save(paths[0])
        _write_json(paths[1], schema)
        _write_json(paths[2], spec.example)
        written += paths
    catalogue = out_dir / "catalogue.json"
    _write_json(catalogue, [s.catalogue_entry() for s in ordered_specs()])
    written.append(catalogue)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.templates",
                                     description="(Re)draft the generator's Word templates and schemas.")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="directory to write to")
    parser.add_argument("--only", nargs="*", metavar="TYPE", help="draft only these document types")
    args = parser.parse_args(argv)
    for path in build(args.out, set(args.only) if args.only else None):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
