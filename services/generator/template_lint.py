"""Template linter: every placeholder a Word template uses is declared in its
JSON Schema (or is a name the generator provides), and every required field
of the schema appears in the template.

Run by the test suite on the shipped templates, at service start on the
templates in use (a clerk's edit that breaks a placeholder stops the start,
not a case officer's request), and by `zhifa check-templates DIR`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment, TemplateSyntaxError, nodes

from services.generator import rendering
from services.generator.agency import TEMPLATE_FIELDS
from services.generator.catalogue import TEMPLATES_DIR, VOCABULARY_FILE, Catalogue, DocumentType, load_vocabulary
from services.generator.rendering import GENERATED_SCALARS

AGENCY_FIELDS = frozenset(TEMPLATE_FIELDS) | {"seal_name"}


@dataclass(frozen=True)
class Use:
    """A placeholder path, e.g. ("decision", "penalties", "[]", "kind")."""
    path: tuple
    printed: bool
    line: int

    def __str__(self) -> str:
        return ".".join(self.path).replace(".[]", "[]") + f"（第 {self.line} 行）"


def resolve(schema: dict, root: dict, vocabulary: dict | None = None) -> dict:
    """The schema node a `$ref` points to, with the referring node's own
    keywords (e.g. the type's "required" or "description") laid over it.

    Local refs ("#/$defs/party") look in `root`; refs into the shared
    vocabulary ("vocabulary.schema.json#/$defs/party") look in `vocabulary`
    (the shipped one when not given), whose own local refs are then read as
    refs into the vocabulary."""
    while "$ref" in schema:
        ref = schema["$ref"]
        document, _, pointer = ref.partition("#")
        if not pointer.startswith("/$defs/") or document not in ("", VOCABULARY_FILE):
            raise ValueError(f"unsupported $ref {ref}")
        if document:
            vocabulary = vocabulary if vocabulary is not None else _shipped_vocabulary()
            target = _into_vocabulary(vocabulary["$defs"][pointer.split("/")[-1]])
        else:
            target = root["$defs"][pointer.split("/")[-1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


@lru_cache(maxsize=1)
def _shipped_vocabulary() -> dict:
    return load_vocabulary(TEMPLATES_DIR)


def _into_vocabulary(node):
    """A vocabulary entry whose local refs are rewritten to name the vocabulary file."""
    if isinstance(node, dict):
        return {k: (VOCABULARY_FILE + v if k == "$ref" and isinstance(v, str) and v.startswith("#")
                    else _into_vocabulary(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_into_vocabulary(v) for v in node]
    return node


def template_source(path: Path) -> str:
    """The Jinja source docxtpl renders: body, headers and footers, patched."""
    tpl = DocxTemplate(str(path))
    tpl.init_docx()
    parts = [tpl.patch_xml(tpl.get_xml())]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _, part in tpl.get_headers_footers(uri):
            parts.append(tpl.patch_xml(tpl.get_part_xml(part)))
    return "\n".join(parts)


def placeholder_uses(source: str) -> list[Use]:
    """Every variable/attribute path in the template, loop variables resolved
    to their iterable's items ("[]"), from Jinja2's AST."""
    ast = Environment().parse(source)
    uses: list[Use] = []

    def path_of(node, scope):
        """A Name/Getattr/Getitem chain as a path tuple, or None."""
        if isinstance(node, nodes.Name):
            return scope.get(node.name, (node.name,))
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node, scope)
            return None if base is None else base + (node.attr,)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            base = path_of(node.node, scope)
            return None if base is None else base + (node.arg.value,)
        return None

    def visit(node, scope, printed=False):
        if isinstance(node, nodes.For):
            visit(node.iter, scope)
            inner = dict(scope)
            iterable = path_of(node.iter, scope)
            inner["loop"] = ("<local>",)
            if isinstance(node.target, nodes.Name) and iterable is not None:
                inner[node.target.name] = iterable + ("[]",)
            for child in node.body + node.else_:
                visit(child, inner)
            if node.test is not None:
                visit(node.test, inner)
            return
        if isinstance(node, nodes.Assign):  # {% set x = ... %}: x is a template-local name
            visit(node.node, scope)
            if isinstance(node.target, nodes.Name):
                scope[node.target.name] = ("<local>",)
            return
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
            path = path_of(node, scope)
            if path is not None:
                if path[0] != "<local>":  # loop.index, template-local names
                    uses.append(Use(path, printed, node.lineno))
                return
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                visit(child, scope, printed=not isinstance(child, nodes.TemplateData))
            return
        for child in node.iter_child_nodes():
            # only the direct value of {{ }} counts as printed
            visit(child, scope, printed=printed and isinstance(child, (nodes.Name, nodes.Getattr)))

    visit(ast, {})
    return uses


def check_use(use: Use, schema: dict, deadline_rules) -> str | None:
    """None when the path is declared, else why not (Chinese, for the clerk)."""
    path, head = use.path, use.path[0]
    if head in GENERATED_SCALARS and head != "issued_on":
        return None if len(path) == 1 else f"{use}：{head} 没有下级字段"
    if head == "deadlines":
        if len(path) != 2:
            return f"{use}：应写作 deadlines.<期限规则>"
        return None if path[1] in deadline_rules else f"{use}：该文书类型没有期限规则 {path[1]}"
    if head == "agency":
        return None if len(path) == 2 and path[1] in AGENCY_FIELDS else f"{use}：不是机关信息字段"
    node = schema
    for i, key in enumerate(path):
        node = resolve(node, schema)
        if key == "[]":
            if node.get("type") != "array":
                return f"{use}：{'.'.join(path[:i])} 不是数组"
            node = node["items"]
            continue
        props = node.get("properties")
        if node.get("type") != "object" or props is None or key not in props:
            return f"{use}：字段 {key} 未在 JSON Schema 中声明"
        node = props[key]
    node = resolve(node, schema)
    if use.printed and node.get("type") in ("object", "array"):
        return f"{use}：不能直接打印整个{'对象' if node['type'] == 'object' else '数组'}"
    return None


def required_paths(schema: dict, node: dict | None = None, prefix: tuple = ()) -> list[tuple]:
    """Required leaves, recursing into required objects and required arrays' items."""
    node = resolve(schema if node is None else node, schema)
    out = []
    for name in node.get("required", []):
        child = resolve(node["properties"][name], schema)
        path = prefix + (name,)
        if child.get("type") == "object" and child.get("required"):
            out += required_paths(schema, child, path)
        elif child.get("type") == "array":
            items = resolve(child["items"], schema)
            if items.get("type") == "object" and items.get("required"):
                out += required_paths(schema, items, path + ("[]",))
            else:
                out.append(path)
        else:
            out.append(path)
    return out


def unknown_filters(source: str) -> list[str]:
    """Filters the template uses that the generator's Jinja environment lacks."""
    known = rendering.JINJA_ENV.filters
    names = {f.name for f in Environment().parse(source).find_all(nodes.Filter)}
    return [f"未知的过滤器 {name}" for name in sorted(names - set(known))]


def lint_source(source: str, schema: dict, deadline_rules) -> list[str]:
    try:
        uses = placeholder_uses(source)
    except TemplateSyntaxError as exc:
        return [f"模板语法错误（第 {exc.lineno} 行）：{exc.message}"]
    problems = unknown_filters(source)
    problems += [p for u in uses if (p := check_use(u, schema, deadline_rules))]
    used = {u.path[:i] for u in uses for i in range(1, len(u.path) + 1)}
    problems += [f"必填字段 {'.'.join(p).replace('.[]', '[]')} 未在模板中出现"
                 for p in required_paths(schema) if p not in used]
    return problems


def lint(doc_type: DocumentType) -> list[str]:
    """Problems with one document type's template, schema and example; [] when sound."""
    stat = os.stat(doc_type.template_path)
    return list(_lint_cached(doc_type, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=256)
def _lint_cached(doc_type: DocumentType, _mtime: int, _size: int) -> tuple[str, ...]:
    problems = lint_source(template_source(doc_type.template_path), doc_type.schema, doc_type.deadlines)
    problems += [f"示例数据不符合 JSON Schema：{'/'.join(map(str, e.absolute_path)) or '(根)'}：{e.message}"
                 for e in doc_type.validator.iter_errors(doc_type.example)]
    return tuple(problems)


def lint_catalogue(catalogue: Catalogue) -> dict[str, list[str]]:
    """{type: problems} for every type that has any."""
    return {t.type: problems for t in catalogue if (problems := lint(t))}
