"""Template linter: the Word templates, their JSON Schemas, examples and the catalogue.

Fails when a template uses a placeholder its schema does not declare (and
that is not a generated name), when a required field of the schema never
appears in the template, when an example does not validate or is not lawful
in time, when a template does not render with its example, when the page or
fonts drift from the layout rules, when a party's document prints labels
that do not apply to it, and when party-written documents pre-print the
party's choices (plan item 7).
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from services.generator import penalties
from services.generator import template_lint as lint
from services.generator.agency import DEMO_PROFILE, TEMPLATE_FIELDS
from services.generator.catalogue import Catalogue
from services.generator.rendering import printable, render_docx
from services.generator.rules import prefilled_waiver_errors, remedy_clause
from services.generator.template_lint import check_use, placeholder_uses, required_paths
from services.generator.workdays import WorkdayCalendar

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "generator" / "templates"
CATALOGUE = Catalogue(TEMPLATES)

TYPES = [
    "license_supplement_notice", "license_acceptance_notice", "license_non_acceptance_decision",
    "license_extension_notice", "license_hearing_notice", "license_site_inspection_record",
    "license_grant_decision", "license_denial_decision", "case_filing_form", "inquiry_record",
    "inspection_record", "rectification_order", "penalty_prior_notice", "statement_defence_record",
    "hearing_notice", "hearing_record", "hearing_report", "legal_review_opinion", "penalty_decision",
    "case_closing_form", "service_receipt",
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
# Every decision a party (or 利害关系人) can challenge carries the remedy clause.
REMEDY = {"license_non_acceptance_decision", "license_denial_decision", "license_grant_decision",
          "rectification_order", "penalty_decision"}
PARTY_WRITES = {"license_hearing_notice", "penalty_prior_notice", "hearing_notice", "statement_defence_record",
                "inquiry_record", "inspection_record", "license_site_inspection_record", "service_receipt",
                "hearing_record"}
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
FORBIDDEN_WAIVERS = ["不申请听证", "我已知晓", "放弃陈述申辩", "放弃听证", "不申请回避", "无异议"]
HANDWRITING_LABEL = "本人书写"
PROFILE = json.loads(DEMO_PROFILE.read_text(encoding="utf-8"))


# -- helpers ------------------------------------------------------------------

def catalogue() -> list[dict]:
    return json.loads((TEMPLATES / "catalogue.json").read_text(encoding="utf-8"))


def entry(doc_type: str) -> dict:
    return next(e for e in catalogue() if e["type"] == doc_type)


def load(doc_type: str, suffix: str):
    return json.loads((TEMPLATES / f"{doc_type}.{suffix}.json").read_text(encoding="utf-8"))


def resolve(node: dict, schema: dict) -> dict:
    return lint.resolve(node, schema)


def template_source(doc_type: str) -> str:
    return lint.template_source(TEMPLATES / f"{doc_type}.docx")


def docx_text(docx: bytes | Path) -> str:
    """The visible text (all w:t in document, headers, footers)."""
    with zipfile.ZipFile(docx if isinstance(docx, Path) else __import__("io").BytesIO(docx)) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist()
                      if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n))
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def template_text(doc_type: str) -> str:
    return docx_text(TEMPLATES / f"{doc_type}.docx")


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


def agency_for(doc_type: str) -> dict:
    """What the generator prints of the demo profile (agency.for_document)."""
    agency = {f: PROFILE.get(f, "") for f in TEMPLATE_FIELDS}
    agency["seal_name"] = {"license": PROFILE["license_seal"], "agency": PROFILE["agency_seal"]}.get(
        entry(doc_type)["seal"], "")
    return agency


def render_bytes(doc_type: str, data: dict) -> bytes:
    """Render like the generator (documents.py builds the same context)."""
    e = entry(doc_type)
    context = printable(copy.deepcopy(data))
    context.update(
        agency=agency_for(doc_type),
        number=f"鞍审批{e['number_kind']}〔2026〕第12号",
        issued_on="2026年11月27日",
        doc_title=e["title"],
        deadlines={rule: "2026年12月18日" for rule in e["deadlines"]},
        remedy_clause=remedy_clause(PROFILE, e["title"]) if e["remedy"] else "",
        warning_only=penalties.is_warning_only(data),
        verification_code="7KQ2M9XA",
        verify_url="https://zhifa.example/verify?number=x&code=y",
        verify_page="https://zhifa.example/verify",
        registered_on="",
    )
    return render_docx(TEMPLATES / f"{doc_type}.docx", context, "https://zhifa.example/verify?number=x&code=y")


def render(doc_type: str, data: dict, out: Path) -> str:
    """Render; save to `out`; return the document's text."""
    docx = render_bytes(doc_type, data)
    out.write_bytes(docx)
    Document(out)  # the saved file is a valid DOCX
    return docx_text(docx)


