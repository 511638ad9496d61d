"""The generator's HTTP contract, on SQLite and on the real PostgreSQL."""
from __future__ import annotations

import copy
import io
import re
import json
from urllib.parse import quote

import pytest
from docx import Document as Docx

from services.generator.catalogue import Catalogue
from tests.conftest import auth

CATALOGUE = Catalogue()


def example(doc_type: str, **changes) -> dict:
    data = copy.deepcopy(CATALOGUE.get(doc_type).example)
    data.update(changes)
    return data


def post(client, body, role="case-system", headers=None):
    return client.post("/v1/documents", data=json.dumps(body, ensure_ascii=False),
                       headers={**auth(role), "Content-Type": "application/json", **(headers or {})})


def issuable_example(client, doc_type: str) -> dict:
    """The type's example; a service receipt's names a document issued first
    (a receipt may name only a number the registry issued)."""
    data = example(doc_type)
    if doc_type == "service_receipt":
        served = post(client, {"type": "penalty_decision", "data": example("penalty_decision"), "formats": ["docx"]})
        data["service"]["document_number"] = served.get_json()["number"]
    return data


def docx_text(client, doc_id: str) -> str:
    resp = client.get(f"/v1/documents/{doc_id}/docx", headers=auth())
    assert resp.status_code == 200
    doc = Docx(io.BytesIO(resp.data))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def assert_problem(resp, status: int, path: str | None = None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type.startswith("application/problem+json")
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if path is not None:
        assert path in [e["path"] for e in body.get("errors", [])], body
    return body


def test_catalogue_lists_every_standard_document(sqlite_generator):
    _, client = sqlite_generator
    listed = {t["type"]: t for t in client.get("/v1/templates").get_json()}
    assert len(listed) == 21
    assert listed["hearing_record"]["title"] == "听证笔录" and listed["hearing_report"]["title"] == "听证报告"
    assert listed["penalty_decision"]["title"] == "行政处罚决定书"
    assert listed["license_grant_decision"]["flow"] == "license"
    detail = client.get("/v1/templates/penalty_decision").get_json()
    assert detail["schema"]["$schema"].endswith("2020-12/schema")
    assert "party" in detail["schema"]["properties"] and detail["example"]["party"]["name"]
    assert_problem(client.get("/v1/templates/no_such_type"), 404)


def test_penalty_decision_is_numbered_in_sequence_and_printed(generator):
    _, client = generator
    body = {"type": "penalty_decision", "data": example("penalty_decision"),
            "formats": ["docx"]}
    first, second = post(client, body), post(client, body)
    assert first.status_code == 201 and second.status_code == 201
    one, two = first.get_json(), second.get_json()
    assert one["number"] == "鞍审批罚决字〔2026〕1号"
    assert two["number"] == "鞍审批罚决字〔2026〕2号"
    assert set(one["files"]) == {"docx"} and len(one["files"]["docx"]["sha256"]) == 64
    fine = next(d for d in one["deadlines"] if d["key"] == "penalty_fine_payment")
    # decided (and dated) 2026-11-16; 15 calendar days later
    assert fine["due_on"] == "2026-12-01" and "第六十七条" in fine["basis"]

    text = docx_text(client, one["id"])
    assert "鞍审批罚决字〔2026〕1号" in text
    assert body["data"]["party"]["name"] in text
    assert "六十日内向鞍山市人民政府申请行政复议" in text and "六个月内向鞍山市铁东区人民法院" in text
    assert one["verification_code"] in text
    assert "{{" not in text and "{%" not in text

    got = client.get(f"/v1/documents/{one['id']}", headers=auth("archivist")).get_json()
    assert got["number"] == one["number"] and got["verification_code"] == one["verification_code"]
    assert got["data"]["party"]["name"] == body["data"]["party"]["name"]   # the case data, as checked


@pytest.mark.parametrize("doc_type", [t.type for t in CATALOGUE])
def test_every_document_type_issues_from_its_example(sqlite_generator, doc_type):
    _, client = sqlite_generator
    data = issuable_example(client, doc_type)
    resp = post(client, {"type": doc_type, "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["number"].startswith("鞍审批") and doc["number"].endswith("〔2026〕1号")
    text = docx_text(client, doc["id"])
    assert doc["number"] in text and CATALOGUE.get(doc_type).example["party"]["name"] in text
    assert "{{" not in text and "{%" not in text


def _refusals(client, max_body: int):
    good = example("penalty_decision")
    yield "malformed", client.post("/v1/documents", data='{"type": "penalty_decision", "data": {',
                                   headers={**auth(), "Content-Type": "application/json"}), 400, "body"
    yield "not-object", client.post("/v1/documents", data="[1, 2]",
                                    headers={**auth(), "Content-Type": "application/json"}), 422, "body"
    yield "unknown-type", post(client, {"type": "secret_order", "data": good}), 422, "type"
    bad_type = copy.deepcopy(good)
    bad_type["party"]["name"] = 12345
    yield "wrong-type", post(client, {"type": "penalty_decision", "data": bad_type}), 422, "data/party/name"
    missing = copy.deepcopy(good)
    del missing["party"]["name"]
    yield "missing", post(client, {"type": "penalty_decision", "data": missing}), 422, "data/party/name"
    control = copy.deepcopy(good)
    control["party"]["address"] = "鞍山市铁东区\x07胜利路"
    yield "control", post(client, {"type": "penalty_decision", "data": control}), 422, "data/party/address"
    surrogate = json.dumps({"type": "penalty_decision", "data": good}, ensure_ascii=False).replace(
        good["party"]["name"], good["party"]["name"] + "\\ud800")
    yield "surrogate", client.post("/v1/documents", data=surrogate.encode(),
                                   headers={**auth(), "Content-Type": "application/json"}), 422, "data/party/name"
    yield "surrogate-type", client.post("/v1/documents", data='{"type": "\\ud800", "data": {}}',
                                        headers={**auth(), "Content-Type": "application/json"}), 422, "type"
    yield "surrogate-key", client.post("/v1/documents", data='{"type": "penalty_decision", "data": {}, "\\ud800": 1}',
                                       headers={**auth(), "Content-Type": "application/json"}), 422, None
    bad_date = example("penalty_decision", issued_on="2026-02-30")
    yield "bad-date", post(client, {"type": "penalty_decision", "data": bad_date}), 422, "data/issued_on"
    yield "bad-format", post(client, {"type": "penalty_decision", "data": good, "formats": ["odt"]}), 422, "formats"
    huge = {"type": "penalty_decision", "data": example("penalty_decision", facts="违" * max_body)}
    yield "oversized", post(client, huge), 413, "body"


def test_bad_input_is_refused_with_a_problem_naming_the_field_and_uses_no_number(zhifa_env, database_url):
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=database_url, ZHIFA_MAX_BODY_BYTES=64 * 1024))
    client = app.test_client()
    try:
        for name, resp, status, path in _refusals(client, 64 * 1024):
            body = assert_problem(resp, status, path)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in body["title"]), name   # people read Chinese
        ok = post(client, {"type": "penalty_decision", "data": example("penalty_decision"),
                           "formats": ["docx"]})
        assert ok.status_code == 201
        assert ok.get_json()["number"] == "鞍审批罚决字〔2026〕1号"     # nothing was used up before
    finally:
        app.extensions["zhifa.runtime"].close()


