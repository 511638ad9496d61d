"""Template linter: the Word templates, their JSON Schemas, examples and the catalogue.

Fails when a template uses a placeholder its schema does not declare (and
that is not a generated name), when a required field of the schema never
appears in the template, when an example does not validate, when a template
does not render with its example, when the page or fonts drift from the
layout rules, and when party-written documents pre-print the party's
choices (plan item 7).
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jsonschema import Draft202012Validator

from services.generator import template_lint as lint
from services.generator.template_lint import AGENCY_FIELDS, check_use, placeholder_uses, required_paths, resolve

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "generator" / "templates"

TYPES = [
    "license_supplement_notice", "license_acceptance_notice", "license_non_acceptance_decision",
    "license_extension_notice", "license_hearing_notice", "license_site_inspection_record",
    "license_grant_decision", "license_denial_decision", "case_filing_form", "inquiry_record",
    "inspection_record", "rectification_order", "penalty_prior_notice", "statement_defence_record",
    "hearing_notice", "legal_review_opinion", "penalty_decision", "case_closing_form",
    "service_receipt",
]
DEADLINES = {
    "license_supplement_notice": ["license_supplement_notice"],
    "license_acceptance_notice": ["license_decision"],
    "license_non_acceptance_decision": ["publication_other"],
    "license_extension_notice": ["license_decision_extended"],
    "license_hearing_notice": ["license_hearing_request"],
    "license_grant_decision": ["license_certificate_delivery", "publication_decision"],
    "license_denial_decision": ["publication_decision"],
    "case_filing_form": ["penalty_decision"],
    "penalty_prior_notice": ["penalty_hearing_request"],
    "hearing_notice": ["hearing_notice_lead"],
    "penalty_decision": ["penalty_fine_payment", "publication_decision"],
}
REMEDY = {"license_non_acceptance_decision", "license_denial_decision", "penalty_decision"}
PARTY_WRITES = {"license_hearing_notice", "penalty_prior_notice", "hearing_notice",
                "statement_defence_record"}
# Data fields the deadline rules read: the schema must require them.
RULE_FIELDS = {
    "license_supplement_notice": ["application.received_on"],
    "license_extension_notice": ["application.accepted_on"],
    "license_grant_decision": ["decision.date"],
    "license_denial_decision": ["decision.date"],
    "case_filing_form": ["case.filed_on"],
    "hearing_notice": ["hearing.date", "hearing.place"],
    "penalty_decision": ["decision.date", "case.filed_on"],
}
FORBIDDEN_WAIVERS = ["不申请听证", "我已知晓", "放弃陈述申辩", "放弃听证"]
HANDWRITING_LABEL = "由当事人本人书写"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- helpers ------------------------------------------------------------------

def catalogue() -> list[dict]:
    return json.loads((TEMPLATES / "catalogue.json").read_text(encoding="utf-8"))


def entry(doc_type: str) -> dict:
    return next(e for e in catalogue() if e["type"] == doc_type)


def load(doc_type: str, suffix: str):
    return json.loads((TEMPLATES / f"{doc_type}.{suffix}.json").read_text(encoding="utf-8"))


def template_source(doc_type: str) -> str:
    return lint.template_source(TEMPLATES / f"{doc_type}.docx")


def template_text(doc_type: str) -> str:
    """The visible text of the template (all w:t in document, headers, footers)."""
    with zipfile.ZipFile(TEMPLATES / f"{doc_type}.docx") as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist()
                      if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n))
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def prune_to_required(value, node: dict, schema: dict):
    """The example with every optional property removed (recursively)."""
    node = resolve(node, schema)
    if isinstance(value, dict) and node.get("type") == "object":
        keep = node.get("required", [])
        return {k: prune_to_required(v, node["properties"][k], schema)
                for k, v in value.items() if k in keep}
    if isinstance(value, list) and node.get("type") == "array":
        return [prune_to_required(v, node["items"], schema) for v in value]
    return value


def chinese_dates(value):
    """What the generator does before rendering: ISO dates become Chinese dates."""
    if isinstance(value, dict):
        return {k: chinese_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [chinese_dates(v) for v in value]
    if isinstance(value, str) and ISO_DATE.match(value):
        y, m, d = (int(x) for x in value.split("-"))
        return f"{y}年{m}月{d}日"
    return value


@pytest.fixture(scope="session")
def qr_png(tmp_path_factory) -> Path:
    from PIL import Image
    path = tmp_path_factory.mktemp("qr") / "qr.png"
    Image.new("RGB", (64, 64), "black").save(path)
    return path


def render(doc_type: str, data: dict, qr_png: Path, out: Path) -> str:
    """Render with docxtpl like the generator; return the document's text."""
    e = entry(doc_type)
    tpl = DocxTemplate(TEMPLATES / f"{doc_type}.docx")
    context = chinese_dates(copy.deepcopy(data))
    context.update(
        number=f"鞍审批{e['number_kind']}〔2026〕第12号",
        issued_on="2026年11月27日",
        doc_title=e["title"],
        deadlines={rule: "2026年12月18日" for rule in e["deadlines"]},
        remedy_clause="如不服本决定，可以自收到本决定书之日起六十日内向鞍山市人民政府申请行政复议，"
                      "也可以自收到本决定书之日起六个月内向鞍山市铁东区人民法院提起行政诉讼。",
        verification_code="7KQ2M9XA",
        verify_url="https://zhifa.example/verify?number=x&code=y",
        verify_page="https://zhifa.example/verify",
        verify_qr=InlineImage(tpl, str(qr_png), width=Mm(18)),
        agency={"name": "鞍山市营商环境建设局", "alias": "鞍山市行政审批局", "short_name": "鞍审批",
                "credit_code": "11210300MB1234567X", "address": "鞍山市铁东区示例路1号",
                "postcode": "114000", "phone": "0412-0000000", "contact": "张伟",
                "seal_name": "行政许可专用章" if e["seal"] == "license" else "印章",
                "reconsideration_body": "鞍山市人民政府", "court": "鞍山市铁东区人民法院"},
    )
    tpl.render(context, autoescape=True)
    tpl.save(out)
    with zipfile.ZipFile(out) as z:  # the saved file is a valid DOCX
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist()
                      if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n))
    Document(out)
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