def signing_body(doc_type: str) -> str:
    return PROFILE["alias"] if entry(doc_type)["flow"] == "license" else PROFILE["name"]


# -- catalogue ------------------------------------------------------------------

def test_catalogue_lists_the_21_types_in_order_with_files():
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


def test_shipped_templates_hold_no_drafting_code():
    """The drafting tool lives in tools/templates; the package ships data only."""
    assert not [p.name for p in TEMPLATES.glob("*.py") if p.name != "__init__.py"]
    assert (TEMPLATES / "vocabulary.schema.json").is_file()


# -- schemas and examples ---------------------------------------------------------

@pytest.mark.parametrize("doc_type", TYPES)
def test_schema_is_valid_and_example_validates(doc_type):
    schema = load(doc_type, "schema")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert re.search(r"[\u4e00-\u9fff]", schema["title"])
    validator = CATALOGUE.get(doc_type).validator
    validator.check_schema(schema)
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
def test_schema_uses_the_shared_vocabulary(doc_type):
    """No type repeats a copy of the vocabulary: party, case, decision… are refs."""
    schema = load(doc_type, "schema")
    assert "$defs" not in schema
    for name in ("party", "case", "application", "decision", "agency", "issued_on", "extension", "facts"):
        if name in schema["properties"]:
            assert schema["properties"][name]["$ref"] == f"vocabulary.schema.json#/$defs/{name}", name