def test_an_agency_profile_without_remedy_bodies_cannot_start(zhifa_env, tmp_path):
    """Every decision names the reconsideration government and the court; a
    profile lacking either is refused when the service starts, naming it."""
    from services.generator.agency import DEMO_PROFILE
    from services.generator.app import create_app
    profile = json.loads(DEMO_PROFILE.read_text(encoding="utf-8"))
    del profile["court"]
    agency_file = tmp_path / "agency.json"
    agency_file.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="court"):
        create_app(zhifa_env(ZHIFA_AGENCY_FILE=agency_file,
                             ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}"))


@pytest.mark.parametrize("doc_type", [t.type for t in CATALOGUE if t.party_writes])
@pytest.mark.parametrize("phrase", ["我已知晓", "不申请听证", "放弃 陈述申辩"])
def test_party_answers_may_not_be_prefilled(sqlite_generator, doc_type, phrase):
    _, client = sqlite_generator
    data = issuable_example(client, doc_type)
    data["party"]["address"] += f"（当事人意见：{phrase}）"
    body = assert_problem(post(client, {"type": doc_type, "data": data}), 422, "data/party/address")
    assert "本人手写" in body["errors"][0]["message"]
    clean = issuable_example(client, doc_type)
    assert post(client, {"type": doc_type, "data": clean, "formats": ["docx"]}).status_code == 201


def test_deadline_in_a_year_without_holiday_schedule_is_counted_printed_and_flagged(sqlite_generator):
    """Never block a bureau's work for a schedule nobody has published: a filing in October whose 90 days
    end in an unpublished year is issued, its deadline printed with a note and flagged for review."""
    _, client = sqlite_generator
    data = example("case_filing_form", issued_on="2026-10-05")
    data["case"]["filed_on"] = "2026-10-05"
    data["filing"]["received_on"] = "2026-10-01"
    resp = post(client, {"type": "case_filing_form", "formats": ["docx"], "data": data})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    deadline = next(d for d in doc["deadlines"] if d["key"] == "penalty_decision")
    assert deadline["due_on"] == "2027-01-04" and deadline["provisional"] is True
    assert "provisional-calendar" in [w["code"] for w in doc["warnings"]]
    assert "2027年1月4日（暂按法定节假日计算）" in docx_text(client, doc["id"])

def test_idempotency_key_replays_the_same_document(generator):
    _, client = generator
    body = {"type": "rectification_order", "formats": ["docx"],
            "data": example("rectification_order", issued_on="2026-06-01")}
    first = post(client, body, headers={"Idempotency-Key": "case-42-rectify"})
    again = post(client, body, headers={"Idempotency-Key": "case-42-rectify"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = copy.deepcopy(body)
    other["data"]["issued_on"] = "2026-06-02"
    assert_problem(post(client, other, headers={"Idempotency-Key": "case-42-rectify"}), 422, "Idempotency-Key")
    assert post(client, body).get_json()["number"].endswith("〕2号")


def test_roles_guard_writes_and_personal_data(sqlite_generator):
    _, client = sqlite_generator
    body = {"type": "penalty_decision", "formats": ["docx"], "data": example("penalty_decision")}
    assert_problem(client.post("/v1/documents", json=body), 401)
    assert_problem(post(client, body, role="publisher"), 403)
    doc = post(client, body).get_json()
    assert_problem(client.get(f"/v1/documents/{doc['id']}"), 401)
    assert client.get(f"/v1/documents/{doc['id']}/docx", headers=auth("archivist")).status_code == 200
    assert_problem(client.get("/v1/documents/00000000-0000-0000-0000-000000000000", headers=auth()), 404)
    assert_problem(client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()), 404)   # not requested


def test_verification_answers_authentic_only_with_the_right_code(generator):
    _, client = generator
    doc = post(client, {"type": "penalty_decision", "formats": ["docx"],
                        "data": example("penalty_decision")}).get_json()
    ok = client.get("/v1/verify", query_string={"number": doc["number"], "code": doc["verification_code"]})
    assert ok.status_code == 200
    assert ok.get_json() == {**ok.get_json(), "authentic": True, "title": "行政处罚决定书",
                             "agency": "鞍山市营商环境建设局", "sha256": doc["files"]["docx"]["sha256"]}
    wrong = client.get("/v1/verify", query_string={"number": doc["number"], "code": "AAAAAAAA"}).get_json()
    assert wrong == {"authentic": False}
    assert_problem(client.get("/v1/verify", query_string={"number": doc["number"]}), 422, "code")


def test_operational_endpoints(sqlite_generator):
    _, client = sqlite_generator
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] == "ok"
    client.get("/v1/templates")
    assert b'zhifa_http_requests_total{endpoint="/v1/templates"' in client.get("/metrics", headers=auth("admin")).data
    spec = client.get("/openapi.json").get_json()
    assert {"/v1/documents", "/v1/batches", "/v1/verify"} <= set(spec["paths"])
    # each document type's data schema is published with the contract
    assert spec["components"]["schemas"]["data.penalty_decision"]["properties"]["party"]["$ref"] == \
        "#/components/schemas/data.penalty_decision/$defs/party"
    wrong_method = client.delete("/v1/templates")
    assert_problem(wrong_method, 405)
    assert "GET" in wrong_method.headers["Allow"]


def test_printed_qr_code_points_at_the_public_verify_page(sqlite_generator):
    import zipfile

    from services.generator.rendering import qr_png, verify_url
    _, client = sqlite_generator
    doc = post(client, {"type": "license_grant_decision", "formats": ["docx"],
                        "data": example("license_grant_decision")}).get_json()
    docx = client.get(f"/v1/documents/{doc['id']}/docx", headers=auth()).data
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        images = [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
    expected = verify_url("https://zhifa.example.gov.cn", doc["number"], doc["verification_code"])
    assert expected.startswith("https://zhifa.example.gov.cn/verify?number=%E9%9E%8D")
    assert qr_png(expected) in images       # the QR image encodes exactly this URL
    # printed without the scheme, breakable only after its separators (zero-width marks)
    printed = re.sub("[\u200b\u2060]", "", docx_text(client, doc["id"]))
    assert "\nzhifa.example.gov.cn/verify\n" in printed


def test_markup_characters_in_data_are_printed_not_interpreted(sqlite_generator):
    _, client = sqlite_generator
    data = example("rectification_order")
    data["party"]["name"] = "鞍山A&B<商贸>有限公司"
    resp = post(client, {"type": "rectification_order", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert "鞍山A&B<商贸>有限公司" in docx_text(client, resp.get_json()["id"])


def test_every_issue_is_in_the_hash_chained_audit_log(generator):
    _, client = generator
    doc = post(client, {"type": "penalty_decision", "formats": ["docx"], "data": example("penalty_decision")}).get_json()
    assert_problem(client.get("/v1/audit", headers=auth("case-system")), 403)
    log = client.get("/v1/audit", headers=auth("admin")).get_json()
    assert log["intact"] is True
    entry = log["entries"][-1]
    assert entry["action"] == "document.issued" and entry["subject"] == doc["id"]
    assert entry["details"]["number"] == doc["number"] and entry["actor"].startswith("case-system:")
    assert entry["details"]["docx_sha256"] == doc["files"]["docx"]["sha256"]
    assert_problem(client.get("/v1/audit?limit=0", headers=auth("admin")), 422, "limit")
    assert_problem(client.get("/v1/audit?after=²", headers=auth("admin")), 422, "after")


def test_metrics_count_documents_batches_and_pdf_conversions(sqlite_generator):
    _, client = sqlite_generator

    def figure(text: str, name: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(name) and not line.startswith("#")]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines)

    before = client.get("/metrics", headers=auth("admin")).get_data(as_text=True)
    assert post(client, {"type": "rectification_order", "data": example("rectification_order")}).status_code == 201
    after = client.get("/metrics", headers=auth("admin")).get_data(as_text=True)
    assert figure(after, 'zhifa_documents_issued_total{type="rectification_order"}') == 1
    assert figure(after, "zhifa_pdf_conversions_total") == figure(before, "zhifa_pdf_conversions_total") + 1
    assert figure(after, "zhifa_pdf_conversion_seconds_total") > 0
    assert "zhifa_pdf_conversion_failures_total" in after and "zhifa_soffice_restarts_total" in after


def test_public_verification_is_rate_limited_per_client(zhifa_env, tmp_path):
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                               ZHIFA_VERIFY_RATE_LIMIT="3 per minute"))
    try:
        client = app.test_client()
        query = {"number": "鞍审批罚决字〔2026〕第1号", "code": "ABCDEFGH"}
        answers = [client.get("/v1/verify", query_string=query) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert_problem(answers[-1], 429)
        other = client.get("/v1/verify", query_string=query, environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert other.status_code == 200          # another client has its own allowance
        # the search service's /verify page calls with its token for every citizen: not limited
        assert all(client.get("/v1/verify", query_string=query, headers=auth("publisher")).status_code == 200
                   for _ in range(5))
    finally:
        app.extensions["zhifa.runtime"].close()


def test_rare_characters_print_and_undrawable_ones_are_refused(sqlite_generator):
    """生僻字 in a name print (a fallback face has them); a character no installed
    font can draw is refused naming the field, never printed as a box."""
    _, client = sqlite_generator
    data = example("rectification_order")
    data["party"] = {"kind": "person", "name": "王𪚥𠀀", "address": "辽宁省鞍山市铁东区示例路1号"}
    ok = post(client, {"type": "rectification_order", "data": data, "formats": ["docx"]})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert "王𪚥𠀀" in docx_text(client, ok.get_json()["id"])
    data["party"]["name"] = "王𓀀"
    assert_problem(post(client, {"type": "rectification_order", "data": data}), 422, "data/party/name")


def test_accept_pdf_answers_with_the_registered_pdf_itself(sqlite_generator):
    """A case system that wants the PDF gets it in one round trip, the same bytes
    the registry serves, with the document's address and number; where no PDF
    exists yet (or was not asked for) it gets the document's JSON instead."""
    _, client = sqlite_generator
    body = {"type": "penalty_decision", "data": example("penalty_decision")}
    wants_pdf = {"Accept": "application/pdf", "Idempotency-Key": "case-7-decision"}
    resp = post(client, body, headers=wants_pdf)
    assert resp.status_code == 201 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    registered = client.get(resp.headers["Location"], headers=auth()).get_json()
    assert registered["files"]["pdf"]["status"] == "done"
    assert client.get(f"/v1/documents/{registered['id']}/pdf", headers=auth()).data == resp.data
    assert resp.headers["ETag"] == f"\"{registered['files']['pdf']['sha256']}\""
    assert quote(registered["number"]) in resp.headers["Content-Disposition"]

    replayed = post(client, body, headers=wants_pdf)
    assert replayed.status_code == 200 and replayed.data == resp.data

    pending = post(client, body, headers={"Accept": "application/pdf", "Prefer": "respond-async"})
    assert pending.status_code == 201 and pending.is_json
    assert pending.get_json()["files"]["pdf"]["status"] in ("pending", "done")
    docx_only = post(client, {**body, "formats": ["docx"]}, headers={"Accept": "application/pdf"})
    assert docx_only.status_code == 201 and "pdf" not in docx_only.get_json()["files"]
    # JSON stays the answer for clients that accept both equally (or name neither).
    either = post(client, body, headers={"Accept": "application/json, application/pdf"})
    assert either.is_json and either.get_json()["files"]["pdf"]["status"] == "done"