# -- catalogue ------------------------------------------------------------------

def test_catalogue_lists_the_19_types_in_order_with_files():
    cat = catalogue()
    assert [e["type"] for e in cat] == TYPES
    for e in cat:
        assert set(e) == {"type", "title", "flow", "version", "number_kind", "seal", "remedy",
                          "party_writes", "deadlines"}, e["type"]
        assert e["flow"] in ("license", "penalty", "common")
        assert e["seal"] in ("license", "agency", "none")
        assert e["version"] == "2026.1"
        assert e["number_kind"].endswith("字")
        assert e["remedy"] is (e["type"] in REMEDY)
        assert e["party_writes"] is (e["type"] in PARTY_WRITES)
        assert e["deadlines"] == DEADLINES.get(e["type"], [])
        for suffix in (".docx", ".schema.json", ".example.json"):
            assert (TEMPLATES / f"{e['type']}{suffix}").is_file(), e["type"] + suffix
    assert cat[0]["title"] == "补正材料通知书"
    assert cat[-1]["flow"] == "common"
    assert all(e["seal"] == "license" for e in cat if e["flow"] == "license"
               and not e["type"].endswith("_record"))


# -- schemas and examples ---------------------------------------------------------

@pytest.mark.parametrize("doc_type", TYPES)
def test_schema_is_valid_and_example_validates(doc_type):
    schema = load(doc_type, "schema")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert re.search(r"[\u4e00-\u9fff]", schema["title"])
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(load(doc_type, "example"))]
    assert not errors, errors
    # a wrong date and an unknown property are rejected
    bad = load(doc_type, "example")
    bad["issued_on"] = "2026-02-30"
    assert not validator.is_valid(bad)
    bad = load(doc_type, "example")
    bad["unexpected"] = 1
    assert not validator.is_valid(bad)


@pytest.mark.parametrize("doc_type", TYPES)
def test_schema_conventions(doc_type):
    schema = load(doc_type, "schema")
    assert schema["properties"]["issued_on"]["format"] == "date"
    agency = resolve(schema["properties"]["agency"], schema)
    assert set(agency["properties"]) == AGENCY_FIELDS and agency["additionalProperties"] is False
    assert "agency" not in schema["required"] and "issued_on" not in schema["required"]

    def walk(node, where):
        node = resolve(node, schema)
        assert "description" in node or where == "$", f"{where}: no description"
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{where}: additionalProperties"
            for name, child in node["properties"].items():
                child_r = resolve(child, schema)
                if name in node.get("required", []) and child_r.get("type") == "string" \
                        and "enum" not in child_r and "pattern" not in child_r:
                    assert child_r.get("minLength", 0) >= 1, f"{where}.{name}: minLength"
                walk(child, f"{where}.{name}")
        elif node.get("type") == "array":
            walk(node["items"], where + "[]")
        elif node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node or "pattern" in node, f"{where}: maxLength"
            if node.get("format") == "date":
                assert node["pattern"] == r"^\d{4}-\d{2}-\d{2}$", where
        elif node.get("type") in ("number", "integer"):
            assert node.get("minimum", -1) >= 0, f"{where}: minimum"

    walk(schema, "$")
    party = resolve(schema["properties"]["party"], schema) if "party" in schema["properties"] else None
    if party:
        assert party["properties"]["kind"]["enum"] == ["person", "organization"]
        assert re.match(party["properties"]["id_number"]["pattern"], "21030219880512002X")
        assert re.match(party["properties"]["credit_code"]["pattern"], "91210302MA10Q8KX3B")
        assert not re.match(party["properties"]["credit_code"]["pattern"], "91210302MA10Q8KX3I")
    if "handlers" in schema["properties"] and doc_type != "service_receipt":
        assert schema["properties"]["handlers"]["minItems"] >= 2