@pytest.mark.parametrize("doc_type", TYPES)
def test_published_schema_is_self_contained(doc_type):
    """What GET /v1/templates/{type} returns validates the example with no other file."""
    from jsonschema import Draft202012Validator
    bundled = CATALOGUE.get(doc_type).schema
    assert "vocabulary.schema.json" not in json.dumps(bundled)
    Draft202012Validator.check_schema(bundled)
    validator = Draft202012Validator(bundled, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(load(doc_type, "example"))
    bad = load(doc_type, "example")
    bad.setdefault("agency", {})["name"] = "冒名机关"
    assert not validator.is_valid(bad)


@pytest.mark.parametrize("doc_type", TYPES)
def test_schema_conventions(doc_type):
    schema = load(doc_type, "schema")
    assert resolve(schema["properties"]["issued_on"], schema)["format"] == "date"
    agency = resolve(schema["properties"]["agency"], schema)
    # agency identity comes only from the operator's profiles
    assert set(agency["properties"]) == {"profile", "contact", "phone", "address", "postcode"}
    assert agency["additionalProperties"] is False
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
        assert resolve(schema["properties"]["handlers"], schema)["minItems"] >= 2
    if "facts" in schema["properties"]:   # one meaning everywhere: the facts found
        assert "查明的事实" in resolve(schema["properties"]["facts"], schema)["description"]


def test_amounts_are_non_negative_numbers():
    schema = load("penalty_decision", "schema")
    decision = resolve(schema["properties"]["decision"], schema)
    penalty = resolve(resolve(decision["properties"]["penalties"], schema)["items"], schema)
    assert penalty["properties"]["amount_yuan"]["type"] == "number"
    assert penalty["properties"]["amount_yuan"]["minimum"] == 0
    validator = CATALOGUE.get("penalty_decision").validator
    data = load("penalty_decision", "example")
    data["decision"]["penalties"][0]["amount_yuan"] = -1
    assert not validator.is_valid(data)


def test_extension_is_optional_on_decisions_and_required_on_its_notice():
    extension = {"reason": "需要组织专家评审", "approved_on": "2026-11-10", "approved_by": "局长孙立",
                 "until": "2026-11-30", "provision": "《市场监督管理行政处罚程序规定》第六十四条"}
    for doc_type in ("license_grant_decision", "license_denial_decision", "penalty_decision"):
        validator = CATALOGUE.get(doc_type).validator
        data = load(doc_type, "example")
        assert "extension" not in data and validator.is_valid(data)
        assert validator.is_valid(dict(data, extension=extension))
        assert not validator.is_valid(dict(data, extension={"until": "2026-11-30"}))
    # a penalty extension names its basis (处罚法 art. 60: 法律、法规、规章另有规定的，从其规定)
    penalty = load("penalty_decision", "example")
    assert not CATALOGUE.get("penalty_decision").validator.is_valid(
        dict(penalty, extension={k: v for k, v in extension.items() if k != "provision"}))
    validator = CATALOGUE.get("license_extension_notice").validator
    data = load("license_extension_notice", "example")
    del data["extension"]["approved_on"]
    assert not validator.is_valid(data)


def test_service_receipt_title_is_optional_and_number_required():
    validator = CATALOGUE.get("service_receipt").validator
    data = load("service_receipt", "example")
    del data["service"]["document_title"]
    assert validator.is_valid(data)
    del data["service"]["document_number"]
    assert not validator.is_valid(data)


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


@pytest.mark.parametrize("doc_type", TYPES)
def test_examples_pretype_no_waiver_for_the_party(doc_type):
    example = load(doc_type, "example")
    assert prefilled_waiver_errors(example) == []
    text = json.dumps(example, ensure_ascii=False)
    for phrase in FORBIDDEN_WAIVERS:
        assert phrase not in text, phrase


def _dates(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _dates(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for v in value:
            yield from _dates(v, path)
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        yield path, date.fromisoformat(value)


def test_examples_are_lawful_in_time():
    """Each example tells a possible story inside 2026 (the holiday calendar's last year)."""
    calendar = WorkdayCalendar(None)
    for doc_type in TYPES:
        data = load(doc_type, "example")
        dates = dict(_dates(data))
        issued = dates.get("issued_on") or dates.get("decision.date")
        assert issued is not None, f"{doc_type}: an example is dated"
        # periods that run from the example's dates stay inside 2026
        assert calendar.add_workdays(issued, 20).year == 2026, doc_type
        for path, day in dates.items():
            if path not in ("decision.valid_to",):
                assert day.year == 2026, (doc_type, path)
                assert day <= issued or path in ("rectification.deadline", "hearing.date"), (doc_type, path)
        if "application.accepted_on" in dates:
            assert dates["application.accepted_on"] >= dates.get("application.received_on", date.min), doc_type
        if doc_type.startswith("license_") and "decision.date" in dates:
            accepted = dates["application.accepted_on"]
            assert accepted <= dates["decision.date"] <= calendar.add_workdays(accepted, 20), doc_type
        if doc_type == "license_supplement_notice":
            assert issued <= calendar.add_workdays(dates["application.received_on"], 5)
        if doc_type == "license_extension_notice":
            accepted = dates["application.accepted_on"]
            assert accepted <= dates["extension.approved_on"] < issued <= calendar.add_workdays(accepted, 20)
        if "case.filed_on" in dates and "decision.date" in dates:
            assert dates["decision.date"] <= dates["case.filed_on"] + timedelta(days=90), doc_type
        if doc_type == "rectification_order":
            assert dates["rectification.deadline"] > issued
        if doc_type == "hearing_notice":
            assert dates["hearing.date"] >= calendar.add_workdays(issued, 7)


# -- templates ---------------------------------------------------------------------

@pytest.mark.parametrize("doc_type", TYPES)
def test_template_placeholders_are_declared(doc_type):
    schema = CATALOGUE.get(doc_type).schema
    uses = placeholder_uses(template_source(doc_type))
    assert uses, "no placeholders found"
    problems = [p for u in uses if (p := check_use(u, schema, entry(doc_type)["deadlines"]))]
    assert not problems, problems
    assert lint.lint(CATALOGUE.get(doc_type)) == []


@pytest.mark.parametrize("doc_type", TYPES)
def test_required_fields_appear_in_template(doc_type):
    schema = load(doc_type, "schema")
    used = {u.path for u in placeholder_uses(template_source(doc_type))}
    prefixes = {p[:i] for p in used for i in range(1, len(p) + 1)}
    missing = [".".join(p) for p in required_paths(schema) if p not in prefixes]
    assert not missing, missing


@pytest.mark.parametrize("doc_type", TYPES)
def test_template_renders_with_example(doc_type, tmp_path):
    text = render(doc_type, load(doc_type, "example"), tmp_path / "full.docx")
    assert "{{" not in text and "{%" not in text and "}}" not in text and "%}" not in text
    assert signing_body(doc_type) in text
    assert entry(doc_type)["title"] in text
    assert f"鞍审批{entry(doc_type)['number_kind']}〔2026〕第12号" in text
    assert "7KQ2M9XA" in text
    printed = {u.path[1] for u in placeholder_uses(template_source(doc_type)) if u.path[0] == "deadlines"}
    if printed:  # (other rules are for the case system and are not printed)
        assert "2026年12月18日" in text
    with zipfile.ZipFile(tmp_path / "full.docx") as z:
        assert any(n.startswith("word/media/") for n in z.namelist()), "QR image missing"


@pytest.mark.parametrize("doc_type", TYPES)
def test_template_renders_with_required_fields_only(doc_type, tmp_path):
    schema = load(doc_type, "schema")
    minimal = prune_to_required(load(doc_type, "example"), schema, schema)
    assert CATALOGUE.get(doc_type).validator.is_valid(minimal)
    text = render(doc_type, minimal, tmp_path / "minimal.docx")
    assert "{{" not in text and "{%" not in text
    assert "None" not in text and "Undefined" not in text
    # a label with nothing after it
    assert not re.search(r"(记录人|在场人|联系电话|统一社会信用代码|法定代表人（负责人）|号码)：(?=$|[\u3000 ]*[\u4e00-\u9fff]+：)",
                         text), text


PERSON = {"kind": "person", "name": "赵丽", "id_type": "居民身份证", "id_number": "210381199203154428",
          "address": "辽宁省海城市示例街道示例路8号", "phone": "13841200000"}


@pytest.mark.parametrize("doc_type", [t for t in TYPES if t != "service_receipt"] + ["service_receipt"])
def test_a_natural_person_gets_only_the_labels_that_apply(doc_type, tmp_path):
    """Organisation and person branches both render; a person is 你, not 你单位, and has
    no 法定代表人 or 统一社会信用代码 (not even an empty table cell)."""
    data = load(doc_type, "example")
    data["party"] = dict(PERSON)
    text = render(doc_type, data, tmp_path / "person.docx")
    assert "{{" not in text and "{%" not in text
    from_data = json.dumps(data, ensure_ascii=False).count("你单位")
    assert text.count("你单位") <= from_data and "你（单位）" not in text
    assert "赵丽" in text
    assert "法定代表人（负责人）" not in text and "统一社会信用代码" not in text
    assert "住所：" not in text and "住所" + PERSON["address"] not in text
    # and an organisation is not asked for an ID card
    org_text = render(doc_type, load(doc_type, "example"), tmp_path / "org.docx")
    assert "当事人身份证件号码" not in org_text and "居民身份证号码" not in org_text
    if doc_type != "inquiry_record":   # (where the interviewee, a person, has a 住址)
        assert "住址：" not in org_text


def test_penalty_amounts_print_in_capitals_with_the_figure(tmp_path):
    data = load("penalty_decision", "example")
    data["decision"]["penalties"] = [{"kind": "罚款", "amount_yuan": 1234567.89},
                                     {"kind": "没收违法所得", "amount_yuan": 300}]
    text = render("penalty_decision", data, tmp_path / "amount.docx")
    assert "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分（¥1,234,567.89）" in text
    assert "人民币叁佰元整（¥300.00）" in text
    assert "1234567.89" not in text


@pytest.mark.parametrize("doc_type", TYPES)
def test_remedy_clause(doc_type, tmp_path):
    uses = {u.path for u in placeholder_uses(template_source(doc_type))}
    assert (("remedy_clause",) in uses) is (doc_type in REMEDY)
    if doc_type in REMEDY:  # its own paragraph, before the signature block
        doc = Document(TEMPLATES / f"{doc_type}.docx")
        assert any(p.text.strip() == "{{ remedy_clause }}" for p in doc.paragraphs)
        text = render(doc_type, load(doc_type, "example"), tmp_path / "remedy.docx")
        clause = remedy_clause(PROFILE, entry(doc_type)["title"])
        assert clause in text
        assert text.index(clause) < text.rindex(signing_body(doc_type))
        # the document names itself, never another type (a 责令改正通知书 is no 决定书)
        own = entry(doc_type)["title"][-3:]
        assert f"自收到本{own}之日起" in clause
        others = {"决定书", "通知书", "告知书"} - {own}
        assert not any(f"本{other}" in clause for other in others), clause


@pytest.mark.parametrize("doc_type", TYPES)
def test_party_writes_and_record_handwriting(doc_type):
    text = template_text(doc_type)
    if doc_type in PARTY_WRITES:
        for phrase in FORBIDDEN_WAIVERS:
            assert phrase not in text, phrase
        assert "签名" in text
        if doc_type != "service_receipt":
            assert HANDWRITING_LABEL in text
    if entry(doc_type)["title"].endswith("笔录"):
        assert "以上笔录已阅，记录属实" in text
        footers = Document(TEMPLATES / f"{doc_type}.docx").sections[0]
        assert "签名" in "".join(p.text for p in footers.footer.paragraphs)
        assert "签名" in "".join(p.text for p in footers.even_page_footer.paragraphs)


@pytest.mark.parametrize("doc_type", TYPES)
def test_seal_area_and_verification(doc_type, tmp_path):
    uses = {u.path for u in placeholder_uses(template_source(doc_type))}
    assert (("agency", "seal_name") in uses) is (entry(doc_type)["seal"] != "none")
    assert ("verify_qr",) in uses and ("verification_code",) in uses and ("verify_page",) in uses
    assert template_source(doc_type).count("verify_qr") == 1
    if entry(doc_type)["seal"] != "none":   # the seal marker names the signing body's seal
        text = render(doc_type, load(doc_type, "example"), tmp_path / "seal.docx")
        marker = [m for m in re.findall(r"（([^（）]*章)）", text) if m.endswith(("印章", "专用章"))]
        assert marker and marker[-1].startswith(signing_body(doc_type)), marker
        if entry(doc_type)["seal"] == "license":
            assert marker[-1].endswith("行政许可专用章")


@pytest.mark.parametrize("doc_type", TYPES)
def test_minimal_package_in_chinese(doc_type):
    """Small parts (every document parses and deflates them) declaring zh-CN."""
    with zipfile.ZipFile(TEMPLATES / f"{doc_type}.docx") as z:
        names = set(z.namelist())
        styles = z.read("word/styles.xml")
        settings = z.read("word/settings.xml").decode()
    assert not {n for n in names if "stylesWithEffects" in n or "theme" in n or "glossary" in n
                or "thumbnail" in n}, names
    assert len(styles) < 12_000
    assert b"latentStyles" not in styles
    defaults = re.search(rb"<w:docDefaults>.*</w:docDefaults>", styles, re.S).group(0).decode()
    assert 'w:val="zh-CN"' in defaults and 'w:eastAsia="zh-CN"' in defaults
    assert re.search(r'<w:themeFontLang w:val="zh-CN" w:eastAsia="zh-CN"\s*/>', settings), settings


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
        # even pages have their own footer: page number left there, right on odd pages,
        # one character in from the text's outer edge (空一字)
        assert not section.even_page_footer.is_linked_to_previous
        odd = section.footer.paragraphs[-1]
        even = section.even_page_footer.paragraphs[-1]
        assert "PAGE" in odd._p.xml and "PAGE" in even._p.xml
        assert odd.alignment == 2 and even.alignment == 0  # RIGHT, LEFT
        assert odd.paragraph_format.right_indent.pt == 14 and not odd.paragraph_format.left_indent
        assert even.paragraph_format.left_indent.pt == 14 and not even.paragraph_format.right_indent
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
    names = {s.name for s in doc.styles}
    if "ZF Heading 1" in names:   # only the styles a template uses are shipped
        assert doc.styles["ZF Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "黑体"
    if "ZF Heading 2" in names:
        heading2 = doc.styles["ZF Heading 2"]
        assert heading2.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "楷体_GB2312"
        assert heading2.font.size.pt == 16
    footer_style = doc.styles["ZF Footer"]
    assert footer_style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"
    assert footer_style.font.size.pt == 14
    if entry(doc_type)["seal"] != "none":   # the date 右空四字, the signing body 右空二字
        assert doc.styles["ZF Seal Date"].paragraph_format.right_indent.pt == 64
        assert doc.styles["ZF Seal"].paragraph_format.right_indent.pt == 32


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
    assert lint.lint_source("{{ p.amount_yuan | amount_cm }}", schema, []) [0] == "未知的过滤器 amount_cm"


# -- pages, as LibreOffice prints them --------------------------------------------------

SEALED = [t for t in TYPES if entry(t)["seal"] != "none"]


@pytest.fixture(scope="module")
def converter(tmp_path_factory):
    from services.generator.pdf import PdfConverter
    from shared.fonts import install_fonts
    tmp = tmp_path_factory.mktemp("pages")
    with PdfConverter(size=1, timeout=120, fonts_conf=install_fonts(tmp / "fonts"), work_dir=tmp / "pool") as pool:
        yield pool


def pdf_pages(pdf: Path) -> list[list[str]]:
    """Each page's text lines (pdftotext -layout, one page at a time)."""
    import subprocess
    import pikepdf
    with pikepdf.open(pdf) as doc:
        count = len(doc.pages)
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
            for n in range(1, count + 1)]


def longer(data: dict) -> dict:
    """The example with its long texts tripled and its lists doubled."""
    def grow(value, key=""):
        if isinstance(value, dict):
            return {k: grow(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [grow(v) for v in value] * (2 if value and isinstance(value[0], str) else 1)
        if isinstance(value, str) and len(value) > 30 and key not in ("document_number",):
            return value * 3
        return value
    return grow(data)


@pytest.mark.parametrize("doc_type", SEALED)
def test_pages_in_libreoffice(doc_type, converter, tmp_path):
    """Chinese PDF; a person has no organisation labels; the page with the signature
    and seal carries body text; no number is broken across lines."""
    import pikepdf
    for variant, data in (("person", dict(load(doc_type, "example"), party=dict(PERSON))),
                          ("long", longer(load(doc_type, "example")))):
        assert CATALOGUE.get(doc_type).validator.is_valid(data), variant
        pdf = tmp_path / f"{variant}.pdf"
        pdf.write_bytes(converter.convert(render_bytes(doc_type, data)))
        with pikepdf.open(pdf) as doc:
            assert str(doc.Root.Lang) == "zh-CN"
        pages = pdf_pages(pdf)
        text = "".join("".join(line.split()) for page in pages for line in page)
        if variant == "person":
            assert "法定代表人（负责人）" not in text and "统一社会信用代码" not in text
        sealed = [page for page in pages if re.search(r"(印章|专用章)）", "".join(page))]
        assert len(sealed) == 1, variant
        body_sentences = "".join(sealed[0]).count("。") - 1   # less the verification text's
        # (on the first page, the title and the form are the body)
        assert body_sentences >= 1 or sealed[0] is pages[0], (variant, sealed[0])
        for page in pages:
            lines = [line.strip() for line in page if line.strip()]
            for above, below in zip(lines, lines[1:]):
                assert not (above[-1].isdigit() and below[0].isdigit()), (variant, above, below)


@pytest.mark.parametrize("doc_type", TYPES)
def test_case_number_printed_on_every_document_of_a_case(doc_type, tmp_path):
    """The Liaoning forms carry the 案号 on every document of a case: each type whose data has a case
    prints data.case.number (here an unusual one, so no template text can pass for it)."""
    if "case" not in load(doc_type, "schema")["properties"]:
        return
    data = load(doc_type, "example")
    data["case"] = {**data.get("case", {}), "number": "鞍审批案〔2026〕第4711号", "cause": "未依法办理住所变更登记",
                    "filed_on": "2026-09-03"}
    assert CATALOGUE.get(doc_type).validator.is_valid(data)
    assert "鞍审批案〔2026〕第4711号" in render(doc_type, data, tmp_path / "case.docx")