@pytest.mark.parametrize("doc_type", sorted(RULE_FIELDS))
def test_schema_requires_the_fields_deadline_rules_read(doc_type):
    schema = load(doc_type, "schema")
    required = {".".join(p) for p in required_paths(schema)}
    for field in RULE_FIELDS[doc_type]:
        assert field in required, f"{doc_type}: {field} must be required"


@pytest.mark.parametrize("doc_type", sorted(PARTY_WRITES))
def test_party_writes_schema_has_no_field_for_the_party_answer(doc_type):
    text = json.dumps(load(doc_type, "schema"), ensure_ascii=False)
    for word in ("answer", "statement_text", "opinion_of_party", "waive", "choice", "request_hearing"):
        assert word not in text, word


# -- templates ---------------------------------------------------------------------

@pytest.mark.parametrize("doc_type", TYPES)
def test_template_placeholders_are_declared(doc_type):
    schema = load(doc_type, "schema")
    uses = placeholder_uses(template_source(doc_type))
    assert uses, "no placeholders found"
    problems = [p for u in uses if (p := check_use(u, schema, entry(doc_type)["deadlines"]))]
    assert not problems, problems


@pytest.mark.parametrize("doc_type", TYPES)
def test_required_fields_appear_in_template(doc_type):
    schema = load(doc_type, "schema")
    used = {u.path for u in placeholder_uses(template_source(doc_type))}
    prefixes = {p[:i] for p in used for i in range(1, len(p) + 1)}
    missing = [".".join(p) for p in required_paths(schema) if p not in prefixes]
    assert not missing, missing


@pytest.mark.parametrize("doc_type", TYPES)
def test_template_renders_with_example(doc_type, qr_png, tmp_path):
    text = render(doc_type, load(doc_type, "example"), qr_png, tmp_path / "full.docx")
    assert "{{" not in text and "{%" not in text and "}}" not in text and "%}" not in text
    assert "鞍山市营商环境建设局" in text
    assert entry(doc_type)["title"] in text
    assert f"鞍审批{entry(doc_type)['number_kind']}〔2026〕第12号" in text
    assert "7KQ2M9XA" in text
    printed = {u.path[1] for u in placeholder_uses(template_source(doc_type)) if u.path[0] == "deadlines"}
    if printed:  # (other rules are for the case system and are not printed)
        assert "2026年12月18日" in text
    with zipfile.ZipFile(tmp_path / "full.docx") as z:
        assert any(n.startswith("word/media/") for n in z.namelist()), "QR image missing"


@pytest.mark.parametrize("doc_type", TYPES)
def test_template_renders_with_required_fields_only(doc_type, qr_png, tmp_path):
    schema = load(doc_type, "schema")
    minimal = prune_to_required(load(doc_type, "example"), schema, schema)
    assert Draft202012Validator(schema).is_valid(minimal)
    text = render(doc_type, minimal, qr_png, tmp_path / "minimal.docx")
    assert "{{" not in text and "{%" not in text
    assert "None" not in text and "Undefined" not in text


PERSON = {"kind": "person", "name": "赵丽", "id_type": "居民身份证", "id_number": "210381199203154428",
          "address": "辽宁省海城市示例街道示例路8号", "phone": "13841200000"}


@pytest.mark.parametrize("doc_type", TYPES)
def test_template_addresses_a_natural_person(doc_type, qr_png, tmp_path):
    """Organisation and person branches both render; a person is 你, not 你单位."""
    data = load(doc_type, "example")
    data["party"] = dict(PERSON)
    text = render(doc_type, data, qr_png, tmp_path / "person.docx")
    assert "{{" not in text and "{%" not in text
    from_data = json.dumps(data, ensure_ascii=False).count("你单位")
    assert text.count("你单位") <= from_data and "你（单位）" not in text
    assert "赵丽" in text


@pytest.mark.parametrize("doc_type", TYPES)
def test_remedy_clause(doc_type):
    uses = {u.path for u in placeholder_uses(template_source(doc_type))}
    assert (("remedy_clause",) in uses) is (doc_type in REMEDY)
    if doc_type in REMEDY:  # its own paragraph
        doc = Document(TEMPLATES / f"{doc_type}.docx")
        assert any(p.text.strip() == "{{ remedy_clause }}" for p in doc.paragraphs)


@pytest.mark.parametrize("doc_type", TYPES)
def test_party_writes_and_record_handwriting(doc_type):
    text = template_text(doc_type)
    if doc_type in PARTY_WRITES:
        for phrase in FORBIDDEN_WAIVERS:
            assert phrase not in text, phrase
        assert HANDWRITING_LABEL in text
        assert "签名" in text
    if entry(doc_type)["title"].endswith("笔录"):
        assert "以上笔录已阅，记录属实" in text
        footers = Document(TEMPLATES / f"{doc_type}.docx").sections[0]
        assert "签名" in "".join(p.text for p in footers.footer.paragraphs)
        assert "签名" in "".join(p.text for p in footers.even_page_footer.paragraphs)


@pytest.mark.parametrize("doc_type", TYPES)
def test_seal_area_and_verification(doc_type):
    uses = {u.path for u in placeholder_uses(template_source(doc_type))}
    assert (("agency", "seal_name") in uses) is (entry(doc_type)["seal"] != "none")
    assert ("verify_qr",) in uses and ("verification_code",) in uses and ("verify_page",) in uses
    assert template_source(doc_type).count("verify_qr") == 1


@pytest.mark.parametrize("doc_type", TYPES)
def test_page_layout_and_fonts(doc_type):
    doc = Document(TEMPLATES / f"{doc_type}.docx")
    for section in doc.sections:
        assert abs(section.page_width.mm - 210) < 0.1 and abs(section.page_height.mm - 297) < 0.1
        assert abs(section.top_margin.mm - 37) < 0.1
        assert abs(section.left_margin.mm - 28) < 0.1
        assert abs(section.bottom_margin.mm - 35) < 0.1
        assert abs(section.right_margin.mm - 26) < 0.1
        grid = section._sectPr.find(qn("w:docGrid"))
        assert grid.get(qn("w:linePitch")) == "579"
        # even pages have their own footer: page number left there, right on odd pages
        assert not section.even_page_footer.is_linked_to_previous
        odd = section.footer.paragraphs[-1]
        even = section.even_page_footer.paragraphs[-1]
        assert "PAGE" in odd._p.xml and "PAGE" in even._p.xml
        assert odd.alignment == 2 and even.alignment == 0  # RIGHT, LEFT
        assert "— " in odd.text and " —" in odd.text
    assert doc.settings.odd_and_even_pages_header_footer
    normal = doc.styles["Normal"]
    rfonts = normal.element.rPr.find(qn("w:rFonts"))
    assert rfonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert rfonts.get(qn("w:ascii")) == "仿宋_GB2312"
    assert normal.font.size.pt == 16
    assert normal.element.rPr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    # 28 characters of 16 pt (less the condensing) fit the 156 mm text width
    spacing = normal.element.rPr.find(qn("w:spacing"))
    pitch_pt = 16 + (int(spacing.get(qn("w:val"))) / 20 if spacing is not None else 0)
    assert 28 * pitch_pt <= 156 / 25.4 * 72 < 29 * pitch_pt
    title = doc.styles["ZF Title"]
    assert title.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "方正小标宋简体"
    assert title.font.size.pt == 22
    assert doc.styles["ZF Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["ZF Heading 2"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "楷体_GB2312"
    footer_style = doc.styles["ZF Footer"]
    assert footer_style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"
    assert footer_style.font.size.pt == 14


def test_linter_catches_undeclared_and_missing_fields():
    """The linter itself: a stray placeholder and a dropped required field are found."""
    schema = load("penalty_decision", "schema")
    uses = placeholder_uses("{{ party.nmae }}{% for p in decision.penalties %}{{ p.amount }}"
                            "{{ p.kind }}{% endfor %}{{ deadlines.license_decision }}{{ party }}")
    problems = [check_use(u, schema, ["penalty_fine_payment"]) for u in uses]
    assert sum(p is not None for p in problems) == 4, problems
    used = {u.path for u in uses}
    prefixes = {p[:i] for p in used for i in range(1, len(p) + 1)}
    assert ("decision", "date") in required_paths(schema)
    assert ("decision", "penalties", "[]", "kind") in prefixes
    assert ("decision", "date") not in prefixes
